"""A realtime stream that survives dropped connections without losing or duplicating a sentence.

:class:`ResilientStream` has the interface of :class:`~tingwu_nb.client.stream.RealtimeStream`
(``open``, ``send``, ``stop``, ``close``, ``events``, ``session``, ``audio_sent_ms``) and drives
one RealtimeStream per connection. When a connection fails (a :class:`~tingwu_nb.errors.TransportError`
from sending, from the wait after StopTranscription, or from opening), it

1. closes the broken socket and waits with exponential backoff (:class:`ReconnectPolicy`);
2. opens a new connection to the same join URL (the record stays ONGOING until it is stopped);
3. re-sends, a little faster than real time but within the service's speed limit, the audio after
   the last finalised sentence (``Stitcher.confirmed_ms``), taken again from the
   :class:`~tingwu_nb.client.replay.AudioSource` (a fresh encoding for compressed formats), up to
   where the caller had got; then the caller's frames go on;
4. maps the new connection's events onto the same timeline (:class:`~tingwu_nb.client.replay.Stitcher`)
   and reports the drop as a :class:`~tingwu_nb.client.replay.Gap` (``on_gap``).

A TaskFailed is the service's decision and is never retried. Without an ``AudioSource`` (or
with ``ReconnectPolicy(enabled=False)``) a failure is raised as before.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from tingwu_nb.client.audio import Frame
from tingwu_nb.client.pacing import MAX_SPEED, paced
from tingwu_nb.client.ratelimit import full_jitter
from tingwu_nb.client.replay import AudioSource, Gap, Stitcher, TimeBase
from tingwu_nb.client.stream import RealtimeStream, StreamOptions
from tingwu_nb.contract import events as ev
from tingwu_nb.errors import TingwuTimeoutError, TransportError

__all__ = ["ReconnectPolicy", "ResilientStream"]

#: Replayed audio is sent at this fraction of the fastest accepted speed, so a replay right after
#: a burst of the caller's own frames stays under the service's limit.
REPLAY_SPEED = 0.8 * MAX_SPEED


@dataclass(frozen=True)
class ReconnectPolicy:
    """How a :class:`ResilientStream` reconnects.

    ``max_attempts``: connection attempts per drop before giving up (TransportError);
    attempt *n* waits ``jitter(min(max_delay_s, base_delay_s * 2**(n-1)))``.
    ``max_replay_s``: most audio re-sent after a drop (older unconfirmed audio is reported as
    ``lost_s`` in the gap). ``time_base``: how the service numbers a new connection's times
    (see :mod:`tingwu_nb.client.replay`).
    """

    enabled: bool = True
    max_attempts: int = 6
    base_delay_s: float = 0.25
    max_delay_s: float = 4.0
    max_replay_s: float = 600.0
    time_base: TimeBase = "auto"

    def delay(self, attempt: int, jitter: Callable[[float], float] = full_jitter) -> float:
        return jitter(min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1)))


class ResilientStream:
    """One realtime stream over as many connections as it takes; use like RealtimeStream.

    Args:
        join_url: ``Data.MeetingJoinUrl`` (a capability: never logged).
        source: the stream's audio, for replays; None disables reconnection.
        policy: backoff, replay bound and time base.
        on_event: every event on the stitched timeline (what :attr:`events` collects).
        on_frame: ``(frame, mono, wall)`` once per caller frame (replays are not repeated).
        on_gap: each :class:`~tingwu_nb.client.replay.Gap` when its replay has been sent.
        open_stream: seam, ``(join_url, options=, on_event=, keep_events=) -> RealtimeStream``.
        keep_events: False keeps no event in :attr:`events` (read them through ``on_event``), so
            memory does not grow with the length of the stream; ``record()`` streams them to disk.
    """

    def __init__(
        self,
        join_url: str,
        *,
        source: AudioSource | None = None,
        options: StreamOptions | None = None,
        policy: ReconnectPolicy | None = None,
        on_event: Callable[[ev.Event], None] | None = None,
        on_frame: Callable[[Frame, float, float], None] | None = None,
        on_gap: Callable[[Gap], None] | None = None,
        open_stream: Callable[..., RealtimeStream] = RealtimeStream,
        sleep: Callable[[float], Any] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        jitter: Callable[[float], float] = full_jitter,
        keep_events: bool = True,
    ) -> None:
        self._keep_events = keep_events
        self._url = join_url
        self.options = options
        self.policy = policy or ReconnectPolicy()
        self.source = source
        self.stitcher = Stitcher(self.policy.time_base)
        self.events: list[ev.Event] = []
        self.gaps: list[Gap] = []
        self.audio_sent_ms = 0
        self._on_event, self._on_frame, self._on_gap = on_event, on_frame, on_gap
        self._open_stream = open_stream
        self._sleep, self._clock, self._wall, self._jitter = sleep, clock, wall, jitter
        self._inner: RealtimeStream | None = None
        self._replay: Iterator[Frame] | None = None
        self._next: Frame | None = None  # the next replay frame not yet sent

    def __repr__(self) -> str:
        state = self._inner.session.state.name if self._inner is not None else "NEW"
        return (f"<ResilientStream {state} sent={self.audio_sent_ms} ms events={len(self.events)} "
                f"reconnects={len(self.gaps)}>")

    @property
    def session(self) -> Any:
        """The current connection's protocol session (its ``state``)."""
        return self._inner.session if self._inner is not None else None

    @property
    def ping_latency_s(self) -> float:
        return self._inner.ping_latency_s if self._inner is not None else 0.0

    @property
    def reconnects(self) -> int:
        return len(self.gaps)

    @property
    def _resilient(self) -> bool:
        return self.policy.enabled and self.source is not None

    async def __aenter__(self) -> ResilientStream:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- the stream ---------------------------------------------------------------------

    async def open(self) -> None:
        """Connect and wait for TranscriptionStarted, retrying a failed connection per the policy.

        Raises as :meth:`RealtimeStream.open` once the attempts are used up. Next: :meth:`send`.
        """
        await self._connect(first=True)

    async def send(self, frame: Frame) -> None:
        """Send one caller frame; a failed connection is replaced and the lost audio replayed first."""
        while True:
            try:
                await self._send_through(frame)
                break
            except TransportError as exc:
                if not self._resilient:
                    raise
                await self._recover(exc)
        self._sent(frame)

    def send_nowait(self, frame: Frame) -> bool:
        """Send ``frame`` now if the current connection takes it without waiting; False when
        :meth:`send` must be used (no connection, a failure, a backlog, or a replay under way:
        after a reconnect the replay source's frames stand in for the caller's)."""
        nowait = getattr(self._inner, "send_nowait", None)  # None: no connection, or a stream seam without it
        if self._replay is not None or nowait is None or not nowait(frame):
            return False
        self._sent(frame)
        return True

    def _sent(self, frame: Frame) -> None:
        """The caller's ``frame`` is on its way: move ``audio_sent_ms``, tell ``on_frame``."""
        self.audio_sent_ms = frame.end_ms
        if self._on_frame is not None:
            self._on_frame(frame, self._clock(), self._wall())

    async def stop(self) -> list[ev.Event]:
        """StopTranscription and wait for TranscriptionCompleted (reconnecting and replaying if the
        connection fails meanwhile); returns the stitched events. Next: stop the record."""
        while True:
            try:
                await self._replay_until(self.audio_sent_ms)
                await self._inner.stop()
                return list(self.events)
            except TransportError as exc:
                if not self._resilient:
                    raise
                await self._recover(exc)

    async def close(self) -> None:
        """Close the current connection; safe to call twice."""
        if self._inner is not None:
            await self._inner.close()

    # --- connections --------------------------------------------------------------------

    def _deliver(self, event: ev.Event) -> None:
        stitched = self.stitcher.accept(event)
        if stitched is None:
            return
        if self._keep_events:
            self.events.append(stitched)
        if self._on_event is not None:
            self._on_event(stitched)

    async def _connect(self, *, first: bool, resume_ms: int = 0) -> int:
        """Open a connection (with backoff between attempts); returns the attempts it took."""
        attempts = self.policy.max_attempts if self._resilient or first else 1
        last: BaseException | None = None
        for attempt in range(1, max(1, attempts) + 1):
            if attempt > 1 or not first:
                await self._sleep(self.policy.delay(attempt, self._jitter))
            if not first:
                self.stitcher.new_connection(resume_ms)
            inner = self._open_stream(self._url, options=self.options, on_event=self._deliver, keep_events=False)
            try:
                await inner.open()
            except (TransportError, TingwuTimeoutError) as exc:
                last = exc
                await _quietly(inner.close())
                if not self.policy.enabled:
                    raise
                continue
            self._inner = inner
            return attempt
        assert last is not None
        raise last

    async def _recover(self, cause: TransportError) -> None:
        """Reconnect and replay; a connection that drops again during its replay is replaced too
        (each drop is its own gap), until the policy gives up."""
        while True:
            try:
                await self._reconnect(cause)
                return
            except TransportError as again:
                if getattr(again, "gave_up", False):
                    raise
                cause = again

    async def _reconnect(self, cause: BaseException) -> None:
        dropped_at, dropped_wall = self._clock(), self._wall()
        if self._inner is not None:
            await _quietly(self._inner.close())
        open_sentence = self.stitcher.open_index
        resume = self.stitcher.confirmed_ms
        lost_ms = 0
        bound = int(self.policy.max_replay_s * 1000)
        if self.audio_sent_ms - resume > bound:
            lost_ms = self.audio_sent_ms - bound - resume
            resume += lost_ms
        try:
            attempts = await self._connect(first=False, resume_ms=resume)
        except (TransportError, TingwuTimeoutError) as exc:
            error = TransportError(
                f"the realtime connection dropped ({_say(cause)}) and {self.policy.max_attempts} reconnect "
                f"attempts failed (last: {_say(exc)}); {self.audio_sent_ms / 1000:.1f} s of audio were sent, "
                f"finalised up to {resume / 1000:.1f} s")
            error.gave_up = True
            raise error from exc
        assert self.source is not None
        self._replay = self.source.frames(resume)
        self._next = next(self._replay, None)
        try:
            await self._replay_until(self.audio_sent_ms)
        finally:  # recorded even when this connection drops during its replay (the next gap follows)
            gap = Gap(connection=self.stitcher.connection, dropped_at=dropped_at, dropped_wall=dropped_wall,
                      reason=_say(cause), audio_sent_ms=self.audio_sent_ms, resume_ms=resume,
                      replayed_s=max(0, self.audio_sent_ms - resume) / 1000, lost_s=lost_ms / 1000,
                      reconnect_s=self._clock() - dropped_at, attempts=attempts, open_sentence=open_sentence)
            self.gaps.append(gap)
            if self._on_gap is not None:
                self._on_gap(gap)

    # --- audio --------------------------------------------------------------------------

    async def _send_through(self, frame: Frame) -> None:
        """Send ``frame`` on the current connection, or, after a reconnect, the replay source's
        frames that cover the same audio (a fresh encoding must not mix with the old one)."""
        if self._replay is None:
            await self._inner.send(frame)
            return
        while self._next is not None and self._next.start_ms < frame.end_ms:
            await self._inner.send(self._next)
            self._next = next(self._replay, None)

    async def _replay_until(self, end_ms: int) -> None:
        """Send the replay source's frames that start before ``end_ms``, paced at REPLAY_SPEED."""
        if self._replay is None:
            return

        def due() -> Iterator[Frame]:
            while self._next is not None and self._next.start_ms < end_ms:
                yield self._next
                self._next = next(self._replay, None)

        async for frame in paced(due(), speed=REPLAY_SPEED, sleep=self._sleep):
            await self._inner.send(frame)


async def _quietly(step: Any) -> None:
    try:
        await asyncio.wait_for(step, 5.0)
    except Exception:  # noqa: BLE001 - closing a socket that is already broken
        pass


def _say(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
