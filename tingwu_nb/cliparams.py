"""The CreateTask options of ``tingwu-nb transcribe`` / ``demo``: feature switches and ``--params FILE``.

The request is assembled in wire form, in three layers (later wins, objects merge key by key,
anything else is replaced): the command's defaults (English, 16 kHz PCM, interim results; the demo
also diarizes, keeps an MP3, and asks for a summary, Q&A, key information and chapters), then the
body in ``--params FILE`` (a CreateTask body as the console and the official SDK show it:
``{"Input": {...}, "Parameters": {...}}``, JSON or YAML), then the switches given on the command
line. The result is read back and validated by
:class:`~tingwu_nb.contract.params.RealtimeTaskRequest` — the one place the rules live — so a bad
value is a :class:`~tingwu_nb.errors.ParameterError` naming the wire field before anything is
sent. Keys the model does not know are refused too (a typo must not be silently dropped).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tingwu_nb.contract.params import (
    CHAPTER_GRANULARITIES,
    MEETING_ASSISTANCE_TYPES,
    SUMMARIZATION_TYPES,
    Parameters,
    RealtimeInput,
    RealtimeTaskRequest,
    check_known_keys,
)
from tingwu_nb.errors import ParameterError

__all__ = ["add_request_options", "build_request", "load_params_file"]


def _csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _prompt(text: str) -> dict[str, str]:
    name, sep, prompt = text.partition("=")
    if not sep or not name.strip() or not prompt.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=PROMPT (the prompt must contain {{Transcription}})")
    return {"Name": name.strip(), "Prompt": prompt}


def _object_file(text: str) -> dict[str, Any]:
    try:
        value = load_params_file(text)
    except ParameterError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


# (switch, argparse keywords, wire fragments as (path, value or a function of the switch's value))
_ON = True
_SWITCHES: tuple[tuple[str, dict[str, Any], tuple[tuple[str, Any], ...]], ...] = (
    ("--language", dict(metavar="LANG", help="Input.SourceLanguage: cn en yue ja ko fspk multilingual (default en)"),
     (("Input.SourceLanguage", None),)),
    ("--language-hints", dict(action="extend", type=_csv, metavar="LANG[,LANG]",
                              help="Input.LanguageHints for --language multilingual, e.g. cn,en"),
     (("Input.LanguageHints", None),)),
    ("--sample-rate", dict(type=int, choices=(16000, 8000), help="Input.SampleRate (default 16000)"),
     (("Input.SampleRate", None),)),
    ("--format", dict(choices=("pcm", "opus", "aac", "mp3", "speex"), help="Input.Format (default pcm)"),
     (("Input.Format", None),)),
    ("--task-key", dict(metavar="KEY", help="Input.TaskKey: your correlation id, echoed back"),
     (("Input.TaskKey", None),)),
    ("--progressive-callbacks", dict(action="store_true", default=None,
                                     help="Input.ProgressiveCallbacksEnabled (the AppKey's callback URL)"),
     (("Input.ProgressiveCallbacksEnabled", _ON),)),
    ("--output-level", dict(type=int, choices=(1, 2), help="Transcription.OutputLevel: 2 = interim results too"),
     (("Parameters.Transcription.OutputLevel", None),)),
    ("--diarization", dict(action="store_true", default=None, help="Transcription.DiarizationEnabled"),
     (("Parameters.Transcription.DiarizationEnabled", _ON),)),
    ("--speakers", dict(type=int, metavar="N", help="speaker count hint (0 = unknown); turns diarization on"),
     (("Parameters.Transcription.DiarizationEnabled", _ON), ("Parameters.Transcription.Diarization.SpeakerCount", None))),
    ("--realtime-diarization", dict(action="store_true", default=None,
                                    help="Transcription.RealtimeDiarizationEnabled: live speaker labels"),
     (("Parameters.Transcription.RealtimeDiarizationEnabled", _ON),)),
    ("--phrase-id", dict(metavar="ID", help="Transcription.PhraseId: a hot-word list from the phrases API"),
     (("Parameters.Transcription.PhraseId", None),)),
    ("--asr-model", dict(metavar="NAME", help="Transcription.Model (domain model, e.g. domain-automotive)"),
     (("Parameters.Transcription.Model", None),)),
    ("--disfluency", dict(action="store_true", default=None, help="Transcription.DisfluencyEnabled"),
     (("Parameters.Transcription.DisfluencyEnabled", _ON),)),
    ("--profanity-filter", dict(action="store_true", default=None, help="Transcription.ProfanityFilterEnabled"),
     (("Parameters.Transcription.ProfanityFilterEnabled", _ON),)),
    ("--audio-events", dict(action="store_true", default=None, help="Transcription.AudioEventDetectionEnabled"),
     (("Parameters.Transcription.AudioEventDetectionEnabled", _ON),)),
    ("--translate-to", dict(action="extend", type=_csv, metavar="LANG[,LANG]",
                            help="Translation.TargetLanguages, comma-separated or repeated (the emulator: en)"),
     (("Parameters.TranslationEnabled", _ON), ("Parameters.Translation.TargetLanguages", None))),
    ("--mp3", dict(action="store_true", default=None, help="Transcoding.TargetAudioFormat=mp3 (OutputMp3Path)"),
     (("Parameters.Transcoding.TargetAudioFormat", "mp3"),)),
    ("--chapters", dict(nargs="?", const=_ON, metavar="GRANULARITY",
                        help=f"AutoChaptersEnabled (optional ChapterGranularity: {', '.join(CHAPTER_GRANULARITIES)})"),
     (("Parameters.AutoChaptersEnabled", _ON), ("Parameters.AutoChapters.ChapterGranularity", None))),
    ("--summary", dict(type=_csv, metavar="TYPES",
                       help=f"Summarization.Types: {','.join(SUMMARIZATION_TYPES)}"),
     (("Parameters.SummarizationEnabled", _ON), ("Parameters.Summarization.Types", None))),
    ("--meeting-assistance", dict(nargs="?", type=_csv, const=_ON, metavar="TYPES",
                                  help=f"MeetingAssistanceEnabled (optional Types: {','.join(MEETING_ASSISTANCE_TYPES)}; unset = all)"),
     (("Parameters.MeetingAssistanceEnabled", _ON), ("Parameters.MeetingAssistance.Types", None))),
    ("--text-polish", dict(action="store_true", default=None, help="TextPolishEnabled: written-style transcript"),
     (("Parameters.TextPolishEnabled", _ON),)),
    ("--ppt-extraction", dict(action="store_true", default=None, help="PptExtractionEnabled"),
     (("Parameters.PptExtractionEnabled", _ON),)),
    ("--custom-prompt", dict(action="append", type=_prompt, metavar="NAME=PROMPT",
                             help="CustomPrompt.Contents item (repeatable, up to 3; PROMPT contains {Transcription})"),
     (("Parameters.CustomPromptEnabled", _ON), ("Parameters.CustomPrompt.Contents", None))),
    ("--service-inspection", dict(type=_object_file, metavar="FILE",
                                  help="ServiceInspection object (JSON/YAML, wire form); enables it"),
     (("Parameters.ServiceInspectionEnabled", _ON), ("Parameters.ServiceInspection", None))),
    ("--identity-recognition", dict(type=_object_file, metavar="FILE",
                                    help="IdentityRecognition object (JSON/YAML, wire form); enables it"),
     (("Parameters.IdentityRecognitionEnabled", _ON), ("Parameters.IdentityRecognition", None))),
    ("--content-extraction", dict(type=_object_file, metavar="FILE",
                                  help="ContentExtraction object (JSON/YAML, wire form); enables it"),
     (("Parameters.ContentExtractionEnabled", _ON), ("Parameters.ContentExtraction", None))),
    ("--llm-model", dict(metavar="NAME", help="Parameters.Model for the LLM features"),
     (("Parameters.Model", None),)),
    ("--llm-output-language", dict(metavar="LANG", help="Parameters.LlmOutputLanguage"),
     (("Parameters.LlmOutputLanguage", None),)),
)


def add_request_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--params FILE`` and every feature switch (all default to "not given")."""
    parser.add_argument("--params", metavar="FILE", help="CreateTask body {Input, Parameters} as JSON or YAML; "
                                                         "switches override it")
    for switch, kwargs, _ in _SWITCHES:
        parser.add_argument(switch, **kwargs)


