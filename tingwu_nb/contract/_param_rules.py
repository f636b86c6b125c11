"""Allowed values and validation rules of a realtime CreateTask request, with their messages.

Private to :mod:`tingwu_nb.contract.params`, which re-exports the public constants and runs these rules
from :func:`tingwu_nb.contract.params.check_request`. Each ``check_*`` function is pure apart from
``warnings.warn`` for settings the service would ignore; it raises
:class:`~tingwu_nb.errors.ParameterError` whose ``.field`` is the wire path (``Input.SampleRate``)
and whose message says how to fix the value.
"""

from __future__ import annotations

import difflib
import typing
import warnings
from collections.abc import Mapping
from typing import Any

from tingwu_nb.contract._param_models import Parameters, RealtimeInput, _Model, _schema
from tingwu_nb.errors import ParameterError

LANGUAGES = ("cn", "en", "yue", "ja", "ko", "fspk", "multilingual")  # realtime SourceLanguage
FORMATS = ("pcm", "opus", "aac", "speex", "mp3")
SAMPLE_RATES = (16000, 8000)
TARGET_LANGUAGES = ("cn", "en", "ja", "ko", "de", "fr", "ru")
LANGUAGE_HINTS = ("cn", "en", "yue", "ja", "ko", "de", "fr", "ru")
OUTPUT_LEVELS = (1, 2)
TRANSCRIPTION_MODELS = ("domain-automotive", "domain-education")
CHAPTER_GRANULARITIES = ("Coarse", "General", "Meticulous")
TITLE_LENGTH_LEVELS = ("Short", "Normal", "Long")
MEETING_ASSISTANCE_TYPES = ("Actions", "KeyInformation")
SUMMARIZATION_TYPES = ("Paragraph", "Conversational", "QuestionsAnswering", "MindMap")
CUSTOM_PROMPT_MODELS = ("tingwu-turbo", "tingwu-plus", "qwen-max")
CUSTOM_PROMPT_TRANS_TYPES = ("default", "chat", "sentence-chat")
LLM_MODELS = ("default", "qwen-plus", "qwq")
LLM_OUTPUT_LANGUAGES = ("cn", "en")
_EIGHT_KHZ = ("cn", "en")
_ALIASES = {"zh": "cn", "zh-cn": "cn", "cmn": "cn", "chinese": "cn", "english": "en", "jp": "ja", "kr": "ko"}


def _fail(path: str, message: str, value: Any = None) -> typing.NoReturn:
    raise ParameterError(path, message, value)


def _one_of(path: str, value: Any, allowed: tuple[Any, ...]) -> None:
    if value in allowed:
        return
    near = _ALIASES.get(value.lower()) if isinstance(value, str) else None
    if near is None and isinstance(value, str):
        close = difflib.get_close_matches(value, [str(a) for a in allowed], n=1, cutoff=0.6)
        near = close[0] if close else None
    hint = f" (did you mean {near!r}?)" if near in allowed else ""
    _fail(path, f"{value!r} is not supported; choose one of: {', '.join(map(str, allowed))}{hint}", value)


def _members(path: str, values: tuple[Any, ...], allowed: tuple[Any, ...]) -> None:
    for i, value in enumerate(values):
        _one_of(f"{path}[{i}]", value, allowed)
        if value in values[:i]:
            _fail(f"{path}[{i}]", f"{value!r} is listed twice; list each value once", value)


def _level(path: str, value: int | None) -> None:
    if value is not None and value not in OUTPUT_LEVELS:
        _fail(path, f"must be 1 (final sentences only) or 2 (interim results too); got {value!r}", value)


def _text(path: str, value: str | None, what: str) -> None:
    if value is None or not value.strip():
        _fail(path, f"is required: {what}", value)


def _items(path: str, items: tuple[Any, ...], *, limit: int, noun: str, fields: dict[str, str],
           required_by: str | None = None) -> None:
    """At most ``limit`` items (at least one when switch ``required_by`` is on), each with the
    required one-word text ``fields`` (wire name -> what it is)."""
    if required_by and not items:
        _fail(path, f"{required_by} needs at least one {{{', '.join(fields)}}}")
    if len(items) > limit:
        _fail(path, f"at most {limit} {noun}; got {len(items)}", len(items))
    for i, item in enumerate(items):
        for wire, what in fields.items():
            _text(f"{path}[{i}].{wire}", getattr(item, wire.lower()), what)


