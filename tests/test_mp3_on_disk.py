"""The recording's mp3 (``Transcoding.TargetAudioFormat: "mp3"``) never passes through memory.

Emulator end: the mp3 is encoded a chunk at a time into a nameless file in the spool dir and
streamed to the client from there (record.files holds that file, never bytes). Client end:
``collect`` streams it into ``results/<task>.mp3`` through a ``.part`` file renamed once whole;
a body cut short is retried, and a download that keeps failing leaves no file under the final
name. Real emulator (load-test engine, no speed limit) over loopback, real httpx.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import av
import httpx
import numpy as np
import pytest

from tests.emulator.test_long_session import (
    GUARD_S,
    RATE,
    big_buffers,
    emulator,
    send_all,
    spool_fds,
    synthetic,
)
from tingwu_nb.client.download import MP3, download_results
from tingwu_nb.client.filefetch import part_path
from tingwu_nb.client.ratelimit import RetryPolicy
from tingwu_nb.contract import events as ev
from tingwu_nb.contract.params import RealtimeTaskRequest
from tingwu_nb.emulator.analysis import postprocess as postprocess_module
from tingwu_nb.emulator.analysis.transcode import CHUNK_S, encode_mp3
from tingwu_nb.emulator.spool import PcmSpool
from tingwu_nb.errors import TransportError
from tingwu_nb.session.collect import collect
from tingwu_nb.session.recorder import SessionWriter

pytestmark = [pytest.mark.network]

FAST_RETRY = RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.05)


def mp3_seconds(data: bytes) -> tuple[float, int]:
    """(decoded seconds, sample rate) of an mp3, every frame decoded with PyAV."""
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(stream))
        return samples / stream.rate, stream.rate


def spooled_bytes(file: PcmSpool) -> bytes:
    return file[0:len(file)]


async def _session(emu, seconds: float, client) -> tuple[str, list[ev.SentenceEnd]]:
    """Stream ``seconds`` of synthetic speech into a new mp3 task (not stopped yet)."""
    ends: list[ev.SentenceEnd] = []
    task = await client.create_realtime_task(RealtimeTaskRequest.create(output_level=1, mp3=True))
    await send_all(task.meeting_join_url, synthetic(seconds).tobytes(), ends)
    return task.task_id, ends


async def test_a_long_sessions_mp3_goes_from_disk_to_disk(tmp_path, monkeypatch):
    """25 minutes: the emulator encodes 75 chunks of at most 20 s into a nameless file (the record
    holds no mp3 bytes), collect() streams it into results/ where it decodes to the recording's
    length; the emulator's file is deleted when it stops."""
    chunks: list[int] = []

    def counted(*args, **kwargs):
        return encode_mp3(*args, on_chunk=lambda a, b: chunks.append(b - a), **kwargs)

    monkeypatch.setattr(postprocess_module, "encode_mp3", counted)
    spool, session = tmp_path / "spool", tmp_path / "session"
    spool.mkdir()
    seconds = 25 * 60
    with emulator(spool) as emu:
        async with emu.client() as client:
            task_id, ends = await _session(emu, seconds, client)
            writer = SessionWriter(session, fmt="pcm")
            await collect(client, task_id, writer, poll_interval_s=0.2, timeout_s=GUARD_S)
            writer.close()
            record = emu.store.get(task_id)
            served = record.files[record.output_mp3]
            assert isinstance(served, PcmSpool) and big_buffers(record) == []
            assert record.pcm.closed and os.listdir(spool) == [] and len(spool_fds(spool)) == 1  # the mp3 only
            digest = hashlib.sha256(spooled_bytes(served)).hexdigest()
    assert spool_fds(spool) == [] and served.closed  # Emulator.stop deleted it
    audio = len(synthetic(seconds)) / RATE
    assert len(chunks) == -(-int(audio * RATE) // int(CHUNK_S * RATE)) == 75 and max(chunks) == CHUNK_S * RATE
    saved = session / "results" / f"{task_id}.mp3"
    data = saved.read_bytes()
    assert not part_path(saved).exists() and hashlib.sha256(data).hexdigest() == digest
    assert len(data) == pytest.approx(audio * 128_000 / 8, rel=0.01)  # 128 kb/s CBR
    decoded, rate = mp3_seconds(data)
    assert rate == RATE and audio <= decoded <= audio + 0.2  # the encoder's padding, at most a few frames
    meta = json.loads((session / "session.json").read_text())
    assert meta["status"] == "COMPLETED" and meta["results"][MP3] == saved.name and "download_errors" not in meta
    assert len(ends) == int(seconds / 2.2)


class CutMp3(httpx.AsyncBaseTransport):
    """The client's real HTTP transport, except that the first ``cuts`` mp3 bodies break off
    (httpx.ReadError, as from a reset socket) once byte ``after`` of the file is reached; it
    notes each mp3 request's Range header and answer status, and at each cut whether the final
    file and its ``.part`` exist and how big the ``.part`` is."""

    def __init__(self, cuts: int, after: int, final: Path) -> None:
        self.inner, self.cuts, self.after, self.final = httpx.AsyncHTTPTransport(), cuts, after, final
        self.requests: list[tuple[str | None, int]] = []
        self.seen: list[tuple[bool, bool, int]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.url.path.endswith(".mp3"):
            self.requests.append((request.headers.get("range"), response.status_code))
            if response.status_code in (200, 206) and self.cuts > 0:
                self.cuts -= 1
                start = int(response.headers.get("content-range", "bytes 0-").split()[1].split("-")[0])
                response.stream = _Cut(response.stream, self, start)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


class _Cut(httpx.AsyncByteStream):
    def __init__(self, inner, owner: CutMp3, start: int) -> None:
        self.inner, self.owner, self.start = inner, owner, start

    async def __aiter__(self):
        at = self.start  # the file offset of the next byte
        async for chunk in self.inner:
            if at + len(chunk) >= self.owner.after:
                yield chunk[:self.owner.after - at]
                final, part = self.owner.final, part_path(self.owner.final)
                self.owner.seen.append((final.exists(), part.exists(), part.stat().st_size if part.exists() else -1))
                raise httpx.ReadError("connection reset by peer (cut by the test)")
            at += len(chunk)
            yield chunk

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.mark.parametrize("cuts", [1, 99])
async def test_a_download_cut_short_is_retried_or_leaves_no_file(tmp_path, cuts):
    """The body breaks off at 1.5 MB, after 1 MiB reached the .part file. One cut: the rest is
    asked for (Range: bytes=1048576-, 206) and the mp3 is saved whole. Cut every time: collect
    fails with a TransportError after 3 attempts (the 2nd and 3rd resume at 1 MiB), and neither
    the mp3 nor a .part file is left; the Transcription is saved either way; no link on disk."""
    spool, session = tmp_path / "spool", tmp_path / "session"
    spool.mkdir()
    records: list[dict] = []
    with emulator(spool) as emu:
        async with emu.client() as probe:
            task_id, _ = await _session(emu, 120, probe)
        final = session / "results" / f"{task_id}.mp3"
        transport = CutMp3(cuts, 1_500_000, final)
        async with emu.client(transport=transport, retry=FAST_RETRY, on_request=records.append) as client:
            writer = SessionWriter(session, fmt="pcm")
            if cuts == 1:
                await collect(client, task_id, writer, poll_interval_s=0.2, timeout_s=GUARD_S)
            else:
                with pytest.raises(TransportError) as failed:
                    await collect(client, task_id, writer, poll_interval_s=0.2, timeout_s=GUARD_S)
            writer.close()
            record = emu.store.get(task_id)
            served = spooled_bytes(record.files[record.output_mp3])
            info = await client.get_task_info(task_id)
    resumed = ("bytes=1048576-", 206)
    if cuts == 1:
        assert transport.seen == [(False, True, 1 << 20)] and transport.requests == [(None, 200), resumed]
    else:  # mid-body: a .part holding the whole MiB written so far, never the final name
        assert transport.seen == [(False, True, 1 << 20)] * 3 and transport.requests == [(None, 200), resumed, resumed]
    cut_records = [r for r in records if r["action"] == "Download" and r["error"] == "ReadError"]
    assert len(cut_records) == min(cuts, 3) and len(served) > 1_500_000
    meta = json.loads((session / "session.json").read_text())
    assert (session / "results" / "Transcription.json").exists() and not part_path(final).exists()
    if cuts == 1:
        assert final.read_bytes() == served and meta["results"][MP3] == final.name
    else:
        assert not final.exists() and MP3 not in meta["results"]
        assert meta["download_errors"][MP3]["type"] == "TransportError" and "3 attempts" in str(failed.value)
    signature = parse_qs(urlsplit(info.output_mp3_path).query)["Signature"][0]
    for path in session.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".jsonl"):
            text = path.read_text(encoding="utf-8")
            assert "Signature=" not in text and signature not in text, path


async def test_an_expired_mp3_link_is_renewed_and_streamed_to_disk(tmp_path):
    """The emulator's result_url_ttl_s fault: the mp3 link is dead by the time it is used; one
    GetTaskInfo renews it and the file is streamed to the path asked for, whole."""
    spool = tmp_path / "spool"
    spool.mkdir()
    with emulator(spool, result_url_ttl_s=2.0) as emu:
        async with emu.client() as client:
            task_id, _ = await _session(emu, 30, client)
            await client.stop_realtime_task(task_id)
            stale = await client.wait_for_task(task_id, poll_interval_s=0.2, timeout_s=GUARD_S)
            expires = int(parse_qs(urlsplit(stale.output_mp3_path).query)["Expires"][0])
            while time.time() <= expires + 0.05:
                await asyncio.sleep(0.1)
            target = tmp_path / "out" / "meeting.mp3"
            target.parent.mkdir()
            got = await download_results(client, stale, kinds={MP3}, to_disk={MP3: target})
            record = emu.store.get(task_id)
            served = spooled_bytes(record.files[record.output_mp3])
    assert got.errors == {} and got.refreshes == 1 and got.saved == {MP3: target} and got.files == {}
    assert target.read_bytes() == served and not part_path(target).exists()
    assert mp3_seconds(served)[0] == pytest.approx(len(synthetic(30)) / RATE, abs=0.2)
    assert "Signature" not in repr(got)


async def test_the_emulator_answers_one_byte_range_of_the_mp3(tmp_path):
    """bytes=a-, a-b and -n get 206 with Content-Range and exactly those bytes; a range past the
    end, several ranges or nonsense get the whole file with 200 (OSS's default)."""
    spool = tmp_path / "spool"
    spool.mkdir()
    with emulator(spool) as emu:
        async with emu.client() as client:
            task_id, _ = await _session(emu, 30, client)
            await client.stop_realtime_task(task_id)
            info = await client.wait_for_task(task_id, poll_interval_s=0.2, timeout_s=GUARD_S)
            record = emu.store.get(task_id)
            whole = spooled_bytes(record.files[record.output_mp3])
            size = len(whole)
            async with httpx.AsyncClient() as http:
                answers = {h: await http.get(info.output_mp3_path, headers={"range": h} if h else None)
                           for h in (None, "bytes=1000-", "bytes=10-19", "bytes=-7", f"bytes={size}-", "bytes=0-1,5-6",
                                     "pages=1-2")}
    assert size > 400_000 and answers[None].content == whole and answers[None].headers["accept-ranges"] == "bytes"
    for header, (status, start, end) in {"bytes=1000-": (206, 1000, size), "bytes=10-19": (206, 10, 20),
                                         "bytes=-7": (206, size - 7, size)}.items():
        answer = answers[header]
        assert (answer.status_code, answer.content) == (status, whole[start:end])
        assert answer.headers["content-range"] == f"bytes {start}-{end - 1}/{size}"
    for header in (f"bytes={size}-", "bytes=0-1,5-6", "pages=1-2"):
        assert answers[header].status_code == 200 and answers[header].content == whole
        assert "content-range" not in answers[header].headers


def test_the_chunked_encoder_matches_one_whole_encode(tmp_path):
    """Chunks of 3.3 s give the very bytes of encoding the recording at once (client.audio.encode)."""
    from tingwu_nb.client.audio import encode

    pcm = np.ascontiguousarray(synthetic(20))
    out = encode_mp3(pcm, RATE, directory=tmp_path, chunk_s=3.3)
    try:
        assert spooled_bytes(out) == encode(pcm, RATE, "mp3", bitrate=128_000) and os.listdir(tmp_path) == []
    finally:
        out.close()
    with pytest.raises(ValueError):
        encode_mp3(pcm[:0], RATE)
