"""The emulator's REST side: CreateTask (realtime start/stop), GetTaskInfo, result files.

Spec ``tingwu-rest-api.md`` §2-§6. Every API request goes through the same gate, in
the cloud's order: ACS3 signature (§6.4) -> per-AccessKey QPS (§5.5) -> ``x-acs-action``
cross-check (§6.4 step 6) -> body validation with ``BRK.*`` codes (§5.2). Result files
are served behind HMAC-signed, expiring URLs like the cloud's presigned OSS links (§3,
:mod:`~tingwu_nb.emulator.result_links`), their JSON made on a worker thread, the mp3 streamed
from its file on disk. UNCONFIRMED behaviour: :class:`~tingwu_nb.emulator.contract.ContractChoices`.

Mount with ``Starlette(routes=rest_routes(store, config, postprocess=...))``; the phrases APIs
(rest §9, :mod:`~tingwu_nb.emulator.phrases`) pass the same gate through ``_RestApi.serve``.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from tingwu_nb.client.auth import NonceCache, verify
from tingwu_nb.client.ratelimit import TokenBucket
from tingwu_nb.emulator.callbacks import CallbackSender
from tingwu_nb.emulator.contract import EmulatorConfig
from tingwu_nb.emulator.faults import FaultState, RestFaults, plan_of, rest_fault_error, task_id_of
from tingwu_nb.emulator.phrases import PhraseStore, phrase_routes, task_hotwords
from tingwu_nb.emulator.result_links import ResultLinks, request_host
from tingwu_nb.emulator.spool import PcmSpool
from tingwu_nb.emulator.store import TaskRecord, TaskStore
from tingwu_nb.emulator.validate import Validator, json_object, reject
from tingwu_nb.errors import ServiceError, ThrottledError

__all__ = ["TASKS_PATH", "rest_routes"]

TASKS_PATH = "/openapi/tingwu/v2/tasks"
THROTTLE_MESSAGE = "Request was denied due to user flow control."  # rest §5.3 (quoted by Tingwu docs)

PostProcess = Callable[[TaskRecord], Awaitable[None]]
WsUrlFor = Callable[[Request, TaskRecord], str]


def default_ws_url(request: Request, record: TaskRecord) -> str:
    """``ws(s)://<host:port>/api/ws/v1?mc=<join token>`` for the host the client called."""
    scheme = "wss" if request.url.scheme == "https" else "ws"
    return f"{scheme}://{request_host(request)}/api/ws/v1?mc={record.join_token}"


def serialise(document: Mapping[str, Any]) -> bytes:  # a result file's bytes; runs on a worker thread
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


