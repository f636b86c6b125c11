"""Run an experiment grid: concurrent realtime sessions, scored, cached in a run store.

    store = RunStore("runs/8k-study")
    runs = await run_grid(Grid.from_yaml("grid.yaml"), store, concurrency=2)
    store.summary(by=("sample_rate", "format"))      # error rate with bootstrap intervals

At most ``concurrency`` sessions stream at once; the client's rate limiter keeps API calls
within the service's QPS limits. A cell already in the store with status ``"ok"`` is not
streamed again (same audio, parameters and endpoint kind), so re-running an interrupted grid
completes only what is missing. A failing cell is recorded with its error and the grid goes on.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

from tingwu_nb.research.grid import Condition, Grid, Reference
from tingwu_nb.research.store import RunStore, cache_key, effective_speed
from tingwu_nb.session.recording import Session, parse_speed, record, run_sync

__all__ = ["base_row", "endpoint_kind", "grid_table", "plan", "run_grid", "run_grid_sync", "score_counts", "stream_condition"]

_WORD_LANGUAGES = {"en"}


def endpoint_kind(client: Any) -> str:
    """``"cloud"`` for an Alibaba Cloud endpoint, else ``"emulator"`` (part of the cache key)."""
    host = urlsplit(str(getattr(client, "endpoint", ""))).hostname or ""
    return "cloud" if host.endswith("aliyuncs.com") else "emulator"


def score_counts(reference: str, hypothesis: str, language: str) -> dict[str, Any]:
    """Error counts of ``hypothesis``: metric, error_rate, substitutions, deletions, insertions,
    hits, reference_length. Uses :func:`tingwu_nb.research.metrics.score` when it exists, else
    WER for English and CER for the rest after :func:`~tingwu_nb.research.metrics.normalize_text`."""
    from tingwu_nb.research import metrics

    if hasattr(metrics, "score"):
        s = metrics.score(reference, hypothesis, language)
        counts = {"metric": s.metric, "substitutions": s.substitutions, "deletions": s.deletions,
                  "insertions": s.insertions, "hits": s.hits, "reference_length": s.reference_length}
    else:
        import jiwer

        ref, hyp = metrics.normalize_text(reference), metrics.normalize_text(hypothesis)
        words = language in _WORD_LANGUAGES
        if not words:
            ref, hyp = ref.replace(" ", ""), hyp.replace(" ", "")
        if not ref:
            return {"metric": "wer" if words else "cer", "error_rate": float(bool(hyp)), "substitutions": 0,
                    "deletions": 0, "insertions": len(hyp.split() if words else hyp), "hits": 0,
                    "reference_length": 0}
        out = jiwer.process_words(ref, hyp or " ") if words else jiwer.process_characters(ref, hyp or " ")
        counts = {"metric": "wer" if words else "cer", "substitutions": out.substitutions,
                  "deletions": out.deletions, "insertions": out.insertions, "hits": out.hits,
                  "reference_length": out.substitutions + out.deletions + out.hits}
    errors = counts["substitutions"] + counts["deletions"] + counts["insertions"]
    return counts | {"error_rate": errors / max(counts["reference_length"], 1)}


def _segments(reference: Reference, hyp: pd.DataFrame, language: str) -> pd.DataFrame:
    """Errors per reference segment: each hypothesis sentence goes to the segment nearest its middle."""
    segs = reference.segments or ((0.0, math.inf, reference.text),)
    starts = np.array([s for s, _, _ in segs])
    ends = np.array([e for _, e, _ in segs])
    texts: list[list[str]] = [[] for _ in segs]
    for start, end, text in zip(hyp.get("start_s", []), hyp.get("end_s", []), hyp.get("text", [])):
        mid = (start + end) / 2
        inside = np.flatnonzero((starts <= mid) & (mid < ends))
        i = int(inside[0]) if len(inside) else int(np.argmin(np.minimum(abs(starts - mid), abs(ends - mid))))
        texts[i].append(str(text))
    rows = []
    for i, ((start, end, text), hyp_texts) in enumerate(zip(segs, texts)):
        c = score_counts(text, " ".join(hyp_texts), language)
        rows.append({"segment_index": i, "start_s": start, "end_s": end, "reference_length": c["reference_length"],
                     "errors": c["substitutions"] + c["deletions"] + c["insertions"]})
    return pd.DataFrame(rows)


def _measure(cell: Condition, cid: str, session: Session) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    """Score and time one finished session: (run-row fields, child tables of ``CHILD_TABLES``)."""
    from tingwu_nb.research.latency import latency_summary, result_ready_times, session_latency, stop_times
    from tingwu_nb.research.speakers import diarization_requested, speaker_measures

    hyp = session.sentences()
    counts = score_counts(cell.recording.reference.text, " ".join(hyp["text"]), cell.language)
    sentences = session_latency(session, cid)
    lat = latency_summary(sentences)
    stops = stop_times(session)
    fields = counts | {"sentences": len(hyp)} | {k: lat[k] for k in (
        "latency_final_median_s", "latency_final_p90_s", "latency_first_partial_median_s", "revisions_mean",
        "chars_changed_total")} | {
        k: stops[k] for k in ("stop_to_completed_s", "stop_to_task_finished_s", "stop_to_results_downloaded_s")}
    speaker_fields, speakers = speaker_measures(cell.recording.reference, hyp, cell.language,
                                                diarized=diarization_requested(cell.params), condition_id=cid)
    fields |= speaker_fields
    tables = {"sentences": sentences, "segments": _segments(cell.recording.reference, hyp, cell.language),
              "ready": result_ready_times(session, cid), "speakers": speakers}
    return fields, tables


def base_row(cell: Condition, cid: str, kind: str, speed: float) -> dict[str, Any]:
    """The run-row fields known before streaming (``status`` ``"ok"`` until something fails)."""
    return {"condition_id": cid, "recording": cell.recording.name, "language": cell.language,
            "language_hints": ",".join(cell.language_hints), "sample_rate": cell.sample_rate,
            "format": cell.format, "speed": effective_speed(speed), "params_json": cell.params_json, "endpoint_kind": kind,
            "audio_sha256": cell.recording.sha256, "status": "ok", "error": None}


async def stream_condition(cell: Condition, cid: str, kind: str, client: Any, speed: float,
                           out_dir: Path, poll_interval_s: float = 0.25) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    """Stream and score one condition into a session under ``out_dir``; never raises for a cell failure.

    Returns (run row, child tables by name); the caller writes them with ``RunStore.add``
    (a failed cell is a row with ``status == "error"`` and no tables).
    """
    row = base_row(cell, cid, kind, speed)
    started = time.monotonic()
    tables: dict[str, pd.DataFrame] = {}
    try:
        session = await record(cell.recording.audio, cell.request(), client=client, speed=speed, out_dir=out_dir,
                               poll_interval_s=poll_interval_s)
        row["session_dir"] = str(session.directory)
        fields, tables = await asyncio.to_thread(_measure, cell, cid, session)
        row |= fields
    except Exception as exc:  # noqa: BLE001 - a failed cell is data; the grid goes on
        row |= {"status": "error", "error": f"{type(exc).__name__}: {exc}",
                "session_dir": str(getattr(exc, "session_dir", "") or "") or None}
    row["wall_s"] = time.monotonic() - started
    return row, tables


async def _run_cell(cell: Condition, cid: str, kind: str, client: Any, store: RunStore, speed: float,
                    limit: asyncio.Semaphore, poll_interval_s: float) -> dict[str, Any]:
    async with limit:
        row, tables = await stream_condition(cell, cid, kind, client, speed, store.sessions_dir, poll_interval_s)
        store.add(row, tables)
        return row


def plan(grid: Grid, store: RunStore, kind: str, speed: float) -> tuple[list[str], list[tuple[Condition, str]]]:
    """The grid's condition ids at ``speed`` in order, and the (condition, id) pairs not yet ``"ok"`` in ``store``."""
    cells = grid.conditions()
    ids = [cache_key(c.recording.sha256, c.params_json, kind, speed) for c in cells]
    done = store.finished()
    return ids, [(c, i) for c, i in zip(cells, ids) if i not in done]


