"""The run table grouped by condition, with bootstrap intervals: what the research plots draw.

:func:`aggregate` groups a run store's run table (``RunStore.runs()``) by factors and gives each
group its error rate and median latency with an interval whose unit is the reference sentence
(given the store's ``segments`` / ``sentences``) or the recording; :func:`condition_label` and
:func:`condition_colors` name and colour conditions the same way in every plot. Pandas and
numpy only; the plots are in :mod:`tingwu_nb.notebook.research_plots`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from tingwu_nb.notebook.plots import PALETTE
from tingwu_nb.research.stats import bootstrap_ci, corpus_error_rate

__all__ = ["DEFAULT_BY", "LATENCY", "aggregate", "condition_colors", "condition_label", "label_sentences"]

#: The grid's usual factors: what :func:`aggregate` groups by when told nothing else.
DEFAULT_BY = ("language", "sample_rate", "format")
LATENCY = "latency_final_median_s"
_COUNTS = ("substitutions", "deletions", "insertions", "reference_length")


def _hashable(value: Any) -> Any:
    if isinstance(value, (list, tuple, np.ndarray)):
        return ", ".join(str(v) for v in value)
    return value


def condition_label(values: Mapping[str, Any]) -> str:
    """A readable label for one condition: ``{"language": "en", "sample_rate": 8000}`` -> "en · 8 kHz".

    ``sample_rate`` in kHz, ``speed`` as "2×" (inf as "max"), empty ``language_hints`` left out.
    """
    parts = []
    for key, value in values.items():
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        if key == "sample_rate":
            parts.append(f"{float(value) / 1000:g} kHz")
        elif key == "speed":
            parts.append("max" if math.isinf(float(value)) else f"{float(value):g}×")
        elif key == "language_hints":
            if str(_hashable(value)).strip():
                parts.append(f"hints {_hashable(value)}")
        else:
            parts.append(str(_hashable(value)))
    return " · ".join(parts) or "all"


def condition_colors(labels: Iterable[Any]) -> dict[Any, str]:
    """``{label: colour}``: the distinct labels sorted, then the palette in order (cycling)."""
    distinct = sorted(set(labels), key=str)
    return {label: PALETTE[i % len(PALETTE)] for i, label in enumerate(distinct)}


def _plural(count: int, unit: str) -> str:
    return unit if count != 1 else unit.removesuffix("s")


def _segment_summary(done: pd.DataFrame, segments: pd.DataFrame, kw: dict[str, Any]) -> tuple | None:
    """Pooled errors / reference length of the group's reference sentences, the interval resampling
    sentences, the copies of a sentence in several cells summed into one unit (as ``RunStore.summary``)."""
    segs = segments[segments["condition_id"].isin(done["condition_id"])]
    if not len(segs):
        return None
    recording = done.drop_duplicates("condition_id").set_index("condition_id")["recording"]
    units = segs.assign(recording=segs["condition_id"].map(recording)).groupby(
        ["recording", "segment_index"], sort=True)[["errors", "reference_length"]].sum()
    got = corpus_error_rate(units["errors"].to_numpy(float), units["reference_length"].to_numpy(float), **kw)
    return got["error_rate"], got["low"], got["high"], len(units), "sentences"


def _sentence_latency(done: pd.DataFrame, sentences: pd.DataFrame, kw: dict[str, Any]) -> tuple | None:
    """Median ``latency_s`` of the group's sentences, the interval resampling sentences clustered by
    ``(recording, sentence_index)`` (one sentence streamed in several cells moves as one unit)."""
    sents = sentences[sentences["condition_id"].isin(done["condition_id"])]
    sents = sents.assign(latency_s=pd.to_numeric(sents["latency_s"], errors="coerce")).dropna(subset=["latency_s"])
    if not len(sents):
        return None
    recording = done.drop_duplicates("condition_id").set_index("condition_id")["recording"]
    clusters = list(zip(sents["condition_id"].map(recording), sents["sentence_index"]))
    values = sents["latency_s"].to_numpy(dtype=float)
    low, high = bootstrap_ci(values, statistic=np.median, clusters=clusters, **kw)
    return float(np.median(values)), low, high, len(set(clusters)), "sentences"


def _summary(done: pd.DataFrame, stat: str, level: float, n: int, seed: int, segments: pd.DataFrame | None,
             sentences: pd.DataFrame | None) -> tuple[float, float, float, int, str]:
    """(estimate, low, high, units, unit name). Over reference sentences (``segments``) or latency
    sentences (``sentences``) when given; else over recordings: pooled errors / reference length
    for ``error_rate`` when the counts exist (as ``research.stats.corpus_error_rate``), else the
    mean. Fewer than two units give a NaN interval (``research.stats``), never a zero-width one."""
    kw = {"n": n, "seed": seed, "level": level}
    got = None
    if stat == "error_rate" and segments is not None and len(done):
        got = _segment_summary(done, segments, kw)
    elif stat == LATENCY and sentences is not None and len(done):
        got = _sentence_latency(done, sentences, kw)
    if got is not None:
        return got
    if stat == "error_rate" and set(_COUNTS) <= set(done.columns):
        per = done.dropna(subset=list(_COUNTS)).groupby("recording")[list(_COUNTS)].sum()
        if len(per) and per["reference_length"].sum() > 0:
            rate = corpus_error_rate(per[list(_COUNTS[:3])].sum(axis=1).to_numpy(float),
                                     per["reference_length"].to_numpy(float), **kw)
            return rate["error_rate"], rate["low"], rate["high"], len(per), "recordings"
    values = done.dropna(subset=[stat]).groupby("recording")[stat].mean().to_numpy(dtype=float)
    if not len(values):
        return math.nan, math.nan, math.nan, 0, "recordings"
    return (float(values.mean()), *bootstrap_ci(values, statistic=np.mean, **kw), len(values), "recordings")


def aggregate(runs: pd.DataFrame, by: str | Sequence[str] = DEFAULT_BY, metric: str = "error_rate",
              level: float = 0.95, n: int = 2000, seed: int = 0, *, segments: pd.DataFrame | None = None,
              sentences: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per group of the run table: ``metric`` with a percentile bootstrap interval at
    ``level`` (``research.stats``).

    The resampled unit: with ``segments`` (``RunStore.segments()``), ``error_rate`` is the group's
    pooled errors / reference length over reference sentences and its interval resamples those
    sentences, the copies of one sentence ``(recording, segment_index)`` in several cells (pcm and
    opus, say) summed into one unit; with ``sentences`` (``RunStore.sentences()``), the latency
    column is the median ``latency_s`` of the group's sentences, its interval resampling sentences
    clustered by ``(recording, sentence_index)``. Without them the unit is the recording:
    ``error_rate`` pooled like a corpus WER/CER (sum of S+D+I over sum of reference lengths) when
    the run table has the counts, other metrics the mean of per-recording means. No interval with
    one unit: a group with fewer than two units (one recording and no ``segments``) gets a NaN
    interval, drawn as "no interval" — pass ``segments``/``sentences`` of timed references.

    Columns: ``by...``, ``condition`` (:func:`condition_label`), ``recordings``, ``failed`` (runs
    without a value), ``scored_by`` ("WER", "CER", "CER/WER"), ``metric``, ``metric_low``,
    ``metric_high``, ``metric_n`` (units behind the interval) and ``metric_unit`` ("sentences" or
    "recordings"), and the same five for ``latency_final_median_s`` when the runs have it. Feed the
    result to the plots of this module.
    """
    by = [by] if isinstance(by, str) else list(by)
    stats = [metric] + ([LATENCY] if LATENCY in runs.columns and metric != LATENCY else [])
    columns = [*by, "condition", "recordings", "failed", "scored_by"]
    columns += [c for s in stats for c in (s, f"{s}_low", f"{s}_high", f"{s}_n", f"{s}_unit")]
    if runs.empty:
        return pd.DataFrame(columns=columns)
    frame = runs.assign(**{col: runs[col].map(_hashable) for col in by})
    rows = []
    for key, group in frame.groupby(by, sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        row: dict[str, Any] = dict(zip(by, key))
        row["condition"] = condition_label(row)
        done = group[group[metric].notna()]
        row["recordings"], row["failed"] = done["recording"].nunique(), len(group) - len(done)
        row["scored_by"] = "/".join(sorted({str(m).upper() for m in done.get("metric", []) if pd.notna(m)}))
        for stat in stats:
            row.update(zip((stat, f"{stat}_low", f"{stat}_high", f"{stat}_n", f"{stat}_unit"),
                           _summary(done, stat, level, n, seed, segments, sentences)))
        rows.append(row)
    out = pd.DataFrame(rows, columns=columns)
    out.attrs["level"] = level  # the plots print it
    return out


def label_sentences(sentences: pd.DataFrame, runs: pd.DataFrame, by: str | Sequence[str] = DEFAULT_BY) -> pd.DataFrame:
    """The sentence latency table with a ``condition`` column (runs joined on ``condition_id``),
    labelled like :func:`aggregate` with the same ``by``, ready for :func:`latency_cdf`."""
    by = [by] if isinstance(by, str) else list(by)
    labels = {cid: condition_label({col: row[col] for col in by})
              for cid, row in runs.drop_duplicates("condition_id").set_index("condition_id").iterrows()}
    return sentences.assign(condition=sentences["condition_id"].map(labels))