def _dest(switch: str) -> str:
    return switch.lstrip("-").replace("-", "_")


def _set(body: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    for key in parents:
        body = body.setdefault(key, {})
    body[leaf] = value


def _merge(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def switch_body(args: argparse.Namespace) -> dict[str, Any]:
    """The wire fragments of the switches given on the command line (those not given are absent)."""
    body: dict[str, Any] = {}
    for switch, _, fragments in _SWITCHES:
        value = getattr(args, _dest(switch), None)
        if value is None:
            continue
        for path, fixed in fragments:
            wire = value if fixed is None else fixed
            if wire is not _ON or fixed is _ON:  # `--chapters` alone: enabled, no granularity
                _set(body, path, wire)
    return body


def load_params_file(path: str | Path) -> dict[str, Any]:
    """Read a JSON or YAML (``.yaml``/``.yml``, needs PyYAML) object; ParameterError("--params") if unusable."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ParameterError(f"--params {path}", f"cannot read it ({exc.__class__.__name__}: {exc})") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise ParameterError(f"--params {path}", "YAML needs PyYAML (pip install pyyaml); or write it as "
                                                     "JSON") from None
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ParameterError(f"--params {path}", f"not valid YAML: {' '.join(str(exc).split())}") from None
    else:
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise ParameterError(f"--params {path}", f"not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ParameterError(f"--params {path}", f"must hold an object, not {type(value).__name__}")
    return value


def check_body(body: Mapping[str, Any]) -> None:
    """Refuse unknown or misplaced top-level parts of a CreateTask body, and unknown keys inside."""
    for key, value in body.items():
        if key == "AppKey":
            continue
        model = {"Input": RealtimeInput, "Parameters": Parameters}.get(key)
        if model is None:
            raise ParameterError(key, "unknown field; a CreateTask body holds AppKey, Input, Parameters", value)
        if not isinstance(value, Mapping):
            raise ParameterError(key, f"must be an object, not {type(value).__name__}", value)
        check_known_keys(value, model, key)


def defaults(command: str) -> dict[str, Any]:
    """The command's own defaults, in wire form (the lowest layer)."""
    body: dict[str, Any] = {"Input": {"SourceLanguage": "en", "Format": "pcm", "SampleRate": 16000},
                            "Parameters": {"Transcription": {"OutputLevel": 2}}}
    if command == "demo":
        _set(body, "Parameters.Transcription.DiarizationEnabled", True)
        _set(body, "Parameters.Transcoding.TargetAudioFormat", "mp3")
        _set(body, "Parameters.SummarizationEnabled", True)
        _set(body, "Parameters.Summarization.Types", ["Paragraph", "QuestionsAnswering"])
        _set(body, "Parameters.MeetingAssistanceEnabled", True)
        _set(body, "Parameters.AutoChaptersEnabled", True)
    return body


def build_request(args: argparse.Namespace) -> tuple[RealtimeTaskRequest, str | None]:
    """The validated request for ``args`` and the file's AppKey (if it has one).

    Raises ParameterError (exit code 2) naming the wire field or the file; nothing is sent.
    """
    file_body = load_params_file(args.params) if getattr(args, "params", None) else {}
    check_body(file_body)
    top = switch_body(args)
    body = _merge(_merge(defaults(getattr(args, "command", "transcribe")), file_body), top)
    app_key = file_body.get("AppKey")
    if app_key is not None and not isinstance(app_key, str):
        raise ParameterError("AppKey", "must be a string", "<hidden>")
    return RealtimeTaskRequest.from_wire(body), app_key
