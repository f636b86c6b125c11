"""Result documents from engine outputs (emulator/analysis/documents.py), read back by the client's parsers.

Pure unit: the engine outputs are hand-built ``base.py`` dataclasses; every document must parse
through ``tingwu_nb.results.catalog.all_frames`` into non-empty frames that join the transcript.
"""

from __future__ import annotations

import json

import pytest

from tingwu_nb.emulator.analysis import documents as docs
from tingwu_nb.emulator.analysis.base import (
    Chapter,
    ContentItem,
    CustomAnswer,
    Extraction,
    Identity,
    Judgement,
    KeyInformation,
    MindNode,
    QAPair,
)
from tingwu_nb.emulator.analysis.pipeline import plan, transcript_language
from tingwu_nb.emulator.analysis.postprocess import build_transcription, paragraph_sentence_ids
from tingwu_nb.emulator.contract import ContractChoices
from tingwu_nb.results.catalog import all_frames

TEXTS = ["Good morning, let's review the budget.", "The budget is tight this quarter.",
         "Who will send the report?", "Anna will send the report by Friday.", "Thanks everyone."]
SPEAKERS = ["1", "1", "2", "1", "2"]


def sentence(n: int, text: str) -> dict:
    start = 1000 + n * 3000
    words = text.split()
    step = 2500 // len(words)
    return {"text": text, "start_ms": start, "end_ms": start + 2500, "translations": {},
            "words": [(w, start + i * step, start + (i + 1) * step) for i, w in enumerate(words)]}


@pytest.fixture(scope="module")
def fixture():
    sentences = [sentence(n, t) for n, t in enumerate(TEXTS)]
    transcription = build_transcription("T1", sentences, SPEAKERS, duration_ms=20_000, paragraph_base=7 * 10**18)
    return transcription, docs.transcript_of(transcription, sentences, "en")


def test_transcript_of_numbers_sentences_like_the_transcription_file(fixture):
    transcription, t = fixture
    assert [s.id for s in t.sentences] == [1, 2, 3, 4, 5]
    assert [s.speaker for s in t.sentences] == SPEAKERS
    assert t.sentences[0].paragraph_id == t.sentences[1].paragraph_id != t.sentences[2].paragraph_id
    assert paragraph_sentence_ids(transcription) == [[1, 2], [3], [4], [5]]
    assert t.text.startswith("Good morning") and t.speakers == ("1", "2")


def every_document(t, choices: ContractChoices | None = None):
    choices = choices or ContractChoices()
    contents = [ContentItem("Greeting", "the agent greets"), ContentItem("Deadline", "a date is promised")]
    return {
        "Transcription": None,
        "AutoChapters": docs.chapters_document("T1", t, [Chapter((1, 2), "Budget", "The budget is tight."),
                                                         Chapter((3, 4, 5), "Report", "Anna sends it.")]),
        "MeetingAssistance": docs.meeting_assistance_document("T1", t, {
            "KeyInformation": KeyInformation(("budget", "report", "unicorn"), (2, 99)),
            "Actions": [4], "Classifications": {"Interview": 0.1, "Lecture": 0.2, "Meeting": 0.7}}),
        "Summarization": docs.summarization_document("T1", t, {
            "Paragraph": ("Budget review", "The team reviewed the budget."),
            "Conversational": {"1": "Opened and assigned.", "2": "Asked who sends the report."},
            "QuestionsAnswering": [QAPair("Who sends the report?", (3,), "Anna, by Friday.", (4,))],
            "MindMap": MindNode("Meeting", (MindNode("Budget", (MindNode("tight", begin_ms=4000),)),
                                            MindNode("Report", begin_ms=10000)))},
            paragraph_title=choices.summary_paragraph_title, mindmap_leaf_times=choices.mindmap_leaf_begin_time),
        "TextPolish": docs.text_polish_document("T1", t, [[1, 2], [3], [4], [5]], ["A.", "B.", "C.", "D."]),
        "ServiceInspection": docs.inspection_document("T1", t, contents, [
            Judgement("Greeting", True, 0.9, (1,), "says good morning"),
            Judgement("Deadline", True, 0.8, (4, 42), "by Friday")], layout=choices.inspection_layout),
        "IdentityRecognition": docs.identity_document("T1", t, [Identity("1", "Manager", (1, 4)), Identity("2", None)]),
        "ContentExtraction": docs.extraction_document("T1", t, [ContentItem("Owner", "who sends it", "Manager")],
                                                      [Extraction("Owner", "Anna", (4,))]),
        "CustomPrompt": docs.custom_prompt_document("T1", [CustomAnswer("todo", "- send the report", False)]),
    }


