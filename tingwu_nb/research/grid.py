"""An experiment grid: recordings × source language × sample rate × format × extra parameters.

    grid = Grid.from_yaml("grid.yaml")        # or Grid.from_dict({...}) / Grid(...)
    for condition in grid.conditions():       # one realtime session each
        condition.request()                    # -> RealtimeTaskRequest

A YAML grid (paths are relative to the YAML file)::

    recordings:
      - {name: meeting, audio: meeting.wav, reference: meeting.srt}   # .txt .srt .vtt .json .yaml
      - {name: call, audio: call.wav, text: "the reference as plain text"}
      - name: panel                                                   # timed, with speakers
        audio: panel.wav
        segments: [{start: 0.5, end: 4.8, speaker: A, text: "Good morning"}, ...]
    languages: [en, {language: multilingual, hints: [en, cn]}, fspk]
    sample_rates: [16000, 8000]
    formats: [pcm, opus]
    params: [{}, {diarization: true}]         # any RealtimeTaskRequest.create keyword
    speed: max

A reference keeps its speaker labels (SRT/VTT prefixes ``Speaker 1:``, ``[Speaker 1]``,
``<v Speaker 1>``; a Transcription's SpeakerId; ``speaker:`` in segments), so the runner can
score each speaker and the speaker attribution of diarised conditions.

Hand the grid to :func:`tingwu_nb.research.runner.run_grid` with a
:class:`~tingwu_nb.research.store.RunStore`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from tingwu_nb.contract.params import RealtimeTaskRequest
from tingwu_nb.errors import ParameterError

__all__ = ["Condition", "Grid", "Recording", "Reference", "canonical_params"]

_SRT_TIME = re.compile(r"(?:(\d+):)?(\d+):(\d+)[,.](\d+)\s*-->\s*(?:(\d+):)?(\d+):(\d+)[,.](\d+)")


@dataclass(frozen=True)
class Reference:
    """A reference transcript: its full text and, when known, timed segments ``(start_s, end_s, text)``.

    ``speakers`` runs parallel to ``segments``: the speaker label of each segment (None when the
    reference does not say), or ``()`` for a reference without any speaker labels. Build one with
    :meth:`load` (a file), :meth:`from_text`, :meth:`from_segments` or :meth:`from_records`; the
    runner scores each condition against ``text``, computes per-segment errors (for intervals)
    when ``segments`` exist, and per-speaker errors when :attr:`has_speakers`.
    """

    text: str
    segments: tuple[tuple[float, float, str], ...] = ()
    speakers: tuple[str | None, ...] = ()

    def __post_init__(self) -> None:
        if self.speakers and len(self.speakers) != len(self.segments):
            raise ParameterError("reference.speakers", f"{len(self.speakers)} speaker labels for "
                                 f"{len(self.segments)} segments (one per segment, or none)", None)

    @property
    def has_speakers(self) -> bool:
        """True when at least one segment has a speaker label."""
        return any(s is not None for s in self.speakers)

    def speaker_segments(self) -> list[tuple[str, float, float, str]]:
        """``(speaker, start_s, end_s, text)`` of every labelled segment, the input of
        :func:`tingwu_nb.research.metrics.speaker_scores` (empty without speaker labels)."""
        return [(spk, s, e, t) for spk, (s, e, t) in zip(self.speakers, self.segments) if spk is not None]

    @classmethod
    def from_text(cls, text: str) -> Reference:
        """A plain-text reference (no timing: one segment, so no interval over sentences)."""
        return cls(text=" ".join(text.split()))

    @classmethod
    def from_segments(cls, segments: Iterable[Sequence[Any]], speakers: Iterable[Any] | None = None) -> Reference:
        """A timed reference from ``(start_s, end_s, text)`` or ``(start_s, end_s, text, speaker)``
        rows (e.g. a fixture's turns); ``speakers`` gives the labels as a separate sequence instead."""
        rows, labels = [], []
        for row in segments:
            start, end, text = row[0], row[1], row[2]
            rows.append((float(start), float(end), str(text).strip()))
            labels.append(_label(row[3]) if len(row) > 3 else None)
        if speakers is not None:
            labels = [_label(s) for s in speakers]
        rows_t = tuple(rows)
        return cls(text=" ".join(t for _, _, t in rows_t), segments=rows_t,
                   speakers=tuple(labels) if any(x is not None for x in labels) else ())

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any]]) -> Reference:
        """A timed reference from mappings with ``start_s``/``start``, ``end_s``/``end``, ``text`` and
        an optional ``speaker`` (the YAML ``segments:`` form, or the bundled sample's ``turns``)."""
        rows = []
        for n, rec in enumerate(records):
            start, end = rec.get("start_s", rec.get("start")), rec.get("end_s", rec.get("end"))
            if start is None or end is None or rec.get("text") is None:
                raise ParameterError(f"reference.segments[{n}]", "each segment needs start, end and text", dict(rec))
            rows.append((start, end, rec["text"], rec.get("speaker")))
        return cls.from_segments(rows)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Reference:
        """Read ``.srt``/``.vtt`` (timed, with speaker prefixes such as ``Speaker 1:``, ``[Speaker 1]``
        or ``<v Speaker 1>``), ``.json`` (a Tingwu ``Transcription``, SpeakerId per paragraph, or
        ``{"turns": [...]}`` records), ``.yaml``/``.yml`` (records, see :meth:`from_records`) or
        any other file as text."""
        path = Path(path)
        content = path.read_text(encoding="utf-8-sig")
        suffix = path.suffix.lower()
        if suffix in (".srt", ".vtt"):
            return cls.from_segments(_parse_srt(content))
        if suffix in (".json", ".yaml", ".yml"):
            if suffix == ".json":
                doc = json.loads(content)
            else:
                import yaml

                doc = yaml.safe_load(content)
            if isinstance(doc, Mapping) and ("Transcription" in doc or "Paragraphs" in doc):
                return cls.from_transcription(doc)
            if isinstance(doc, Mapping):
                doc = doc.get("segments", doc.get("turns"))
            if not isinstance(doc, list):
                raise ParameterError("reference", f"{path.name}: expected a Transcription, a list of segments "
                                     "or {segments: [...]}", None)
            return cls.from_records(doc)
        return cls.from_text(content)

    @classmethod
    def from_transcription(cls, doc: Mapping[str, Any]) -> Reference:
        """A Tingwu-shaped Transcription result (e.g. a cloud run you trust) as the reference; each
        sentence keeps its paragraph's ``SpeakerId``."""
        from tingwu_nb.results.transcription import sentences_frame

        frame = sentences_frame(doc)
        return cls.from_segments(zip(frame["start_s"], frame["end_s"], frame["text"]),
                                 speakers=frame["speaker_id"].tolist())


