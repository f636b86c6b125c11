"""The WebSocket driver against small real servers on loopback that misbehave on purpose."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest
import websockets

from tingwu_nb.client.stream import RealtimeStream, StreamOptions
from tingwu_nb.contract.server_session import ServerSession
from tingwu_nb.errors import LocalProtocolError, TaskFailedError, TingwuTimeoutError, TransportError

pytestmark = pytest.mark.network


@asynccontextmanager
async def server(handler: Callable[..., Awaitable[None]]) -> AsyncIterator[str]:
    """Serve ``handler`` on a free loopback port; yield a join URL for it."""
    async with websockets.serve(handler, "127.0.0.1", 0) as srv:
        yield f"ws://127.0.0.1:{srv.sockets[0].getsockname()[1]}/api/ws/v1?mc=test"


async def start_then(ws, after: Callable[[ServerSession], Awaitable[None]]) -> None:
    """Answer StartTranscription with the real server protocol, then run ``after``."""
    session = ServerSession()
    session.receive_text(await ws.recv())
    session.started()
    for text in session.data_to_send():
        await ws.send(text)
    await after(session)


async def test_start_timeout_when_the_server_never_answers():
    """A server that accepts the socket but never sends TranscriptionStarted: TingwuTimeoutError."""
    async def silent(ws):
        await asyncio.sleep(5)

    async with server(silent) as url:
        stream = RealtimeStream(url, options=StreamOptions(start_timeout_s=0.3))
        with pytest.raises(TingwuTimeoutError, match="TranscriptionStarted"):
            await stream.open()
        await stream.close()


async def test_stop_timeout_when_completed_never_comes():
    """Stop is sent but TranscriptionCompleted never arrives: TingwuTimeoutError after stop_timeout_s."""
    async def handler(ws):
        await start_then(ws, lambda session: asyncio.sleep(5))

    async with server(handler) as url:
        async with RealtimeStream(url, options=StreamOptions(stop_timeout_s=0.3)) as stream:
            await stream.send(b"\0" * 3200)
            with pytest.raises(TingwuTimeoutError, match="TranscriptionCompleted"):
                await stream.stop()


async def test_connection_dropped_mid_stream_is_a_transport_error():
    """The server vanishes after TranscriptionStarted: stop() raises TransportError, never hangs."""
    async def handler(ws):
        async def drop(session):
            await ws.close(code=1011)
        await start_then(ws, drop)

    async with server(handler) as url:
        async with RealtimeStream(url, options=StreamOptions(stop_timeout_s=5)) as stream:
            await asyncio.sleep(0.2)
            with pytest.raises(TransportError):
                await stream.send(b"\0" * 3200)
                await stream.stop()


@pytest.mark.parametrize("when", ["before-started", "after-stop"])
async def test_a_clean_close_before_the_stream_finished_is_not_success(when):
    """Close code 1000 with neither TranscriptionCompleted nor TaskFailed: TransportError, not a return."""
    async def handler(ws):
        if when == "before-started":
            await ws.recv()
            await ws.close(code=1000)
            return

        async def close_on_stop(session):
            async for message in ws:
                if isinstance(message, str) and "StopTranscription" in message:
                    await ws.close(code=1000)
                    return
        await start_then(ws, close_on_stop)

    async with server(handler) as url:
        stream = RealtimeStream(url, options=StreamOptions(start_timeout_s=5, stop_timeout_s=5))
        try:
            with pytest.raises(TransportError, match="code 1000"):
                await stream.open()
                await stream.send(b"\0" * 3200)
                await stream.stop()
        finally:
            await stream.close()


async def test_task_failed_mid_stream_raises_with_status():
    """A TaskFailed event surfaces as TaskFailedError carrying its status code and text."""
    async def handler(ws):
        async def fail(session):
            await ws.recv()  # the first audio frame
            session.fail(41040201, "Realtime:GET_CLIENT_DATA_TIMEOUT:Client data does not send continuously!")
            for text in session.data_to_send():
                await ws.send(text)
            await asyncio.sleep(1)
        await start_then(ws, fail)

    async with server(handler) as url:
        async with RealtimeStream(url) as stream:
            await stream.send(b"\0" * 3200)
            with pytest.raises(TaskFailedError) as caught:
                await stream.stop()
    assert caught.value.status == 41040201 and "continuously" in caught.value.status_text


async def test_an_empty_frame_is_never_sent():
    """send(b"") is refused locally (the service answers empty frames with 'Audio frame is null')."""
    received: list[bytes] = []

    async def handler(ws):
        async def collect(session):
            async for message in ws:
                received.append(message)
        await start_then(ws, collect)

    async with server(handler) as url:
        async with RealtimeStream(url) as stream:
            with pytest.raises(LocalProtocolError):
                await stream.send(b"")
    assert all(len(m) for m in received)


async def test_keepalive_pings_are_sent_and_answered():
    """With ping_interval set, the client pings on its own and measures the pong round trip."""
    async def handler(ws):
        await start_then(ws, lambda session: asyncio.sleep(2))

    async with server(handler) as url:
        async with RealtimeStream(url, options=StreamOptions(ping_interval_s=0.1)) as stream:
            await asyncio.sleep(0.5)  # no audio, no command: only keepalive pings cross the wire
            latency = stream.ping_latency_s
    assert latency > 0


class _ReaderThatOutlivesClose:
    """A connection that answers Start with the real server protocol, whose close() returns at
    once while its message iterator never ends (a reader that outlives the socket)."""

    latency = 0.0

    def __init__(self) -> None:
        self.server = ServerSession()
        self.outbox: asyncio.Queue = asyncio.Queue()

    async def send(self, data) -> None:
        if isinstance(data, str):
            self.server.receive_text(data)
            self.server.started()
            for text in self.server.data_to_send():
                self.outbox.put_nowait(text)

    async def close(self) -> None:
        pass

    def __aiter__(self):
        return self

    async def __anext__(self) -> str:
        return await self.outbox.get()


async def test_a_cancellation_during_close_is_not_swallowed():
    """close() waits for its reader; cancelling the caller then must cancel it, not be eaten."""
    async def connect(*args, **kwargs):
        return _ReaderThatOutlivesClose()

    stream = RealtimeStream("ws://127.0.0.1:9/api/ws/v1?mc=x", connect=connect)
    await stream.open()
    closing = asyncio.create_task(stream.close())
    await asyncio.sleep(0.05)
    closing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await closing
