"""Any length at any accepted speed: long recordings, the speed limit, progress-driven stop, clean shutdown.

The long recording is the bundled sample meeting tiled (with known truth), streamed through the
real emulator over loopback at the fastest accepted speed (``speed=math.inf`` means
``tingwu_nb.client.pacing.MAX_SPEED``). The stop-wait tests use small real WebSocket servers that
misbehave on purpose (the pattern of ``tests/test_stream.py``).
"""

from __future__ import annotations

import asyncio
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import websockets

from tests.conftest import wer, write_wav
from tests.test_stream import server, start_then
from tingwu_nb.client.audio import Frame, PacingReport, paced, stream_frames
from tingwu_nb.client.pacing import MAX_SPEED
from tingwu_nb.client.stream import RealtimeStream, StreamOptions
from tingwu_nb.contract import events as ev
from tingwu_nb.contract.params import RealtimeTaskRequest
from tingwu_nb.emulator.runtime import SpeedGuard
from tingwu_nb.errors import TaskFailedError, TingwuTimeoutError
from tingwu_nb.session.recording import record

pytestmark = pytest.mark.network

TILES = 4  # 4 x (54 s meeting + 1 s pause) = 3.7 minutes
GAP_S = 1.0


@pytest.fixture(scope="module")
def long_meeting(tmp_path_factory, sample_pcm16k, sample_truth) -> tuple[Path, list[dict]]:
    """The sample meeting tiled TILES times with GAP_S of silence between copies, and its turns."""
    gap = np.zeros(int(GAP_S * 16000), dtype=np.int16)
    pcm = np.concatenate([part for _ in range(TILES) for part in (sample_pcm16k, gap)])
    period = len(sample_pcm16k) / 16000 + GAP_S
    turns = [dict(turn, start_s=turn["start_s"] + k * period, end_s=turn["end_s"] + k * period)
             for k in range(TILES) for turn in sample_truth["turns"]]
    return write_wav(tmp_path_factory.mktemp("long") / "long.wav", pcm, 16000), turns


@pytest.mark.slow
async def test_long_recording_at_max_speed_is_complete_and_recognised_live(emulator, long_meeting, tmp_path):
    """3.7 min at the fastest accepted speed: every turn transcribed, finals arrive while audio is sent."""
    wav, turns = long_meeting
    seen: list[ev.Event] = []
    async with emulator.client() as client:
        session = await record(wav, RealtimeTaskRequest.create(output_level=2), client=client, speed=math.inf,
                               out_dir=tmp_path, on_event=seen.append, poll_interval_s=0.2)
    assert session.status == "COMPLETED"
    sentences = session.sentences()
    assert wer(" ".join(t["text"] for t in turns), " ".join(sentences["text"])) <= 0.15
    for turn in turns:  # no turn lost, wherever it falls in the recording
        said = sentences[(sentences["end_s"] > turn["start_s"]) & (sentences["start_s"] < turn["end_s"])]
        assert wer(turn["text"], " ".join(said["text"])) <= 0.5, (turn, list(said["text"]))
    # Incremental: finals arrived while audio was still being sent, from early on (not one batch at stop).
    total_ms = max(e.audio_sent_ms for e in seen)
    ends = [e for e in seen if isinstance(e, ev.SentenceEnd)]
    live = [e for e in ends if e.audio_sent_ms < total_ms]
    assert len(ends) >= len(turns)
    assert len(live) >= len(ends) // 4
    assert live and live[0].audio_sent_ms < total_ms // 4
    assert session.meta["pacing"]["audio_s"] / max(session.meta["pacing"]["wall_s"], 1e-9) <= MAX_SPEED * 1.05


async def stream_until_failed(emu, pcm: np.ndarray, *, speed: float, output_level: int = 1) -> TaskFailedError:
    """Stream 16 kHz ``pcm`` to a new realtime task on ``emu`` at ``speed``; the TaskFailedError
    that must end it (the test fails if the stream completes). The task is stopped afterwards."""
    async with emu.client() as client:
        task = await client.create_realtime_task(RealtimeTaskRequest.create(output_level=output_level))
        async with RealtimeStream(task.meeting_join_url) as stream:
            with pytest.raises(TaskFailedError) as caught:
                async for frame in paced(stream_frames(pcm, 16000, "pcm"), speed=speed):
                    await stream.send(frame)
                await stream.stop()
        await client.stop_realtime_task(task.task_id)
    return caught.value


