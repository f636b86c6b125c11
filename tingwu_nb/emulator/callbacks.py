"""Progressive callbacks: the emulator POSTs GetTaskInfo-shaped messages to the AppKey's URL.

Spec ``tingwu-rest-api.md`` §5.7. A task started with ``Input.ProgressiveCallbacksEnabled=true``
gets one message each time a key of its ``Result`` becomes ready (``TaskStatus`` ONGOING with
the partial ``Result`` of that moment) and one when it ends (COMPLETED, or FAILED with
``ErrorCode``/``ErrorMessage``), posted to ``EmulatorConfig.callback_url``. The body is the
GetTaskInfo response envelope (``Code``, ``Message``, ``RequestId``, ``Data``) built by the REST
side, so a receiver parses it exactly like a poll. The UNCONFIRMED parts (answer timeout, retry
delays, which status counts as delivered, RequestId style) are ``ContractChoices.callback_*``.

Delivery: messages of one task go out in order, one at a time; each is retried after each
delay of ``callback_retry_delays_s`` (default 5 s, 300 s, 300 s) when the receiver is down,
answers too late or answers outside 2xx, then given up (logged, kept in :attr:`deliveries`).
The body carries presigned result URLs: capabilities meant for the receiver. Logs and
:attr:`deliveries` name the receiver by ``scheme://host:port`` only and never hold a URL; so
does httpx's own "HTTP Request" log line for these posts (a filter on the ``httpx`` logger,
removed by :meth:`CallbackSender.aclose`).

Wiring: ``rest_routes(..., callbacks=CallbackSender(config))``; whoever serves the routes
awaits :meth:`CallbackSender.aclose` on shutdown (``Emulator.stop`` does).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from tingwu_nb.emulator.contract import EmulatorConfig, host_of
from tingwu_nb.emulator.store import TaskRecord, TaskStore

__all__ = ["CallbackSender", "Delivery"]

_log = logging.getLogger("tingwu_nb.emulator")
BodyFor = Callable[[TaskRecord], dict[str, Any]]
_HEADERS = {"content-type": "application/json; charset=utf-8", "user-agent": "tingwu-nb-emulator-callback"}


class _HideReceiverUrls(logging.Filter):
    """On the ``httpx`` logger: its line for a post to one of ``urls`` names the host only."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and any(isinstance(a, httpx.URL) and str(a) in self.urls for a in args):
            record.args = tuple(host_of(str(a)) if isinstance(a, httpx.URL) else a for a in args)
        return True


@dataclass(frozen=True)
class Delivery:
    """One attempt to deliver one message (no URL, no body: safe to log or display).

    ``final`` marks the message's last attempt: ``delivered`` then says whether it arrived
    or was given up.
    """

    task_id: str
    task_status: str
    result_keys: tuple[str, ...]
    receiver: str | None
    attempt: int
    status_code: int | None
    error: str | None
    delivered: bool
    final: bool


