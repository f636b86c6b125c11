"""Frames join on sentence_id, speaker_id, paragraph_id and time; translations align to sentences.

The Transcription and Translation files come from the emulator's own builders (both translation
layouts), the AI results refer to its sentences, as the emulator's grounded results do.
"""

from __future__ import annotations

import random

import pandas as pd
import pytest

from tingwu_nb import results as r
from tingwu_nb.emulator.analysis.postprocess import build_transcription, build_translation

TEXTS = ["Good morning everyone.", "Let us review the budget.", "The budget is approved.",
         "Who sends the report?", "I will send it on Friday.", "Great, thank you."]
SPEAKERS = ["1", "1", "2", "1", "2", "2"]


def meeting() -> tuple[dict, list[dict]]:
    sentences, t = [], 500
    for text in TEXTS:
        words, start = [], t
        for token in text.split():
            words.append((token, t, t + 300))
            t += 350
        sentences.append({"text": text, "start_ms": start, "end_ms": t - 50, "words": words,
                          "translations": {"zh": f"[zh] {text}", "fr": f"[fr] {text}"}})
        t += 400
    return build_transcription("t1", sentences, SPEAKERS, duration_ms=t, paragraph_base=100), sentences


def test_words_sentences_paragraphs_agree():
    doc, source = meeting()
    sentences, words = r.transcript_frames(doc)
    assert sentences["text"].tolist() == TEXTS and sentences["speaker_id"].tolist() == SPEAKERS
    merged = words.merge(sentences, on="sentence_id", suffixes=("", "_sentence"))
    assert len(merged) == len(words) and (merged["speaker_id"] == merged["speaker_id_sentence"]).all()
    assert words.groupby("sentence_id").size().tolist() == sentences["word_count"].tolist()
    paragraphs = r.paragraphs_frame(doc)
    assert paragraphs["speaker_id"].tolist() == ["1", "2", "1", "2"]
    assert paragraphs["sentence_count"].sum() == len(sentences)
    assert set(words["paragraph_id"]) == set(paragraphs["paragraph_id"])


@pytest.mark.parametrize("layout", ["paragraphs", "per-language"])
def test_translations_align_to_sentences_one_column_per_language(layout):
    doc, source = meeting()
    if layout == "paragraphs":
        for s in source:
            s["translations"] = {"zh": s["translations"]["zh"]}
    translation = build_translation("t1", doc, source, layout=layout)
    sentences = r.sentences_frame(doc)
    languages = ["zh"] if layout == "paragraphs" else ["zh", "fr"]
    frame = r.translations_frame(translation, languages, sentences=sentences.iloc[1:])
    assert list(frame.columns) == ["sentence_id", "start_s", "end_s", *languages]
    assert frame["sentence_id"].tolist() == sentences["sentence_id"].tolist()[1:]
    assert frame[["start_s", "end_s"]].values.tolist() == sentences[["start_s", "end_s"]].values.tolist()[1:]
    joined = sentences.merge(frame, on=["sentence_id", "start_s", "end_s"])
    assert (joined["zh"] == "[zh] " + joined["text"]).all() and len(joined) == len(TEXTS) - 1
    if layout == "per-language":
        assert r.translation_languages(translation) == ["zh", "fr"]  # the task's target order
        unaligned = r.translations_frame(translation)
        assert list(unaligned.columns) == ["sentence_id", "start_s", "end_s", "zh", "fr"]
        assert unaligned[["start_s", "end_s"]].values.tolist() == sentences[["start_s", "end_s"]].values.tolist()


def test_a_requested_language_missing_from_the_file_is_an_empty_column():
    doc, source = meeting()
    translation = build_translation("t1", doc, source, layout="per-language")
    frame = r.translations_frame(translation, ["ja", "zh"], sentences=r.sentences_frame(doc))
    assert list(frame.columns) == ["sentence_id", "start_s", "end_s", "ja", "zh", "fr"]
    assert frame["ja"].isna().all() and frame["zh"].notna().all()


