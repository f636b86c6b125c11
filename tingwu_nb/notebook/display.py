"""Rich HTML for result frames and summaries: full text, sensible row limits, speaker colours.

``show(df)`` returns an :class:`HTMLView` that Jupyter renders (``_repr_html_``): every cell's
whole text with its line breaks (``white-space: pre-wrap``, never cut at 50 characters), the
first ``max_rows`` rows and a line saying how many more there are, ``speaker_id`` cells with
the speaker's plot colour, lists as comma-separated ids. All text is escaped and redacted (no
join token or URL signature shows). The explorer builds its tabs from :func:`frame_html`,
:func:`summary_html` and :func:`mindmap_html`; take ``.html`` to embed the markup elsewhere.
"""

from __future__ import annotations

import html
import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from tingwu_nb.notebook.plots import speaker_colors
from tingwu_nb.redaction import redact_text
from tingwu_nb.results.summaries import MindMapNode

__all__ = ["MAX_ROWS", "STYLE", "HTMLView", "frame_html", "mindmap_html", "show", "summary_html"]

MAX_ROWS = 50
STYLE = """<style>
.tingwu-table {border-collapse: collapse; font-size: 13px; margin: 4px 0}
.tingwu-table th {text-align: left; border-bottom: 1px solid #999; padding: 3px 8px; background: #f5f5f5}
.tingwu-table td {white-space: pre-wrap; vertical-align: top; text-align: left; padding: 3px 8px;
                  border-bottom: 1px solid #e0e0e0; max-width: 60em}
.tingwu-table td.num {text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap}
.tingwu-speaker {display: inline-block; width: 0.8em; height: 0.8em; border-radius: 50%; margin-right: 4px}
.tingwu-more {color: #666; font-size: 12px}
.tingwu-text {white-space: pre-wrap}
</style>"""


@dataclass(frozen=True)
class HTMLView:
    """HTML that Jupyter displays as is; ``.html`` is the markup (style included)."""

    html: str

    def _repr_html_(self) -> str:
        return self.html

    def __str__(self) -> str:
        return self.html


def _cell(value: Any, column: str, colors: dict[Any, str]) -> str:
    if isinstance(value, (list, tuple)):
        return f"<td>{html.escape(', '.join(str(v) for v in value))}</td>"
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "<td></td>"
    if column == "speaker_id" and value in colors:
        dot = f'<span class="tingwu-speaker" style="background:{colors[value]}"></span>'
        return f"<td>{dot}{html.escape(str(value))}</td>"
    if isinstance(value, float):  # times in seconds with 2 decimals, scores and shares with 3 digits
        text = f"{value:.2f}" if column.endswith("_s") or abs(value) >= 1 else f"{value:.3g}"
        return f'<td class="num">{text}</td>'
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return f'<td class="num">{value}</td>'
    return f"<td>{html.escape(str(value))}</td>"


def frame_html(frame: pd.DataFrame, max_rows: int | None = MAX_ROWS, caption: str | None = None,
               columns: Sequence[str] | None = None, style: bool = True) -> str:
    """``frame`` as an HTML table (see the module doc); ``max_rows=None`` shows every row.

    ``columns`` picks and orders columns; ``style=False`` leaves out the ``<style>`` block
    (when the page already has :data:`STYLE`).
    """
    frame = frame if columns is None else frame.loc[:, list(columns)]
    shown = frame if max_rows is None else frame.head(max_rows)
    colors = speaker_colors(frame["speaker_id"].dropna().unique()) if "speaker_id" in frame.columns else {}
    parts = [STYLE] if style else []
    parts.append('<table class="tingwu-table">')
    if caption:
        parts.append(f"<caption style='text-align:left; font-weight:bold'>{html.escape(caption)}</caption>")
    parts.append("<thead><tr>" + "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns) + "</tr></thead>")
    parts.append("<tbody>")
    names = [str(c) for c in shown.columns]
    for row in shown.itertuples(index=False, name=None):
        parts.append("<tr>" + "".join(_cell(v, c, colors) for v, c in zip(row, names)) + "</tr>")
    parts.append("</tbody></table>")
    if not len(frame):
        parts.append('<div class="tingwu-more">no rows</div>')
    elif len(shown) < len(frame):
        parts.append(f'<div class="tingwu-more">{len(shown)} of {len(frame)} rows shown '
                     f"({len(frame) - len(shown)} more; show(df, max_rows=None) for all)</div>")
    return redact_text("\n".join(parts))


def show(frame: pd.DataFrame, max_rows: int | None = MAX_ROWS, caption: str | None = None,
         columns: Sequence[str] | None = None) -> HTMLView:
    """Display ``frame`` in full text in a notebook: ``show(session.sentences())`` as a cell's last line."""
    return HTMLView(frame_html(frame, max_rows=max_rows, caption=caption, columns=columns))


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else html.escape(str(value))


def mindmap_html(nodes: Sequence[MindMapNode]) -> str:
    """The mind map (``summaries.mindmap_tree``) as nested ``<ul>`` lists ("" when empty)."""
    if not nodes:
        return ""
    items = "".join(f"<li>{_text(n.title)}{mindmap_html(n.children)}</li>" for n in nodes)
    return f'<ul class="tingwu-mindmap">{items}</ul>'


def summary_html(summary: pd.DataFrame, speaker_summaries: pd.DataFrame | None = None,
                 qa: pd.DataFrame | None = None, mindmap: Sequence[MindMapNode] = ()) -> str:
    """Title, paragraph summary, per-speaker summaries, Q&A and the mind map as one HTML block.

    Frames are ``SUMMARY_COLUMNS``, ``SPEAKER_SUMMARY_COLUMNS`` and ``QA_COLUMNS``; ``mindmap``
    is ``summaries.mindmap_tree(doc)``. Parts without data are left out.
    """
    parts = [STYLE, '<div class="tingwu-summary">']
    for row in summary.itertuples(index=False):
        if row.title:
            parts.append(f"<h3>{_text(row.title)}</h3>")
        if row.overview:
            parts.append(f'<p class="tingwu-text">{_text(row.overview)}</p>')
        if row.details:
            parts.append(f'<p class="tingwu-text">{_text(row.details)}</p>')
    if speaker_summaries is not None and len(speaker_summaries):
        colors = speaker_colors(speaker_summaries["speaker_id"].dropna().unique())
        parts.append("<h4>Per speaker</h4><ul>")
        for row in speaker_summaries.itertuples(index=False):
            name = row.speaker_name or f"Speaker {row.speaker_id}"
            dot = (f'<span class="tingwu-speaker" style="background:{colors[row.speaker_id]}"></span>'
                   if row.speaker_id in colors else "")
            parts.append(f'<li class="tingwu-text">{dot}<b>{_text(name)}</b>: {_text(row.summary)}</li>')
        parts.append("</ul>")
    if qa is not None and len(qa):
        parts.append("<h4>Questions and answers</h4><dl>")
        for row in qa.itertuples(index=False):
            parts.append(f'<dt class="tingwu-text"><b>Q: {_text(row.question)}</b></dt>'
                         f'<dd class="tingwu-text">A: {_text(row.answer)}</dd>')
        parts.append("</dl>")
    if mindmap:
        parts.append("<h4>Mind map</h4>" + mindmap_html(mindmap))
    parts.append("</div>")
    return redact_text("\n".join(parts))
