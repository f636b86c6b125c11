"""The transcript as subtitles (SRT, WebVTT), a Markdown transcript, and every table as one JSON file.

Inputs are the frames of this package: ``sentences`` with
:data:`~tingwu_nb.results.transcription.SENTENCE_COLUMNS` (``sentence_id, speaker_id, start_s,
end_s, text, word_count``) and, for bilingual output, ``translations`` with ``sentence_id,
start_s, end_s`` then one column per target language (``translations_frame``). Translations
join on ``sentence_id``; cue times are the sentence's.

Every function returns the text and, given ``path``, also writes it there (UTF-8)::

    srt = to_srt(session.sentences(), translations, speakers=True, path="meeting.srt")
    to_json_bundle({"sentences": s, "words": w, ...}, path="tables.json")
    tables = read_json_bundle("tables.json")   # the same frames back

Cues are ordered by start time and numbered from 1; a cue lasts at least 1 ms; line breaks
inside a sentence become spaces (a blank line would end an SRT cue); WebVTT text is escaped
(``&``, ``<``, ``>``) and speakers are WebVTT voice spans (``<v Speaker 1>``).
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tingwu_nb.results.transcription import unspaced

__all__ = [
    "BUNDLE_FORMAT",
    "Cue",
    "cues",
    "read_json_bundle",
    "timecode",
    "to_json_bundle",
    "to_markdown",
    "to_srt",
    "to_vtt",
]

#: ``format`` of a JSON bundle (``version`` is 1).
BUNDLE_FORMAT = "tingwu_nb.tables"
_KEYS = ("sentence_id", "start_s", "end_s")
Speakers = bool | Mapping[str, str] | Callable[[str], str]
PathArg = str | os.PathLike[str] | None


@dataclass(frozen=True)
class Cue:
    """One subtitle: times in whole milliseconds, the speaker's label (or None) and its lines."""

    start_ms: int
    end_ms: int
    speaker: str | None
    lines: tuple[str, ...]
    sentence_id: int | None = None


def timecode(seconds: float, sep: str = ",") -> str:
    """``HH:MM:SS,mmm`` (SRT; ``sep="."`` for WebVTT); negative times clamp to zero."""
    return _clock(max(0, round(seconds * 1000)), sep)


def _clock(ms: int, sep: str) -> str:
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{sep}{millis:03d}"


