"""Axes-level plots of a session's result tables: ``f(df, ax=None, **kw) -> Axes``.

Each function takes a frame of :data:`tingwu_nb.results.catalog.TABLES` (as the ``Session``
accessors return it), draws on ``ax`` (a new figure when None) and returns the Axes, so the
caller can set titles, limits or save the figure. Global rcParams are never changed; text gets a
CJK-capable font family (:mod:`tingwu_nb.notebook.fonts`). An empty frame gives an Axes saying
"no data" instead of an exception. Speaker colours come from :func:`speaker_colors`, so a
speaker has the same colour in every plot (and in the live view). :func:`render_png` draws one
plot on its own figure and returns PNG bytes (for the explorer and reports).
"""

from __future__ import annotations

import io
import math
import re
import unicodedata
import zlib
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, MultipleLocator

from tingwu_nb.notebook.fonts import apply_fonts

__all__ = [
    "PALETTE", "chapter_timeline", "inspection_scores", "keyword_weights", "latency_distribution",
    "render_png", "speaker_colors", "speaker_label", "speaking_rate", "speaker_timeline", "talk_time_share",
]

#: Colour-blind-safe (Okabe-Ito + extras); speaker "1" gets the first colour, "2" the second...
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#6A3D9A",
           "#8C564B", "#17BECF")
NO_SPEAKER = "#9E9E9E"
PASS, FAIL, UNKNOWN = "#2E7D32", "#C62828", "#9E9E9E"
_CJK = re.compile("[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_FONT = 10
_TICK_STEPS = (10, 15, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 14400)


def speaker_colors(ids: Iterable[Any]) -> dict[Any, str]:
    """``{speaker_id: "#rrggbb"}``: numeric ids by their number, others by a stable hash; None grey."""
    out: dict[Any, str] = {}
    for sid in ids:
        if sid is None or (isinstance(sid, float) and math.isnan(sid)):
            out[sid] = NO_SPEAKER
            continue
        text = str(sid).strip()
        n = int(text) - 1 if text.isdigit() and int(text) > 0 else zlib.crc32(text.encode())
        out[sid] = PALETTE[n % len(PALETTE)]
    return out


def speaker_label(sid: Any) -> str:
    """How a speaker id is shown: "Speaker 1", or "(no speaker)"."""
    return "(no speaker)" if sid is None or (isinstance(sid, float) and math.isnan(sid)) else f"Speaker {sid}"


def _axes(ax: Axes | None, size: tuple[float, float]) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt  # only when the caller wants a new figure shown by pyplot

    return plt.subplots(figsize=size, layout="constrained")[1]


def _finish(ax: Axes, title: str, xlabel: str | None = None, ylabel: str | None = None) -> Axes:
    ax.set_title(title, fontsize=_FONT + 2, loc="left")
    if xlabel is not None:
        ax.set_xlabel(xlabel, fontsize=_FONT)
    if ylabel is not None:
        ax.set_ylabel(ylabel, fontsize=_FONT)
    ax.tick_params(labelsize=_FONT - 1)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return apply_fonts(ax)


def _no_data(ax: Axes, title: str, what: str = "no data") -> Axes:
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.text(0.5, 0.5, what, ha="center", va="center", fontsize=_FONT + 2, color="#757575", transform=ax.transAxes)
    return _finish(ax, title)


def _clock(seconds: float, _pos: Any = None) -> str:
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _time_axis(ax: Axes, extent: float) -> str:
    """Minutes:seconds ticks for a long axis, plain seconds below 20 s; returns the axis label."""
    if extent < 20:
        return "time (s)"
    step = next((s for s in _TICK_STEPS if extent / s <= 8), _TICK_STEPS[-1])
    ax.xaxis.set_major_formatter(FuncFormatter(_clock))
    ax.xaxis.set_major_locator(MultipleLocator(step))
    return "time (h:mm:ss)" if extent > 3600 else "time (m:ss)"


def _columns(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _wrap(text: Any, width: int, max_lines: int = 3) -> str:
    """``text`` wrapped to ``width`` columns (a CJK character counts two, and may end a line),
    at most ``max_lines`` lines, the last one ending in "…" when text was left out."""
    tokens = re.findall(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\uffef]|[^\s\u2e80-\u9fff\uac00-\ud7af\uf900-\uffef]+|\s+",
                        " ".join(str(text or "").split()))
    lines, line = [], ""
    for token in tokens:
        if _columns(line + token) > width and line.strip():
            lines.append(line.rstrip())
            line = token.lstrip()
        else:
            line += token
        while _columns(line) > width:  # one long word
            cut = next(i for i in range(1, len(line) + 1) if _columns(line[:i]) > width) - 1
            lines.append(line[:max(cut, 1)])
            line = line[max(cut, 1):]
    lines.append(line.rstrip())
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][:-1].rstrip() + "…"
    return "\n".join(lines)


