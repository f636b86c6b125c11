"""Result downloads over loopback: concurrency cap, retries with backoff, stale links renewed.

Three servers: the emulator's REST side on a fake clock (deterministic expiry), the whole
emulator on real time with a tiny link TTL (expiry for real), and a small raw HTTP server
that fails as told (connection dropped, 5xx, refused links) to prove retries and limits.
"""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import requires
from tests.serve import FakeClock, rest_emulator
from tingwu_nb.client.download import MP3, download_results, is_refused_link
from tingwu_nb.client.ratelimit import RetryPolicy
from tingwu_nb.client.taskinfo import TaskInfo
from tingwu_nb.client.tasks import TingwuClient
from tingwu_nb.config import Credentials
from tingwu_nb.contract.params import RealtimeTaskRequest
from tingwu_nb.emulator.contract import ContractChoices, EmulatorConfig
from tingwu_nb.emulator.store import TaskRecord
from tingwu_nb.errors import ServiceError, ThrottledError
from tingwu_nb.session.lifecycle import collect
from tingwu_nb.session.recorder import SessionWriter

pytestmark = pytest.mark.network

KINDS = ("Transcription", "AutoChapters", "MeetingAssistance")
MP3_BYTES = b"ID3\x04\x00" + bytes(range(256)) * 8


async def _fill(record: TaskRecord) -> None:
    for n, kind in enumerate(KINDS):
        record.results[kind] = {"TaskId": record.task_id, kind: {"n": n, "text": "大家好"}}
    record.files["audio.mp3"] = MP3_BYTES
    record.output_mp3 = "audio.mp3"


def _expires(url: str) -> int:
    return int(parse_qs(urlsplit(url).query)["Expires"][0])


def _actions(records: list[dict]) -> Counter:
    return Counter((r["action"], r["status"]) for r in records)


# -- the emulator's REST side, fake clock -------------------------------------------------


async def test_stale_links_are_renewed_by_one_get_task_info_for_all_files():
    """Every link expired: one GetTaskInfo renews them all, then all four files arrive intact."""
    async with rest_emulator(_fill, choices=ContractChoices(result_url_ttl_s=60)) as emu, emu.client() as client:
        task = await client.create_realtime_task({"Input": {"Format": "pcm", "SampleRate": 16000,
                                                            "SourceLanguage": "en"}})
        await client.stop_realtime_task(task.task_id)
        await emu.store.get(task.task_id).postprocess_task
        stale = await client.get_task_info(task.task_id)
        emu.clock.now = _expires(stale.result_urls["Transcription"]) + 1
        with pytest.raises(ServiceError) as refused:  # the links really are dead now
            await client.fetch_bytes(stale.result_urls["Transcription"])
        del emu.records[:]
        got = await download_results(client, stale, concurrency=4)
    assert (refused.value.status_code, refused.value.message) == (403, "Request has expired.")
    assert is_refused_link(refused.value)
    assert got.errors == {} and got.refreshes == 1 and set(got.files) == {*KINDS, MP3}
    for n, kind in enumerate(KINDS):
        assert json.loads(got.files[kind]) == {"TaskId": task.task_id, kind: {"n": n, "text": "大家好"}}
    assert got.files[MP3] == MP3_BYTES
    assert _actions(emu.records) == {("Download", 403): 4, ("GetTaskInfo", 200): 1, ("Download", 200): 4}
    assert _expires(got.info.result_urls["Transcription"]) > emu.clock.now
    signatures = [parse_qs(urlsplit(u).query)["Signature"][0] for u in got.info.result_urls.values()]
    assert not [s for s in signatures if s in repr(got) + repr(got.info)]


async def test_an_unexpected_error_cancels_the_other_downloads():
    """Only TingwuErrors are collected per file; anything else stops every download and propagates."""
    started, cancelled = asyncio.Event(), []

    class Source:
        async def fetch_bytes(self, url: str) -> bytes:
            if url.endswith("slow"):
                started.set()
                try:
                    await asyncio.sleep(60)
                except asyncio.CancelledError:
                    cancelled.append(url)
                    raise
            await started.wait()
            raise RuntimeError("a bug")

        async def get_task_info(self, task_id: str) -> TaskInfo:
            raise AssertionError("not called")

    info = TaskInfo.from_response({"Data": {"TaskId": "t", "Result": {"A": "http://x/slow", "B": "http://x/bug"}}})
    with pytest.raises(RuntimeError, match="a bug"):
        await download_results(Source(), info)
    assert cancelled == ["http://x/slow"]


def test_what_counts_as_a_refused_link():
    assert is_refused_link(ServiceError("Request has expired.", code="AccessDenied", status_code=403))
    assert is_refused_link(ServiceError("gone", code="NoSuchKey", status_code=404))
    assert is_refused_link(ServiceError("The request signature ...", code="SignatureDoesNotMatch"))
    assert not is_refused_link(ServiceError("oops", status_code=500))
    assert not is_refused_link(ThrottledError("slow down", code="Throttling.User", status_code=403))
    assert not is_refused_link(ValueError("x"))


# -- the whole emulator, real time, links that live two seconds ---------------------------