def _one_line(value: Any) -> str:
    """Text on one line (whitespace runs, newlines included, become one space); missing -> ''."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    return " ".join(str(value).split())


def _label_of(speakers: Speakers) -> Callable[[Any], str | None]:
    def label(speaker_id: Any) -> str | None:
        sid = _one_line(speaker_id)
        if not speakers or not sid:
            return None
        if callable(speakers):
            return _one_line(speakers(sid)) or None
        if isinstance(speakers, Mapping):
            return _one_line(speakers.get(sid, f"Speaker {sid}"))
        return f"Speaker {sid}"
    return label


def _translated(translations: pd.DataFrame | None, languages: Sequence[str] | None) -> tuple[list[str], dict]:
    """The language columns used, and sentence_id -> {language: text} (several rows per id are joined)."""
    if translations is None or translations.empty:
        return [], {}
    langs = [str(c) for c in translations.columns if c not in _KEYS] if languages is None else list(languages)
    missing = [lang for lang in langs if lang not in translations.columns]
    if missing:
        raise KeyError(f"translations has no column {missing[0]!r} (it has {list(translations.columns)})")
    out: dict[int, dict[str, str]] = {}
    for row in translations[["sentence_id", *langs]].itertuples(index=False):
        if pd.isna(row[0]):
            continue
        texts = out.setdefault(int(row[0]), {})
        for lang, text in zip(langs, row[1:]):
            text = _one_line(text)
            if text:
                texts[lang] = f"{texts[lang]} {text}" if lang in texts else text
    return langs, out


def cues(
    sentences: pd.DataFrame,
    translations: pd.DataFrame | None = None,
    *,
    languages: Sequence[str] | None = None,
    speakers: Speakers = False,
    original: bool = True,
) -> list[Cue]:
    """The subtitles of a transcript, in start order (what :func:`to_srt` / :func:`to_vtt` write).

    Args:
        translations: adds one line per language under the sentence (bilingual subtitles).
        languages: which translation columns, in this order (default: all of them).
        speakers: True labels ``Speaker <id>``; a mapping or function gives names from ids.
        original: False keeps only the translations (the original where none exists).

    A sentence without text or without finite start and end times gives no cue.
    """
    langs, texts = _translated(translations, languages)
    label = _label_of(speakers)
    has_speaker = "speaker_id" in sentences.columns
    out = []
    for row in sentences.itertuples(index=False):
        start, end = row.start_s, row.end_s
        if pd.isna(start) or pd.isna(end) or not (math.isfinite(start) and math.isfinite(end)):
            continue  # no cue without two real times (NaN, NA or inf)
        sid = None if pd.isna(row.sentence_id) else int(row.sentence_id)
        extra = texts.get(sid, {}) if sid is not None else {}
        lines = [extra[lang] for lang in langs if lang in extra]
        text = _one_line(row.text)
        if text and (original or not lines):
            lines.insert(0, text)
        if not lines:
            continue
        start_ms = max(0, round(float(start) * 1000))
        end_ms = max(start_ms + 1, round(float(end) * 1000))
        out.append(Cue(start_ms, end_ms, label(row.speaker_id) if has_speaker else None, tuple(lines), sid))
    out.sort(key=lambda c: (c.start_ms, c.end_ms))
    return out


def to_srt(sentences: pd.DataFrame, translations: pd.DataFrame | None = None, *, path: PathArg = None,
           **options: Any) -> str:
    """SubRip subtitles: numbered cues, ``HH:MM:SS,mmm --> HH:MM:SS,mmm``, blank-line separated.

    ``options`` are those of :func:`cues` (``languages``, ``speakers``, ``original``); a speaker
    label prefixes the first line as ``Speaker 1: ...``. SRT has no escaping: an arrow ``-->``
    inside the text is written ``->`` so that no reader takes the line for a timing line.
    """
    blocks = []
    for n, cue in enumerate(cues(sentences, translations, **options), start=1):
        lines = list(cue.lines)
        if cue.speaker:
            lines[0] = f"{cue.speaker}: {lines[0]}"
        lines = [line.replace("-->", "->") for line in lines]  # a "-->" line reads as a timing line
        blocks.append(f"{n}\n{_clock(cue.start_ms, ',')} --> {_clock(cue.end_ms, ',')}\n" + "\n".join(lines))
    return _written("\n\n".join(blocks) + "\n" if blocks else "", path)


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(sentences: pd.DataFrame, translations: pd.DataFrame | None = None, *, path: PathArg = None,
           **options: Any) -> str:
    """WebVTT subtitles: the ``WEBVTT`` header, then numbered cues ``HH:MM:SS.mmm --> HH:MM:SS.mmm``.

    ``options`` as for :func:`cues`; a speaker label becomes a voice span (``<v Speaker 1>``).
    """
    blocks = ["WEBVTT"]
    for n, cue in enumerate(cues(sentences, translations, **options), start=1):
        lines = [_vtt_escape(line) for line in cue.lines]
        if cue.speaker:
            lines[0] = f"<v {_vtt_escape(cue.speaker)}>{lines[0]}"
        blocks.append(f"{n}\n{_clock(cue.start_ms, '.')} --> {_clock(cue.end_ms, '.')}\n" + "\n".join(lines))
    return _written("\n\n".join(blocks) + "\n", path)


def _join(texts: Iterable[str]) -> str:
    """Sentences one after the other: a space between them, none next to Chinese or Japanese
    characters or full-width punctuation (:func:`~tingwu_nb.results.transcription.unspaced`)."""
    out = ""
    for text in texts:
        if out and text and not unspaced(out[-1]) and not unspaced(text[0]):
            out += " "
        out += text
    return out


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~])")
_MD_LIST_START = re.compile(r"^(\s*)(\d*)([-+=.)])(?=\s|$)")


def _md(text: str) -> str:
    """Text shown literally in Markdown (emphasis, links, headings, lists and HTML neutralised)."""
    return _MD_LIST_START.sub(r"\1\2\\\3", _MD_SPECIAL.sub(r"\\\1", text))


def to_markdown(
    sentences: pd.DataFrame,
    translations: pd.DataFrame | None = None,
    *,
    languages: Sequence[str] | None = None,
    speakers: Speakers = True,
    title: str | None = "Transcript",
    path: PathArg = None,
) -> str:
    """A readable transcript: one paragraph per speaker turn, headed by the speaker and its start time.

    Consecutive sentences of one speaker form a turn (``**Speaker 1** `00:01:02` ``); with
    ``speakers=False`` every sentence is its own timed paragraph. Translations follow each
    turn as quoted lines, one per language (``> *en:* ...``). Text is escaped.
    """
    langs, texts = _translated(translations, languages)
    parts = [f"# {_md(title)}"] if title else []
    turn: list[Cue] = []

    def flush() -> None:
        if not turn:
            return
        head = f"`{_clock(turn[0].start_ms, '.').rsplit('.', 1)[0]}`"
        parts.append(f"**{_md(turn[0].speaker)}** {head}" if turn[0].speaker else head)
        parts.append(_md(_join(c.lines[0] for c in turn)))
        for lang in langs:
            said = _join(texts[c.sentence_id][lang] for c in turn if lang in texts.get(c.sentence_id, {}))
            if said:
                parts.append(f"> *{_md(lang)}:* {_md(said)}")
        turn.clear()

    for cue in cues(sentences, speakers=speakers):
        if turn and (cue.speaker is None or cue.speaker != turn[-1].speaker):
            flush()
        turn.append(cue)
    flush()
    return _written("\n\n".join(parts) + "\n" if parts else "", path)


# -- JSON bundle -------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A JSON-ready value: NaN, inf, None, NA and NaT -> None; numpy -> Python; times -> ISO text."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, np.generic):
        return _plain(value.item())
    if isinstance(value, (pd.Timestamp, datetime, date)):
        return value.isoformat()
    if isinstance(value, (pd.Timedelta, timedelta)):
        return value.total_seconds()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    return str(value)


def _column(series: pd.Series) -> list[Any]:
    dtype = series.dtype
    if pd.api.types.is_float_dtype(dtype):
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        return [v if math.isfinite(v) else None for v in values.tolist()]
    if pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_extension_array_dtype(dtype):
        return series.tolist()
    return [_plain(v) for v in series.astype(object).tolist()]


def _table(name: str, frame: Any) -> dict[str, Any]:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"table {name!r} is a {type(frame).__name__}, not a DataFrame")
    columns = [str(c) for c in frame.columns]
    if len(set(columns)) != len(columns):
        raise ValueError(f"table {name!r} has duplicate column names")
    spec: dict[str, Any] = {"columns": columns, "dtypes": [str(t) for t in frame.dtypes]}
    categories = {str(c): {"values": [_plain(v) for v in frame[c].cat.categories], "ordered": frame[c].cat.ordered}
                  for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)}
    if categories:
        spec["categories"] = categories
    data = [_column(frame.iloc[:, i]) for i in range(frame.shape[1])]
    spec["rows"] = [list(row) for row in zip(*data)] if data else [[] for _ in range(len(frame))]
    return spec


def to_json_bundle(tables: Mapping[str, pd.DataFrame], *, path: PathArg = None, indent: int | None = None) -> str:
    """Every table in one JSON document; :func:`read_json_bundle` gives the same frames back.

    Layout: ``{"format": "tingwu_nb.tables", "version": 1, "tables": {name: {"columns": [...],
    "dtypes": [...], "rows": [[...], ...]}}}``. Times stay float seconds; NaN, NA, NaT and
    infinities are ``null``; lists stay arrays; timestamps are ISO 8601 text, durations
    seconds. The index is not kept (``reset_index()`` first if it carries data).
    """
    doc = {"format": BUNDLE_FORMAT, "version": 1, "tables": {str(k): _table(str(k), v) for k, v in tables.items()}}
    return _written(json.dumps(doc, ensure_ascii=False, allow_nan=False, indent=indent) + "\n", path)


def _restore(values: list[Any], dtype_name: str, categories: Mapping[str, Any] | None) -> pd.Series:
    if categories is not None:
        return pd.Series(values, dtype=pd.CategoricalDtype(categories["values"], ordered=categories["ordered"]))
    dtype = pd.api.types.pandas_dtype(dtype_name)
    if isinstance(dtype, pd.DatetimeTZDtype):
        return pd.Series(pd.to_datetime(values, utc=True, format="ISO8601")).dt.tz_convert(dtype.tz).astype(dtype)
    if pd.api.types.is_datetime64_dtype(dtype):
        return pd.Series(pd.to_datetime(values, format="ISO8601")).astype(dtype)
    if pd.api.types.is_timedelta64_dtype(dtype):
        return pd.Series(pd.to_timedelta(values, unit="s")).astype(dtype)
    return pd.Series(values, dtype=dtype)


def read_json_bundle(source: str | os.PathLike[str]) -> dict[str, pd.DataFrame]:
    """The frames of a bundle written by :func:`to_json_bundle` (its path, or its text).

    Columns get their dtypes back; a missing value in an ``object`` column comes back as None.
    """
    text = str(source)
    if isinstance(source, os.PathLike) or not text.lstrip().startswith("{"):
        text = Path(source).read_text(encoding="utf-8")
    doc = json.loads(text)
    if not isinstance(doc, dict) or doc.get("format") != BUNDLE_FORMAT:
        raise ValueError(f"not a {BUNDLE_FORMAT} bundle")
    out = {}
    for name, spec in doc["tables"].items():
        columns, rows = spec["columns"], spec["rows"]
        data = list(zip(*rows)) if rows else [() for _ in columns]
        cats = spec.get("categories", {})
        out[name] = pd.DataFrame({c: _restore(list(v), t, cats.get(c)) for c, t, v in zip(columns, spec["dtypes"], data)},
                                 columns=columns)
    return out


def _written(text: str, path: PathArg) -> str:
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text
