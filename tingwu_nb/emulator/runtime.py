"""What the emulator's WebSocket streams share: decode threads, the live streams, a speed guard.

:class:`StreamRuntime` is owned by one app (``create_app`` makes it, ``app.state.streams``
holds it). Recognition runs on its own thread pool, never the event loop's default
executor, so shutting the loop down cannot refuse a decode half way; :meth:`StreamRuntime.close`
ends every live stream with a TaskFailed before the server stops, so nothing is left to
print a traceback. :class:`SpeedGuard` is the pure rule behind
``ContractChoices.max_speed_factor``.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import astuple, dataclass
from typing import Any, Protocol, TypeVar

__all__ = ["RuntimeStats", "ShuttingDown", "SpeedGuard", "StreamRuntime"]

T = TypeVar("T")

#: TaskFailed sent to streams still open when the emulator stops (rt §3: 50000000 is the
#: server-side "retry" class; the text is the emulator's own).
SHUTDOWN_STATUS = 50000000
SHUTDOWN_TEXT = "Gateway:SERVER_ERROR:The service is shutting down; start a new task to continue!"


class ShuttingDown(RuntimeError):
    """The runtime (or the interpreter) is shutting down: no new decode can start."""


@dataclass(frozen=True)
class RuntimeStats:
    """Work done on the decode threads: calls, seconds queued before a thread took them
    (``wait_s``, longest ``max_wait_s``) and seconds running (``run_s``).

    Subtract two snapshots of :attr:`StreamRuntime.stats` to measure a span (``max_wait_s`` is
    then the later snapshot's). A decode queued behind busy threads shows up in ``wait_s``.
    """

    calls: int = 0
    wait_s: float = 0.0
    run_s: float = 0.0
    max_wait_s: float = 0.0

    def __sub__(self, other: RuntimeStats) -> RuntimeStats:
        calls, wait, run, _ = (a - b for a, b in zip(astuple(self), astuple(other)))
        return RuntimeStats(int(calls), wait, run, self.max_wait_s)


class _Stream(Protocol):
    async def abort(self, status: int, text: str) -> None: ...


class StreamRuntime:
    """Decode threads and the registry of live streams for one emulator app.

    Args:
        threads: threads running the streams' recogniser calls. Each stream has at most one
            call in flight; how many decode at once is the engine's ``DecodeGate`` (finals first),
            so the default is enough that a stream's VAD never queues behind other streams'
            waiting decodes (threads are made only when needed).
    """

    def __init__(self, threads: int = 16) -> None:
        self.threads = threads
        self._executor: ThreadPoolExecutor | None = None
        self.streams: set[Any] = set()
        self.closing = False
        self._stats = RuntimeStats()
        self._stats_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<StreamRuntime streams={len(self.streams)} closing={self.closing}>"

    @property
    def executor(self) -> ThreadPoolExecutor:
        """The decode pool (made on first use, again after :meth:`shutdown`)."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.threads, thread_name_prefix="tingwu-emulator-decode")
        return self._executor

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` on a decode thread; raises :class:`ShuttingDown` if refused."""
        if self.closing:
            raise ShuttingDown("the emulator is stopping")
        try:
            future = asyncio.get_running_loop().run_in_executor(
                self.executor, functools.partial(self._timed, time.perf_counter(), fn, args, kwargs))
        except RuntimeError as exc:  # "cannot schedule new futures after (interpreter) shutdown"
            raise ShuttingDown(str(exc)) from exc
        return await future

    def _timed(self, queued: float, fn: Callable[..., T], args: tuple, kwargs: dict) -> T:
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            ended = time.perf_counter()
            with self._stats_lock:
                s, wait = self._stats, started - queued
                self._stats = RuntimeStats(s.calls + 1, s.wait_s + wait, s.run_s + ended - started,
                                           max(s.max_wait_s, wait))

    @property
    def stats(self) -> RuntimeStats:
        """Totals over every call run so far (subtract two snapshots for a span)."""
        with self._stats_lock:
            return self._stats

    def add(self, stream: Any) -> None:
        self.streams.add(stream)

    def discard(self, stream: Any) -> None:
        self.streams.discard(stream)

    async def close(self, timeout_s: float = 5.0) -> None:
        """On the server's loop: refuse new decodes and end every live stream with TaskFailed.

        Next: stop the server, then call :meth:`shutdown` from any thread.
        """
        self.closing = True
        streams: list[_Stream] = list(self.streams)
        if streams:
            await asyncio.wait([asyncio.ensure_future(s.abort(SHUTDOWN_STATUS, SHUTDOWN_TEXT)) for s in streams],
                               timeout=timeout_s)

    def shutdown(self) -> None:
        """Wait for decodes already running (each is at most one feed chunk) and free the threads."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        self.closing = False


class SpeedGuard:
    """Refuses audio sent faster than ``limit`` × real time, beyond a burst of ``burst_ms``.

    A leaky bucket of stream-audio milliseconds that drains at ``limit`` ms per wall
    millisecond from ``now`` (when the stream started). While the client is slower than the
    limit the bucket banks at most ``credit_ms`` of credit (default ``burst_ms``), so a client
    catching up after a stall of its own, or frames read in a batch after a stall of the
    server's loop, are not refused; it overflows when more than ``burst_ms`` of audio arrived
    ahead of the limit plus the banked credit. ``limit=None`` accepts any rate.
    """

    def __init__(self, limit: float | None, burst_ms: float, now: float, credit_ms: float | None = None) -> None:
        self.limit = limit
        self.burst_ms = float(burst_ms)
        self.credit_ms = float(burst_ms if credit_ms is None else credit_ms)
        self.level_ms = 0.0
        self._last = now

    def add(self, audio_ms: float, now: float) -> bool:
        """Account ``audio_ms`` received at ``now`` (seconds); False when over the limit."""
        if self.limit is None:
            return True
        drained = self.level_ms - (now - self._last) * 1000.0 * self.limit
        self.level_ms = max(-self.credit_ms, drained) + audio_ms
        self._last = now
        return self.level_ms <= self.burst_ms