def check_types(obj: _Model, path: str) -> None:
    """Refuse wrong JSON types (e.g. ``"16000"`` for an int, ``1`` for a bool) with the path."""
    want = {"bool": "true or false", "int": "an integer", "str": "a string", "map": "an object (dict)"}
    for name, key, kind, item in _schema(type(obj)):
        value, p = getattr(obj, name), f"{path}.{key}"
        if value is None:
            continue
        if kind == "bool" and type(value) is not bool:
            _fail(p, f"expected true or false, got {value!r}", value)
        elif kind == "int" and (type(value) is bool or not isinstance(value, int)):
            _fail(p, f"expected an integer, got {value!r}", value)
        elif kind in ("str", "map") and not isinstance(value, str if kind == "str" else Mapping):
            _fail(p, f"expected {want[kind]}, got {value!r}", value)
        elif kind == "model":
            if not isinstance(value, item):
                _fail(p, f"expected an object ({item.__name__}), got {value!r}", value)
            check_types(value, p)
        elif kind == "list":
            if not isinstance(value, tuple):
                _fail(p, f"expected a list, got {value!r}", value)
            for i, member in enumerate(value):
                if not isinstance(member, item):
                    _fail(f"{p}[{i}]", f"expected {want.get(item.__name__, item.__name__)}, got {member!r}",
                          member)
                if isinstance(member, _Model):
                    check_types(member, f"{p}[{i}]")


def check_input(inp: RealtimeInput) -> None:
    """Check the realtime-start ``Input`` (required keys, language/rate pairs, misplaced keys)."""
    lang, rate = inp.source_language, inp.sample_rate
    if lang is None:
        _fail("Input.SourceLanguage", f"is required; choose one of: {', '.join(LANGUAGES)}")
    if lang == "auto":
        _fail("Input.SourceLanguage", "'auto' (language detection) exists for offline file transcription "
              f"only; a realtime recording needs a fixed language: one of {', '.join(LANGUAGES)}", lang)
    _one_of("Input.SourceLanguage", lang, LANGUAGES)
    if inp.format is None:
        _fail("Input.Format", f"is required; choose one of: {', '.join(FORMATS)}")
    _one_of("Input.Format", inp.format, FORMATS)
    if rate is None:
        _fail("Input.SampleRate", "is required: 16000 (meetings) or 8000 (telephony)")
    if rate not in SAMPLE_RATES:
        _fail("Input.SampleRate", f"must be 16000 or 8000 Hz; got {rate}. Resample the audio first "
              "(tingwu_nb.client.audio converts any file).", rate)
    if rate == 8000 and lang not in _EIGHT_KHZ:
        _fail("Input.SampleRate", f"8000 Hz is only available for cn and en; got {lang}. Use 16000.", rate)
    if inp.language_hints:
        if lang != "multilingual":
            _fail("Input.LanguageHints", f"LanguageHints only apply when SourceLanguage is 'multilingual'; "
                  f"got {lang!r}. Remove them or use multilingual.", inp.language_hints)
        _members("Input.LanguageHints", inp.language_hints, LANGUAGE_HINTS)
    if inp.task_id is not None:
        _fail("Input.TaskId", "must not be set when starting a recording: TaskId names an existing task "
              "to stop or re-run. Use stop_request_body(task_id) to stop one.", inp.task_id)
    if inp.file_url is not None:
        _fail("Input.FileUrl", "is for offline file transcription (type=offline); a realtime recording "
              "streams its audio over the MeetingJoinUrl instead.", inp.file_url)


def check_transcription(par: Parameters) -> None:
    """Check ``Parameters.Transcription`` (output levels, domain model, speaker count)."""
    t, path = par.transcription, "Parameters.Transcription"
    if t is None:
        return
    _level(f"{path}.OutputLevel", t.output_level)
    _level(f"{path}.AdditionalStreamOutputLevel", t.additional_stream_output_level)
    if t.model:
        _one_of(f"{path}.Model", t.model, TRANSCRIPTION_MODELS)
    count = t.diarization.speaker_count if t.diarization else None
    if count is not None:
        if not 0 <= count <= 100:
            _fail(f"{path}.Diarization.SpeakerCount",
                  f"must be between 0 (unknown number of speakers) and 100; got {count}", count)
        if t.diarization_enabled is not True:
            _fail(f"{path}.DiarizationEnabled", "Diarization.SpeakerCount is set but DiarizationEnabled is "
                  "not true; set DiarizationEnabled=True (create(diarization=True)) or drop the count",
                  t.diarization_enabled)


