"""Retry policy and token-bucket rate limiting for the Tingwu REST API.

Spec ``tingwu-rest-api.md`` §5.5: CreateTask is limited to 20 QPS and GetTaskInfo to
100 QPS per user; over the limit the service answers ``Throttling.User``.

* :class:`TokenBucket` is pure arithmetic on an explicit ``now``; the emulator uses it
  to enforce the limits and :class:`RateLimiter` uses it to stay under them.
* :class:`RateLimiter` is the client's async pacer, one bucket per action.
* :class:`RetryPolicy` says how often and how long :class:`~tingwu_nb.client.tasks.TingwuClient`
  waits before retrying throttled, 5xx and network failures.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

__all__ = ["DEFAULT_QPS", "RateLimiter", "RetryPolicy", "TokenBucket", "full_jitter"]

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


class RateLimiter:
    """Client-side pacer: ``await acquire(action)`` before each call.

    Actions without a configured rate are not limited. Waiters reserve their slot
    immediately, so concurrent callers are spaced out fairly without a lock.
    """

    def __init__(
        self,
        rates: Mapping[str, float] = DEFAULT_QPS,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        start = clock()
        self._buckets = {action: TokenBucket(rate, now=start) for action, rate in rates.items()}

    def __repr__(self) -> str:
        rates = {action: bucket.rate for action, bucket in self._buckets.items()}
        return f"RateLimiter({rates!r})"

    async def acquire(self, action: str) -> float:
        """Wait until a call to ``action`` is allowed; return the seconds waited."""
        bucket = self._buckets.get(action)
        if bucket is None:
            return 0.0
        wait = bucket.reserve(self._clock())
        if wait > 0:
            await self._sleep(wait)
        return wait