def grid_table(store: RunStore, ids: list[str]) -> pd.DataFrame:
    """The store's run rows of ``ids``, in that order (what :func:`run_grid` returns)."""
    runs = store.runs()
    order = {cid: n for n, cid in enumerate(ids)}
    runs = runs[runs["condition_id"].isin(order)]
    return runs.sort_values("condition_id", key=lambda s: s.map(order)).reset_index(drop=True)


async def run_grid(
    grid: Grid,
    store: RunStore,
    *,
    client: Any = None,
    client_factory: Callable[[], Any] | None = None,
    kind: str | None = None,
    concurrency: int = 2,
    speed: float | str | None = None,
    progress: bool = True,
    poll_interval_s: float = 0.25,
) -> pd.DataFrame:
    """Stream every condition not yet in ``store`` and return the run table of the grid's cells.

    Args:
        client: a TingwuClient to share between sessions; else ``client_factory()`` (an async
            context manager yielding one), else :func:`tingwu_nb.session.connect.connect`.
        kind: the endpoint kind for the cache key; default from the client's endpoint.
        concurrency: the most sessions streaming at once.
        speed: sending speed (default the grid's), see :func:`~tingwu_nb.session.recording.parse_speed`.
        progress: show a ``tqdm.auto`` bar over the cells.
        poll_interval_s: GetTaskInfo interval after stop: the resolution of the stop -> each
            result ready times (``RunStore.ready``). GetTaskInfo allows 100 QPS per user, so
            ``concurrency / poll_interval_s`` must stay well below that (0.25 s: up to ~20 sessions).

    Cancel the awaiting task to interrupt: finished cells stay in the store, the running
    sessions are stopped by :func:`record`; call again to resume. Errors are rows with
    ``status == "error"`` (retried on the next run). Next: ``store.summary(...)``.
    """
    if concurrency < 1:
        raise ValueError(f"concurrency must be >= 1, got {concurrency}")
    speed = parse_speed(grid.speed if speed is None else speed)
    async with AsyncExitStack() as stack:
        if client is None:
            if client_factory is None:
                from tingwu_nb.session.connect import connect

                client_factory = connect
            client = await stack.enter_async_context(client_factory())
        kind = kind or endpoint_kind(client)
        ids, todo = plan(grid, store, kind, speed)
        bar = _bar(len(ids), len(ids) - len(todo), progress)
        limit = asyncio.Semaphore(concurrency)

        async def one(cell: Condition, cid: str) -> None:
            row = await _run_cell(cell, cid, kind, client, store, speed, limit, poll_interval_s)
            if bar is not None:
                bar.set_postfix_str(f"{cell.label()}: {row['status']}", refresh=False)
                bar.update(1)

        try:  # return_exceptions: on cancel, wait for every running session's cleanup, not the first
            outcomes = await asyncio.gather(*(one(c, i) for c, i in todo), return_exceptions=True)
            failure = next((o for o in outcomes if isinstance(o, BaseException)), None)
            if failure is not None:  # a store write failed: not a cell error
                raise failure
        finally:
            if bar is not None:
                bar.close()
    return grid_table(store, ids)


def _bar(total: int, initial: int, progress: bool) -> Any:
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc="grid", unit="cell")


def run_grid_sync(grid: Grid, store: RunStore, **kwargs: Any) -> pd.DataFrame:
    """:func:`run_grid` for scripts and notebook cells that cannot ``await`` (Ctrl-C resumes later)."""
    return run_sync(run_grid(grid, store, **kwargs))