def check_features(par: Parameters, lang: str) -> None:
    """Check transcoding, translation, chapters, assistance, summary and PPT; warn on unswitched objects.

    ``warnings.warn(stacklevel=2)`` attributes a warning to the caller (``params.check_request``).
    """
    tc = par.transcoding
    if tc is not None:
        if tc.target_audio_format is not None and tc.target_audio_format != "mp3":
            _fail("Parameters.Transcoding.TargetAudioFormat",
                  f"only 'mp3' is supported; got {tc.target_audio_format!r}", tc.target_audio_format)
        if tc.target_video_format is not None or tc.video_thumbnail_enabled:
            key = "TargetVideoFormat" if tc.target_video_format is not None else "VideoThumbnailEnabled"
            _fail(f"Parameters.Transcoding.{key}", "video outputs need an offline video file; a realtime "
                  "recording is audio only. Remove it.", getattr(tc, _snake(key)))
    tr, path = par.translation, "Parameters.Translation"
    if par.translation_enabled and not (tr and tr.target_languages):
        _fail(f"{path}.TargetLanguages", "TranslationEnabled needs at least one target language, "
              f"e.g. create(translate_to='en'); choose from: {', '.join(TARGET_LANGUAGES)}")
    if tr is not None:
        targets = tr.target_languages or ()
        _members(f"{path}.TargetLanguages", targets, TARGET_LANGUAGES)
        if lang in targets:
            _fail(f"{path}.TargetLanguages", f"translating {lang} into {lang} makes no sense (it is the "
                  f"source language); remove {lang!r}", targets)
        _level(f"{path}.OutputLevel", tr.output_level)
        _level(f"{path}.AdditionalStreamOutputLevel", tr.additional_stream_output_level)
    if par.auto_chapters is not None:
        ac = par.auto_chapters
        if ac.chapter_granularity is not None:
            _one_of("Parameters.AutoChapters.ChapterGranularity", ac.chapter_granularity, CHAPTER_GRANULARITIES)
        if ac.title_length_level is not None:
            _one_of("Parameters.AutoChapters.TitleLengthLevel", ac.title_length_level, TITLE_LENGTH_LEVELS)
    if par.meeting_assistance is not None:
        _members("Parameters.MeetingAssistance.Types", par.meeting_assistance.types or (),
                 MEETING_ASSISTANCE_TYPES)
    s = par.summarization
    if par.summarization_enabled and not (s and s.types):
        _fail("Parameters.Summarization.Types", "SummarizationEnabled needs at least one type; choose from: "
              f"{', '.join(SUMMARIZATION_TYPES)}")
    if s is not None:
        _members("Parameters.Summarization.Types", s.types or (), SUMMARIZATION_TYPES)
        diarized = bool(par.transcription and par.transcription.diarization_enabled)
        if par.summarization_enabled and "Conversational" in (s.types or ()) and not diarized:
            _fail("Parameters.Summarization.Types", "'Conversational' summarises each speaker and needs "
                  "speaker diarization; set Transcription.DiarizationEnabled=True (create(diarization=True)) "
                  "or drop 'Conversational'", s.types)
    if par.ppt_extraction_enabled:
        _fail("Parameters.PptExtractionEnabled", "PPT extraction reads slides from an offline video file; a "
              "realtime recording has no video, so it would produce nothing. Turn it off.", True)
    for switch, obj in (("TranslationEnabled", "Translation"), ("AutoChaptersEnabled", "AutoChapters"),
                        ("MeetingAssistanceEnabled", "MeetingAssistance"),
                        ("SummarizationEnabled", "Summarization"),
                        ("ServiceInspectionEnabled", "ServiceInspection"), ("CustomPromptEnabled", "CustomPrompt"),
                        ("IdentityRecognitionEnabled", "IdentityRecognition"),
                        ("ContentExtractionEnabled", "ContentExtraction")):
        if getattr(par, _snake(obj)) is not None and getattr(par, _snake(switch)) is not True:
            warnings.warn(f"Parameters.{obj} is set but Parameters.{switch} is not true, so the service "
                          f"ignores it; set {_snake(switch)}=True to use it", UserWarning, stacklevel=2)


