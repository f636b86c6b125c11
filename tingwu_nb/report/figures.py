"""The report's figures: the notebook layer's plot functions, rendered to PNG bytes.

Each figure is optional. :func:`render_figures` asks :mod:`tingwu_nb.notebook.plots` for each
plot by name; a plot whose function is missing, whose table is empty, or that fails, gives a
:class:`Figure` with ``png=None`` and a ``note`` saying why, so a report is written whatever
the session holds. Figures are drawn by ``plots.render_png`` (a fresh ``matplotlib.figure.Figure``,
never pyplot: nothing is registered, shown twice in a notebook, or left open) at the plot's own
size, or at the spec's ``size`` when the plots module has no ``render_png``.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

__all__ = ["FIGURES", "Figure", "FigureSpec", "render_figures"]


@dataclass(frozen=True)
class FigureSpec:
    """One report figure: the plot function's ``name`` in notebook.plots, a caption, its inputs.

    ``inputs(tables)`` returns ``(df, kwargs)`` from the session's tables, or None when the
    session has nothing to draw.
    """

    name: str
    caption: str
    inputs: Callable[[Mapping[str, pd.DataFrame]], tuple[pd.DataFrame, dict[str, Any]] | None]
    size: tuple[float, float] = (8.0, 3.2)


@dataclass(frozen=True)
class Figure:
    """A rendered figure (``png`` bytes) or, when ``png`` is None, the ``note`` saying why not."""

    name: str
    caption: str
    png: bytes | None
    note: str = ""


def _frame(name: str, **kw: str) -> Callable[[Mapping[str, pd.DataFrame]], Any]:
    def inputs(tables: Mapping[str, pd.DataFrame]) -> tuple[pd.DataFrame, dict[str, Any]] | None:
        df = tables.get(name)
        if df is None or not len(df):
            return None
        return df, {key: tables[other] for key, other in kw.items() if other in tables}
    return inputs


def _rate_inputs(tables: Mapping[str, pd.DataFrame]) -> tuple[pd.DataFrame, dict[str, Any]] | None:
    for name in ("words", "sentences"):
        df = tables.get(name)
        if df is not None and len(df):
            return df, {}
    return None


def _latency_inputs(tables: Mapping[str, pd.DataFrame]) -> tuple[pd.DataFrame, dict[str, Any]] | None:
    df = tables.get("live_sentences")
    if df is None or "latency_s" not in df or not df["latency_s"].notna().any():
        return None
    return df, {}


#: The report's figures, in order (names as in tingwu_nb.notebook.plots).
FIGURES: tuple[FigureSpec, ...] = (
    FigureSpec("speaker_timeline", "Who spoke when", _frame("sentences")),
    FigureSpec("talk_time_share", "Talk-time share per speaker", _frame("speakers"), (6.0, 3.2)),
    FigureSpec("speaking_rate", "Speaking rate over time", _rate_inputs),
    FigureSpec("chapter_timeline", "Chapters on the timeline", _frame("chapters", sentences="sentences")),
    FigureSpec("keyword_weights", "Keyword weights", _frame("keywords"), (7.0, 3.6)),
    FigureSpec("inspection_scores", "Inspection scores", _frame("inspection"), (7.0, 3.0)),
    FigureSpec("latency_distribution", "Live sentence latency", _latency_inputs, (6.0, 3.0)),
)


def _plots_module() -> Any:
    try:
        from tingwu_nb.notebook import plots
    except ImportError:
        return None
    return plots


def render_figures(tables: Mapping[str, pd.DataFrame], *, specs: tuple[FigureSpec, ...] = FIGURES,
                   plots: Any = None, dpi: int = 110) -> list[Figure]:
    """Every figure of ``specs`` for ``tables`` (the session's frames by table name, plus
    ``live_sentences``), as PNG bytes or a note.

    ``plots`` is the module (or any object) holding the plot functions; by default
    ``tingwu_nb.notebook.plots``. Embed the result with :func:`tingwu_nb.report.html.write_report`.
    """
    plots = plots if plots is not None else _plots_module()
    return [_render(spec, tables, plots, dpi) for spec in specs]


def _render(spec: FigureSpec, tables: Mapping[str, pd.DataFrame], plots: Any, dpi: int) -> Figure:
    function = getattr(plots, spec.name, None) if plots is not None else None
    if function is None:
        return Figure(spec.name, spec.caption, None, f"not drawn: tingwu_nb.notebook.plots.{spec.name} "
                                                    "is not available in this installation")
    inputs = spec.inputs(tables)
    if inputs is None:
        return Figure(spec.name, spec.caption, None, "not drawn: this session has no data for it")
    df, kwargs = inputs
    try:
        render = getattr(plots, "render_png", None)
        if render is not None:  # the plot's own natural size
            png = render(function, df, dpi=dpi, **kwargs)
        else:
            from matplotlib.figure import Figure as MplFigure

            fig = MplFigure(figsize=spec.size, layout="constrained")
            function(df, ax=fig.add_subplot(), **kwargs)
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", dpi=dpi, facecolor="white")
            png = buffer.getvalue()
    except Exception as exc:  # noqa: BLE001 - one bad figure must not lose the whole report
        warnings.warn(f"report figure {spec.name} failed: {type(exc).__name__}: {exc}", RuntimeWarning,
                      stacklevel=3)
        return Figure(spec.name, spec.caption, None, f"not drawn: {type(exc).__name__}: {exc}")
    return Figure(spec.name, spec.caption, png)
