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

The schedule is :func:`~tingwu_nb.client.pacing.paced`'s (same ``speed``, ``align_s``,
``max_catch_up_ms`` and :class:`~tingwu_nb.client.pacing.PacingReport`), on the loop's clock.
Frames are pulled from the iterator in the timer callback, so the iterator must not block (a
list, :class:`~tingwu_nb.client.replay.PcmFrames`, a generator over them); an exception it raises
reaches the caller of :meth:`FramePump.send`.
"""

from __future__ import annotations

import asyncio
import math
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from tingwu_nb.client.pacing import (
    _EARLY,
    ALIGN_S,
    MAX_SPEED,
    TICK_S,
    Frame,
    PacingReport,
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
    """One stream's schedule and position; lives while :meth:`FramePump.send` runs."""

    stream: NowaitStream
    frames: Iterator[Frame]
    speed: float
    catch_up_s: float
    align_s: float | None
    report: PacingReport
    done: asyncio.Future = field(default=None)  # type: ignore[assignment]  # set per hand-over
    t0: float | None = None
    started: float = 0.0
    base_ms: int = 0
    lag_sum: float = 0.0
    pending: Frame | None = None


class FramePump:
    """One timer per :data:`TICK_S` slot that sends the due frames of every stream of a loop.

    Get it with :meth:`of` (one per running loop); :func:`tingwu_nb.client.stream.stream_frames_to`
    uses it for any stream with ``send_nowait``.
    """

    _pumps: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, FramePump] = weakref.WeakKeyDictionary()

    def __init__(self, loop: asyncio.AbstractEventLoop, tick_s: float = TICK_S) -> None:
        self._loop = loop
        self._tick = tick_s
        self._slots: dict[int, list[_Feed]] = {}

    @classmethod
    def of(cls, loop: asyncio.AbstractEventLoop | None = None) -> FramePump:
        """The pump of ``loop`` (default: the running loop), created on first use."""
        loop = loop or asyncio.get_running_loop()
        pump = cls._pumps.get(loop)
        if pump is None:
            pump = cls._pumps[loop] = cls(loop)
        return pump

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
        report = report if report is not None else PacingReport()
        report.frames, report.audio_s, report.wall_s, report.max_lag_s, report.mean_lag_s = 0, 0.0, 0.0, 0.0, 0.0
        report.shifted_s = 0.0
        catch_up_s = math.inf if max_catch_up_ms is None else max(0.0, max_catch_up_ms / 1000.0 / speed)
        feed = _Feed(stream, iter(frames), speed, catch_up_s, align_s, report)
        try:
            while True:
                feed.done = self._loop.create_future()
                self._step(feed)
                slow = await feed.done
                if slow is None:
                    return
                due = self._due(feed, slow)
                await stream.send(slow)  # waits, reconnects or raises
                self._sent(feed, slow, due)
        finally:
            if feed.t0 is not None:
                report.wall_s = self._loop.time() - feed.started

    # --- the timer side -----------------------------------------------------------------

    def _step(self, feed: _Feed) -> None:
        """Send what is due now; then schedule the next frame, or hand over (done / slow frame)."""
        try:
            while True:
                if feed.pending is None:
                    feed.pending = next(feed.frames, None)
                    if feed.pending is None:
                        feed.done.set_result(None)
                        return
                frame = feed.pending
                due = self._due(feed, frame)
                now = self._loop.time()
                if due > now:
                    self._at(due, feed)
                    return
                feed.pending = None
                if not feed.stream.send_nowait(frame):
                    feed.done.set_result(frame)
                    return
                self._sent(feed, frame, due)
        except BaseException as exc:  # noqa: BLE001 - the caller of send() gets it, not the loop
            if not feed.done.done():
                feed.done.set_exception(exc)

    def _at(self, due: float, feed: _Feed) -> None:
        slot = math.ceil(due / self._tick - _EARLY)
        feeds = self._slots.get(slot)
        if feeds is None:
            feeds = self._slots[slot] = []
            self._loop.call_at(slot * self._tick, self._wake, slot)
        feeds.append(feed)

    def _wake(self, slot: int) -> None:
        for feed in self._slots.pop(slot, ()):
            if not feed.done.done():  # a cancelled send() leaves its feed behind: skip it
                self._step(feed)

    # --- the schedule (paced()'s rules) --------------------------------------------------

    def _due(self, feed: _Feed, frame: Frame) -> float:
        """When ``frame`` is due, starting / pushing back the schedule as :func:`paced` does."""
        now = self._loop.time()
        if feed.t0 is None:
            feed.t0, feed.base_ms = now, frame.start_ms
            if feed.align_s:
                feed.t0 = math.ceil(now / feed.align_s) * feed.align_s
            feed.started = feed.t0
        due = feed.t0 + (frame.start_ms - feed.base_ms) / 1000.0 / feed.speed
        if now - due > feed.catch_up_s:  # too late: push the schedule back
            shift = now - due - feed.catch_up_s
            if feed.align_s:
                shift = math.ceil(shift / feed.align_s) * feed.align_s
            feed.t0, due = feed.t0 + shift, due + shift
            feed.report.shifted_s += shift
        return due

    def _sent(self, feed: _Feed, frame: Frame, due: float) -> None:
        report, now = feed.report, self._loop.time()
        lag = max(0.0, now - due)
        feed.lag_sum += lag
        report.frames += 1
        report.audio_s = max(report.audio_s, (frame.end_ms - feed.base_ms) / 1000.0)
        report.max_lag_s = max(report.max_lag_s, lag)
        report.mean_lag_s = feed.lag_sum / report.frames
        report.wall_s = now - feed.started


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
