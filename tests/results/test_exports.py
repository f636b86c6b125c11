"""SRT, WebVTT, Markdown and the JSON bundle, checked by strict readers written here.

The readers enforce what players rely on: numbering 1..n, ``HH:MM:SS,mmm`` (SRT) or
``HH:MM:SS.mmm`` (WebVTT) timing lines, start < end, non-decreasing starts, cues separated by
one blank line, the ``WEBVTT`` header; reading our own output back gives the frames' text and times.
"""

from __future__ import annotations

import html
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tingwu_nb.results.catalog import TABLES
from tingwu_nb.results.exports import (
    BUNDLE_FORMAT,
    cues,
    read_json_bundle,
    timecode,
    to_json_bundle,
    to_markdown,
    to_srt,
    to_vtt,
)
from tingwu_nb.results.transcription import SENTENCE_COLUMNS

DATA = Path(__file__).parent / "data"
SRT_TIME = re.compile(r"^(\d{2}):([0-5]\d):([0-5]\d),(\d{3}) --> (\d{2}):([0-5]\d):([0-5]\d),(\d{3})$")
VTT_TIME = re.compile(r"^(\d{2}):([0-5]\d):([0-5]\d)\.(\d{3}) --> (\d{2}):([0-5]\d):([0-5]\d)\.(\d{3})$")


def _ms(h: str, m: str, s: str, f: str) -> int:
    return ((int(h) * 60 + int(m)) * 60 + int(s)) * 1000 + int(f)


def _blocks(text: str) -> list[list[str]]:
    assert text.endswith("\n") and not text.endswith("\n\n"), "one newline after the last cue"
    assert "\r" not in text and "\n\n\n" not in text, "cues are separated by exactly one blank line"
    return [block.split("\n") for block in text[:-1].split("\n\n")]


def _timed(blocks: list[list[str]], timing: re.Pattern, numbered: bool) -> list[tuple[int, int, list[str]]]:
    out, last_start = [], -1
    for n, block in enumerate(blocks, start=1):
        if numbered:
            assert block[0] == str(n), f"cue {n} is numbered {block[0]!r}"
            block = block[1:]
        found = timing.match(block[0])
        assert found, f"bad timing line {block[0]!r}"
        start, end = _ms(*found.groups()[:4]), _ms(*found.groups()[4:])
        assert start < end and start >= last_start, (start, end, last_start)
        assert block[1:] and all(line.strip() and "-->" not in line for line in block[1:]), block
        out.append((start, end, block[1:]))
        last_start = start
    return out


def read_srt(text: str) -> list[tuple[int, int, list[str]]]:
    """(start_ms, end_ms, lines) per cue of a strictly valid SRT file."""
    return _timed(_blocks(text), SRT_TIME, numbered=True) if text else []


def read_vtt(text: str) -> list[tuple[int, int, list[str], str | None]]:
    """(start_ms, end_ms, plain lines, voice) per cue of a strictly valid WebVTT file (tags removed)."""
    blocks = _blocks(text)
    assert blocks[0] == ["WEBVTT"], "the file starts with the WEBVTT header line alone"
    out = []
    for start, end, lines in _timed(blocks[1:], VTT_TIME, numbered=True):
        for line in lines:
            assert not re.search(r"&(?!amp;|lt;|gt;)|<(?!v [^<>]+>)", line), f"unescaped text {line!r}"
        voice = re.match(r"<v ([^>]+)>", lines[0])
        plain = [html.unescape(re.sub(r"<[^>]+>", "", line)) for line in lines]
        out.append((start, end, plain, html.unescape(voice[1]) if voice else None))
    return out


@pytest.fixture
def sentences() -> pd.DataFrame:
    """Out of order, CJK and Latin, markup-looking text, a newline, a zero-length sentence, an empty one."""
    rows = [
        (3, "2", 5.0, 7.25, "Budget <b>&</b> hiring --> next *week*", 6),
        (1, "1", 1.2, 2.3, "大家好，今天开会。", 2),
        (2, "1", 2.3, 4.0, "预算需要\n在月底前确认。", 2),
        (4, "1", 3661.5, 3661.5, "# 1. Done", 2),
        (5, None, 3700.0, 3701.0, "   ", 0),
    ]
    return pd.DataFrame(rows, columns=list(SENTENCE_COLUMNS))


@pytest.fixture
def translations() -> pd.DataFrame:
    return pd.DataFrame({"sentence_id": [1, 2, 3, 4], "start_s": [1.2, 2.3, 5.0, 3661.5],
                         "end_s": [2.3, 4.0, 7.25, 3661.5],
                         "en": ["Hello everyone, let's start.", "The budget must be confirmed.", None, "Done."],
                         "ja": ["皆さん、こんにちは。", None, "予算と採用", None]})


def test_timecodes():
    assert timecode(0) == "00:00:00,000" and timecode(3661.5, ".") == "01:01:01.500"
    assert timecode(59.9996) == "00:01:00,000" and timecode(-3) == "00:00:00,000"
    assert timecode(100 * 3600 + 0.001) == "100:00:00,001"


