"""The emulator's REST side over real loopback HTTP (uvicorn), driven by TingwuClient and raw httpx."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.serve import RestEmulator, rest_emulator
from tingwu_nb.client.auth import format_date, sign
from tingwu_nb.client.tasks import TingwuClient
from tingwu_nb.emulator.contract import ContractChoices, EmulatorConfig
from tingwu_nb.emulator.store import TaskRecord, TaskStore
from tingwu_nb.errors import ServiceError

pytestmark = pytest.mark.network

START = {"Input": {"Format": "pcm", "SampleRate": 16000, "SourceLanguage": "cn", "TaskKey": "k-1"}}
MP3 = b"ID3\x04\x00fake-mp3-bytes"


async def _fill(record: TaskRecord) -> None:
    record.results["Transcription"] = {"TaskId": record.task_id, "Transcription": {"Paragraphs": []}}
    record.files["audio.mp3"] = MP3
    record.output_mp3 = "audio.mp3"


Emu = RestEmulator


def _emulator(postprocess: Callable[[TaskRecord], Awaitable[None]] = _fill, **kw: Any):
    return rest_emulator(postprocess, **kw)


@pytest.fixture
async def emu() -> AsyncIterator[Emu]:
    async with _emulator() as e:
        yield e


async def _completed(emu: Emu, client: TingwuClient) -> str:
    task = await client.create_realtime_task(START)
    await client.stop_realtime_task(task.task_id)
    await emu.store.get(task.task_id).postprocess_task
    return task.task_id


async def test_start_response_envelope(emu: Emu):
    """Start answers Code "0", "success", a request id, TaskId, TaskKey, ws join URL and ONGOING."""
    body = json.dumps({**START, "AppKey": emu.config.app_key}).encode()
    headers = {"x-acs-action": "CreateTask", "content-type": "application/json"}
    async with emu.raw(auth=emu.auth()) as http:
        response = await http.put("/openapi/tingwu/v2/tasks?type=realtime", content=body, headers=headers)
    doc = response.json()
    assert response.status_code == 200 and doc["Code"] == "0" and doc["Message"] == "success"
    assert doc["RequestId"] == response.headers["x-acs-request-id"]
    data = doc["Data"]
    assert set(data) == {"TaskId", "TaskKey", "MeetingJoinUrl", "TaskStatus"} and data["TaskStatus"] == "ONGOING"
    record = emu.store.get(data["TaskId"])
    assert len(data["TaskId"]) == 32 and record.task_key == "k-1" and record.sample_rate == 16000
    assert data["MeetingJoinUrl"] == f"ws://{urlsplit(emu.url).netloc}/api/ws/v1?mc={record.join_token}"
    assert emu.store.by_token(record.join_token) is record and emu.store.by_token("nope") is None


async def test_get_task_info_lifecycle_and_result_files(emu: Emu):
    """After stop and post-processing, GetTaskInfo shows COMPLETED, Result and OutputMp3Path that download."""
    async with emu.client() as client:
        task_id = await _completed(emu, client)
        info = await client.get_task_info(task_id)
        assert info.status == "COMPLETED" and info.task_key == "k-1" and set(info.result_urls) == {"Transcription"}
        assert (await client.fetch_json(info.result_urls["Transcription"]))["TaskId"] == task_id
        assert await client.fetch_bytes(info.output_mp3_path) == MP3
    name = urlsplit(info.result_urls["Transcription"]).path.rsplit("/", 1)[1]
    assert re.fullmatch(rf"{task_id}_Transcription_\d{{14}}\.json", name)
    record = emu.store.get(task_id)
    assert record.phase == "done" and record.stopped_at <= record.completed_at


async def test_result_url_signature_and_expiry_are_enforced(emu: Emu):
    """A tampered signature or Expires gives 403; after the 30-day TTL the URL is refused as expired."""
    async with emu.client() as client:
        task_id = await _completed(emu, client)
        url = (await client.get_task_info(task_id)).result_urls["Transcription"]
        expires = int(parse_qs(urlsplit(url).query)["Expires"][0])
        assert expires == int(emu.clock.now + 30 * 24 * 3600)
        for bad in (url[:-1] + ("0" if url[-1] != "0" else "1"), url.replace(f"Expires={expires}", f"Expires={expires + 1}")):
            with pytest.raises(ServiceError) as exc:
                await client.fetch_json(bad)
            assert (exc.value.status_code, exc.value.code) == (403, "SignatureDoesNotMatch")
            assert exc.value.request_id
        emu.clock.now = expires + 1
        with pytest.raises(ServiceError) as exc:
            await client.fetch_json(url)
    assert (exc.value.status_code, exc.value.code, exc.value.message) == (403, "AccessDenied", "Request has expired.")


async def test_result_urls_are_fresh_per_call(emu: Emu):
    """Each GetTaskInfo signs new links with a later expiry."""
    async with emu.client() as client:
        task_id = await _completed(emu, client)
        first = (await client.get_task_info(task_id)).result_urls["Transcription"]
        emu.clock.now += 5
        second = (await client.get_task_info(task_id)).result_urls["Transcription"]
    assert first != second


async def test_unknown_task_is_invalid_by_default(emu: Emu):
    """GetTaskInfo on an unknown TaskId answers HTTP 200 with TaskStatus INVALID."""
    async with emu.client() as client:
        info = await client.get_task_info("0" * 32)
    assert info.status == "INVALID" and info.task_id == "0" * 32


async def test_unknown_task_error_choice():
    """With ContractChoices(unknown_task="error") the unknown TaskId is an HTTP 404 error."""
    async with _emulator(choices=ContractChoices(unknown_task="error")) as e, e.client() as client:
        with pytest.raises(ServiceError) as exc:
            await client.get_task_info("0" * 32)
    assert (exc.value.status_code, exc.value.code) == (404, "BRK.InvalidTaskId")


async def test_stop_twice_and_stop_unknown_are_errors(emu: Emu):
    """A second stop answers BRK.InvalidTaskStatus; stopping an unknown task BRK.InvalidTaskId."""
    async with emu.client() as client:
        task = await client.create_realtime_task(START)
        stopped = await client.stop_realtime_task(task.task_id)
        assert stopped.task_key == "k-1" and stopped.status == "ONGOING"
        with pytest.raises(ServiceError) as exc:
            await client.stop_realtime_task(task.task_id)
        assert (exc.value.code, exc.value.status_code) == ("BRK.InvalidTaskStatus", 400)
        with pytest.raises(ServiceError) as exc:
            await client.stop_realtime_task("f" * 32)
        assert exc.value.code == "BRK.InvalidTaskId"


async def test_failed_postprocess_marks_task_failed():
    """If post-processing raises, the task is FAILED with ErrorCode/ErrorMessage and no Result."""

    async def broken(record: TaskRecord) -> None:
        record.results["Transcription"] = {}
        raise RuntimeError("engine exploded")

    async with _emulator(postprocess=broken) as e, e.client() as client:
        task_id = await _completed(e, client)
        info = await client.get_task_info(task_id)
    assert (info.status, info.error_code, info.error_message) == ("FAILED", "TSC.PostProcessFailed", "engine exploded")
    assert info.result_urls == {} and "Result" not in info.raw["Data"]


async def test_error_body_shape(emu: Emu):
    """Errors carry RequestId, HostId, Code, Message and Recommend, and the request id header."""
    body = json.dumps({**START, "AppKey": "wrong"}).encode()
    async with emu.raw(auth=emu.auth()) as http:
        response = await http.put(
            "/openapi/tingwu/v2/tasks?type=realtime", content=body,
            headers={"x-acs-action": "CreateTask", "content-type": "application/json"},
        )
    doc = response.json()
    assert response.status_code == 400 and set(doc) == {"RequestId", "HostId", "Code", "Message", "Recommend"}
    assert doc["Code"] == "BRK.InvalidAppKey" and doc["RequestId"] == response.headers["x-acs-request-id"]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"Transcription": {"Diarization": {"SpeakerCount": 101}}}, "BRK.InvalidRoleSplitNum"),
        ({"TranslationEnabled": True, "Translation": {"TargetLanguages": ["xx"]}}, "BRK.InvalidLanguage"),
        ({"Transcription": {"OutputLevel": 3}}, "BRK.InvalidOutputEnabledSetting"),
        ({"CustomPromptEnabled": True, "CustomPrompt": {"Contents": [{"Name": "a", "Prompt": "no slot"}]}},
         "InvalidParameter"),
        ({"Transcription": "not an object"}, "InvalidParameter"),
    ],
)
async def test_parameter_validation(emu: Emu, params: dict[str, Any], code: str):
    """Invalid Parameters are refused with the documented (or contract) code."""
    async with emu.client() as client:
        with pytest.raises(ServiceError) as exc:
            await client.create_realtime_task({**START, "Parameters": params})
    assert exc.value.code == code


async def test_action_mismatch_is_refused(emu: Emu):
    """A signed request whose x-acs-action does not match the route is refused."""
    async with emu.raw(auth=emu.auth()) as http:
        response = await http.get("/openapi/tingwu/v2/tasks/abc", headers={"x-acs-action": "CreateTask"})
    assert response.status_code == 400 and response.json()["Code"] == "InvalidAction.Mismatch"


async def test_sdk_style_request_with_extra_signed_headers(emu: Emu):
    """A request signed like the official SDK (accept, user-agent, provider headers signed) is accepted."""
    body = json.dumps({**START, "AppKey": emu.config.app_key}, separators=(",", ":")).encode()
    host = urlsplit(emu.url).netloc
    headers = {
        "host": host, "x-acs-version": "2023-09-30", "x-acs-action": "CreateTask",
        "user-agent": "AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2",
        "x-acs-date": format_date(emu.clock.now), "x-acs-signature-nonce": "95f7e2ef9f85bc99387a1202d94b0233",
        "accept": "application/json", "content-type": "application/json; charset=utf-8",
        "x-acs-content-sha256": hashlib.sha256(body).hexdigest(), "x-acs-credentials-provider": "static_ak",
    }
    creds = emu.config.credentials()
    headers["Authorization"] = sign(
        method="PUT", path="/openapi/tingwu/v2/tasks", query="type=realtime", headers=headers, body=body,
        access_key_id=creds.access_key_id, access_key_secret=creds.access_key_secret, signed_headers=list(headers),
    )
    async with emu.raw() as http:
        first = await http.put("/openapi/tingwu/v2/tasks?type=realtime", content=body, headers=headers)
        replay = await http.put("/openapi/tingwu/v2/tasks?type=realtime", content=body, headers=headers)
    assert first.status_code == 200 and first.json()["Data"]["TaskId"]
    assert replay.status_code == 400 and replay.json()["Code"] == "SignatureNonceUsed"


async def test_skewed_client_clock_and_unknown_key(emu: Emu):
    """A client 20 minutes off is refused (InvalidTimeStamp.Expired); an unknown key gets 404."""
    from tingwu_nb.config import Credentials

    async with emu.client(wall_clock=lambda: emu.clock.now - 1200) as client:
        with pytest.raises(ServiceError) as exc:
            await client.get_task_info("x")
    assert exc.value.code == "InvalidTimeStamp.Expired"
    async with emu.client(credentials=Credentials("TESTunknown-key-id-00", "s")) as client:
        with pytest.raises(ServiceError) as exc:
            await client.get_task_info("x")
    assert (exc.value.code, exc.value.status_code) == ("InvalidAccessKeyId.NotFound", 404)


async def test_unsigned_requests_pass_when_verification_is_off():
    """With verify_signatures=False any client (even unsigned) can create a task."""
    async with _emulator(verify_signatures=False) as e, e.raw() as http:
        body = json.dumps({**START, "AppKey": e.config.app_key}).encode()
        response = await http.put(
            "/openapi/tingwu/v2/tasks?type=realtime", content=body, headers={"x-acs-action": "CreateTask"}
        )
    assert response.status_code == 200 and response.json()["Data"]["TaskStatus"] == "ONGOING"


async def test_offline_type_is_refused(emu: Emu):
    """type=offline is not served by the emulator and says so."""
    async with emu.raw(auth=emu.auth()) as http:
        response = await http.put(
            "/openapi/tingwu/v2/tasks?type=offline", content=b"{}",
            headers={"x-acs-action": "CreateTask", "content-type": "application/json"},
        )
    assert response.status_code == 400 and response.json()["Code"] == "InvalidParameter"


async def test_get_exposes_results_progressively():
    """Result keys show up while the task is still ONGOING in post-processing."""
    gate = asyncio.Event()

    async def slow(record: TaskRecord) -> None:
        record.results["Transcription"] = {"TaskId": record.task_id}
        await gate.wait()
        record.results["AutoChapters"] = {"TaskId": record.task_id, "AutoChapters": []}

    async with _emulator(postprocess=slow) as e, e.client() as client:
        task = await client.create_realtime_task(START)
        await client.stop_realtime_task(task.task_id)
        await asyncio.sleep(0)
        partial = await client.get_task_info(task.task_id)
        gate.set()
        await e.store.get(task.task_id).postprocess_task
        final = await client.get_task_info(task.task_id)
    assert partial.status == "ONGOING" and set(partial.result_urls) == {"Transcription"}
    assert final.status == "COMPLETED" and set(final.result_urls) == {"Transcription", "AutoChapters"}


def test_reprs_hide_secrets():
    """EmulatorConfig and TaskRecord reprs show no secret, STS token, signing key or join token."""
    config = EmulatorConfig.generate(with_sts=True)
    record = TaskStore().create(app_key="a", access_key_id="k", request=START, now=0.0)
    text = repr(config) + repr(record)
    secrets = [*config.keys.values(), *config.sts_tokens.values(), record.join_token, config.url_signing_key.hex()]
    assert all(s not in text for s in secrets)
    assert all(k in repr(config) for k in config.keys)
    assert len(config.url_signing_key) == 32 and config.url_signing_key != EmulatorConfig.generate().url_signing_key
