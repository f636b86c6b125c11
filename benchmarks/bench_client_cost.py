"""What the realtime client costs per stream, side by side with the official NLS SDK.

For each N in ``--streams`` and each client in ``--modes`` a fresh client process streams N
concurrent 16 kHz pcm streams of ``--audio-s`` seconds at 1x (100 ms / 3200-byte frames,
starts spread over one frame period) to a minimal protocol server running in ANOTHER process
(so its CPU is not counted). The clients:

* ``bare``: :class:`~tingwu_nb.client.stream.RealtimeStream` + ``stream_frames_to``, with an
  ``on_frame`` hook that only notes the send time;
* ``record``: the streaming part of ``record()``, i.e. ``Recording._stream`` of
  :mod:`tingwu_nb.session.lifecycle` writing a real session directory with its ``SessionWriter``
  (sent.pcm, frames.jsonl, events.jsonl, session.json phases); the REST calls around it
  (CreateTask, stop, results) are a handful per session and are not part of the per-minute cost;
* ``floor`` (only when asked for): what any asyncio client must spend at least — the handshake
  and stop of RealtimeStream, and in between ONE timer per 100 ms for all streams that writes
  one pre-built masked WebSocket frame to each connection (one syscall per frame and stream, no
  per-stream Python beyond that write). The SDK/floor ratio bounds what any asyncio client with
  100 ms frames can reach on the machine;
* ``sdk``: the official ``alibabacloud-nls-python-sdk`` (module ``nls``), one thread per stream
  as its samples do, each thread sending the same 3200-byte frames on the same absolute schedule.

The server (``ServerSession`` over a websockets server, accepting permessage-deflate like the
emulator and the NLS SDK's duplicated handshake key) answers TranscriptionStarted, counts audio,
sends SentenceBegin + SentenceEnd every ``--sentence-s`` of audio and the last one plus
TranscriptionCompleted on StopTranscription, so every stream must receive exactly
``ceil(audio_s / sentence_s)`` sentences (column ``sent.ok``).

Columns: CPU seconds of the client process per stream-minute (``time.process_time`` delta from
the first connect to the last close), p99 / max send lag over all frames (time the frame was
handed to the socket minus its due time on the stream's absolute schedule), peak RSS of the
client process while streaming and its growth per stream over the baseline (imports and audio
loaded) before connecting, sentences
received / expected, and the SDK/ours CPU ratio. The load average is printed with each row:
the numbers are only as quiet as the machine. Never passes or fails.

Reading the numbers: with 100 ms frames every client pays, per frame and stream, one socket
write (~5 us of CPU for 3200 B on loopback, where the kernel also does the receiver's TCP work
in the sender's time) and a share of a wake-up. Waking from a 100 ms sleep costs a thread
~50-80 us of CPU on the 2-core test VM and an asyncio loop iteration ~200 us, so for one stream
the SDK's thread is at the ``floor`` of an asyncio client, and the asyncio client wins only when
many streams share each wake-up: ``stream_frames_to`` puts every stream of a process on one
100 ms grid and sends all due frames from one timer (``tingwu_nb.client.pump.FramePump``).
Measured (2026-11-30, quiet): SDK/floor 1.0x at 1 stream, 3.0-5.5x at 10-200; SDK/record
0.8x, 1.65-2.1x. Larger frames cut both costs in proportion (``--frame-ms``), but the spec
recommends 100 ms (rt §5.2).

Run: ``.venv/bin/python benchmarks/bench_client_cost.py`` (all N, all modes, 60 s audio:
about 20 minutes; ``--audio-s 20 --streams 10,200`` for a quick look; ``--profile record:100``
prints a cProfile of one client run instead of the table).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

RATE = 16000
FRAME_MS = int(os.environ.get("BENCH_FRAME_MS", "100"))  # set by --frame-ms for the client processes
FRAME_BYTES = RATE * 2 * FRAME_MS // 1000
MODES = ("sdk", "bare", "record")


def serve(port_file: str, sentence_s: float) -> None:
    """Run the minimal protocol server until killed; writes its port to ``port_file``."""
    from websockets.asyncio.server import serve as ws_serve

    from tingwu_nb.contract import events as ev
    from tingwu_nb.contract.server_session import ServerSession
    from tingwu_nb.emulator.handshake import first_occurrence

    sentence_bytes = int(sentence_s * RATE * 2)

    def dedupe(connection, request):  # the NLS SDK sends Sec-WebSocket-Key twice
        request.headers = first_occurrence(request.headers)

    async def handler(ws) -> None:
        session = ServerSession()
        audio = index = 0
        begun = False

        async def flush() -> None:
            for text in session.data_to_send():
                await ws.send(text)

        def ms(n: int) -> int:
            return n * 1000 // (RATE * 2)

        def sentence(end: int) -> None:
            nonlocal index, begun
            if not begun:
                session.send(ev.SentenceBegin(index=index + 1, time_ms=ms(index * sentence_bytes)))
            session.send(ev.SentenceEnd(index=index + 1, time_ms=ms(end), begin_time_ms=ms(index * sentence_bytes),
                                        result=f"[loadtest sentence {index + 1}]"))
            index += 1
            begun = False

        async for message in ws:
            if isinstance(message, bytes):
                audio += len(session.receive_audio(message))
                if not begun and audio > index * sentence_bytes:
                    session.send(ev.SentenceBegin(index=index + 1, time_ms=ms(index * sentence_bytes)))
                    begun = True
                while audio >= (index + 1) * sentence_bytes:
                    sentence((index + 1) * sentence_bytes)
            else:
                for command in session.receive_text(message):
                    if isinstance(command, ev.StartTranscription):
                        session.started()
                    elif isinstance(command, ev.StopTranscription):
                        if audio > index * sentence_bytes:
                            sentence(audio)
                        session.complete()
            await flush()
            if session.finished:
                break
        await ws.close()

    async def main() -> None:
        async with ws_serve(handler, "127.0.0.1", 0, process_request=dedupe, max_size=2**22,
                            ping_interval=None) as server:
            port = server.sockets[0].getsockname()[1]
            Path(port_file).write_text(str(port))
            await asyncio.Future()

    asyncio.run(main())


def synthetic_pcm(seconds: float) -> bytes:
    """Speech-like 16 kHz audio (voiced bursts with pauses, a little noise): content does not matter
    to the server, but compression (permessage-deflate) sees realistic bytes."""
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * RATE)) / RATE
    pitch = 120 + 30 * np.sin(2 * np.pi * 0.3 * t)
    voice = sum(np.sin(2 * np.pi * k * np.cumsum(pitch) / RATE) / k for k in range(1, 6))
    envelope = (np.sin(2 * np.pi * 0.25 * t) > -0.3) * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t))
    pcm = 6000 * voice * envelope + rng.normal(0, 150, t.size)
    return np.clip(pcm, -32768, 32767).astype("<i2").tobytes()


def rss_mb(field: str = "VmRSS") -> float:
    """This process's resident memory (``VmRSS``) or its high-water mark (``VmHWM``), MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak_rss() -> None:
    """Restart the high-water mark from now (Linux: clear_refs 5), so the peak is that of the streams."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


async def run_ours(mode: str, url: str, n: int, audio: bytes, tmp: Path) -> tuple[list[list[float]], list[int]]:
    """N streams in one loop; returns (per-stream send times, per-stream sentence counts)."""
    from tingwu_nb.client.audio import Frame
    from tingwu_nb.client.stream import RealtimeStream, stream_frames_to
    from tingwu_nb.contract import events as ev

    frames = [Frame(audio[i:i + FRAME_BYTES], i // 32, (i + FRAME_BYTES) // 32)
              for i in range(0, len(audio), FRAME_BYTES)]
    sends: list[list[float]] = [[] for _ in range(n)]
    sentences = [0] * n

    async def bare(i: int) -> None:
        mono = sends[i]
        stream = RealtimeStream(url, on_frame=lambda frame, t, wall: mono.append(t))
        async with stream:
            await stream_frames_to(stream, frames, speed=1.0)
            await stream.stop()
        sentences[i] = sum(isinstance(e, ev.SentenceEnd) for e in stream.events)

    async def record(i: int) -> None:
        from tingwu_nb.client.audio import PacingReport
        from tingwu_nb.session.lifecycle import Recording
        from tingwu_nb.session.recorder import SessionWriter

        writer = SessionWriter(tmp / f"s{i}", fmt="pcm")
        rec = Recording(request=None, audio={}, frames=frames, speed=1.0, writer=writer)  # type: ignore[arg-type]
        try:
            await rec._stream(url, PacingReport())
        finally:
            writer.close()

    # floor: the least any asyncio client can do per frame. Every stream opens as RealtimeStream
    # does; then ONE timer per 100 ms writes one pre-built masked frame to every open connection's
    # transport (no per-stream coroutine, no framing, no bookkeeping), and each stream stops.
    from websockets.frames import Frame as WsFrame
    from websockets.frames import Opcode

    wire = WsFrame(Opcode.BINARY, frames[0].data).serialize(mask=True, extensions=[])
    pumped: list[tuple[int, Any, asyncio.Future]] = []  # (stream, transport, done) waiting to be fed

    async def pump() -> None:
        loop = asyncio.get_running_loop()
        while len(pumped) < n:  # all connected before the first tick: the pump never sleeps per stream
            await asyncio.sleep(0.01)
        t0 = math.ceil(loop.time() / 0.1) * 0.1
        for k in range(len(frames)):
            delay = t0 + k * FRAME_MS / 1000 - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            now = time.monotonic()
            for i, transport, _ in pumped:
                transport.write(wire)
                sends[i].append(now)
        for *_, done in pumped:
            done.set_result(None)

    async def floor(i: int) -> None:
        async with RealtimeStream(url) as stream:
            done = asyncio.get_running_loop().create_future()
            pumped.append((i, stream._ws.transport, done))
            await done
            stream.audio_sent_ms = frames[-1].end_ms
            await stream.stop()
        sentences[i] = sum(isinstance(e, ev.SentenceEnd) for e in stream.events)

    async def one(i: int) -> None:
        await asyncio.sleep(i / n * FRAME_MS / 1000)
        await {"bare": bare, "record": record, "floor": floor}[mode](i)

    await asyncio.gather(*(one(i) for i in range(n)), *([pump()] if mode == "floor" else []))
    return sends, sentences


def read_sessions(tmp: Path, n: int) -> tuple[list[list[float]], list[int]]:
    """Send times and sentence counts as the record sessions wrote them (not measured)."""
    sends, sentences = [], []
    for i in range(n):
        lines = (tmp / f"s{i}" / "frames.jsonl").read_text().splitlines()
        sends.append([json.loads(line)["mono"] for line in lines])
        events = (tmp / f"s{i}" / "events.jsonl").read_text().splitlines()
        sentences.append(sum(json.loads(line)["name"] == "SentenceEnd" for line in events))
    return sends, sentences


def run_sdk(url: str, n: int, audio: bytes) -> tuple[list[list[float]], list[int]]:
    """N threads, each driving one NlsSpeechTranscriber on an absolute 100 ms schedule."""
    import nls

    chunks = [audio[i:i + FRAME_BYTES] for i in range(0, len(audio), FRAME_BYTES)]
    sends: list[list[float]] = [[] for _ in range(n)]
    sentences = [0] * n
    errors: list[str] = []

    def worker(i: int) -> None:
        done = threading.Event()

        def on_end(message, *args) -> None:
            sentences[i] += 1

        sdk = nls.NlsSpeechTranscriber(url=url, token="default", appkey="default", on_sentence_end=on_end,
                                       on_completed=lambda *a: done.set(),
                                       on_error=lambda message, *a: errors.append(str(message)[:200]))
        time.sleep(i / n * FRAME_MS / 1000)
        sdk.start(aformat="pcm", sample_rate=RATE, timeout=60)
        mono = sends[i]
        t0 = time.monotonic()
        for k, chunk in enumerate(chunks):
            due = t0 + k * FRAME_MS / 1000
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            sdk.send_audio(chunk)
            mono.append(time.monotonic())
        sdk.stop(timeout=60)
        done.wait(5)
        sdk.shutdown()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if errors:
        print(f"sdk errors: {errors[:3]}", file=sys.stderr)
    return sends, sentences


def client(mode: str, url: str, n: int, audio_s: float, sentence_s: float, profile: bool) -> dict:
    """One measured client run; returns its row."""
    if mode == "sdk":
        import nls  # noqa: F401 - imported before the baseline, like ours below
    else:  # importing any tingwu_nb module loads the whole flat API (pandas, PyAV, ipywidgets...)
        import tingwu_nb.session.lifecycle  # noqa: F401
    audio = synthetic_pcm(audio_s)
    gc.collect()
    reset_peak_rss()
    base_rss = rss_mb()
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile(time.process_time)  # CPU, not wall: a sleeping poll costs nothing
        profiler.enable()
    with tempfile.TemporaryDirectory() as tmp:
        cpu0, wall0 = time.process_time(), time.monotonic()
        if mode == "sdk":
            sends, sentences = run_sdk(url, n, audio)
        else:
            sends, sentences = asyncio.run(run_ours(mode, url, n, audio, Path(tmp)))
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
        peak = rss_mb("VmHWM")
        if profiler is not None:
            profiler.disable()
        if mode == "record":
            sends, sentences = read_sessions(Path(tmp), n)
    if profiler is not None:
        import pstats

        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(45)
    lags = np.concatenate([np.asarray(s) - (s[0] + np.arange(len(s)) * FRAME_MS / 1000) for s in sends if s])
    frames = math.ceil(len(audio) / FRAME_BYTES)
    return {"mode": mode, "n": n, "cpu_s": cpu, "wall_s": wall,
            "cpu_per_stream_min": cpu / (n * audio_s / 60),
            "lag_p99_ms": float(np.percentile(lags, 99) * 1000), "lag_max_ms": float(lags.max() * 1000),
            "rss_peak_mb": peak, "rss_base_mb": base_rss,
            "frames_ok": all(len(s) == frames for s in sends),
            "sentences": sum(sentences), "expected": n * math.ceil(audio_s / sentence_s)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--streams", default="1,10,50,100,200")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--audio-s", type=float, default=60.0)
    parser.add_argument("--sentence-s", type=float, default=5.0)
    parser.add_argument("--frame-ms", type=int, default=FRAME_MS,
                        help="audio per WebSocket frame for every client (the spec recommends 100)")
    parser.add_argument("--profile", default=None, help="MODE:N — one client run under cProfile")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--client", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve(args.serve, args.sentence_s)
    if args.client:
        row = client(args.client, args.url, args.n, args.audio_s, args.sentence_s,
                     profile=bool(os.environ.get("BENCH_PROFILE")))
        print(json.dumps(row))
        return None

    here = Path(__file__).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        port_file = Path(tmp) / "port"
        server = subprocess.Popen([sys.executable, str(here), "--serve", str(port_file),
                                   "--sentence-s", str(args.sentence_s)])
        try:
            for _ in range(200):
                if port_file.exists() and port_file.read_text():
                    break
                time.sleep(0.05)
            url = f"ws://127.0.0.1:{port_file.read_text()}/ws"
            runs = ([(args.profile.split(":")[0], int(args.profile.split(":")[1]))] if args.profile else
                    [(m, int(n)) for n in args.streams.split(",") for m in args.modes.split(",")])
            env = {**os.environ, "BENCH_FRAME_MS": str(args.frame_ms),
                   **({"BENCH_PROFILE": "1"} if args.profile else {})}
            print(f"{args.audio_s:g} s of 16 kHz pcm per stream at 1x, {args.frame_ms} ms frames; "
                  f"sentence every {args.sentence_s:g} s; server in pid {server.pid}")
            print(f"{'N':>4} {'client':>7} {'CPU s/stream-min':>16} {'p99 lag ms':>10} {'max lag':>8} "
                  f"{'peak RSS MB':>11} {'MB/stream':>9} {'sentences':>11} {'SDK/ours':>8} {'load1':>5}")
            sdk_cost: dict[int, float] = {}
            rows = []
            for mode, n in runs:
                done = subprocess.run([sys.executable, str(here), "--client", mode, "--url", url, "--n", str(n),
                                       "--audio-s", str(args.audio_s), "--sentence-s", str(args.sentence_s)],
                                      capture_output=True, text=True, env=env, check=False)
                if done.returncode != 0 or not done.stdout.strip():
                    print(f"{n:>4} {mode:>7} FAILED: {done.stderr[-1500:]}")
                    continue
                if args.profile:
                    print(done.stderr[-12000:])
                row = json.loads(done.stdout.strip().splitlines()[-1])
                rows.append(row)
                if mode == "sdk":
                    sdk_cost[n] = row["cpu_per_stream_min"]
                ratio = sdk_cost.get(n, math.nan) / row["cpu_per_stream_min"] if mode != "sdk" else math.nan
                per = (row["rss_peak_mb"] - row["rss_base_mb"]) / n
                ok = "" if row["sentences"] == row["expected"] and row["frames_ok"] else " !"
                print(f"{n:>4} {mode:>7} {row['cpu_per_stream_min']:>16.4f} {row['lag_p99_ms']:>10.1f} "
                      f"{row['lag_max_ms']:>8.0f} {row['rss_peak_mb']:>11.0f} {per:>9.2f} "
                      f"{row['sentences']:>5}/{row['expected']:<5}{ok} {ratio:>8.2f} {os.getloadavg()[0]:>5.2f}",
                      flush=True)
            print("summary SDK/ours CPU: " + ", ".join(  # also for rows that ran before their SDK row
                f"{r['mode']}@{r['n']}={sdk_cost[r['n']] / r['cpu_per_stream_min']:.2f}"
                for r in rows if r["mode"] != "sdk" and r["n"] in sdk_cost))
        finally:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    main()
