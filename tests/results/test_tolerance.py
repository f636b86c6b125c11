"""Unknown keys, camelCase, missing or wrong-typed fields and the UNCONFIRMED layouts never break parsing."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from tingwu_nb import results as r

DATA = Path(__file__).parent / "data"
EMPTY_DOCS = [None, {}, {"TaskId": "t"}, {"TaskId": "t", "Transcription": None}, [], "garbage"]


def camel(value):
    """The DashScope spelling of a result document: camelCase keys, no TaskId wrapper."""
    if isinstance(value, dict):
        return {k[:1].lower() + k[1:]: v if k == "Classifications" else camel(v)  # scene names are data
                for k, v in value.items() if k != "TaskId"}
    if isinstance(value, list):
        return [camel(v) for v in value]
    return value


def noisy(value):
    """The same document with an unknown key added to every object."""
    if isinstance(value, dict):
        return {**{k: noisy(v) for k, v in value.items()}, "FutureField": {"x": [1, None]}}
    if isinstance(value, list):
        return [noisy(v) for v in value]
    return value


@pytest.mark.parametrize("doc", EMPTY_DOCS, ids=repr)
def test_empty_documents_give_empty_frames_with_columns_and_dtypes(doc):
    for table in r.TABLES.values():
        frame = table.parse(doc)
        assert frame.empty and tuple(frame.columns) == table.columns, table.name
        reference = table.parse(None)
        assert dict(frame.dtypes) == dict(reference.dtypes), table.name
    numeric = r.sentences_frame(None).dtypes
    assert str(numeric["sentence_id"]) == "int64" and str(numeric["start_s"]) == "float64"
    assert str(r.key_sentences_frame(None).dtypes["sentence_id"]) == "Int64"


@pytest.mark.parametrize("variant", [camel, noisy], ids=["camelCase", "unknown-keys"])
def test_spec_examples_in_other_spellings_parse_the_same(variant):
    for table in r.TABLES.values():
        path = DATA / f"{table.kind}.json"
        if not path.exists():
            continue
        doc = json.loads(path.read_text(encoding="utf-8"))
        expected = table.parse(doc)
        assert not expected.empty, table.name
        got = table.parse(variant(doc))
        pd.testing.assert_frame_equal(got, expected, obj=table.name)


def test_missing_and_wrong_typed_fields_are_missing_values():
    doc = {"Transcription": {"Paragraphs": [
        {"Words": [{"Text": "hello"}, {"Id": "x", "SentenceId": "2", "Start": "100", "End": None, "Text": None},
                   "not a word", None]},
        {"SpeakerId": 3, "Words": "nonsense"}, "not a paragraph"]}}
    words = r.words_frame(doc)
    assert words["word_id"].tolist() == [0, 1] and words["sentence_id"].tolist() == [0, 2]
    assert words["text"].tolist() == ["hello", ""] and words["speaker_id"].tolist() == [None, None]
    assert math.isnan(words["start_s"][0]) and words["start_s"][1] == 0.1 and math.isnan(words["end_s"][1])
    sentences = r.sentences_frame(doc)
    assert sentences["sentence_id"].tolist() == [0, 2] and sentences["start_s"].tolist()[1] == 0.1
    paragraphs = r.paragraphs_frame(doc)
    assert paragraphs["speaker_id"].tolist() == [None, "3"] and paragraphs["word_count"].tolist() == [2, 0]
    assert paragraphs["first_sentence_id"].isna().tolist() == [False, True]
    assistance = {"MeetingAssistance": {"Keywords": ["a", {"Word": "b", "Score": "0.5"}, "", None, 7],
                                        "KeySentences": [{"Text": "no id"}, 5],
                                        "Classifications": [{"Name": "Meeting", "Score": "high"}]}}
    assert r.keywords_frame(assistance)[["keyword", "rank"]].values.tolist() == [["a", 1], ["b", 2], ["7", 3]]
    assert r.keywords_frame(assistance)["score"].tolist()[1] == 0.5
    key = r.key_sentences_frame(assistance)
    assert key["key_sentence_id"].tolist() == [1] and key["sentence_id"].isna().all()
    assert r.classifications_frame(assistance)["scene"].tolist() == ["Meeting"]
    qa = r.qa_frame({"Summarization": {"QuestionsAnsweringSummary": [
        {"Question": "q", "SentenceIdsOfQuestion": "3, 4", "SentenceIdsOfAnswer": [5, "x", 6.0, True]}]}})
    assert qa["question_sentence_ids"][0] == [3, 4] and qa["answer_sentence_ids"][0] == [5, 6]
    assert r.custom_prompt_frame({"CustomPrompt": [{"Name": "n", "Truncated": "true"}]})["truncated"].tolist() == [True]


def test_summary_overview_details_and_mindmap_begin_time():
    doc = {"Summarization": {"ParagraphSummary": "Short overview.@#- point one\n- point two",
                             "MindMapSummary": {"Title": "root", "Topic": [{"Title": "leaf", "BeginTime": 61500}]}}}
    summary = r.summary_frame(doc)
    assert summary[["title", "overview", "details"]].values.tolist() == [[None, "Short overview.",
                                                                          "- point one\n- point two"]]
    nodes = r.mindmap_frame(doc)
    assert nodes["title"].tolist() == ["root", "leaf"] and nodes["start_s"].tolist()[1] == 61.5


@pytest.mark.parametrize("body", [
    [{"Title": "greeting", "Score": 0.8, "SentenceIds": [1, 2], "Reason": "said hello"},
     {"Name": "closing", "Passed": False, "Evidence": [{"SentenceId": 9, "Text": "bye"}]}],
    {"Results": [{"Dimension": "greeting", "Score": "0.8", "EvidenceSentenceIds": "1,2", "Explanation": "said hello"},
                 {"Content": "closing", "Hit": "fail", "SentenceIds": [9]}]},
    {"greeting": {"Score": 0.8, "SentenceIds": [1, 2], "Comment": "said hello"},
     "closing": {"Result": False, "SentenceIds": [9]}},
], ids=["list", "wrapped", "by-dimension"])
def test_service_inspection_layouts(body):
    frame = r.inspection_frame({"TaskId": "t", "ServiceInspection": body})
    assert frame["dimension"].tolist() == ["greeting", "closing"]
    assert frame["score"].tolist() == [0.8, 0.0] and frame["passed"].tolist()[1] is False
    assert frame["evidence_sentence_ids"].tolist() == [[1, 2], [9]]
    assert frame["reason"].tolist()[0] == "said hello"


@pytest.mark.parametrize("body", [
    [{"SpeakerId": "1", "Identity": "host", "Confidence": 0.9}, {"SpeakerId": "2", "Role": "guest"}],
    {"Identities": [{"speakerId": "1", "identity": "host", "score": 0.9}, {"speakerId": "2", "name": "guest"}]},
    {"1": "host", "2": "guest"},
], ids=["list", "wrapped-camel", "by-speaker"])
def test_identity_layouts(body):
    frame = r.identities_frame({"IdentityRecognition": body})
    assert frame[["speaker_id", "identity"]].values.tolist() == [["1", "host"], ["2", "guest"]]


@pytest.mark.parametrize("body", [
    [{"Key": "budget", "Value": "10k", "SentenceIds": [3]}, {"Name": "owner", "Content": {"who": "Wang"}}],
    {"Contents": [{"Title": "budget", "Result": "10k", "SentenceIds": "3"}, {"Field": "owner", "Answer": {"who": "Wang"}}]},
    {"budget": "10k", "owner": {"who": "Wang"}},
], ids=["list", "wrapped", "by-field"])
def test_content_extraction_layouts(body):
    frame = r.extractions_frame({"ContentExtraction": body})
    assert frame[["name", "value"]].values.tolist() == [["budget", "10k"], ["owner", '{"who": "Wang"}']]


def test_translation_list_of_languages_and_sentences_without_paragraphs():
    doc = {"Translation": [
        {"TargetLanguage": "en", "Paragraphs": [{"Sentences": [{"SentenceId": 2, "Start": 10, "End": 20, "Text": "b"},
                                                               {"SentenceId": 1, "Start": 0, "End": 9, "Text": "a"}]}]},
        {"Language": "ja", "Sentences": [{"sentenceId": 1, "start": 0, "end": 9, "text": "あ"}, {"Text": "no id"}]}]}
    frame = r.translations_frame(doc)
    assert list(frame.columns) == ["sentence_id", "start_s", "end_s", "en", "ja"]
    assert frame[["sentence_id", "en", "ja"]].values.tolist() == [[1, "a", "あ"], [2, "b", None]]
    assert r.translations_frame({"translation": {"sentences": [{"sentenceId": 4, "text": "x"}]}}, ["de"])[
        "de"].tolist() == ["x"]
