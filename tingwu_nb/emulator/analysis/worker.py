"""The analysis worker: one thread, a bounded queue, kept apart from live recognition.

Language-model generation takes seconds per call; running it on the recognition threads would
stall SentenceEnds. Every analysis job (post-meeting results, live translation) goes through one
:class:`AnalysisWorker` instead: jobs run one at a time on their own thread, in submission order,
and at most ``max_pending`` may wait. :meth:`AnalysisWorker.try_submit` returns ``None`` when the
queue is full, so a live caller can skip optional work (a partial translation) instead of
piling it up; :meth:`AnalysisWorker.run` waits for room, for work that must be done.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["AnalysisWorker"]

T = TypeVar("T")


class AnalysisWorker:
    """Runs analysis jobs on one dedicated thread with at most ``max_pending`` queued.

    Call :meth:`close` when the emulator stops; queued jobs that have not started are cancelled.
    """

    def __init__(self, max_pending: int = 64, *, name: str = "tingwu-analysis") -> None:
        if max_pending < 1:
            raise ValueError("max_pending must be >= 1")
        self.max_pending = max_pending
        self._slots = threading.BoundedSemaphore(max_pending)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._closed = False
        self.completed = 0
        self.skipped = 0

    def __repr__(self) -> str:
        return f"AnalysisWorker(max_pending={self.max_pending}, completed={self.completed}, skipped={self.skipped})"

    def _start(self, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Future[T]:
        def job() -> T:
            try:
                return fn(*args, **kwargs)
            finally:
                self.completed += 1
                self._slots.release()

        try:
            return self._executor.submit(job)
        except RuntimeError:  # shut down between the check and the submit
            self._slots.release()
            raise

    def try_submit(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> Future[T] | None:
        """Queue ``fn(*args, **kwargs)``, or return ``None`` (and count a skip) when full or closed."""
        if self._closed or not self._slots.acquire(blocking=False):
            self.skipped += 1
            return None
        return self._start(fn, args, kwargs)

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn`` on the worker and return its result, waiting for a free slot first.

        Raises:
            RuntimeError: the worker is closed.
        """
        while not self._slots.acquire(blocking=False):
            if self._closed:
                raise RuntimeError("analysis worker is closed")
            await asyncio.sleep(0.05)
        if self._closed:
            self._slots.release()
            raise RuntimeError("analysis worker is closed")
        return await asyncio.wrap_future(self._start(fn, args, kwargs))

    def close(self) -> None:
        """Stop accepting jobs and cancel the ones not started (a running job finishes)."""
        self._closed = True
        self._executor.shutdown(wait=False, cancel_futures=True)
