"""Benchmark the emulator's speech engine on the committed sample meeting (prints, never fails).

For each model (tiny.en, base) and sample rate (16 kHz, 8 kHz) the sample meeting is fed to a
:class:`~tingwu_nb.emulator.engine.recognizer.StreamingRecognizer` in 100 ms chunks as fast as
possible and the script reports:

* RTF: wall time of all ``feed``/``finish`` calls / audio duration;
* WER of the concatenated Finals against the ground truth (lowercase, punctuation stripped);
* finalisation latency: processing time of the ``feed`` call that emitted each Final (time from
  end-of-speech detection to the Final being available), mean and max;
* audio delay: stream time of the end of the chunk that emitted each Final minus the true speech
  end (dominated by ``max_sentence_silence_ms``), mean and max.

Run: ``python benchmarks/bench_engine.py [--models tiny.en base] [--rates 16000 8000] [--interim]``
"""

from __future__ import annotations

import argparse
import statistics
import time

import jiwer
import numpy as np
from scipy.signal import resample_poly

from tingwu_nb.emulator.engine.engine import EngineConfig, SpeechEngine
from tingwu_nb.emulator.engine.recognizer import Final, Interim, StreamingRecognizer
from tingwu_nb.research.metrics import normalize_text as norm
from tingwu_nb.samples import load_sample_meeting as load_sample


def run(model: str, rate: int, pcm16k: np.ndarray, truth: dict, interim: bool) -> dict:
    pcm = pcm16k if rate == 16000 else np.clip(
        np.round(resample_poly(pcm16k.astype(np.float64), rate, 16000)), -32768, 32767).astype(np.int16)
    engine = SpeechEngine(EngineConfig(english_model=model))
    t0 = time.perf_counter()
    engine.warm_up("en")
    load_s = time.perf_counter() - t0
    rec = StreamingRecognizer(engine, sample_rate=rate, interim=interim)
    chunk = rate // 10
    finals: list[tuple[Final, float, int]] = []  # (final, seconds inside the emitting call, chunk end ms)
    n_interim = 0
    wall = 0.0
    for i in range(0, len(pcm) + 1, chunk):
        last = i >= len(pcm)
        t = time.perf_counter()
        events = rec.finish() if last else rec.feed(pcm[i:i + chunk])
        dt = time.perf_counter() - t
        wall += dt
        end_ms = rec.audio_ms
        for e in events:
            if isinstance(e, Final):
                finals.append((e, dt, end_ms))
            elif isinstance(e, Interim):
                n_interim += 1
        if last:
            break
    turns = truth["turns"]
    ref = norm(" ".join(t["text"] for t in turns))
    hyp = norm(" ".join(f.text for f, _, _ in finals))
    lat = [dt for _, dt, _ in finals]
    delays = [end - t["end_s"] * 1000 for (_, _, end), t in zip(finals, turns, strict=False)]
    return {
        "model": model, "rate": rate, "load_s": load_s, "finals": len(finals), "interims": n_interim,
        "rtf": wall / (len(pcm) / rate), "wer": jiwer.wer(ref, hyp),
        "lat_mean": statistics.mean(lat) if lat else float("nan"), "lat_max": max(lat, default=float("nan")),
        "delay_mean": statistics.mean(delays) if delays else float("nan"),
        "delay_max": max(delays, default=float("nan")),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["tiny.en", "base"])
    ap.add_argument("--rates", nargs="+", type=int, default=[16000, 8000])
    ap.add_argument("--interim", action="store_true", help="also emit Interims every 1000 ms")
    args = ap.parse_args()
    pcm, truth = load_sample()
    print(f"sample meeting: {len(pcm) / 16000:.1f} s, {len(truth['turns'])} turns, 100 ms chunks, "
          f"int8, cpu_threads=2, beam 1, interim={args.interim}")
    head = (f"{'model':8} {'rate':>6} {'load s':>7} {'finals':>6} {'interims':>8} {'RTF':>6} {'WER %':>6} "
            f"{'final lat mean/max ms':>22} {'audio delay mean/max ms':>24}")
    print(head)
    print("-" * len(head))
    for model in args.models:
        for rate in args.rates:
            r = run(model, rate, pcm, truth, args.interim)
            print(f"{r['model']:8} {r['rate']:>6} {r['load_s']:>7.2f} {r['finals']:>6} {r['interims']:>8} "
                  f"{r['rtf']:>6.3f} {100 * r['wer']:>6.1f} "
                  f"{1000 * r['lat_mean']:>10.0f} / {1000 * r['lat_max']:<9.0f} "
                  f"{r['delay_mean']:>11.0f} / {r['delay_max']:<10.0f}", flush=True)


if __name__ == "__main__":
    main()
