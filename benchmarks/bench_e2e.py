"""End-to-end benchmark: the bundled sample meeting through the emulator over loopback.

For each English model (tiny.en, base) it reports:
* the emulator's real-time factor (wall time from the first audio frame to
  TranscriptionCompleted, divided by the audio duration, with no pacing);
* the time from the true end of each spoken turn (ground truth) to its SentenceEnd event
  at 1× real-time pacing, i.e. when the frame holding the turn's last sample was sent
  until the final arrived;
* end-to-end wall time (CreateTask → results downloaded) at 1× and with no pacing.

Prints a table; never passes or fails on time. Run: ``.venv/bin/python benchmarks/bench_e2e.py``
(``--speeds inf`` to skip the 1× runs, ``--models tiny.en``).
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import math
import statistics
import tempfile
import time
from pathlib import Path

from tingwu_nb.contract import events as ev
from tingwu_nb.contract.params import RealtimeTaskRequest
from tingwu_nb.emulator.app import Emulator
from tingwu_nb.emulator.engine.engine import EngineConfig, SpeechEngine
from tingwu_nb.samples import sample_meeting_path, sample_meeting_truth
from tingwu_nb.session.recording import record


async def one_run(emu: Emulator, speed: float, out: Path) -> dict:
    truth = sample_meeting_truth()
    request = RealtimeTaskRequest.create(language="en", output_level=1)
    started = time.monotonic()
    async with emu.client() as client:
        session = await record(sample_meeting_path(), request, client=client, speed=speed,
                               out_dir=out, poll_interval_s=0.1)
    wall = time.monotonic() - started
    frames = session.frames()
    ends, sent_at = list(frames["end_ms"]), list(frames["mono"])
    finals = [e for e in session.events() if isinstance(e, ev.SentenceEnd)]
    completed = next(e for e in session.events() if isinstance(e, ev.TranscriptionCompleted))
    latencies = []
    for event, turn in zip(finals, truth["turns"]):
        i = min(bisect.bisect_left(ends, int(turn["end_s"] * 1000)), len(ends) - 1)
        latencies.append(event.received_at - sent_at[i])
    return {
        "wall_s": wall,
        "stream_s": completed.received_at - sent_at[0],
        "duration_s": truth["duration_s"],
        "finals": len(finals),
        "latency": latencies,
    }


def fmt_latency(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{statistics.mean(values):.2f} / {statistics.median(values):.2f} / {max(values):.2f}"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=["tiny.en", "base"])
    parser.add_argument("--speeds", nargs="+", default=["1", "inf"])
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for model in args.models:
            engine = SpeechEngine(EngineConfig(english_model=model))
            engine.warm_up("en")
            async with Emulator(engine=engine) as emu:
                for speed_text in args.speeds:
                    speed = math.inf if speed_text == "inf" else float(speed_text)
                    result = await one_run(emu, speed, Path(tmp))
                    rows.append((model, speed_text, result))
                    print(f"  done: {model} at {speed_text}x", flush=True)
    print()
    print("| model | speed | finals | e2e wall s | stream s | emulator RTF | end of speech → SentenceEnd s "
          "(mean / median / max) |")
    print("|---|---|---|---|---|---|---|")
    for model, speed, r in rows:
        rtf = f"{r['stream_s'] / r['duration_s']:.3f}" if speed == "inf" else "-"
        latency = fmt_latency(r["latency"]) if speed != "inf" else "-"
        print(f"| {model} | {speed}× | {r['finals']} | {r['wall_s']:.1f} | {r['stream_s']:.1f} | {rtf} | {latency} |")
    print(f"\naudio: sample meeting, {rows[0][2]['duration_s']:.1f} s, 16 kHz PCM, OutputLevel 1")


if __name__ == "__main__":
    asyncio.run(main())
