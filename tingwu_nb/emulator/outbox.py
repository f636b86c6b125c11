"""One realtime connection's outgoing events: in order, or late, reordered or stalled on purpose.

:class:`Outbox` is what :class:`~tingwu_nb.emulator.realtime.StreamHandler` writes its event
texts through. Without event faults it writes each batch at once, in order. With the task's
:class:`~tingwu_nb.emulator.faults.FaultPlan` it

* delays every event by ``event_delay_s`` (a sender task writes each one when due; order kept);
* swaps adjacent events with probability ``reorder_events`` (seeded): it holds back one
  event until the next arrives and lets the newer go first — only when the protocol does not
  fix their order (:func:`swappable`);
* stalls (:meth:`stall`): writes nothing for N seconds.

``sent_upto`` counts the sentences whose SentenceEnd really went out (the handler passes, with
each batch, how many sentences exist once it is written). Before closing the socket the
handler awaits :meth:`drain` so delayed or held events are not lost, then :meth:`aclose`.
"""

from __future__ import annotations

import asyncio
import collections
import json
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

from tingwu_nb.emulator.faults import FaultPlan

__all__ = ["BARRIERS", "Outbox", "swappable"]

#: Events whose place the protocol fixes: never moved, and nothing is moved across them.
BARRIERS = frozenset({"TranscriptionStarted", "TranscriptionCompleted", "TaskFailed"})

_Key = tuple[str, Any, str, str]  # (name, sentence index, message_id, source_message_id)


def _key(text: str) -> _Key:
    try:
        obj = json.loads(text)
    except ValueError:
        return ("", None, "", "")
    header, payload = obj.get("header") or {}, obj.get("payload") or {}
    source = header.get("source_message_id") or payload.get("source_message_id") or ""
    return (header.get("name", ""), payload.get("index"), header.get("message_id", ""), source)


def swappable(first: _Key, second: _Key) -> bool:
    """May ``second`` go out before ``first``? Not for barriers, not for two events of one
    sentence (Begin/Changed/End keep their order), not for a ResultTranslated ahead of the
    event it translates."""
    if first[0] in BARRIERS or second[0] in BARRIERS or not first[0] or not second[0]:
        return False
    if first[1] is not None and first[1] == second[1]:
        return False
    return second[3] != first[2] and first[3] != second[2]


class Outbox:
    """Writes event texts through ``send_text`` (True when written, False once the peer is gone)."""

    def __init__(self, send_text: Callable[[str], Awaitable[bool]], plan: FaultPlan, *, sent_upto: int,
                 rng: random.Random | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self._send_text = send_text
        self.plan = plan
        self.sent_upto = sent_upto
        self.swaps = 0  # adjacent pairs swapped so far
        self._rng = rng or random.Random(plan.seed)
        self._clock = clock
        self._lock = asyncio.Lock()
        self._queue: collections.deque[tuple[float, str, int | None]] = collections.deque()
        self._held: tuple[str, int | None, _Key] | None = None
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._sender: asyncio.Task[None] | None = None
        self._gone = False

    async def send(self, texts: list[str], upto: int) -> None:
        """Write ``texts`` (one batch) — now, or queued under event faults; ``upto`` sentences
        have their SentenceEnd in or before this batch."""
        if not self.plan.shapes_events:
            async with self._lock:
                for text in texts:
                    if not await self._write(text):
                        return
                self.sent_upto = max(self.sent_upto, upto)
            return
        if not texts:
            if not self._queue and self._held is None and self._idle.is_set():
                self.sent_upto = max(self.sent_upto, upto)
            return
        due = self._clock() + self.plan.event_delay_s
        for n, text in enumerate(texts):
            for out_text, mark in self._shape(text, upto if n == len(texts) - 1 else None):
                self._queue.append((due, out_text, mark))
        self._kick()

    def _shape(self, text: str, mark: int | None) -> list[tuple[str, int | None]]:
        """Apply ``reorder_events``: what to queue now (the held event, the new one, or both swapped)."""
        if self.plan.reorder_events <= 0:
            return [(text, mark)]
        key = _key(text)
        held, self._held = self._held, None
        if held is None:
            if key[0] in BARRIERS:
                return [(text, mark)]
            self._held = (text, mark, key)
            return []
        if swappable(held[2], key) and self._rng.random() < self.plan.reorder_events:
            self.swaps += 1
            return [(text, mark), held[:2]]
        if key[0] in BARRIERS:
            return [held[:2], (text, mark)]
        self._held = (text, mark, key)
        return [held[:2]]

    def _kick(self) -> None:
        if self._queue:
            self._idle.clear()
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._run(), name="tingwu-emulator-outbox")
        self._wake.set()

    async def _run(self) -> None:
        while True:
            if not self._queue:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            due, text, mark = self._queue[0]
            wait = due - self._clock()
            if wait > 0:
                await asyncio.sleep(wait)
            async with self._lock:
                self._queue.popleft()
                if await self._write(text) and mark is not None:
                    self.sent_upto = max(self.sent_upto, mark)

    async def _write(self, text: str) -> bool:
        if self._gone:
            return False
        self._gone = not await self._send_text(text)
        return not self._gone

    async def stall(self, seconds: float) -> None:
        """Write nothing for ``seconds`` (the caller, the receive loop, reads nothing meanwhile)."""
        async with self._lock:
            await asyncio.sleep(seconds)

    async def drain(self) -> None:
        """Write every held and queued event (each when due); returns once all went out or the
        peer is gone."""
        if self._held is not None:
            held, self._held = self._held, None
            self._queue.append((self._clock() + self.plan.event_delay_s, *held[:2]))
            self._kick()
        if self._sender is not None and not self._sender.done() and not self._gone:
            await self._idle.wait()

    async def aclose(self) -> None:
        """Stop the sender task (events still queued are dropped)."""
        if self._sender is not None:
            self._sender.cancel()
            await asyncio.gather(self._sender, return_exceptions=True)
