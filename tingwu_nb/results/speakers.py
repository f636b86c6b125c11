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
_LETTER = re.compile(r"[^\W_]")
_UNSPACED = re.compile("[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003ffff]")


def speakers_frame(doc: Mapping[str, Any] | None) -> pd.DataFrame:
    """Speaker statistics of a Transcription result document (``SPEAKER_COLUMNS``)."""
    return speaker_stats(sentences_frame(doc))


def _per_minute(count: float, seconds: float) -> float:
    return count / (seconds / 60.0) if seconds > 0 else float("nan")


def speaker_stats(sentences: pd.DataFrame) -> pd.DataFrame:
    """Speaker statistics (``SPEAKER_COLUMNS``) of a sentences frame."""
    ordered = sentences.sort_values(["start_s", "sentence_id"], kind="stable", na_position="last")
    speakers = ordered["speaker_id"].tolist()
    starts, ends = ordered["start_s"].to_numpy(float), ordered["end_s"].to_numpy(float)
    texts, counts = ordered["text"].tolist(), ordered["word_count"].tolist()
    stats: dict[Any, dict[str, Any]] = {}
    turn_start = 0
    for i, speaker in enumerate(speakers):
        row = stats.setdefault(speaker, {"talk": 0.0, "turns": 0, "sentences": 0, "words": 0, "chars": 0,
                                         "unspaced": 0, "mono": 0.0, "first": np.nan, "last": np.nan})
        span = ends[i] - starts[i]
        row["talk"] += span if span > 0 else 0.0
        row["sentences"] += 1
        row["words"] += int(counts[i])
        text = texts[i] or ""
        row["chars"] += len(_LETTER.findall(text))
        row["unspaced"] += len(_UNSPACED.findall(text))
        row["first"] = np.fmin(row["first"], starts[i])
        row["last"] = np.fmax(row["last"], ends[i])
        if i == 0 or speakers[i - 1] != speaker:
            row["turns"] += 1
            turn_start = i
        if i + 1 == len(speakers) or speakers[i + 1] != speaker:  # the turn ends here
            mono = np.fmax.reduce(ends[turn_start:i + 1]) - np.fmin.reduce(starts[turn_start:i + 1])
            row["mono"] = max(row["mono"], float(mono) if mono == mono else 0.0)
    total = sum(row["talk"] for row in stats.values())
    keys = sorted((k for k in stats if k is not None), key=lambda k: (len(str(k)), str(k)))
    keys += [None] if None in stats else []
    cols: dict[str, list[Any]] = {c: [] for c in SPEAKER_COLUMNS}
    for key in keys:
        row = stats[key]
        wpm, cpm = _per_minute(row["words"], row["talk"]), _per_minute(row["chars"], row["talk"])
        unspaced = row["chars"] > 0 and row["unspaced"] * 2 > row["chars"]
        for name, value in (("speaker_id", key), ("talk_time_s", row["talk"]),
                            ("talk_share", row["talk"] / total if total > 0 else np.nan),
                            ("turns", row["turns"]), ("sentence_count", row["sentences"]),
                            ("word_count", row["words"]), ("char_count", row["chars"]),
                            ("words_per_minute", wpm), ("chars_per_minute", cpm),
                            ("rate_per_minute", cpm if unspaced else wpm),
                            ("rate_unit", "chars" if unspaced else "words"),
                            ("longest_monologue_s", row["mono"]), ("first_start_s", row["first"]),
                            ("last_end_s", row["last"])):
            cols[name].append(value)
    return build(SPEAKER_COLUMNS, _DTYPES, cols)
