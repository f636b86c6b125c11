"""`tingwu-nb transcribe` CreateTask options: feature switches, --params FILE, one-line refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import write_wav
from tingwu_nb.cli import _parser, _request, main

FILE_BODY = {
    "AppKey": "file-app-key",
    "Input": {"SourceLanguage": "cn", "Format": "pcm", "SampleRate": 16000, "TaskKey": "weekly-42"},
    "Parameters": {
        "Transcription": {"DiarizationEnabled": True, "Diarization": {"SpeakerCount": 3}, "PhraseId": "file-phrases"},
        "SummarizationEnabled": True, "Summarization": {"Types": ["Paragraph", "Conversational"]},
        "AutoChaptersEnabled": True, "AutoChapters": {"ChapterGranularity": "Coarse"},
        "CustomPromptEnabled": True,
        "CustomPrompt": {"Contents": [{"Name": "todo", "Prompt": "List the to-dos: {Transcription}"}]},
    },
}
YAML_BODY = """\
AppKey: file-app-key
Input:
  SourceLanguage: cn
  Format: pcm
  SampleRate: 16000
  TaskKey: weekly-42
Parameters:
  Transcription:
    DiarizationEnabled: true
    Diarization: {SpeakerCount: 3}
    PhraseId: file-phrases
  SummarizationEnabled: true
  Summarization:
    Types: [Paragraph, Conversational]
  AutoChaptersEnabled: true
  AutoChapters: {ChapterGranularity: Coarse}
  CustomPromptEnabled: true
  CustomPrompt:
    Contents:
      - Name: todo
        Prompt: "List the to-dos: {Transcription}"
