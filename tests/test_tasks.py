"""TingwuClient over real loopback HTTP against the emulator (and small failing apps)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from tests.serve import FakeClock, RestEmulator, rest_emulator, serve
from tingwu_nb.client.ratelimit import RateLimiter, RetryPolicy
from tingwu_nb.client.tasks import TaskInfo, TingwuClient
from tingwu_nb.config import Credentials
from tingwu_nb.emulator.contract import ContractChoices
from tingwu_nb.emulator.store import TaskRecord
from tingwu_nb.errors import ServiceError, ThrottledError, TingwuTimeoutError, TransportError

pytestmark = pytest.mark.network

START = {
    "Input": {"Format": "pcm", "SampleRate": 16000, "SourceLanguage": "en", "TaskKey": "meeting-1"},
    "Parameters": {"Transcription": {"OutputLevel": 2}},
}
DOC = {"TaskId": "", "Transcription": {"AudioInfo": {"Duration": 1000}, "Paragraphs": [], "AudioSegments": []}}
NO_JITTER = RetryPolicy(jitter=lambda d: d)


Emu = RestEmulator


@pytest.fixture
async def emu() -> AsyncIterator[Emu]:
    async with _emulator() as e:
        yield e


@asynccontextmanager
async def _emulator(**config_kw: Any) -> AsyncIterator[Emu]:
    gate = asyncio.Event()

    async def postprocess(record: TaskRecord) -> None:
        record.results["Transcription"] = {**DOC, "TaskId": record.task_id}
        await gate.wait()  # the test opens the gate once it saw the partial result

    async with rest_emulator(postprocess, gate=gate, client_defaults={"retry": NO_JITTER}, **config_kw) as e:
        yield e


async def test_create_stop_wait_with_progressive_results(emu: Emu):
    """Start -> stop -> wait_for_task sees ONGOING with Transcription, then COMPLETED; the file downloads."""
    seen: list[TaskInfo] = []

    def on_update(info: TaskInfo) -> None:
        seen.append(info)
        if info.status == "ONGOING" and "Transcription" in info.result_urls:
            emu.gate.set()

    async with emu.client() as client:
        task = await client.create_realtime_task(START)
        assert task.status == "ONGOING" and task.task_key == "meeting-1"
        assert task.meeting_join_url.startswith("ws://127.0.0.1:") and "mc=" in task.meeting_join_url
        stopped = await client.stop_realtime_task(task.task_id)
        assert (stopped.task_id, stopped.status) == (task.task_id, "ONGOING")
        final = await client.wait_for_task(task.task_id, poll_interval_s=1.0, on_update=on_update)
        assert any(i.status == "ONGOING" and "Transcription" in i.result_urls for i in seen)
        assert final.status == "COMPLETED" and final.done
        assert await client.fetch_json(final.result_urls["Transcription"]) == {**DOC, "TaskId": task.task_id}


async def test_params_request_object_is_accepted(emu: Emu):
    """An object with to_wire(app_key) (params.RealtimeTaskRequest) is sent as the body."""
    from tingwu_nb.contract.params import RealtimeTaskRequest

    async with emu.client() as client:
        task = await client.create_realtime_task(RealtimeTaskRequest.from_wire(START))
    record = emu.store.get(task.task_id)
    assert record.request["AppKey"] == emu.config.app_key and record.language == "en"


async def test_wait_for_task_times_out(emu: Emu):
    """A task that stays ONGOING past timeout_s raises TingwuTimeoutError."""
    async with emu.client() as client:
        task = await client.create_realtime_task(START)
        with pytest.raises(TingwuTimeoutError) as exc:
            await client.wait_for_task(task.task_id, poll_interval_s=5, timeout_s=12)
    assert exc.value.seconds == 12


async def test_wrong_secret_is_not_retried(emu: Emu):
    """A bad signature surfaces as SignatureDoesNotMatch with a request id after one attempt."""
    creds = Credentials(access_key_id=next(iter(emu.config.keys)), access_key_secret="not-the-secret")
    async with emu.client(credentials=creds) as client:
        with pytest.raises(ServiceError) as exc:
            await client.create_realtime_task(START)
    assert (exc.value.code, exc.value.status_code) == ("SignatureDoesNotMatch", 400)
    assert exc.value.request_id and len(emu.records) == 1


async def test_sts_credentials_work():
    """STS credentials (key id, secret and token) are accepted by the emulator."""
    async with _emulator(with_sts=True) as e:
        sts_id = next(iter(e.config.sts_tokens))
        async with e.client(credentials=e.config.credentials(sts_id)) as client:
            task = await client.create_realtime_task(START)
        assert e.store.get(task.task_id).access_key_id == sts_id


async def test_throttled_calls_are_retried_until_they_pass():
    """With CreateTask at 1 QPS, back-to-back creates succeed after Throttling.User retries."""
    async with _emulator(qps={"CreateTask": 1.0, "GetTaskInfo": 100.0}) as e:
        async with e.client() as client:
            for _ in range(3):
                await client.create_realtime_task(START)
    errors = [r["error"] for r in e.records]
    assert errors.count("Throttling.User") >= 2 and errors.count(None) == 3
    assert all(r["status"] in (200, 400) and r["request_id"] for r in e.records)


async def test_throttling_surfaces_without_retries():
    """With retries disabled, the second call in the same instant raises ThrottledError."""
    async with _emulator(qps={"CreateTask": 1.0}) as e:
        async with e.client(retry=RetryPolicy(max_attempts=1)) as client:
            await client.create_realtime_task(START)
            with pytest.raises(ThrottledError) as exc:
                await client.create_realtime_task(START)
    assert (exc.value.code, exc.value.status_code) == ("Throttling.User", 400)
    assert exc.value.message == "Request was denied due to user flow control."


async def test_throttle_status_429_choice():
    """ContractChoices(throttle_status=429, throttle_retry_after_s=2) -> 429 and retry_after 2."""
    choices = ContractChoices(throttle_status=429, throttle_retry_after_s=2)
    async with _emulator(qps={"CreateTask": 1.0}, choices=choices) as e:
        async with e.client(retry=RetryPolicy(max_attempts=1)) as client:
            await client.create_realtime_task(START)
            with pytest.raises(ThrottledError) as exc:
                await client.create_realtime_task(START)
    assert exc.value.status_code == 429 and exc.value.retry_after == 2


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"SourceLanguage": "xx"}, "BRK.InvalidLanguage"),
        ({"Format": "wav"}, "BRK.InvalidAudioFormat"),
        ({"SampleRate": 44100}, "BRK.InvalidAudioSampleRate"),
        ({"SourceLanguage": "ja", "SampleRate": 8000}, "BRK.InvalidAudioSampleRate"),
    ],
)
async def test_brk_validation_errors(emu: Emu, change: dict[str, Any], code: str):
    """Bad language / format / sample rate are refused with BRK.* codes (HTTP 400), not retried."""
    body = {**START, "Input": {**START["Input"], **change}}
    async with emu.client() as client:
        with pytest.raises(ServiceError) as exc:
            await client.create_realtime_task(body)
    assert (exc.value.code, exc.value.status_code) == (code, 400) and len(emu.records) == 1


async def test_5xx_is_retried_then_succeeds():
    """Two HTTP 503 answers are retried with exponential backoff; the third succeeds."""
    calls = []

    async def flaky(request):
        calls.append(request.headers["authorization"])
        if len(calls) <= 2:
            return JSONResponse({"Code": "ServiceUnavailable", "Message": "busy", "RequestId": "r"}, 503)
        return JSONResponse({"Code": "0", "RequestId": "ok", "Data": {"TaskId": "t1", "TaskStatus": "ONGOING"}})

    clock, records = FakeClock(), []
    app = Starlette(routes=[Route("/openapi/tingwu/v2/tasks", flaky, methods=["PUT"])])
    async with serve(app) as url:
        creds = Credentials(access_key_id="id", access_key_secret="secret")
        async with TingwuClient(
            endpoint=url, app_key="ak", credentials=creds, retry=NO_JITTER,
            sleep=clock.sleep, clock=clock.time, on_request=records.append,
        ) as client:
            info = await client.create_realtime_task(START)
    assert info.task_id == "t1" and [r["status"] for r in records] == [503, 503, 200]
    assert clock.sleeps == [0.25, 0.5] and len(set(calls)) == 3  # re-signed on every attempt


async def test_network_error_becomes_transport_error():
    """A refused connection is retried, then raised as TransportError with the httpx cause."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    clock, records = FakeClock(), []
    creds = Credentials(access_key_id="id", access_key_secret="secret")
    async with TingwuClient(
        endpoint=f"http://127.0.0.1:{port}", app_key="ak", credentials=creds,
        retry=RetryPolicy(max_attempts=3, jitter=lambda d: d), sleep=clock.sleep, clock=clock.time,
        on_request=records.append,
    ) as client:
        with pytest.raises(TransportError) as exc:
            await client.get_task_info("t1")
    assert isinstance(exc.value.__cause__, httpx.ConnectError)
    assert len(records) == 3 and clock.sleeps == [0.25, 0.5]