def test_ai_results_join_the_transcript():
    doc, _ = meeting()
    sentences = r.sentences_frame(doc)
    assistance = {"MeetingAssistance": {
        "KeySentences": [{"Id": 1, "SentenceId": 3, "Start": 3000, "End": 4000, "Text": TEXTS[2]}],
        "Actions": [{"Id": 1, "SentenceId": 5, "Start": 0, "End": 0, "Text": TEXTS[4]}]}}
    for frame in (r.key_sentences_frame(assistance), r.actions_frame(assistance)):
        joined = frame.merge(sentences, on="sentence_id", suffixes=("", "_sentence"))
        assert len(joined) == 1 and joined["text"].tolist() == joined["text_sentence"].tolist()
    assert r.actions_frame(assistance).merge(sentences, on="sentence_id")["speaker_id"].tolist() == ["2"]
    summaries = {"Summarization": {
        "ConversationalSummary": [{"SpeakerId": "2", "SpeakerName": "B", "Summary": "approves"}],
        "QuestionsAnsweringSummary": [{"Question": "Who?", "SentenceIdsOfQuestion": [4], "Answer": "B",
                                       "SentenceIdsOfAnswer": [5, 6]}]}}
    speakers = r.speakers_frame(doc)
    assert r.speaker_summaries_frame(summaries).merge(speakers, on="speaker_id")["sentence_count"].tolist() == [3]
    answers = r.qa_frame(summaries).explode("answer_sentence_ids").astype({"answer_sentence_ids": "int64"})
    joined = answers.merge(sentences, left_on="answer_sentence_ids", right_on="sentence_id")
    assert joined["text"].tolist() == TEXTS[4:]
    paragraphs = r.paragraphs_frame(doc)
    polish = {"TextPolish": [{"FormalParagraphText": "Good morning.", "SentenceIds": [1, 2],
                              "ParagraphId": paragraphs["paragraph_id"][0], "Start": 500, "End": 3000}]}
    assert r.polished_frame(polish).merge(paragraphs, on="paragraph_id")["speaker_id"].tolist() == ["1"]
    inspection = {"ServiceInspection": [{"Title": "greeting", "Score": 0.9, "SentenceIds": [1]}]}
    evidence = r.inspection_frame(inspection).explode("evidence_sentence_ids")
    assert evidence.merge(sentences, left_on=evidence["evidence_sentence_ids"].astype("int64"),
                          right_on="sentence_id")["text"].tolist() == [TEXTS[0]]


def test_chapters_join_sentences_on_time():
    doc, _ = meeting()
    sentences = r.sentences_frame(doc)
    cut = sentences["start_s"][3]
    chapters = r.chapters_frame({"AutoChapters": [
        {"Id": 1, "Start": 0, "End": int(cut * 1000) - 1, "Headline": "budget", "Summary": ""},
        {"Id": 2, "Start": int(cut * 1000), "End": 99_000, "Headline": "report", "Summary": ""}]})
    joined = pd.merge_asof(sentences.sort_values("start_s"), chapters[["chapter_id", "start_s"]], on="start_s")
    assert joined["chapter_id"].tolist() == [1, 1, 1, 2, 2, 2]


def test_speaker_turns_and_monologues():
    doc, _ = meeting()
    sentences = r.sentences_frame(doc)
    speakers = r.speakers_frame(doc)
    assert speakers["speaker_id"].tolist() == ["1", "2"] and speakers["turns"].tolist() == [2, 2]
    assert speakers["rate_unit"].tolist() == ["words", "words"]
    assert speakers["longest_monologue_s"][1] == pytest.approx(sentences["end_s"][5] - sentences["start_s"][4])
    spans = (sentences["end_s"] - sentences["start_s"]).groupby(sentences["speaker_id"]).sum()
    assert speakers["talk_time_s"].tolist() == pytest.approx(spans.tolist())
    words = sentences.groupby("speaker_id")["word_count"].sum()
    assert speakers["words_per_minute"].tolist() == pytest.approx((words / (spans / 60)).tolist())


def test_sentences_match_a_groupby_over_the_words_for_shuffled_ids():
    doc, _ = meeting()
    rng = random.Random(7)
    for paragraph in doc["Transcription"]["Paragraphs"]:
        rng.shuffle(paragraph["Words"])
    rng.shuffle(doc["Transcription"]["Paragraphs"])
    words = r.words_frame(doc)
    grouped = words.groupby("sentence_id", sort=True)
    expected = pd.DataFrame({"sentence_id": list(grouped.groups),
                             "speaker_id": grouped["speaker_id"].first().tolist(),
                             "start_s": grouped["start_s"].min().tolist(), "end_s": grouped["end_s"].max().tolist(),
                             "text": grouped["text"].apply(r.join_tokens).tolist(),
                             "word_count": grouped.size().tolist()})
    pd.testing.assert_frame_equal(r.sentences_frame(doc), expected, check_dtype=False)
