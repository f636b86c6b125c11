"""Per-speaker statistics from the transcript: talk time, turns, speaking rate, longest monologue.

Computed from a sentences frame (``SENTENCE_COLUMNS``), so it works on the Transcription file
(:func:`speakers_frame`) and on a provisional live transcript alike (:func:`speaker_stats`).
A *turn* is a maximal run of consecutive sentences (by start time) of one speaker; a monologue
is a turn's span (first start to last end). Speech written without spaces (Chinese, Japanese)
is measured in characters per minute, other speech in words per minute: ``rate_unit`` says which
one ``rate_per_minute`` holds. Sentences without a speaker form the row ``speaker_id`` None.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from tingwu_nb.results._fields import build
from tingwu_nb.results.transcription import sentences_frame

__all__ = ["SPEAKER_COLUMNS", "speaker_stats", "speakers_frame"]

#: One row per speaker, by ``speaker_id`` (None last). ``talk_time_s`` sums sentence spans;
#: ``talk_share`` is its fraction of all talk time; ``char_count`` counts letters and digits.
SPEAKER_COLUMNS = ("speaker_id", "talk_time_s", "talk_share", "turns", "sentence_count", "word_count",
                   "char_count", "words_per_minute", "chars_per_minute", "rate_per_minute", "rate_unit",
                   "longest_monologue_s", "first_start_s", "last_end_s")
_DTYPES = {"talk_time_s": "float64", "talk_share": "float64", "turns": "int64", "sentence_count": "int64",
           "word_count": "int64", "char_count": "int64", "words_per_minute": "float64",
           "chars_per_minute": "float64", "rate_per_minute": "float64", "longest_monologue_s": "float64",
           "first_start_s": "float64", "last_end_s": "float64"}
_NOT_LETTER = re.compile(r"[\W_]+")
_UNSPACED = re.compile("[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003ffff]")


def speakers_frame(doc: Mapping[str, Any] | None) -> pd.DataFrame:
    """Speaker statistics of a Transcription result document (``SPEAKER_COLUMNS``)."""
    return speaker_stats(sentences_frame(doc))


def _rate(count: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(seconds > 0, count / (seconds / 60.0), np.nan)


def _letters(text: str) -> tuple[int, int]:
    """(letters and digits, of which unspaced-script characters) in ``text``."""
    letters = len(_NOT_LETTER.sub("", text))
    return letters, 0 if text.isascii() else len(_UNSPACED.findall(text))


def speaker_stats(sentences: pd.DataFrame) -> pd.DataFrame:
    """Speaker statistics (``SPEAKER_COLUMNS``) of a sentences frame."""
    ordered = sentences.sort_values(["start_s", "sentence_id"], kind="stable", na_position="last")
    speakers = ordered["speaker_id"].to_numpy(dtype=object)
    if len(speakers) == 0:
        return build(SPEAKER_COLUMNS, _DTYPES, {c: [] for c in SPEAKER_COLUMNS})
    starts, ends = ordered["start_s"].to_numpy(dtype=float), ordered["end_s"].to_numpy(dtype=float)
    keys = sorted({k for k in speakers if k is not None}, key=lambda k: (len(str(k)), str(k)))
    keys += [None] if any(k is None for k in speakers) else []
    index = {k: i for i, k in enumerate(keys)}
    code = np.fromiter((index[k] for k in speakers), dtype="int64", count=len(speakers))
    n = len(keys)
    letters = np.asarray([_letters(t or "") for t in ordered["text"].tolist()], dtype="int64").reshape(-1, 2)
    span = np.nan_to_num(np.clip(ends - starts, 0.0, None))
    talk = np.bincount(code, weights=span, minlength=n)
    words = np.bincount(code, weights=ordered["word_count"].to_numpy(dtype=float), minlength=n).astype("int64")
    chars = np.bincount(code, weights=letters[:, 0], minlength=n).astype("int64")
    unspaced = np.bincount(code, weights=letters[:, 1], minlength=n)
    turn = np.flatnonzero(np.r_[True, code[1:] != code[:-1]])  # first sentence of each turn
    mono = np.nan_to_num(np.fmax.reduceat(ends, turn) - np.fmin.reduceat(starts, turn))
    longest = np.zeros(n)
    np.maximum.at(longest, code[turn], mono)
    first, last = np.full(n, np.nan), np.full(n, np.nan)
    np.fmin.at(first, code, starts)
    np.fmax.at(last, code, ends)
    wpm, cpm = _rate(words, talk), _rate(chars, talk)
    by_chars = (chars > 0) & (unspaced * 2 > chars)
    total = talk.sum()
    return build(SPEAKER_COLUMNS, _DTYPES, {
        "speaker_id": keys, "talk_time_s": talk, "talk_share": talk / total if total > 0 else np.full(n, np.nan),
        "turns": np.bincount(code[turn], minlength=n), "sentence_count": np.bincount(code, minlength=n),
        "word_count": words, "char_count": chars, "words_per_minute": wpm, "chars_per_minute": cpm,
        "rate_per_minute": np.where(by_chars, cpm, wpm), "rate_unit": ["chars" if c else "words" for c in by_chars],
        "longest_monologue_s": longest, "first_start_s": first, "last_end_s": last})
