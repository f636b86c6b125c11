"""A session's compact HTML overview (what ``Session._repr_html_`` shows in Jupyter), pandas only.

Task id, status, audio duration, sentence count, the result tables the session has and its
first sentences in full (no text cut at 50 characters, line breaks kept). Everything is escaped
and passed through :func:`~tingwu_nb.redaction.redact_text`, so no join token or URL signature
shows. For every table in tabs, call ``tingwu_nb.notebook.explorer.explore(session)``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from tingwu_nb.redaction import redact_text
from tingwu_nb.results.catalog import TABLES

__all__ = ["FIRST_SENTENCES", "session_html"]

#: How many sentences the overview shows.
FIRST_SENTENCES = 10
_STYLE = ("<style>.tingwu-session td, .tingwu-session th {white-space: pre-wrap; text-align: left; "
          "vertical-align: top}</style>")


def session_html(session: Any) -> str:
    """The overview of ``session`` (a :class:`~tingwu_nb.session.recording.Session`) as HTML."""
    sentences = session.sentences()
    kinds = set(session.meta.get("results") or {})
    tables = [name for name, table in TABLES.items() if table.kind in kinds]
    duration = (session.meta.get("audio") or {}).get("duration_s")
    facts = pd.DataFrame([{
        "task": session.task_id or "—", "status": session.status,
        "duration": "—" if duration is None else f"{float(duration):.1f} s", "sentences": len(sentences),
        "result tables": ", ".join(tables) or "none"}])
    parts = [_STYLE, '<div class="tingwu-session">', "<b>Tingwu session</b>", facts.to_html(index=False, border=0)]
    if session.provisional:
        parts.append("<p><i>provisional: live sentences only, the service never confirmed them</i></p>")
    if len(sentences):
        shown = sentences.head(FIRST_SENTENCES)
        more = len(sentences) - len(shown)
        parts.append(f"<p>first {len(shown)} of {len(sentences)} sentences" + (":" if not more else
                     f" ({more} more: <code>session.sentences()</code>):") + "</p>")
        parts.append(shown.to_html(index=False, border=0, na_rep="", float_format=lambda x: f"{x:.2f}"))
    parts.append("</div>")
    return redact_text("\n".join(parts))