@pytest.fixture(scope="module")
def short_lived(engine):
    from tingwu_nb.emulator.app import Emulator

    config = EmulatorConfig.generate(choices=ContractChoices(result_url_ttl_s=2))
    with Emulator(config, engine=engine) as emu:
        yield emu


@pytest.mark.slow
@requires("espeak-ng")
async def test_real_emulator_links_expire_and_are_renewed(short_lived, tmp_path):
    """record() stores results/<Kind>.json and the mp3 (no signature anywhere); once the
    emulator's links have expired for real, download_results renews them through GetTaskInfo."""
    from tingwu_nb.session.recording import record

    wav = tmp_path / "hello.wav"
    subprocess.run(["espeak-ng", "-v", "en", "-w", str(wav), "Hello everyone. Let us start the meeting."],
                   check=True)
    records: list[dict] = []
    async with short_lived.client(on_request=records.append) as client:
        session = await record(wav, RealtimeTaskRequest.create(mp3=True), client=client, speed=math.inf,
                               out_dir=tmp_path / "sessions", poll_interval_s=0.2)
        stale = await client.get_task_info(session.task_id)
        while time.time() <= _expires(stale.result_urls["Transcription"]) + 0.05:
            await asyncio.sleep(0.1)
        with pytest.raises(ServiceError) as refused:
            await client.fetch_bytes(stale.result_urls["Transcription"])
        before = len(records)
        got = await download_results(client, stale)
    assert refused.value.message == "Request has expired."
    assert got.errors == {} and got.refreshes >= 1 and set(got.files) == {"Transcription", MP3}
    assert sum(r["action"] == "GetTaskInfo" for r in records[before:]) == got.refreshes
    results = session.directory / "results"
    assert json.loads(got.files["Transcription"]) == json.loads((results / "Transcription.json").read_text())
    assert got.files[MP3] == (results / f"{session.task_id}.mp3").read_bytes()
    head = got.files[MP3][:3]
    assert head == b"ID3" or (head[0] == 0xFF and head[1] & 0xE0 == 0xE0)  # an ID3 tag or an MPEG frame sync
    assert session.meta["results"] == {"Transcription": "Transcription.json", MP3: f"{session.task_id}.mp3"}
    assert "hello" in session.sentences()["text"].str.cat(sep=" ").lower()
    signatures = {parse_qs(urlsplit(u).query)["Signature"][0] for u in [*stale.result_urls.values(),
                                                                          *got.info.result_urls.values()]}
    for path in session.directory.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".jsonl"):
            assert not [s for s in signatures if s in path.read_text(encoding="utf-8")], path


# -- a raw loopback server that fails as told ---------------------------------------------


class FlakyFiles:
    """HTTP/1.1 on loopback: GetTaskInfo listing ``files``, and each file failing per ``script``.

    ``script[kind]`` is consumed one step per request: ``"drop"`` (close, no answer), an int
    (that HTTP status), ``"denied"`` (OSS AccessDenied XML, 403); then the file. ``always``
    maps kinds refused on every request. The first request waits for ``barrier`` requests in
    flight together (the proof that downloads overlap), for at most 10 s.
    """

    def __init__(self, files: dict[str, bytes], script: dict[str, list], always: set[str] = frozenset(),
                 barrier: int = 1) -> None:
        self.files, self.script, self.always, self.barrier = files, script, always, barrier
        self.hits: Counter = Counter()
        self.active = self.max_active = 0
        self.together = asyncio.Event()
        self.barrier_timed_out = False
        self.generation = 0
        self.url = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        path = urlsplit(head.split(" ", 2)[1]).path
        try:
            if path.startswith("/openapi/tingwu/v2/tasks/"):
                await self._answer(writer, 200, "application/json", self._task_info(path.rsplit("/", 1)[1]))
            else:
                await self._file(writer, path.rsplit("/", 1)[1])
        finally:
            writer.close()

    def _task_info(self, task_id: str) -> bytes:
        self.hits["GetTaskInfo"] += 1
        self.generation += 1
        link = {k: f"{self.url}/files/{k}?Expires=9&Signature=sig-{self.generation}-{k}" for k in self.files}
        data = {"TaskId": task_id, "TaskStatus": "COMPLETED", "OutputMp3Path": link.pop(MP3, None), "Result": link}
        return json.dumps({"Code": "0", "RequestId": "r-1", "Data": data}).encode()

    async def _file(self, writer: asyncio.StreamWriter, kind: str) -> None:
        self.hits[kind] += 1
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            if self.active >= self.barrier:
                self.together.set()
            try:
                await asyncio.wait_for(self.together.wait(), 10)
            except asyncio.TimeoutError:
                self.barrier_timed_out = True
            step = "denied" if kind in self.always else (self.script.get(kind) or ["ok"]).pop(0)
            if step == "drop":
                return
            if step == "denied":
                xml = b"<?xml version='1.0'?><Error><Code>AccessDenied</Code><Message>Request has expired.</Message>"
                await self._answer(writer, 403, "application/xml", xml + b"<RequestId>oss-1</RequestId></Error>")
            elif isinstance(step, int):
                await self._answer(writer, step, "text/plain", b"busy")
            else:
                await self._answer(writer, 200, "application/octet-stream", self.files[kind])
        finally:
            self.active -= 1

    @staticmethod
    async def _answer(writer: asyncio.StreamWriter, status: int, kind: str, body: bytes) -> None:
        writer.write(f"HTTP/1.1 {status} X\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n"
                     f"Connection: close\r\n\r\n".encode() + body)
        await writer.drain()


