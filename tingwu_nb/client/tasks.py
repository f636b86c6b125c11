"""Async client for Tingwu's task API: CreateTask (realtime start/stop) and GetTaskInfo.

Spec ``tingwu-rest-api.md`` §2 (CreateTask), §3 (GetTaskInfo), §5 (errors, QPS).
Every call is signed with :class:`~tingwu_nb.client.auth.AcsAuth`, paced by a client-side
:class:`~tingwu_nb.client.ratelimit.RateLimiter`, and retried per
:class:`~tingwu_nb.client.ratelimit.RetryPolicy` on throttling, HTTP 5xx and network errors.

```python
async with TingwuClient(endpoint=url, app_key=key, credentials=creds) as client:
    task = await client.create_realtime_task(request)   # stream audio to task.meeting_join_url
    await client.stop_realtime_task(task.task_id)
    final = await client.wait_for_task(task.task_id)    # COMPLETED or FAILED, caller decides
    doc = await client.fetch_json(final.result_urls["Transcription"])
```
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

import httpx

from tingwu_nb.client.auth import AcsAuth, canonical_query
from tingwu_nb.client.filefetch import download_to, open_download, opened
from tingwu_nb.client.httpcheck import api_result, download_result, os_cause
from tingwu_nb.client.ratelimit import RateLimiter, RetryPolicy, shared_limiter
from tingwu_nb.client.taskinfo import TaskInfo, pick, str_or_none
from tingwu_nb.config import Credentials
from tingwu_nb.contract.params import stop_request_body
from tingwu_nb.errors import ServiceError, ThrottledError, TingwuTimeoutError, TransportError
from tingwu_nb.redaction import redact_logs, redact_url

if TYPE_CHECKING:
    from tingwu_nb.client.callbacks import CallbackReceiver

__all__ = ["DEFAULT_TIMEOUT", "TASKS_PATH", "TaskInfo", "TingwuClient"]

TASKS_PATH = "/openapi/tingwu/v2/tasks"
#: Connect within 10 s, then at most 30 s of silence while waiting for an answer.
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
_T = TypeVar("_T")
_log = logging.getLogger("tingwu_nb")
# httpx errors worth another attempt; anything else (bad URL, proxy config) is not.
_RETRYABLE_NETWORK = (httpx.NetworkError, httpx.TimeoutException, httpx.RemoteProtocolError)
# failures after which the request certainly did not reach the service (safe to send again)
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def _encode_body(body: Mapping[str, Any]) -> bytes:
    # Compact, sorted keys: what the official SDK sends (§2.5).
    return json.dumps(body, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode("utf-8")


class TingwuClient:
    """Async Tingwu task client (one ``httpx.AsyncClient`` underneath).

    Args:
        endpoint: ``https://tingwu.cn-beijing.aliyuncs.com`` or an emulator's
            ``http://127.0.0.1:PORT``.
        app_key: the project AppKey, added to every CreateTask body.
        transport: an ``httpx`` transport (e.g. the emulator's ASGI/Mock transport).
        timeout: seconds, or an ``httpx.Timeout``; default :data:`DEFAULT_TIMEOUT` (connect 10 s,
            30 s without an answer). A timed-out call is retried at most once, and a realtime
            CreateTask whose request may have arrived is never sent twice.
        limiter: client-side pacing; default CreateTask 20/s, GetTaskInfo 100/s shared by every
            client of the process with this endpoint and AccessKey id
            (:func:`~tingwu_nb.client.ratelimit.shared_limiter`); a client given its own
            ``clock``/``sleep`` seams gets a private limiter on them instead.
        sleep / clock: seams for backoff, pacing and ``wait_for_task`` deadlines.
        wall_clock / nonce: seams for the signature's ``x-acs-date`` and nonce.
        on_request: receives one redacted record per HTTP attempt (``action``,
            ``attempt``, ``method``, ``status``, ``request_id``, ``elapsed_s``, ``error``).
        on_slow: receives a one-line message when a call has had no answer for
            ``slow_notice_s`` seconds (default: a warning on the ``tingwu_nb`` logger).

    Close it with ``await client.aclose()`` or use ``async with``.
    """

    def __init__(
        self,
        *,
        endpoint: str,
        app_key: str,
        credentials: Credentials,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen, safe to share
        limiter: RateLimiter | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        nonce: Callable[[], str] = lambda: uuid.uuid4().hex,
        on_request: Callable[[dict[str, Any]], None] | None = None,
        on_slow: Callable[[str], None] | None = None,
        slow_notice_s: float = 5.0,
    ) -> None:
        if "://" not in endpoint:
            endpoint = f"https://{endpoint}"
        redact_logs()  # httpx logs every URL it fetches: presigned result links included
        self.endpoint = endpoint.rstrip("/")
        self.app_key = app_key
        self.credentials = credentials
        self.retry = retry
        if limiter is None:  # one limiter per endpoint + key for the whole process, unless time is faked
            real_time = clock is time.monotonic and sleep is asyncio.sleep
            limiter = shared_limiter(self.endpoint, credentials.access_key_id) if real_time else RateLimiter(
                clock=clock, sleep=sleep)
        self._limiter = limiter
        self._sleep = sleep
        self._clock = clock
        self._on_request = on_request
        self._on_slow = on_slow or _log.warning
        self._slow_notice_s = slow_notice_s
        self.timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self._http = httpx.AsyncClient(
            base_url=self.endpoint,
            auth=AcsAuth(credentials, clock=wall_clock, nonce=nonce),
            transport=transport,
            timeout=self.timeout,
        )

    def __repr__(self) -> str:
        return (
            f"TingwuClient(endpoint={redact_url(self.endpoint)!r}, app_key={self.app_key!r}, "
            f"credentials={self.credentials!r})"
        )

    async def __aenter__(self) -> TingwuClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool; the client cannot be used afterwards."""
        await self._http.aclose()

    # -- API calls ---------------------------------------------------------------

    async def create_realtime_task(self, request: Any) -> TaskInfo:
        """Start a realtime recording (``PUT /openapi/tingwu/v2/tasks?type=realtime``).

        Args:
            request: an object with ``to_wire(app_key)`` (e.g. ``params.RealtimeTaskRequest``)
                or a wire dict (``AppKey`` added if absent).

        Returns:
            TaskInfo with ``task_id`` and ``meeting_join_url``; stream audio there next,
            then call :meth:`stop_realtime_task`.
        """
        if hasattr(request, "to_wire"):
            body = request.to_wire(app_key=self.app_key)
        else:
            body = dict(request)
            body.setdefault("AppKey", self.app_key)
        response = await self._call("CreateTask", "PUT", TASKS_PATH, query={"type": "realtime"}, body=body)
        info = TaskInfo.from_response(response)
        if not info.task_id:
            raise ServiceError("CreateTask response has no Data.TaskId", request_id=info.request_id)
        return info

    async def stop_realtime_task(self, task_id: str) -> TaskInfo:
        """End a realtime recording (``?type=realtime&operation=stop``).

        Returns:
            TaskInfo, normally still ``ONGOING`` while post-processing runs; poll with
            :meth:`wait_for_task` next.
        """
        query = {"type": "realtime", "operation": "stop"}
        body = stop_request_body(task_id, self.app_key)
        response = await self._call("CreateTask", "PUT", TASKS_PATH, query=query, body=body)
        return TaskInfo.from_response(response, task_id=task_id)

    async def get_task_info(self, task_id: str) -> TaskInfo:
        """Read a task's status and result URLs (``GET /openapi/tingwu/v2/tasks/{TaskId}``)."""
        path = f"{TASKS_PATH}/{quote(task_id, safe='')}"
        response = await self._call("GetTaskInfo", "GET", path)
        return TaskInfo.from_response(response, task_id=task_id)

    async def wait_for_task(
        self,
        task_id: str,
        *,
        poll_interval_s: float = 2.0,
        timeout_s: float = 900.0,
        on_update: Callable[[TaskInfo], None] | None = None,
        callbacks: CallbackReceiver | None = None,
    ) -> TaskInfo:
        """Poll GetTaskInfo until the task is no longer ``ONGOING``.

        Args:
            on_update: called with every polled TaskInfo (results appear progressively).
            callbacks: a started :class:`~tingwu_nb.client.callbacks.CallbackReceiver` whose
                URL the service posts this task's progressive callbacks to (the task was
                created with ``ProgressiveCallbacksEnabled``). Each callback is an update like
                a poll (passed to ``on_update``) and a terminal one ends the wait at once;
                GetTaskInfo is still polled every ``poll_interval_s`` in case callbacks are
                lost, so a long interval (e.g. 60 s) is enough with callbacks on.

        Returns:
            The final TaskInfo; a ``FAILED`` task is returned, not raised.

        Raises:
            TingwuTimeoutError: still ONGOING after ``timeout_s``.
        """
        deadline = self._clock() + timeout_s
        info = await self.get_task_info(task_id)
        while True:
            if on_update is not None:
                on_update(info)
            if info.done:
                return info
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise TingwuTimeoutError(f"task {task_id} to finish", timeout_s)
            pushed = None
            if callbacks is None:
                await self._sleep(min(poll_interval_s, remaining))
            else:
                pushed = await callbacks.next_update(task_id, min(poll_interval_s, remaining))
            info = pushed if pushed is not None else await self.get_task_info(task_id)

    async def fetch_bytes(self, url: str) -> bytes:
        """Download a result file (presigned URL, no signing); retried on 5xx/network errors."""
        return await self._with_retries("Download", "GET", lambda: self._http.get(url, auth=None), download_result)

    async def fetch_file(self, url: str, path: str | os.PathLike) -> int:
        """Stream a result file (e.g. the mp3) into ``path`` in chunks; returns its size in bytes.
        Retried like :meth:`fetch_bytes`, a body cut short too (resumed where it broke off);
        ``path`` appears only once whole (via ``<path>.part``, removed on failure: client/filefetch.py)."""
        async def broke_off(attempt: int, exc: httpx.HTTPError) -> None:  # the body ended early after a 200
            self._record("Download", "GET", attempt, self._clock(), 200, None, type(exc).__name__)
            if attempt >= self.retry.max_attempts:
                raise self._transport_error("Download", attempt, exc) from exc
            await self._sleep(self.retry.delay_for(attempt))

        return await download_to(Path(path), lambda offset: self._with_retries(
            "Download", "GET", lambda: open_download(self._http, url, offset), opened), broke_off)

    async def fetch_json(self, url: str) -> dict[str, Any]:
        """Download and decode a JSON result file (see :meth:`fetch_bytes`)."""
        data = await self.fetch_bytes(url)
        try:
            return json.loads(data)
        except ValueError as exc:
            raise ServiceError(f"result file is not valid JSON: {exc}") from exc

    async def call_api(
        self, action: str, method: str, path: str, *, body: Mapping[str, Any] | None = None, resend: bool = True
    ) -> dict[str, Any]:
        """One signed, paced and retried call of any Tingwu OpenAPI ``action`` (e.g. the phrases APIs).

        ``path`` is percent-encoded by the caller; ``resend=False`` never sends the request twice
        once it may have arrived (a create). Returns the decoded success envelope; raises
        ServiceError (code, message, request id), ThrottledError or TransportError.
        """
        return await self._call(action, method, path, body=body, resend=resend)

    # -- plumbing ----------------------------------------------------------------

    async def _call(
        self,
        action: str,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        resend: bool | None = None,
    ) -> dict[str, Any]:
        url = f"{path}?{canonical_query(query)}" if query else path
        content = _encode_body(body) if body is not None else b""
        headers = {"x-acs-action": action, "accept": "application/json"}
        if body is not None:
            headers["content-type"] = "application/json; charset=utf-8"

        async def send() -> httpx.Response:
            async with self._limiter.slot(action):
                return await self._http.request(method, url, content=content, headers=headers)

        # a realtime start that may have reached the service must not be sent twice (two paid tasks)
        once = action == "CreateTask" and (query or {}).get("operation") != "stop"
        resend = not once if resend is None else resend
        return await self._with_retries(action, method, send, api_result, resend_after_sent=resend)

    def _retryable(self, exc: ServiceError) -> bool:
        return isinstance(exc, ThrottledError) or exc.status_code in self.retry.retry_on_status

    async def _with_retries(
        self,
        action: str,
        method: str,
        send: Callable[[], Awaitable[httpx.Response]],
        check: Callable[[httpx.Response], _T],
        *,
        resend_after_sent: bool = True,
    ) -> _T:
        attempts = max(1, self.retry.max_attempts)
        timeouts = 0
        for attempt in range(1, attempts + 1):
            started = self._clock()
            try:
                response = await self._send_noting_silence(action, send)
            except _RETRYABLE_NETWORK as exc:
                self._record(action, method, attempt, started, None, None, type(exc).__name__)
                timeouts += isinstance(exc, httpx.TimeoutException)
                final = attempt == attempts or timeouts > 1 or not (resend_after_sent or isinstance(exc, _NOT_SENT))
                if final:
                    raise self._transport_error(action, attempt, exc) from exc
                await self._sleep(self.retry.delay_for(attempt))
                continue
            except httpx.HTTPError as exc:
                self._record(action, method, attempt, started, None, None, type(exc).__name__)
                raise self._transport_error(action, attempt, exc) from exc
            try:
                result = check(response)
            except ServiceError as exc:
                self._record(action, method, attempt, started, response.status_code, exc.request_id, exc.code)
                if attempt == attempts or not self._retryable(exc):
                    raise
                await self._sleep(self.retry.delay_for(attempt, getattr(exc, "retry_after", None)))
                continue
            request_id = response.headers.get("x-acs-request-id") or response.headers.get("x-oss-request-id")
            if request_id is None and isinstance(result, dict):
                request_id = str_or_none(pick(result, "RequestId"))
            self._record(action, method, attempt, started, response.status_code, request_id, None)
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send_noting_silence(self, action: str, send: Callable[[], Awaitable[httpx.Response]]) -> httpx.Response:
        """``send()``, telling ``on_slow`` once if no answer came within ``slow_notice_s``."""
        limit = self.timeout.read
        note = (f"waiting for {redact_url(self.endpoint)} ({action}): no answer yet after "
                f"{self._slow_notice_s:g} s" + (f", giving up after {limit:g} s" if limit else ""))
        handle = asyncio.get_running_loop().call_later(self._slow_notice_s, self._on_slow, note)
        try:
            return await send()
        finally:
            handle.cancel()

    def _transport_error(self, action: str, attempts: int, exc: httpx.HTTPError) -> TransportError:
        """One line naming the endpoint, what went wrong and what to check."""
        where = redact_url(self.endpoint)
        tries = f" ({attempts} attempts)" if attempts > 1 else ""
        if isinstance(exc, httpx.ConnectTimeout):
            reason = f"no connection within {self.timeout.connect:g} s"
        elif isinstance(exc, httpx.ReadTimeout):
            reason = f"connected, but no answer within {self.timeout.read:g} s"
        else:
            reason = os_cause(exc)
        if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)):
            hint = "is the service running, and is --endpoint / TINGWU_ENDPOINT right?"
        elif isinstance(exc, httpx.ReadTimeout):
            hint = "check that --endpoint is a Tingwu endpoint; a busy service may need a longer --read-timeout"
        else:
            hint = "check the network and --endpoint"
        return TransportError(f"{action} to {where} failed{tries}: {reason} — {hint}", endpoint=where, reason=reason)

    def _record(
        self,
        action: str,
        method: str,
        attempt: int,
        started: float,
        status: int | None,
        request_id: str | None,
        error: str | None,
    ) -> None:
        if self._on_request is None:
            return
        self._on_request(
            {
                "action": action,
                "method": method,
                "attempt": attempt,
                "status": status,
                "request_id": request_id,
                "elapsed_s": self._clock() - started,
                "error": error,
            }
        )