def test_srt_is_valid_and_reads_back_to_the_sentences(sentences, tmp_path):
    path = tmp_path / "out.srt"
    text = to_srt(sentences, path=path)
    assert path.read_text(encoding="utf-8") == text
    got = read_srt(text)
    assert [(s, e) for s, e, _ in got] == [(1200, 2300), (2300, 4000), (5000, 7250), (3661500, 3661501)]
    assert [lines for _, _, lines in got] == [["大家好，今天开会。"], ["预算需要 在月底前确认。"],
                                             ["Budget <b>&</b> hiring -> next *week*"], ["# 1. Done"]]


def test_vtt_is_valid_escapes_markup_and_reads_back(sentences):
    got = read_vtt(to_vtt(sentences))
    assert [(s, e) for s, e, _, _ in got] == [(1200, 2300), (2300, 4000), (5000, 7250), (3661500, 3661501)]
    assert got[2][2] == ["Budget <b>&</b> hiring --> next *week*"] and got[0][3] is None
    assert to_vtt(sentences.iloc[:0]) == "WEBVTT\n" and to_srt(sentences.iloc[:0]) == ""


def test_speaker_labels_survive_in_both_formats(sentences):
    srt = read_srt(to_srt(sentences, speakers=True))
    assert [lines[0] for _, _, lines in srt][:3] == ["Speaker 1: 大家好，今天开会。", "Speaker 1: 预算需要 在月底前确认。",
                                                      "Speaker 2: Budget <b>&</b> hiring -> next *week*"]
    names = {"1": "王经理", "2": "Ann <QA> & co"}
    vtt = read_vtt(to_vtt(sentences, speakers=names))
    assert [voice for *_, voice in vtt] == ["王经理", "王经理", "Ann <QA> & co", "王经理"]
    assert vtt[0][2] == ["大家好，今天开会。"]  # the label is a voice span, not text
    assert read_srt(to_srt(sentences, speakers=lambda sid: f"S{sid}"))[0][2] == ["S1: 大家好，今天开会。"]


def test_bilingual_cues_hold_the_original_and_each_translation(sentences, translations):
    srt = read_srt(to_srt(sentences, translations))
    assert [lines for *_, lines in srt] == [
        ["大家好，今天开会。", "Hello everyone, let's start.", "皆さん、こんにちは。"],
        ["预算需要 在月底前确认。", "The budget must be confirmed."],
        ["Budget <b>&</b> hiring -> next *week*", "予算と採用"],
        ["# 1. Done", "Done."]]
    vtt = read_vtt(to_vtt(sentences, translations, languages=["ja"], speakers=True))
    assert [lines for _, _, lines, _ in vtt][:2] == [["大家好，今天开会。", "皆さん、こんにちは。"], ["预算需要 在月底前确认。"]]
    only = read_srt(to_srt(sentences, translations, languages=["en"], original=False))
    assert [lines for *_, lines in only] == [["Hello everyone, let's start."], ["The budget must be confirmed."],
                                             ["Budget <b>&</b> hiring -> next *week*"], ["Done."]]
    with pytest.raises(KeyError, match="fr"):
        to_srt(sentences, translations, languages=["fr"])


def test_spec_example_files_export(tmp_path):
    """The spec's Transcription and Translation examples, through the real parsers, as bilingual VTT."""
    doc = json.loads((DATA / "Transcription.json").read_text(encoding="utf-8"))
    sentences = TABLES["sentences"].parse(doc)
    translations = TABLES["translations"].parse(json.loads((DATA / "Translation.json").read_text(encoding="utf-8")))
    vtt = read_vtt(to_vtt(sentences, translations, speakers=True))
    assert vtt == [(1200, 2300, ["大家好，今天开会。", "Hello everyone, let's start the meeting."], "Speaker 1"),
                   (2900, 3600, ["好的。"], "Speaker 2")]
    assert [c.sentence_id for c in cues(sentences)] == [1, 2]


def test_markdown_transcript_groups_turns_with_speakers_and_timecodes(sentences, translations, tmp_path):
    text = to_markdown(sentences, translations, languages=["en"], speakers={"1": "王经理"}, path=tmp_path / "t.md")
    assert (tmp_path / "t.md").read_text(encoding="utf-8") == text
    paragraphs = text.rstrip("\n").split("\n\n")
    assert paragraphs == [
        "# Transcript",
        "**王经理** `00:00:01`", "大家好，今天开会。预算需要 在月底前确认。",
        "> *en:* Hello everyone, let's start. The budget must be confirmed.",
        "**Speaker 2** `00:00:05`", r"Budget \<b\>&\</b\> hiring --\> next \*week\*",
        "**王经理** `01:01:01`", r"\# 1. Done", "> *en:* Done."]
    plain = to_markdown(sentences, speakers=False, title=None).rstrip("\n").split("\n\n")
    assert plain[:4] == ["`00:00:01`", "大家好，今天开会。", "`00:00:02`", "预算需要 在月底前确认。"]
    lists = pd.DataFrame({"sentence_id": [1, 2, 3], "start_s": [0.0, 1.0, 360000.0], "end_s": [1.0, 2.0, 360001.0],
                          "text": ["1. First", "- second", "3) third [link](x)"]})
    assert to_markdown(lists, title=None).rstrip("\n").split("\n\n") == [
        "`00:00:00`", r"1\. First", "`00:00:01`", r"\- second", "`100:00:00`", r"3\) third \[link\](x)"]


