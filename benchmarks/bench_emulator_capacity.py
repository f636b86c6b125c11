"""Emulator capacity: concurrent 1x sessions with real recognition vs end-of-speech -> SentenceEnd.

The emulator runs in a SUBPROCESS (so its CPU is measured alone: ``time.process_time`` of that
process over the span of each run, all its threads) with the real Whisper engine. For each
OutputLevel in ``--levels`` and each N in ``--n`` the parent runs N concurrent
:func:`tingwu_nb.record` sessions at 1x, session ``i`` streaming the bundled sample meeting
rotated to start at turn ``3 i`` and tiled (1 s pauses) to ``--seconds`` of audio, so sentence
ends do not line up across sessions. Columns per row:

* ``p50`` / ``p95`` / ``max``: ``latency_s`` of every live SentenceEnd of every session
  (``Session.live_sentences``: receive time minus the send time of the frame holding the
  sentence's end, which includes the 800 ms of silence that ends a sentence less its 300 ms pad);
* ``got/ref``: SentenceEnds received vs the finals an offline ``StreamingRecognizer`` makes
  from the same audio (computed once per audio, cached in the temp directory); ``lost`` =
  reference sentences whose text no live SentenceEnd of that session carries;
* ``cores``: emulator CPU seconds / wall seconds while all N sessions stream (from the last
  session's first frame to the first session's last frame; ``run`` = the same from the first
  CreateTask to the last result downloaded);
* profile of the emulator's decode threads over that window (``StreamRuntime.stats`` and
  ``SpeechEngine.stats`` deltas): ``wait`` = mean / max seconds a feed call queued for a decode
  thread, ``fin``/``int`` = seconds inside final / interim decodes per second of wall time
  (summed over threads), ``n_int`` interim decodes, ``skip`` interims the decode gate shed;
* ``load``: ``os.getloadavg()`` 1-minute average before and after the run (other processes
  share the cores: numbers are only as quiet as the machine).

Never passes or fails. Run: ``.venv/bin/python benchmarks/bench_emulator_capacity.py``
(N = 1 2 4 6 8, levels 1 and 2, 60 s: about 15 minutes). Engine knobs for experiments:
``--workers`` (faster-whisper ``num_workers``), ``--cpu-threads``, ``--runtime-threads``,
``--final-pad`` (finals on a trimmed encoder window, as interims are: cheaper, other text).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import hashlib
import json
import multiprocessing as mp
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

GAP_S = 1.0
CHUNK_MS = 100


def session_audio(i: int, seconds: float) -> np.ndarray:
    """The sample meeting rotated to start at turn ``3 i`` (mod turns), tiled to ``seconds``."""
    from tingwu_nb.samples import load_sample_meeting

    pcm, truth = load_sample_meeting(16000)
    turns = truth["turns"]
    start = max(0, int((turns[(3 * i) % len(turns)]["start_s"] - 0.4) * 16000))
    loop = np.concatenate([pcm[start:], np.zeros(int(GAP_S * 16000), np.int16), pcm[:start]])
    reps = int(np.ceil(seconds * 16000 / len(loop)))
    return np.tile(loop, reps)[: int(seconds * 16000)]


def reference_texts(audio: np.ndarray, cache: Path) -> list[str]:
    """Finals of an offline StreamingRecognizer fed ``audio`` in 100 ms chunks (cached)."""
    key = hashlib.sha256(audio.tobytes()).hexdigest()[:16]
    path = cache / f"capacity_ref_{key}.json"
    if path.exists():
        return json.loads(path.read_text())
    from tingwu_nb.emulator.engine.engine import EngineConfig, SpeechEngine
    from tingwu_nb.emulator.engine.recognizer import Final, StreamingRecognizer

    engine = _REF_ENGINE.setdefault("engine", SpeechEngine(EngineConfig()))
    rec = StreamingRecognizer(engine, language="en")
    step = 16000 * CHUNK_MS // 1000
    events = [e for i in range(0, len(audio), step) for e in rec.feed(audio[i:i + step])] + rec.finish()
    texts = [e.text for e in events if isinstance(e, Final)]
    path.write_text(json.dumps(texts))
    return texts


_REF_ENGINE: dict[str, Any] = {}


RUNTIME_KEYS = ("calls", "wait_s", "run_s", "max_wait_s")
ENGINE_KEYS = ("final_s", "interim_s", "interims_skipped", "final_wait_s")


def _serve(conn: Any, config: Any, engine_kwargs: dict[str, Any], runtime_threads: int | None) -> None:
    """Child process: an emulator with a warm engine; answers "stats" and "stop" on ``conn``."""
    from tingwu_nb.emulator.app import Emulator
    from tingwu_nb.emulator.engine.engine import EngineConfig, SpeechEngine

    engine = SpeechEngine(EngineConfig(**engine_kwargs))
    engine.warm_up("en")
    emu = Emulator(config, engine=engine)
    if runtime_threads:
        emu.app.state.streams.threads = runtime_threads
    emu.start()
    conn.send(emu.endpoint)
    while True:
        message = conn.recv()
        if message == "stats":
            runtime = getattr(emu.app.state.streams, "stats", None)  # absent in older versions
            runtime = dataclasses.asdict(runtime) if runtime is not None else dict.fromkeys(RUNTIME_KEYS, 0.0)
            conn.send((runtime, dict(dict.fromkeys(ENGINE_KEYS, 0.0), **dataclasses.asdict(engine.stats)),
                       time.process_time()))
        else:
            emu.stop()
            conn.send(None)
            return


def _delta(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {k: after[k] - before[k] for k in after}


async def run_sessions(n: int, level: int, wavs: list[Path], refs: list[list[str]], endpoint: str, config: Any,
                       conn: Any, out_dir: Path) -> dict[str, Any]:
    from tingwu_nb.client.tasks import TingwuClient
    from tingwu_nb.contract.params import RealtimeTaskRequest
    from tingwu_nb.session.recording import record

    load_before = os.getloadavg()[0]
    streaming: list[int] = [0, 0]  # sessions that sent their first frame, their last frame
    total_ms = [0] * n

    def progress(i: int, kind: str, value: Any) -> None:
        if kind == "audio":
            total_ms[i] = int(value)
        elif kind == "frame" and value[0] <= CHUNK_MS:
            streaming[0] += 1
        elif kind == "frame" and value[0] >= total_ms[i]:
            streaming[1] += 1

    def snapshot() -> tuple[dict, dict, float, float]:
        conn.send("stats")
        return (*conn.recv(), time.monotonic())

    async def one(i: int) -> Any:
        await asyncio.sleep(0.137 * i)  # start like users do, not in the same millisecond
        async with TingwuClient(endpoint=endpoint, app_key=config.app_key, credentials=config.credentials()) as c:
            return await record(wavs[i], RealtimeTaskRequest.create(output_level=level), client=c, speed=1.0,
                                out_dir=out_dir, poll_interval_s=0.5,
                                on_progress=lambda kind, value: progress(i, kind, value))

    async def steady() -> tuple[Any, Any]:
        """Snapshots when every session streams and when the first one has sent all its audio."""
        while streaming[0] < n:
            await asyncio.sleep(0.05)
        first = snapshot()
        while streaming[1] < 1:
            await asyncio.sleep(0.05)
        return first, snapshot()

    rt0, en0, cpu0, started = snapshot()
    window = asyncio.ensure_future(steady())
    sessions = await asyncio.gather(*(one(i) for i in range(n)), return_exceptions=True)
    rt1, en1, cpu1, ended = snapshot()
    wall = ended - started
    if window.done():
        (srt0, sen0, scpu0, s0), (srt1, sen1, scpu1, s1) = window.result()
    else:  # a session failed before streaming: the whole run instead
        window.cancel()
        (srt0, sen0, scpu0, s0), (srt1, sen1, scpu1, s1) = (rt0, en0, cpu0, started), (rt1, en1, cpu1, ended)
    latencies: list[float] = []
    got = ref = lost = failed = 0
    for i, s in enumerate(sessions):
        ref += len(refs[i])
        if isinstance(s, BaseException):
            failed += 1
            lost += len(refs[i])
            continue
        live = s.live_sentences()
        latencies += [x for x in live["latency_s"].tolist() if x == x]
        got += len(live)
        texts = list(live["text"])
        for t in refs[i]:
            if t in texts:
                texts.remove(t)
            else:
                lost += 1
    rt, en = _delta(srt1, srt0), _delta(sen1, sen0)  # the steady window: all N streaming
    span = s1 - s0
    lat = np.asarray(latencies) if latencies else np.asarray([np.nan])
    return {
        "n": n, "level": level, "p50": float(np.percentile(lat, 50)), "p95": float(np.percentile(lat, 95)),
        "max": float(np.max(lat)), "got": got, "ref": ref, "lost": lost, "failed": failed,
        "cores": (scpu1 - scpu0) / span, "cores_run": (cpu1 - cpu0) / wall, "wall": wall, "span": span,
        "wait_mean": rt["wait_s"] / max(rt["calls"], 1), "wait_max": rt1["max_wait_s"],
        "fin": en["final_s"] / span, "int": en["interim_s"] / span, "n_int": int(en["interim_decodes"]),
        "n_skip": int(en.get("interims_skipped", 0)), "fin_wait": en.get("final_wait_s", 0.0) / span,
        "load0": load_before, "load1": os.getloadavg()[0],
    }


HEADER = (f"{'lvl':>3} {'N':>3} {'p50':>6} {'p95':>6} {'max':>6} {'got/ref':>9} {'lost':>4} {'cores':>5} {'run':>5} "
          f"{'wait':>11} {'fin':>5} {'int':>5} {'n_int':>5} {'skip':>4} {'load':>11}")


def row_text(r: dict[str, Any]) -> str:
    return (f"{r['level']:>3} {r['n']:>3} {r['p50']:>6.2f} {r['p95']:>6.2f} {r['max']:>6.2f} "
            f"{r['got']:>4}/{r['ref']:<4} {r['lost']:>4} {r['cores']:>5.2f} {r['cores_run']:>5.2f} "
            f"{r['wait_mean']:>5.2f}/{r['wait_max']:<5.2f} {r['fin']:>5.2f} {r['int']:>5.2f} {r['n_int']:>5} {r['n_skip']:>4} "
            f"{r['load0']:>5.2f}/{r['load1']:<5.2f}" + (f" FAILED {r['failed']}" if r["failed"] else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[1, 2, 4, 6, 8])
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=None, help="EngineConfig.num_workers (default: the engine's)")
    parser.add_argument("--cpu-threads", type=int, default=None, help="EngineConfig.cpu_threads")
    parser.add_argument("--final-pad", type=float, default=None,
                        help="encode finals on their audio + this many seconds (DecodeOptions.encoder_pad_s; "
                             "default: the whole 30 s window, as the engine does)")
    parser.add_argument("--runtime-threads", type=int, default=None, help="StreamRuntime decode threads")
    parser.add_argument("--json", type=Path, default=None, help="append each row as a JSON line here")
    args = parser.parse_args()

    from tingwu_nb.emulator.contract import EmulatorConfig
    from tingwu_nb.samples import write_wav

    engine_kwargs = {k: v for k, v in (("num_workers", args.workers), ("cpu_threads", args.cpu_threads))
                     if v is not None}
    if args.final_pad is not None:
        from tingwu_nb.emulator.engine.decoding import FINAL

        engine_kwargs["final"] = dataclasses.replace(FINAL, encoder_pad_s=args.final_pad)
    cache = Path(tempfile.gettempdir())
    with tempfile.TemporaryDirectory() as tmp:
        audios = [session_audio(i, args.seconds) for i in range(max(args.n))]
        wavs = [write_wav(Path(tmp) / f"s{i}.wav", a, 16000) for i, a in enumerate(audios)]
        refs = [reference_texts(a, cache) for a in audios]
        _REF_ENGINE.clear()
        config = EmulatorConfig.generate()
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_serve, args=(child, config, engine_kwargs, args.runtime_threads), daemon=True)
        proc.start()
        endpoint = parent.recv()
        print(f"emulator engine {engine_kwargs or 'defaults'}, runtime threads {args.runtime_threads or 'default'}; "
              f"{args.seconds:g} s per session at 1x; latency s = end-of-speech frame sent -> SentenceEnd received")
        print(HEADER)
        try:
            for level in args.levels:
                for n in args.n:
                    r = asyncio.run(run_sessions(n, level, wavs, refs, endpoint, config, parent, Path(tmp)))
                    r.update(engine={k: str(v) for k, v in engine_kwargs.items()}, runtime_threads=args.runtime_threads)
                    print(row_text(r), flush=True)
                    if args.json:
                        with args.json.open("a") as f:
                            f.write(json.dumps(r) + "\n")
        finally:
            parent.send("stop")
            parent.recv()
            proc.join(timeout=20)


if __name__ == "__main__":
    main()
