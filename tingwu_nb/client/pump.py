"""Sending audio at real-time pace: :func:`stream_frames_to`, and the :class:`FramePump` behind it.

The pump sends the frames of every stream of an event loop from one timer, without a task
wake-up per frame.

:func:`~tingwu_nb.client.pacing.paced` costs each stream a task wake-up per frame: the shared
timer fires, the stream's coroutine resumes, sends one frame and sleeps again — two trips
through the event loop per frame and stream. :class:`FramePump` instead keeps every stream's
schedule itself and, when a slot of :data:`~tingwu_nb.client.pacing.TICK_S` is due, writes the
frames due in it straight from the timer callback with the stream's ``send_nowait(frame)``. The
stream's coroutine sleeps on one future until its frames are all sent, and wakes only when a
frame must take the slow path: ``send_nowait`` returned False (a write backlog, a reconnect and
its replay, a failed connection), and then the coroutine sends that frame with ``await
stream.send(frame)``, which waits, reconnects or raises, and hands the rest back to the pump.

The schedule is :func:`~tingwu_nb.client.pacing.paced`'s (the same
:class:`~tingwu_nb.client.pacing.Schedule`: ``speed``, ``align_s``, ``max_catch_up_ms`` and the
:class:`~tingwu_nb.client.pacing.PacingReport`), on the loop's clock, and the timer is the
loop's :class:`~tingwu_nb.client.pacing.SharedClock` (shared with :func:`shared_sleep`).
Frames are pulled from the iterator in the timer callback, so the iterator must not block (a
list, :class:`~tingwu_nb.client.replay.PcmFrames`, a generator over them); an exception it raises
reaches the caller of :meth:`FramePump.send`.
"""

from __future__ import annotations

import asyncio
import functools
import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from tingwu_nb.client.pacing import (
    ALIGN_S,
    MAX_SPEED,
    TICK_S,
    Frame,
    PacingReport,
    Schedule,
    SharedClock,
    paced,
    shared_sleep,
)

__all__ = ["CATCH_UP_MS", "FramePump", "NowaitStream", "stream_frames_to"]

#: Most audio :func:`stream_frames_to` sends at once to catch up after a stall (see ``paced``).
CATCH_UP_MS = 1000


class NowaitStream(Protocol):
    """What the pump needs of a stream (RealtimeStream and ResilientStream have it)."""

    def send_nowait(self, frame: Frame) -> bool: ...

    async def send(self, frame: Frame) -> None: ...


@dataclass(eq=False)
class _Feed:
    """One stream's place in its schedule; lives while :meth:`FramePump.send` runs."""

    stream: NowaitStream
    frames: Iterator[Frame]
    schedule: Schedule
    done: asyncio.Future = field(default=None)  # type: ignore[assignment]  # set per hand-over
    pending: Frame | None = None


