"""Result files and live events as tidy pandas DataFrames.

Column lists are constants (checked by tests) so frames join: every frame that refers to the
transcript has ``sentence_id`` and ``speaker_id``; times are float seconds (``start_s``,
``end_s``). Parsing is tolerant (spec: unknown keys never break; PascalCase or camelCase).

* :func:`sentences_frame` / :func:`words_frame`: from the Transcription result file.
* :func:`live_sentences_frame`: from the SentenceEnd events received while streaming,
  with latency (receive time minus the time the sentence's last audio was sent).
* :func:`live_transcript_frames`: the live SentenceEnd events shaped like the Transcription
  file's sentence and word tables (a provisional transcript when no result file exists).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from tingwu_nb.contract import events as ev

__all__ = [
    "LIVE_SENTENCE_COLUMNS",
    "SENTENCE_COLUMNS",
    "WORD_COLUMNS",
    "join_tokens",
    "live_sentences_frame",
    "live_transcript_frames",
    "sentences_frame",
    "words_frame",
]

SENTENCE_COLUMNS = ("sentence_id", "speaker_id", "start_s", "end_s", "text", "word_count")
WORD_COLUMNS = ("word_id", "sentence_id", "speaker_id", "paragraph_id", "start_s", "end_s", "text")
LIVE_SENTENCE_COLUMNS = (
    "sentence_id", "index", "speaker_id", "start_s", "end_s", "text", "confidence",
    "received_s", "audio_sent_s", "latency_s",
)


def _get(obj: Mapping[str, Any], *names: str, default: Any = None) -> Any:
    for name in names:
        if name in obj:
            return obj[name]
    return default


def _unspaced(char: str) -> bool:
    """True for scripts written without spaces between words (Han, kana, CJK punctuation)."""
    code = ord(char)
    return (0x2E80 <= code <= 0x30FF or 0x3400 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF
            or 0xFF00 <= code <= 0xFFEF or 0x20000 <= code <= 0x3FFFF)


def join_tokens(tokens: Iterable[str]) -> str:
    """Join recognised words as the language writes them.

    A space goes between two words of spaced scripts (Latin, Hangul, Cyrillic, digits...),
    none next to Chinese or Japanese characters or full-width punctuation:
    ``["Tingwu", "很", "好", "OK"]`` -> ``"Tingwu很好OK"``, ``["회의를", "시작"]`` -> ``"회의를 시작"``.
    """
    out = ""
    for token in tokens:
        token = token.strip()
        if not token:
            continue
        if out and not _unspaced(out[-1]) and not _unspaced(token[0]) and token[0].isalnum():
            out += " "
        out += token
    return out


def _transcription(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    return _get(doc, "Transcription", "transcription", default=doc) or {}


def words_frame(doc: Mapping[str, Any]) -> pd.DataFrame:
    """One row per word of a Transcription result document (columns: ``WORD_COLUMNS``)."""
    rows = []
    for paragraph in _get(_transcription(doc), "Paragraphs", "paragraphs", default=[]) or []:
        speaker = _get(paragraph, "SpeakerId", "speakerId")
        pid = _get(paragraph, "ParagraphId", "paragraphId")
        for word in _get(paragraph, "Words", "words", default=[]) or []:
            rows.append((
                int(_get(word, "Id", "id", default=len(rows))),
                int(_get(word, "SentenceId", "sentenceId", default=0)),
                None if speaker is None else str(speaker),
                None if pid is None else str(pid),
                _get(word, "Start", "start", default=0) / 1000.0,
                _get(word, "End", "end", default=0) / 1000.0,
                str(_get(word, "Text", "text", default="")),
            ))
    frame = pd.DataFrame(rows, columns=list(WORD_COLUMNS))
    return frame.astype({"word_id": "int64", "sentence_id": "int64", "start_s": "float64", "end_s": "float64"})


def sentences_frame(doc: Mapping[str, Any]) -> pd.DataFrame:
    """One row per sentence of a Transcription result document (``SENTENCE_COLUMNS``)."""
    words = words_frame(doc)
    if words.empty:
        return pd.DataFrame(
            {c: pd.Series(dtype=t) for c, t in zip(SENTENCE_COLUMNS, ("int64", "object", "float64", "float64",
                                                                         "object", "int64"))}
        )
    grouped = words.groupby("sentence_id", sort=True)
    frame = pd.DataFrame({
        "sentence_id": list(grouped.groups),
        "speaker_id": grouped["speaker_id"].first().to_list(),
        "start_s": grouped["start_s"].min().to_list(),
        "end_s": grouped["end_s"].max().to_list(),
        "text": grouped["text"].apply(join_tokens).to_list(),
        "word_count": grouped.size().to_list(),
    })
    frame = frame.astype({"sentence_id": "int64", "word_count": "int64", "speaker_id": "object"})
    frame["speaker_id"] = frame["speaker_id"].where(frame["speaker_id"].notna(), None)  # None, not NaN
    return frame


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
