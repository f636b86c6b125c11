"""Plot of when each result file became ready after stop, per condition.

Same contract as :mod:`tingwu_nb.notebook.plots` (``f(frame, ax=None, **kw) -> Axes``, rcParams
untouched, "no data" for an empty frame). Feed it
:func:`tingwu_nb.research.timing.ready_summary` with a ``condition`` label column (as the
experiment report does), or any frame with ``result``, ``median_s`` and optional ``min_s``/``max_s``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from tingwu_nb.notebook.plots import _axes, _finish, _no_data, _wrap
from tingwu_nb.notebook.research_plots import condition_colors

__all__ = ["result_ready_chart", "result_ready_size"]


def _results_in_order(frame: pd.DataFrame) -> list[str]:
    """Result names by their median time over all conditions (first ready on top)."""
    return list(frame.groupby("result")["median_s"].median().sort_values(kind="stable").index)


def result_ready_size(frame: pd.DataFrame) -> tuple[float, float]:
    """The natural figure size for ``frame``: taller with more result files."""
    n = frame["result"].nunique() if len(frame) and "result" in frame.columns else 1
    return 9, 1.8 + 0.45 * max(1, n)


def result_ready_chart(frame: pd.DataFrame, by: str = "condition", ax: Axes | None = None, **kw: Any) -> Axes:
    """Seconds from StopTranscription until each result file was first listed by the service: one
    row per result, one marker per ``by`` value at its median, a line from the fastest to the
    slowest cell. The poll interval bounds the precision (noted under the axis)."""
    title = kw.pop("title", "Stop → each result ready")
    frame = frame.dropna(subset=["median_s"]) if len(frame) and "median_s" in frame.columns else frame.iloc[0:0]
    ax = _axes(ax, result_ready_size(frame))
    if not len(frame):
        return _no_data(ax, title)
    results = _results_in_order(frame)
    groups = list(dict.fromkeys(frame[by])) if by in frame.columns else ["all"]
    colors = condition_colors(groups)
    offsets = np.linspace(-0.25, 0.25, len(groups)) if len(groups) > 1 else np.zeros(1)
    for offset, group in zip(offsets, groups):
        part = frame[frame[by] == group] if by in frame.columns else frame
        rows = np.array([results.index(r) for r in part["result"]]) + offset
        median = part["median_s"].to_numpy(dtype=float)
        if {"min_s", "max_s"} <= set(part.columns):
            ax.hlines(rows, part["min_s"].to_numpy(dtype=float), part["max_s"].to_numpy(dtype=float),
                      color=colors[group], linewidth=1.4, alpha=0.7)
        ax.scatter(median, rows, s=42, color=colors[group], edgecolors="white", linewidths=0.8, zorder=3,
                   label=_wrap(group, 34, 2))
    ax.set_yticks(range(len(results)), results)
    ax.set_ylim(len(results) - 0.5, -0.5)
    ax.set_xlim(left=0)
    ax.grid(axis="x", color="#E0E0E0", linewidth=0.6)
    ax.set_axisbelow(True)
    if len(groups) > 1:
        ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    resolution = frame["resolution_s"].max() if "resolution_s" in frame.columns else np.nan
    note = f" (upper bounds, poll every {resolution:g} s)" if np.isfinite(resolution) else ""
    return _finish(ax, title, "seconds after StopTranscription" + note)
