"""An experiment (a run store) as one standalone HTML file or a Markdown file with PNGs beside it.

    save_references(grid, store)                       # once, so the report can show alignments
    write_experiment_report(store, "study.html")       # open offline in any browser
    write_experiment_markdown(store, "study.md")       # figures as study_figures/*.png

Sections: the grid's parameters per condition (redacted, as ``key=value``), the summary table
(error rate in % with its bootstrap interval over reference sentences in one column, n = sentences,
failures, median latency with its interval when the aggregate has one), the paired comparison
8 kHz − 16 kHz for every pair of conditions differing only in sample rate, partial-result
stability (revisions and rewritten characters per sentence, with intervals; they depend on the
sending speed, which the section names), stop -> each result
ready, the research plots
(:mod:`tingwu_nb.notebook.research_plots`) and provenance. The HTML reuses the session report's
CSS, redaction and figure embedding (:mod:`tingwu_nb.report.html`): no external resource, no
secret, join-URL token or URL signature, even one planted in the store.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from html import escape
from pathlib import Path
from typing import Any

import pandas as pd

from tingwu_nb.notebook import research_plots as rp
from tingwu_nb.notebook.timing_plots import result_ready_chart, result_ready_size
from tingwu_nb.redaction import redact_mapping, redact_text
from tingwu_nb.report.experiment_tables import (
    _PAIRED_NOTE,
    _READY_NOTE,
    _SPEAKERS_NOTE,
    _STABILITY_NOTE,
    _SUMMARY_NOTE,
    _keep,
    _speeds,
    paired_display,
    ready_display,
    speakers_display,
    stability_display,
    summary_display,
    with_interval,
)
from tingwu_nb.report.figures import Figure
from tingwu_nb.report.html import _IMAGE, CSS, _figure, _section, _table, known_secrets
from tingwu_nb.report.markdown import md_table, provenance_markdown
from tingwu_nb.report.provenance import provenance, provenance_rows
from tingwu_nb.research.grid import Grid, Reference
from tingwu_nb.research.store import RunStore
from tingwu_nb.research.timing import ready_summary, stability_summary
from tingwu_nb.session.recording import Session

__all__ = ["experiment_ready", "experiment_speakers", "experiment_stability", "experiment_summary", "paired_display", "paired_sample_rates",
           "readable_params", "ready_display", "save_references", "stability_display", "summary_display",
           "with_interval", "write_experiment_markdown", "write_experiment_report"]

REFERENCES = "references.json"
_FACTORS = ("recording", "language", "language_hints", "sample_rate", "format", "extra")
_CORE = {"language", "sample_rate", "format", "language_hints"}
#: Run-table columns the summary averages over a condition's cells (shown when any is known).
_CELL_MEANS = ("latency_first_partial_median_s", "speaker_attribution_error")


def save_references(grid: Grid, store: RunStore | str | os.PathLike) -> Path:
    """Write the grid's reference segments into the store (``references.json``) for the report's
    alignment view; :func:`tingwu_nb.cli` ``compare`` does it for you."""
    store = _store(store)
    doc = {}
    for rec in grid.recordings:
        ref = rec.reference
        segments = [list(s) for s in (ref.segments or ((0.0, 1e9, ref.text),))]
        if ref.has_speakers:  # (start, end, text, speaker): Reference.from_segments reads both
            segments = [[*seg, spk] for seg, spk in zip(segments, ref.speakers)]
        doc[rec.name] = segments
    path = store.root / REFERENCES
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def _store(store: RunStore | str | os.PathLike) -> RunStore:
    if isinstance(store, RunStore):
        return store
    if not (Path(store) / "runs.parquet").exists():
        raise FileNotFoundError(f"{store} is not a run store (no runs.parquet): run tingwu-nb compare first")
    return RunStore(store)


def readable_params(params: Mapping[str, Any]) -> str:
    """Parameters as ``key=value`` words in key order (strings bare, other values as JSON),
    secrets and URL tokens masked: ``{"diarization": True}`` -> "diarization=true"."""
    safe = redact_mapping(dict(params), known_secrets())
    return " ".join(f"{k}={v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, sort_keys=True)}"
                    for k, v in sorted(safe.items()))


def _runs(store: RunStore) -> pd.DataFrame:
    runs = store.runs()
    extra = [readable_params({k: v for k, v in json.loads(p or "{}").items() if k not in _CORE})
             for p in runs["params_json"]]
    return runs.assign(extra=extra)


def _by(runs: pd.DataFrame) -> list[str]:
    """The factors that vary (language, sample rate and format always shown)."""
    return [f for f in _FACTORS if f in ("language", "sample_rate", "format") or runs[f].astype(str).nunique() > 1]


def experiment_summary(store: RunStore | str | os.PathLike, *, level: float = 0.95, n: int = 2000) -> pd.DataFrame:
    """One row per condition: ``by...``, ``condition``, ``metric``, ``error_rate`` with
    ``error_rate_low/high`` (bootstrap over reference sentences), ``n`` (sentences), ``cells``,
    ``failed``, median final latency with its interval. The frame feeds the research plots."""
    store = _store(store)
    runs = _runs(store)
    by = _by(runs)
    agg = rp.aggregate(runs, by=by, level=level, n=n, segments=store.segments(), sentences=store.sentences())
    cells = runs.groupby(by)["condition_id"].count().rename("cells").reset_index()
    out = agg.merge(cells, on=by, how="left").rename(columns={"scored_by": "metric"})
    out["n"] = out["error_rate_n"].fillna(0).astype(int)
    extra = [c for c in _CELL_MEANS if c in runs.columns]
    if extra:  # per-cell measures without an interval of their own: the mean over the group's cells
        ok = runs[runs["status"] == "ok"].assign(**{c: lambda f, c=c: pd.to_numeric(f[c], errors="coerce")
                                                    for c in extra})
        out = out.merge(ok.groupby(by)[extra].mean().reset_index(), on=by, how="left") if len(ok) else \
            out.assign(**{c: float("nan") for c in extra})
    out.attrs["level"] = level
    return out


def _labelled(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    labels = [rp.condition_label(dict(zip(by, values))) for values in frame[by].itertuples(index=False)]
    return frame.assign(condition=labels)


def experiment_stability(store: RunStore | str | os.PathLike, *, level: float = 0.95, n: int = 2000) -> pd.DataFrame:
    """Partial-result stability per condition (:func:`tingwu_nb.research.timing.stability_summary`)
    with a ``condition`` label: revisions and rewritten characters per sentence, with intervals."""
    store = _store(store)
    runs = _runs(store)
    by = _by(runs)
    return _labelled(stability_summary(store.sentences(), runs, by, level=level, n=n), by)


def experiment_ready(store: RunStore | str | os.PathLike) -> pd.DataFrame:
    """Stop -> ready of each result file per condition (:func:`tingwu_nb.research.timing.ready_summary`)
    with a ``condition`` label; empty for a store recorded before per-result stamps existed."""
    store = _store(store)
    runs = _runs(store)
    by = _by(runs)
    return _labelled(ready_summary(store.ready(), runs, by), by)


def experiment_speakers(store: RunStore | str | os.PathLike) -> pd.DataFrame:
    """Per reference speaker error rates of every diarised condition (``RunStore.speakers()``)
    with a ``condition`` label; empty when no condition had speaker-labelled references."""
    store = _store(store)
    runs = _runs(store)
    by = _by(runs)
    table = store.speakers()
    ok = runs.loc[runs["status"] == "ok", ["condition_id", *by]]
    return _labelled(table.merge(ok, on="condition_id"), by) if len(table) else table.assign(condition=[])


def paired_sample_rates(store: RunStore | str | os.PathLike, *, level: float = 0.95) -> pd.DataFrame:
    """8 kHz − 16 kHz error rate (paired bootstrap over the same sentences) for every pair of
    finished conditions that differ only in sample rate. Columns: condition, diff, low, high, p_value."""
    store = _store(store)
    runs = _runs(store)
    ok = runs[runs["status"] == "ok"]
    keys = ["recording", "language", "language_hints", "format", "extra"]
    shown = [k for k in _by(runs) if k in keys]  # the label names what varies, like the summary's
    rows = []
    for key, group in ok.groupby(keys, sort=True):
        rates = dict(zip(group["sample_rate"].astype(int), group["condition_id"]))
        if 8000 in rates and 16000 in rates:
            got = store.paired(rates[8000], rates[16000], level=level)
            label = rp.condition_label({k: v for k, v in zip(keys, key) if k in shown and v != ""})
            rows.append({"condition": label, "diff": got["diff"], "low": got["low"], "high": got["high"],
                         "p_value": got["p_value"]})
    return pd.DataFrame(rows, columns=["condition", "diff", "low", "high", "p_value"])


def _references(store: RunStore, references: Mapping[str, Reference] | None) -> dict[str, Reference]:
    if references is not None:
        return dict(references)
    path = store.root / REFERENCES
    if not path.exists():
        return {}
    return {name: Reference.from_segments(segs) for name, segs in json.loads(path.read_text("utf-8")).items()}


def _worst_alignment(store: RunStore, runs: pd.DataFrame, references: dict[str, Reference]) -> tuple[Any, str] | None:
    """(Score, caption) of the reference sentence with the highest error rate, or None."""
    from tingwu_nb.research.metrics import score

    keep = ["condition_id", "recording", "language", "sample_rate", "format", "session_dir"]
    segs = store.segments().merge(runs.loc[runs["status"] == "ok", keep], on="condition_id")
    segs = segs[segs["reference_length"] > 0]
    segs = segs[segs["recording"].isin(references)]
    if not len(segs):
        return None
    worst = segs.assign(rate=segs["errors"] / segs["reference_length"]).sort_values(
        ["rate", "errors"], ascending=False, kind="stable").iloc[0]
    ref_segments = references[worst["recording"]].segments
    index = int(worst["segment_index"])
    if index >= len(ref_segments):
        return None
    start, end, text = ref_segments[index]
    hyp = Session(worst["session_dir"]).sentences()
    middle = (hyp["start_s"] + hyp["end_s"]) / 2 if len(hyp) else pd.Series(dtype=float)
    said = " ".join(hyp.loc[(middle >= start) & (middle < end), "text"].astype(str)) if len(hyp) else ""
    label = rp.condition_label({k: worst[k] for k in ("recording", "language", "sample_rate", "format")})
    return score(text, said, worst["language"]), f"Worst sentence ({label}, {start:.1f}–{end:.1f} s)"


def _figures(store: RunStore, runs: pd.DataFrame, summary: pd.DataFrame,
             references: dict[str, Reference]) -> list[Figure]:
    plans: list[tuple[str, str, Any, Any, dict[str, Any]]] = [
        ("metric_by_condition", "Error rate by condition", rp.metric_by_condition, summary, {})]
    if runs["language"].nunique() > 1 or runs["sample_rate"].nunique() > 1:
        plans.append(("language_rate_heatmap", "Error rate: language × sample rate", rp.language_rate_heatmap,
                      rp.aggregate(runs, by=["language", "sample_rate"], segments=store.segments(),
                                   sentences=store.sentences()), {}))
    sentences = rp.label_sentences(store.sentences(), runs, by=_by(runs))
    plans += [("latency_cdf", "Sentence latency", rp.latency_cdf, sentences, {}),
              ("accuracy_vs_latency", "Accuracy versus latency", rp.accuracy_vs_latency, summary, {})]
    stability, ready = experiment_stability(store), experiment_ready(store)
    if len(stability) and stability["revisions_per_sentence"].fillna(0).gt(0).any():
        plans.append(("stability_by_condition", "Interim revisions per sentence", rp.metric_by_condition, stability,
                      {"metric": "revisions_per_sentence", "title": "Interim revisions per sentence"}))
    if len(ready):
        plans.append(("result_ready", "Stop → each result ready", result_ready_chart, ready,
                      {"size": result_ready_size(ready)}))
    out = []
    for name, caption, plot, frame, kw in plans:
        out.append(_render(name, caption, plot, frame, kw))
    try:
        worst = _worst_alignment(store, runs, references)
    except (OSError, KeyError, ValueError) as exc:
        worst, note = None, f"not drawn: {type(exc).__name__}: {exc}"
    else:
        note = "not drawn: no reference segments (save_references(grid, store))"
    if worst is None:
        out.append(Figure("alignment_view", "Alignment of the worst sentence", None, note))
    else:
        out.append(_render("alignment_view", worst[1], rp.alignment_view, worst[0].alignment, {}))
    return out


def _render(name: str, caption: str, plot: Any, frame: Any, kw: dict[str, Any]) -> Figure:
    try:
        return Figure(name, caption, rp.render_png(plot, frame, dpi=100, **kw))
    except Exception as exc:  # noqa: BLE001 - one bad figure must not lose the report
        return Figure(name, caption, None, f"not drawn: {type(exc).__name__}: {exc}")


def _parameters(runs: pd.DataFrame, secrets: list[str]) -> pd.DataFrame:
    rows = []
    for r in runs.itertuples(index=False):
        params = redact_mapping(json.loads(r.params_json or "{}"), secrets)
        rows.append({"condition": _keep([rp.condition_label({"recording": r.recording, "language": r.language,
                                                      "sample_rate": r.sample_rate, "format": r.format})])[0],
                     "parameters": readable_params(params), "speed": rp.condition_label({"speed": r.speed}),
                     "endpoint": r.endpoint_kind, "status": r.status, "error": r.error or ""})
    return pd.DataFrame(rows)


def _content(store: RunStore | str | os.PathLike, secrets: Iterable[str | None], emulator: Any,
             references: Mapping[str, Reference] | None) -> dict[str, Any]:
    store = _store(store)
    runs = _runs(store)
    secrets = [*known_secrets(), *secrets]
    summary = experiment_summary(store)
    sessions = []
    for directory in runs.loc[runs["status"] == "ok", "session_dir"].dropna():
        try:
            sessions.append(Session(directory))
        except (OSError, ValueError):
            pass
    prov = provenance(sessions=sessions, runs=runs, emulator=emulator)
    return {"store": store, "runs": runs, "secrets": secrets, "summary": summary,
            "paired": paired_sample_rates(store), "parameters": _parameters(runs, secrets), "provenance": prov,
            "stability": experiment_stability(store), "ready": experiment_ready(store),
            "speakers": experiment_speakers(store),
            "figures": _figures(store, runs, summary, _references(store, references))}


def _facts(c: dict[str, Any]) -> list[tuple[str, str]]:
    runs = c["runs"]
    speeds = sorted({float(v) for v in runs["speed"].dropna()})
    return [("Store", str(c["store"].root)), ("Cells", str(len(runs))),
            ("Finished", str(int((runs["status"] == "ok").sum()))),
            ("Failed", str(int((runs["status"] != "ok").sum()))),
            ("Speed", ", ".join(rp.condition_label({"speed": v}) for v in speeds) or "—")]


def write_experiment_report(store: RunStore | str | os.PathLike, path: str | os.PathLike[str], *,
                            title: str = "Experiment report", secrets: Iterable[str | None] = (),
                            emulator: Any = None, references: Mapping[str, Reference] | None = None) -> Path:
    """Write the run store ``store`` (a RunStore or its folder) as one HTML file; returns the path.

    ``emulator``: the emulator that served the grid (engine models in the provenance);
    ``references``: ``{recording: Reference}`` (default: the store's ``references.json``).
    """
    c = _content(store, secrets, emulator, references)
    level = c["summary"].attrs.get("level", 0.95) * 100
    paired = c["paired"]
    body = "".join((
        f"<h1>{escape(title)}</h1><p class='meta'>"
        + " · ".join(f"{escape(k)} <b>{escape(v)}</b>" for k, v in _facts(c)) + "</p>",
        _section("Summary", f"<p class='note'>{escape(_SUMMARY_NOTE.format(level=level))}</p>"
                 + _table(summary_display(c["summary"]))),
        _section("Paired comparison: 8 kHz − 16 kHz", f"<p class='note'>{escape(_PAIRED_NOTE)}</p>"
                 + _table(paired_display(paired)) if len(paired) else ""),
        _section("Partial-result stability", "<p class='note'>"
                 + escape(_STABILITY_NOTE.format(level=level, speeds=_speeds(c["runs"]))) + "</p>"
                 + _table(stability_display(c["stability"]))),
        _section("Stop → each result ready", f"<p class='note'>{escape(_READY_NOTE)}</p>"
                 + _table(ready_display(c["ready"])) if len(c["ready"]) else ""),
        _section("Speakers", f"<p class='note'>{escape(_SPEAKERS_NOTE)}</p>"
                 + _table(speakers_display(c["speakers"])) if len(c["speakers"]) else ""),
        _section("Figures", "".join(_figure(n, f) for n, f in enumerate(c["figures"]))),
        _section("Parameters", _table(c["parameters"])),
        _section("Provenance", _table(pd.DataFrame(provenance_rows(c["provenance"]),
                                                   columns=["section", "name", "value"]))),
    ))
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    page = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{CSS}</style></head><body><main>{body}"
            f"<footer>Written by tingwu_nb on {stamp}. Secrets, join-URL tokens and URL signatures "
            f"are redacted.</footer></main></body></html>\n")
    page = redact_text(page, c["secrets"])
    for n, figure in enumerate(c["figures"]):  # after redaction: base64 is not text to mask
        if figure.png is not None:
            page = page.replace(_IMAGE.format(n), base64.b64encode(figure.png).decode("ascii"))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


def write_experiment_markdown(store: RunStore | str | os.PathLike, path: str | os.PathLike[str], *,
                              title: str = "Experiment report", secrets: Iterable[str | None] = (),
                              emulator: Any = None, references: Mapping[str, Reference] | None = None) -> Path:
    """Write the run store as Markdown; figures go to ``<stem>_figures/*.png`` beside it (linked
    relatively: keep the folder with the file). Same arguments as :func:`write_experiment_report`."""
    c = _content(store, secrets, emulator, references)
    path = Path(path)
    folder = path.parent / f"{path.stem}_figures"
    folder.mkdir(parents=True, exist_ok=True)
    level = c["summary"].attrs.get("level", 0.95) * 100
    parts = [f"# {title}\n", " · ".join(f"{k} **{v}**" for k, v in _facts(c)) + "\n",
             f"## Summary\n\n{_SUMMARY_NOTE.format(level=level)}\n\n" + md_table(summary_display(c["summary"]))]
    if len(c["paired"]):
        parts.append(f"## Paired comparison: 8 kHz − 16 kHz\n\n{_PAIRED_NOTE}\n\n"
                     + md_table(paired_display(c["paired"])))
    parts.append("## Partial-result stability\n\n" + _STABILITY_NOTE.format(level=level, speeds=_speeds(c["runs"]))
                 + "\n\n" + md_table(stability_display(c["stability"])))
    if len(c["ready"]):
        parts.append("## Stop → each result ready\n\n" + _READY_NOTE + "\n\n" + md_table(ready_display(c["ready"])))
    if len(c["speakers"]):
        parts.append("## Speakers\n\n" + _SPEAKERS_NOTE + "\n\n" + md_table(speakers_display(c["speakers"])))
    figures = []
    for figure in c["figures"]:
        if figure.png is None:
            figures.append(f"*{figure.caption} — {figure.note}*\n")
            continue
        (folder / f"{figure.name}.png").write_bytes(figure.png)
        figures.append(f"![{figure.caption}]({folder.name}/{figure.name}.png)\n\n*{figure.caption}*\n")
    parts.append("## Figures\n\n" + "\n".join(figures))
    parts.append("## Parameters\n\n" + md_table(c["parameters"]))
    parts.append("## Provenance\n\n" + provenance_markdown(c["provenance"]))
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts.append(f"\n*Written by tingwu_nb on {stamp}. Secrets, join-URL tokens and URL signatures are redacted.*\n")
    path.write_text(redact_text("\n".join(parts), c["secrets"]), encoding="utf-8")
    return path
