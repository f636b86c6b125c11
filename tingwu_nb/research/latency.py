"""Live latency and partial-result stability, per sentence and per session.

Times come from the client-side stamps the I/O layer puts on every event (``received_at``,
monotonic seconds; see :mod:`tingwu_nb.contract.events`) and the send time of every audio
frame (``frames.jsonl``: ``end_ms``, ``mono``). For sentence ``index``:

* ``first_partial_s`` / ``final_s`` — arrival of its first TranscriptionResultChanged / its
  SentenceEnd, seconds after the first audio frame was sent (NaN if it had no partial);
* ``first_partial_lag_s`` — lag after start of speech: arrival of its first
  TranscriptionResultChanged minus the send time of the frame holding the sentence's start
  (``begin_time_ms``: the first frame whose ``end_ms`` is past it), the start-side analogue of
  ``latency_s``; NaN without a partial or without frame stamps;
* ``latency_s`` — lag after end of speech: SentenceEnd arrival minus the send time of the
  frame holding the sentence's end (``time_ms``), the same definition as
  ``Session.live_sentences()``; NaN without frame stamps;
* ``revisions`` — number of TranscriptionResultChanged events for that index;
* ``chars_changed`` — characters of already displayed text that later changed: for each
  successive pair (partial -> next partial, last partial -> final) the edit distance from the
  earlier text to the best-matching *prefix* of the later one, summed. Pure growth
  ("今天" -> "今天天气") costs 0; a rewrite ("今天天汽" -> "今天天气很") costs 1.

:func:`stop_times` gives the end-of-session delays from ``session.json`` phases and
:func:`result_ready_times` the stop -> ready time of each result file. Feed
:func:`sentence_latency` frames to :func:`latency_summary` for the run-table columns.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from tingwu_nb.contract import events as ev

__all__ = ["RESULT_READY_COLUMNS", "SENTENCE_LATENCY_COLUMNS", "latency_summary", "prefix_edit_distance",
           "result_ready_times", "sentence_latency", "session_latency", "stop_times"]

#: Columns of the sentence latency table (one row per SentenceEnd).
SENTENCE_LATENCY_COLUMNS = ("condition_id", "sentence_index", "start_s", "end_s", "first_partial_s", "final_s",
                            "latency_s", "first_partial_lag_s", "revisions", "chars_changed")


def prefix_edit_distance(before: str, after: str) -> int:
    """Edits turning ``before`` into some prefix of ``after`` (appending to it is free)."""
    common = 0
    for x, y in zip(before, after):
        if x != y:
            break
        common += 1
    a, b = before[common:], after[common:]
    if not a:
        return 0
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
        prev = cur
    return min(prev)


def sentence_latency(events: Sequence[ev.Message], frames_sent: Sequence[tuple[int, float]] = (), *,
                     condition_id: str | None = None, t0: float | None = None) -> pd.DataFrame:
    """The sentence latency table (``SENTENCE_LATENCY_COLUMNS``) from stamped live events.

    Args:
        events: events in arrival order with ``received_at`` set (``Session.events()`` or a
            RealtimeStream's); unstamped events give NaN times.
        frames_sent: ``(end_ms, monotonic_sent_at)`` per audio frame sent, in order.
        condition_id: copied into every row (the grid condition this session ran).
        t0: monotonic origin of ``first_partial_s``/``final_s`` (default: first frame sent,
            else the first stamped event).
    Append the frame to the run store's sentence table; summarise with :func:`latency_summary`.
    """
    ends = [f[0] for f in frames_sent]
    if t0 is None:
        stamped = [e.received_at for e in events if e.received_at is not None]
        t0 = frames_sent[0][1] if frames_sent else (stamped[0] if stamped else 0.0)
    partials: dict[int, list[ev.TranscriptionResultChanged]] = {}
    rows = []
    for event in events:
        if isinstance(event, ev.TranscriptionResultChanged):
            partials.setdefault(event.index, []).append(event)
        elif isinstance(event, ev.SentenceEnd):
            seen = partials.pop(event.index, [])
            texts = [p.result for p in seen] + [event.result]
            changed = sum(prefix_edit_distance(x, y) for x, y in zip(texts, texts[1:]))
            first = next((p.received_at for p in seen if p.received_at is not None), None)
            latency = math.nan
            if ends and event.received_at is not None:
                i = min(bisect.bisect_left(ends, event.time_ms), len(ends) - 1)
                latency = event.received_at - frames_sent[i][1]
            start_ms = event.begin_time_ms if event.begin_time_ms is not None else (
                event.words[0].start_ms if event.words else (seen[0].time_ms if seen else event.time_ms))
            lag = math.nan
            if ends and first is not None:  # the frame holding the start: [end of previous, its end_ms)
                lag = first - frames_sent[min(bisect.bisect_right(ends, start_ms), len(ends) - 1)][1]
            rows.append((condition_id, event.index, start_ms / 1000.0, event.time_ms / 1000.0,
                         math.nan if first is None else first - t0,
                         math.nan if event.received_at is None else event.received_at - t0,
                         latency, lag, len(seen), changed))
    frame = pd.DataFrame(rows, columns=list(SENTENCE_LATENCY_COLUMNS))
    return frame.astype({"condition_id": "object", "sentence_index": "int64", "start_s": "float64",
                         "end_s": "float64", "first_partial_s": "float64", "final_s": "float64",
                         "latency_s": "float64", "first_partial_lag_s": "float64", "revisions": "int64",
                         "chars_changed": "int64"})


def session_latency(session: Any, condition_id: str | None = None) -> pd.DataFrame:
    """:func:`sentence_latency` of a recorded :class:`~tingwu_nb.session.recording.Session`."""
    frames_path = session.directory / "frames.jsonl"
    frames = session.frames() if frames_path.exists() and frames_path.stat().st_size else pd.DataFrame()
    sent = list(zip(frames["end_ms"].tolist(), frames["mono"].tolist())) if len(frames) else []
    return sentence_latency(session.events(), sent, condition_id=condition_id)


def stop_times(session: Any) -> dict[str, float]:
    """End-of-session delays in seconds, from the StopTranscription the client sent.

    The stop origin is the ``audio_sent`` phase of ``session.json`` (StopTranscription goes out
    right after it). Keys: ``stop_to_completed_s`` (TranscriptionCompleted arrival),
    ``stop_to_task_stopped_s`` (CreateTask operation=stop answered), ``stop_to_task_finished_s``
    (the task reported COMPLETED: every result ready), ``stop_to_results_downloaded_s``. The
    session does not record when each single result became ready (only the phases above), so
    "stop -> result ready" is the task-level time. Missing phases/events give NaN.
    """
    phases = session.meta.get("phases") or {}
    stop = (phases.get("audio_sent") or {}).get("mono")
    out = {k: math.nan for k in ("stop_to_completed_s", "stop_to_task_stopped_s", "stop_to_task_finished_s",
                                 "stop_to_results_downloaded_s")}
    if stop is None:
        return out
    done = next((e.received_at for e in session.events()
                 if isinstance(e, ev.TranscriptionCompleted) and e.received_at is not None), None)
    if done is not None:
        out["stop_to_completed_s"] = done - stop
    for key, phase in (("stop_to_task_stopped_s", "task_stopped"), ("stop_to_task_finished_s", "task_finished"),
                       ("stop_to_results_downloaded_s", "results_downloaded")):
        mono = (phases.get(phase) or {}).get("mono")
        if mono is not None:
            out[key] = mono - stop
    return out


RESULT_READY_COLUMNS = ("condition_id", "result", "stop_to_ready_s", "resolution_s")


def result_ready_times(session: Any, condition_id: str | None = None) -> pd.DataFrame:
    """Stop -> ready in seconds for each result file of a session (``RESULT_READY_COLUMNS``).

    From the ``results_ready`` stamps of ``session.json`` (the first GetTaskInfo answer or callback
    that listed the result) minus the ``audio_sent`` phase (StopTranscription). ``resolution_s`` is
    the poll interval: a result was ready at most that much earlier. Results already listed at
    the first look after stop get that look's time. A session without the stamps (recorded before
    they existed, or stopped before any result) gives an empty frame.
    """
    stop = ((session.meta.get("phases") or {}).get("audio_sent") or {}).get("mono")
    ready = session.meta.get("results_ready") or {}
    poll = session.meta.get("results_ready_poll_s", math.nan)
    rows = [{"condition_id": condition_id, "result": key, "stop_to_ready_s": stamp["mono"] - stop,
             "resolution_s": poll} for key, stamp in sorted(ready.items(), key=lambda kv: kv[1]["mono"])
            if stop is not None and "mono" in stamp]
    return pd.DataFrame(rows, columns=list(RESULT_READY_COLUMNS)).astype(
        {"stop_to_ready_s": "float64", "resolution_s": "float64"})


def latency_summary(frame: pd.DataFrame) -> dict[str, float]:
    """Run-table columns from a sentence latency frame: median and p90 of ``latency_s``, median
    of ``first_partial_lag_s`` (``latency_first_partial_median_s``), mean revisions and total
    characters changed (NaN when no sentence had that latency)."""
    lat = frame["latency_s"].dropna().to_numpy(dtype=float) if len(frame) else np.array([])
    first = frame["first_partial_lag_s"].dropna().to_numpy(dtype=float) \
        if len(frame) and "first_partial_lag_s" in frame else np.array([])
    return {
        "latency_first_partial_median_s": float(np.median(first)) if first.size else math.nan,
        "latency_final_median_s": float(np.median(lat)) if lat.size else math.nan,
        "latency_final_p90_s": float(np.quantile(lat, 0.9)) if lat.size else math.nan,
        "revisions_mean": float(frame["revisions"].mean()) if len(frame) else math.nan,
        "chars_changed_total": int(frame["chars_changed"].sum()) if len(frame) else 0,
        "sentences": int(len(frame)),
    }
