"""Result tables: words are joined as each language writes them; live SentenceEnds as a transcript."""

from __future__ import annotations

import pytest

from tingwu_nb.contract import events as ev
from tingwu_nb.results.transcription import (
    SENTENCE_COLUMNS,
    WORD_COLUMNS,
    join_tokens,
    live_transcript_frames,
    sentences_frame,
)


@pytest.mark.parametrize("tokens, text", [
    (["Please", "send", "the", "report."], "Please send the report."),
    (["Hello,", "world"], "Hello, world"),
    (["我们", "今天", "开会。"], "我们今天开会。"),
    (["Tingwu", "很", "好", "OK"], "Tingwu很好OK"),
    (["회의를", "시작하겠습니다."], "회의를 시작하겠습니다."),
    (["みなさん、", "おはよう"], "みなさん、おはよう"),
    (["3", "月", "5", "号"], "3月5号"),
    (["第", "2", "季度"], "第2季度"),
    (["", "  ", "ok"], "ok"),
])
def test_join_tokens_follows_the_script(tokens, text):
    assert join_tokens(tokens) == text


def test_korean_sentence_from_a_result_file_keeps_its_spaces():
    doc = {"Transcription": {"Paragraphs": [{"ParagraphId": "1", "SpeakerId": "1", "Words": [
        {"Id": 10, "SentenceId": 1, "Start": 0, "End": 400, "Text": "오늘"},
        {"Id": 20, "SentenceId": 1, "Start": 400, "End": 900, "Text": "회의를"},
        {"Id": 30, "SentenceId": 1, "Start": 900, "End": 1500, "Text": "시작합니다."}]}]}}
    frame = sentences_frame(doc)
    assert tuple(frame.columns) == SENTENCE_COLUMNS
    assert frame["text"].tolist() == ["오늘 회의를 시작합니다."]


def test_live_transcript_frames_from_sentence_ends():
    events = [
        ev.SentenceBegin(index=1, time_ms=100),
        ev.SentenceEnd(index=1, time_ms=1500, result="hello there", begin_time_ms=100, speaker_id="2",
                       words=(ev.Word("hello", 100, 600), ev.Word("there", 650, 1400))),
        ev.SentenceEnd(index=2, time_ms=3000, result="no words", begin_time_ms=2000),
    ]
    sentences, words = live_transcript_frames(events)
    assert tuple(sentences.columns) == SENTENCE_COLUMNS and tuple(words.columns) == WORD_COLUMNS
    assert sentences[["sentence_id", "speaker_id", "text", "word_count"]].values.tolist() == [
        [1, "2", "hello there", 2], [2, None, "no words", 1]]
    assert sentences["start_s"].tolist() == [0.1, 2.0] and sentences["end_s"].tolist() == [1.4, 3.0]
    assert words["sentence_id"].tolist() == [1, 1, 2]