def _speakers_in(frame: pd.DataFrame) -> list[Any]:
    ids = list(dict.fromkeys(frame["speaker_id"].tolist()))
    return sorted((i for i in ids if i is not None), key=lambda i: (len(str(i)), str(i))) + \
        [i for i in ids if i is None][:1]


def speaker_timeline(sentences: pd.DataFrame, ax: Axes | None = None, **kw: Any) -> Axes:
    """Who spoke when: one row per speaker, one bar per sentence (``SENTENCE_COLUMNS``)."""
    title = kw.pop("title", "Who spoke when")
    frame = sentences.dropna(subset=["start_s", "end_s"]) if len(sentences) else sentences
    speakers = _speakers_in(frame) if len(frame) else []
    ax = _axes(ax, (10, 1.2 + 0.5 * max(1, len(speakers))))
    if not len(frame):
        return _no_data(ax, title)
    colors = speaker_colors(speakers)
    for row, sid in enumerate(speakers):
        mine = frame[frame["speaker_id"].isna()] if sid is None else frame[frame["speaker_id"] == sid]
        spans = list(zip(mine["start_s"], (mine["end_s"] - mine["start_s"]).clip(lower=0.05)))
        ax.broken_barh(spans, (row - 0.35, 0.7), facecolors=colors[sid], edgecolor="white",
                       linewidth=0.3 if len(frame) < 200 else 0)
    ax.set_yticks(range(len(speakers)), [speaker_label(s) for s in speakers])
    ax.set_ylim(len(speakers) - 0.5, -0.5)
    extent = float(frame["end_s"].max())
    ax.set_xlim(0, extent * 1.01)
    xlabel = _time_axis(ax, extent)
    ax.grid(axis="x", color="#E0E0E0", linewidth=0.6)
    ax.set_axisbelow(True)
    return _finish(ax, title, xlabel)


def talk_time_share(speakers: pd.DataFrame, ax: Axes | None = None, kind: str = "bar", **kw: Any) -> Axes:
    """Talk time per speaker (``SPEAKER_COLUMNS``) as horizontal bars (or ``kind="pie"``), in percent."""
    title = kw.pop("title", "Talk time share")
    frame = speakers[speakers["talk_time_s"] > 0] if len(speakers) else speakers
    ax = _axes(ax, (7, 1.2 + 0.45 * max(1, len(frame))) if kind == "bar" else (5, 5))
    if not len(frame):
        return _no_data(ax, title)
    ids = frame["speaker_id"].tolist()
    colors = speaker_colors(ids)
    share = frame["talk_time_s"] / frame["talk_time_s"].sum() * 100
    labels = [speaker_label(s) for s in ids]
    if kind == "pie":
        ax.pie(share, labels=labels, colors=[colors[s] for s in ids], autopct="%.0f%%", startangle=90,
               counterclock=False, wedgeprops={"edgecolor": "white"}, textprops={"fontsize": _FONT})
        ax.set_aspect("equal")
        return _finish(ax, title)
    bars = ax.barh(labels, share, color=[colors[s] for s in ids])
    for bar, pct, secs in zip(bars, share, frame["talk_time_s"]):
        ax.text(bar.get_width() + 1, bar.get_y() + bar.get_height() / 2, f"{pct:.0f}%  ({_clock(secs)})",
                va="center", fontsize=_FONT - 1)
    ax.set_xlim(0, min(100, share.max() * 1.35 + 5))
    ax.invert_yaxis()
    return _finish(ax, title, "share of talk time (%)")


