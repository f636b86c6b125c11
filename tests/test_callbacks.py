"""Progressive callbacks (rest §5.7) over loopback: the emulator's sender and the client's receiver.

Most tests serve the emulator's REST routes with a staged post-processing (results set one by
one, the store's listener hook fires as in the real one); the last test runs the whole emulator
on real audio and checks that callbacks drive ``wait_for_task`` to the TaskInfo polling gives.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from tests.conftest import sample_turns_wav
from tests.serve import serve
from tingwu_nb.client.callbacks import CallbackReceiver
from tingwu_nb.client.tasks import TaskInfo, TingwuClient
from tingwu_nb.emulator.callbacks import CallbackSender
from tingwu_nb.emulator.contract import ContractChoices, EmulatorConfig
from tingwu_nb.emulator.rest import rest_routes
from tingwu_nb.emulator.store import TaskRecord, TaskStore

pytestmark = pytest.mark.network

KINDS = ("Transcription", "AutoChapters", "Summarization")
FAST = {"postprocess_delay_s": 0.05, "callback_retry_delays_s": (0.05, 0.1, 0.2), "callback_timeout_s": 10.0}


def start_body(enabled: bool | None = True) -> dict[str, Any]:
    inp: dict[str, Any] = {"Format": "pcm", "SampleRate": 16000, "SourceLanguage": "en", "TaskKey": "cb-1"}
    if enabled is not None:
        inp["ProgressiveCallbacksEnabled"] = enabled
    return {"Input": inp, "Parameters": {"Transcription": {"OutputLevel": 1}}}


def doc(record: TaskRecord, kind: str) -> dict[str, Any]:
    return {"TaskId": record.task_id, kind: {"Made": kind}}


async def staged(record: TaskRecord) -> None:
    """Post-processing that makes three results, one after the other."""
    for kind in KINDS:
        record.results[kind] = doc(record, kind)
        await asyncio.sleep(0.02)


async def staged_in_threads(record: TaskRecord) -> None:
    """The same results, set from worker threads (as a generation worker might)."""
    for kind in KINDS:
        await asyncio.to_thread(record.results.__setitem__, kind, doc(record, kind))


async def staged_then_fail(record: TaskRecord) -> None:
    record.results["Transcription"] = doc(record, "Transcription")
    await asyncio.sleep(0.02)
    raise RuntimeError("analysis engine crashed")


@dataclass
class Rest:
    url: str
    config: EmulatorConfig
    store: TaskStore
    sender: CallbackSender

    def client(self, **kw: Any) -> TingwuClient:
        return TingwuClient(endpoint=self.url, app_key=self.config.app_key, credentials=self.config.credentials(), **kw)

    async def idle(self) -> None:
        """Wait until the sender has nothing left to deliver (bounded)."""
        for _ in range(500):
            if not self.sender.busy:
                return
            await asyncio.sleep(0.02)
        raise AssertionError("the callback sender is still busy")


@asynccontextmanager
async def rest_app(postprocess: Callable[[TaskRecord], Any] = staged, callback_url: str | None = None,
                   **choices: Any) -> AsyncIterator[Rest]:
    config = EmulatorConfig.generate(choices=ContractChoices(**{**FAST, **choices}), callback_url=callback_url)
    store = TaskStore()
    sender = CallbackSender(config)
    app = Starlette(routes=rest_routes(store, config, postprocess=postprocess, callbacks=sender))
    async with serve(app) as url:
        try:
            yield Rest(url, config, store, sender)
        finally:
            await sender.aclose()


@dataclass
class Receiver:
    """A callback endpoint that answers ``fail_first`` requests with 503, then 200."""

    fail_first: int = 0
    bodies: list[dict[str, Any]] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    requests: int = 0

    def app(self) -> Starlette:
        async def hook(request: Request) -> PlainTextResponse:
            self.requests += 1
            body = await request.body()
            if self.requests <= self.fail_first:
                return PlainTextResponse("busy", status_code=503)
            self.raw.append(body)
            self.bodies.append(json.loads(body))
            return PlainTextResponse("success")

        return Starlette(routes=[Route("/hook", hook, methods=["POST"])])

    def statuses(self) -> list[tuple[str, tuple[str, ...]]]:
        return [(b["Data"]["TaskStatus"], tuple(sorted(b["Data"].get("Result", {})))) for b in self.bodies]


EXPECTED = [("ONGOING", ("Transcription",)), ("ONGOING", ("AutoChapters", "Transcription")),
            ("ONGOING", tuple(sorted(KINDS))), ("COMPLETED", tuple(sorted(KINDS)))]


async def run_task(rest: Rest, enabled: bool | None = True) -> tuple[TaskInfo, TingwuClient]:
    client = rest.client()
    task = await client.create_realtime_task(start_body(enabled))
    await client.stop_realtime_task(task.task_id)
    return await client.wait_for_task(task.task_id, poll_interval_s=0.05, timeout_s=30), client


async def test_a_callback_per_result_then_completed_shaped_like_get_task_info(caplog):
    caplog.set_level("DEBUG", logger="tingwu_nb")
    receiver = Receiver()
    async with serve(receiver.app()) as hook, rest_app(callback_url=f"{hook}/hook?token=s3cr3t-capability") as rest:
        final, client = await run_task(rest)
        await rest.idle()
        async with client:
            assert receiver.statuses() == EXPECTED
            last = receiver.bodies[-1]
            assert re.fullmatch(r"[0-9a-f]{32}", last["RequestId"]) and last["Code"] == "0"
            polled = (await client.get_task_info(final.task_id)).raw.unredacted()
            strip = re.compile(r"_\d{14}\.json\?Expires=\d+&Signature=[0-9a-f]+")  # stamp and signature vary
            assert strip.sub("", json.dumps(last["Data"], sort_keys=True)) == \
                strip.sub("", json.dumps(polled["Data"], sort_keys=True))
            assert set(last) == set(polled)
            for kind in KINDS:  # the callback's URLs are working presigned links to the same files
                assert await client.fetch_json(last["Data"]["Result"][kind]) == \
                    await client.fetch_json(polled["Data"]["Result"][kind])
    record = rest.store.get(final.task_id)
    text = b"".join(receiver.raw).decode()
    for secret in (record.join_token, *rest.config.keys.values()):
        assert secret not in text
    assert "s3cr3t-capability" not in caplog.text and "Signature=" not in caplog.text
    assert "s3cr3t" not in repr(rest.config) and "s3cr3t" not in repr(rest.sender)
    assert [d.attempt for d in rest.sender.deliveries] == [1, 1, 1, 1]


async def test_httpx_logs_the_receiver_by_host_only(caplog):
    """httpx logs every request's full URL at INFO: the callback URL's token must not get there."""
    caplog.set_level("INFO", logger="httpx")
    receiver = Receiver()
    async with serve(receiver.app()) as hook, rest_app(callback_url=f"{hook}/hook?token=s3cr3t-capability") as rest:
        _, client = await run_task(rest)
        await client.aclose()
        await rest.idle()
    assert receiver.statuses() == EXPECTED
    posts = [r.getMessage() for r in caplog.records if r.name == "httpx" and "POST" in r.getMessage()]
    assert len(posts) == len(EXPECTED) and all(f"POST {hook} " in line for line in posts)
    assert "s3cr3t-capability" not in caplog.text


def test_emulator_stop_closes_the_callback_sender_even_when_ending_streams_fails(monkeypatch):
    from tingwu_nb.emulator.app import Emulator

    emu = Emulator(EmulatorConfig.generate(), engine=object()).start()
    streams = emu.app.state.streams

    async def stuck(timeout_s: float) -> None:
        raise TimeoutError("streams did not end")

    monkeypatch.setattr(streams, "close", stuck)
    emu.stop()
    assert emu.app.state.callbacks.closed and not emu.app.state.callbacks.busy


async def test_results_set_from_worker_threads_are_announced_in_order():
    receiver = Receiver()
    async with serve(receiver.app()) as hook, rest_app(staged_in_threads, callback_url=f"{hook}/hook") as rest:
        _, client = await run_task(rest)
        await client.aclose()
        await rest.idle()
    assert receiver.statuses() == EXPECTED


async def test_a_failed_task_ends_with_a_failed_callback():
    receiver = Receiver()
    async with serve(receiver.app()) as hook, rest_app(staged_then_fail, callback_url=f"{hook}/hook") as rest:
        final, client = await run_task(rest)
        await client.aclose()
        await rest.idle()
    assert final.status == "FAILED"
    assert receiver.statuses() == [("ONGOING", ("Transcription",)), ("FAILED", ())]
    data = receiver.bodies[-1]["Data"]
    assert data["ErrorCode"] == final.error_code and data["ErrorMessage"] == "analysis engine crashed"


async def test_a_receiver_that_fails_at_first_still_gets_every_callback_in_order():
    receiver = Receiver(fail_first=2)
    async with serve(receiver.app()) as hook, rest_app(callback_url=f"{hook}/hook") as rest:
        _, client = await run_task(rest)
        await client.aclose()
        await rest.idle()
    assert receiver.statuses() == EXPECTED
    assert receiver.requests == len(EXPECTED) + 2
    first = [d for d in rest.sender.deliveries if d.result_keys == ("Transcription",)]
    assert [(d.attempt, d.status_code, d.delivered) for d in first] == [(1, 503, False), (2, 503, False),
                                                                        (3, 200, True)]


async def test_a_receiver_that_starts_late_gets_them_after_retries():
    with socket.socket() as sock:  # a free port nobody listens on yet
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    inbox = CallbackReceiver(port=port)
    async with rest_app(callback_url=inbox.url, callback_retry_delays_s=(0.3, 1.0, 2.0)) as rest:
        final, client = await run_task(rest)
        await client.aclose()
        for _ in range(200):  # the first attempt failed: nobody was listening
            if rest.sender.deliveries:
                break
            await asyncio.sleep(0.01)
        assert rest.sender.deliveries[0].error == "ConnectError"
        async with inbox:
            await rest.idle()
            updates = []
            while (info := await inbox.next_update(final.task_id, 0)) is not None:
                updates.append((info.status, tuple(sorted(info.result_urls))))
    assert updates == EXPECTED
    assert all(d.delivered for d in rest.sender.deliveries if d.final)


async def test_retries_are_bounded_when_the_receiver_never_accepts():
    receiver = Receiver(fail_first=10**6)
    async with serve(receiver.app()) as hook, rest_app(callback_url=f"{hook}/hook") as rest:
        _, client = await run_task(rest)
        await client.aclose()
        await rest.idle()
    tries = 1 + len(FAST["callback_retry_delays_s"])
    assert receiver.requests == len(EXPECTED) * tries
    finals = [d for d in rest.sender.deliveries if d.final]
    assert len(finals) == len(EXPECTED) and not any(d.delivered for d in finals)
    assert {d.attempt for d in finals} == {tries}


async def test_a_malformed_callback_url_is_a_failed_attempt_not_a_dead_sender(caplog):
    """httpx.InvalidURL is no httpx.HTTPError: it must be recorded and retried like any failure."""
    caplog.set_level("DEBUG", logger="tingwu_nb")
    async with rest_app(callback_url="http://127.0.0.1:1/hook?token=s3cr3t\x00") as rest:
        _, client = await run_task(rest)
        await client.aclose()
        await rest.idle()
    tries = 1 + len(FAST["callback_retry_delays_s"])
    assert len(rest.sender.deliveries) == len(EXPECTED) * tries
    assert {d.error for d in rest.sender.deliveries} == {"InvalidURL"}
    assert [d.task_status for d in rest.sender.deliveries if d.final] == [s for s, _ in EXPECTED]
    assert "s3cr3t" not in caplog.text


async def test_an_answer_later_than_the_timeout_counts_as_failed_and_is_retried():
    calls = []

    async def hook(request: Request) -> PlainTextResponse:
        calls.append(json.loads(await request.body())["Data"]["TaskStatus"])
        if len(calls) == 1:
            await asyncio.sleep(2.0)  # far beyond callback_timeout_s
        return PlainTextResponse("success")

    async with serve(Starlette(routes=[Route("/h", hook, methods=["POST"])])) as url:
        async with rest_app(callback_url=f"{url}/h", callback_timeout_s=0.5) as rest:
            _, client = await run_task(rest)
            await client.aclose()
            await rest.idle()
            first = rest.sender.deliveries[0]
    assert (first.attempt, first.error, first.delivered) == (1, "no answer in time", False)
    assert calls[:2] == ["ONGOING", "ONGOING"] and calls[-1] == "COMPLETED"
    assert all(d.delivered for d in rest.sender.deliveries if d.final)


async def test_callback_accept_200_only_retries_a_204():
    calls = []

    async def hook(request: Request) -> PlainTextResponse:
        calls.append(await request.body())
        return PlainTextResponse("", status_code=204)

    async with serve(Starlette(routes=[Route("/h", hook, methods=["POST"])])) as url:
        async with rest_app(callback_url=f"{url}/h", callback_accept="200", callback_retry_delays_s=(0.01,)) as rest:
            _, client = await run_task(rest)
            await client.aclose()
            await rest.idle()
    assert len(calls) == 2 * len(EXPECTED)  # the default "2xx" would take each at once


@pytest.mark.parametrize("enabled", [False, None])
async def test_no_callbacks_unless_the_task_enables_them(enabled):
    receiver = Receiver()
    async with serve(receiver.app()) as hook, rest_app(callback_url=f"{hook}/hook") as rest:
        final, client = await run_task(rest, enabled)
        await client.aclose()
        assert not rest.sender.busy  # nothing was even queued
        await asyncio.sleep(0.2)
    assert final.status == "COMPLETED" and receiver.requests == 0 and not rest.sender.deliveries


async def test_no_callbacks_without_a_configured_url():
    async with rest_app(callback_url=None) as rest:
        final, client = await run_task(rest)
        await client.aclose()
        assert final.status == "COMPLETED" and not rest.sender.busy and not rest.sender.deliveries


async def test_receiver_refuses_what_is_not_a_callback_and_hides_its_token():
    async with CallbackReceiver() as inbox, httpx.AsyncClient() as http:
        good = str(inbox.url)
        token = good.split("token=")[1]
        assert token not in repr(inbox.url) and token not in repr(inbox)
        bad = good.replace(token, "guess")
        assert (await http.post(bad, json={"Data": {"TaskId": "t"}})).status_code == 403
        assert (await http.get(good)).status_code == 405
        assert (await http.post(good, content=b"{not json")).status_code == 400
        assert (await http.post(good, json={"Data": {}})).status_code == 400
        assert (await http.post(good.replace("/tingwu/callback", "/x"), json={})).status_code == 404
        ok = await http.post(good, json={"Code": "0", "Data": {"TaskId": "t", "TaskStatus": "ONGOING"}})
        assert (ok.status_code, ok.text) == (200, "success")
        assert inbox.received == 1 and inbox.refused == 5 and inbox.latest("t").status == "ONGOING"
        assert (await inbox.next_update("t", 1.0)).status == "ONGOING"
        assert await inbox.next_update("t", 0.05) is None


async def test_receiver_close_ends_every_connection_handler():
    """aclose() returns only once no connection task is left (Python < 3.12 would leave them running)."""
    def handlers() -> list[asyncio.Task]:
        return [t for t in asyncio.all_tasks() if "CallbackReceiver._serve" in t.get_coro().__qualname__]

    inbox = await CallbackReceiver().start()
    _, half = await asyncio.open_connection("127.0.0.1", inbox.port)  # a request cut in its body
    half.write(b"POST /tingwu/callback HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
    await half.drain()
    async with httpx.AsyncClient() as http:  # and an idle keep-alive connection
        assert (await http.post(str(inbox.url), json={"Data": {"TaskId": "t"}})).status_code == 200
        assert len(handlers()) == 2
        await inbox.aclose()
        assert handlers() == []
    half.close()
    assert inbox.latest("t") is not None


@asynccontextmanager
async def whole_emulator(engine: Any, on_message: Callable[[TaskInfo], None] | None = None,
                         ) -> AsyncIterator[tuple[CallbackReceiver, TingwuClient, list[str]]]:
    """The whole emulator (FAST choices) posting to a local receiver; a client noting each action."""
    from tingwu_nb.emulator.app import Emulator

    config = EmulatorConfig.generate(choices=ContractChoices(**FAST))
    actions: list[str] = []
    async with CallbackReceiver(on_message=on_message) as inbox, Emulator(config, engine=engine) as emu:
        emu.config.callback_url = inbox.url
        async with emu.client(on_request=lambda r: actions.append(r["action"])) as client:
            yield inbox, client, actions


@pytest.mark.slow
async def test_callbacks_drive_wait_for_task_to_the_same_task_info_as_polling(engine, sample_pcm16k,
                                                                              sample_truth, tmp_path):
    """The whole emulator on real audio: callbacks end wait_for_task after one poll, same TaskInfo."""
    from tingwu_nb.client.audio import load_pcm, stream_frames
    from tingwu_nb.client.stream import RealtimeStream, stream_frames_to

    clip = sample_turns_wav(tmp_path / "clip2.wav", 2, sample_pcm16k, sample_truth)
    seen: list[TaskInfo] = []
    body = start_body()
    body["Parameters"]["Transcoding"] = {"TargetAudioFormat": "mp3"}
    async with whole_emulator(engine, seen.append) as (inbox, client, actions):
        task = await client.create_realtime_task(body)
        async with RealtimeStream(task.meeting_join_url) as stream:
            await stream_frames_to(stream, stream_frames(load_pcm(clip, sample_rate=16000), 16000, "pcm"),
                                   speed=math.inf)
            await stream.stop()
        await client.stop_realtime_task(task.task_id)
        pushed = await client.wait_for_task(task.task_id, callbacks=inbox, poll_interval_s=60, timeout_s=120)
        assert actions.count("GetTaskInfo") == 1  # the first look; the rest came by callback
        polled = await client.wait_for_task(task.task_id, poll_interval_s=0.1)
        assert (pushed.status, pushed.task_id, pushed.task_key) == (polled.status, polled.task_id, "cb-1")
        assert pushed.status == "COMPLETED" and set(pushed.result_urls) == set(polled.result_urls) == {"Transcription"}
        assert await client.fetch_json(pushed.result_urls["Transcription"]) == \
            await client.fetch_json(polled.result_urls["Transcription"])
        assert await client.fetch_bytes(pushed.output_mp3_path) == await client.fetch_bytes(polled.output_mp3_path)
        transcript = await client.fetch_json(pushed.result_urls["Transcription"])
    assert [i.status for i in seen] == ["ONGOING", "COMPLETED"]
    assert transcript["Transcription"]["Paragraphs"]


@pytest.mark.slow
async def test_record_with_callbacks_ends_on_the_final_callback_and_writes_every_table(engine, sample_pcm16k,
                                                                                         sample_truth, tmp_path):
    """record(callbacks=...) on the whole emulator: one GetTaskInfo, results by callback, tables on disk."""
    from tingwu_nb.contract.params import RealtimeTaskRequest
    from tingwu_nb.errors import ParameterError
    from tingwu_nb.session.recording import Session, record

    clip = sample_turns_wav(tmp_path / "clip2.wav", 2, sample_pcm16k, sample_truth)
    request = RealtimeTaskRequest.create(output_level=1, diarization=True, progressive_callbacks_enabled=True)
    async with whole_emulator(engine) as (inbox, client, actions):
        with pytest.raises(ParameterError, match="ProgressiveCallbacksEnabled"):
            await record(clip, RealtimeTaskRequest.create(), client=client, callbacks=inbox, out_dir=tmp_path)
        assert actions == []  # refused before anything was sent
        session = await record(clip, request, client=client, speed=math.inf, out_dir=tmp_path / "s",
                               poll_interval_s=60, callbacks=inbox)
    assert session.status == "COMPLETED" and actions.count("GetTaskInfo") == 1
    assert "good morning" in session.sentences()["text"].iloc[0].lower()
    written = {p.stem for p in session.directory.glob("*.parquet")}
    assert {"sentences", "words", "paragraphs", "speakers"} <= written
    import pandas as pd

    pd.testing.assert_frame_equal(Session(session.directory).table("paragraphs"),
                                  pd.read_parquet(session.directory / "paragraphs.parquet"), check_dtype=False)
