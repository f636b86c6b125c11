"""Run an experiment grid on a ``dask.distributed`` cluster (optional extra ``tingwu-nb[cluster]``).

    from dask.distributed import Client
    client = Client("tcp://scheduler:8786")          # or Client(LocalCluster(n_workers=2))
    runs = run_grid_distributed(grid, RunStore("runs/8k-study"), client=client)

The driver submits one task per condition not yet ``"ok"`` in the store (the same cache keys
as :func:`tingwu_nb.research.runner.run_grid`). Each task streams its condition from a worker:
against ``endpoint`` with the worker's own credentials (``ALIBABA_CLOUD_ACCESS_KEY_ID`` /
``_SECRET``, ``TINGWU_APP_KEY`` in the worker's environment), or, with ``endpoint=None``,
against the worker process's embedded emulator (started on its first task, reused after).
The audio travels to the workers with the task, and each finished session directory travels
back as a tar archive, so workers need no shared disk. The driver alone writes the rows into
the store as tasks finish: one writer, so an interrupted run keeps every finished cell.
"""

from __future__ import annotations

import asyncio
import io
import tarfile
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pandas as pd

from tingwu_nb.research.grid import Condition, Grid
from tingwu_nb.research.runner import base_row, endpoint_kind, grid_table, plan, stream_condition
from tingwu_nb.research.store import CHILD_TABLES, RunStore
from tingwu_nb.session.recording import parse_speed

__all__ = ["run_grid_distributed"]

_AUDIO_DIR = Path(tempfile.gettempdir()) / "tingwu_nb-cluster-audio"


def run_grid_distributed(grid: Grid, store: RunStore, *, client: Any, speed: float | str | None = None,
                         endpoint: str | None = None, poll_interval_s: float = 0.25) -> pd.DataFrame:
    """Stream every condition not yet in ``store`` on the cluster of ``client``; return the run table.

    Args:
        client: a connected ``dask.distributed.Client``; workers need ``tingwu-nb`` installed
            (with the ``emulator`` extra and its weights when ``endpoint`` is None).
        speed: sending speed (default the grid's), see :func:`~tingwu_nb.session.recording.parse_speed`.
        endpoint: the service every worker streams to, with its own credentials; None means each
            worker's embedded emulator. Its kind ("cloud"/"emulator") is part of the cache key.
        poll_interval_s: GetTaskInfo interval after stop, as for ``run_grid``.

    Returns the same table as :func:`~tingwu_nb.research.runner.run_grid`. A cell that fails
    (or whose worker dies) is a row with ``status == "error"``, retried on the next call.
    Interrupting cancels the pending tasks; finished cells stay. Next: ``store.summary(...)``.
    """
    from dask.distributed import as_completed

    speed = parse_speed(grid.speed if speed is None else speed)
    kind = endpoint_kind(_Endpoint(endpoint)) if endpoint else "emulator"
    ids, todo = plan(grid, store, kind, speed)
    audio = {c.recording.sha256: c.recording.audio for c, _ in todo}
    # a one-item list: scatter sends the (suffix, bytes) pair whole; hash=False: a fresh key per call
    shipped = {sha: client.scatter([(path.suffix, path.read_bytes())], hash=False)[0]
               for sha, path in audio.items()}
    # a fresh key per call: a key reused after client.cancel() would come back cancelled
    futures = {client.submit(_stream_remote, cell, cid, kind, speed, endpoint, shipped[cell.recording.sha256],
                             poll_interval_s,
                             key=f"tingwu-{cid[:16]}-{uuid.uuid4().hex[:12]}"): (cell, cid)
               for cell, cid in todo}
    try:
        for future in as_completed(futures):
            cell, cid = futures[future]
            try:
                result = future.result()
            except Exception as exc:  # noqa: BLE001 - a lost worker is a failed cell, not a failed grid
                store.add(base_row(cell, cid, kind, speed) | {"status": "error", "session_dir": None,
                                                              "error": f"{type(exc).__name__}: {exc}"})
                continue
            _write(store, result)
    finally:
        client.cancel([f for f in futures if not f.done()])  # interrupted: stop what is left
    return grid_table(store, ids)


class _Endpoint:
    """What :func:`endpoint_kind` reads from a client: its ``endpoint`` URL."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint


def _write(store: RunStore, result: dict[str, Any]) -> None:
    """Unpack a worker's session archive into the store and add its rows (driver side)."""
    row = result["row"]
    if result["session_tar"]:
        with tarfile.open(fileobj=io.BytesIO(result["session_tar"]), mode="r:gz") as tar:
            tar.extractall(store.sessions_dir, filter="data")
        row["session_dir"] = str(store.sessions_dir / result["session_name"])
    store.add(row, {name: pd.DataFrame.from_records(records, columns=list(CHILD_TABLES[name]))
                    for name, records in result["tables"].items()})


def _stream_remote(cell: Condition, cid: str, kind: str, speed: float, endpoint: str | None,
                   audio: tuple[str, bytes], poll_interval_s: float = 0.25) -> dict[str, Any]:
    """The worker task: stream one condition, return its rows and session archive as plain data."""
    import dataclasses
    import shutil

    local = _local_audio(cell.recording.sha256, *audio)
    cell = dataclasses.replace(cell, recording=dataclasses.replace(cell.recording, audio=local))
    out_dir = Path(tempfile.mkdtemp(prefix="tingwu_nb-cell-"))
    try:
        row, tables = asyncio.run(_stream(cell, cid, kind, speed, endpoint, out_dir, poll_interval_s))
        session_dir = Path(row["session_dir"]) if row.get("session_dir") else None
        archive = None
        if session_dir is not None and session_dir.is_dir():
            buffer = io.BytesIO()
            with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
                tar.add(session_dir, arcname=session_dir.name)
            archive = buffer.getvalue()
        return {"row": row, "session_tar": archive, "session_name": session_dir.name if session_dir else None,
                "tables": {name: frame.to_dict("records") for name, frame in tables.items()}}
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)


async def _stream(cell: Condition, cid: str, kind: str, speed: float, endpoint: str | None,
                  out_dir: Path, poll_interval_s: float) -> tuple[dict[str, Any], dict[str, Any]]:
    from tingwu_nb.session.connect import connect

    # endpoint None: this process's embedded emulator (lru-cached, so started once per worker)
    async with connect(endpoint, use_emulator=endpoint is None) as client:
        return await stream_condition(cell, cid, kind, client, speed, out_dir, poll_interval_s)


def _local_audio(sha256: str, suffix: str, data: bytes) -> Path:
    """The task's audio as a file on this worker, written once per recording."""
    _AUDIO_DIR.mkdir(parents=True, exist_ok=True)
    path = _AUDIO_DIR / f"{sha256}{suffix}"
    if not path.exists():
        tmp = path.with_suffix(f"{suffix}.{id(data)}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    return path
