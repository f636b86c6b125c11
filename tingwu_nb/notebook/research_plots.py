"""Plots of an experiment grid: the run table and the sentence latency table of the run store.

Same contract as :mod:`tingwu_nb.notebook.plots`: ``f(frame, ax=None, **kw) -> Axes``, drawn on
``ax`` (a new figure when None), global rcParams untouched, CJK-capable fonts, "no data" for an
empty frame; :func:`render_png` draws one plot on its own figure at its natural size.

Typical use::

    agg = aggregate(runs, by=["language", "sample_rate", "format"],   # estimate + bootstrap interval
                    segments=store.segments(), sentences=store.sentences())  # ... over sentences
    metric_by_condition(agg); language_rate_heatmap(aggregate(runs, by=["language", "sample_rate"]))
    accuracy_vs_latency(agg); latency_cdf(label_sentences(sentences, runs))
    alignment_view(score(reference, hypothesis, "en").alignment)

``alignment_view`` lives in :mod:`tingwu_nb.notebook.alignment_plot` (re-exported here).
A condition's label ("en · 16 kHz · pcm") comes from :func:`condition_label`; its colour from
:func:`condition_colors` (sorted labels -> palette), so one set of conditions has the same colours
in every plot.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter

from tingwu_nb.notebook import plots
from tingwu_nb.notebook.alignment_plot import OP_COLORS, alignment_size, alignment_view
from tingwu_nb.notebook.fonts import font_family
from tingwu_nb.notebook.plots import _axes, _columns, _finish, _no_data
from tingwu_nb.notebook.research_aggregate import (
    DEFAULT_BY,
    LATENCY,
    _plural,
    aggregate,
    condition_colors,
    condition_label,
    label_sentences,
)

__all__ = ["DEFAULT_BY", "OP_COLORS", "accuracy_vs_latency", "aggregate", "alignment_view", "condition_colors",
           "condition_label", "label_sentences", "language_rate_heatmap", "latency_cdf", "metric_by_condition",
           "render_png"]

_FONT = 10


def _is_rate(metric: str) -> bool:
    return metric.endswith("rate")


def _fmt(metric: str, value: float, unit: bool = True) -> str:
    if value is None or math.isnan(value):
        return "–"
    if _is_rate(metric):
        return f"{value * 100:.1f}" + (" %" if unit else "")
    return f"{value:.2f}" + (" s" if unit and metric.endswith("_s") else "")


def _axis_name(agg: pd.DataFrame, metric: str) -> str:
    if metric == "error_rate":
        scored = "/".join(sorted({p for s in agg.get("scored_by", []) if isinstance(s, str) for p in s.split("/")
                                  if p}))
        return f"error rate ({scored}, %)" if scored else "error rate (%)"
    return metric.replace("_", " ") + (" (%)" if _is_rate(metric) else "")


def _percent_axis(axis: Any, metric: str) -> None:
    if _is_rate(metric):
        axis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v * 100:g}"))


def _interval(agg: pd.DataFrame, metric: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(low, high) arrays when the frame has interval columns (NaN where a row has no interval)."""
    if f"{metric}_low" not in agg.columns or f"{metric}_high" not in agg.columns:
        return None
    return (pd.to_numeric(agg[f"{metric}_low"], errors="coerce").to_numpy(dtype=float),
            pd.to_numeric(agg[f"{metric}_high"], errors="coerce").to_numpy(dtype=float))


def _finite(bounds: tuple[np.ndarray, np.ndarray] | None, size: int) -> np.ndarray:
    """Which rows have a drawable interval (both ends finite)."""
    if bounds is None:
        return np.zeros(size, dtype=bool)
    return np.isfinite(bounds[0]) & np.isfinite(bounds[1])


def _count(row: Any, metric: str) -> str:
    """What the interval counts: "n=5 sentences" or "recordings=1" (from ``{metric}_n`` and
    ``{metric}_unit``, else the ``recordings`` column); "" when the frame says nothing."""
    n, unit = getattr(row, f"{metric}_n", None), getattr(row, f"{metric}_unit", None)
    if n is not None and pd.notna(n) and isinstance(unit, str) and unit:
        return f"recordings={int(n)}" if unit == "recordings" else f"n={int(n)} {_plural(int(n), unit)}"
    recordings = getattr(row, "recordings", None)
    return f"recordings={int(recordings)}" if recordings is not None and pd.notna(recordings) else ""


