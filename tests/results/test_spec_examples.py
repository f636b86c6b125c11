"""Every result-file example of the spec (copied into tests/results/data) parses into the expected frame."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tingwu_nb import results as r

DATA = Path(__file__).parent / "data"


def load(kind: str) -> dict:
    return json.loads((DATA / f"{kind}.json").read_text(encoding="utf-8"))


def rows(frame: pd.DataFrame, *columns: str) -> list[list]:
    return frame[list(columns)].astype(object).where(frame[list(columns)].notna(), None).values.tolist()


def test_every_table_has_its_documented_columns_for_the_spec_files():
    for table in r.TABLES.values():
        path = DATA / f"{table.kind}.json"
        frame = table.parse(load(table.kind) if path.exists() else None)
        assert tuple(frame.columns[:len(table.columns)]) == table.columns, table.name


def test_transcription_example():
    doc = load("Transcription")
    words = r.words_frame(doc)
    assert rows(words, "word_id", "sentence_id", "speaker_id", "paragraph_id", "text") == [
        [10, 1, "1", "1714012345678500000", "大家好，"], [20, 1, "1", "1714012345678500000", "今天开会。"],
        [30, 2, "2", "1714012350123500000", "好的。"]]
    assert words["start_s"].tolist() == [1.2, 1.75, 2.9]
    sentences = r.sentences_frame(doc)
    assert rows(sentences, *r.SENTENCE_COLUMNS) == [[1, "1", 1.2, 2.3, "大家好，今天开会。", 2], [2, "2", 2.9, 3.6, "好的。", 1]]
    paragraphs = r.paragraphs_frame(doc)
    assert rows(paragraphs, *r.PARAGRAPH_COLUMNS) == [
        ["1714012345678500000", 0, "1", 1.2, 2.3, "大家好，今天开会。", 1, 1, 1, 2],
        ["1714012350123500000", 1, "2", 2.9, 3.6, "好的。", 2, 2, 1, 1]]
    assert r.parse_transcription(doc).audio["SampleRate"] == 16000


def test_speakers_example_counts_characters_for_chinese():
    speakers = r.speakers_frame(load("Transcription"))
    assert rows(speakers, "speaker_id", "turns", "sentence_count", "word_count", "char_count", "rate_unit") == [
        ["1", 1, 1, 2, 7, "chars"], ["2", 1, 1, 1, 2, "chars"]]
    assert speakers["talk_time_s"].round(3).tolist() == [1.1, 0.7]
    assert speakers["chars_per_minute"].round(3).tolist() == [round(7 / (1.1 / 60), 3), round(2 / (0.7 / 60), 3)]
    assert speakers["rate_per_minute"].tolist() == speakers["chars_per_minute"].tolist()
    assert speakers["longest_monologue_s"].round(3).tolist() == [1.1, 0.7]
    assert speakers["talk_share"].sum() == pytest.approx(1.0)


def test_translation_example_is_one_column_named_after_the_target():
    frame = r.translations_frame(load("Translation"), ["en"])
    assert list(frame.columns) == ["sentence_id", "start_s", "end_s", "en"]
    assert rows(frame, "sentence_id", "start_s", "end_s", "en") == [[1, 1.2, 2.3, "Hello everyone, let's start the meeting."]]
    assert list(r.translations_frame(load("Translation")).columns)[-1] == r.DEFAULT_TRANSLATION_COLUMN


def test_chapters_example():
    assert rows(r.chapters_frame(load("AutoChapters")), *r.CHAPTER_COLUMNS) == [
        [1, 1.2, 284.0, "项目进度回顾", "团队回顾了本季度的交付情况……"],
        [2, 284.1, 452.0, "下季度计划", "讨论了资源分配与里程碑……"]]


def test_meeting_assistance_example():
    doc = load("MeetingAssistance")
    assert rows(r.keywords_frame(doc), "rank", "keyword") == [[1, "预算"], [2, "里程碑"], [3, "招聘"]]
    assert rows(r.key_sentences_frame(doc), *r.KEY_SENTENCE_COLUMNS) == [[1, 3, 7.64, 12.755, "本季度预算需要在月底前确认。"]]
    assert rows(r.actions_frame(doc), *r.ACTION_COLUMNS) == [[1, 5, 15.2, 18.9, "王工周五前提交招聘需求。"]]
    assert rows(r.classifications_frame(doc), "scene", "score") == [["Interview", 0.09], ["Lecture", 0.21],
                                                                    ["Meeting", 0.70]]


def test_summarization_example():
    doc = load("Summarization")
    assert rows(r.summary_frame(doc), *r.SUMMARY_COLUMNS) == [
        ["季度项目复盘会", "会议回顾了本季度进度并确定了下季度重点。", "会议回顾了本季度进度并确定了下季度重点。", ""]]
    assert rows(r.speaker_summaries_frame(doc), *r.SPEAKER_SUMMARY_COLUMNS) == [
        ["1", "发言人1", "介绍了交付情况与风险。"], ["2", "发言人2", "提出了招聘需求。"]]
    assert rows(r.qa_frame(doc), *r.QA_COLUMNS) == [[1, "预算何时确认？", "月底前确认。", [3], [4]]]
    assert rows(r.mindmap_frame(doc), "node_id", "parent_id", "depth", "title", "child_count") == [
        [1, None, 0, "季度复盘", 2], [2, 1, 1, "进度", 1], [3, 2, 2, "交付按期完成", 0], [4, 1, 1, "计划", 0]]
    assert rows(r.mindmap_edges_frame(doc), *r.MINDMAP_EDGE_COLUMNS) == [
        [1, 2, "季度复盘", "进度"], [2, 3, "进度", "交付按期完成"], [1, 4, "季度复盘", "计划"]]
    (root,) = r.mindmap_tree(doc)
    assert [c.title for c in root.children] == ["进度", "计划"] and root.children[0].children[0].children == []


def test_text_polish_example():
    assert rows(r.polished_frame(load("TextPolish")), *r.POLISH_COLUMNS) == [
        [0, "1714012345678500000", 1.2, 2.3, "大家好，今天召开项目复盘会。", [1, 2], 1, 2]]


def test_custom_prompt_example():
    assert rows(r.custom_prompt_frame(load("CustomPrompt")), *r.CUSTOM_PROMPT_COLUMNS) == [
        ["summary-demo", "## 会议要点\n- 预算月底确认", False]]


def test_ppt_extraction_example_keeps_no_signed_url():
    frame = r.slides_frame(load("PptExtraction"))
    assert rows(frame, *r.SLIDE_COLUMNS) == [[1, 0.03, 17.47, "介绍了产品整体架构。", "1.png"]]
    assert "Expires" not in frame.to_json()
