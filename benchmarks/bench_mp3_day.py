"""A long session with mp3 transcoding: how much memory do the emulator and the client need?

Two child processes: an emulator (load-test engine, speed limit off, extractive analysis) and a
client that streams ``--hours`` (default 2) of the bench_day pattern (1.2 s of noise "speech",
1.0 s of silence) as fast as the emulator takes it with ``Transcoding.TargetAudioFormat: "mp3"``,
then runs ``collect()`` (what ``record()`` does at the end: stop, wait, download every result into
a session directory). This process samples both children's anonymous resident memory
(``RssAnon``, /proc) every 50 ms and prints the peak of each phase: streaming, then results
(post-processing, the mp3 and JSON downloads, the tables). The mp3 is 128 kb/s: 115 MB for 2 h,
1.4 GB for a day.

``--source DIR`` runs both children from another checkout's ``tingwu_nb`` (e.g. the commit before
the mp3 went to disk, unpacked with ``git archive <commit> tingwu_nb | tar -x -C DIR``) for a
before/after. Never passes or fails. Do not run it beside another benchmark.
Run: ``.venv/bin/python benchmarks/bench_mp3_day.py [--hours 2] [--source DIR]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench_emulator_day import _SERVER, RATE, rss_mb, synthetic_hours  # the same emulator and day

_CLIENT = """
import asyncio, json, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import numpy as np
from tingwu_nb.client.stream import RealtimeStream, StreamOptions
from tingwu_nb.client.tasks import TingwuClient
from tingwu_nb.config import Credentials
from tingwu_nb.contract.params import RealtimeTaskRequest
from tingwu_nb.session.collect import collect
from tingwu_nb.session.recorder import SessionWriter

(endpoint, app_key, key_id, secret), raw, work = json.loads(sys.argv[2]), sys.argv[3], Path(sys.argv[4])

async def main():
    data = memoryview(np.memmap(raw, dtype=np.int16, mode="r")).cast("B")
    creds = Credentials(access_key_id=key_id, access_key_secret=secret)
    async with TingwuClient(endpoint=endpoint, app_key=app_key, credentials=creds) as client:
        task = await client.create_realtime_task(RealtimeTaskRequest.create(output_level=1, mp3=True))
        stream = RealtimeStream(task.meeting_join_url, keep_events=False,
                                options=StreamOptions(stop_timeout_s=600, stop_cap_per_audio_s=None))
        await stream.open()
        for at in range(0, len(data), 32000):
            await stream.send(bytes(data[at:at + 32000]))
        await stream.stop()
        await stream.close()
        print("results", flush=True)
        started = time.monotonic()
        writer = SessionWriter(work / "session", fmt="pcm")
        await collect(client, task.task_id, writer, poll_interval_s=0.5, timeout_s=3600)
        writer.close()
        sizes = {p.name: p.stat().st_size for p in (work / "session" / "results").iterdir()}
        print(json.dumps({"results_s": time.monotonic() - started, "files": sizes}), flush=True)

asyncio.run(main())
"""


class Peaks:
    """Samples the children's RssAnon every ``interval`` s; peak per (child, phase)."""

    def __init__(self, pids: dict[str, int], interval: float = 0.05) -> None:
        self.pids, self.interval, self.phase = pids, interval, "streaming"
        self.peak: dict[tuple[str, str], float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for name, pid in self.pids.items():
                key = (name, self.phase)
                self.peak[key] = max(self.peak.get(key, 0.0), rss_mb(pid))
            time.sleep(self.interval)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--source", default=None, help="run both children from this checkout's tingwu_nb")
    args = parser.parse_args()
    root = args.source or str(Path(__file__).resolve().parents[1])
    server = subprocess.Popen([sys.executable, "-c", _SERVER, root], stdout=subprocess.PIPE, text=True)
    try:
        address = server.stdout.readline()
        with tempfile.TemporaryDirectory(prefix="tingwu-mp3-day-") as tmp:
            seconds = len(synthetic_hours(args.hours, Path(tmp) / "day.raw")) / RATE
            client = subprocess.Popen([sys.executable, "-c", _CLIENT, root, address, str(Path(tmp) / "day.raw"), tmp],
                                      stdout=subprocess.PIPE, text=True)
            peaks = Peaks({"emulator": server.pid, "client": client.pid})
            started = time.monotonic()
            for line in client.stdout:
                if line.strip() == "results":
                    streamed = time.monotonic() - started
                    peaks.phase = "results"
                elif line.startswith("{"):
                    report = json.loads(line)
            client.wait()
            peaks.stop()
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"tingwu_nb {'from ' + args.source if args.source else 'of this checkout'}: {seconds / 3600:.2f} h of "
          f"audio streamed in {streamed:.0f} s; results built and downloaded in {report['results_s']:.1f} s")
    print("files: " + ", ".join(f"{name} {size / 2**20:.1f} MB" for name, size in sorted(report["files"].items())))
    for name in ("emulator", "client"):
        print(f"{name:8s} peak RssAnon: streaming {peaks.peak.get((name, 'streaming'), 0):7.1f} MB, "
              f"results {peaks.peak.get((name, 'results'), 0):7.1f} MB")


if __name__ == "__main__":
    main()