def metric_by_condition(agg: pd.DataFrame, metric: str = "error_rate", by: str = "condition", ax: Axes | None = None,
                        **kw: Any) -> Axes:
    """``metric`` per condition (a frame of :func:`aggregate`) as a point with its interval bar,
    best (lowest) on top, each labelled with its value, interval and what the interval counts
    ("n=5 sentences"). A row without an interval (one unit) has no bar and says "no interval"."""
    title = kw.pop("title", f"{_axis_name(agg, metric).split(' (')[0].capitalize()} by condition")
    frame = agg.dropna(subset=[metric]).sort_values(metric, kind="stable") if len(agg) else agg
    ax = _axes(ax, _size_by_condition(frame))
    if not len(frame):
        return _no_data(ax, title)
    mean, rows = frame[metric].to_numpy(dtype=float), np.arange(len(frame))
    colors = condition_colors(agg[by])
    bounds = _interval(frame, metric)
    has = _finite(bounds, len(frame))
    low, high = (np.where(has, b, mean) for b in bounds) if bounds is not None else (mean, mean)
    if has.any():
        ax.errorbar(mean[has], rows[has], xerr=[mean[has] - low[has], high[has] - mean[has]], fmt="none",
                    ecolor="#616161", elinewidth=1.6, capsize=4)
    ax.scatter(mean, rows, s=55, zorder=3, c=[colors[c] for c in frame[by]], edgecolors="white", linewidths=0.8)
    right = float(np.nanmax(high))
    for row, (m, lo, hi, ok, record) in enumerate(zip(mean, low, high, has, frame.itertuples(index=False))):
        text = _fmt(metric, m)
        if bounds is not None:
            text += f"  [{_fmt(metric, lo, False)}–{_fmt(metric, hi)}]" if ok else "  no interval"
        count, failed = _count(record, metric), getattr(record, "failed", 0)
        text += (f"  {count}" if count else "") + (f", {failed} failed" if failed and pd.notna(failed) else "")
        ax.text(hi + right * 0.02, row, text, va="center", fontsize=_FONT - 1, color="#424242")
    ax.set_yticks(rows, [plots._wrap(c, 30, 2) for c in frame[by]])
    ax.set_ylim(len(frame) - 0.5, -0.5)
    ax.set_xlim(0, right * 1.45 if right > 0 else 1)
    _percent_axis(ax.xaxis, metric)
    ax.grid(axis="x", color="#E0E0E0", linewidth=0.6)
    ax.set_axisbelow(True)
    level = f" — {agg.attrs.get('level', 0.95) * 100:g} % bootstrap interval" if has.any() else ""
    return _finish(ax, title, _axis_name(agg, metric) + level)


def _size_by_condition(frame: pd.DataFrame) -> tuple[float, float]:
    return 9, 1.4 + 0.42 * max(1, len(frame))


def _order(values: Iterable[Any], name: str) -> list[Any]:
    distinct = list(dict.fromkeys(values))
    numeric = all(isinstance(v, (int, float, np.number)) for v in distinct)
    return sorted(distinct, reverse=name == "sample_rate") if numeric else sorted(distinct, key=str)


def _tick(name: str, value: Any) -> str:
    return condition_label({name: value}) if name in ("sample_rate", "speed", "language_hints") else str(value)