def test_every_document_parses_into_non_empty_frames_that_join_the_transcript(fixture):
    transcription, t = fixture
    results = every_document(t)
    results["Transcription"] = transcription
    results = json.loads(json.dumps(results))  # what the client downloads
    assert all(doc["TaskId"] == "T1" for doc in results.values())
    frames = all_frames(results)
    for name in ("chapters", "keywords", "key_sentences", "actions", "classifications", "summary",
                 "speaker_summaries", "qa", "mindmap", "mindmap_edges", "polished", "inspection",
                 "custom_prompt", "identities", "extractions"):
        assert len(frames[name]), name
    ids = set(frames["sentences"]["sentence_id"])
    assert list(frames["keywords"]["keyword"]) == ["budget", "report"]  # "unicorn" is not in the text
    assert list(frames["key_sentences"]["sentence_id"]) == [2]  # 99 is not a sentence
    assert set(frames["actions"]["sentence_id"]) <= ids and frames["actions"]["text"][0] == TEXTS[3]
    chapters = frames["chapters"]
    s = frames["sentences"]  # chapter times are those of its first and last sentence in the file
    assert list(chapters["start_s"]) == [s["start_s"][0], s["start_s"][2]]
    assert list(chapters["end_s"]) == [s["end_s"][1], s["end_s"][4]]
    assert list(frames["inspection"]["dimension"]) == ["Greeting", "Deadline"]
    assert frames["inspection"]["evidence_sentence_ids"][1] == [4]
    assert list(frames["speaker_summaries"]["speaker_id"]) == ["1", "2"]
    assert frames["summary"]["title"][0] == "Budget review"
    qa = frames["qa"].iloc[0]
    assert qa["question_sentence_ids"] == [3] and qa["answer_sentence_ids"] == [4]
    mind = frames["mindmap"]
    assert list(mind["depth"]) == [0, 1, 2, 1] and mind["start_s"].iloc[2] == 4.0 and mind["start_s"].isna()[0]
    polished = frames["polished"].merge(frames["paragraphs"], on="paragraph_id")
    assert len(polished) == 4
    assert list(frames["identities"]["identity"]) == ["Manager", None]
    assert frames["extractions"]["value"][0] == "Anna" and frames["extractions"]["sentence_ids"][0] == [4]


def test_switchable_layouts_still_parse(fixture):
    _, t = fixture
    choices = ContractChoices(inspection_layout="by-title", summary_paragraph_title=False,
                              mindmap_leaf_begin_time=False)
    results = every_document(t, choices)
    assert isinstance(results["ServiceInspection"]["ServiceInspection"], dict)
    assert "ParagraphTitle" not in results["Summarization"]["Summarization"]
    frames = all_frames(results)
    assert sorted(frames["inspection"]["dimension"]) == ["Deadline", "Greeting"]
    assert frames["summary"]["title"].isna().all() and frames["mindmap"]["start_s"].isna().all()


def test_empty_parts_write_empty_content_and_absent_parts_no_key(fixture):
    _, t = fixture
    ma = docs.meeting_assistance_document("T1", t, {"KeyInformation": None, "Classifications": {"Meeting": 1.0}})
    assert ma["MeetingAssistance"] == {"Keywords": [], "KeySentences": [], "Classifications": {"Meeting": 1.0}}
    summary = docs.summarization_document("T1", t, {"Paragraph": None, "MindMap": None})["Summarization"]
    assert summary == {"ParagraphTitle": "", "ParagraphSummary": "", "MindMapSummary": []}
    assert docs.chapters_document("T1", t, [])["AutoChapters"] == []


def test_mindmap_depth_is_cut_at_four_levels(fixture):
    _, t = fixture
    node = MindNode("leaf", begin_ms=1)
    for n in range(6):
        node = MindNode(f"level{n}", (node,))
    root = docs.summarization_document("T1", t, {"MindMap": node})["Summarization"]["MindMapSummary"][0]
    depth = 1
    while root["Topic"]:
        root, depth = root["Topic"][0], depth + 1
    assert depth == 4


def test_an_unjudged_inspection_content_is_reported_not_invented(fixture):
    _, t = fixture
    rows = docs.inspection_document("T1", t, [ContentItem("A", "x"), ContentItem("B", "y")],
                                    [Judgement("A", False, 0.1, (), "no greeting")])["ServiceInspection"]
    assert [r["Title"] for r in rows] == ["A", "B"] and rows[1]["Passed"] is None and rows[1]["Score"] is None


@pytest.mark.parametrize("language, texts, expected", [
    ("fspk", ["x"], "cn"), ("en", ["你好"], "en"), ("multilingual", ["你好，大家好", "ok"], "cn"),
    ("multilingual", ["hello there", "你"], "en"), ("multilingual", ["こんにちは"], "ja"), ("multilingual", [], "en"),
])
def test_transcript_language(language, texts, expected):
    assert transcript_language(language, texts) == expected


def test_multilingual_prefers_the_languages_detected_per_sentence():
    assert transcript_language("multilingual", ["hello", "hi"], ["ja", None, "ja", "en"]) == "ja"
    assert transcript_language("multilingual", ["hello"], [None, "xx"]) == "en"  # nothing usable: the script
    assert transcript_language("cn", ["hello"], ["en"]) == "cn"  # a fixed language wins


