"""Retry policy and rate limiting for the Tingwu REST API.

Spec ``tingwu-rest-api.md`` §5.5: CreateTask is limited to 20 QPS and GetTaskInfo to
100 QPS per user; over the limit the service answers ``Throttling.User``.

* :class:`TokenBucket` is pure arithmetic on an explicit ``now``; the emulator uses it
  to enforce the limits.
* :class:`AnsweredWindow` is the client's pure arithmetic: at most ``limit`` calls in any
  ``window_s`` seconds *as the service sees them*, whatever the network and event-loop delays.
* :class:`RateLimiter` is the client's async pacer (``async with limiter.slot(action)`` around
  each call), and :func:`shared_limiter` the one every
  :class:`~tingwu_nb.client.tasks.TingwuClient` of a process uses per endpoint and AccessKey
  id, so many sessions started at once stay within the documented QPS together.
* :class:`RetryPolicy` says how often and how long :class:`~tingwu_nb.client.tasks.TingwuClient`
  waits before retrying throttled, 5xx and network failures.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import random
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field

__all__ = [
    "DEFAULT_QPS",
    "AnsweredWindow",
    "RateLimiter",
    "RetryPolicy",
    "TokenBucket",
    "full_jitter",
    "shared_limiter",
]

DEFAULT_QPS: Mapping[str, float] = {"CreateTask": 20.0, "GetTaskInfo": 100.0}


def full_jitter(delay_s: float) -> float:
    """Return a uniformly random delay in ``[0, delay_s]`` ("full jitter")."""
    return random.uniform(0.0, delay_s)


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before retrying a failed call.

    ``max_attempts`` counts the first try (1 disables retries). Attempt *n* waits
    ``jitter(min(max_delay_s, base_delay_s * 2**(n-1)))`` seconds, but at least the
    server's ``retry_after`` when it sent one.
    """

    max_attempts: int = 5
    base_delay_s: float = 0.25
    max_delay_s: float = 8.0
    jitter: Callable[[float], float] = field(default=full_jitter, repr=False)
    retry_on_status: frozenset[int] = frozenset({500, 502, 503, 504})

    def delay_for(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        backoff = min(self.max_delay_s, self.base_delay_s * 2 ** max(0, attempt - 1))
        return max(self.jitter(backoff), retry_after or 0.0)


class TokenBucket:
    """A token bucket refilled at ``rate`` tokens/s holding at most ``capacity`` tokens.

    Starts full. ``capacity`` defaults to ``max(1, rate)`` (one second of burst).
    """

    def __init__(self, rate: float, capacity: float | None = None, *, now: float = 0.0) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate!r}")
        self.rate = float(rate)
        self.capacity = float(capacity if capacity is not None else max(1.0, rate))
        self._tokens = self.capacity
        self._stamp = now

    def _refill(self, now: float) -> None:
        if now > self._stamp:
            self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now

    def try_acquire(self, now: float) -> bool:
        """Take one token if available at ``now``; return whether one was taken."""
        self._refill(now)
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    def reserve(self, now: float) -> float:
        """Take one token (possibly borrowing) and return the seconds to wait before using it."""
        self._refill(now)
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate


class _Sent:
    """One call that went out; ``answered`` is set when its answer (or failure) came back."""

    __slots__ = ("answered",)

    def __init__(self) -> None:
        self.answered: float | None = None


class AnsweredWindow:
    """At most ``limit`` calls in any ``window_s`` seconds at the service, with no clock there.

    The service receives a call somewhere between the moment it went out and the moment its
    answer came back. So a call may go out only ``window_s`` after the *answer* to the call
    ``limit`` places before it: then no ``limit + 1`` calls can reach the service within
    ``window_s``, however the network or a busy event loop delays them (the cost: a
    throughput of ``limit`` per ``window_s`` + answer time). A full burst is allowed at first.

    Per call: :meth:`reserve` books a place in arrival order (sleep for what it returns), then
    :meth:`release` until it returns a ticket (sleep for the float it returns otherwise), then
    :meth:`answered` with that ticket when the call has ended, however it ended.
    """

    def __init__(self, limit: int, window_s: float) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError(f"need limit >= 1 and window_s > 0, got {limit!r}, {window_s!r}")
        self.limit = int(limit)
        self.window_s = float(window_s)
        self._booked: collections.deque[float] = collections.deque(maxlen=self.limit)
        self._sent: collections.deque[_Sent] = collections.deque(maxlen=self.limit)

    @property
    def rate(self) -> float:
        """The most calls per second this window allows."""
        return self.limit / self.window_s

    def reserve(self, now: float) -> float:
        """Book the next place (first come, first served); return the seconds to sleep first."""
        slot = now if len(self._booked) < self.limit else max(now, self._booked[0] + self.window_s)
        self._booked.append(slot)  # booked times never decrease: the oldest kept is the one to beat
        return slot - now

    def release(self, now: float) -> _Sent | float:
        """A ticket for a call going out at ``now``, or the seconds to sleep before asking again."""
        if len(self._sent) == self.limit:
            oldest = self._sent[0].answered
            if oldest is None:  # still unanswered: it may reach the service any moment
                return self.window_s / self.limit
            if now < oldest + self.window_s:
                return oldest + self.window_s - now
        ticket = _Sent()
        self._sent.append(ticket)
        return ticket

    @staticmethod
    def answered(ticket: _Sent, now: float) -> None:
        """The call holding ``ticket`` ended at ``now`` (answered, failed or cancelled)."""
        ticket.answered = now