class _RestApi:
    """Request handlers; one instance per app, holding nonces, buckets and background tasks."""

    def __init__(
        self,
        store: TaskStore,
        config: EmulatorConfig,
        postprocess: PostProcess,
        clock: Callable[[], float],
        ws_url_for: WsUrlFor | None,
        sleep: Callable[[float], Awaitable[object]],
        phrases: PhraseStore | None = None,
    ) -> None:
        self.store = store
        self.phrases = phrases if phrases is not None else PhraseStore()
        self.config = config
        self.choices = config.choices
        self.validate = Validator(config)
        self._postprocess = postprocess
        self._clock = clock
        self._ws_url_for = ws_url_for or default_ws_url
        self._sleep = sleep
        self._nonces = NonceCache(clock=clock)
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._faults = RestFaults(config.faults)  # injected REST faults, counted per server
        self.links = ResultLinks(config.url_signing_key, config.choices, clock)

    # -- common gate -----------------------------------------------------------

    def _request_id(self, style: str | None = None) -> str:
        """A new RequestId in ``style`` (default ``choices.request_id_style``)."""
        rid = uuid.uuid4()
        style = style or self.choices.request_id_style
        return rid.hex if style == "hex32" else str(rid).upper() if style == "uuid-upper" else str(rid)

    def _authenticate(self, request: Request, body: bytes, action: str) -> str:
        headers = request.headers
        if self.config.verify_signatures:
            raw_path = request.scope.get("raw_path") or quote(request.url.path).encode()
            key_id = verify(
                method=request.method,
                path=raw_path.decode("latin-1"),
                query=request.scope.get("query_string", b"").decode("latin-1"),
                headers=headers,
                body=body,
                secret_for=self.config.keys.get,
                now=self._clock(),
                nonces=self._nonces,
                expected_token_for=self.config.sts_tokens.get,
            )
        else:
            found = re.search(r"Credential=([^,\s]+)", headers.get("authorization", ""))
            key_id = found.group(1) if found else "anonymous"
        self._throttle(key_id, action)
        if headers.get("x-acs-action") != action:
            raise reject(
                self.choices.action_mismatch_code,
                f"x-acs-action {headers.get('x-acs-action')!r} does not match this API ({action}).",
                self.choices.action_mismatch_status,
            )
        return key_id

    def _throttle(self, key_id: str, action: str) -> None:
        rate = self.config.qps.get(action)
        if not rate:
            return
        now = self._clock()
        bucket = self._buckets.setdefault((key_id, action), TokenBucket(rate, now=now))
        if not bucket.try_acquire(now):
            raise ThrottledError(
                THROTTLE_MESSAGE,
                retry_after=self.choices.throttle_retry_after_s,
                code="Throttling.User",
                status_code=self.choices.throttle_status,
            )

    def _error(self, request: Request, exc: ServiceError, rid: str) -> JSONResponse:
        host = request_host(request)
        body: dict[str, Any] = {"RequestId": rid, "Code": exc.code, "Message": exc.message}
        if self.choices.error_body_extras:
            body["HostId"] = host
            body["Recommend"] = f"https://api.aliyun.com/troubleshoot?q={exc.code}&product=tingwu&requestId={rid}"
        headers = {"x-acs-request-id": rid}
        if isinstance(exc, ThrottledError) and exc.retry_after:
            headers["x-acs-retry-after"] = f"{exc.retry_after:g}"
        return JSONResponse(body, status_code=exc.status_code or 400, headers=headers)

    def _envelope(self, data: Mapping[str, Any], rid: str) -> dict[str, Any]:
        """The success body of every API (and of a callback): ``Code``, ``Message``, ``RequestId``, ``Data``."""
        return {"Code": "0", "Message": self.choices.success_message, "RequestId": rid, "Data": dict(data)}

    async def serve(self, request: Request, action: str,
                    handler: Callable[[Request, bytes], Mapping[str, Any]]) -> Response:
        """The common gate for ``action``, then ``handler(request, raw_body)``'s Data, or its error.

        The handler finds the caller's AccessKeyId in ``request.state.access_key_id`` and raises
        a :class:`ServiceError` (e.g. :func:`reject`) to answer with an error envelope.
        """
        rid = self._request_id()
        try:
            raw = await request.body()
            request.state.access_key_id = self._authenticate(request, raw, action)
            self._inject(request, raw, action)
            data = handler(request, raw)
        except ServiceError as exc:
            return self._error(request, exc, rid)
        return JSONResponse(self._envelope(data, rid), headers={"x-acs-request-id": rid})

    def _inject(self, request: Request, raw: bytes, action: str) -> None:
        """Raise the injected REST fault for this call, if any (emulator/faults.py): counted for the
        task the call names when Emulator.inject gave it its own plan, else for the server."""
        record = self.store.get(task_id_of(request.path_params, raw) or "")
        own = record.faults if record is not None and record.faults is not None and record.faults.own else None
        kind = (own.rest_faults() if own is not None else self._faults).decide(action)
        error = rest_fault_error(kind, plan_of(own, self.config.faults), self.choices.throttle_status)
        if error is not None:
            raise error

    # -- CreateTask ------------------------------------------------------------

    async def create_task(self, request: Request) -> Response:
        return await self.serve(request, "CreateTask", self._create)

    def _create(self, request: Request, raw: bytes) -> dict[str, Any]:
        kind, operation = request.query_params.get("type"), request.query_params.get("operation", "start")
        if kind != "realtime" or operation not in ("start", "stop"):
            raise reject(
                self.choices.invalid_parameter_code,
                f"Unsupported task type/operation: {kind!r}/{operation!r} (the emulator serves type=realtime).",
            )
        body = json_object(raw, self.choices.invalid_parameter_code)
        self.validate.app_key(body)
        if operation == "stop":
            return self._stop(body)
        return self._start(request, body, request.state.access_key_id)

    def _start(self, request: Request, body: dict[str, Any], key_id: str) -> dict[str, Any]:
        self.validate.start(body)
        hotwords = task_hotwords(self.phrases, body, self.choices)
        record = self.store.create(app_key=self.config.app_key, access_key_id=key_id, request=body, now=self._clock())
        record.hotwords = hotwords
        record.faults = FaultState(self.config.faults)  # the server's plan until Emulator.inject replaces it
        data: dict[str, Any] = {"TaskId": record.task_id}
        if record.task_key is not None:
            data["TaskKey"] = record.task_key
        data["MeetingJoinUrl"] = self._ws_url_for(request, record)
        record.origin = self._origin(request)
        if self.choices.start_includes_task_status:
            data["TaskStatus"] = record.status
        return data

    def _stop(self, body: dict[str, Any]) -> dict[str, Any]:
        inp = body.get("Input")
        task_id = inp.get("TaskId") if isinstance(inp, dict) else None
        if not isinstance(task_id, str) or not task_id:
            raise reject(self.choices.invalid_parameter_code, "Input.TaskId is required to stop a task.")
        record = self.store.get(task_id)
        if record is None or record.app_key != body.get("AppKey"):
            raise reject(self.choices.unknown_task_code, "Invalid task id.")
        if record.status != "ONGOING" or record.phase != "streaming":
            if not self.choices.repeat_stop_idempotent:
                raise reject(self.choices.repeat_stop_code, "Task is not ongoing.", self.choices.repeat_stop_status)
        else:
            record.phase = "postprocessing"
            record.stopped_at = self._clock()
            task = asyncio.get_running_loop().create_task(self._finish(record))
            record.postprocess_task = task
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        data: dict[str, Any] = {"TaskId": record.task_id}
        if self.choices.stop_includes_task_key and record.task_key is not None:
            data["TaskKey"] = record.task_key
        data["TaskStatus"] = record.status
        return data

    async def _finish(self, record: TaskRecord) -> None:
        """Run post-processing, then mark the task COMPLETED (or FAILED with the error)."""
        cancelled = False
        try:
            await self._postprocess(record)
            if self.choices.postprocess_delay_s > 0:
                await self._sleep(self.choices.postprocess_delay_s)
        except asyncio.CancelledError:
            record.status, record.error_code, record.error_message = "FAILED", "TSC.Cancelled", "Emulator shut down."
            cancelled = True
            raise
        except Exception as exc:  # noqa: BLE001 - any failure becomes a FAILED task, as in the cloud
            record.status = "FAILED"
            record.error_code = str(getattr(exc, "code", None) or self.choices.postprocess_error_code)
            record.error_message = str(exc) or type(exc).__name__
        else:
            record.status = "COMPLETED"
        finally:
            record.phase = "done"
            record.completed_at = self._clock()
            if cancelled and not record.stream_active:  # shutting down: no executor to rely on, no hurry
                record.release_audio()
            elif not record.stream_active:  # else the stream handler releases the audio when it ends
                await record.release_audio_off_loop()
            record.notify("TaskStatus")

    # -- GetTaskInfo -----------------------------------------------------------

    async def get_task(self, request: Request) -> Response:
        return await self.serve(request, "GetTaskInfo", self._task_info)

    def _task_info(self, request: Request, raw: bytes) -> dict[str, Any]:
        task_id = request.path_params["task_id"]
        record = self.store.get(task_id)
        if record is None:
            if self.choices.unknown_task != "invalid":
                raise reject(self.choices.unknown_task_code, "Invalid task id.", self.choices.unknown_task_status)
            return {"TaskId": task_id, "TaskStatus": "INVALID"}
        return self._task_data(self._origin(request), record)

    def callback_body(self, record: TaskRecord) -> dict[str, Any]:
        """The GetTaskInfo response envelope for ``record`` now, as a callback body (rest §5.7)."""
        data = self._task_data(record.origin or "http://127.0.0.1", record)
        return self._envelope(data, self._request_id(self.choices.callback_request_id_style))

    def _task_data(self, origin: str, record: TaskRecord) -> dict[str, Any]:
        data: dict[str, Any] = {"TaskId": record.task_id}
        if record.task_key is not None:
            data["TaskKey"] = record.task_key
        data["TaskStatus"] = record.status
        if record.status == "FAILED":
            data["ErrorCode"], data["ErrorMessage"] = record.error_code, record.error_message
            if not self.choices.failed_task_shows_results:
                return data
        stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(self._clock()))
        tid, ttl = record.task_id, plan_of(record.faults, self.config.faults).result_url_ttl_s
        if record.output_mp3 and record.output_mp3 in record.files:
            data["OutputMp3Path"] = self.links.url(origin, tid, f"{tid}_{stamp}.mp3", ttl)
        result = {kind: self.links.url(origin, tid, f"{tid}_{kind}_{stamp}.json", ttl) for kind in list(record.results)}
        if result:
            data["Result"] = result
        return data

    # -- result files (presigned links: result_links.py) ----------------------------------

    def _origin(self, request: Request) -> str:
        """``scheme://host`` of the service as the client called it (result URLs point there)."""
        return f"{request.url.scheme}://{request_host(request)}"

    async def result_file(self, request: Request) -> Response:
        return await self.links.serve(request, self._request_id(), self._lookup_file)

    async def _lookup_file(self, task_id: str, name: str) -> tuple[bytes | PcmSpool, str] | None:
        record = self.store.get(task_id)
        if record is None:
            return None
        tid = re.escape(task_id)
        match = re.fullmatch(rf"{tid}_(?P<kind>[A-Za-z]+)_\d{{14}}\.json", name)
        if match and match["kind"] in record.results:
            # a day's Transcription is tens of MB of JSON: serialised on a thread, never on the loop
            return await asyncio.to_thread(serialise, record.results[match["kind"]]), "application/json"
        if re.fullmatch(rf"{tid}_\d{{14}}\.mp3", name) and record.output_mp3 in record.files:
            return record.files[record.output_mp3], "audio/mpeg"  # on disk: streamed, never read whole
        return None