def _every_table() -> dict[str, pd.DataFrame]:
    tables = {}
    for name, table in TABLES.items():
        path = DATA / f"{table.kind}.json"
        tables[name] = table.parse(json.loads(path.read_text(encoding="utf-8")) if path.exists() else None)
    tables["odd"] = pd.DataFrame({
        "f": [1.5, np.nan, math.inf], "i": np.array([1, 2, 2**53 + 1], dtype="int64"),
        "n": pd.array([1, None, 3], dtype="Int64"), "b": [True, False, True],
        "nb": pd.array([True, None, False], dtype="boolean"), "s": pd.array(["文", None, "x"], dtype="string"),
        "o": pd.Series([[1, 2], None, {"k": [np.int64(3), np.nan]}], dtype=object),
        "c": pd.Categorical(["lo", "hi", "lo"], categories=["lo", "mid", "hi"], ordered=True),
        "t": pd.to_datetime(["2024-04-25T10:10:08.123456", None, "2024-04-26T00:00:00"], format="ISO8601").tz_localize("Asia/Shanghai"),
        "d": pd.to_timedelta([1.5, None, 0.001], unit="s"), "x": [0.1 + 0.2, 1e-9, 123456.789],
    })
    return tables


def test_json_bundle_reloads_every_table_equal(tmp_path):
    tables = _every_table()
    path = tmp_path / "tables.json"
    text = to_json_bundle(tables, path=path)
    doc = json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in the bundle"))  # NaN/Infinity never
    assert doc["format"] == BUNDLE_FORMAT and list(doc["tables"]) == list(tables)
    odd = doc["tables"]["odd"]
    assert [row[0] for row in odd["rows"]] == [1.5, None, None]  # NaN and inf are null
    assert odd["rows"][2][6] == {"k": [3, None]} and odd["rows"][0][10] == 0.1 + 0.2  # times/floats stay floats
    assert doc["tables"]["sentences"]["rows"][0][2:4] == [1.2, 2.3]
    for back in (read_json_bundle(path), read_json_bundle(text)):
        assert list(back) == list(tables)
        expected = dict(tables)
        expected["odd"] = tables["odd"].assign(
            f=[1.5, np.nan, np.nan], o=pd.Series([[1, 2], None, {"k": [3, None]}], dtype=object))
        for name, frame in expected.items():
            pd.testing.assert_frame_equal(back[name], frame, check_exact=True, obj=name)
    assert read_json_bundle(to_json_bundle({})) == {}
    with pytest.raises(TypeError, match="mindmap_tree"):
        to_json_bundle({"mindmap_tree": [{"Title": "x"}]})


def test_sentences_with_infinite_times_give_no_cue_instead_of_failing():
    frame = pd.DataFrame({"sentence_id": [1, 2, 3], "speaker_id": ["1", "1", "2"], "start_s": [0.0, 1.0, -math.inf],
                          "end_s": [1.0, math.inf, 2.0], "text": ["kept", "open end", "open start"]})
    assert [c.lines for c in cues(frame)] == [("kept",)]
    assert _timed(_blocks(to_srt(frame)), SRT_TIME, numbered=True) == [(0, 1000, ["kept"])]
    assert to_markdown(frame, title=None) == "**Speaker 1** `00:00:00`\n\nkept\n"


def test_markdown_keeps_a_space_between_korean_sentences_but_none_between_chinese_ones():
    frame = pd.DataFrame({"sentence_id": [1, 2, 3, 4], "speaker_id": ["1", "1", "2", "2"],
                          "start_s": [0.0, 1.0, 2.0, 3.0], "end_s": [1.0, 2.0, 3.0, 4.0],
                          "text": ["회의를 시작합니다", "네 좋습니다", "大家好", "开始吧"]})
    assert to_markdown(frame, title=None).rstrip("\n").split("\n\n") == [
        "**Speaker 1** `00:00:00`", "회의를 시작합니다 네 좋습니다", "**Speaker 2** `00:00:02`", "大家好开始吧"]


def test_an_arrow_in_a_speaker_name_does_not_make_a_timing_line():
    frame = pd.DataFrame({"sentence_id": [1], "speaker_id": ["1"], "start_s": [0.0], "end_s": [1.0], "text": ["hi"]})
    srt = to_srt(frame, speakers={"1": "A-->B"})
    assert _timed(_blocks(srt), SRT_TIME, numbered=True) == [(0, 1000, ["A->B: hi"])]
    assert "A--&gt;B" in to_vtt(frame, speakers={"1": "A-->B"})
