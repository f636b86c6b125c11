"""The Transcription result file and the live SentenceEnd events as tidy pandas DataFrames.

Column lists are constants (checked by tests) so frames join: every frame that refers to the
transcript has ``sentence_id`` and ``speaker_id``; times are float seconds (``start_s``,
``end_s``; NaN when the file has none). Parsing is tolerant (spec: unknown keys never break;
PascalCase or camelCase). Text columns are ``object`` (str or None).

* :func:`parse_transcription`: the file's words as plain columns, read in ONE pass (fast path:
  one list comprehension per field; any odd item falls back to tolerant per-word reading).
  :func:`words_frame`, :func:`sentences_frame`, :func:`paragraphs_frame` build from it without
  a second parse; :func:`transcript_frames` gives sentences and words from one parse.
* :func:`live_sentences_frame`: from the SentenceEnd events received while streaming,
  with latency (receive time minus the time the sentence's last audio was sent).
* :func:`live_transcript_frames`: the live SentenceEnd events shaped like the Transcription
  file's sentence and word tables (a provisional transcript when no result file exists).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tingwu_nb.contract import events as ev
from tingwu_nb.results._fields import as_float, as_int, as_str, build, get, payload, records

__all__ = [
    "LIVE_SENTENCE_COLUMNS",
    "PARAGRAPH_COLUMNS",
    "SENTENCE_COLUMNS",
    "WORD_COLUMNS",
    "Transcript",
    "join_tokens",
    "live_sentences_frame",
    "live_transcript_frames",
    "paragraphs_frame",
    "parse_transcription",
    "sentences_frame",
    "transcript_frames",
    "unspaced",
    "words_frame",
]

SENTENCE_COLUMNS = ("sentence_id", "speaker_id", "start_s", "end_s", "text", "word_count")
WORD_COLUMNS = ("word_id", "sentence_id", "speaker_id", "paragraph_id", "start_s", "end_s", "text")
#: One row per Transcription paragraph (a speaker-homogeneous run), in file order.
PARAGRAPH_COLUMNS = ("paragraph_id", "paragraph_index", "speaker_id", "start_s", "end_s", "text",
                     "first_sentence_id", "last_sentence_id", "sentence_count", "word_count")
LIVE_SENTENCE_COLUMNS = (
    "sentence_id", "index", "speaker_id", "start_s", "end_s", "text", "confidence",
    "received_s", "audio_sent_s", "latency_s",
)
_SENTENCE_DTYPES = {"sentence_id": "int64", "start_s": "float64", "end_s": "float64", "word_count": "int64"}
_WORD_DTYPES = {"word_id": "int64", "sentence_id": "int64", "start_s": "float64", "end_s": "float64"}
_PARAGRAPH_DTYPES = {"paragraph_index": "int64", "start_s": "float64", "end_s": "float64",
                     "first_sentence_id": "Int64", "last_sentence_id": "Int64", "sentence_count": "int64",
                     "word_count": "int64"}


def unspaced(char: str) -> bool:
    """True for scripts written without spaces between words (Han, kana, CJK punctuation)."""
    code = ord(char)
    return code >= 0x2E80 and (code <= 0x30FF or 0x3400 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF
                               or 0xFF00 <= code <= 0xFFEF or 0x20000 <= code <= 0x3FFFF)


def join_tokens(tokens: Iterable[str]) -> str:
    """Join recognised words as the language writes them.

    A space goes between two words of spaced scripts (Latin, Hangul, Cyrillic, digits...),
    none next to Chinese or Japanese characters or full-width punctuation:
    ``["Tingwu", "很", "好", "OK"]`` -> ``"Tingwu很好OK"``, ``["회의를", "시작"]`` -> ``"회의를 시작"``.
    """
    parts: list[str] = []
    spaced_before = False  # the text so far ends in a character of a spaced script
    for token in tokens:
        token = token.strip()
        if not token:
            continue
        first = token[0]
        if spaced_before and first.isalnum() and not unspaced(first):
            parts.append(" ")
        parts.append(token)
        spaced_before = not unspaced(token[-1])
    return "".join(parts)


@dataclass
class Transcript:
    """A Transcription file's words as plain columns in file order (see :func:`parse_transcription`).

    ``paragraphs`` holds ``(paragraph_id, speaker_id, first word index, end word index)``;
    ``audio`` the file's ``AudioInfo`` object (``{}`` when absent).
    """

    word_id: np.ndarray
    sentence_id: np.ndarray
    start_ms: np.ndarray
    end_ms: np.ndarray
    text: list[str]
    paragraphs: list[tuple[str | None, str | None, int, int]]
    audio: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.text)

    def _per_word(self, column: int) -> np.ndarray:
        values = np.empty(len(self.paragraphs), dtype=object)
        values[:] = [p[column] for p in self.paragraphs]
        counts = [p[3] - p[2] for p in self.paragraphs]
        return np.repeat(values, counts)

    def words(self) -> pd.DataFrame:
        """One row per word, in file order (``WORD_COLUMNS``)."""
        return build(WORD_COLUMNS, _WORD_DTYPES, {
            "word_id": self.word_id, "sentence_id": self.sentence_id, "speaker_id": self._per_word(1),
            "paragraph_id": self._per_word(0), "start_s": self.start_ms / 1000.0, "end_s": self.end_ms / 1000.0,
            "text": _objects(self.text)})

    def sentences(self) -> pd.DataFrame:
        """One row per sentence id, ascending (``SENTENCE_COLUMNS``): the first word's speaker,
        the earliest start and latest end of its words, their text joined by :func:`join_tokens`."""
        sids, n = self.sentence_id, len(self.text)
        if n == 0:
            return build(SENTENCE_COLUMNS, _SENTENCE_DTYPES, {c: [] for c in SENTENCE_COLUMNS})
        if n > 1 and not bool(np.all(sids[1:] >= sids[:-1])):
            order = np.argsort(sids, kind="stable")
            sids, starts, ends = sids[order], self.start_ms[order], self.end_ms[order]
            texts = [self.text[i] for i in order]
        else:
            order, starts, ends, texts = None, self.start_ms, self.end_ms, self.text
        first = np.concatenate(([0], np.flatnonzero(sids[1:] != sids[:-1]) + 1))
        bounds = np.append(first, n).tolist()
        speakers = self._per_word(1)[first if order is None else order[first]]
        return build(SENTENCE_COLUMNS, _SENTENCE_DTYPES, {
            "sentence_id": sids[first], "speaker_id": speakers,
            "start_s": np.fmin.reduceat(starts, first) / 1000.0, "end_s": np.fmax.reduceat(ends, first) / 1000.0,
            "text": _objects([join_tokens(texts[a:b]) for a, b in zip(bounds, bounds[1:])]),
            "word_count": np.diff(bounds)})

    def paragraphs_frame(self) -> pd.DataFrame:
        """One row per paragraph, in file order (``PARAGRAPH_COLUMNS``); a paragraph without
        words has NaN times, ``""`` text and <NA> sentence ids."""
        bounds = [(p[2], p[3]) for p in self.paragraphs]
        count = np.asarray([b - a for a, b in bounds], dtype="int64")
        full = count > 0
        first = np.asarray([a for a, _ in bounds], dtype="int64")[full]
        start, end = np.full(len(bounds), np.nan), np.full(len(bounds), np.nan)
        low, high = np.zeros(len(bounds), dtype="int64"), np.zeros(len(bounds), dtype="int64")
        if len(first):  # paragraphs are contiguous in file order: reduce between non-empty starts
            start[full] = np.fmin.reduceat(self.start_ms, first) / 1000.0
            end[full] = np.fmax.reduceat(self.end_ms, first) / 1000.0
            low[full] = np.minimum.reduceat(self.sentence_id, first)
            high[full] = np.maximum.reduceat(self.sentence_id, first)
        sids = self.sentence_id.tolist()
        return build(PARAGRAPH_COLUMNS, _PARAGRAPH_DTYPES, {
            "paragraph_id": [p[0] for p in self.paragraphs], "paragraph_index": np.arange(len(bounds)),
            "speaker_id": [p[1] for p in self.paragraphs], "start_s": start, "end_s": end,
            "text": [join_tokens(self.text[a:b]) for a, b in bounds],
            "first_sentence_id": pd.arrays.IntegerArray(low, ~full),
            "last_sentence_id": pd.arrays.IntegerArray(high, ~full),
            "sentence_count": [len(set(sids[a:b])) for a, b in bounds], "word_count": count})


def _objects(values: Sequence[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


_KEYS = (("Id", "SentenceId", "Start", "End", "Text"), ("id", "sentenceId", "start", "end", "text"))


def _fast(words: list[Any]) -> tuple[list[Any], ...] | None:
    """Each field as one list comprehension, when every word has it in one spelling."""
    for i, s, b, e, t in _KEYS:
        try:
            return ([w[i] for w in words], [w[s] for w in words], [w[b] for w in words],
                    [w[e] for w in words], [w[t] for w in words])
        except (KeyError, TypeError, IndexError):
            continue
    return None


def _slow(words: list[Any]) -> tuple[list[Any], ...]:
    words = [w for w in words if isinstance(w, Mapping)]
    return tuple([get(w, key) for w in words] for key in _KEYS[0])


def _array(values: list[Any], dtype: str, convert: Any, default: Any) -> np.ndarray:
    try:
        return np.asarray(values, dtype=dtype)
    except (TypeError, ValueError, OverflowError):
        converted = (convert(v) for v in values)
        return np.asarray([default if v is None else v for v in converted], dtype=dtype)


def parse_transcription(doc: Mapping[str, Any] | None) -> Transcript:
    """Read a Transcription result document (the wrapper is optional) in one pass.

    Missing ``SentenceId`` -> 0, missing ``Id`` -> the word's position, missing times -> NaN,
    missing text -> ``""``; items that are not objects are skipped. Use the result's methods
    (``words()``, ``sentences()``, ``paragraphs_frame()``) or the ``*_frame`` functions.
    """
    body = payload(doc, "Transcription")
    blocks, paragraphs, flat = [], [], []
    for paragraph in records(body, "Paragraphs"):
        words = get(paragraph, "Words")
        words = words if isinstance(words, list) else []
        blocks.append(words)
        paragraphs.append((as_str(get(paragraph, "ParagraphId")), as_str(get(paragraph, "SpeakerId")),
                           len(flat), len(flat) + len(words)))
        flat.extend(words)
    fields = _fast(flat)  # the whole file at once; odd items: tolerant reading paragraph by paragraph
    if fields is None:
        columns: tuple[list[Any], ...] = ([], [], [], [], [])
        for n, words in enumerate(blocks):
            first = len(columns[0])
            for column, values in zip(columns, _fast(words) or _slow(words)):
                column.extend(values)
            paragraphs[n] = (*paragraphs[n][:2], first, len(columns[0]))
        fields = columns
    ids, sids, starts, ends, texts = fields
    try:
        word_id = np.asarray(ids, dtype="int64")
    except (TypeError, ValueError, OverflowError):
        word_id = np.asarray([n if as_int(v) is None else as_int(v) for n, v in enumerate(ids)], dtype="int64")
    if set(map(type, texts)) - {str}:
        texts = ["" if t is None else str(t) for t in texts]
    audio = get(body, "AudioInfo")
    return Transcript(word_id, _array(sids, "int64", as_int, 0), _array(starts, "float64", as_float, np.nan),
                      _array(ends, "float64", as_float, np.nan), texts, paragraphs,
                      dict(audio) if isinstance(audio, Mapping) else {})


def words_frame(doc: Mapping[str, Any] | None) -> pd.DataFrame:
    """One row per word of a Transcription result document, in file order (``WORD_COLUMNS``)."""
    return parse_transcription(doc).words()


def sentences_frame(doc: Mapping[str, Any] | None) -> pd.DataFrame:
    """One row per sentence of a Transcription result document (``SENTENCE_COLUMNS``)."""
    return parse_transcription(doc).sentences()


def paragraphs_frame(doc: Mapping[str, Any] | None) -> pd.DataFrame:
    """One row per paragraph of a Transcription result document (``PARAGRAPH_COLUMNS``)."""
    return parse_transcription(doc).paragraphs_frame()


def transcript_frames(doc: Mapping[str, Any] | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(sentences, words)`` from one parse of a Transcription document."""
    transcript = parse_transcription(doc)
    return transcript.sentences(), transcript.words()