def rest_routes(
    store: TaskStore,
    config: EmulatorConfig,
    *,
    postprocess: PostProcess,
    clock: Callable[[], float] = time.time,
    ws_url_for: WsUrlFor | None = None,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    callbacks: CallbackSender | None = None,
    phrases: PhraseStore | None = None,
) -> list[BaseRoute]:
    """Build the REST routes of the emulator.

    Args:
        store: shared task records (the WebSocket handler finds tasks by join token there).
        postprocess: awaited in the background after stop; it fills ``record.results`` /
            ``record.files`` progressively. When it returns, the task becomes COMPLETED
            after ``choices.postprocess_delay_s``; when it raises, FAILED.
        clock: epoch seconds, for signatures' date skew, QPS buckets and URL expiry.
        ws_url_for: builds ``MeetingJoinUrl`` (default ``ws://<host>/api/ws/v1?mc=<token>``).
        sleep: used for the post-processing delay (``choices.postprocess_delay_s``).
        callbacks: posts progressive callbacks (rest §5.7) for the tasks of ``store``; whoever
            serves the routes must ``await callbacks.aclose()`` on shutdown.
        phrases: hot-word lists for the phrases APIs (rest §9; a new empty store by default).

    Returns:
        Routes for ``PUT /openapi/tingwu/v2/tasks``, ``GET /openapi/tingwu/v2/tasks/{TaskId}``,
        ``GET /results/{TaskId}/{file}`` and the five phrases APIs (:mod:`~tingwu_nb.emulator.phrases`);
        add them to a Starlette app.
    """
    api = _RestApi(store, config, postprocess, clock, ws_url_for, sleep, phrases)
    if callbacks is not None:
        callbacks.attach(store, api.callback_body)
    return [
        Route(TASKS_PATH, api.create_task, methods=["PUT"]),
        Route(TASKS_PATH + "/{task_id}", api.get_task, methods=["GET"]),
        Route("/results/{task_id}/{name}", api.result_file, methods=["GET"]),
        *phrase_routes(api.phrases, config.choices, api.serve),
    ]