@pytest.mark.parametrize("speed", [4 * MAX_SPEED, math.inf], ids=["4x-limit", "unpaced"])
async def test_sending_faster_than_the_limit_fails_the_stream(emulator, sample_pcm16k, speed):
    """Default choices: audio faster than MAX_SPEED gets TaskFailed 40000000 naming the limit."""
    failed = await stream_until_failed(emulator, sample_pcm16k[: 30 * 16000], speed=speed)
    assert failed.status == 40000000
    assert f"faster than {MAX_SPEED:g}x real time" in failed.status_text


_SHUTDOWN_SCRIPT = textwrap.dedent("""
    import asyncio, math, sys, threading, time
    import numpy as np
    from tingwu_nb.client.audio import stream_frames
    from tingwu_nb.session.connect import embedded_emulator
    from tingwu_nb.contract.params import RealtimeTaskRequest
    from tingwu_nb.samples import load_sample_meeting
    from tingwu_nb.client.stream import RealtimeStream, stream_frames_to

    mode = sys.argv[1]  # "stop" | "draining" | "exit" | "exit-draining"
    draining, exiting = mode.endswith("draining"), mode.startswith("exit")
    if mode == "draining":  # the slower base model: a backlog is still being recognised after Stop
        from tingwu_nb.emulator.app import Emulator
        from tingwu_nb.emulator.engine.engine import EngineConfig, SpeechEngine
        emu = Emulator(engine=SpeechEngine(EngineConfig(english_model="base"))).start()
    else:
        emu = embedded_emulator()  # stopped by atexit
    frames = stream_frames(np.tile(load_sample_meeting(16000)[0], 2), 16000, "pcm")
    streaming, stopping = threading.Event(), threading.Event()

    async def client():
        async with emu.client() as c:
            task = await c.create_realtime_task(RealtimeTaskRequest.create(output_level=2))
        try:
            async with RealtimeStream(task.meeting_join_url) as stream:
                streaming.set()
                await stream_frames_to(stream, frames, speed=math.inf if draining else 2.0)
                stopping.set()
                await stream.stop()
            print("client: completed", flush=True)
        except Exception as exc:
            print("client:", type(exc).__name__, getattr(exc, "status", ""), flush=True)

    thread = threading.Thread(target=lambda: asyncio.run(client()), daemon=exiting)
    thread.start()
    if draining:  # Stop sent; the service is still recognising what it received
        stopping.wait(120)
        time.sleep(0.5 if mode == "draining" else 0.0)
    else:  # mid-stream: audio is being sent and recognised
        streaming.wait(120)
        time.sleep(3)
    if not exiting:
        emu.stop()
        thread.join(60)
    print("main: done", flush=True)
    # "exit*": the interpreter exits now; atexit stops the embedded emulator under the live stream
""")


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["stop", "draining", "exit", "exit-draining"])
def test_shutdown_under_a_live_stream_prints_no_traceback(mode, tmp_path):
    """Emulator.stop() or interpreter exit (atexit) while a stream sends or drains: no traceback.

    "exit-draining" is the reported case: the process ends right after StopTranscription while
    the embedded emulator still recognises ("cannot schedule new futures after shutdown").
    """
    script = tmp_path / "shutdown.py"
    script.write_text(_SHUTDOWN_SCRIPT)
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, str(script), mode], capture_output=True, text=True, timeout=240, cwd=root,
                          env={**os.environ, "PYTHONPATH": str(root)})
    assert done.returncode == 0, done.stderr
    assert "main: done" in done.stdout
    assert "Traceback" not in done.stderr and "Exception" not in done.stderr, done.stderr
    if mode in ("stop", "draining"):  # the client is told why its stream ended
        assert "client: TaskFailedError 50000000" in done.stdout, done.stdout


# --- the client's wait after StopTranscription is driven by progress -----------------------------


def _after_stop(events_every_s: float, count: int | None, *, complete: bool):
    """Server: after StopTranscription send a SentenceEnd every ``events_every_s`` (``count`` of
    them, None = forever), then TranscriptionCompleted if ``complete``, else stay silent."""
    async def handler(ws):
        async def serve(session):
            async for message in ws:
                if isinstance(message, str) and any(isinstance(c, ev.StopTranscription)
                                                    for c in session.receive_text(message)):
                    break
            i = 0
            while count is None or i < count:
                await asyncio.sleep(events_every_s)
                session.send(ev.SentenceEnd(index=i, time_ms=1000 * i, result=f"sentence {i}"))
                for text in session.data_to_send():
                    await ws.send(text)
                i += 1
            if complete:
                session.complete()
                for text in session.data_to_send():
                    await ws.send(text)
            await ws.wait_closed()
        try:
            await start_then(ws, serve)
        except websockets.exceptions.ConnectionClosed:
            pass  # the client closed after it gave up or completed
    return handler


