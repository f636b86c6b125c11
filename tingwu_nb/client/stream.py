"""The WebSocket driver: stream audio to a ``MeetingJoinUrl`` and receive live events.

This is the only client module that imports :mod:`websockets`. It is a short loop around
the sans-I/O :class:`tingwu_nb.contract.protocol.ClientSession`::

    async with RealtimeStream(join_url) as stream:      # connects, starts, waits for TranscriptionStarted
        async for frame in paced(frames, speed=1.0):
            await stream.send(frame)
        await stream.stop()                               # drains every final until TranscriptionCompleted
    stream.events                                         # everything received, stamped with times

After StopTranscription the wait is driven by progress: it goes on as long as events keep
arriving (the service may still be recognising a backlog) and gives up only after
``StreamOptions.stop_timeout_s`` without any event, or at an overall cap proportional to the
audio sent. While waiting it logs (``tingwu_nb.client.stream``, INFO) what it is waiting for.

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
import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import websockets
from websockets.asyncio.client import connect as ws_connect
from websockets.protocol import State as WsState

from tingwu_nb.client.pacing import Frame
from tingwu_nb.client.pump import stream_frames_to  # re-exported: the sending half lives there
from tingwu_nb.contract import events as ev
from tingwu_nb.contract.protocol import ClientSession
from tingwu_nb.errors import TaskFailedError, TingwuTimeoutError, TransportError
from tingwu_nb.redaction import redact_logs

__all__ = ["RealtimeStream", "StreamOptions", "stream_frames_to"]

log = logging.getLogger(__name__)

_LOOPBACK = ("127.", "localhost", "[::1]", "::1")


@dataclass(frozen=True)
class StreamOptions:
    """How a stream behaves. Defaults follow the official SDKs (spec §4, §5).

    ``stop_timeout_s``: after StopTranscription, give up when no event at all has arrived for
    this long (every event resets it: a service still recognising a backlog keeps sending
    SentenceEnd). ``stop_cap_per_audio_s``: whatever the progress, give up after
    ``stop_timeout_s + stop_cap_per_audio_s × seconds of audio sent`` (None: no cap).
    ``stop_log_interval_s``: how often the wait logs what it is waiting for.
    ``headers`` are the official clients' ``X-NLS-Token: default``.
    ``compression``: None (default) sends audio as it is; ``"deflate"`` offers the WebSocket
    permessage-deflate extension. Compressing PCM or already-compressed audio saves little, and
    zlib was about a third of the client's CPU with 100 streams, besides the server's
    (benchmarks/bench_client_cost.py); the official SDKs do not offer it either.
    """

    start_timeout_s: float = 10.0
    stop_timeout_s: float = 30.0
    stop_cap_per_audio_s: float | None = 1.0
    stop_log_interval_s: float = 10.0
    ping_interval_s: float | None = 8.0
    headers: Mapping[str, str] = field(default_factory=lambda: {"X-NLS-Token": "default"})
    payload: Mapping[str, Any] = field(default_factory=dict)
    appkey: str = "default"
    compression: str | None = None


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
        keep_events: False keeps no event in :attr:`events` nor for ``async for`` (read them
            through ``on_event``): memory then does not grow with the length of the stream.
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
        keep_events: bool = True,
    ) -> None:
        self._url = join_url
        self._keep_events = keep_events
        self.event_count = 0  # every event delivered, kept or not
        redact_logs()  # websockets logs the request line, ?mc=<token> included, at DEBUG
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
        self._progress = asyncio.Event()  # set by every event (and by the end of the connection)
        self._last_event_at: float | None = None  # loop time of the last event (not the clock seam)
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
            "compression": self.options.compression,
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
        self._sent(frame, data)

    def send_nowait(self, frame: Frame) -> bool:
        """Send ``frame`` now if the connection takes it without waiting; False (nothing sent)
        when :meth:`send` must be used: no open connection, a failure to raise, or a write
        backlog (flow control). The :class:`~tingwu_nb.client.pump.FramePump` calls it."""
        ws = self._ws
        write = getattr(ws, "send_data", None)  # websockets' asyncio Connection: protocol -> transport
        if (write is None or self._failure is not None or self._transport_error is not None
                or ws.protocol.state is not WsState.OPEN or ws.transport.is_closing()
                or ws.transport.get_write_buffer_size()):
            return False
        self.session.send_audio(frame.data)
        for out in self.session.data_to_send():
            if isinstance(out, str):
                ws.protocol.send_text(out.encode())
            else:
                ws.protocol.send_binary(out)
        write()
        self._sent(frame, frame.data)
        return True

    def _sent(self, frame: Frame | bytes, data: bytes) -> None:
        """Count a frame that went out; a :class:`Frame` also moves ``audio_sent_ms`` and is
        reported to ``on_frame``."""
        self.bytes_sent += len(data)
        self.frames_sent += 1
        if isinstance(frame, Frame):
            self.audio_sent_ms = frame.end_ms
            if self._on_frame is not None:
                self._on_frame(frame, self._clock(), self._wall())

    async def stop(self) -> list[ev.Event]:
        """Send StopTranscription and wait for TranscriptionCompleted; returns all events.

        Waits as long as events keep arriving. Raises TingwuTimeoutError when none arrived for
        ``stop_timeout_s`` (or at the overall cap, see :class:`StreamOptions`) and
        TaskFailedError on TaskFailed. Next: stop the *record* with
        ``TingwuClient.stop_realtime_task`` (the stream ending does not end the record).
        """
        self._raise_if_failed()
        self.session.stop()
        await self._flush()
        await self._wait_for_completion()
        return list(self.events)

    async def _wait_for_completion(self) -> None:
        """Wait for TranscriptionCompleted while events show progress; see :meth:`stop`."""
        opts, loop = self.options, asyncio.get_running_loop()
        stopped_at = loop.time()
        seen = self.event_count
        cap = math.inf
        if opts.stop_cap_per_audio_s is not None:
            cap = opts.stop_timeout_s + opts.stop_cap_per_audio_s * self.audio_sent_ms / 1000
        next_log = stopped_at + opts.stop_log_interval_s
        while not self._finished.is_set():
            now = loop.time()
            last = max(stopped_at, self._last_event_at or stopped_at)
            since_stop = self.event_count - seen
            if now - last >= opts.stop_timeout_s:
                raise TingwuTimeoutError(
                    f"TranscriptionCompleted (no event for {opts.stop_timeout_s:g} s; "
                    f"{since_stop} events arrived after StopTranscription)", opts.stop_timeout_s)
            if now - stopped_at >= cap:
                raise TingwuTimeoutError(
                    f"TranscriptionCompleted (not within the overall cap of {cap:g} s for {self.audio_sent_ms / 1000:g} s "
                    f"of audio; {since_stop} events arrived after StopTranscription)", cap)
            if now >= next_log:
                log.info("waiting for TranscriptionCompleted: %d events since StopTranscription, last %.1f s ago",
                         since_stop, now - last)
                next_log = now + opts.stop_log_interval_s
            self._progress.clear()
            wake = min(last + opts.stop_timeout_s, stopped_at + cap, next_log) - now
            try:
                await asyncio.wait_for(self._progress.wait(), timeout=max(wake, 0.001))
            except asyncio.TimeoutError:
                pass
        self._raise_if_ended()

    async def close(self) -> None:
        """Close the socket and the reader task; safe to call twice."""
        if self._ws is not None:
            try:
                await self._ws.close()
            except websockets.exceptions.WebSocketException:
                pass
        reader, self._reader = self._reader, None
        if reader is not None:
            try:  # asyncio.wait: the reader ending (even cancelled) is not *our* cancellation
                await asyncio.wait({reader}, timeout=2.0)
            finally:  # reached on timeout and when the caller is cancelled (which propagates)
                if not reader.done():
                    reader.cancel()

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
            else:  # a clean close (e.g. code 1000) before TranscriptionCompleted or TaskFailed
                if not self.session.finished:
                    code = getattr(self._ws, "close_code", None)
                    self._transport_error = ConnectionError(
                        f"the service closed the connection (code {code}) before the stream finished")
        except websockets.exceptions.ConnectionClosed as exc:
            if not self.session.finished:
                self._transport_error = exc
        except Exception as exc:  # noqa: BLE001 - surfaced to the waiting caller
            self._transport_error = exc
        finally:
            self._started.set()
            self._finished.set()
            self._progress.set()
            self._queue.put_nowait(_DONE)

    def _deliver(self, event: ev.Event) -> None:
        event = dataclasses.replace(
            event, received_at=self._clock(), received_wall=self._wall(), audio_sent_ms=self.audio_sent_ms
        )
        self.event_count += 1
        if self._keep_events:
            self.events.append(event)
        self._last_event_at = asyncio.get_running_loop().time()
        self._progress.set()
        if isinstance(event, ev.TaskFailed):
            self._failure = TaskFailedError(event.status, event.status_text, event=event)
        if isinstance(event, ev.TranscriptionStarted):
            self._started.set()
        if isinstance(event, (ev.TranscriptionCompleted, ev.TaskFailed)):
            self._finished.set()
            self._started.set()
        if self._on_event is not None:
            self._on_event(event)
        if self._keep_events:
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
        self._raise_if_ended()

    def _raise_if_failed(self) -> None:
        if self._failure is not None:
            raise self._failure

    def _raise_if_ended(self) -> None:
        """After a wait: raise the TaskFailed, or the connection's failure if the session had not finished."""
        self._raise_if_failed()
        if self._transport_error is not None and not self.session.finished:
            err = self._transport_error
            raise TransportError(f"the realtime WebSocket failed: {_describe(err)}") from err


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.split("?mc=")[0]  # never echo a capability token