def _label(value: Any) -> str | None:
    """A speaker label as text; None, NaN and empty mean "no label"."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value).strip()
    return text or None


#: Speaker prefixes in subtitle text: ``<v Name>``, ``[Name]``, ``Speaker 1:`` / ``说话人1：``.
_SPEAKER_PREFIX = (
    re.compile(r"^<v(?:\.[\w.-]+)*\s+([^>]+)>\s*(.*?)(?:</v>)?$", re.S),
    re.compile(r"^\[([^\]]{1,40})\]\s*(.*)$", re.S),
    re.compile(r"^((?:speaker|spk|说话人|发言人)\s*_?\s*\w{1,8})\s*[:：]\s*(.*)$", re.S | re.I),
)


def _speaker_prefix(text: str) -> tuple[str | None, str]:
    for pattern in _SPEAKER_PREFIX:
        match = pattern.match(text)
        if match and match.group(2).strip():
            return match.group(1).strip(), match.group(2).strip()
    return None, text


def _parse_srt(content: str) -> list[tuple[float, float, str, str | None]]:
    rows = []
    for block in re.split(r"\n\s*\n", content.replace("\r\n", "\n").strip()):
        lines = block.strip().split("\n")
        for i, line in enumerate(lines):
            match = _SRT_TIME.search(line)
            if match:
                h1, m1, s1, f1, h2, m2, s2, f2 = match.groups()
                start = int(h1 or 0) * 3600 + int(m1) * 60 + int(s1) + int(f1) / 10 ** len(f1)
                end = int(h2 or 0) * 3600 + int(m2) * 60 + int(s2) + int(f2) / 10 ** len(f2)
                speaker, text = _speaker_prefix(" ".join(x.strip() for x in lines[i + 1:] if x.strip()))
                if text:
                    rows.append((start, end, text, speaker))
                break
    return rows


@dataclass(frozen=True)
class Recording:
    """One source recording and its reference; ``sha256`` fingerprints the audio bytes (cache key)."""

    name: str
    audio: Path
    reference: Reference

    @cached_property
    def sha256(self) -> str:
        digest = hashlib.sha256()
        with open(self.audio, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()


def canonical_params(params: Mapping[str, Any]) -> str:
    """Parameters as canonical JSON (sorted keys, no spaces): equal dicts give equal strings."""
    return json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


@dataclass(frozen=True)
class Condition:
    """One cell of the grid: a recording streamed with one set of parameters.

    Call :meth:`request` for the CreateTask parameters; ``params_json`` (canonical) and the
    recording's audio hash make the cache key in :class:`~tingwu_nb.research.store.RunStore`.
    """

    recording: Recording
    language: str
    sample_rate: int
    format: str
    language_hints: tuple[str, ...] = ()
    extra: tuple[tuple[str, Any], ...] = ()

    @property
    def params(self) -> dict[str, Any]:
        """Every request keyword of this cell (language, hints, rate, format and the extras)."""
        out: dict[str, Any] = {"language": self.language, "sample_rate": self.sample_rate, "format": self.format}
        if self.language_hints:
            out["language_hints"] = list(self.language_hints)
        return out | {k: json.loads(v) for k, v in self.extra}

    @property
    def params_json(self) -> str:
        return canonical_params(self.params)

    def request(self) -> RealtimeTaskRequest:
        """The validated CreateTask request (raises ParameterError for an impossible cell)."""
        return RealtimeTaskRequest.create(**self.params)

    def label(self) -> str:
        """A short human label, e.g. ``meeting en 8k opus``."""
        lang = self.language + (f"[{','.join(self.language_hints)}]" if self.language_hints else "")
        extra = " ".join(f"{k}={v}" for k, v in self.extra)
        return " ".join(x for x in (self.recording.name, lang, f"{self.sample_rate // 1000}k", self.format, extra) if x)


@dataclass(frozen=True)
class Grid:
    """The conditions to compare. ``languages`` items are a language code or ``(code, hints)``.

    :meth:`conditions` expands the product; run it with :func:`tingwu_nb.research.runner.run_grid`.
    """

    recordings: Sequence[Recording]
    languages: Sequence[str | tuple[str, Sequence[str]]] = ("en",)
    sample_rates: Sequence[int] = (16000,)
    formats: Sequence[str] = ("pcm",)
    params: Sequence[Mapping[str, Any]] = field(default_factory=lambda: ({},))
    speed: float | str = "max"

    def conditions(self) -> list[Condition]:
        """Every cell, in a stable order (recording, language, rate, format, extra)."""
        cells = []
        for rec, lang, rate, fmt, extra in itertools.product(
                self.recordings, self.languages, self.sample_rates, self.formats, self.params or ({},)):
            code, hints = (lang, ()) if isinstance(lang, str) else (lang[0], tuple(lang[1]))
            frozen = tuple(sorted((str(k), canonical_params(v)) for k, v in dict(extra).items()))
            cells.append(Condition(rec, code, int(rate), str(fmt), hints, frozen))
        return cells

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any], *, base: str | os.PathLike = ".") -> Grid:
        """A grid from plain data (the YAML layout in the module docstring); paths relative to ``base``."""
        base = Path(base)
        recordings = [_recording(item, base) for item in spec.get("recordings") or ()]
        if not recordings:
            raise ParameterError("recordings", "a grid needs at least one recording", None)
        languages = [_language(item) for item in spec.get("languages") or ["en"]]
        params = [dict(p or {}) for p in spec.get("params") or [{}]]
        return cls(recordings=recordings, languages=languages,
                   sample_rates=[int(r) for r in spec.get("sample_rates") or [16000]],
                   formats=[str(f) for f in spec.get("formats") or ["pcm"]],
                   params=params, speed=spec.get("speed", "max"))

    @classmethod
    def from_yaml(cls, path: str | os.PathLike) -> Grid:
        """Read a YAML grid file (needs PyYAML); relative paths are taken from the file's folder."""
        import yaml

        path = Path(path)
        return cls.from_dict(yaml.safe_load(path.read_text(encoding="utf-8")) or {}, base=path.parent)


def _recording(item: Mapping[str, Any], base: Path) -> Recording:
    if "audio" not in item:
        raise ParameterError("recordings[].audio", "each recording needs an audio file", dict(item))
    audio = base / item["audio"]
    name = str(item.get("name") or Path(item["audio"]).stem)
    if item.get("reference") is not None:
        reference = Reference.load(base / item["reference"])
    elif item.get("segments") is not None:
        reference = Reference.from_records(item["segments"])
    elif item.get("text") is not None:
        reference = Reference.from_text(str(item["text"]))
    else:
        raise ParameterError("recordings[].reference", f"recording {name!r} needs reference: FILE, segments: or text:", None)
    return Recording(name=name, audio=audio, reference=reference)


def _language(item: Any) -> str | tuple[str, tuple[str, ...]]:
    if isinstance(item, str):
        return item
    if isinstance(item, Mapping) and "language" in item:
        return (str(item["language"]), tuple(str(h) for h in item.get("hints") or ()))
    raise ParameterError("languages[]", "use a code (en) or {language: multilingual, hints: [en, cn]}", item)
