"""A session as one Markdown file: transcript with speakers and timecodes, summaries, tables, provenance.

    path = write_session_markdown(session, "meeting.md")   # paste into an issue, a wiki, a PR

Every text goes through :func:`tingwu_nb.redaction.redact_text` (the configured and emulator
secrets from :func:`tingwu_nb.report.html.known_secrets` plus ``secrets``), so no AccessKey
secret, STS token, join-URL ``mc`` token or presigned signature appears. No figures (use
:func:`tingwu_nb.report.html.write_report` for those); :func:`md_table` is shared with the
experiment report.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from tingwu_nb.redaction import redact_text
from tingwu_nb.report.html import SPEAKER_COLUMNS, _span, _speaker_label, known_secrets
from tingwu_nb.report.provenance import provenance, provenance_rows

__all__ = ["md_table", "provenance_markdown", "render_session_markdown", "write_session_markdown"]

_TABLES = (("Speakers", "speakers", SPEAKER_COLUMNS), ("Chapters", "chapters", ("start_s", "end_s", "headline")),
           ("Keywords", "keywords", None), ("Actions", "actions", None), ("Inspection", "inspection", None),
           ("Speaker identities", "identities", None), ("Extracted content", "extractions", None))


def _cell(value: Any) -> str:
    if getattr(value, "ndim", None) == 0:
        value = value.item()
    if isinstance(value, float):
        text = "" if pd.isna(value) else f"{value:.3g}" if abs(value) < 1 else f"{value:.1f}"
    elif isinstance(value, (list, tuple)) or hasattr(value, "tolist"):
        text = ", ".join(str(v) for v in (value.tolist() if hasattr(value, "tolist") else value))
    else:
        text = "" if value is None else str(value)
    return " ".join(text.split()).replace("|", "\\|")


def md_table(df: pd.DataFrame | None, columns: Sequence[str] | None = None) -> str:
    """``df`` as a GitHub-flavoured Markdown table ("" when empty); ``|`` in cells is escaped."""
    if df is None or not len(df):
        return ""
    columns = [c for c in (columns or df.columns) if c in df.columns]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in df[columns].itertuples(index=False)]
    return "\n".join(lines) + "\n"


def provenance_markdown(prov: dict[str, dict[str, str]]) -> str:
    """The provenance sections of :func:`tingwu_nb.report.provenance.provenance` as a table."""
    rows = pd.DataFrame(provenance_rows(prov), columns=["section", "name", "value"])
    return md_table(rows)


def write_session_markdown(session: Any, path: str | os.PathLike[str], *, title: str | None = None,
                           secrets: Iterable[str | None] = (), emulator: Any = None) -> Path:
    """Write ``session`` as Markdown at ``path`` (parents created) and return the path.

    ``emulator``: the emulator that served it, for the engine models in the provenance.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_session_markdown(session, title=title, secrets=secrets, emulator=emulator),
                    encoding="utf-8")
    return path


def render_session_markdown(session: Any, *, title: str | None = None, secrets: Iterable[str | None] = (),
                            emulator: Any = None) -> str:
    """The Markdown of :func:`write_session_markdown` as a string."""
    secrets = [*known_secrets(), *secrets]
    tables = dict(session.tables())
    summary = tables.get("summary", pd.DataFrame())
    heading = title or (str(summary["title"].iloc[0]) if len(summary) and summary["title"].iloc[0] else "")
    heading = heading or "Tingwu session"
    sentences = tables.get("sentences", pd.DataFrame())
    parts = [f"# {heading}\n",
             f"Task **{session.task_id or '—'}** · status **{session.status}** · {len(sentences)} sentences\n"]
    if getattr(session, "provisional", False):
        parts.append("*Provisional: live sentences only.*\n")
    if len(summary):
        row = summary.iloc[0]
        texts = [(label, row.get(col)) for label, col in (("Summary", "summary"), ("Overview", "overview"),
                                                          ("Details", "details"))]
        parts += [f"## {label}\n\n{text.strip()}\n" for label, text in texts if isinstance(text, str) and text.strip()]
    qa = tables.get("qa")
    if qa is not None and len(qa):
        parts.append("## Questions and answers\n\n" + "".join(
            f"- **Q:** {r.question}\n  **A:** {r.answer}\n" for r in qa.itertuples(index=False)))
    for label, name, columns in _TABLES:
        table = md_table(tables.get(name), columns)
        if table:
            parts.append(f"## {label}\n\n{table}")
    if len(sentences):
        lines = [f"- `{_span(r.start_s, r.end_s)}` **{_speaker_label('' if r.speaker_id is None else str(r.speaker_id))}**"
                 f": {' '.join(str(r.text).split())}" for r in sentences.itertuples(index=False)]
        parts.append("## Transcript\n\n" + "\n".join(lines) + "\n")
    parts.append("## Provenance\n\n" + provenance_markdown(provenance(sessions=[session], emulator=emulator)))
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts.append(f"\n*Written by tingwu_nb on {stamp}. Secrets, join-URL tokens and URL signatures are redacted.*\n")
    return redact_text("\n".join(parts), secrets)
