"""A synthetic day through ``record()``'s machinery: does the client's memory stay flat?

A day (``--hours``, default 24) of synthetic 16 kHz pcm — 1.2 s of noise "speech" and 1.0 s of
silence, repeated (about 39 000 sentences a day) — is spooled to a temporary file and streamed
with the same :class:`~tingwu_nb.session.lifecycle.Recording` that ``record()`` runs (session
writer, reconnecting stream, result download), against the emulator's load-test engine in
another process. The emulator's speed limit is switched off for this run
(``ContractChoices(max_speed_factor=None)``) so a day takes minutes: the client is paced at
``--speed`` (default 100× real time), faster than the 10× the cloud path accepts; what is
measured is memory, not latency.

Every audio hour it prints the client's anonymous resident memory (``RssAnon``: heap, not the
page cache of the mapped audio file), ``RssFile`` for reference, and the sentences received.
Never passes or fails. Run: ``.venv/bin/python benchmarks/bench_day.py [--hours 24] [--speed 100]``.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import tempfile
import time
from pathlib import Path

import numpy as np

from tingwu_nb.client.replay import AudioSource, PcmFrames
from tingwu_nb.client.tasks import TingwuClient
from tingwu_nb.config import Credentials
from tingwu_nb.contract.params import RealtimeTaskRequest
from tingwu_nb.session.lifecycle import Recording, open_session

RATE = 16000
UNIT_S, SPEECH_S = 2.2, 1.2


def _serve(queue: multiprocessing.Queue) -> None:
    from tingwu_nb.emulator.app import Emulator
    from tingwu_nb.emulator.contract import ContractChoices, EmulatorConfig

    config = EmulatorConfig.generate(speech_engine="loadtest", choices=ContractChoices(max_speed_factor=None),
                                     analysis_engine="extractive")
    emulator = Emulator(config).start()
    creds = emulator.credentials
    queue.put((emulator.endpoint, emulator.app_key, creds.access_key_id, creds.access_key_secret))
    while True:
        time.sleep(3600)


def synthetic_day(hours: float, directory: Path) -> np.memmap:
    """``hours`` of the synthetic pattern as an int16 memmap, written one hour at a time."""
    rng = np.random.default_rng(0)
    unit = np.zeros(int(UNIT_S * RATE), dtype=np.int16)
    unit[:int(SPEECH_S * RATE)] = (rng.standard_normal(int(SPEECH_S * RATE)) * 3000).astype(np.int16)
    units = int(hours * 3600 / UNIT_S)
    path = directory / "day.raw"
    per_hour = int(3600 / UNIT_S)
    with open(path, "wb") as out:
        for start in range(0, units, per_hour):
            out.write(np.tile(unit, min(per_hour, units - start)).tobytes())
    return np.memmap(path, dtype=np.int16, mode="r")


def _memory() -> tuple[float, float]:
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(fields["RssAnon"].split()[0]) / 1024, int(fields["RssFile"].split()[0]) / 1024


async def run(hours: float, speed: float, work: Path, server: tuple[str, str, str, str]) -> None:
    endpoint, app_key, key_id, secret = server
    pcm = synthetic_day(hours, work)
    print(f"synthetic audio: {len(pcm) / RATE / 3600:.2f} h ({pcm.nbytes / 2**30:.2f} GiB spooled), "
          f"speed {speed:g}x", flush=True)
    rows: list[str] = []
    sentences = 0
    started = time.monotonic()

    def on_event(event) -> None:
        nonlocal sentences
        sentences += type(event).__name__ == "SentenceEnd"

    next_hour = [0]

    def progress(kind: str, value) -> None:
        if kind == "frame" and value[0] >= next_hour[0] * 3_600_000:
            anon, file = _memory()
            rows.append(f"{next_hour[0]:>4} h  RssAnon {anon:7.1f} MB  RssFile {file:7.1f} MB  "
                        f"sentences {sentences:6d}  wall {time.monotonic() - started:6.0f} s")
            print(rows[-1], flush=True)
            next_hour[0] += 1

    writer, _ = open_session(work / "sessions", "pcm")
    recording = Recording(request=RealtimeTaskRequest.create(output_level=2), audio={}, frames=PcmFrames(pcm, RATE),
                          speed=speed, writer=writer, on_event=on_event, on_progress=progress,
                          source=AudioSource(pcm, RATE, "pcm"), poll_interval_s=1.0, timeout_s=7200)
    creds = Credentials(access_key_id=key_id, access_key_secret=secret)
    async with TingwuClient(endpoint=endpoint, app_key=app_key, credentials=creds) as client:
        await recording.run(client)
    anon, file = _memory()
    print(f"done: {sentences} sentences live in {time.monotonic() - started:.0f} s; final RssAnon {anon:.1f} MB, "
          f"RssFile {file:.1f} MB; session status {writer.meta.get('status')}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--speed", type=float, default=100.0)
    args = parser.parse_args()
    queue: multiprocessing.Queue = multiprocessing.Queue()
    server = multiprocessing.Process(target=_serve, args=(queue,), daemon=True)
    server.start()
    try:
        with tempfile.TemporaryDirectory(prefix="tingwu-day-") as tmp:
            asyncio.run(run(args.hours, args.speed, Path(tmp), queue.get(timeout=120)))
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