def language_rate_heatmap(agg: pd.DataFrame, metric: str = "error_rate", rows: str = "language",
                          cols: str = "sample_rate", ax: Axes | None = None, cmap: str = "YlOrRd", **kw: Any) -> Axes:
    """``metric`` on a ``rows`` × ``cols`` grid (a frame of ``aggregate(runs, by=[rows, cols])``),
    each cell annotated with its mean and interval ("no interval" with one unit); a labelled colour
    bar. Missing cells are grey.

    Raises ValueError when a cell has several rows (``agg`` grouped by more factors): aggregate by
    exactly ``[rows, cols]`` first, or filter the frame.
    """
    title = kw.pop("title", f"{_axis_name(agg, metric).split(' (')[0].capitalize()}: "
                            f"{rows.replace('_', ' ')} × {cols.replace('_', ' ')}")
    frame = agg.dropna(subset=[metric]) if len(agg) else agg
    ax = _axes(ax, _size_heatmap(frame, rows, cols))
    if not len(frame):
        return _no_data(ax, title)
    if frame.duplicated([rows, cols]).any():
        raise ValueError(f"several rows per {rows} × {cols} cell: use aggregate(runs, by=[{rows!r}, {cols!r}])")
    r_keys, c_keys = _order(frame[rows], rows), _order(frame[cols], cols)
    cell = frame.set_index([rows, cols])
    grid = np.full((len(r_keys), len(c_keys)), np.nan)
    for (r, c), value in cell[metric].items():
        grid[r_keys.index(r), c_keys.index(c)] = value
    scale = 100 if _is_rate(metric) else 1
    colormap = matplotlib.colormaps[cmap].with_extremes(bad="#E0E0E0")
    image = ax.imshow(np.ma.masked_invalid(grid * scale), cmap=colormap, aspect="auto", vmin=0)
    norm = image.norm
    bounds = _interval(frame, metric) is not None
    for i, r in enumerate(r_keys):
        for j, c in enumerate(c_keys):
            if (r, c) not in cell.index:
                ax.text(j, i, "–", ha="center", va="center", fontsize=_FONT, color="#757575")
                continue
            got = cell.loc[(r, c)]
            text = _fmt(metric, got[metric])
            if bounds:
                lo, hi = got[f"{metric}_low"], got[f"{metric}_high"]
                text += f"\n[{_fmt(metric, lo, False)}–{_fmt(metric, hi)}]" if pd.notna(lo) and pd.notna(hi) \
                    else "\nno interval"
            shade = image.cmap(norm(got[metric] * scale))
            dark = 0.299 * shade[0] + 0.587 * shade[1] + 0.114 * shade[2] < 0.55
            ax.text(j, i, text, ha="center", va="center", fontsize=_FONT, color="white" if dark else "#212121")
    ax.set_xticks(range(len(c_keys)), [_tick(cols, c) for c in c_keys])
    ax.set_yticks(range(len(r_keys)), [_tick(rows, r) for r in r_keys])
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    bar = ax.figure.colorbar(image, ax=ax, fraction=0.06, pad=0.03)
    bar.set_label(_axis_name(agg, metric), fontsize=_FONT, fontfamily=font_family())
    bar.ax.tick_params(labelsize=_FONT - 1, labelfontfamily=font_family())
    return _finish(ax, title, cols.replace("_", " "), rows.replace("_", " "))


def _size_heatmap(frame: pd.DataFrame, rows: str, cols: str) -> tuple[float, float]:
    n_rows = frame[rows].nunique() if len(frame) else 1
    n_cols = frame[cols].nunique() if len(frame) else 1
    return 2.6 + 1.7 * max(1, n_cols), 1.5 + 0.75 * max(1, n_rows)


