"""The cheap client's levers: no WebSocket compression by default, one shared pacing timer."""

from __future__ import annotations

import asyncio

import pytest
import websockets

from tingwu_nb.client.audio import Frame
from tingwu_nb.client.pacing import SharedClock, paced, shared_sleep
from tingwu_nb.client.stream import RealtimeStream, StreamOptions, stream_frames_to
from tingwu_nb.contract import events as ev
from tingwu_nb.contract.server_session import ServerSession


async def _offer_and_audio(options: StreamOptions | None) -> tuple[str | None, int]:
    """Stream 5 frames to a loopback server; return the client's extension offer and audio bytes seen."""
    seen: dict = {"offer": None, "audio": 0}

    async def handler(ws) -> None:
        seen["offer"] = ws.request.headers.get("Sec-WebSocket-Extensions")
        session = ServerSession()
        async for message in ws:
            if isinstance(message, bytes):
                seen["audio"] += len(session.receive_audio(message))
            else:
                for command in session.receive_text(message):
                    if isinstance(command, ev.StartTranscription):
                        session.started()
                    elif isinstance(command, ev.StopTranscription):
                        session.complete()
            for text in session.data_to_send():
                await ws.send(text)
            if session.finished:
                return

    frames = [Frame(bytes([k]) * 3200, 100 * k, 100 * (k + 1)) for k in range(5)]
    async with websockets.serve(handler, "127.0.0.1", 0) as srv:
        url = f"ws://127.0.0.1:{srv.sockets[0].getsockname()[1]}/api/ws/v1?mc=test"
        async with RealtimeStream(url, options=options) as stream:
            await stream_frames_to(stream, frames, speed=10.0)
            await stream.stop()
    return seen["offer"], seen["audio"]


@pytest.mark.network
async def test_no_permessage_deflate_unless_asked():
    """By default the client offers no compression (PCM does not compress, it only costs CPU);
    StreamOptions(compression="deflate") offers it, and the audio arrives whole either way."""
    offer, audio = await _offer_and_audio(None)
    assert offer is None and audio == 5 * 3200
    offer, audio = await _offer_and_audio(StreamOptions(compression="deflate"))
    assert offer is not None and "permessage-deflate" in offer and audio == 5 * 3200


async def test_shared_clock_wakes_many_sleepers_with_few_timers():
    """100 sleeps ending within 0.1 s use at most one timer per slot, and none ends early."""
    loop = asyncio.get_running_loop()
    clock = SharedClock(loop, tick_s=0.05)
    timers: list[float] = []
    real_call_at = loop.call_at

    def counting_call_at(when, callback, *args, **kwargs):
        timers.append(when)
        return real_call_at(when, callback, *args, **kwargs)

    loop.call_at = counting_call_at  # type: ignore[method-assign]
    try:
        async def one(k: int) -> float:
            deadline = loop.time() + k / 1000
            await clock.sleep(k / 1000)
            return loop.time() - deadline

        early = await asyncio.gather(*(one(k) for k in range(100)))
    finally:
        del loop.call_at
    assert 1 <= len(timers) <= 3, timers
    assert min(early) >= -0.05 * 0.05, min(early)  # never before the deadline, but for 5 % of a slot


async def test_cancelling_one_shared_sleep_leaves_the_others():
    """Sleepers in the same slot each have their own future: cancelling one wakes no one else wrongly."""
    loop = asyncio.get_running_loop()
    a = asyncio.ensure_future(shared_sleep(0.02))
    b = asyncio.ensure_future(shared_sleep(0.02))
    assert SharedClock.of(loop) is SharedClock.of()
    a.cancel()
    await b
    assert a.cancelled() and b.done() and not b.cancelled()
    await shared_sleep(0)  # a zero delay still returns (at the next slot)


async def test_an_aligned_schedule_starts_on_the_grid_and_stays_on_it():
    """paced(align_s=) waits for the next grid point, then every frame is due on the grid."""
    now = [10.013]
    slept: list[float] = []

    async def fake_sleep(delay: float) -> None:
        slept.append(round(delay, 9))
        now[0] += delay

    frames = [Frame(b"x", 100 * k, 100 * (k + 1)) for k in range(4)]
    got = [f async for f in paced(frames, speed=1.0, clock=lambda: now[0], sleep=fake_sleep, align_s=0.02)]
    assert got == frames
    assert slept == [0.007, 0.1, 0.1, 0.1]


async def test_aligned_streams_share_few_wakeups():
    """20 streams started at scattered times, paced on the shared clock with align_s: every frame
    is due on the grid, so they share a handful of slots rather than one timer per frame per stream."""
    loop = asyncio.get_running_loop()
    clock = SharedClock(loop, tick_s=0.005)
    timers: list[float] = []
    real_call_at = loop.call_at

    def counting_call_at(when, callback, *args, **kwargs):
        timers.append(when)
        return real_call_at(when, callback, *args, **kwargs)

    frames = [Frame(b"x", 100 * k, 100 * (k + 1)) for k in range(3)]

    async def stream(k: int) -> int:
        await asyncio.sleep(k * 0.0025)
        return len([f async for f in paced(frames, speed=2.0, clock=loop.time, sleep=clock.sleep, align_s=0.02)])

    loop.call_at = counting_call_at  # type: ignore[method-assign]
    try:
        sent = await asyncio.gather(*(stream(k) for k in range(20)))
    finally:
        del loop.call_at
    assert sent == [3] * 20
    slots = [t for t in timers if abs(t / 0.005 - round(t / 0.005)) < 1e-6]  # the shared clock's timers
    assert slots and all(abs(t / 0.01 - round(t / 0.01)) < 1e-6 for t in slots), slots  # 20 ms grid + k x 50 ms
    assert len(slots) <= 16, len(slots)  # not 20 streams x 3 frames
