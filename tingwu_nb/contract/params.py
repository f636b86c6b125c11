"""Typed model of every CreateTask field (``Input`` + ``Parameters``), its validation and wire JSON.

Build a realtime start request with :meth:`RealtimeTaskRequest.create` (keyword arguments a
notebook user types) or field by field with the frozen dataclasses exported here; either way the
request is validated when it is constructed, so a bad value raises
:class:`~tingwu_nb.errors.ParameterError` (``.field`` is the wire path such as
``Input.SampleRate``) before anything is sent. :meth:`RealtimeTaskRequest.to_wire` gives the
exact JSON body for ``PUT /openapi/tingwu/v2/tasks?type=realtime``;
:meth:`RealtimeTaskRequest.from_wire` reads one back (unknown keys are ignored).

Python attributes are snake_case; the wire key is the PascalCase spelling of the attribute
(``source_language`` -> ``SourceLanguage``). ``None`` means "not set" and is never sent.
Free-form maps (``Transcription.phrase``, ``speaker_map``, ``Parameters.extra_params``) are
plain dicts sent as given. This module performs no I/O.

The wire codec and the dataclasses live in :mod:`._param_models`, the allowed values and the
rules in :mod:`._param_rules`; every public name is re-exported here, so import from this module.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from tingwu_nb.contract._param_models import (
    AutoChapters,
    ContentExtraction,
    CustomPrompt,
    CustomPromptContent,
    Diarization,
    ExtractionContent,
    IdentityContent,
    IdentityRecognition,
    InspectionContent,
    MeetingAssistance,
    Parameters,
    RealtimeInput,
    ServiceInspection,
    Summarization,
    Transcoding,
    Transcription,
    Translation,
    check_known_keys,
)
from tingwu_nb.contract._param_rules import (
    _ALIASES,
    CHAPTER_GRANULARITIES,
    CUSTOM_PROMPT_MODELS,
    CUSTOM_PROMPT_TRANS_TYPES,
    FORMATS,
    LANGUAGE_HINTS,
    LANGUAGES,
    LLM_MODELS,
    LLM_OUTPUT_LANGUAGES,
    MEETING_ASSISTANCE_TYPES,
    OUTPUT_LEVELS,
    SAMPLE_RATES,
    SUMMARIZATION_TYPES,
    TARGET_LANGUAGES,
    TITLE_LENGTH_LEVELS,
    TRANSCRIPTION_MODELS,
    check_features,
    check_input,
    check_llm_features,
    check_transcription,
    check_types,
)
from tingwu_nb.errors import ParameterError

__all__ = [
    "CHAPTER_GRANULARITIES", "CUSTOM_PROMPT_MODELS", "CUSTOM_PROMPT_TRANS_TYPES", "FORMATS",
    "LANGUAGES", "LANGUAGE_HINTS", "LLM_MODELS", "LLM_OUTPUT_LANGUAGES", "MEETING_ASSISTANCE_TYPES",
    "OUTPUT_LEVELS", "SAMPLE_RATES", "SUMMARIZATION_TYPES", "TARGET_LANGUAGES", "TITLE_LENGTH_LEVELS",
    "TRANSCRIPTION_MODELS", "AutoChapters", "ContentExtraction", "CustomPrompt", "CustomPromptContent",
    "Diarization", "ExtractionContent", "IdentityContent", "IdentityRecognition", "InspectionContent",
    "MeetingAssistance", "Parameters", "RealtimeInput", "RealtimeTaskRequest", "ServiceInspection",
    "Summarization", "Transcoding", "Transcription", "Translation", "check_known_keys", "stop_request_body",
    "whisper_language",
]

_WHISPER = {"cn": "zh", "en": "en", "yue": "zh", "ja": "ja", "ko": "ko", "fspk": "zh",
            "multilingual": None, "auto": None, "de": "de", "fr": "fr", "ru": "ru"}


@dataclass(frozen=True)
class RealtimeTaskRequest:
    """The whole realtime-start request; validated on construction (see :meth:`validate`).

    Next: send ``to_wire(app_key)`` as the JSON body of ``PUT /openapi/tingwu/v2/tasks?type=realtime``
    (``TingwuClient`` does that) and stream audio to the returned ``MeetingJoinUrl``.
    """

    input: RealtimeInput
    parameters: Parameters = field(default_factory=Parameters)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise :class:`ParameterError` naming the first invalid field (wire path) and why."""
        check_request(self)

    def to_wire(self, app_key: str | None = None) -> dict[str, Any]:
        """Return the exact JSON body: ``AppKey`` (when given), ``Input``, ``Parameters`` (when set)."""
        body: dict[str, Any] = {} if app_key is None else {"AppKey": app_key}
        body["Input"] = self.input.to_wire()
        params = self.parameters.to_wire()
        if params:
            body["Parameters"] = params
        return body

    @classmethod
    def from_wire(cls, body: Mapping[str, Any], *, validate: bool = True) -> RealtimeTaskRequest:
        """Parse a start body (``AppKey`` and unknown keys ignored).

        Args:
            body: the decoded JSON body.
            validate: ``False`` skips the client-side rules (the emulator uses this to accept
                what the service would accept and judge it itself).
        """
        if not isinstance(body, Mapping) or not isinstance(body.get("Input", {}), Mapping):
            raise ParameterError("Input", "the body must be a JSON object with an Input object", body)
        inp = RealtimeInput.from_wire(body.get("Input", {}))
        raw = body.get("Parameters")
        params = Parameters.from_wire(raw) if isinstance(raw, Mapping) else Parameters()
        if validate:
            return cls(input=inp, parameters=params)
        obj = object.__new__(cls)
        object.__setattr__(obj, "input", inp)
        object.__setattr__(obj, "parameters", params)
        return obj

    @classmethod
    def create(
        cls,
        *,
        language: str = "en",
        sample_rate: int = 16000,
        format: str = "pcm",
        output_level: int = 2,
        diarization: bool = False,
        speaker_count: int | None = None,
        translate_to: str | Iterable[str] = (),
        mp3: bool = False,
        summarization: bool | Iterable[str] = (),
        chapters: bool | str = False,
        meeting_assistance: bool | Iterable[str] = (),
        text_polish: bool = False,
        custom_prompts: Iterable[CustomPromptContent | Mapping[str, Any] | tuple[str, str]] = (),
        language_hints: Iterable[str] = (),
        phrase_id: str | None = None,
        task_key: str | None = None,
        **more: Any,
    ) -> RealtimeTaskRequest:
        """Build a validated realtime request from notebook-friendly keywords.

        Args:
            language: Tingwu source language (:data:`LANGUAGES`), e.g. ``"cn"``, ``"en"``.
            sample_rate: 16000, or 8000 for telephony (cn/en only).
            format: stream codec, one of :data:`FORMATS`.
            output_level: 1 = final sentences only, 2 = interim results too.
            diarization: separate speakers.
            speaker_count: speaker-count hint (0 = unknown); giving it turns diarization on.
            translate_to: target language(s) from :data:`TARGET_LANGUAGES`; enables translation.
            mp3: keep an MP3 of the recording (``Transcoding.TargetAudioFormat="mp3"``).
            summarization: summary types (:data:`SUMMARIZATION_TYPES`), or ``True`` for all that
                apply (``Conversational`` only with diarization).
            chapters: ``True`` or a granularity (:data:`CHAPTER_GRANULARITIES`) for auto chapters.
            meeting_assistance: types (:data:`MEETING_ASSISTANCE_TYPES`), or ``True`` for all.
            text_polish: produce the polished (written-style) transcript.
            custom_prompts: up to 3 prompts, each a :class:`CustomPromptContent`, a mapping
                with ``name``/``prompt`` (``model``, ``trans_type`` optional), or a
                ``(name, prompt)`` pair; prompts must contain ``{Transcription}``.
            language_hints: restrict ``multilingual`` to these languages.
            phrase_id: hot-word list id from the phrases API.
            task_key: your correlation id, echoed by the service.
            **more: any other :class:`RealtimeInput` or :class:`Parameters` attribute by its
                snake_case name (e.g. ``multiple_streams_enabled=True``, ``model="qwen-plus"``,
                ``service_inspection=ServiceInspection(...)``); these win over the above.

        Raises:
            ParameterError: a value is invalid; nothing was sent.
            TypeError: an unknown keyword.
        """
        diarize = bool(diarization) or speaker_count is not None
        targets = (translate_to,) if isinstance(translate_to, str) else tuple(translate_to)
        if summarization is True:
            summarization = tuple(t for t in SUMMARIZATION_TYPES if diarize or t != "Conversational")
        summ = () if summarization is False else tuple(summarization)
        if meeting_assistance is True:
            ma_on, ma = True, None
        else:
            ma_types = () if meeting_assistance is False else tuple(meeting_assistance)
            ma_on, ma = bool(ma_types), MeetingAssistance(types=ma_types) if ma_types else None
        prompts = tuple(_prompt(p) for p in custom_prompts)
        inp = RealtimeInput(source_language=language, format=format, sample_rate=sample_rate,
                            language_hints=tuple(language_hints) or None, task_key=task_key)
        params = Parameters(
            transcription=Transcription(
                output_level=output_level, phrase_id=phrase_id, diarization_enabled=True if diarize else None,
                diarization=Diarization(speaker_count=speaker_count) if speaker_count is not None else None),
            transcoding=Transcoding(target_audio_format="mp3") if mp3 else None,
            translation_enabled=True if targets else None,
            translation=Translation(target_languages=targets) if targets else None,
            summarization_enabled=True if summ else None,
            summarization=Summarization(types=summ) if summ else None,
            auto_chapters_enabled=True if chapters else None,
            auto_chapters=AutoChapters(chapter_granularity=chapters) if isinstance(chapters, str) else None,
            meeting_assistance_enabled=True if ma_on else None,
            meeting_assistance=ma,
            text_polish_enabled=True if text_polish else None,
            custom_prompt_enabled=True if prompts else None,
            custom_prompt=CustomPrompt(contents=prompts) if prompts else None,
        )
        in_names = {f.name for f in fields(RealtimeInput)}
        par_names = {f.name for f in fields(Parameters)}
        for key in more:
            if key not in in_names | par_names:
                near = difflib.get_close_matches(key, sorted(in_names | par_names), n=1)
                hint = f"; did you mean {near[0]!r}?" if near else ""
                raise TypeError(f"create() got an unknown keyword {key!r}{hint}")
        inp = dataclasses.replace(inp, **{k: v for k, v in more.items() if k in in_names})
        params = dataclasses.replace(params, **{k: v for k, v in more.items() if k in par_names})
        return cls(input=inp, parameters=params)


