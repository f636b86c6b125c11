"""A session as one standalone HTML file: transcript, results and figures, secrets redacted.

    path = write_report(session, "meeting.html")     # open it in any browser, offline

The file has no external resource at all (inline CSS, figures as base64 PNG ``data:`` URIs, no
script, no link to fetch) and every text goes through :func:`tingwu_nb.redaction.redact_text`:
no AccessKey secret, STS token, join URL ``mc`` token or presigned-URL signature can appear,
even one planted inside a result file. Sections with nothing to show are left out; a figure
that cannot be drawn is replaced by a one-line note (:mod:`tingwu_nb.report.figures`).
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterable
from datetime import datetime, timezone
from html import escape
from pathlib import Path
from typing import Any

import pandas as pd

from tingwu_nb.redaction import redact_text
from tingwu_nb.report.figures import Figure, render_figures
from tingwu_nb.results.exports import timecode

__all__ = ["known_secrets", "render_html", "write_report"]

#: Speaker colours (colour-blind-safe Okabe-Ito order, darkened for text on white).
PALETTE = ("#0b6fa4", "#c25e00", "#008a66", "#b0467f", "#6b5b00", "#4a4ab0", "#a33b2a", "#2f6f3a")
_IMAGE = "\x00IMG{}\x00"
#: The speaker table's columns in the report (the frame has more; see results.SPEAKER_COLUMNS).
SPEAKER_COLUMNS = ("speaker_id", "talk_time_s", "talk_share", "turns", "sentence_count", "word_count",
                   "words_per_minute")

CSS = """
body{font:15px/1.5 system-ui,"Segoe UI","Noto Sans","WenQuanYi Micro Hei",sans-serif;margin:0;
color:#1d2430;background:#f6f7f9}
main{max-width:980px;margin:0 auto;padding:24px 28px 60px;background:#fff}
h1{font-size:26px;margin:0 0 6px}h2{font-size:19px;margin:34px 0 10px;border-bottom:2px solid #e4e7ec;
padding-bottom:4px}h3{font-size:16px;margin:18px 0 6px}
.meta{color:#536071;margin:0 0 8px}.meta b{color:#1d2430}
table{border-collapse:collapse;width:100%;margin:6px 0 12px;font-size:14px}
th,td{border-bottom:1px solid #e4e7ec;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f1f3f6;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
.tw{overflow-x:auto;max-width:100%}td{overflow-wrap:anywhere}
.tx{display:grid;grid-template-columns:88px 110px 1fr;gap:2px 10px;font-size:14px}
.tx .tc{color:#6a7585;font-variant-numeric:tabular-nums}.tx .sp{font-weight:600}
.tx .tr{grid-column:3;color:#4d5a6b;font-style:italic;margin:-2px 0 4px}
.tx .tr span{font-style:normal;font-size:11px;color:#8792a2;margin-right:6px}
figure{margin:14px 0 22px}figure img{max-width:100%;height:auto;border:1px solid #eef0f3}
figcaption{color:#536071;font-size:13px}.note{color:#8792a2;font-size:13px}
.chip{display:inline-block;background:#eef3f8;border-radius:10px;padding:1px 9px;margin:2px 4px 2px 0;
font-size:13px}.mm ul{margin:2px 0 2px 18px;padding:0}.qa dt{font-weight:600;margin-top:8px}
.qa dd{margin:2px 0 6px 18px}footer{margin-top:40px;color:#8792a2;font-size:12px}
"""


def known_secrets() -> list[str]:
    """The secrets this process knows: the configured AccessKey secret and STS token, and the
    keys and tokens of this process's embedded emulator when one runs. Redacted from reports."""
    found: list[str] = []
    try:
        from tingwu_nb.config import resolve_credentials

        credentials = resolve_credentials()
    except Exception:  # noqa: BLE001 - an unreadable config file must not stop a report
        credentials = None
    if credentials is not None:
        found += [credentials.access_key_secret, credentials.security_token or ""]
    from tingwu_nb.session.connect import embedded_emulator

    if embedded_emulator.cache_info().currsize:
        config = getattr(embedded_emulator(), "config", None)
        found += list(getattr(config, "keys", {}).values()) + list(getattr(config, "sts_tokens", {}).values())
    return [s for s in found if s]


def write_report(session: Any, path: str | os.PathLike[str], *, title: str | None = None,
                 secrets: Iterable[str | None] = (), emulator: Any = None) -> Path:
    """Write ``session`` (a :class:`~tingwu_nb.session.recording.Session`) as one HTML file.

    ``secrets``: extra strings to mask besides :func:`known_secrets`; ``emulator``: the emulator
    that served it (or a ``{label: value}`` description), for the engine models in the
    provenance. Returns the path written (parent folders are created).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(session, title=title, secrets=secrets, emulator=emulator), encoding="utf-8")
    return path


def render_html(session: Any, *, title: str | None = None, secrets: Iterable[str | None] = (),
                emulator: Any = None) -> str:
    """The report of :func:`write_report` as a string."""
    secrets = [*known_secrets(), *secrets]
    tables = dict(session.tables())
    try:
        tables["live_sentences"] = session.live_sentences()
    except (FileNotFoundError, KeyError, ValueError):
        tables["live_sentences"] = pd.DataFrame()
    tables = {name: _redacted(frame, secrets) for name, frame in tables.items()}
    summary = tables.get("summary", pd.DataFrame())
    heading = title or (str(summary["title"].iloc[0]) if len(summary) and summary["title"].iloc[0] else "")
    heading = heading or "Tingwu session"
    figures = render_figures(tables)
    colours = _colours(tables["sentences"])
    body = "".join(part for part in (
        _header(session, heading, tables),
        _section("Summary", _summary(tables)),
        _section("Speakers", _table(tables.get("speakers"), SPEAKER_COLUMNS)),
        _section("Figures", "".join(_figure(n, f) for n, f in enumerate(figures))),
        _section("Chapters", _chapters(tables.get("chapters"))),
        _section("Keywords and actions", _assistance(tables)),
        _section("Inspection", _table(tables.get("inspection"))),
        _section("Custom prompt", _custom(tables.get("custom_prompt"))),
        _section("Speaker identities and extracted content",
                 _table(tables.get("identities")) + _table(tables.get("extractions"))),
        _section("Transcript", _transcript(tables["sentences"], tables.get("translations"), colours)),
        _section("Provenance", _provenance(session, emulator)),
    ))
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    page = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(heading)}</title><style>{CSS}</style></head><body><main>{body}"
            f"<footer>Written by tingwu_nb on {stamp}. Secrets, join-URL tokens and URL signatures "
            f"are redacted.</footer></main></body></html>\n")
    page = redact_text(page, secrets)  # again over the page, as a whole
    for n, figure in enumerate(figures):  # images go in after redaction: base64 is not text to mask
        if figure.png is not None:
            page = page.replace(_IMAGE.format(n), base64.b64encode(figure.png).decode("ascii"))
    return page


def _provenance(session: Any, emulator: Any = None) -> str:
    """Package versions, endpoint, engine models and audio fingerprint (report.provenance)."""
    from tingwu_nb.report.provenance import provenance, provenance_rows

    rows = pd.DataFrame(provenance_rows(provenance(sessions=[session], emulator=emulator)),
                        columns=["section", "name", "value"])
    return _table(rows)


def _redacted(frame: pd.DataFrame, secrets: list[str]) -> pd.DataFrame:
    """``frame`` with every text cell redacted (before HTML escaping, which would hide URL queries)."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object:
            out[column] = [redact_text(v, secrets) if isinstance(v, str) else v for v in out[column]]
    return out


def _colours(sentences: pd.DataFrame) -> dict[str, str]:
    speakers = list(dict.fromkeys(str(s) for s in sentences.get("speaker_id", []) if s is not None))
    return {s: PALETTE[n % len(PALETTE)] for n, s in enumerate(speakers)}


def _section(heading: str, content: str) -> str:
    return f"<section><h2>{escape(heading)}</h2>{content}</section>" if content else ""


def _header(session: Any, heading: str, tables: dict[str, pd.DataFrame]) -> str:
    audio = session.meta.get("audio") or {}
    duration = audio.get("duration_s")
    if duration is None and len(tables["sentences"]):
        duration = float(tables["sentences"]["end_s"].max())
    facts = [("Task", session.task_id or "—"), ("Status", session.status),
             ("Audio", f"{_clock(duration)} ({duration:.1f} s)" if duration else "—"),
             ("Sentences", str(len(tables["sentences"]))), ("Speakers", str(len(tables.get("speakers", []))))]
    request = session.meta.get("request") or {}
    language = (request.get("Input") or {}).get("SourceLanguage")
    if language:
        facts.append(("Language", language))
    line = " · ".join(f"{escape(k)} <b>{escape(str(v))}</b>" for k, v in facts)
    note = "<p class='meta'><i>Provisional: live sentences only.</i></p>" if session.provisional else ""
    return f"<h1>{escape(heading)}</h1><p class='meta'>{line}</p>{note}"


def _cell(value: Any) -> str:
    if getattr(value, "ndim", None) == 0:  # a numpy scalar
        value = value.item()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "" if pd.isna(value) else f"{value:.3g}" if abs(value) < 1 else f"{value:.1f}"
    if isinstance(value, (list, tuple)) or hasattr(value, "tolist"):
        value = ", ".join(str(v) for v in (value.tolist() if hasattr(value, "tolist") else value))
    return "" if value is None else escape(str(value))


def _table(df: pd.DataFrame | None, columns: Iterable[str] | None = None) -> str:
    if df is None or not len(df):
        return ""
    columns = [c for c in (columns or df.columns) if c in df.columns]
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    rows = []
    for record in df[columns].itertuples(index=False):
        cells = "".join(f"<td class='num'>{_cell(v)}</td>" if _numeric(v)
                        else f"<td>{_cell(v)}</td>" for v in record)
        rows.append(f"<tr>{cells}</tr>")
    return f"<div class='tw'><table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"


def _numeric(value: Any) -> bool:
    value = value.item() if getattr(value, "ndim", None) == 0 else value
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _figure(n: int, figure: Figure) -> str:
    caption = f"<figcaption>{escape(figure.caption)}</figcaption>"
    if figure.png is None:
        return f"<p class='note'>{escape(figure.caption)} — {escape(figure.note)}</p>"
    return (f"<figure><img alt='{escape(figure.caption)}' src='data:image/png;base64,{_IMAGE.format(n)}'>"
            f"{caption}</figure>")


def _clock(seconds: float) -> str:
    text = timecode(seconds, ".")[:-4]
    return text[3:] if text.startswith("00:") else text


def _span(start: float, end: float) -> str:
    return f"{_clock(start)}–{_clock(end)}"


def _transcript(sentences: pd.DataFrame, translations: pd.DataFrame | None, colours: dict[str, str]) -> str:
    if not len(sentences):
        return ""
    by_id: dict[Any, list[tuple[str, str]]] = {}
    if translations is not None and len(translations):
        languages = [c for c in translations.columns if c not in ("sentence_id", "start_s", "end_s")]
        for row in translations.itertuples(index=False):
            texts = [(lang, getattr(row, lang, None)) for lang in languages]
            by_id[row.sentence_id] = [(lang, str(t)) for lang, t in texts if isinstance(t, str) and t]
    rows = []
    for row in sentences.itertuples(index=False):
        speaker = "" if row.speaker_id is None else str(row.speaker_id)
        colour = colours.get(speaker, "#1d2430")
        rows.append(f"<div class='tc'>{_span(row.start_s, row.end_s)}</div>"
                    f"<div class='sp' style='color:{colour}'>{escape(_speaker_label(speaker))}</div>"
                    f"<div style='color:{colour}'>{escape(str(row.text))}</div>")
        rows += [f"<div class='tr'><span>{escape(lang)}</span>{escape(text)}</div>"
                 for lang, text in by_id.get(row.sentence_id, [])]
    return f"<div class='tx'>{''.join(rows)}</div>"


def _speaker_label(speaker: str) -> str:
    return f"Speaker {speaker}" if speaker and speaker.isdigit() else speaker or "—"


def _summary(tables: dict[str, pd.DataFrame]) -> str:
    parts = []
    summary = tables.get("summary")
    if summary is not None and len(summary):
        row = summary.iloc[0]
        for label, column in (("", "summary"), ("Overview", "overview"), ("Details", "details")):
            text = row.get(column)
            if isinstance(text, str) and text.strip() and (not label or text != row.get("summary")):
                heading = f"<h3>{label}</h3>" if label else ""
                parts.append(heading + "".join(f"<p>{escape(p)}</p>" for p in text.split("\n") if p.strip()))
    speakers = tables.get("speaker_summaries")
    if speakers is not None and len(speakers):
        parts.append("<h3>Per speaker</h3>" + _table(speakers))
    qa = tables.get("qa")
    if qa is not None and len(qa):
        items = "".join(f"<dt>Q: {escape(str(r.question))}</dt><dd>A: {escape(str(r.answer))}</dd>"
                        for r in qa.itertuples(index=False))
        parts.append(f"<h3>Questions and answers</h3><dl class='qa'>{items}</dl>")
    mindmap = tables.get("mindmap")
    if mindmap is not None and len(mindmap):
        parts.append("<h3>Mind map</h3><div class='mm'>" + _mindmap(mindmap) + "</div>")
    return "".join(parts)


def _mindmap(nodes: pd.DataFrame) -> str:
    """Pre-order nodes with depth as nested lists."""
    out, depth = [], 0
    for row in nodes.itertuples(index=False):
        level = int(row.depth) + 1
        while depth < level:
            out.append("<ul>")
            depth += 1
        while depth > level:
            out.append("</ul>")
            depth -= 1
        out.append(f"<li>{escape(str(row.title))}</li>")
    return "".join(out) + "</ul>" * depth


def _chapters(chapters: pd.DataFrame | None) -> str:
    if chapters is None or not len(chapters):
        return ""
    items = "".join(f"<h3>{_span(r.start_s, r.end_s)} · {escape(str(r.headline))}</h3>"
                    + (f"<p>{escape(str(r.summary))}</p>" if isinstance(r.summary, str) and r.summary else "")
                    for r in chapters.itertuples(index=False))
    return items


def _assistance(tables: dict[str, pd.DataFrame]) -> str:
    parts = []
    keywords = tables.get("keywords")
    if keywords is not None and len(keywords):
        parts.append("<h3>Keywords</h3><p>" + "".join(f"<span class='chip'>{escape(str(k))}</span>"
                                                    for k in keywords["keyword"]) + "</p>")
    for name, heading in (("key_sentences", "Key sentences"), ("actions", "Actions")):
        frame = tables.get(name)
        if frame is not None and len(frame):
            items = "".join(f"<li><span class='note'>{_span(r.start_s, r.end_s)}</span> {escape(str(r.text))}</li>"
                            for r in frame.itertuples(index=False))
            parts.append(f"<h3>{heading}</h3><ul>{items}</ul>")
    scenes = tables.get("classifications")
    if scenes is not None and len(scenes):
        parts.append("<h3>Scene</h3>" + _table(scenes))
    return "".join(parts)


def _custom(custom: pd.DataFrame | None) -> str:
    if custom is None or not len(custom):
        return ""
    return "".join(f"<h3>{escape(str(r.name))}</h3>" + "".join(f"<p>{escape(p)}</p>" for p in str(r.result).split("\n")
                                                             if p.strip())
                   for r in custom.itertuples(index=False))