def _units(text: str) -> tuple[int, int]:
    words = len(text.split())
    return words, len(_CJK.findall(text))


def _rate_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Per sentence: speaker, start, end, words and CJK characters (from sentences or words)."""
    if "word_id" in frame.columns:  # a words frame: one sentence per sentence_id
        text = frame.groupby("sentence_id", sort=False)["text"].agg(lambda t: " ".join(str(x or "") for x in t))
        agg = frame.groupby("sentence_id", sort=False).agg(speaker_id=("speaker_id", "first"),
                                                            start_s=("start_s", "min"), end_s=("end_s", "max"))
        agg["text"], agg["word_count"] = text, frame.groupby("sentence_id", sort=False).size()
        frame = agg.reset_index()
    counts = np.array([_units(str(t or "")) for t in frame["text"]], dtype=float).reshape(-1, 2)
    return pd.DataFrame({"speaker_id": frame["speaker_id"].to_numpy(object), "start_s": frame["start_s"],
                         "end_s": frame["end_s"], "words": frame.get("word_count", counts[:, 0]),
                         "chars": counts[:, 1]}).dropna(subset=["start_s", "end_s"])


def speaking_rate(words_or_sentences: pd.DataFrame, ax: Axes | None = None, window_s: float = 30.0,
                  unit: str = "auto", **kw: Any) -> Axes:
    """Speaking rate over time per speaker: units per minute of that speaker's speech in a window.

    ``window_s``: width of the centred window. ``unit``: "words", "chars" (for Chinese/Japanese)
    or "auto" (chars when most text is CJK). Takes a words or a sentences frame.
    """
    title = kw.pop("title", "Speaking rate")
    ax = _axes(ax, (10, 3.6))
    rows = _rate_rows(words_or_sentences) if len(words_or_sentences) else pd.DataFrame()
    rows = rows[rows["end_s"] > rows["start_s"]] if len(rows) else rows
    if not len(rows):
        return _no_data(ax, title)
    if unit == "auto":
        unit = "chars" if rows["chars"].sum() > rows["words"].sum() else "words"
    count = rows["chars"] if unit == "chars" else rows["words"]
    colors = speaker_colors(_speakers_in(rows))
    half = window_s / 2
    for sid in _speakers_in(rows):
        mine = rows[rows["speaker_id"].isna()] if sid is None else rows[rows["speaker_id"] == sid]
        mid = ((mine["start_s"] + mine["end_s"]) / 2).to_numpy()
        dur, n = (mine["end_s"] - mine["start_s"]).to_numpy(), count[mine.index].to_numpy(dtype=float)
        rate = [n[(mid >= t - half) & (mid <= t + half)].sum() / dur[(mid >= t - half) & (mid <= t + half)].sum()
                * 60 for t in mid]
        ax.plot(mid, rate, marker="o" if len(mid) < 60 else None, markersize=3.5, linewidth=1.4, color=colors[sid],
                label=speaker_label(sid))
    xlabel = _time_axis(ax, float(rows["end_s"].max()))
    ax.set_ylim(bottom=0)
    ax.grid(color="#E0E0E0", linewidth=0.6)
    ax.legend(fontsize=_FONT - 1, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    per = "characters" if unit == "chars" else "words"
    return _finish(ax, f"{title} ({per} per minute, {window_s:g} s window)", xlabel, f"{per} / min")


def chapter_timeline(chapters: pd.DataFrame, sentences: pd.DataFrame | None = None, ax: Axes | None = None,
                     width: int = 34, **kw: Any) -> Axes:
    """Chapters on the time axis: one row per chapter, its headline (wrapped) as the row label.

    With ``sentences``, a top row shows the speech itself in speaker colours. ``width``: the
    headline's wrap width in columns (a CJK character counts two).
    """
    title = kw.pop("title", "Chapters")
    frame = chapters.dropna(subset=["start_s", "end_s"]) if len(chapters) else chapters
    labels = _chapter_labels(frame, width)
    ax = _axes(ax, _chapter_size(labels, sentences is not None))
    if not len(frame):
        return _no_data(ax, title)
    rows = list(range(len(frame)))
    offset = 0
    if sentences is not None and len(sentences):
        offset = 1
        said = sentences.dropna(subset=["start_s", "end_s"])
        colors = speaker_colors(_speakers_in(said))
        ax.broken_barh(list(zip(said["start_s"], (said["end_s"] - said["start_s"]).clip(lower=0.05))), (-0.3, 0.6),
                       facecolors=[colors[s] for s in said["speaker_id"]], linewidth=0)
    extent = float(np.nanmax([frame["end_s"].max()] + ([sentences["end_s"].max()] if offset else [])))
    for row, (start, end) in zip(rows, zip(frame["start_s"], frame["end_s"])):
        color = PALETTE[row % len(PALETTE)]
        ax.broken_barh([(start, max(end - start, 0.05))], (row + offset - 0.35, 0.7), facecolors=color, alpha=0.85)
        span = f"{_clock(start)}–{_clock(end)}"
        inside = (end - start) / extent >= 0.012 * len(span) if extent > 0 else False
        ax.text(start if inside else end, row + offset, f" {span}", va="center", ha="left", fontsize=_FONT - 1,
                color="white" if inside else "#424242")
    ax.set_yticks(range(len(rows) + offset), (["speech"] if offset else []) + labels, fontsize=_FONT)
    ax.set_ylim(len(rows) + offset - 0.5, -0.5)
    ax.set_xlim(0, extent * 1.01)
    xlabel = _time_axis(ax, extent)
    ax.grid(axis="x", color="#E0E0E0", linewidth=0.6)
    ax.set_axisbelow(True)
    return _finish(ax, title, xlabel)


def _chapter_labels(frame: pd.DataFrame, width: int) -> list[str]:
    return [_wrap(f"{cid}. {h}", width) for cid, h in zip(frame.get("chapter_id", []), frame.get("headline", []))]


def _chapter_size(labels: list[str], speech: bool) -> tuple[float, float]:
    lines = sum(label.count("\n") + 1 for label in labels) + speech
    return 10, 1.0 + 0.2 * lines + 0.25 * (len(labels) + speech)


def keyword_weights(keywords: pd.DataFrame, ax: Axes | None = None, top: int = 20, **kw: Any) -> Axes:
    """The ``top`` keywords (``KEYWORD_COLUMNS``) as ranked horizontal bars, best on top.

    Bars show ``score`` when the file has one, else a rank weight (``top`` for rank 1 down to 1).
    """
    title = kw.pop("title", "Keywords")
    frame = keywords.sort_values("rank").head(top) if len(keywords) else keywords
    ax = _axes(ax, (7, 1.2 + 0.32 * max(1, len(frame))))
    if not len(frame):
        return _no_data(ax, title)
    scored = frame["score"].notna().all()
    weight = frame["score"] if scored else len(frame) + 1 - frame["rank"].rank(method="first")
    ax.barh(range(len(frame)), weight, color=PALETTE[0], height=0.7)
    ax.set_yticks(range(len(frame)), [_wrap(k, 30) for k in frame["keyword"]])
    ax.set_ylim(len(frame) - 0.5, -0.5)
    if not scored:
        ax.set_xticks([])
    return _finish(ax, title, "score" if scored else "rank (the file gives no scores)")


def inspection_scores(inspection: pd.DataFrame, ax: Axes | None = None, **kw: Any) -> Axes:
    """Score per inspected dimension (``INSPECTION_COLUMNS``): green passed, red failed, grey unknown."""
    title = kw.pop("title", "Inspection")
    frame = inspection
    ax = _axes(ax, (8, 1.3 + 0.5 * max(1, len(frame))))
    if not len(frame):
        return _no_data(ax, title)
    scores = frame["score"].fillna(0.0).astype(float)
    verdicts = [None if pd.isna(p) else bool(p) for p in frame["passed"]]
    colors = [UNKNOWN if v is None else PASS if v else FAIL for v in verdicts]
    ax.barh(range(len(frame)), scores, color=colors, height=0.65)
    top = max(1.0, float(scores.max()))
    for row, (score, verdict) in enumerate(zip(frame["score"], verdicts)):
        tag = "?" if verdict is None else "pass" if verdict else "fail"
        value = "–" if pd.isna(score) else f"{score:g}"
        ax.text(max(float(scores.iloc[row]), 0) + top * 0.01, row, f"{value}  {tag}", va="center",
                fontsize=_FONT - 1, color=colors[row])
    ax.set_yticks(range(len(frame)), [_wrap(d, 28) for d in frame["dimension"]])
    ax.set_ylim(len(frame) - 0.5, -0.5)
    ax.set_xlim(0, top * 1.2)
    if top == 1.0:
        ax.set_xticks(np.linspace(0, 1, 6))
    return _finish(ax, title, "score")


def latency_distribution(latencies: pd.DataFrame, ax: Axes | None = None, bins: Any = "auto", **kw: Any) -> Axes:
    """Histogram of per-sentence latency (a frame with ``latency_s``, e.g. ``session.live_sentences()``)
    with the median and 90th percentile marked."""
    title = kw.pop("title", "Sentence latency")
    ax = _axes(ax, (7, 3.4))
    values = pd.to_numeric(latencies["latency_s"], errors="coerce").dropna() if len(latencies) else pd.Series([])
    if not len(values):
        return _no_data(ax, title)
    ax.hist(values, bins=bins, color=PALETTE[4], edgecolor="white")
    for q, name, style in ((0.5, "median", "-"), (0.9, "p90", "--")):
        x = float(values.quantile(q))
        ax.axvline(x, color="#37474F", linestyle=style, linewidth=1.4, label=f"{name} {x:.2f} s")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=_FONT - 1, frameon=False, loc="best")
    return _finish(ax, f"{title} ({len(values)} sentences)", "latency (s)", "sentences")


def render_png(plot: Callable[..., Axes], frame: pd.DataFrame, *args: Any, dpi: int = 100,
               size: tuple[float, float] | None = None, **kw: Any) -> bytes:
    """Draw ``plot(frame, *args, ax=..., **kw)`` on a new figure (no pyplot) and return PNG bytes.

    ``size`` defaults to the size the plot would pick itself. The figure is not kept anywhere.
    """
    fig = Figure(figsize=size or _natural_size(plot, frame, *args, **kw), layout="constrained")
    plot(frame, *args, ax=fig.add_subplot(), **kw)
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=dpi, facecolor="white")
    return out.getvalue()


def _natural_size(plot: Callable[..., Axes], frame: pd.DataFrame, *args: Any, **kw: Any) -> tuple[float, float]:
    rows = len(frame)
    if plot is speaker_timeline:
        return 10, 1.2 + 0.5 * max(1, frame["speaker_id"].nunique(dropna=False) if rows else 1)
    if plot is chapter_timeline:
        return _chapter_size(_chapter_labels(frame, kw.get("width", 34)), kw.get("sentences") is not None)
    if plot is keyword_weights:
        return 7, 1.2 + 0.32 * max(1, min(rows, kw.get("top", 20)))
    if plot is talk_time_share:
        return (5, 5) if kw.get("kind") == "pie" else (7, 1.2 + 0.45 * max(1, rows))
    if plot is inspection_scores:
        return 8, 1.3 + 0.5 * max(1, rows)
    return (10, 3.6) if plot is speaking_rate else (7, 3.4)
