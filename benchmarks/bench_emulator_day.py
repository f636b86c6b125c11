"""The emulator through a synthetic day: does its memory stay flat, and does its loop keep answering?

An emulator (load-test engine, speed limit off, extractive analysis) runs in a child process;
this process streams ``--hours`` (default 24) of the bench_day pattern — 1.2 s of noise "speech"
and 1.0 s of silence, about 39 000 sentences a day — as fast as the emulator takes it, in 1 s
frames on one WebSocket (the bare ``RealtimeStream``, no recorder), and prints the child's
anonymous resident memory (``RssAnon``) every audio hour. Then it stops the task and polls
GetTaskInfo every ``--poll`` s while the results are built, and again while the Transcription
file is downloaded: the slowest answer is the longest the emulator's event loop was busy.

``--source DIR`` runs the emulator from another checkout's ``tingwu_nb`` (e.g. an older commit
unpacked with ``git archive <commit> tingwu_nb | tar -x -C DIR``) for a before/after; the client
side is always this checkout. Never passes or fails. Do not run it beside another benchmark.
Run: ``.venv/bin/python benchmarks/bench_emulator_day.py [--hours 24] [--source DIR]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tingwu_nb.client.stream import RealtimeStream, StreamOptions
from tingwu_nb.client.tasks import TingwuClient
from tingwu_nb.config import Credentials
from tingwu_nb.contract import events as ev
from tingwu_nb.contract.params import RealtimeTaskRequest

RATE = 16000
UNIT_S, SPEECH_S = 2.2, 1.2
FRAME_S = 1

_SERVER = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from tingwu_nb.emulator.app import Emulator
from tingwu_nb.emulator.contract import ContractChoices, EmulatorConfig
config = EmulatorConfig.generate(speech_engine="loadtest", analysis_engine="extractive",
                                 choices=ContractChoices(max_speed_factor=None))
emu = Emulator(config).start()
c = emu.credentials
print(json.dumps([emu.endpoint, emu.app_key, c.access_key_id, c.access_key_secret]), flush=True)
while True:
    time.sleep(3600)
"""


def synthetic_hours(hours: float, path: Path) -> np.memmap:
    rng = np.random.default_rng(0)
    unit = np.zeros(int(UNIT_S * RATE), dtype=np.int16)
    unit[:int(SPEECH_S * RATE)] = (rng.standard_normal(int(SPEECH_S * RATE)) * 3000).astype(np.int16)
    units, per_hour = int(hours * 3600 / UNIT_S), int(3600 / UNIT_S)
    with open(path, "wb") as out:
        for start in range(0, units, per_hour):
            out.write(np.tile(unit, min(per_hour, units - start)).tobytes())
    return np.memmap(path, dtype=np.int16, mode="r")


def rss_mb(pid: int) -> float:
    """Anonymous resident memory (RssAnon) of process ``pid``, MB; 0.0 once it has exited."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


async def poll_until(client: TingwuClient, task_id: str, interval: float, done) -> tuple[list[float], str]:
    """GetTaskInfo every ``interval`` s until ``done(info)``: every answer time, last status."""
    times, status = [], ""
    while True:
        started = time.perf_counter()
        info = await client.get_task_info(task_id)
        times.append(time.perf_counter() - started)
        status = info.status or ""
        if done(info):
            return times, status
        await asyncio.sleep(interval)


async def run(args: argparse.Namespace, pid: int, server: list[str], work: Path) -> None:
    endpoint, app_key, key_id, secret = server
    pcm = synthetic_hours(args.hours, work / "day.raw")
    data = memoryview(pcm).cast("B")
    print(f"emulator {'from ' + args.source if args.source else 'of this checkout'}: {len(pcm) / RATE / 3600:.2f} h "
          f"of audio; RssAnon at start {rss_mb(pid):.1f} MB", flush=True)
    ends = [0]
    rows: list[tuple[float, float]] = []
    creds = Credentials(access_key_id=key_id, access_key_secret=secret)
    async with TingwuClient(endpoint=endpoint, app_key=app_key, credentials=creds) as client:
        task = await client.create_realtime_task(RealtimeTaskRequest.create(output_level=1))
        stream = RealtimeStream(task.meeting_join_url, keep_events=False,
                                options=StreamOptions(stop_timeout_s=600, stop_cap_per_audio_s=None),
                                on_event=lambda e: ends.__setitem__(0, ends[0] + isinstance(e, ev.SentenceEnd)))
        await stream.open()
        frame, started = FRAME_S * RATE * 2, time.monotonic()
        for n, at in enumerate(range(0, len(data), frame)):
            if n % 3600 == 0:
                rows.append((n / 3600, rss_mb(pid)))
                print(f"{n / 3600:5.0f} h  emulator RssAnon {rows[-1][1]:8.1f} MB  sentences {ends[0]:6d}  "
                      f"wall {time.monotonic() - started:6.0f} s", flush=True)
            await stream.send(bytes(data[at:at + frame]))
        await stream.stop()
        await stream.close()
        rows.append((len(pcm) / RATE / 3600, rss_mb(pid)))
        print(f"streamed: {ends[0]} sentences in {time.monotonic() - started:.0f} s; emulator RssAnon "
              f"{rows[-1][1]:.1f} MB", flush=True)
        built = time.perf_counter()
        await client.stop_realtime_task(task.task_id)
        times, status = await poll_until(client, task.task_id, args.poll, lambda i: i.status != "ONGOING")
        print(f"results built in {time.perf_counter() - built:.1f} s ({status}); GetTaskInfo every {args.poll} s: "
              f"{len(times)} answers, worst {max(times) * 1000:.0f} ms, median {np.median(times) * 1000:.0f} ms; "
              f"RssAnon {rss_mb(pid):.1f} MB", flush=True)
        info = await client.get_task_info(task.task_id)
        fetching = time.perf_counter()
        download = asyncio.create_task(client.fetch_bytes(info.result_urls["Transcription"]))
        times, _ = await poll_until(client, task.task_id, args.poll, lambda i: download.done())
        size = len(await download)
        print(f"Transcription file {size / 2**20:.1f} MB downloaded in {time.perf_counter() - fetching:.1f} s; "
              f"GetTaskInfo meanwhile: {len(times)} answers, worst {max(times) * 1000:.0f} ms; "
              f"RssAnon {rss_mb(pid):.1f} MB", flush=True)
    if len(rows) > 2:
        hours = np.array([h for h, _ in rows])
        mb = np.array([m for _, m in rows])
        slope = np.polyfit(hours[1:], mb[1:], 1)[0]
        print(f"emulator RssAnon growth while streaming: {slope:.1f} MB per audio hour (fit from hour 1)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--poll", type=float, default=0.1, help="GetTaskInfo interval during the build (s)")
    parser.add_argument("--source", default=None, help="run the emulator from this checkout's tingwu_nb")
    args = parser.parse_args()
    root = args.source or str(Path(__file__).resolve().parents[1])
    child = subprocess.Popen([sys.executable, "-c", _SERVER, root], stdout=subprocess.PIPE, text=True)
    try:
        server = json.loads(child.stdout.readline())
        with tempfile.TemporaryDirectory(prefix="tingwu-emu-day-") as tmp:
            asyncio.run(run(args, child.pid, server, Path(tmp)))
    finally:
        child.terminate()
        child.wait(timeout=30)


if __name__ == "__main__":
    main()