def test_plan_honours_types_minimums_and_order(fixture):
    transcription, t = fixture  # ~150 characters: below every minimum but keywords' 200 too
    params = {"MeetingAssistanceEnabled": True, "MeetingAssistance": {"Types": ["Actions"]},
              "SummarizationEnabled": True, "Summarization": {"Types": ["Paragraph", "Conversational"]},
              "TextPolishEnabled": True, "AutoChaptersEnabled": True}
    features = plan("T1", params, t, paragraph_sentence_ids(transcription), ContractChoices())
    assert [f.key for f in features] == ["MeetingAssistance", "AutoChapters", "Summarization", "TextPolish"]
    ma, chapters, summary, _ = features
    assert set(ma.calls) == {"Actions", "Classifications"}  # KeyInformation not requested: omitted
    assert chapters.calls == {"AutoChapters": None}  # below 250 characters: empty content
    assert summary.calls == {"Paragraph": None, "Conversational": None}
    omit = plan("T1", params, t, [], ContractChoices(below_minimum="omit", assistance_unrequested="empty"))
    assert omit[0].calls["KeyInformation"] is None and omit[1].calls == {} and omit[2].calls == {}


class Faulty:
    """The real extractive engine under another name, with chosen methods raising (fault injection)."""

    def __init__(self, name: str, broken: set[str], rejected: frozenset[str] = frozenset()) -> None:
        from tingwu_nb.emulator.analysis.extractive import ExtractiveEngine

        self.inner, self.name, self.broken, self.rejected = ExtractiveEngine(), name, broken, rejected
        self.stats = self.inner.stats

    def __getattr__(self, method: str):
        if method in self.broken:
            def fail(*args, **kwargs):
                raise RuntimeError(f"{method} is broken")
            return fail
        if method in self.rejected:  # as LLMEngine does when the model's answer is unusable
            def replaced(*args, **kwargs):
                self.stats.fell_back(method)
                return getattr(self.inner, method)(*args, **kwargs)
            return replaced
        return getattr(self.inner, method)


class Service:
    """What run_analysis needs of an AnalysisService: the engine and the one worker."""

    def __init__(self, engine) -> None:
        from tingwu_nb.emulator.analysis.worker import AnalysisWorker

        self.worker, self._engine = AnalysisWorker(4), engine

    def engine(self):
        return self._engine


class Record:
    def __init__(self) -> None:
        self.task_id, self.results, self.analysis_report = "T1", {}, {}


def long_transcript(fixture):
    transcription, _ = fixture
    sentences = [sentence(n, TEXTS[n % len(TEXTS)]) for n in range(20)]  # ~600 characters: above the minimums
    doc = build_transcription("T1", sentences, [SPEAKERS[n % 5] for n in range(20)], duration_ms=70_000)
    return doc, docs.transcript_of(doc, sentences, "en")


def run_features(fixture, engine, params):
    import asyncio

    from tingwu_nb.emulator.analysis.pipeline import run_analysis

    doc, t = long_transcript(fixture)
    record, service = Record(), Service(engine)
    features = plan("T1", params, t, paragraph_sentence_ids(doc), ContractChoices())
    try:
        asyncio.run(run_analysis(record, features, service))
        return record, None
    except Exception as exc:  # noqa: BLE001 - the test inspects it
        return record, exc
    finally:
        service.worker.close()


PARAMS = {"AutoChaptersEnabled": True, "TextPolishEnabled": True, "MeetingAssistanceEnabled": True}


def test_a_model_failure_falls_back_to_the_extractive_result_for_that_part(fixture):
    record, error = run_features(fixture, Faulty("llm", {"chapters"}), PARAMS)
    assert error is None and set(record.results) == {"MeetingAssistance", "AutoChapters", "TextPolish"}
    assert record.analysis_report["AutoChapters"]["fallbacks"] == ["AutoChapters"]
    assert record.analysis_report["AutoChapters"]["engine"] == "extractive"
    assert record.analysis_report["TextPolish"] == {**record.analysis_report["TextPolish"], "engine": "llm",
                                                    "fallbacks": []}
    assert record.results["AutoChapters"]["AutoChapters"]


def test_an_extractive_failure_fails_the_task_after_the_other_features(fixture):
    from tingwu_nb.emulator.analysis.pipeline import AnalysisFailed

    record, error = run_features(fixture, Faulty("extractive", {"chapters"}), PARAMS)
    assert isinstance(error, AnalysisFailed) and error.features == ("AutoChapters",)
    assert "AutoChapters (RuntimeError: chapters is broken)" in str(error)
    assert set(record.results) == {"MeetingAssistance", "TextPolish"}  # the others still ran
    assert "error" in record.analysis_report["AutoChapters"]


def test_an_answer_the_engine_replaced_itself_is_reported_as_a_fallback(fixture):
    record, error = run_features(fixture, Faulty("llm", set(), frozenset({"polish"})), PARAMS)
    assert error is None and record.analysis_report["TextPolish"]["fallbacks"] == ["Polish"]
    assert record.analysis_report["AutoChapters"]["fallbacks"] == []
