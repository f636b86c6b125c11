"""Real-time pacing of audio frames, with a report of how far sending fell behind.

Pure asyncio: the clock and the sleep are parameters, so the schedule can be checked with a
fake clock. :mod:`tingwu_nb.client.audio` re-exports everything here; import from there.

:func:`shared_sleep` is the sleep that many concurrent streams in one process should share:
every sleep ending in the same :data:`TICK_S` slot of the event loop's clock is woken by one
timer, instead of one timer per frame per stream.
"""

from __future__ import annotations

import asyncio
import math
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass

__all__ = ["ALIGN_S", "MAX_SPEED", "TICK_S", "Frame", "PacingReport", "Schedule", "SharedClock", "paced",
           "shared_sleep"]

#: The fastest pacing the toolkit sends at, as a multiple of real time: what ``speed="max"`` /
#: ``math.inf`` means for :func:`tingwu_nb.record` and ``tingwu-nb transcribe --speed max``, and
#: the emulator's default limit (``ContractChoices.max_speed_factor``). The cloud's own limit is
#: UNCONFIRMED (rt §5.2: "real-time or near-real-time"; the official sample paces at ~2x).
MAX_SPEED = 10.0


#: Granularity of :func:`shared_sleep`: a sleep ends at the first slot boundary at or after its
#: deadline (or up to 5 % of a slot before it), so it is late by less than this (on top of the
#: event loop's own lateness).
TICK_S = 0.005
#: Grid on which :func:`tingwu_nb.client.stream.stream_frames_to` starts each stream's schedule
#: (``paced(align_s=...)``): frames due on the grid land exactly on :func:`shared_sleep` slots, so
#: at 1x with 100 ms frames (spec rt §5.2) all streams of a process wake together, once per
#: 100 ms, and pay no rounding lag; the first frame waits less than this. The session writer's
#: flush timers use the same grid. One wake-up costs ~200 us of CPU on the 2-core test VM, more
#: than sending a frame: with a 20 ms grid, 10 streams cost 2.7x as much per stream-minute
#: (benchmarks/bench_client_cost.py).
ALIGN_S = 0.1
_EARLY = 0.05  # fraction of a slot a shared sleep may end early: absorbs float error on grid deadlines


class SharedClock:
    """One timer per :data:`TICK_S` slot for every sleeper on an event loop.

    Get it with :meth:`of` (one per running loop) or use :func:`shared_sleep`. Each sleeper
    waits on its own future, so cancelling one sleep never disturbs the others.
    """

    _clocks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SharedClock] = weakref.WeakKeyDictionary()

    def __init__(self, loop: asyncio.AbstractEventLoop, tick_s: float = TICK_S) -> None:
        self._loop = loop
        self._tick = tick_s
        self._slots: dict[int, list[Callable[[], object]]] = {}

    @classmethod
    def of(cls, loop: asyncio.AbstractEventLoop | None = None) -> SharedClock:
        """The clock of ``loop`` (default: the running loop), created on first use."""
        loop = loop or asyncio.get_running_loop()
        clock = cls._clocks.get(loop)
        if clock is None:
            clock = cls._clocks[loop] = cls(loop)
        return clock

    def at(self, when: float, callback: Callable[[], object]) -> None:
        """Call ``callback()`` (which must not raise) at the end of the slot holding ``when`` on
        the loop's clock, at most 5 % of a slot earlier (so a deadline on a slot boundary is not
        pushed to the next one by float error)."""
        slot = math.ceil(when / self._tick - _EARLY)
        callbacks = self._slots.get(slot)
        if callbacks is None:
            callbacks = self._slots[slot] = []
            self._loop.call_at(slot * self._tick, self._wake, slot)
        callbacks.append(callback)

    def sleep(self, delay: float) -> Awaitable[None]:
        """An awaitable done at the end of the slot holding ``now + delay`` (see :meth:`at`)."""
        future = self._loop.create_future()
        self.at(self._loop.time() + max(delay, 0.0), lambda: future.done() or future.set_result(None))
        return future

    def _wake(self, slot: int) -> None:
        for callback in self._slots.pop(slot, ()):
            callback()


def shared_sleep(delay: float) -> Awaitable[None]:
    """``asyncio.sleep`` for pacing many streams: one timer per :data:`TICK_S` slot, not per sleep."""
    return SharedClock.of().sleep(delay)


@dataclass(frozen=True)
class Frame:
    """One WebSocket binary frame of encoded audio.

    ``data`` is never empty. ``start_ms`` / ``end_ms`` give the span of audio (from the start
    of the stream) the frame carries; :func:`paced` sends a frame when ``start_ms`` is due.
    """

    data: bytes
    start_ms: int
    end_ms: int

    def __repr__(self) -> str:
        return f"Frame({len(self.data)} bytes, {self.start_ms}-{self.end_ms} ms)"


@dataclass
class PacingReport:
    """How sending kept to the real-time schedule; filled in while :func:`paced` runs.

    ``frames`` yielded so far, ``audio_s`` of audio they span, ``wall_s`` elapsed since the
    first frame, ``max_lag_s`` / ``mean_lag_s`` how late frames were yielded against their due
    time (0 when the consumer keeps up; always 0 at ``speed=math.inf``, which has no schedule),
    ``shifted_s`` how far the schedule was pushed back because sending fell further behind
    than ``max_catch_up_ms`` allows.
    """

    frames: int = 0
    audio_s: float = 0.0
    wall_s: float = 0.0
    max_lag_s: float = 0.0
    mean_lag_s: float = 0.0
    shifted_s: float = 0.0


