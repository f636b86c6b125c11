"""Per-condition aggregates of live behaviour: partial-result stability and stop -> result ready.

Inputs are the run store's tables (:class:`~tingwu_nb.research.store.RunStore`): ``runs`` gives
each ``condition_id`` its factors (``by``), ``sentences`` the per-sentence revisions and
characters changed (:func:`~tingwu_nb.research.latency.sentence_latency`), ``ready`` the stop ->
ready seconds of each result file (:func:`~tingwu_nb.research.latency.result_ready_times`).
Only cells with ``status == "ok"`` count. Label the rows (e.g.
``notebook.research_plots.condition_label``) and plot them next.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from tingwu_nb.research.stats import bootstrap_ci

__all__ = ["ready_summary", "stability_summary"]

_STABILITY = (("revisions", "revisions_per_sentence"), ("chars_changed", "chars_changed_per_sentence"))


def _finished(runs: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    ok = runs[runs["status"] == "ok"] if len(runs) else runs
    return ok[["condition_id", *by]].drop_duplicates("condition_id") if len(ok) else \
        pd.DataFrame(columns=["condition_id", *by])


def stability_summary(sentences: pd.DataFrame, runs: pd.DataFrame, by: Sequence[str], *, level: float = 0.95,
                      n: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Partial-result stability per group of ``by``: the mean number of interim revisions per
    sentence and the mean characters of displayed text later rewritten per sentence, each with a
    percentile bootstrap interval over sentences, plus ``sentences`` (n) and ``cells``.

    A condition streamed with OutputLevel 1 has no interim results, so both are 0 with a zero-width
    interval: stream with OutputLevel 2 to measure stability.
    """
    by = list(by)
    columns = [*by, "sentences", "cells"] + [c for _, name in _STABILITY for c in (name, f"{name}_low",
                                                                                    f"{name}_high")]
    frame = sentences.merge(_finished(runs, by), on="condition_id") if len(sentences) else sentences.iloc[0:0]
    rows = []
    for key, group in (frame.groupby(by, sort=True, dropna=False) if len(frame) else ()):
        row = dict(zip(by, key if isinstance(key, tuple) else (key,)))
        row |= {"sentences": len(group), "cells": group["condition_id"].nunique()}
        for column, name in _STABILITY:
            values = pd.to_numeric(group[column], errors="coerce").dropna().to_numpy(dtype=float)
            low, high = bootstrap_ci(values, statistic=np.mean, n=n, seed=seed, level=level) if len(values) \
                else (math.nan, math.nan)
            row |= {name: float(values.mean()) if len(values) else math.nan, f"{name}_low": low,
                    f"{name}_high": high}
        rows.append(row)
    out = pd.DataFrame(rows, columns=columns)
    out.attrs["level"] = level
    return out


def ready_summary(ready: pd.DataFrame, runs: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Stop -> ready seconds per group of ``by`` and result file: ``median_s``, ``min_s``,
    ``max_s`` over the group's cells, ``cells``, and ``resolution_s`` (the largest poll
    interval: each time is an upper bound by at most that much). Rows are ordered by group, then
    by median time (the order the results became ready)."""
    by = list(by)
    columns = [*by, "result", "median_s", "min_s", "max_s", "cells", "resolution_s"]
    frame = ready.merge(_finished(runs, by), on="condition_id") if len(ready) else ready.iloc[0:0]
    if not len(frame):
        return pd.DataFrame(columns=columns)
    grouped = frame.groupby([*by, "result"], sort=True, dropna=False)
    out = grouped["stop_to_ready_s"].agg(median_s="median", min_s="min", max_s="max").join(
        grouped["condition_id"].nunique().rename("cells")).join(
        grouped["resolution_s"].max()).reset_index()
    return out.sort_values([*by, "median_s"], kind="stable").reset_index(drop=True)[columns]