async def test_stop_keeps_waiting_while_events_arrive():
    """Events every 0.2 s for 2 s after Stop, inactivity timeout 0.6 s: no timeout, all events kept."""
    async with server(_after_stop(0.2, 10, complete=True)) as url:
        async with RealtimeStream(url, options=StreamOptions(stop_timeout_s=0.6)) as stream:
            for i in range(50):  # 5 s of audio: the overall cap is 0.6 + 5 s
                await stream.send(Frame(b"\0" * 3200, 100 * i, 100 * (i + 1)))
            await stream.stop()
    assert sum(isinstance(e, ev.SentenceEnd) for e in stream.events) == 10
    assert isinstance(stream.events[-1], ev.TranscriptionCompleted)


async def test_stop_times_out_after_real_silence_and_says_what_it_waited_for():
    """Two events after Stop, then silence: TingwuTimeoutError naming the inactivity and the progress seen."""
    async with server(_after_stop(0.1, 2, complete=False)) as url:
        async with RealtimeStream(url, options=StreamOptions(stop_timeout_s=0.6)) as stream:
            await stream.send(Frame(b"\0" * 3200, 0, 5000))  # (a frame that says it spans 5 s: cap 5.6 s)
            with pytest.raises(TingwuTimeoutError) as caught:
                await stream.stop()
    message = str(caught.value)
    assert "TranscriptionCompleted" in message and "no event for 0.6 s" in message and "2 events" in message
    assert caught.value.seconds == 0.6


async def test_stop_gives_up_at_the_overall_cap_even_while_events_arrive():
    """Events forever: the cap (stop_timeout_s + per-audio share; no audio sent here) ends the wait."""
    async with server(_after_stop(0.1, None, complete=False)) as url:
        options = StreamOptions(stop_timeout_s=0.5, stop_cap_per_audio_s=1.0)
        async with RealtimeStream(url, options=options) as stream:
            with pytest.raises(TingwuTimeoutError, match="overall cap of 0.5 s"):
                await stream.stop()
    assert sum(isinstance(e, ev.SentenceEnd) for e in stream.events) >= 2


# --- the pure rules: the emulator's speed guard and the client's bounded catch-up ----------------


def test_speed_guard_accepts_the_limit_with_stalls_and_refuses_more():
    """At the limit (even catching up after a stall) audio is accepted; 2x the limit is refused
    within the burst; banked credit is capped, so a long pause does not buy a long blast."""
    at_limit = SpeedGuard(limit=10.0, burst_ms=5000, now=0.0)
    times = [i * 0.01 for i in range(300)]
    times[100:150] = [1.5] * 50  # a 0.5 s stall of the sender, then 50 frames back to back
    assert all(at_limit.add(100, t) for t in times)
    twice = SpeedGuard(limit=10.0, burst_ms=5000, now=0.0)
    accepted = [twice.add(100, i * 0.005) for i in range(200)]
    assert not all(accepted) and sum(accepted) <= 110
    paused = SpeedGuard(limit=10.0, burst_ms=5000, now=0.0)
    blast = [paused.add(100, 60.0) for _ in range(200)]  # 60 s of silence, then 20 s of audio at once
    assert sum(blast) == 100  # the banked 5 s plus the 5 s burst, no more
    banked = SpeedGuard(limit=10.0, burst_ms=5000, now=0.0, credit_ms=30000)
    batch = [banked.add(100, 3.0) for _ in range(400)]  # a 3 s server stall: 30 s read in one batch
    assert sum(batch) == 350  # the 30 s credit plus the 5 s burst
    assert SpeedGuard(limit=None, burst_ms=0, now=0.0).add(10**9, 0.0)


async def test_paced_bounds_the_catch_up_burst_after_a_stall():
    """After a 10 s stall at 10x, max_catch_up_ms=1000 sends at most 1 s of audio back to back
    (without it everything overdue goes at once) and reports how far the schedule moved."""
    async def sent_after_stall(max_catch_up_ms):
        now = [0.0]

        async def sleep(seconds: float) -> None:
            now[0] += seconds

        report, back_to_back, i = PacingReport(), 0, 0
        frames = [Frame(b"x", k * 100, (k + 1) * 100) for k in range(300)]
        async for _ in paced(frames, speed=10.0, clock=lambda: now[0], sleep=sleep, report=report,
                             max_catch_up_ms=max_catch_up_ms):
            if i == 5:
                now[0] += 10.0  # the sender stalls for 10 s
                before = now[0]
            elif i > 5 and now[0] == before:
                back_to_back += 1
            i += 1
        return back_to_back, report

    unbounded, report = await sent_after_stall(None)
    assert unbounded >= 99 and report.shifted_s == 0
    bounded, report = await sent_after_stall(1000)
    assert bounded <= 11 and report.shifted_s == pytest.approx(9.9, abs=0.02)