class FramePump:
    """Sends the due frames of every stream of a loop from the loop's :class:`SharedClock`
    (one timer per :data:`TICK_S` slot).

    Get it with :meth:`of`; :func:`stream_frames_to` uses it for any stream with ``send_nowait``.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, tick_s: float = TICK_S, *,
                 clock: SharedClock | None = None) -> None:
        self._loop = loop
        self._clock = clock if clock is not None else SharedClock(loop, tick_s)

    @classmethod
    def of(cls, loop: asyncio.AbstractEventLoop | None = None) -> FramePump:
        """The pump of ``loop`` (default: the running loop), on the clock :func:`shared_sleep` uses."""
        loop = loop or asyncio.get_running_loop()
        return cls(loop, clock=SharedClock.of(loop))

    async def send(
        self,
        stream: NowaitStream,
        frames: Iterable[Frame],
        *,
        speed: float = 1.0,
        report: PacingReport | None = None,
        max_catch_up_ms: int | None = None,
        align_s: float | None = None,
    ) -> None:
        """Send ``frames`` on ``stream`` at ``speed`` × real time (finite, > 0); returns when all
        are sent. Raises what ``stream.send`` or the frame iterator raise; cancelling it stops the
        stream's frames at once (a frame is never half sent)."""
        if not (speed > 0 and math.isfinite(speed)):
            raise ValueError(f"the pump paces at a finite speed > 0, got {speed!r}")
        schedule = Schedule(speed, report, max_catch_up_ms=max_catch_up_ms, align_s=align_s)
        feed = _Feed(stream, iter(frames), schedule)
        try:
            while True:
                feed.done = self._loop.create_future()
                self._step(feed)
                slow = await feed.done
                if slow is None:
                    return
                due = schedule.due(slow, self._loop.time())
                await stream.send(slow)  # waits, reconnects or raises
                schedule.sent(slow, due, self._loop.time())
        finally:
            schedule.finish(self._loop.time())

    def _step(self, feed: _Feed) -> None:
        """Send what is due now; then schedule the next frame, or hand over (done / slow frame)."""
        if feed.done.done():  # a cancelled send() leaves its feed on the clock: nothing to do
            return
        try:
            while True:
                if feed.pending is None:
                    feed.pending = next(feed.frames, None)
                    if feed.pending is None:
                        feed.done.set_result(None)
                        return
                frame = feed.pending
                now = self._loop.time()
                due = feed.schedule.due(frame, now)
                if due > now:
                    self._clock.at(due, functools.partial(self._step, feed))
                    return
                feed.pending = None
                if not feed.stream.send_nowait(frame):
                    feed.done.set_result(frame)
                    return
                feed.schedule.sent(frame, due, self._loop.time())
        except BaseException as exc:  # noqa: BLE001 - the caller of send() gets it, not the loop
            if not feed.done.done():
                feed.done.set_exception(exc)


async def stream_frames_to(
    stream: Any,
    frames: Iterable[Frame],
    *,
    speed: float = 1.0,
    report: PacingReport | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Any] = shared_sleep,
) -> None:
    """Send ``frames`` on an open stream, paced at ``speed`` × real time.

    The default ``sleep`` is :func:`tingwu_nb.client.pacing.shared_sleep`: all streams of a
    process wake from one timer per 5 ms slot instead of one timer per frame per stream, and
    each schedule starts on the :data:`~tingwu_nb.client.pacing.ALIGN_S` (100 ms) grid, so at 1x
    100 ms frames of any number of streams share one wake-up per 100 ms, with no rounding lag
    (the first frame waits < 100 ms for the grid). With those defaults and a stream that has
    ``send_nowait`` (RealtimeStream, ResilientStream), the frames are sent by the loop's
    :class:`~tingwu_nb.client.pump.FramePump` straight from that timer, so the stream's task
    wakes only for a frame that must wait (flow control, a reconnect) and at the end.

    ``math.inf`` ("as fast as possible") means :data:`tingwu_nb.client.pacing.MAX_SPEED`, the fastest
    speed the service accepts; a finite speed is used as given (above MAX_SPEED the emulator
    answers TaskFailed 40000000). A catch-up burst after a stall of the sender is bounded to
    :data:`CATCH_UP_MS` of audio, so a late sender never looks faster than ``speed``.
    """
    if math.isinf(speed) and speed > 0:
        speed = MAX_SPEED
    if sleep is shared_sleep and hasattr(stream, "send_nowait") and clock is time.monotonic:
        # one timer sends every stream's due frames: no task wake-up per frame (client/pump.py)
        await FramePump.of().send(stream, frames, speed=speed, report=report, max_catch_up_ms=CATCH_UP_MS,
                                  align_s=ALIGN_S)
        return
    async for frame in paced(frames, speed=speed, clock=clock, sleep=sleep, report=report,
                             max_catch_up_ms=CATCH_UP_MS, align_s=ALIGN_S if sleep is shared_sleep else None):
        await stream.send(frame)