def latency_cdf(sentences: pd.DataFrame, by: str = "condition", ax: Axes | None = None, **kw: Any) -> Axes:
    """Empirical CDF of per-sentence ``latency_s``, one curve per ``by`` value, medians marked.

    ``by`` falls back to ``condition_id`` when the frame has no such column; give the sentence
    table readable labels with :func:`label_sentences` first.
    """
    title = kw.pop("title", "Sentence latency (final result after end of speech)")
    ax = _axes(ax, (9, 4))
    if len(sentences) and by not in sentences.columns:
        by = "condition_id"
    frame = sentences.assign(latency_s=pd.to_numeric(sentences["latency_s"], errors="coerce")).dropna(
        subset=["latency_s"]) if len(sentences) else sentences
    if not len(frame):
        return _no_data(ax, title)
    colors = condition_colors(frame[by])
    for label, group in sorted(frame.groupby(by, sort=False), key=lambda item: str(item[0])):
        xs = np.sort(group["latency_s"].to_numpy(dtype=float))
        ys = np.arange(1, len(xs) + 1) / len(xs)
        median = float(np.median(xs))
        ax.step(np.r_[xs[0], xs], np.r_[0, ys], where="post", color=colors[label], linewidth=1.8,
                label=f"{label}  (median {median:.2f} s, n={len(xs)})")
        ax.plot([median, median], [0, 0.5], color=colors[label], linestyle=":", linewidth=1.2, gid=f"median {label}")
        ax.plot(median, 0.5, "o", color=colors[label], markersize=6, markeredgecolor="white", zorder=3)
    ax.axhline(0.5, color="#9E9E9E", linewidth=0.6)
    ax.set_ylim(0, 1.02)
    ax.set_xlim(left=0)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v * 100:.0f}"))
    ax.grid(color="#E0E0E0", linewidth=0.6)
    ax.legend(fontsize=_FONT - 1, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _finish(ax, title, "latency (s)", "sentences at or below (%)")


#: Above this many conditions the scatter is keyed by a colour legend instead of text next to each point.
MAX_POINT_LABELS = 3


def _scatter_frame(agg: pd.DataFrame, metric: str, latency: str) -> pd.DataFrame:
    return agg.dropna(subset=[metric, latency]) if len(agg) and latency in agg.columns else agg.iloc[0:0]


def accuracy_vs_latency(agg: pd.DataFrame, metric: str = "error_rate", latency: str = LATENCY,
                        by: str = "condition", ax: Axes | None = None, **kw: Any) -> Axes:
    """Each condition (a frame of :func:`aggregate`) at (median final latency, ``metric``), with
    interval bars on both axes where the frame has them (none where an interval is NaN: one unit).
    Up to :data:`MAX_POINT_LABELS` points are labelled next to the point; more are keyed by colour
    in a legend beside the axes. Down-left is better."""
    title = kw.pop("title", "Accuracy versus latency")
    frame = _scatter_frame(agg, metric, latency)
    ax = _axes(ax, _size_scatter(frame))
    if not len(frame):
        return _no_data(ax, title)
    x, y = frame[latency].to_numpy(dtype=float), frame[metric].to_numpy(dtype=float)
    colors = condition_colors(agg[by])
    x_ci, y_ci = _interval(frame, latency), _interval(frame, metric)
    hx, hy = _finite(x_ci, len(frame)), _finite(y_ci, len(frame))
    x_lo, x_hi = (np.where(hx, b, x) for b in x_ci) if x_ci is not None else (x, x)
    y_lo, y_hi = (np.where(hy, b, y) for b in y_ci) if y_ci is not None else (y, y)
    legend = len(frame) > MAX_POINT_LABELS
    for i, label in enumerate(frame[by]):
        xerr = [[x[i] - x_lo[i]], [x_hi[i] - x[i]]] if hx[i] else None
        yerr = [[y[i] - y_lo[i]], [y_hi[i] - y[i]]] if hy[i] else None
        ax.errorbar(x[i], y[i], xerr=xerr, yerr=yerr, fmt="o", color=colors[label], markersize=7, capsize=3,
                    elinewidth=1.2, markeredgecolor="white", label=plots._wrap(label, 30, 2))
    span = max(np.nanmax(x_hi) - np.nanmin(x_lo), 0.05)
    ax.set_xlim(max(0, np.nanmin(x_lo) - 0.25 * span), np.nanmax(x_hi) + 0.25 * span)
    ax.set_ylim(0, np.nanmax(y_hi) * 1.15 if np.nanmax(y_hi) > 0 else 1)
    if legend:
        ax.legend(fontsize=_FONT - 1, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  handletextpad=0.4, labelspacing=0.8)
    else:
        _label_points(ax, x, y, [plots._wrap(c, 24, 2) for c in frame[by]],
                      (x_lo, x_hi) if hx.any() else None, (y_lo, y_hi) if hy.any() else None)
    missing = [name for has, ci, name in ((hx, x_ci, "latency"), (hy, y_ci, "error rate")) if ci is not None
               and not has.all()]
    if missing:
        ax.text(1.0, 1.01, f"no interval ({' / '.join(missing)}): fewer than 2 units", transform=ax.transAxes,
                ha="right", va="bottom", fontsize=_FONT - 2, color="#757575")
    _percent_axis(ax.yaxis, metric)
    ax.grid(color="#E0E0E0", linewidth=0.6)
    ax.set_axisbelow(True)
    return _finish(ax, title, "median latency of the final result (s)", _axis_name(agg, metric))


def _size_scatter(frame: pd.DataFrame) -> tuple[float, float]:
    return (10.5, 5) if len(frame) > MAX_POINT_LABELS else (8, 5)


_SIDES = ((7, 3, "left", "bottom"), (-7, 3, "right", "bottom"), (7, -3, "left", "top"), (-7, -3, "right", "top"),
          (0, 8, "center", "bottom"), (0, -8, "center", "top"))


def _overlap(a: Sequence[float], b: Sequence[float]) -> float:
    return max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))