def _prompt(p: CustomPromptContent | Mapping[str, Any] | tuple[str, str]) -> CustomPromptContent:
    if isinstance(p, CustomPromptContent):
        return p
    if isinstance(p, Mapping):
        return CustomPromptContent.from_wire(p) if "Name" in p or "Prompt" in p else CustomPromptContent(**p)
    name, prompt = p
    return CustomPromptContent(name=name, prompt=prompt)


def stop_request_body(task_id: str, app_key: str | None = None) -> dict[str, Any]:
    """Return the body of ``PUT .../tasks?type=realtime&operation=stop`` for ``task_id``."""
    if not isinstance(task_id, str) or not task_id.strip():
        raise ParameterError("Input.TaskId", "give the TaskId returned when the recording was created", task_id)
    body: dict[str, Any] = {} if app_key is None else {"AppKey": app_key}
    body["Input"] = {"TaskId": task_id}
    return body


def whisper_language(code: str) -> str | None:
    """Map a Tingwu language code to a Whisper one (``None`` = let Whisper detect it).

    ``yue`` and ``fspk`` map to ``zh`` (Whisper's ``yue`` is not in every model).
    """
    key = _ALIASES.get(code.lower(), code) if isinstance(code, str) else code
    if key not in _WHISPER:
        raise ParameterError("Input.SourceLanguage", f"unknown language code {code!r}; "
                             f"use one of: {', '.join(_WHISPER)}", code)
    return _WHISPER[key]


def check_request(req: RealtimeTaskRequest) -> None:
    """Apply every realtime-start rule; raise :class:`ParameterError` on the first violation.

    Kept here rather than in :mod:`._param_rules`: the rules warn with ``stacklevel=2``, so each
    ``UserWarning`` is attributed to this function, i.e. to module ``tingwu_nb.contract.params``.
    """
    if not isinstance(req.input, RealtimeInput):
        raise ParameterError("Input", f"expected a RealtimeInput, got {type(req.input).__name__}", req.input)
    if not isinstance(req.parameters, Parameters):
        raise ParameterError("Parameters", f"expected Parameters, got {type(req.parameters).__name__}",
                             req.parameters)
    check_types(req.input, "Input")
    check_types(req.parameters, "Parameters")
    check_input(req.input)
    check_transcription(req.parameters)
    check_features(req.parameters, req.input.source_language)
    check_llm_features(req.parameters)
