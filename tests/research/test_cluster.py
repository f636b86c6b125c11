"""A grid on a two-worker dask ``LocalCluster`` gives the same table as the local runner."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import sample_turns_wav
from tingwu_nb.research.grid import Grid, Recording, Reference
from tingwu_nb.research.runner import run_grid_sync
from tingwu_nb.research.store import RunStore
from tingwu_nb.session.recording import Session

distributed = pytest.importorskip(
    "distributed", reason="dask.distributed is not installed (pip install 'tingwu-nb[cluster]')")

SAME = ["condition_id", "recording", "sample_rate", "format", "endpoint_kind", "status", "metric", "error_rate",
        "substitutions", "deletions", "insertions", "hits", "reference_length", "sentences"]


def test_two_worker_cluster_gives_the_local_table_and_skips_cached_cells(
        emulator, tmp_path: Path, sample_pcm16k: np.ndarray, sample_truth: dict) -> None:
    from tingwu_nb.research.cluster import run_grid_distributed

    turns = sample_truth["turns"][:3]
    audio = sample_turns_wav(tmp_path / "clip.wav", 3, sample_pcm16k, sample_truth)
    reference = Reference.from_segments((t["start_s"], t["end_s"], t["text"]) for t in turns)
    grid = Grid([Recording("clip", audio, reference)], sample_rates=[16000, 8000], formats=["pcm"], speed="max")

    local = run_grid_sync(grid, RunStore(tmp_path / "local"), client_factory=emulator.client, progress=False)
    assert local["status"].eq("ok").all() and len(local) == 2

    store = RunStore(tmp_path / "cluster")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=40) as cluster, distributed.Client(cluster) as client:
        remote = run_grid_distributed(grid, store, client=client)
        # both cells ran on workers, not in this process; the driver wrote them into one store
        assert len(store.runs()) == 2
        assert remote[SAME].equals(local[SAME]), (remote[SAME], local[SAME])
        assert set(store.sentences()["condition_id"]) == set(local["condition_id"])
        for directory in remote["session_dir"]:  # each session came back into the store's folder
            assert Path(directory).parent == store.sessions_dir
            assert len(Session(directory).sentences()) > 0
        assert sum(client.run(_emulator_tasks).values()) == 2  # tasks on each worker's own emulator

        # right after: the same audio again into a new store on the now warm workers streams again
        fresh = run_grid_distributed(grid, RunStore(tmp_path / "fresh"), client=client)
        assert fresh[SAME].equals(local[SAME])
        streamed = client.run(_emulator_tasks)  # worker address -> tasks on its own emulator
        assert sum(streamed.values()) == 4

        again = run_grid_distributed(grid, store, client=client)
        assert again.equals(remote)  # cached: same rows, same wall_s, nothing streamed
        assert client.run(_emulator_tasks) == streamed



def _emulator_tasks() -> int:
    """Tasks created on this worker's embedded emulator (0 when it never started)."""
    from tingwu_nb.session.connect import embedded_emulator

    return len(embedded_emulator().store) if embedded_emulator.cache_info().currsize else 0
