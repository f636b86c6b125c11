"""Wire codec and frozen dataclasses of every CreateTask ``Input``/``Parameters`` object.

Private to :mod:`tingwu_nb.contract.params`, which re-exports every public name here; import from there.
Attributes are snake_case and the wire key is their PascalCase spelling; ``None`` means "not
set" and is never sent. These classes do not validate values: wrap them in
:class:`tingwu_nb.contract.params.RealtimeTaskRequest`, which runs the rules in :mod:`._param_rules`.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, TypeVar

from tingwu_nb.errors import ParameterError

M = TypeVar("M", bound="_Model")


def _pascal(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


@functools.cache
def _schema(cls: type) -> tuple[tuple[str, str, str, Any], ...]:
    """(attribute, wire key, kind, item) per field; kind is bool/int/str/map/list/model."""
    hints = typing.get_type_hints(cls)
    out = []
    for f in fields(cls):
        hint = hints[f.name]
        if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
            hint = next(a for a in typing.get_args(hint) if a is not type(None))
        origin, item = typing.get_origin(hint) or hint, None
        if origin is tuple:
            kind, item = "list", typing.get_args(hint)[0]
        elif origin in (dict, Mapping):
            kind = "map"
        elif dataclasses.is_dataclass(origin):
            kind, item = "model", origin
        else:
            kind = origin.__name__
        out.append((f.name, f.metadata.get("wire", _pascal(f.name)), kind, item))
    return tuple(out)


def _encode(value: Any) -> Any:
    if isinstance(value, _Model):
        return value.to_wire()
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _encode(v) for k, v in value.items()}
    return value


class _Model:
    """Shared wire codec: PascalCase keys, None omitted, lists become tuples on the way in."""

    def __post_init__(self) -> None:
        for name, _, kind, _ in _schema(type(self)):
            value = getattr(self, name)
            if kind == "list" and isinstance(value, list):
                object.__setattr__(self, name, tuple(value))

    def __repr__(self) -> str:
        set_fields = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self)
                               if getattr(self, f.name) is not None)
        return f"{type(self).__name__}({set_fields})"

    def to_wire(self) -> dict[str, Any]:
        """Return this object's wire JSON (keys sorted as the official SDK sends them)."""
        out = {key: _encode(getattr(self, name)) for name, key, _, _ in _schema(type(self))
               if getattr(self, name) is not None}
        return dict(sorted(out.items()))

    @classmethod
    def from_wire(cls: type[M], body: Mapping[str, Any]) -> M:
        """Build from wire JSON; unknown keys are ignored, odd types are kept for validation."""
        kwargs: dict[str, Any] = {}
        for name, key, kind, item in _schema(cls):
            if key not in body:
                continue
            value = body[key]
            if kind == "model" and isinstance(value, Mapping):
                value = item.from_wire(value)
            elif kind == "list" and isinstance(value, list):
                is_model = dataclasses.is_dataclass(item)
                value = tuple(item.from_wire(v) if is_model and isinstance(v, Mapping) else v for v in value)
            kwargs[name] = value
        return cls(**kwargs)


_model = dataclass(frozen=True, kw_only=True, repr=False)  # _Model.__repr__ shows set fields only


@_model
class Diarization(_Model):
    """``Transcription.Diarization``: ``speaker_count`` 0 = unknown, else a hint up to 100."""

    speaker_count: int | None = None


@_model
class Transcription(_Model):
    """``Parameters.Transcription`` (speech recognition is always on; this tunes it).

    ``output_level`` 1 sends finals only, 2 also interim results (realtime only).
    ``phrase`` and ``realtime_diarization_enabled`` have UNCONFIRMED semantics.
    """

    diarization_enabled: bool | None = None
    diarization: Diarization | None = None
    output_level: int | None = None
    additional_stream_output_level: int | None = None
    realtime_diarization_enabled: bool | None = None
    phrase_id: str | None = None
    model: str | None = None
    disfluency_enabled: bool | None = None
    profanity_filter_enabled: bool | None = None
    audio_event_detection_enabled: bool | None = None
    phrase: dict[str, Any] | None = None


@_model
class Transcoding(_Model):
    """``Parameters.Transcoding``: ``target_audio_format="mp3"`` keeps a 128 kb/s MP3 of the record."""

    target_audio_format: str | None = None
    target_video_format: str | None = None
    spectrum_enabled: bool | None = None
    video_thumbnail_enabled: bool | None = None


@_model
class Translation(_Model):
    """``Parameters.Translation``; needs ``Parameters.TranslationEnabled``."""

    target_languages: tuple[str, ...] | None = None
    output_level: int | None = None
    additional_stream_output_level: int | None = None
    translate_llm_scene_enabled: bool | None = None


@_model
class AutoChapters(_Model):
    """``Parameters.AutoChapters``: granularity Coarse/General/Meticulous, title Short/Normal/Long."""

    chapter_granularity: str | None = None
    title_length_level: str | None = None


@_model
class MeetingAssistance(_Model):
    """``Parameters.MeetingAssistance``: ``types`` Actions/KeyInformation (unset = all)."""

    types: tuple[str, ...] | None = None