"""


def _wire(*argv: str) -> dict:
    return _request(_parser().parse_args(["transcribe", "a.wav", *argv])).to_wire()


def test_every_feature_switch_reaches_the_wire():
    wire = _wire("--chapters", "General", "--summary", "Paragraph,MindMap", "--meeting-assistance",
                 "--text-polish", "--custom-prompt", "todo=List the to-dos: {Transcription}",
                 "--custom-prompt", "risks=Risks? {Transcription}", "--phrase-id", "ph-1", "--speakers", "2",
                 "--progressive-callbacks", "--task-key", "k1", "--translate-to", "en", "--language", "cn",
                 "--output-level", "1", "--mp3", "--llm-output-language", "en")
    assert wire["Input"] == {"SourceLanguage": "cn", "Format": "pcm", "SampleRate": 16000, "TaskKey": "k1",
                             "ProgressiveCallbacksEnabled": True}
    p = wire["Parameters"]
    assert p["Transcription"] == {"OutputLevel": 1, "PhraseId": "ph-1", "DiarizationEnabled": True,
                                  "Diarization": {"SpeakerCount": 2}}
    assert p["AutoChaptersEnabled"] is True and p["AutoChapters"] == {"ChapterGranularity": "General"}
    assert p["SummarizationEnabled"] is True and p["Summarization"] == {"Types": ["Paragraph", "MindMap"]}
    assert p["MeetingAssistanceEnabled"] is True and "MeetingAssistance" not in p
    assert p["TextPolishEnabled"] is True and p["CustomPromptEnabled"] is True
    assert [c["Name"] for c in p["CustomPrompt"]["Contents"]] == ["todo", "risks"]
    assert p["TranslationEnabled"] is True and p["Translation"] == {"TargetLanguages": ["en"]}
    assert p["Transcoding"] == {"TargetAudioFormat": "mp3"} and p["LlmOutputLanguage"] == "en"


def test_defaults_and_the_demo_defaults():
    assert _wire() == {"Input": {"SourceLanguage": "en", "Format": "pcm", "SampleRate": 16000},
                       "Parameters": {"Transcription": {"OutputLevel": 2}}}
    demo = _request(_parser().parse_args(["demo", "--meeting-assistance", "Actions"])).to_wire()["Parameters"]
    assert demo["Transcription"]["DiarizationEnabled"] is True and demo["Transcoding"]["TargetAudioFormat"] == "mp3"
    assert demo["MeetingAssistance"] == {"Types": ["Actions"]}
    assert demo["SummarizationEnabled"] is demo["AutoChaptersEnabled"] is demo["MeetingAssistanceEnabled"] is True
    assert demo["Summarization"]["Types"] == ["Paragraph", "QuestionsAnswering"]


def test_service_inspection_switch_reads_a_wire_object(tmp_path):
    spec = tmp_path / "inspection.json"
    spec.write_text(json.dumps({"SceneIntroduction": "support call", "InspectionIntroduction": "check the agent",
                                "InspectionContents": [{"Title": "greeting", "Content": "agent greets"}]}))
    p = _wire("--service-inspection", str(spec))["Parameters"]
    assert p["ServiceInspectionEnabled"] is True
    assert p["ServiceInspection"]["InspectionContents"] == [{"Title": "greeting", "Content": "agent greets"}]


def test_json_and_yaml_parameter_files_give_the_same_request(tmp_path):
    pytest.importorskip("yaml")
    as_json, as_yaml = tmp_path / "body.json", tmp_path / "body.yaml"
    as_json.write_text(json.dumps(FILE_BODY))
    as_yaml.write_text(YAML_BODY)
    args = _parser().parse_args(["transcribe", "a.wav", "--params", str(as_json)])
    from_json = _request(args).to_wire()
    assert from_json == _wire("--params", str(as_yaml))
    expected = {k: v for k, v in FILE_BODY.items() if k != "AppKey"}
    expected["Parameters"]["Transcription"] = {**FILE_BODY["Parameters"]["Transcription"], "OutputLevel": 2}
    assert from_json == expected
    assert args.app_key == "file-app-key"  # the file's AppKey is used when --app-key is not given


def test_switches_override_the_file(tmp_path):
    body = tmp_path / "body.json"
    body.write_text(json.dumps(FILE_BODY))
    wire = _wire("--params", str(body), "--language", "en", "--phrase-id", "cli-phrases", "--summary", "MindMap",
                 "--speakers", "0")
    assert wire["Input"]["SourceLanguage"] == "en" and wire["Input"]["TaskKey"] == "weekly-42"
    t = wire["Parameters"]["Transcription"]
    assert t["PhraseId"] == "cli-phrases" and t["Diarization"] == {"SpeakerCount": 0}
    assert wire["Parameters"]["Summarization"] == {"Types": ["MindMap"]}
    assert wire["Parameters"]["AutoChapters"] == {"ChapterGranularity": "Coarse"}  # untouched by the switches
    args = _parser().parse_args(["transcribe", "a.wav", "--params", str(body), "--app-key", "cli-key"])
    _request(args)
    assert args.app_key == "cli-key"


@pytest.mark.parametrize(("name", "text", "field"), [
    ("bad.json", '{"Input": {"SourceLanguage": ', "not valid JSON"),
    ("bad.yaml", "Input: [unclosed", "not valid YAML"),
    ("list.json", "[1, 2]", "must hold an object"),
    ("typo.json", '{"Parameters": {"SummarizationEnable": true}}', "Parameters.SummarizationEnable: unknown field; did you mean SummarizationEnabled?"),
    ("nested.json", '{"Parameters": {"Transcription": {"Phrase_Id": "x"}}}',
     "Parameters.Transcription.Phrase_Id: unknown field"),
    ("type.json", '{"Input": {"SampleRate": "sixteen thousand"}}', "Input.SampleRate"),
    ("value.json", '{"Parameters": {"SummarizationEnabled": true, "Summarization": {"Types": ["Haiku"]}}}',
     "Parameters.Summarization.Types"),
    ("shape.json", '{"Parameters": "all of them"}', "Parameters: must be an object"),
])
def test_an_invalid_parameter_file_is_one_line_and_exit_2(tmp_path, capsys, name, text, field):
    if name.endswith(".yaml"):
        pytest.importorskip("yaml")
    path = tmp_path / name
    path.write_text(text)
    code = main(["transcribe", str(tmp_path / "never-read.wav"), "--params", str(path), "--out", str(tmp_path / "s")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert field in err and "ParameterError" in err
    assert not (tmp_path / "s").exists()  # refused before any session (or task) was made


@pytest.mark.parametrize(("argv", "says"), [
    (["--chapters", "Detailed"], "Parameters.AutoChapters.ChapterGranularity"),
    (["--summary", "Paragraph,Haiku"], "Parameters.Summarization.Types"),
    (["--custom-prompt", "noequals"], "--custom-prompt"),
    (["--custom-prompt", "x=no placeholder"], "Parameters.CustomPrompt"),
    (["--speakers", "many"], "--speakers"),
])
def test_an_invalid_switch_is_one_line_and_exit_2(tmp_path, capsys, argv, says):
    code = main(["transcribe", str(tmp_path / "never-read.wav"), *argv, "--out", str(tmp_path / "s")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and says in err, err


@pytest.mark.network
def test_an_llm_feature_the_emulator_cannot_compute_is_refused_at_create_task(tmp_path, capsys, monkeypatch):
    """Against an extractive emulator, --custom-prompt is refused (Emulator.Unsupported): one line, exit 3, no session."""
    from tingwu_nb.emulator.app import Emulator
    from tingwu_nb.emulator.contract import EmulatorConfig

    clip = write_wav(tmp_path / "tone.wav", (3000 * np.sin(np.arange(16000) / 5)).astype(np.int16), 16000)
    for name in ("TINGWU_ENDPOINT", "TINGWU_APP_KEY", "ALIBABA_CLOUD_SECURITY_TOKEN", "ALIBABA_CLOUD_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with Emulator(EmulatorConfig.generate(analysis_engine="extractive")) as emu:
        monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", emu.credentials.access_key_id)
        monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", emu.credentials.access_key_secret)
        code = main(["transcribe", str(clip), "--endpoint", emu.endpoint, "--app-key", emu.app_key,
                     "--custom-prompt", "todo=List the to-dos in {Transcription}", "--speed", "max",
                     "--out", str(tmp_path / "s"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 3 and err.count("\n") == 1, err
    assert "Emulator.Unsupported" in err and "CustomPrompt" in err and "language model" in err
    assert emu.credentials.access_key_secret not in err


def test_yaml_without_pyyaml_says_so_in_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "yaml", None)  # import yaml -> ImportError
    path = tmp_path / "body.yml"
    path.write_text(YAML_BODY)
    code = main(["transcribe", str(tmp_path / "never-read.wav"), "--params", str(path)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "pip install pyyaml" in err, err