async def paced(
    frames: Iterable[Frame],
    *,
    speed: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    report: PacingReport | None = None,
    max_catch_up_ms: int | None = None,
    align_s: float | None = None,
) -> AsyncIterator[Frame]:
    """Yield ``frames`` at ``speed`` × real time on an absolute schedule.

    Frame *i* is due at ``t0 + (start_ms_i - start_ms_0) / 1000 / speed`` where ``t0`` is the
    clock when the first frame is asked for (with ``align_s``: the next multiple of ``align_s``
    of the clock, and a push back is a multiple of it too); lateness never accumulates (a slow send is caught up
    by shorter sleeps later), except that with ``max_catch_up_ms`` a frame later than that much
    audio (at ``speed``) pushes the whole schedule back, so a catch-up burst never exceeds it.
    Send each yielded frame before asking for the next one.

    Args:
        frames: frames in stream order, e.g. from :func:`tingwu_nb.client.audio.stream_frames`
            (a generator of live frames works too).
        speed: 1.0 for real time, 2.0 for twice as fast, ``math.inf`` to send without sleeping.
        clock: monotonic seconds (seam for tests).
        sleep: awaitable sleep in seconds (seam for tests).
        report: a :class:`PacingReport` updated after every frame; read it when done.
        max_catch_up_ms: bound on the audio sent back to back to catch up after a stall
            (None: catch up fully). A service that enforces a maximum speed sees no burst above it.
        align_s: start the schedule on this grid of the clock (None: at once), so that streams
            sharing :func:`shared_sleep` wake together; :data:`ALIGN_S` with :data:`TICK_S` slots.

    Raises:
        ValueError: ``speed`` is not > 0.
    """
    schedule = Schedule(speed, report, max_catch_up_ms=max_catch_up_ms, align_s=align_s)
    try:
        for frame in frames:
            now = clock()
            due = schedule.due(frame, now)
            if not schedule.unpaced and due > now:
                await sleep(due - now)
                now = clock()
            schedule.sent(frame, due, now)
            yield frame
    finally:
        schedule.finish(clock())


class Schedule:
    """The absolute schedule of :func:`paced` (and of :class:`~tingwu_nb.client.pump.FramePump`),
    sans-I/O: ask :meth:`due` when a frame is due (it starts the schedule and pushes it back as
    :func:`paced` documents), send the frame at that time, then report it with :meth:`sent`;
    :meth:`finish` at the end. ``report`` (a :class:`PacingReport`) is reset here and kept up to date.

    Raises ValueError when ``speed`` is not > 0.
    """

    def __init__(self, speed: float, report: PacingReport | None = None, *, max_catch_up_ms: int | None = None,
                 align_s: float | None = None) -> None:
        if not speed > 0:  # also refuses NaN
            raise ValueError(f"speed must be > 0 (use math.inf for no pacing), got {speed!r}")
        self.speed, self.align_s = speed, align_s
        self.report = report if report is not None else PacingReport()
        self.report.frames, self.report.audio_s, self.report.wall_s = 0, 0.0, 0.0
        self.report.max_lag_s = self.report.mean_lag_s = self.report.shifted_s = 0.0
        self.catch_up_s = math.inf if max_catch_up_ms is None else max(0.0, max_catch_up_ms / 1000.0 / speed)
        self.unpaced = math.isinf(speed)
        self.t0: float | None = None  # when frame 0 is due (moves back by report.shifted_s)
        self._started = 0.0
        self._base_ms = 0
        self._lag_sum = 0.0

    def due(self, frame: Frame, now: float) -> float:
        """When ``frame`` is due on the clock that gave ``now`` (``t0`` for every frame when unpaced)."""
        if self.t0 is None:
            self.t0, self._base_ms = now, frame.start_ms
            if self.align_s and not self.unpaced:
                self.t0 = math.ceil(now / self.align_s) * self.align_s
            self._started = self.t0
        if self.unpaced:
            return self.t0
        due = self.t0 + (frame.start_ms - self._base_ms) / 1000.0 / self.speed
        if now - due > self.catch_up_s:  # too late: push the schedule back
            shift = now - due - self.catch_up_s
            if self.align_s:
                shift = math.ceil(shift / self.align_s) * self.align_s
            self.t0, due = self.t0 + shift, due + shift
            self.report.shifted_s += shift
        return due

    def sent(self, frame: Frame, due: float, now: float) -> None:
        """``frame`` (due at ``due``) went out at ``now``: update the report."""
        report = self.report
        lag = 0.0 if self.unpaced else max(0.0, now - due)
        self._lag_sum += lag
        report.frames += 1
        report.audio_s = max(report.audio_s, (frame.end_ms - self._base_ms) / 1000.0)
        report.max_lag_s = max(report.max_lag_s, lag)
        report.mean_lag_s = self._lag_sum / report.frames
        report.wall_s = now - self._started

    def finish(self, now: float) -> None:
        """The stream ended (all sent, failed or cancelled) at ``now``."""
        if self.t0 is not None:
            self.report.wall_s = now - self._started