@_model
class Summarization(_Model):
    """``Parameters.Summarization``: ``types`` from :data:`SUMMARIZATION_TYPES` (at least one)."""

    types: tuple[str, ...] | None = None


@_model
class InspectionContent(_Model):
    """One service-inspection dimension: its ``title`` and the ``content`` judged against."""

    title: str | None = None
    content: str | None = None


@_model
class ServiceInspection(_Model):
    """``Parameters.ServiceInspection``: scene, focus and up to 100 dimensions."""

    scene_introduction: str | None = None
    inspection_introduction: str | None = None
    inspection_contents: tuple[InspectionContent, ...] | None = None
    speaker_map: dict[str, str] | None = None


@_model
class CustomPromptContent(_Model):
    """One custom prompt; ``prompt`` must contain the literal ``{Transcription}``."""

    name: str | None = None
    prompt: str | None = None
    model: str | None = None
    trans_type: str | None = None


@_model
class CustomPrompt(_Model):
    """``Parameters.CustomPrompt``: at most 3 ``contents``."""

    contents: tuple[CustomPromptContent, ...] | None = None


@_model
class IdentityContent(_Model):
    """One identity to recognise: its ``name`` and a ``description`` of how it speaks."""

    name: str | None = None
    description: str | None = None


@_model
class IdentityRecognition(_Model):
    """``Parameters.IdentityRecognition``: up to 5 identities (diarization should be on)."""

    scene_introduction: str | None = None
    identity_contents: tuple[IdentityContent, ...] | None = None


@_model
class ExtractionContent(_Model):
    """One item to extract; ``identity`` optionally ties it to an identity-recognition name."""

    title: str | None = None
    content: str | None = None
    identity: str | None = None


@_model
class ContentExtraction(_Model):
    """``Parameters.ContentExtraction``: up to 100 extraction items."""

    scene_introduction: str | None = None
    extraction_contents: tuple[ExtractionContent, ...] | None = None
    speaker_map: dict[str, str] | None = None


@_model
class Parameters(_Model):
    """``Parameters``: every feature switch with its configuration object (all optional)."""

    transcription: Transcription | None = None
    transcoding: Transcoding | None = None
    translation_enabled: bool | None = None
    translation: Translation | None = None
    auto_chapters_enabled: bool | None = None
    auto_chapters: AutoChapters | None = None
    meeting_assistance_enabled: bool | None = None
    meeting_assistance: MeetingAssistance | None = None
    summarization_enabled: bool | None = None
    summarization: Summarization | None = None
    text_polish_enabled: bool | None = None
    ppt_extraction_enabled: bool | None = None
    service_inspection_enabled: bool | None = None
    service_inspection: ServiceInspection | None = None
    custom_prompt_enabled: bool | None = None
    custom_prompt: CustomPrompt | None = None
    identity_recognition_enabled: bool | None = None
    identity_recognition: IdentityRecognition | None = None
    content_extraction_enabled: bool | None = None
    content_extraction: ContentExtraction | None = None
    model: str | None = None
    llm_output_language: str | None = None
    extra_params: dict[str, Any] | None = None


@_model
class RealtimeInput(_Model):
    """``Input`` of a realtime start: every Input key of the API.

    ``source_language``, ``format`` and ``sample_rate`` are required. ``task_id`` (stop/re-run
    only) and ``file_url`` (offline only) are modelled so that a misplaced value is refused
    with a reason instead of being dropped silently.
    """

    source_language: str | None = None
    format: str | None = None
    sample_rate: int | None = None
    language_hints: tuple[str, ...] | None = None
    task_key: str | None = None
    progressive_callbacks_enabled: bool | None = None
    multiple_streams_enabled: bool | None = None
    output_path: str | None = None
    audio_channel_mode: str | None = None
    file_url: str | None = None
    task_id: str | None = None


def check_known_keys(value: Mapping[str, Any], model: type, where: str) -> None:
    """Raise ParameterError for a wire key ``model`` does not have, naming its path (``where``
    is the path of ``value``) and the nearest known key; walks nested objects and lists of
    objects. ``from_wire`` ignores unknown keys (the tolerance rule for what the service
    sends); call this first on what a *user* wrote, where an unknown key is a typo."""
    known = {wire: (kind, item) for _, wire, kind, item in _schema(model)}
    for key, sub in value.items():
        if key not in known:
            near = difflib.get_close_matches(str(key), sorted(known), n=1, cutoff=0.6)
            hint = f"did you mean {near[0]}?" if near else f"{where} takes: {', '.join(sorted(known))}"
            raise ParameterError(f"{where}.{key}", f"unknown field; {hint}", sub)
        kind, item = known[key]
        if kind == "model" and isinstance(sub, Mapping):
            check_known_keys(sub, item, f"{where}.{key}")
        elif kind == "list" and isinstance(item, type) and hasattr(item, "from_wire") and isinstance(sub, list):
            for i, element in enumerate(sub):
                if isinstance(element, Mapping):
                    check_known_keys(element, item, f"{where}.{key}[{i}]")
