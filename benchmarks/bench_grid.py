"""Grid benchmark: wall time of a research grid versus the ideal, locally and on a dask cluster.

The grid is the bundled sample meeting (or its first ``--turns`` turns) × 16/8 kHz × pcm/opus,
streamed at ``MAX_SPEED``. The ideal wall time is total audio / (speed × concurrency): what
the grid would take if every session streamed at full speed with no setup or finalisation.
Prints, for each run, wall time, ideal and their ratio:

* local: :func:`tingwu_nb.research.runner.run_grid` on one embedded emulator, ``--concurrency``
  sessions at once (the model loads before the clock starts);
* cluster cold: :func:`tingwu_nb.research.cluster.run_grid_distributed` on a fresh two-worker
  ``LocalCluster`` (each worker starts its own emulator and loads the model inside the clock);
* cluster warm: the same grid again into a fresh store on the same (now warm) workers.

Never passes or fails (the cluster runs are skipped when dask is not installed). Run:
``.venv/bin/python benchmarks/bench_grid.py`` (``--turns 5`` for a quick run).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from tingwu_nb.client.pacing import MAX_SPEED
from tingwu_nb.emulator.app import Emulator
from tingwu_nb.research.grid import Grid, Recording, Reference
from tingwu_nb.research.runner import run_grid_sync
from tingwu_nb.research.store import RunStore
from tingwu_nb.samples import load_sample_meeting, write_wav


def sample_grid(directory: Path, turns: int | None) -> tuple[Grid, float]:
    """The sample meeting (first ``turns`` turns) as a 2 × 2 grid, and its audio seconds."""
    pcm, truth = load_sample_meeting(16000)
    rows = truth["turns"][:turns] if turns else truth["turns"]
    end_s = min(rows[-1]["end_s"] + 0.5, len(pcm) / 16000)
    audio = write_wav(directory / "meeting.wav", pcm[: int(end_s * 16000)], 16000)
    reference = Reference.from_segments((t["start_s"], t["end_s"], t["text"]) for t in rows)
    grid = Grid([Recording("meeting", audio, reference)], sample_rates=[16000, 8000], formats=["pcm", "opus"],
                speed="max")
    return grid, end_s


def line(name: str, wall: float, ideal: float, runs) -> None:
    ok = int((runs["status"] == "ok").sum())
    print(f"{name:<14} wall {wall:7.1f} s   ideal {ideal:6.1f} s   ratio {wall / ideal:5.2f}   "
          f"{ok}/{len(runs)} cells ok   mean error rate {runs['error_rate'].mean():.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--turns", type=int, default=None, help="first N turns of the sample (default all)")
    parser.add_argument("--concurrency", type=int, default=2, help="local sessions at once (default 2)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        grid, audio_s = sample_grid(root, args.turns)
        cells = len(grid.conditions())
        print(f"grid: {cells} cells of {audio_s:.1f} s audio at speed {MAX_SPEED:g}x")

        with Emulator() as emulator:  # loads the model before the clock starts
            started = time.monotonic()
            runs = run_grid_sync(grid, RunStore(root / "local"), client_factory=emulator.client,
                                 concurrency=args.concurrency, progress=False)
            line(f"local (c={args.concurrency})", time.monotonic() - started,
                 cells * audio_s / (MAX_SPEED * args.concurrency), runs)

        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            print("cluster: skipped (pip install 'tingwu-nb[cluster]')")
            return
        from tingwu_nb.research.cluster import run_grid_distributed

        ideal = cells * audio_s / (MAX_SPEED * 2)
        started = time.monotonic()
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                          silence_logs=40) as cluster, Client(cluster) as client:
            runs = run_grid_distributed(grid, RunStore(root / "cold"), client=client)
            line("cluster cold", time.monotonic() - started, ideal, runs)
            started = time.monotonic()
            runs = run_grid_distributed(grid, RunStore(root / "warm"), client=client)
            line("cluster warm", time.monotonic() - started, ideal, runs)


if __name__ == "__main__":
    main()
