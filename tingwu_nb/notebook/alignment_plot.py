"""One sentence's alignment drawn as two aligned rows of tokens (reference over hypothesis).

Same contract as :mod:`tingwu_nb.notebook.plots` (``f(alignment, ax=None, **kw) -> Axes``,
CJK-capable fonts, "no data" when empty); re-exported by :mod:`tingwu_nb.notebook.research_plots`,
whose ``render_png`` sizes it with :func:`alignment_size`. Feed it
``tingwu_nb.research.metrics.score(reference, hypothesis, language).alignment``.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.patches import Patch, Rectangle

from tingwu_nb.notebook.fonts import font_family
from tingwu_nb.notebook.plots import _axes, _columns, _finish, _no_data

__all__ = ["OP_COLORS", "alignment_size", "alignment_view"]

#: Alignment ops -> (fill, edge) colours; aliases ("sub", "del", "ins", "match") map onto them.
OP_COLORS = {"equal": ("#EEEEEE", "#BDBDBD"), "substitute": ("#FFD59E", "#E69F00"),
             "delete": ("#F6B8B8", "#C62828"), "insert": ("#BBDDF7", "#0072B2")}
_ALIASES = {"sub": "substitute", "s": "substitute", "del": "delete", "d": "delete", "ins": "insert", "i": "insert",
            "match": "equal", "ok": "equal", "c": "equal", "=": "equal"}
_FONT = 10
Step = tuple[str, str, str]


def _steps(alignment: Any) -> list[Step]:
    if hasattr(alignment, "alignment"):
        alignment = alignment.alignment
    if isinstance(alignment, pd.DataFrame):
        alignment = list(alignment[["op", "ref", "hyp"]].itertuples(index=False, name=None))
    steps = []
    for op, ref, hyp in alignment or []:
        op = _ALIASES.get(str(op).lower(), str(op).lower())
        if op not in OP_COLORS:
            raise ValueError(f"unknown alignment op {op!r}: expected one of {sorted(OP_COLORS)}")
        clean = ["" if t is None or (isinstance(t, float) and math.isnan(t)) else str(t) for t in (ref, hyp)]
        steps.append((op, clean[0], clean[1]))
    return steps


def _lines(steps: list[Step], width: int) -> list[list[tuple[float, float, Step]]]:
    lines: list[list[tuple[float, float, Step]]] = [[]]
    x = 0.0
    for step in steps:
        w = max(_columns(step[1]), _columns(step[2]), 1) + 1.2
        if lines[-1] and x + w > width:
            lines.append([])
            x = 0.0
        lines[-1].append((x, w, step))
        x += w + 0.4
    return lines


def alignment_view(alignment: Any, ax: Axes | None = None, width: int = 64, **kw: Any) -> Axes:
    """One sentence's alignment as two aligned rows of tokens (reference over hypothesis),
    coloured by op: equal grey, substitute orange, delete red, insert blue.

    ``alignment``: a list of ``(op, ref, hyp)`` (``Score.alignment``), a Score, or a frame with
    op/ref/hyp columns. Long sentences wrap at ``width`` columns (a CJK character counts two).
    """
    steps = _steps(alignment)
    counts = {op: sum(s[0] == op for s in steps) for op in OP_COLORS}
    title = kw.pop("title", "Alignment: " + ", ".join(
        f"{counts[op]} {name}{'s' if counts[op] != 1 else ''}" for op, name in
        (("substitute", "substitution"), ("delete", "deletion"), ("insert", "insertion"))))
    lines = _lines(steps, width)
    ax = _axes(ax, _size(lines, width))
    if not steps:
        return _no_data(ax, "Alignment")
    family = font_family()
    ticks, labels = [], []
    for k, line in enumerate(lines):
        for row, side in ((2.6 * k, 1), (2.6 * k + 1, 2)):
            ticks.append(row)
            labels.append("reference" if side == 1 else "hypothesis")
            for x, w, step in line:
                fill, edge = OP_COLORS[step[0]]
                token = step[side]
                ax.add_patch(Rectangle((x, row - 0.4), w, 0.8, facecolor=fill if token else "white", edgecolor=edge,
                                       linewidth=1.0, linestyle="-" if token else (0, (2, 2))))
                ax.text(x + w / 2, row, token or "·", ha="center", va="center", fontsize=_FONT + 1,
                        color="#212121" if token else edge, fontfamily=family)
    ax.set_xlim(-0.3, _extent(lines) + 0.3)
    ax.set_ylim(2.6 * len(lines) - 1.0, -0.6)
    ax.set_yticks(ticks, labels)
    ax.set_xticks([])
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    names = {"equal": "correct", "substitute": "substituted", "delete": "deleted", "insert": "inserted"}
    ax.legend(handles=[Patch(facecolor=f, edgecolor=e, label=names[op]) for op, (f, e) in OP_COLORS.items()],
              fontsize=_FONT - 1, frameon=False, ncol=4, loc="upper left", bbox_to_anchor=(0, 0), borderaxespad=0.2)
    return _finish(ax, title)


def _extent(lines: list) -> float:
    return max((x + w for line in lines for x, w, _ in line), default=1.0)


def _size(lines: list, width: int = 64) -> tuple[float, float]:
    """10 in for a full line of ``width`` columns (so text fits its box), narrower for less."""
    return max(4.5, 1.3 + 8.7 * min(1.0, _extent(lines) / width)), 1.2 + 0.8 * max(1, len(lines))



def alignment_size(alignment: Any, width: int = 64) -> tuple[float, float]:
    """The figure size (inches) :func:`alignment_view` picks for ``alignment`` at ``width``."""
    return _size(_lines(_steps(alignment), width), width)