class RateLimiter:
    """Client-side pacer: ``async with limiter.slot(action):`` around each call.

    Actions without a configured rate are not limited. With ``answered=False`` each action
    has a :class:`TokenBucket` (``rate``/s, one second of burst, counted when calls go out);
    with ``answered=True`` an :class:`AnsweredWindow` of ``max(1, int(rate))`` calls per
    ``that / rate`` seconds, so the service never sees more than ``rate`` calls in a second.
    Waiters book their place at once (under a thread lock), so concurrent callers — in any
    event loop or thread — are served in order.
    """

    def __init__(
        self,
        rates: Mapping[str, float] = DEFAULT_QPS,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        answered: bool = False,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self.answered = answered
        start = clock()
        self._limits: dict[str, TokenBucket | AnsweredWindow] = {}
        for action, rate in rates.items():
            limit = max(1, int(rate))
            self._limits[action] = AnsweredWindow(limit, limit / rate) if answered else TokenBucket(rate, now=start)

    def __repr__(self) -> str:
        rates = {action: round(limit.rate, 3) for action, limit in self._limits.items()}
        return f"RateLimiter({rates!r}, {'answered window' if self.answered else 'token bucket'})"

    @contextlib.asynccontextmanager
    async def slot(self, action: str) -> AsyncIterator[float]:
        """Wait until a call to ``action`` may go out, then make it inside the block.

        Yields the seconds waited. The block's end counts as the call's answer (normal exit,
        error or cancellation alike).
        """
        limit = self._limits.get(action)
        if not isinstance(limit, AnsweredWindow):
            yield await self.acquire(action)
            return
        with self._lock:
            wait = limit.reserve(self._clock())
        waited = 0.0
        while True:
            if wait > 0:
                await self._sleep(wait)
                waited += wait
            with self._lock:
                ticket = limit.release(self._clock())
            if not isinstance(ticket, float):
                break
            wait = ticket
        try:
            yield waited
        finally:
            with self._lock:
                limit.answered(ticket, self._clock())

    async def acquire(self, action: str) -> float:
        """Wait until a call to ``action`` may go out; return the seconds waited.

        For an answered window this counts the call as answered at once; use :meth:`slot`.
        """
        limit = self._limits.get(action)
        if isinstance(limit, AnsweredWindow):
            async with self.slot(action) as waited:
                return waited
        if limit is None:
            return 0.0
        with self._lock:
            wait = limit.reserve(self._clock())
        if wait > 0:
            await self._sleep(wait)
        return wait


_SHARED: dict[tuple[str, str], RateLimiter] = {}
_SHARED_LOCK = threading.Lock()


def shared_limiter(endpoint: str, access_key_id: str) -> RateLimiter:
    """The process-wide limiter for ``endpoint`` and ``access_key_id`` (made on first use).

    Every :class:`~tingwu_nb.client.tasks.TingwuClient` built with the default clock and sleep
    uses it, so the documented QPS (:data:`DEFAULT_QPS`, spec rest §5.5: per user) holds for
    all of them together, as answered windows (``RateLimiter(answered=True)``). It uses
    ``time.monotonic`` and ``asyncio.sleep`` and works from any event loop or thread.
    """
    key = (endpoint.rstrip("/").lower(), access_key_id)
    with _SHARED_LOCK:
        limiter = _SHARED.get(key)
        if limiter is None:
            limiter = _SHARED[key] = RateLimiter(answered=True)
        return limiter