async def test_download_retries_5xx():
    """fetch_bytes retries a 500 and returns the body; a 404 is raised at once."""
    hits = []

    async def file(request):
        hits.append(1)
        return PlainTextResponse("oops", 500) if len(hits) == 1 else PlainTextResponse("data")

    clock = FakeClock()
    app = Starlette(routes=[Route("/f", file), Route("/missing", lambda r: PlainTextResponse("no", 404))])
    async with serve(app) as url:
        creds = Credentials(access_key_id="id", access_key_secret="secret")
        async with TingwuClient(endpoint=url, app_key="ak", credentials=creds, sleep=clock.sleep) as client:
            assert await client.fetch_bytes(f"{url}/f") == b"data"
            with pytest.raises(ServiceError) as exc:
                await client.fetch_bytes(f"{url}/missing")
    assert exc.value.status_code == 404 and len(hits) == 2


# -- pure units of response handling (MockTransport stands in for the wire) ----------------


def _mock_client(handler, **kw) -> TingwuClient:
    clock = FakeClock()
    kw.setdefault("retry", NO_JITTER)
    kw.setdefault("sleep", clock.sleep)
    return TingwuClient(
        endpoint="https://tingwu.example", app_key="ak", credentials=Credentials("id", "secret"),
        transport=httpx.MockTransport(handler), clock=clock.time, **kw,
    )


