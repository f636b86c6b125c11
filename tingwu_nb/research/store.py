"""The run store: a folder of Parquet tables and session directories, appended to as cells finish.

    store = RunStore("runs/8k-study")
    store.runs()               # one row per finished condition (RUN_COLUMNS)
    store.summary(by=("sample_rate",))   # error rate per group with a bootstrap interval

Layout: ``runs.parquet`` (the run table), ``sentences.parquet`` (per-sentence latency),
``ready.parquet`` (stop -> ready per result file),
``segments.parquet`` (errors per reference segment, for intervals) and ``sessions/`` (each
condition's session directory, open with :class:`tingwu_nb.session.recording.Session`).
Every write replaces a file atomically, so an interrupted grid loses only unfinished cells;
:func:`tingwu_nb.research.runner.run_grid` then skips cells whose ``status`` is ``"ok"``.
One writer at a time (one event loop); the store is not safe for several processes at once.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from tingwu_nb.client.pacing import MAX_SPEED
from tingwu_nb.research.latency import RESULT_READY_COLUMNS, SENTENCE_LATENCY_COLUMNS
from tingwu_nb.research.speakers import SPEAKER_COLUMNS
from tingwu_nb.research.stats import corpus_error_rate, paired_bootstrap

__all__ = ["CHILD_TABLES", "READY_COLUMNS", "RUN_COLUMNS", "SEGMENT_COLUMNS", "SENTENCE_COLUMNS", "RunStore",
           "cache_key", "effective_speed"]

RUN_COLUMNS = (
    "condition_id", "recording", "language", "language_hints", "sample_rate", "format", "speed", "params_json",
    "endpoint_kind", "audio_sha256", "status", "error", "metric", "error_rate", "substitutions", "deletions",
    "insertions", "hits", "reference_length", "sentences", "latency_final_median_s", "latency_final_p90_s",
    "latency_first_partial_median_s", "revisions_mean", "chars_changed_total", "stop_to_completed_s",
    "stop_to_task_finished_s", "stop_to_results_downloaded_s", "speaker_attribution_error", "speaker_coverage",
    "speakers_ref", "speakers_hyp", "wall_s", "session_dir",
)
SENTENCE_COLUMNS = SENTENCE_LATENCY_COLUMNS
SEGMENT_COLUMNS = ("condition_id", "segment_index", "start_s", "end_s", "errors", "reference_length")
READY_COLUMNS = RESULT_READY_COLUMNS
#: The per-condition child tables of the store: file stem -> columns.
CHILD_TABLES = {"sentences": SENTENCE_COLUMNS, "segments": SEGMENT_COLUMNS, "ready": READY_COLUMNS,
                "speakers": SPEAKER_COLUMNS}


def cache_key(audio_sha256: str, params_json: str, endpoint_kind: str, speed: float | None = None) -> str:
    """sha256 of (audio hash, canonical parameters JSON, endpoint kind, sending speed): the ``condition_id``.

    Pass ``params_json`` from :func:`tingwu_nb.research.grid.canonical_params` so key order
    does not matter; the endpoint kind ("emulator"/"cloud") and the effective sending speed
    (``"max"`` is :data:`~tingwu_nb.client.pacing.MAX_SPEED`) do: latency and partial results
    depend on both, so a grid re-run at another speed streams again.
    """
    parts = [audio_sha256, params_json, endpoint_kind]
    if speed is not None:
        parts.append(f"speed={effective_speed(speed):g}")
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def effective_speed(speed: float) -> float:
    """The speed a session really streams at: ``inf`` ("max") is :data:`~tingwu_nb.client.pacing.MAX_SPEED`."""
    return min(float(speed), MAX_SPEED)


class RunStore:
    """A run store on disk; created when missing. Read with :meth:`runs`, :meth:`summary`."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self.sessions_dir = self.root / "sessions"
        self.sessions_dir.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"RunStore({str(self.root)!r}, {len(self.runs())} runs)"

    def _read(self, name: str, columns: Sequence[str]) -> pd.DataFrame:
        path = self.root / f"{name}.parquet"
        if not path.exists():
            return pd.DataFrame(columns=list(columns))
        return pd.read_parquet(path)

    def _write(self, name: str, frame: pd.DataFrame) -> None:
        path = self.root / f"{name}.parquet"
        tmp = path.with_suffix(".parquet.tmp")
        frame.reset_index(drop=True).to_parquet(tmp, index=False)
        os.replace(tmp, path)

    def runs(self) -> pd.DataFrame:
        """The run table (``RUN_COLUMNS``), one row per condition that ran (ok or error)."""
        return self._read("runs", RUN_COLUMNS)

    def sentences(self) -> pd.DataFrame:
        """Per-sentence latency of every finished condition (``SENTENCE_COLUMNS``)."""
        return self._read("sentences", SENTENCE_COLUMNS)

    def segments(self) -> pd.DataFrame:
        """Errors per reference segment of every finished condition (``SEGMENT_COLUMNS``)."""
        return self._read("segments", SEGMENT_COLUMNS)

    def ready(self) -> pd.DataFrame:
        """Stop -> ready seconds of each result file of every finished condition (``READY_COLUMNS``)."""
        return self._read("ready", READY_COLUMNS)

    def speakers(self) -> pd.DataFrame:
        """Per reference speaker error rates of every diarised condition (``speakers.SPEAKER_COLUMNS``)."""
        return self._read("speakers", SPEAKER_COLUMNS)

    def finished(self) -> set[str]:
        """``condition_id`` of every cell that finished with status ``"ok"`` (the cache)."""
        runs = self.runs()
        return set(runs.loc[runs["status"] == "ok", "condition_id"]) if len(runs) else set()

    def add(self, row: Mapping[str, Any], tables: Mapping[str, pd.DataFrame | None] | None = None) -> None:
        """Record one condition (replacing an earlier row of the same ``condition_id``).

        ``tables`` maps child table names of ``CHILD_TABLES`` (``sentences``, ``segments``,
        ``ready``) to that condition's frames; a missing or None frame clears the condition's old
        rows. The child tables are written first and the run row last, so a row in
        ``runs.parquet`` always has its child rows on disk.
        """
        cid = row["condition_id"]
        tables = tables or {}
        unknown = set(tables) - set(CHILD_TABLES)
        if unknown:
            raise ValueError(f"unknown run-store tables {sorted(unknown)}; expected some of {sorted(CHILD_TABLES)}")
        for name, columns in CHILD_TABLES.items():
            frame = tables.get(name)
            old = self._read(name, columns)
            old = old[old["condition_id"] != cid]
            if frame is not None and len(frame):
                old = frame.assign(condition_id=cid)[list(columns)] if not len(old) else \
                    pd.concat([old, frame.assign(condition_id=cid)[list(columns)]], ignore_index=True)
            self._write(name, old)
        runs = self.runs()
        new = pd.DataFrame([{c: row.get(c) for c in RUN_COLUMNS}])
        runs = runs[runs["condition_id"] != cid]
        self._write("runs", new if not len(runs) else pd.concat([runs, new], ignore_index=True))

    def _ok_segments(self, columns: Sequence[str]) -> pd.DataFrame:
        """Segments of finished cells joined with ``columns`` of the run table (``recording`` always)."""
        runs = self.runs()
        runs = runs[runs["status"] == "ok"] if len(runs) else runs
        keep = list(dict.fromkeys(["condition_id", "recording", *columns]))
        return self.segments().merge(runs[keep], on="condition_id")

    def summary(self, by: Sequence[str] = ("recording", "language", "sample_rate", "format"), *,
                n: int = 2000, seed: int = 0, level: float = 0.95) -> pd.DataFrame:
        """Error rate per group of finished cells with a bootstrap interval over reference sentences.

        Columns: ``by`` + ``metric, error_rate, ci_low, ci_high, segments, cells``. ``error_rate``
        is total errors / total reference length of the group's segments. The unit of the interval
        is the reference sentence ``(recording, segment_index)``: the copies of one sentence in the
        group's cells (pcm and opus, say) are summed into one unit before resampling, so a pooled
        group is no narrower than its distinct sentences allow. ``segments`` counts those distinct
        sentences, ``cells`` the conditions. No interval with one unit: a group with fewer than two
        sentences (a plain-text reference) has NaN ``ci_low``/``ci_high`` — give timed references;
        a group whose reference length is 0 has a NaN ``error_rate``. Plot it or compare groups next.
        """
        by = list(by)
        segments = self._ok_segments([*by, "metric"])
        rows = []
        for keys, group in segments.groupby(by, sort=True):
            units = group.groupby(["recording", "segment_index"], sort=True)[["errors", "reference_length"]].sum()
            rate = corpus_error_rate(units["errors"].to_numpy(float), units["reference_length"].to_numpy(float),
                                     n=n, seed=seed, level=level)
            keys = keys if isinstance(keys, tuple) else (keys,)
            rows.append(dict(zip(by, keys)) | {
                "metric": "/".join(sorted(set(group["metric"].astype(str)))), "error_rate": rate["error_rate"],
                "ci_low": rate["low"], "ci_high": rate["high"], "segments": len(units),
                "cells": group["condition_id"].nunique()})
        return pd.DataFrame(rows, columns=[*by, "metric", "error_rate", "ci_low", "ci_high", "segments", "cells"])

    def paired(self, condition_a: str | Sequence[str], condition_b: str | Sequence[str], *, n: int = 2000,
               seed: int = 0, level: float = 0.95) -> dict[str, float]:
        """Paired bootstrap of error rate(a) - error rate(b) over the same reference sentences.

        ``condition_a`` and ``condition_b`` are ``condition_id`` s, or lists of them (pooled groups,
        e.g. every 8 kHz cell against every 16 kHz cell). The unit is the reference sentence
        ``(recording, segment_index)``: each side's copies of a sentence are summed into one unit,
        and both sides must cover the same sentences of the same recordings. Returns ``{"diff",
        "low", "high", "p_value"}`` (:func:`tingwu_nb.research.stats.paired_bootstrap`); an interval
        excluding 0 means the conditions differ on this audio. No interval with one unit: one
        reference sentence gives NaN ``low``/``high``/``p_value`` — give timed references.
        """
        segs = self._ok_segments([])
        sides = []
        for cond in (condition_a, condition_b):
            ids = [cond] if isinstance(cond, str) else list(cond)
            side = segs[segs["condition_id"].isin(ids)]
            sides.append(side.groupby(["recording", "segment_index"], sort=True)[["errors", "reference_length"]].sum())
        a, b = sides
        if not len(a) or a.index.tolist() != b.index.tolist():
            raise ValueError("paired comparison needs finished conditions of the same recording(s) "
                             f"covering the same reference sentences: {condition_a!r} vs {condition_b!r}")
        return paired_bootstrap(a["errors"].to_numpy(float), b["errors"].to_numpy(float), n=n, seed=seed,
                                level=level, weights=a["reference_length"].to_numpy(float),
                                weights_b=b["reference_length"].to_numpy(float))
