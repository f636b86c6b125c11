"""Live translation benchmark: the bundled English sample meeting (≈ 49 s) through the emulator.

The route measured is the offline language model's (text translation, ``analysis_engine="llm"``;
needs ``tingwu-nb prepare-models``). For each sending speed (1× real time and the fastest
accepted, MAX_SPEED) it reports, per target language:

* the latency from each SentenceEnd to its ResultTranslated (both stamped by the client when
  they arrived) — median, 90th percentile and maximum;
* the time from StopTranscription's last final to TranscriptionCompleted (pending translations
  are sent first);
* at Translation.OutputLevel 2, how many TranscriptionResultChanged events got a partial
  translation and how many did not (skipped because the analysis worker was busy, or dropped
  because their sentence ended first).

Prints a table; never passes or fails on time. Run:
``.venv/bin/python benchmarks/bench_translation.py`` (``--speeds inf``, ``--targets cn ja``).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import statistics
import tempfile
import time
from pathlib import Path

from tingwu_nb.client.pacing import MAX_SPEED
from tingwu_nb.contract import events as ev
from tingwu_nb.contract.params import RealtimeTaskRequest, Translation
from tingwu_nb.emulator.app import Emulator
from tingwu_nb.emulator.contract import EmulatorConfig
from tingwu_nb.emulator.engine.engine import EngineConfig, SpeechEngine
from tingwu_nb.samples import sample_meeting_path, sample_meeting_truth
from tingwu_nb.session.recording import record


class _Totals(logging.Handler):
    """Collects the emulator's per-stream translation totals (LiveTranslation logs them at the end)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.totals: list[tuple] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg.startswith("live translation: %d finals"):
            self.totals.append(record.args)


async def one_run(emu: Emulator, speed: float, targets: list[str], out: Path) -> dict:
    request = RealtimeTaskRequest.create(language="en", translate_to=targets, output_level=2,
                                         translation=Translation(target_languages=tuple(targets), output_level=2))
    started = time.monotonic()
    async with emu.client() as client:
        session = await record(sample_meeting_path(), request, client=client, speed=speed, out_dir=out,
                               poll_interval_s=0.2)
    wall = time.monotonic() - started
    events = session.events()
    ends = {e.message_id: e for e in events if isinstance(e, ev.SentenceEnd)}
    changed = [e for e in events if isinstance(e, ev.TranscriptionResultChanged)]
    latency: dict[str, list[float]] = {t: [] for t in targets}
    partials = set()
    for e in events:
        if isinstance(e, ev.ResultTranslated):
            if e.items[0].partial:
                partials.add(e.source_message_id)
            elif e.source_message_id in ends:
                latency[e.target_lang].append(e.received_at - ends[e.source_message_id].received_at)
    last_end = max(e.received_at for e in ends.values())
    completed = next(e for e in events if isinstance(e, ev.TranscriptionCompleted))
    return {"wall_s": wall, "finals": len(ends), "latency": latency, "interims": len(changed),
            "partials": len(partials), "tail_s": completed.received_at - last_end}


def fmt(values: list[float]) -> str:
    if not values:
        return "-"
    q = statistics.quantiles(values, n=10)[-1] if len(values) > 1 else values[0]
    return f"median {statistics.median(values):5.1f}  p90 {q:5.1f}  max {max(values):5.1f}"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speeds", nargs="+", default=["1", "inf"])
    parser.add_argument("--targets", nargs="+", default=["cn"])
    args = parser.parse_args()
    engine = SpeechEngine(EngineConfig())
    duration = sample_meeting_truth()["duration_s"]
    print(f"sample meeting: {duration:.1f} s of English speech; targets {args.targets}")
    totals = _Totals()
    logger = logging.getLogger("tingwu_nb.emulator.realtime")
    logger.addHandler(totals)
    logger.setLevel(logging.INFO)
    async with Emulator(EmulatorConfig.generate(analysis_engine="llm"), engine=engine) as emu:
        await asyncio.to_thread(emu.app.state.analysis.engine)  # load the model outside the measured runs
        for raw in args.speeds:
            speed = math.inf if raw in ("inf", "max") else float(raw)
            with tempfile.TemporaryDirectory() as tmp:
                r = await one_run(emu, speed, args.targets, Path(tmp))
            label = f"speed {'max (' + format(MAX_SPEED, 'g') + 'x)' if math.isinf(speed) else raw + 'x'}"
            print(f"{label}: wall {r['wall_s']:5.1f} s, {r['finals']} sentences, "
                  f"TranscriptionCompleted {r['tail_s']:5.1f} s after the last SentenceEnd")
            for target, values in r["latency"].items():
                print(f"    SentenceEnd -> ResultTranslated [{target}] ({len(values)}): {fmt(values)} s")
            _, sent, skipped, superseded = totals.totals[-1] if totals.totals else (0, "?", "?", "?")
            print(f"    partials: {r['partials']} of {r['interims']} interim results translated "
                  f"(emulator: {sent} sent, {skipped} skipped while the worker was busy, {superseded} superseded "
                  f"by their final)")


if __name__ == "__main__":
    asyncio.run(main())
