"""Post-meeting results computed by the emulator over loopback (extractive engine), read by the client.

One emulator per module (``analysis_engine="extractive"``) records the sample meeting with every
feature the extractive engine computes; the documents are downloaded by ``record`` and read
through the client's frames. A listener on the task store sees each Result key appear while the
task is still ONGOING.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest

from tests.conftest import sample_turns_wav
from tingwu_nb.contract.params import (
    ContentExtraction,
    ExtractionContent,
    IdentityContent,
    IdentityRecognition,
    InspectionContent,
    RealtimeTaskRequest,
    ServiceInspection,
)
from tingwu_nb.emulator.app import Emulator
from tingwu_nb.emulator.contract import EmulatorConfig
from tingwu_nb.errors import ServiceError
from tingwu_nb.session.recording import record

pytestmark = [pytest.mark.network, pytest.mark.slow]

CHECKS = (("Greeting", "The host greets everyone at the start."),
          ("Deadline", "A date or day is promised for a task."),
          ("Budget", "The budget is discussed."))
FEATURES = ("MeetingAssistance", "AutoChapters", "Summarization", "IdentityRecognition", "ContentExtraction",
            "ServiceInspection", "TextPolish")


def full_request(**overrides: Any) -> RealtimeTaskRequest:
    """Every feature the extractive engine computes, with diarization (Conversational needs it)."""
    values: dict[str, Any] = dict(
        diarization=True, summarization=True, chapters="General", meeting_assistance=True, text_polish=True,
        service_inspection_enabled=True, service_inspection=ServiceInspection(
            scene_introduction="A weekly project meeting.", inspection_introduction="Check the meeting etiquette.",
            inspection_contents=tuple(InspectionContent(title=t, content=c) for t, c in CHECKS)),
        identity_recognition_enabled=True, identity_recognition=IdentityRecognition(
            scene_introduction="A project team.",
            identity_contents=(IdentityContent(name="Host", description="opens and closes the meeting"),
                               IdentityContent(name="Engineer", description="talks about servers"))),
        content_extraction_enabled=True, content_extraction=ContentExtraction(
            scene_introduction="A project meeting.",
            extraction_contents=(ExtractionContent(title="Next meeting", content="when the team meets again"),
                                 ExtractionContent(title="Budget deadline", content="when the budget is due"))))
    values.update(overrides)
    return RealtimeTaskRequest.create(**values)


@pytest.fixture(scope="module")
def emu(engine):
    with Emulator(EmulatorConfig.generate(analysis_engine="extractive"), engine=engine) as emulator:
        seen: list[tuple[str, str, str, int]] = []
        emulator.store.subscribe(lambda rec, what: seen.append((rec.task_id, what, rec.status, len(rec.results))))
        emulator.seen = seen
        yield emulator


async def _record(emu: Emulator, source, request: RealtimeTaskRequest, out_dir):
    async with emu.client() as client:
        return await record(source, request, client=client, speed=math.inf, out_dir=out_dir, poll_interval_s=0.2)


@pytest.fixture(scope="module")
def meeting(emu, sample_path, tmp_path_factory):
    """The sample meeting recorded twice with every feature (the second run checks determinism)."""
    return [asyncio.run(_record(emu, sample_path, full_request(), tmp_path_factory.mktemp(f"m{n}")))
            for n in range(2)]


def test_every_feature_arrives_and_parses_into_frames(meeting):
    session = meeting[0]
    assert session.status == "COMPLETED"
    tables = session.tables()
    for name in ("chapters", "keywords", "key_sentences", "actions", "classifications", "summary",
                 "speaker_summaries", "qa", "mindmap", "polished", "inspection", "identities", "extractions"):
        assert len(tables[name]), name
    assert len(tables["custom_prompt"]) == 0 and session.result("CustomPrompt") is None
    assert abs(tables["classifications"]["score"].sum() - 1) < 0.02


def test_results_are_grounded_in_the_transcript(meeting):
    tables = meeting[0].tables()
    sentences = tables["sentences"]
    ids = set(sentences["sentence_id"])
    chapters = tables["chapters"]
    assert chapters["start_s"].iloc[0] == sentences["start_s"].iloc[0]
    assert chapters["end_s"].iloc[-1] == sentences["end_s"].iloc[-1]
    assert (chapters["end_s"].iloc[:-1].to_numpy() <= chapters["start_s"].iloc[1:].to_numpy()).all()
    per_sentence = [((chapters["start_s"] <= s) & (s <= chapters["end_s"])).sum() for s in sentences["start_s"]]
    assert per_sentence == [1] * len(sentences)  # chapters tile the timeline
    assert set(tables["key_sentences"]["sentence_id"]) <= ids and set(tables["actions"]["sentence_id"]) <= ids
    assert len(tables["actions"]) <= 6
    text = " ".join(sentences["text"]).casefold()
    assert all(k.casefold() in text for k in tables["keywords"]["keyword"]) and len(tables["keywords"]) <= 20
    for column in ("question_sentence_ids", "answer_sentence_ids"):
        assert all(i in ids for row in tables["qa"][column] for i in row)
    for column, table in (("evidence_sentence_ids", "inspection"), ("sentence_ids", "extractions"),
                          ("sentence_ids", "polished")):
        assert all(i in ids for row in tables[table][column] for i in row), table
    assert list(tables["inspection"]["dimension"]) == [t for t, _ in CHECKS]  # one row per content
    assert list(tables["extractions"]["name"]) == ["Next meeting", "Budget deadline"]
    assert set(tables["identities"]["speaker_id"]) <= set(sentences["speaker_id"])
    assert set(tables["identities"]["identity"].dropna()) <= {"Host", "Engineer"}
    assert set(tables["speaker_summaries"]["speaker_id"]) == set(sentences["speaker_id"])
    polished = tables["polished"]
    assert sorted(i for row in polished["sentence_ids"] for i in row) == sorted(ids)
    assert set(polished["paragraph_id"]) == set(tables["paragraphs"]["paragraph_id"])
    assert (tables["mindmap"]["depth"] <= 3).all()


def test_results_appear_one_by_one_while_the_task_is_ongoing(emu, meeting):
    task = meeting[0].task_id
    seen = [(what, status, count) for tid, what, status, count in emu.seen if tid == task]
    keys = [what for what, _, _ in seen if what != "TaskStatus"]
    assert keys == ["Transcription", *FEATURES]
    assert all(status == "ONGOING" for what, status, _ in seen if what != "TaskStatus")
    assert [count for _, _, count in seen[:-1]] == list(range(1, len(keys) + 1))  # partial Result sets
    assert seen[-1][:2] == ("TaskStatus", "COMPLETED")


def test_two_records_of_the_same_audio_give_the_same_documents(meeting):
    first, second = meeting
    assert list(first.sentences()["text"]) == list(second.sentences()["text"])
    for kind in FEATURES:
        a, b = first.result(kind), second.result(kind)
        assert a["TaskId"] != b["TaskId"]
        if kind == "TextPolish":  # ParagraphIds are stamped per task
            a, b = ([{k: v for k, v in item.items() if k != "ParagraphId"} for item in d[kind]] for d in (a, b))
        else:
            a, b = a[kind], b[kind]
        assert a == b, kind


def test_the_analysis_report_names_engine_and_time_per_feature(emu, meeting):
    report = emu.analysis_report(meeting[0].task_id)
    assert list(report) == list(FEATURES)
    for entry in report.values():
        assert entry["engine"] == "extractive" and entry["fallbacks"] == [] and entry["seconds"] >= 0
    for session in meeting:  # the first run includes loading the keyword extractor
        print("\npost-processing seconds (extractive, sample meeting):",
              {k: v["seconds"] for k, v in emu.analysis_report(session.task_id).items()})


def test_types_are_honoured_and_short_recordings_get_empty_content(emu, sample_pcm16k, sample_truth, tmp_path):
    clip = sample_turns_wav(tmp_path / "one.wav", 1, sample_pcm16k, sample_truth)  # ~70 characters
    request = RealtimeTaskRequest.create(summarization=("Paragraph", "QuestionsAnswering", "MindMap"),
                                         chapters=True, meeting_assistance=("KeyInformation",))
    session = asyncio.run(_record(emu, clip, request, tmp_path))
    assert session.status == "COMPLETED" and len(session.sentences()) >= 1
    assert session.result("AutoChapters")["AutoChapters"] == []
    summary = session.result("Summarization")["Summarization"]
    assert summary == {"ParagraphTitle": "", "ParagraphSummary": "", "QuestionsAnsweringSummary": [],
                       "MindMapSummary": []}  # below the minimums; Conversational not requested
    assistance = session.result("MeetingAssistance")["MeetingAssistance"]
    assert assistance["Keywords"] == [] and assistance["KeySentences"] == [] and "Actions" not in assistance
    assert set(assistance["Classifications"]) == {"Interview", "Lecture", "Meeting"}


START = {"Input": {"Format": "pcm", "SampleRate": 16000, "SourceLanguage": "en"}}
SI = {"SceneIntroduction": "a call", "InspectionIntroduction": "politeness",
      "InspectionContents": [{"Title": "Greeting", "Content": "greets"}]}


@pytest.mark.parametrize("params, says", [
    ({"CustomPromptEnabled": True, "CustomPrompt": {"Contents": [{"Name": "a", "Prompt": "Sum up {Transcription}"}]}},
     "language model"),
    ({"ServiceInspectionEnabled": True, "ServiceInspection": {**SI, "SceneIntroduction": ""}}, "SceneIntroduction"),
    ({"ServiceInspectionEnabled": True, "ServiceInspection": {**SI, "InspectionContents": [{"Title": "x"}] * 2}},
     "InspectionContents"),
    ({"ServiceInspectionEnabled": True, "ServiceInspection": {
        **SI, "InspectionContents": [{"Title": "t", "Content": "c"}] * 101}}, "1-100"),
    ({"IdentityRecognitionEnabled": True, "IdentityRecognition": {"IdentityContents": [{"Name": "n"}] * 6}}, "1-5"),
    ({"ContentExtractionEnabled": True, "ContentExtraction": {"ExtractionContents": [{"Title": "t"}]}},
     "ExtractionContents"),
    ({"SummarizationEnabled": True, "Summarization": {"Types": ["Haiku"]}}, "Summarization.Types"),
    ({"SummarizationEnabled": True}, "Summarization.Types is required"),
    ({"MeetingAssistanceEnabled": True, "MeetingAssistance": {"Types": ["Everything"]}}, "MeetingAssistance.Types"),
    ({"AutoChaptersEnabled": True, "AutoChapters": {"ChapterGranularity": "Detailed"}}, "ChapterGranularity"),
    ({"Transcoding": {"SpectrumEnabled": True}}, "SpectrumEnabled"),
], ids=["custom-prompt-extractive", "no-scene", "no-content", "101-checks", "6-identities", "extraction-content",
        "summary-type", "summary-no-types", "assistance-type", "granularity", "spectrum"])
async def test_bodies_are_checked_before_a_task_is_created(emu, params, says):
    before = len(emu.store)
    async with emu.client() as client:
        with pytest.raises(ServiceError) as caught:
            await client.create_realtime_task({**START, "AppKey": emu.app_key, "Parameters": params})
    assert says in caught.value.message and len(emu.store) == before
    assert caught.value.code == ("Emulator.Unsupported" if says in ("language model", "SpectrumEnabled")
                                 else "InvalidParameter")


async def test_ppt_extraction_is_accepted_and_gives_no_result(emu):
    """rest §2.3.11: a realtime recording has no slides; the switch is accepted and ignored."""
    async with emu.client() as client:
        task = await client.create_realtime_task({**START, "AppKey": emu.app_key,
                                                  "Parameters": {"PptExtractionEnabled": True}})
    assert task.task_id in {r.task_id for r in emu.store}


def test_the_llm_engine_refuses_to_start_without_the_model(engine, monkeypatch):
    from tingwu_nb.emulator.analysis import llm_weights
    from tingwu_nb.errors import ModelError

    monkeypatch.setattr(llm_weights, "prepared_model_dir", lambda cache_dir=None: None)
    emulator = Emulator(EmulatorConfig.generate(analysis_engine="llm"), engine=engine)
    try:
        with pytest.raises(ModelError, match="prepare-models"):
            emulator.start()
        assert emulator.port is None
    finally:
        emulator.stop()


async def test_auto_without_the_model_refuses_custom_prompts_and_with_it_accepts_them(engine, monkeypatch):
    from tingwu_nb.emulator.analysis import llm_weights

    body = {**START, "Parameters": {"CustomPromptEnabled": True, "CustomPrompt": {
        "Contents": [{"Name": "todo", "Prompt": "List the to-dos: {Transcription}", "TransType": "chat"}]}}}
    async with Emulator(EmulatorConfig.generate(), engine=engine) as emulator, emulator.client() as client:
        if llm_weights.prepared_model_dir() is not None:
            task = await client.create_realtime_task(body)  # "auto" uses the prepared model
            assert emulator.store.get(task.task_id) is not None
        monkeypatch.setattr(llm_weights, "prepared_model_dir", lambda cache_dir=None: None)
        with pytest.raises(ServiceError) as caught:
            await client.create_realtime_task(body)
    assert caught.value.code == "Emulator.Unsupported" and "language model" in caught.value.message