async def test_http_200_with_error_code_raises():
    """HTTP 200 whose Code is not "0" becomes a ServiceError carrying that code."""
    body = {"Code": "BRK.OverdueService", "Message": "Overdue service.", "RequestId": "rid"}
    async with _mock_client(lambda r: httpx.Response(200, json=body)) as client:
        with pytest.raises(ServiceError) as exc:
            await client.get_task_info("t")
    assert (exc.value.code, exc.value.request_id, exc.value.status_code) == ("BRK.OverdueService", "rid", 200)


async def test_lowercase_keys_and_non_json_errors_are_tolerated():
    """Error bodies with lower-case keys, or no JSON at all, still give a ServiceError."""
    lower = {"code": "Forbidden.RAM", "message": "no", "requestId": "r1"}
    async with _mock_client(lambda r: httpx.Response(403, json=lower)) as client:
        with pytest.raises(ServiceError) as exc:
            await client.get_task_info("t")
    assert (exc.value.code, exc.value.request_id) == ("Forbidden.RAM", "r1")
    async with _mock_client(lambda r: httpx.Response(403, text="<html>denied</html>")) as client:
        with pytest.raises(ServiceError) as exc:
            await client.get_task_info("t")
    assert exc.value.code is None and exc.value.status_code == 403


async def test_retry_after_header_sets_the_backoff():
    """A 429 with x-acs-retry-after is a ThrottledError and the client waits at least that long."""
    answers = iter([httpx.Response(429, headers={"x-acs-retry-after": "3"}, json={"Code": "Throttling"}),
                    httpx.Response(200, json={"Code": "0", "Data": {"TaskId": "t", "TaskStatus": "ONGOING"}})])
    sleeps: list[float] = []

    async def sleep(s: float) -> None:
        sleeps.append(s)

    async with _mock_client(lambda r: next(answers), sleep=sleep) as client:
        info = await client.get_task_info("t")
    assert info.status == "ONGOING" and sleeps == [3.0]


