"""Throughput benchmark: a long recording at the fastest accepted speed through the emulator.

The bundled sample meeting is tiled (with 1 s pauses) to ``--minutes`` of audio and recorded
with :func:`tingwu_nb.record` at ``speed=math.inf`` (= ``tingwu_nb.client.pacing.MAX_SPEED``) on a
loopback emulator. Prints:

* throughput: audio seconds per wall second, first audio frame -> TranscriptionCompleted;
* when the first live SentenceEnd arrived (wall seconds after the first frame, and how much
  audio had been sent by then) and how many SentenceEnds arrived before StopTranscription;
* stop -> completed: last audio frame sent -> TranscriptionCompleted;
* WER of the final transcript against the tiled ground truth, sentences vs turns.

Never passes or fails. Run: ``.venv/bin/python benchmarks/bench_throughput.py`` (10 minutes;
``--minutes 60`` for the one-hour check).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import tempfile
import time
from pathlib import Path

import numpy as np

from tingwu_nb.client.pacing import MAX_SPEED
from tingwu_nb.contract import events as ev
from tingwu_nb.contract.params import RealtimeTaskRequest
from tingwu_nb.emulator.app import Emulator
from tingwu_nb.emulator.engine.engine import EngineConfig, SpeechEngine
from tingwu_nb.research.metrics import wer
from tingwu_nb.samples import load_sample_meeting, write_wav
from tingwu_nb.session.recording import record

GAP_S = 1.0


def long_meeting(minutes: float, directory: Path) -> tuple[Path, str, float]:
    """The sample meeting tiled to about ``minutes``: (WAV path, truth text, duration s)."""
    pcm, truth = load_sample_meeting(16000)
    gap = np.zeros(int(GAP_S * 16000), dtype=np.int16)
    copies = max(1, math.ceil(minutes * 60 / (len(pcm) / 16000 + GAP_S)))
    audio = np.concatenate([part for _ in range(copies) for part in (pcm, gap)])
    text = " ".join(t["text"] for _ in range(copies) for t in truth["turns"])
    path = write_wav(directory / f"meeting_{minutes:g}min.wav", audio, 16000)
    return path, text, len(audio) / 16000


async def run(minutes: float, level: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        wav, truth, duration = long_meeting(minutes, Path(tmp))
        engine = SpeechEngine(EngineConfig())
        engine.warm_up("en")
        seen: list[ev.Event] = []
        async with Emulator(engine=engine) as emu, emu.client() as client:
            started = time.monotonic()
            session = await record(wav, RealtimeTaskRequest.create(output_level=level), client=client,
                                   speed=math.inf, out_dir=tmp, on_event=seen.append, poll_interval_s=0.5)
            total_wall = time.monotonic() - started
        frames = session.frames()
        first_sent, last_sent = float(frames["mono"].iloc[0]), float(frames["mono"].iloc[-1])
        total_ms = int(frames["end_ms"].iloc[-1])
        ends = [e for e in seen if isinstance(e, ev.SentenceEnd)]
        live = [e for e in ends if e.audio_sent_ms < total_ms]
        completed = next(e for e in seen if isinstance(e, ev.TranscriptionCompleted))
        text = " ".join(session.sentences()["text"])
        print(f"audio                 {duration / 60:.1f} min at speed max (= {MAX_SPEED:g}x), OutputLevel {level}")
        print(f"status                {session.status}")
        print(f"sending               {last_sent - first_sent:.1f} s wall "
              f"({duration / max(last_sent - first_sent, 1e-9):.1f}x real time)")
        print(f"throughput            {duration / (completed.received_at - first_sent):.2f} audio s per wall s "
              f"(first frame -> TranscriptionCompleted {completed.received_at - first_sent:.1f} s)")
        if ends:
            first = ends[0]
            print(f"first live SentenceEnd {first.received_at - first_sent:.2f} s after the first frame "
                  f"({first.audio_sent_ms / 1000:.1f} s of audio sent)")
        print(f"SentenceEnd           {len(ends)} in all, {len(live)} before StopTranscription")
        print(f"stop -> completed     {completed.received_at - last_sent:.2f} s")
        print(f"WER                   {wer(truth, text):.3f} ({len(session.sentences())} sentences, "
              f"{len(truth.split())} truth words)")
        print(f"end to end            {total_wall:.1f} s (CreateTask -> results downloaded)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--level", type=int, default=1, help="OutputLevel (2 adds interim results)")
    args = parser.parse_args()
    asyncio.run(run(args.minutes, args.level))


if __name__ == "__main__":
    main()