@asynccontextmanager
async def flaky(server: FlakyFiles, **client_kw) -> AsyncIterator[TingwuClient]:
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    server.url = f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}"
    creds = Credentials(access_key_id="id", access_key_secret="secret")
    try:
        async with TingwuClient(endpoint=server.url, app_key="ak", credentials=creds, **client_kw) as client:
            yield client
    finally:
        listener.close()
        await listener.wait_closed()


FILES = {f"Kind{n}": f"file {n} 文件".encode() * 50 for n in range(5)} | {MP3: MP3_BYTES}


async def test_dropped_connections_and_5xx_are_retried_with_backoff_under_a_concurrency_cap():
    """Six files, two at a time; one drops the connection then answers 503, one answers 500:
    both retried with exponential backoff, every file intact, never more than two in flight."""
    server = FlakyFiles(FILES, {"Kind0": ["drop", 503], "Kind3": [500]}, barrier=2)
    clock = FakeClock()
    async with flaky(server, sleep=clock.sleep, retry=RetryPolicy(max_attempts=4, jitter=lambda d: d)) as client:
        info = await client.get_task_info("t-1")
        got = await download_results(client, info, concurrency=2)
    assert got.errors == {} and got.files == FILES and got.refreshes == 0
    assert server.max_active == 2 and not server.barrier_timed_out
    assert {k: server.hits[k] for k in FILES} == {"Kind0": 3, "Kind1": 1, "Kind2": 1, "Kind3": 2, "Kind4": 1, MP3: 1}
    assert sorted(clock.sleeps) == [0.25, 0.25, 0.5]


async def test_a_link_refused_for_good_gives_up_after_max_refreshes_and_the_rest_arrive():
    """A file whose fresh links are refused too fails with the OSS code, naming the file, no URL;
    the others still download; GetTaskInfo was asked max_refreshes times."""
    server = FlakyFiles(FILES, {"Kind1": [503, 503, 503]}, always={"Kind2"})
    clock = FakeClock()
    async with flaky(server, sleep=clock.sleep, retry=RetryPolicy(max_attempts=2, jitter=lambda d: d)) as client:
        info = await client.get_task_info("t-1")
        got = await download_results(client, info, max_refreshes=2)
    assert set(got.errors) == {"Kind1", "Kind2"} and set(got.files) == set(FILES) - {"Kind1", "Kind2"}
    denied = got.errors["Kind2"]
    assert (denied.code, denied.status_code, denied.request_id) == ("AccessDenied", 403, "oss-1")
    assert "Kind2 result file" in str(denied) and "renewed 2 times" in str(denied)
    assert got.errors["Kind1"].status_code == 503 and server.hits["Kind1"] == 2  # retried, not renewed
    assert server.hits["GetTaskInfo"] == 1 + 2 and server.hits["Kind2"] == 3
    assert not [e for e in got.errors.values() if "sig-" in str(e) or "/files/" in str(e)]
    with pytest.raises(ServiceError) as first:
        got.raise_first()
    assert first.value is got.errors["Kind1"]


async def test_collect_saves_every_file_that_arrived_before_raising(tmp_path: Path):
    """The session directory keeps the files that downloaded and session.json says which failed."""
    files = {"Transcription": json.dumps({"TaskId": "t-1", "Transcription": {"Paragraphs": []}}).encode(),
             "AutoChapters": b'{"TaskId": "t-1", "AutoChapters": []}', "Summarization": b"not json", MP3: MP3_BYTES}
    server = FlakyFiles(files, {}, always={"AutoChapters"})
    writer = SessionWriter(tmp_path / "s", fmt="pcm")
    async with flaky(server, sleep=FakeClock().sleep) as client:
        with pytest.raises(ServiceError, match="AutoChapters result file"):
            await collect(client, "t-1", writer, 0.0, 10.0, stop=False)
    writer.close()
    meta = json.loads((tmp_path / "s" / "session.json").read_text())
    assert meta["results"] == {"Transcription": "Transcription.json", MP3: "t-1.mp3"}
    assert set(meta["download_errors"]) == {"AutoChapters", "Summarization"}
    assert "not valid JSON" in meta["download_errors"]["Summarization"]["message"]
    assert meta["downloads"] == {"files": 2, "refreshes": 2} and meta["status"] == "COMPLETED"
    assert (tmp_path / "s" / "results" / "t-1.mp3").read_bytes() == MP3_BYTES
    assert (tmp_path / "s" / "sentences.parquet").exists()
    for path in (tmp_path / "s").rglob("*"):
        assert not path.is_file() or b"sig-" not in path.read_bytes(), path