def check_llm_features(par: Parameters) -> None:
    """Check inspection, custom prompts, identities, extraction and the global LLM knobs.

    ``warnings.warn(stacklevel=2)`` attributes a warning to the caller (``params.check_request``).
    """
    si, path = par.service_inspection, "Parameters.ServiceInspection"
    if par.service_inspection_enabled and si is None:
        _fail(path, "ServiceInspectionEnabled needs a ServiceInspection object with SceneIntroduction, "
              "InspectionIntroduction and InspectionContents")
    if si is not None:
        contents = si.inspection_contents or ()
        _items(f"{path}.InspectionContents", contents, limit=100, noun="inspection items",
               fields={"Title": "the name of this inspection dimension",
                       "Content": "the definition the LLM judges against"})
        if par.service_inspection_enabled:
            _text(f"{path}.SceneIntroduction", si.scene_introduction, "describe the conversation scene")
            _text(f"{path}.InspectionIntroduction", si.inspection_introduction, "say what to check")
            if not contents:
                _fail(f"{path}.InspectionContents", "give at least one {Title, Content} item to inspect")
    cp, path = par.custom_prompt, "Parameters.CustomPrompt"
    prompts = (cp.contents or ()) if cp else ()
    if par.custom_prompt_enabled and not prompts:
        _fail(f"{path}.Contents", "CustomPromptEnabled needs at least one prompt with Name and Prompt")
    if len(prompts) > 3:
        _fail(f"{path}.Contents", f"at most 3 custom prompts per request; got {len(prompts)}", len(prompts))
    for i, c in enumerate(prompts):
        p = f"{path}.Contents[{i}]"
        _text(f"{p}.Name", c.name, "a name that identifies this prompt's output")
        if c.name in [o.name for o in prompts[:i]]:
            _fail(f"{p}.Name", f"{c.name!r} is used twice; prompt names must be unique", c.name)
        _text(f"{p}.Prompt", c.prompt, "the prompt text, containing {Transcription}")
        if "{Transcription}" not in c.prompt:
            _fail(f"{p}.Prompt", "must contain the literal placeholder {Transcription}, which the service "
                  "replaces with the transcript", c.prompt)
        if c.model is not None:
            _one_of(f"{p}.Model", c.model, CUSTOM_PROMPT_MODELS)
        if c.trans_type is not None:
            _one_of(f"{p}.TransType", c.trans_type, CUSTOM_PROMPT_TRANS_TYPES)
    ir, path = par.identity_recognition, "Parameters.IdentityRecognition"
    idents = (ir.identity_contents or ()) if ir else ()
    _items(f"{path}.IdentityContents", idents, limit=5, noun="identities",
           fields={"Name": "the identity's name, e.g. 'Customer'", "Description": "how to recognise this identity"},
           required_by="IdentityRecognitionEnabled" if par.identity_recognition_enabled else None)
    if par.identity_recognition_enabled and not (par.transcription and par.transcription.diarization_enabled):
        warnings.warn("IdentityRecognition works per speaker; turn on diarization (create(diarization=True)) "
                      "or every sentence is attributed to one speaker", UserWarning, stacklevel=2)
    ce, path = par.content_extraction, "Parameters.ContentExtraction"
    items = (ce.extraction_contents or ()) if ce else ()
    _items(f"{path}.ExtractionContents", items, limit=100, noun="extraction items",
           fields={"Title": "the name of the item to extract", "Content": "what to extract"},
           required_by="ContentExtractionEnabled" if par.content_extraction_enabled else None)
    if par.model is not None:
        _one_of("Parameters.Model", par.model, LLM_MODELS)
    if par.llm_output_language is not None:
        _one_of("Parameters.LlmOutputLanguage", par.llm_output_language, LLM_OUTPUT_LANGUAGES)


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")
