"""FramePump: every stream's frames sent from one timer, in order, each exactly once.

The stream here is a recording double (a pure unit: what the pump hands to ``send_nowait`` /
``send``); the real streams go through the pump in every record() test (test_reconnect.py,
test_faults.py, test_end_to_end.py...).
"""

from __future__ import annotations

import asyncio

import pytest

from tingwu_nb.client.pacing import Frame, PacingReport
from tingwu_nb.client.pump import FramePump


class Recorder:
    """Takes frames at once unless ``refuse(frame)``; then only through ``send``."""

    def __init__(self, refuse=lambda frame: False) -> None:
        self.refuse = refuse
        self.sent: list[tuple[str, int]] = []

    def send_nowait(self, frame: Frame) -> bool:
        if self.refuse(frame):
            return False
        self.sent.append(("nowait", frame.start_ms))
        return True

    async def send(self, frame: Frame) -> None:
        await asyncio.sleep(0.002)  # the slow path really waits
        self.sent.append(("send", frame.start_ms))


def frames(n: int, ms: int = 100) -> list[Frame]:
    return [Frame(b"x" * 10, k * ms, (k + 1) * ms) for k in range(n)]


async def test_frames_go_out_in_order_once_each_and_the_report_is_filled():
    stream, report = Recorder(), PacingReport()
    await FramePump.of().send(stream, frames(30), speed=50.0, report=report, align_s=0.02)
    assert stream.sent == [("nowait", 100 * k) for k in range(30)]
    assert report.frames == 30 and report.audio_s == pytest.approx(3.0) and report.max_lag_s >= 0


async def test_a_refused_frame_takes_the_slow_path_and_the_pump_carries_on():
    stream = Recorder(refuse=lambda f: f.start_ms % 300 == 0)
    await FramePump.of().send(stream, frames(12), speed=50.0)
    assert [ms for _, ms in stream.sent] == [100 * k for k in range(12)]
    assert {ms for how, ms in stream.sent if how == "send"} == {0, 300, 600, 900}


async def test_errors_of_the_slow_path_and_of_the_frames_reach_the_caller():
    class Broken(Recorder):
        async def send(self, frame: Frame) -> None:
            raise ConnectionError("gone")

    with pytest.raises(ConnectionError, match="gone"):
        await FramePump.of().send(Broken(refuse=lambda f: f.start_ms == 500), frames(10), speed=50.0)

    def bad():
        yield from frames(3)
        raise ValueError("corrupt audio")

    stream = Recorder()
    with pytest.raises(ValueError, match="corrupt audio"):
        await FramePump.of().send(stream, bad(), speed=50.0)
    assert len(stream.sent) == 3


async def test_cancelling_stops_the_frames_at_once():
    stream = Recorder()
    task = asyncio.create_task(FramePump.of().send(stream, frames(1000), speed=20.0))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    count = len(stream.sent)
    await asyncio.sleep(0.1)
    assert 0 < count < 1000 and len(stream.sent) == count  # nothing more after the cancel


async def test_many_streams_share_one_timer_per_slot():
    loop = asyncio.get_running_loop()
    pump = FramePump(loop, tick_s=0.005)
    timers: list[float] = []
    real_call_at = loop.call_at

    def counting_call_at(when, callback, *args, **kwargs):
        timers.append(when)
        return real_call_at(when, callback, *args, **kwargs)

    streams = [Recorder() for _ in range(20)]

    async def one(k: int, stream: Recorder) -> None:
        await asyncio.sleep(k * 0.0025)  # scattered starts
        await pump.send(stream, frames(5), speed=2.0, align_s=0.05)

    loop.call_at = counting_call_at  # type: ignore[method-assign]
    try:
        await asyncio.gather(*(one(k, s) for k, s in enumerate(streams)))
    finally:
        del loop.call_at
    assert all(s.sent == [("nowait", 100 * k) for k in range(5)] for s in streams)
    slots = [t for t in timers if abs(t / 0.005 - round(t / 0.005)) < 1e-6]
    assert slots and len(slots) <= 12, len(slots)  # 4 waits per stream on a shared grid, not 20 x 4 timers


async def test_the_pump_refuses_an_unpaced_speed():
    with pytest.raises(ValueError, match="finite speed"):
        await FramePump.of().send(Recorder(), frames(2), speed=float("inf"))