def _label_points(ax: Axes, x: np.ndarray, y: np.ndarray, labels: list[str], x_ci: Any, y_ci: Any) -> None:
    """Annotate each point on the side (of six) where its estimated text box overlaps least with
    the markers, interval bars, labels already placed and the outside of the axes."""
    to_px, k, frame = ax.transData.transform, ax.figure.dpi / 72, ax.bbox.extents
    px = to_px(np.c_[x, y])
    boxes = [(a - 6, b - 6, a + 6, b + 6) for a, b in px]
    for ci, pad, at in ((x_ci, (0, 2), lambda i, v: (v, y[i])), (y_ci, (2, 0), lambda i, v: (x[i], v))):
        boxes += [(*(to_px(at(i, ci[0][i])) - pad), *(to_px(at(i, ci[1][i])) + pad)) for i in
                  (range(len(x)) if ci is not None else ())]
    for i in np.argsort(-y):
        lines = labels[i].split("\n")
        w, h = max(_columns(t) for t in lines) * 5.6 * k, len(lines) * 11.5 * k
        options = []
        for dx, dy, ha, va in _SIDES:
            x0 = px[i][0] + dx * k - {"left": 0, "right": w, "center": w / 2}[ha]
            y0 = px[i][1] + dy * k - (h if va == "top" else 0)
            box = (x0, y0, x0 + w, y0 + h)
            cost = sum(_overlap(box, o) for o in boxes) + 3 * (w * h - _overlap(box, frame))
            options.append((cost, box, dx, dy, ha, va))
        _, box, dx, dy, ha, va = min(options, key=lambda o: o[0])
        boxes.append(box)
        ax.annotate(labels[i], (x[i], y[i]), xytext=(dx, dy), textcoords="offset points", ha=ha, va=va,
                    fontsize=_FONT - 1, color="#424242")


def render_png(plot: Callable[..., Axes], frame: Any, *args: Any, dpi: int = 100,
               size: tuple[float, float] | None = None, **kw: Any) -> bytes:
    """Draw one plot of this module on its own figure (no pyplot) and return PNG bytes;
    ``size`` defaults to the plot's natural size for this frame."""
    if size is None:
        size = _natural_size(plot, frame, **kw)
    return plots.render_png(plot, frame, *args, dpi=dpi, size=size, **kw)


def _natural_size(plot: Callable[..., Axes], frame: Any, **kw: Any) -> tuple[float, float]:
    if plot is metric_by_condition:
        return _size_by_condition(frame)
    if plot is language_rate_heatmap:
        return _size_heatmap(frame, kw.get("rows", "language"), kw.get("cols", "sample_rate"))
    if plot is alignment_view:
        return alignment_size(frame, kw.get("width", 64))
    if plot is accuracy_vs_latency:
        return _size_scatter(_scatter_frame(frame, kw.get("metric", "error_rate"), kw.get("latency", LATENCY)))
    return 9, 4

