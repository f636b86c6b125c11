"""The WebSocket driver: stream audio to a ``MeetingJoinUrl`` and receive live events.

This is the only client module that imports :mod:`websockets`. It is a short loop around
the sans-I/O :class:`tingwu_nb.protocol.ClientSession`::

    async with RealtimeStream(join_url) as stream:      # connects, starts, waits for TranscriptionStarted
        async for frame in paced(frames, speed=1.0):
            await stream.send(frame)
        await stream.stop()                               # drains every final until TranscriptionCompleted
    stream.events                                         # everything received, stamped with times

Events are available three ways: ``async for event in stream`` (live, while sending in
another task), the ``on_event`` callback, and the ``events`` list afterwards. Every event
carries ``received_at`` (monotonic s), ``received_wall`` (epoch s) and ``audio_sent_ms``
(stream audio sent when it arrived). A ``TaskFailed`` event raises
:class:`~tingwu_nb.errors.TaskFailedError` from :meth:`RealtimeStream.stop`, from the
iterator and from :meth:`RealtimeStream.send`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import websockets
from websockets.asyncio.client import connect as ws_connect

from . import events as ev
from .audio import Frame, PacingReport, paced
from .errors import TaskFailedError, TingwuTimeoutError, TransportError
from .protocol import ClientSession

__all__ = ["RealtimeStream", "StreamOptions", "stream_frames_to"]

_LOOPBACK = ("127.", "localhost", "[::1]", "::1")


@dataclass(frozen=True)
class StreamOptions:
    """How a stream behaves. Defaults follow the official SDKs (spec §4, §5).

    ``stop_timeout_s`` is generous because the final sentence is decoded after Stop.
    ``headers`` are the official clients' ``X-NLS-Token: default``.
    """

    start_timeout_s: float = 10.0
    stop_timeout_s: float = 30.0
    ping_interval_s: float | None = 8.0
    headers: Mapping[str, str] = field(default_factory=lambda: {"X-NLS-Token": "default"})
    payload: Mapping[str, Any] = field(default_factory=dict)
    appkey: str = "default"


_DONE = object()


class RealtimeStream:
    """One WebSocket stream on a join URL; use as ``async with``.

    Args:
        join_url: ``Data.MeetingJoinUrl`` from CreateTask. A capability: never log it.
        options: timeouts, keepalive and start payload.
        on_event: called with each stamped event as it arrives (keep it quick).
        on_frame: called with ``(frame, mono, wall)`` after each audio frame is sent.
        connect: seam for the websockets ``connect`` function.
        clock / wall: seams for monotonic and epoch time.
    """

    def __init__(
        self,
        join_url: str,
        *,
        options: StreamOptions | None = None,
        on_event: Callable[[ev.Event], None] | None = None,
        on_frame: Callable[[Frame, float, float], None] | None = None,
        connect: Callable[..., Any] = ws_connect,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._url = join_url
        self.options = options or StreamOptions()
        self._on_event = on_event
        self._on_frame = on_frame
        self._connect = connect
        self._clock = clock
        self._wall = wall
        self.session = ClientSession(appkey=self.options.appkey, payload=dict(self.options.payload))
        self.events: list[ev.Event] = []
        self.audio_sent_ms = 0
        self.bytes_sent = 0
        self.frames_sent = 0
        self._ws: Any = None
        self._reader: asyncio.Task | None = None
        self._queue: asyncio.Queue = asyncio.Queue()
        self._started = asyncio.Event()
        self._finished = asyncio.Event()
        self._failure: TaskFailedError | None = None
        self._transport_error: BaseException | None = None

    def __repr__(self) -> str:
        return f"<RealtimeStream {self.session.state.name} sent={self.audio_sent_ms} ms events={len(self.events)}>"

    @property
    def ping_latency_s(self) -> float:
        """Round trip of the last keepalive ping (0 until one was answered)."""
        return float(getattr(self._ws, "latency", 0.0) or 0.0)

    # --- lifecycle -----------------------------------------------------------------

    async def __aenter__(self) -> RealtimeStream:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def open(self) -> None:
        """Connect, send StartTranscription and wait for TranscriptionStarted.

        Raises TingwuTimeoutError after ``start_timeout_s``, TaskFailedError if the service
        refuses, TransportError if the connection fails. Next: :meth:`send` audio.
        """
        host = urlsplit(self._url).hostname or ""
        kwargs: dict[str, Any] = {
            "additional_headers": dict(self.options.headers),
            "ping_interval": self.options.ping_interval_s,
            "open_timeout": self.options.start_timeout_s,
        }
        if host.startswith(_LOOPBACK):
            kwargs["proxy"] = None
        try:
            self._ws = await self._connect(self._url, **kwargs)
        except (OSError, websockets.exceptions.WebSocketException, asyncio.TimeoutError) as exc:
            raise TransportError(f"could not open the realtime WebSocket: {_describe(exc)}") from exc
        self._reader = asyncio.create_task(self._read_loop(), name="tingwu-stream-reader")
        self.session.start()
        await self._flush()
        await self._wait(self._started, self.options.start_timeout_s, "TranscriptionStarted")

    async def send(self, frame: Frame | bytes) -> None:
        """Send one audio frame (never empty). Raises TaskFailedError if the stream failed."""
        self._raise_if_failed()
        data = frame.data if isinstance(frame, Frame) else frame
        self.session.send_audio(data)
        await self._flush()
        self.bytes_sent += len(data)
        self.frames_sent += 1
        if isinstance(frame, Frame):
            self.audio_sent_ms = frame.end_ms
            if self._on_frame is not None:
                self._on_frame(frame, self._clock(), self._wall())

    async def stop(self) -> list[ev.Event]:
        """Send StopTranscription and wait for TranscriptionCompleted; returns all events.

        Raises TingwuTimeoutError after ``stop_timeout_s`` and TaskFailedError on TaskFailed.
        Next: stop the *record* with ``TingwuClient.stop_realtime_task`` (the stream ending
        does not end the record).
        """
        self._raise_if_failed()
        self.session.stop()
        await self._flush()
        await self._wait(self._finished, self.options.stop_timeout_s, "TranscriptionCompleted")
        self._raise_if_failed()
        return list(self.events)

    async def close(self) -> None:
        """Close the socket and the reader task; safe to call twice."""
        if self._ws is not None:
            try:
                await self._ws.close()
            except websockets.exceptions.WebSocketException:
                pass
        if self._reader is not None:
            try:
                await asyncio.wait_for(self._reader, timeout=2.0)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                self._reader.cancel()
            self._reader = None

    # --- events --------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[ev.Event]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[ev.Event]:
        while True:
            item = await self._queue.get()
            if item is _DONE:
                self._raise_if_failed()
                return
            yield item

    async def _read_loop(self) -> None:
        try:
            async for message in self._ws:
                if isinstance(message, bytes):
                    continue  # the service sends no binary frames; tolerate and ignore
                for event in self.session.receive_text(message):
                    self._deliver(event)
                if self.session.finished:
                    break
        except websockets.exceptions.ConnectionClosed as exc:
            if not self.session.finished:
                self._transport_error = exc
        except Exception as exc:  # noqa: BLE001 - surfaced to the waiting caller
            self._transport_error = exc
        finally:
            self._started.set()
            self._finished.set()
            self._queue.put_nowait(_DONE)

    def _deliver(self, event: ev.Event) -> None:
        event = dataclasses.replace(
            event, received_at=self._clock(), received_wall=self._wall(), audio_sent_ms=self.audio_sent_ms
        )
        self.events.append(event)
        if isinstance(event, ev.TaskFailed):
            self._failure = TaskFailedError(event.status, event.status_text, event=event)
        if isinstance(event, ev.TranscriptionStarted):
            self._started.set()
        if isinstance(event, (ev.TranscriptionCompleted, ev.TaskFailed)):
            self._finished.set()
            self._started.set()
        if self._on_event is not None:
            self._on_event(event)
        self._queue.put_nowait(event)

    # --- helpers -------------------------------------------------------------------

    async def _flush(self) -> None:
        try:
            for frame in self.session.data_to_send():
                await self._ws.send(frame)
        except websockets.exceptions.ConnectionClosed as exc:
            self._raise_if_failed()
            raise TransportError(f"the realtime WebSocket closed: {_describe(exc)}") from exc

    async def _wait(self, flag: asyncio.Event, timeout: float, what: str) -> None:
        try:
            await asyncio.wait_for(flag.wait(), timeout=timeout)
        except asyncio.TimeoutError:
            raise TingwuTimeoutError(what, timeout) from None
        self._raise_if_failed()
        if self._transport_error is not None and not self.session.finished:
            err = self._transport_error
            raise TransportError(f"the realtime WebSocket failed: {_describe(err)}") from err

    def _raise_if_failed(self) -> None:
        if self._failure is not None:
            raise self._failure


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.split("?mc=")[0]  # never echo a capability token


async def stream_frames_to(
    stream: RealtimeStream,
    frames: Iterable[Frame],
    *,
    speed: float = 1.0,
    report: PacingReport | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Any] = asyncio.sleep,
) -> None:
    """Send ``frames`` on an open stream, paced at ``speed`` × real time (``math.inf``: no pacing)."""
    async for frame in paced(frames, speed=speed, clock=clock, sleep=sleep, report=report):
        await stream.send(frame)