class CallbackSender:
    """Posts progressive callbacks for the tasks of a :class:`TaskStore` (see the module doc).

    Args:
        config: read at each message, so ``config.callback_url`` may be set while running.
        sleep: awaited between retries (a seam for tests; real time by default).
        transport: an ``httpx`` transport for the posts (default: the network).
        history: how many :class:`Delivery` records :attr:`deliveries` keeps.
    """

    def __init__(
        self,
        config: EmulatorConfig,
        *,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
        history: int = 1000,
    ) -> None:
        self.config = config
        self.deliveries: deque[Delivery] = deque(maxlen=history)
        self._sleep = sleep
        self._transport = transport
        self._body_for: BodyFor | None = None
        self._http: httpx.AsyncClient | None = None
        self._outboxes: dict[str, asyncio.Queue[tuple[str, dict[str, Any]]]] = {}
        self._workers: set[asyncio.Task[None]] = set()
        self._closed = False
        self._hide_urls = _HideReceiverUrls()  # on httpx's logger from the first post until aclose

    def __repr__(self) -> str:
        return (f"<CallbackSender to {host_of(self.config.callback_url)!r}, {len(self._outboxes)} tasks "
                f"sending, {len(self.deliveries)} attempts kept>")

    def attach(self, store: TaskStore, body_for: BodyFor) -> None:
        """Listen to ``store``; ``body_for(record)`` builds the GetTaskInfo envelope of a record.

        Call once, before tasks start (``rest_routes(..., callbacks=)`` does); then serve, and
        ``await aclose()`` on shutdown.
        """
        self._body_for = body_for
        store.subscribe(self._on_change)

    @property
    def closed(self) -> bool:
        """True after :meth:`aclose`: nothing is sent any more (a new sender is needed)."""
        return self._closed

    @property
    def busy(self) -> bool:
        """True while some task still has messages to deliver (or retries pending)."""
        return bool(self._outboxes)

    async def aclose(self) -> None:
        """Stop sending: pending messages and retries are dropped; the HTTP client is closed."""
        self._closed = True
        workers = list(self._workers)
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        self._outboxes.clear()
        logging.getLogger("httpx").removeFilter(self._hide_urls)
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    # -- listener (runs where the record changed) ------------------------------------

    def _on_change(self, record: TaskRecord, what: str) -> None:
        if self._closed or self._body_for is None or record.input.get("ProgressiveCallbacksEnabled") is not True:
            return
        url = self.config.callback_url
        if not url:
            _log.debug("task %s asked for callbacks but no callback_url is configured", record.task_id)
            return
        if what != "TaskStatus" and record.status != "ONGOING":
            return  # a result set after the end is announced by no message of its own
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # a result set from a worker thread: continue on the task's loop
            task = record.postprocess_task
            if task is not None and not task.get_loop().is_closed():
                task.get_loop().call_soon_threadsafe(self._on_change, record, what)
            else:
                _log.warning("callback for task %s dropped: no event loop to send it from", record.task_id)
            return
        body = self._body_for(record)  # snapshot now: the Result of this moment
        queue = self._outboxes.get(record.task_id)
        if queue is None:
            queue = self._outboxes[record.task_id] = asyncio.Queue()
            worker = loop.create_task(self._work(record.task_id, queue))
            self._workers.add(worker)
            worker.add_done_callback(self._workers.discard)
        queue.put_nowait((url, body))

    # -- delivery ---------------------------------------------------------------------

    async def _work(self, task_id: str, queue: asyncio.Queue[tuple[str, dict[str, Any]]]) -> None:
        try:
            while True:
                url, body = await queue.get()
                await self._deliver(task_id, url, body)
                if _status(body) != "ONGOING" and queue.empty():
                    return
        finally:
            if self._outboxes.get(task_id) is queue:
                del self._outboxes[task_id]

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(transport=self._transport, follow_redirects=False)
        return self._http

    async def _deliver(self, task_id: str, url: str, body: dict[str, Any]) -> bool:
        choices = self.config.choices
        delays = tuple(choices.callback_retry_delays_s)
        content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        status, keys, receiver = _status(body), _result_keys(body), host_of(url)
        try:
            self._hide_urls.urls.add(str(httpx.URL(url)))  # as httpx will log it
            httpx_log = logging.getLogger("httpx")
            if self._hide_urls not in httpx_log.filters:  # first, before config.redact_logs' generic filter
                httpx_log.filters.insert(0, self._hide_urls)
        except httpx.InvalidURL:
            pass  # nothing is sent to it, so httpx logs nothing
        for attempt in range(1, len(delays) + 2):
            code: int | None = None
            error: str | None = None
            try:
                response = await asyncio.wait_for(
                    self._client().post(url, content=content, headers=_HEADERS, timeout=choices.callback_timeout_s),
                    choices.callback_timeout_s,
                )
                code = response.status_code
                ok = code == 200 if choices.callback_accept == "200" else 200 <= code < 300
                error = None if ok else f"HTTP {code}"
            except (httpx.HTTPError, httpx.InvalidURL, asyncio.TimeoutError) as exc:  # InvalidURL: no HTTPError
                ok, error = False, "no answer in time" if isinstance(exc, (asyncio.TimeoutError,
                                                                            httpx.TimeoutException)) else type(exc).__name__
            final = ok or attempt > len(delays)
            self.deliveries.append(Delivery(task_id, status, keys, receiver, attempt, code, error, ok, final))
            if ok:
                _log.debug("callback %s %s %s delivered to %s (attempt %d)", task_id, status, keys, receiver, attempt)
                return True
            if final:
                _log.warning("callback %s %s to %s given up after %d attempts (%s)", task_id, status, receiver,
                             attempt, error)
                return False
            delay = delays[attempt - 1]
            _log.info("callback %s %s to %s failed (%s); retry %d in %g s", task_id, status, receiver, error,
                      attempt, delay)
            await self._sleep(delay)
        return False  # pragma: no cover - the loop always returns


def _status(body: dict[str, Any]) -> str:
    return str((body.get("Data") or {}).get("TaskStatus"))


def _result_keys(body: dict[str, Any]) -> tuple[str, ...]:
    return tuple(sorted((body.get("Data") or {}).get("Result") or {}))
