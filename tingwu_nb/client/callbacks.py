"""A local receiver for Tingwu's progressive callbacks, feeding the same path as polling.

Spec ``tingwu-rest-api.md`` §5.7: with ``Input.ProgressiveCallbacksEnabled=true`` the service
POSTs a GetTaskInfo-shaped body to the project's callback URL each time a result becomes ready
and when the task ends. :class:`CallbackReceiver` is a small HTTP/1.1 server (asyncio + h11,
which httpx already installs; no emulator extra) on loopback that turns each body into a
:class:`~tingwu_nb.client.taskinfo.TaskInfo` and hands it to
``TingwuClient.wait_for_task(..., callbacks=receiver)``, so results arrive without waiting
for the next poll and the wait ends at the same TaskInfo polling would::

    async with CallbackReceiver() as receiver:
        emulator.config.callback_url = receiver.url      # the cloud: the console setting + a tunnel
        task = await client.create_realtime_task(request_with_progressive_callbacks_enabled)
        ...                                                # stream, stop
        final = await client.wait_for_task(task.task_id, callbacks=receiver, poll_interval_s=60)

Callbacks carry no signature (none is documented), so :attr:`CallbackReceiver.url` holds a
random ``token``: a capability that only the service is told, checked on every request (403
otherwise). The URL displays redacted; the receiver logs task ids and statuses, never URLs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import h11

from tingwu_nb.client.taskinfo import TaskInfo, pick
from tingwu_nb.redaction import SecretText

__all__ = ["CallbackReceiver"]

_log = logging.getLogger("tingwu_nb")
_IDLE_S = 30.0  # a keep-alive connection with no request for this long is closed
_CLOSE_S = 2.0  # aclose() waits this long for open connections to end before cancelling them


class CallbackReceiver:
    """Loopback HTTP endpoint for progressive callbacks; one queue of updates per task.

    Args:
        host / port: where to listen (loopback, a free port by default). Binding another
            interface exposes it to the network; the token still guards it.
        path: the URL path callbacks are posted to.
        on_message: called with every accepted TaskInfo (e.g. to refresh a widget); an
            exception there is logged, never returned to the sender.
        max_body_bytes: larger bodies are refused with 413.
        max_pending: updates kept per task until read; the oldest are dropped beyond it.

    Start it with ``await receiver.start()`` or ``async with``; close with :meth:`aclose`.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = "/tingwu/callback",
        on_message: Callable[[TaskInfo], None] | None = None,
        max_body_bytes: int = 8 * 1024 * 1024,
        max_pending: int = 256,
    ) -> None:
        self.host, self.port, self.path = host, port, path
        self.on_message = on_message
        self.max_body_bytes = max_body_bytes
        self.max_pending = max_pending
        self.received = 0  # accepted callbacks
        self.refused = 0  # requests answered with an error status
        self._token = secrets.token_urlsafe(24)
        self._server: asyncio.AbstractServer | None = None
        self._connections: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[Any]] = set()  # one per open connection
        self._queues: dict[str, asyncio.Queue[TaskInfo]] = {}
        self._latest: dict[str, TaskInfo] = {}

    def __repr__(self) -> str:
        where = f"{self.host}:{self.port}{self.path}" if self._server else "not started"
        return f"<CallbackReceiver {where}, {self.received} received, {self.refused} refused>"

    @property
    def url(self) -> SecretText:
        """The URL to configure as the callback URL (holds the token: displays redacted).

        Known before :meth:`start` only when a fixed ``port`` was given.
        """
        if not self.port:
            raise RuntimeError("the receiver's port is not known yet; await start() first")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return SecretText(f"http://{host}:{self.port}{self.path}?token={self._token}")

    async def start(self) -> CallbackReceiver:
        """Listen; afterwards :attr:`url` is known."""
        if self._server is None:
            self._server = await asyncio.start_server(self._serve, self.host, self.port)
            self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def aclose(self) -> None:
        """Stop listening, close open connections and wait for their handlers to end (at most
        :data:`_CLOSE_S`, then they are cancelled); updates already received stay readable."""
        if self._server is None:
            return
        self._server.close()
        for writer in list(self._connections):
            writer.close()
        if self._handlers:  # Python < 3.12: wait_closed() does not wait for the connections' tasks
            _, late = await asyncio.wait(list(self._handlers), timeout=_CLOSE_S)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    async def __aenter__(self) -> CallbackReceiver:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- reading updates ----------------------------------------------------------------

    async def next_update(self, task_id: str, timeout_s: float | None = None) -> TaskInfo | None:
        """The next unread callback of ``task_id`` in arrival order, or None after ``timeout_s``.

        One reader per task (``wait_for_task`` is one); use ``on_message`` or :meth:`latest`
        to watch alongside it.
        """
        queue = self._queue(task_id)
        if not queue.empty():
            return queue.get_nowait()
        try:
            return await asyncio.wait_for(queue.get(), timeout_s)
        except asyncio.TimeoutError:
            return None

    def latest(self, task_id: str) -> TaskInfo | None:
        """The last callback received for ``task_id`` (whether read or not), or None."""
        return self._latest.get(task_id)

    def _queue(self, task_id: str) -> asyncio.Queue[TaskInfo]:
        return self._queues.setdefault(task_id, asyncio.Queue())

    def _accept(self, info: TaskInfo) -> None:
        self.received += 1
        self._latest[info.task_id] = info
        queue = self._queue(info.task_id)
        while queue.qsize() >= self.max_pending:
            queue.get_nowait()
        queue.put_nowait(info)
        _log.debug("callback for task %s: %s %s", info.task_id, info.status, sorted(info.result_urls))
        if self.on_message is not None:
            try:
                self.on_message(info)
            except Exception:  # noqa: BLE001 - the sender must still get its 200
                _log.exception("CallbackReceiver.on_message failed for task %s", info.task_id)

    # -- HTTP ---------------------------------------------------------------------------

    def _handle(self, request: h11.Request, body: bytes) -> tuple[int, str]:
        target = urlsplit(request.target.decode("latin-1"))
        if target.path != self.path:
            return 404, "not found"
        token = (parse_qs(target.query).get("token") or [""])[0]
        if not secrets.compare_digest(token.encode(), self._token.encode()):
            return 403, "forbidden"
        if request.method != b"POST":
            return 405, "POST only"
        try:
            message = json.loads(body)
        except ValueError:
            return 400, "body is not JSON"
        data = pick(message, "Data") if isinstance(message, dict) else None
        if not isinstance(data, dict) or not pick(data, "TaskId"):
            return 400, "body has no Data.TaskId"
        self._accept(TaskInfo.from_response(message))
        return 200, "success"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections.add(writer)
        handler = asyncio.current_task()
        if handler is not None:
            self._handlers.add(handler)
        conn = h11.Connection(h11.SERVER)
        try:
            while True:
                event = await _next_event(conn, reader)
                if not isinstance(event, h11.Request):
                    return
                body, status, text = bytearray(), 0, ""
                while True:
                    part = await _next_event(conn, reader)
                    if isinstance(part, h11.Data):
                        body += part.data
                        if len(body) > self.max_body_bytes:
                            status, text = 413, "body too large"
                            break
                    elif isinstance(part, h11.EndOfMessage):
                        break
                    else:
                        return
                if not status:
                    status, text = self._handle(event, bytes(body))
                if status != 200:
                    self.refused += 1
                    _log.info("callback request refused: %d %s", status, text)
                headers = [("content-type", "text/plain; charset=utf-8"), ("content-length", str(len(text)))]
                if status == 413:
                    headers.append(("connection", "close"))
                writer.write(conn.send(h11.Response(status_code=status, headers=headers)))
                writer.write(conn.send(h11.Data(data=text.encode())))
                writer.write(conn.send(h11.EndOfMessage()))
                await writer.drain()
                if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                    return
                conn.start_next_cycle()
        except (h11.ProtocolError, ConnectionError, asyncio.TimeoutError):
            return
        finally:
            self._handlers.discard(handler)
            self._connections.discard(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


async def _next_event(conn: h11.Connection, reader: asyncio.StreamReader) -> Any:
    """The next h11 event, reading from ``reader`` as needed (None when the peer closed)."""
    while True:
        event = conn.next_event()
        if event is not h11.NEED_DATA:
            return None if isinstance(event, h11.ConnectionClosed) else event
        data = await asyncio.wait_for(reader.read(65536), _IDLE_S)
        conn.receive_data(data)
