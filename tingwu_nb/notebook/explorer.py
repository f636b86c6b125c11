"""The results explorer: every table and summary of a session in tabs, figures and the mp3 included.

``explore(session)`` returns an ipywidgets VBox (class ``tingwu-explorer``): a header with the
task's facts and a Tab with one tab per kind of result the session has — Sentences, Speakers,
Translations, Chapters, Keywords & actions, Summary, Inspection, Custom prompt, Other tables,
Plots (PNG figures of :mod:`tingwu_nb.notebook.plots`) and Audio (the transcoded mp3, playable)
— tabs without data are left out. Display it as a cell's last value. Tables show their full text
and at most ``max_rows`` rows; call :func:`tingwu_nb.notebook.display.show` on
``session.<table>()`` for more. The widget holds HTML and PNG bytes only (no live objects), so
the saved notebook stays the size of what is shown.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import pandas as pd

from tingwu_nb.notebook import plots
from tingwu_nb.notebook.display import STYLE, frame_html, summary_html
from tingwu_nb.redaction import redact_text
from tingwu_nb.results.summaries import mindmap_tree

__all__ = ["EXPLORER_CLASS", "explore", "mp3_files", "session_plots"]

EXPLORER_CLASS = "tingwu-explorer"
#: Tables shown in their own tabs; every other non-empty table goes to "Other tables".
_OWN_TABS = {"sentences", "speakers", "identities", "translations", "chapters", "keywords", "key_sentences",
             "actions", "classifications", "summary", "speaker_summaries", "qa", "mindmap", "mindmap_edges",
             "inspection", "custom_prompt", "words"}


def mp3_files(session: Any) -> list[Path]:
    """The transcoded mp3 files the session downloaded (``results/*.mp3``), sorted."""
    return sorted((Path(session.directory) / "results").glob("*.mp3"))


def _latencies(session: Any) -> pd.DataFrame:
    """Live sentences with ``latency_s`` (empty when the session kept no events or frames)."""
    try:
        return session.live_sentences()
    except (FileNotFoundError, ValueError, KeyError):
        return pd.DataFrame({"latency_s": []})


def session_plots(session: Any, tables: dict[str, pd.DataFrame] | None = None) -> dict[str, bytes]:
    """``{title: PNG bytes}`` for every plot the session has data for, in reading order."""
    t = tables if tables is not None else session.tables()
    chosen: list[tuple[str, Callable[..., Any], pd.DataFrame, dict[str, Any]]] = [
        ("Who spoke when", plots.speaker_timeline, t["sentences"], {}),
        ("Talk time share", plots.talk_time_share, t["speakers"], {}),
        ("Speaking rate", plots.speaking_rate, t["words"] if len(t["words"]) else t["sentences"], {}),
        ("Chapters", plots.chapter_timeline, t["chapters"], {"sentences": t["sentences"]}),
        ("Keywords", plots.keyword_weights, t["keywords"], {}),
        ("Inspection", plots.inspection_scores, t["inspection"], {}),
        ("Sentence latency", plots.latency_distribution, _latencies(session), {})]
    return {title: plots.render_png(plot, frame, **kw) for title, plot, frame, kw in chosen if len(frame)
            and (plot is not plots.latency_distribution or frame["latency_s"].notna().any())}


def _html(markup: str) -> widgets.HTML:
    return widgets.HTML(value=markup)


def _tables(frames: list[tuple[str, pd.DataFrame]], max_rows: int) -> widgets.HTML | None:
    shown = [(caption, frame) for caption, frame in frames if len(frame)]
    if not shown:
        return None
    return _html(STYLE + "".join(frame_html(f, max_rows=max_rows, caption=c, style=False) for c, f in shown))


def _translations(t: dict[str, pd.DataFrame]) -> pd.DataFrame:
    frame = t["translations"]
    languages = [c for c in frame.columns if c not in ("sentence_id", "start_s", "end_s")]
    if not len(frame) or not languages or frame[languages].isna().all().all():
        return frame.iloc[0:0]
    text = t["sentences"][["sentence_id", "speaker_id", "text"]]
    return frame.merge(text, on="sentence_id", how="left")[["sentence_id", "speaker_id", "start_s", "text",
                                                             *languages]]


def _header(session: Any, t: dict[str, pd.DataFrame]) -> widgets.HTML:
    duration = (session.meta.get("audio") or {}).get("duration_s")
    facts = pd.DataFrame([{"task": session.task_id or "—", "status": session.status,
                           "duration": "—" if duration is None else f"{float(duration):.1f} s",
                           "sentences": len(t["sentences"]), "speakers": len(t["speakers"])}])
    title = t["summary"]["title"].dropna().tolist() if len(t["summary"]) else []
    return _html(redact_text(frame_html(facts, caption=title[0] if title else "Tingwu session")))


def explore(session: Any, max_rows: int = 200, figures: bool = True) -> widgets.VBox:
    """Every result of ``session`` (a :class:`~tingwu_nb.session.recording.Session`) in tabs.

    ``max_rows`` limits each table; ``figures=False`` skips the Plots tab (rendering the figures
    takes a second or two). Returns the root widget (class ``tingwu-explorer``); display it.
    """
    t = session.tables()
    tabs: list[tuple[str, widgets.Widget | None]] = [
        ("Sentences", _tables([("Sentences", t["sentences"])], max_rows)),
        ("Speakers", _tables([("Speakers", t["speakers"]), ("Identities", t["identities"])], max_rows)),
        ("Translations", _tables([("Translations", _translations(t))], max_rows)),
        ("Chapters", _tables([("Chapters", t["chapters"])], max_rows)),
        ("Keywords & actions", _tables([("Keywords", t["keywords"]), ("Key sentences", t["key_sentences"]),
                                        ("Actions", t["actions"]), ("Scene", t["classifications"])], max_rows)),
    ]
    tree = mindmap_tree(session.result("Summarization"))
    if len(t["summary"]) or len(t["speaker_summaries"]) or len(t["qa"]) or tree:
        tabs.append(("Summary", _html(summary_html(t["summary"], t["speaker_summaries"], t["qa"], tree))))
    tabs += [("Inspection", _tables([("Inspection", t["inspection"])], max_rows)),
             ("Custom prompt", _tables([("Custom prompt", t["custom_prompt"])], max_rows)),
             ("Other tables", _tables([(name.replace("_", " ").capitalize(), frame) for name, frame in t.items()
                                       if name not in _OWN_TABS], max_rows))]
    if figures:
        images = [widgets.VBox([_html(f"<b>{title}</b>"), widgets.Image(value=png, format="png")])
                  for title, png in session_plots(session, t).items()]
        tabs.append(("Plots", widgets.VBox(images) if images else None))
    audio = [widgets.VBox([_html(f"<code>{path.name}</code>"),
                           widgets.Audio(value=path.read_bytes(), format="mp3", autoplay=False, loop=False)])
             for path in mp3_files(session)]
    tabs.append(("Audio", widgets.VBox(audio) if audio else None))
    kept = [(title, child) for title, child in tabs if child is not None]
    tab = widgets.Tab(children=[child for _, child in kept], titles=tuple(title for title, _ in kept))
    root = widgets.VBox([_header(session, t), tab])
    root.add_class(EXPLORER_CLASS)
    return root