async def test_task_id_is_percent_encoded_in_the_path():
    """get_task_info percent-encodes the TaskId path segment."""
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.raw_path)
        return httpx.Response(200, json={"Code": "0", "Data": {"TaskStatus": "INVALID"}})

    async with _mock_client(handler) as client:
        info = await client.get_task_info("a/b c")
    assert seen == [b"/openapi/tingwu/v2/tasks/a%2Fb%20c"] and info.task_id == "a/b c"


async def test_rate_limiter_spaces_calls():
    """RateLimiter at 2/s lets two calls through, then waits 0.5 s per call."""
    clock = FakeClock(start=0.0)
    limiter = RateLimiter({"GetTaskInfo": 2.0}, clock=clock.time, sleep=clock.sleep)
    waits = [await limiter.acquire("GetTaskInfo") for _ in range(4)]
    assert waits[:2] == [0.0, 0.0] and waits[2] == pytest.approx(0.5) and await limiter.acquire("Other") == 0.0


def test_repr_hides_secrets_and_capabilities():
    """Client and TaskInfo reprs show neither the secret nor the mc token nor URL signatures."""
    creds = Credentials(access_key_id="TEST-abcdefgh-1234567", access_key_secret="s3cr3t-value", security_token="tok9")
    client = TingwuClient(endpoint="https://tingwu.example", app_key="ak", credentials=creds)
    info = TaskInfo.from_response({
        "RequestId": "r", "Data": {
            "TaskId": "t", "TaskStatus": "ONGOING", "MeetingJoinUrl": "wss://h/api/ws/v1?mc=SECRETTOKEN",
            "Result": {"Transcription": "http://h/x.json?Expires=1&Signature=SIGVALUE"},
            "OutputMp3Path": "http://h/x.mp3?Expires=1&Signature=MP3SIG"}})
    text = repr(client) + repr(info) + str(info)
    for secret in ("s3cr3t-value", "tok9", "SECRETTOKEN", "SIGVALUE", "MP3SIG"):
        assert secret not in text
    assert "Transcription" in repr(info) and info.result_urls["Transcription"].endswith("SIGVALUE")


def test_task_info_tolerates_missing_extra_and_camelcase_keys():
    """from_response reads PascalCase or camelCase, ignores unknown keys and survives a missing Data."""
    info = TaskInfo.from_response({"requestId": "r", "Data": {"taskId": "t", "taskStatus": "COMPLETED",
                                                              "Result": {"Transcription": "u", "Odd": 3}, "New": 1}})
    assert (info.task_id, info.status, info.request_id, dict(info.result_urls)) == (
        "t", "COMPLETED", "r", {"Transcription": "u"})
    assert TaskInfo.from_response({}, task_id="x") == TaskInfo(task_id="x", raw={})


async def test_downloads_are_not_signed():
    """Presigned result URLs are fetched without an Authorization header (OSS would reject one)."""
    seen: list[httpx.Request] = []
    async with _mock_client(lambda r: seen.append(r) or httpx.Response(200, content=b"{}")) as client:
        assert await client.fetch_json("http://oss.example/x.json?Expires=1&Signature=abc") == {}
    assert "authorization" not in seen[0].headers and "x-acs-date" not in seen[0].headers