def live_sentences_frame(
    events: Sequence[ev.Event],
    frames_sent: Sequence[tuple[int, float]] = (),
    *,
    t0: float | None = None,
) -> pd.DataFrame:
    """One row per SentenceEnd received live (``LIVE_SENTENCE_COLUMNS``).

    Args:
        events: stamped events from :class:`~tingwu_nb.client.stream.RealtimeStream`.
        frames_sent: ``(end_ms, monotonic_sent_at)`` per audio frame, in order; gives
            ``latency_s`` = receive time − time the frame holding the sentence end was sent.
        t0: monotonic origin for ``received_s`` (default: the first frame's send time).
    """
    ends = [f[0] for f in frames_sent]
    origin = t0 if t0 is not None else (frames_sent[0][1] if frames_sent else 0.0)
    rows = []
    for n, event in enumerate(e for e in events if isinstance(e, ev.SentenceEnd)):
        start_ms = event.begin_time_ms if event.begin_time_ms is not None else (
            event.words[0].start_ms if event.words else event.time_ms)
        latency = None
        if ends and event.received_at is not None:
            i = min(bisect.bisect_left(ends, event.time_ms), len(ends) - 1)
            latency = event.received_at - frames_sent[i][1]
        rows.append((
            n + 1, event.index, event.speaker_id, start_ms / 1000.0, event.time_ms / 1000.0, event.result,
            event.confidence,
            None if event.received_at is None else event.received_at - origin,
            None if event.audio_sent_ms is None else event.audio_sent_ms / 1000.0,
            latency,
        ))
    frame = pd.DataFrame(rows, columns=list(LIVE_SENTENCE_COLUMNS))
    return frame.astype({"start_s": "float64", "end_s": "float64", "received_s": "float64",
                         "audio_sent_s": "float64", "latency_s": "float64", "confidence": "float64"})


def live_transcript_frames(events: Sequence[ev.Event]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sentence and word tables (``SENTENCE_COLUMNS``, ``WORD_COLUMNS``) from live SentenceEnds.

    For a session with no Transcription file (the service went away): the same columns as
    :func:`sentences_frame` / :func:`words_frame`, ``sentence_id`` counting from 1 in arrival
    order, ``paragraph_id`` empty. The text is what the service sent live, never confirmed.
    """
    doc_words = []
    for n, event in enumerate((e for e in events if isinstance(e, ev.SentenceEnd)), start=1):
        words = event.words or (ev.Word(event.result, event.begin_time_ms or event.time_ms, event.time_ms),)
        for word in words:
            if word.text.strip():
                doc_words.append({"Id": len(doc_words), "SentenceId": n, "Start": word.start_ms,
                                  "End": word.end_ms, "Text": word.text, "_speaker": event.speaker_id})
    paragraphs = [{"SpeakerId": w.pop("_speaker"), "Words": [w]} for w in doc_words]
    doc = {"Transcription": {"Paragraphs": paragraphs}}
    return sentences_frame(doc), words_frame(doc)
