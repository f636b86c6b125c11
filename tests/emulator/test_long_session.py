"""Long sessions on the emulator: nothing grows with length in memory, the loop keeps answering.

The received audio of a task is spooled to a nameless temporary file (emulator/spool.py), never
held in the process; building and serialising the result documents run on worker threads, so
GetTaskInfo answers while a day's Transcription is being made. Real emulator (load-test engine,
speed limit off as in benchmarks/bench_day.py) over loopback, real httpx and websockets.
"""

from __future__ import annotations

import asyncio
import gc
import os
import threading
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest

from tingwu_nb.client.stream import RealtimeStream, StreamOptions
from tingwu_nb.contract import events as ev
from tingwu_nb.contract.params import RealtimeTaskRequest
from tingwu_nb.emulator import rest as rest_module
from tingwu_nb.emulator.analysis import postprocess as postprocess_module
from tingwu_nb.emulator.app import Emulator
from tingwu_nb.emulator.contract import ContractChoices, EmulatorConfig
from tingwu_nb.emulator.faults import FaultPlan
from tingwu_nb.emulator.spool import PcmSpool
from tingwu_nb.emulator.store import TaskRecord
from tingwu_nb.errors import TransportError

pytestmark = [pytest.mark.network]

RATE = 16000
UNIT_S, SPEECH_S = 2.2, 1.2  # the bench_day pattern: 1.2 s of loud noise, 1.0 s of silence
FRAME = RATE * 2  # 1 s of s16le per WebSocket frame
GUARD_S = 60.0  # failure guard for waits on the other thread (never a measurement)


def synthetic(seconds: float) -> np.ndarray:
    rng = np.random.default_rng(0)
    unit = np.zeros(int(UNIT_S * RATE), dtype=np.int16)
    unit[:int(SPEECH_S * RATE)] = (rng.standard_normal(int(SPEECH_S * RATE)) * 3000).astype(np.int16)
    return np.tile(unit, int(seconds / UNIT_S))


def emulator(tmp_path: Path, **faults) -> Emulator:
    config = EmulatorConfig.generate(speech_engine="loadtest", analysis_engine="extractive",
                                     choices=ContractChoices(max_speed_factor=None), spool_dir=str(tmp_path),
                                     faults=FaultPlan(**faults))
    return Emulator(config)


def spool_fds(directory: Path) -> list[str]:
    """Open files of this process inside ``directory`` (the spool files: nameless, so '(deleted)')."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(directory) + "/"):
            found.append(target)
    return found


async def send_all(url: str, data: bytes, ends: list[ev.SentenceEnd], *, stop: bool = True,
                   lead_s: float | None = None, record: TaskRecord | None = None) -> RealtimeStream:
    """Stream ``data`` in 1 s frames as fast as possible; with ``lead_s``, each frame waits until
    the finals are no more than ``lead_s`` behind (so some are out before an injected drop), or
    until the emulator's side of the connection (``record``) has ended."""
    stream = RealtimeStream(url, keep_events=False, options=StreamOptions(stop_timeout_s=GUARD_S),
                            on_event=lambda e: ends.append(e) if isinstance(e, ev.SentenceEnd) else None)
    await stream.open()
    first = len(ends)
    for at in range(0, len(data), FRAME):
        if lead_s is not None:
            for _ in range(int(GUARD_S * 100)):
                if len(ends) - first >= int((at / FRAME - lead_s) / UNIT_S) or not record.stream_active:
                    break
                await asyncio.sleep(0.01)
        await stream.send(data[at:at + FRAME])
    if stop:
        await stream.stop()
        await stream.close()
    return stream


def big_buffers(record: TaskRecord, limit: int = 1 << 20) -> list[str]:
    """The record's fields holding a bytes-like object over ``limit`` bytes."""
    return [f.name for f in fields(record)
            if isinstance(getattr(record, f.name), (bytes, bytearray, memoryview))
            and len(getattr(record, f.name)) > limit]


async def test_a_long_session_is_spooled_to_disk_not_memory(tmp_path):
    """25 minutes of audio: the record holds a spool whose file has every byte received (and no
    big buffer); the Transcription covers all of it; once COMPLETED the file is gone."""
    pcm = synthetic(25 * 60)
    data = pcm.tobytes()
    ends: list[ev.SentenceEnd] = []
    with emulator(tmp_path) as emu:
        async with emu.client() as client:
            task = await client.create_realtime_task(RealtimeTaskRequest.create(output_level=1))
            stream = await send_all(task.meeting_join_url, data, ends, stop=False)
            record = emu.store.get(task.task_id)
            assert isinstance(record.pcm, PcmSpool) and big_buffers(record) == []
            await stream.stop()
            await stream.close()
            assert len(record.pcm) == len(data) and record.pcm.file_size() == len(data)
            assert len(spool_fds(tmp_path)) == 1 and os.listdir(tmp_path) == []  # one open file, no name
            assert record.pcm[RATE * 2 * 60:RATE * 2 * 61] == data[RATE * 2 * 60:RATE * 2 * 61]
            assert np.array_equal(record.pcm.samples(), pcm)
            await client.stop_realtime_task(task.task_id)
            info = await client.wait_for_task(task.task_id, poll_interval_s=0.2, timeout_s=GUARD_S)
            doc = await client.fetch_json(info.result_urls["Transcription"])
        assert info.status == "COMPLETED"
        assert doc["Transcription"]["AudioInfo"]["Duration"] == len(pcm) * 1000 // RATE
        assert len(doc["Transcription"]["AudioSegments"]) == len(ends) == int(25 * 60 / UNIT_S)
        assert record.pcm.closed and record.pcm.file_size() == 0 and spool_fds(tmp_path) == []


class Gate:
    """Wraps a function the emulator runs: it reports it started, then waits for :meth:`release`."""

    def __init__(self, fn):
        self.fn, self.started, self.released = fn, threading.Event(), threading.Event()
        self.timed_out = False

    def __call__(self, *args, **kwargs):
        self.started.set()
        self.timed_out = not self.released.wait(GUARD_S)  # on the event loop this would freeze GetTaskInfo
        return self.fn(*args, **kwargs)

    def release(self) -> None:
        self.released.set()


async def test_get_task_info_answers_while_the_result_is_built(tmp_path, monkeypatch):
    """The Transcription's build is held on its thread: GetTaskInfo answers ONGOING (no
    Transcription yet) meanwhile; after the release the task completes with the document."""
    gate = Gate(postprocess_module.build_transcription)
    monkeypatch.setattr(postprocess_module, "build_transcription", gate)
    ends: list[ev.SentenceEnd] = []
    with emulator(tmp_path) as emu:
        async with emu.client() as client:
            task = await client.create_realtime_task(RealtimeTaskRequest.create(output_level=1))
            await send_all(task.meeting_join_url, synthetic(60).tobytes(), ends)
            await client.stop_realtime_task(task.task_id)
            assert await asyncio.to_thread(gate.started.wait, GUARD_S)
            polls = [await client.get_task_info(task.task_id) for _ in range(3)]
            assert not gate.released.is_set()  # every answer came while the build was held
            gate.release()
            info = await client.wait_for_task(task.task_id, poll_interval_s=0.1, timeout_s=GUARD_S)
            doc = await client.fetch_json(info.result_urls["Transcription"])
    assert not gate.timed_out
    assert [p.status for p in polls] == ["ONGOING"] * 3 and all("Transcription" not in p.result_urls for p in polls)
    assert info.status == "COMPLETED" and len(doc["Transcription"]["AudioSegments"]) == len(ends) > 20


async def test_get_task_info_answers_while_a_result_file_is_serialised(tmp_path, monkeypatch):
    """A result download whose JSON is being made does not hold up GetTaskInfo."""
    ends: list[ev.SentenceEnd] = []
    with emulator(tmp_path) as emu:
        async with emu.client() as client:
            task = await client.create_realtime_task(RealtimeTaskRequest.create(output_level=1))
            await send_all(task.meeting_join_url, synthetic(30).tobytes(), ends)
            await client.stop_realtime_task(task.task_id)
            info = await client.wait_for_task(task.task_id, poll_interval_s=0.1, timeout_s=GUARD_S)
            gate = Gate(rest_module.serialise)
            monkeypatch.setattr(rest_module, "serialise", gate)
            download = asyncio.create_task(client.fetch_json(info.result_urls["Transcription"]))
            assert await asyncio.to_thread(gate.started.wait, GUARD_S)
            during = await client.get_task_info(task.task_id)
            held = not gate.released.is_set() and not download.done()
            gate.release()
            doc = await download
    assert held and not gate.timed_out and during.status == "COMPLETED"
    assert len(doc["Transcription"]["AudioSegments"]) == len(ends)


async def test_a_dropped_connection_rewinds_the_spool_to_the_last_final(tmp_path):
    """The socket drops at 40.3 s: the spool keeps exactly the audio up to the end of the last
    final sent; the next connection resumes there and the record holds the whole recording once."""
    pcm = synthetic(66)
    data = pcm.tobytes()
    ends: list[ev.SentenceEnd] = []
    with emulator(tmp_path, drop_at_audio_s=(40.3,)) as emu:
        async with emu.client() as client:
            task = await client.create_realtime_task(RealtimeTaskRequest.create(output_level=1))
            record = emu.store.get(task.task_id)
            with pytest.raises(TransportError):
                await send_all(task.meeting_join_url, data, ends, lead_s=5.0, record=record)
            for _ in range(int(GUARD_S * 10)):  # the handler rewinds once the closed stream is finished
                if not record.stream_active:
                    break
                await asyncio.sleep(0.1)
            kept = ends[-1].time_ms * RATE // 1000 * 2
            assert 0 < kept < 40.3 * RATE * 2 and len(record.sentences) == len(ends)
            assert len(record.pcm) == kept and record.pcm[0:kept] == data[:kept]
            await send_all(task.meeting_join_url, data[kept:], ends)
            assert np.array_equal(record.pcm.samples(), pcm)
            await client.stop_realtime_task(task.task_id)
            info = await client.wait_for_task(task.task_id, poll_interval_s=0.1, timeout_s=GUARD_S)
            doc = await client.fetch_json(info.result_urls["Transcription"])
    assert info.status == "COMPLETED" and doc["Transcription"]["AudioInfo"]["Duration"] == len(pcm) * 1000 // RATE
    assert len(doc["Transcription"]["AudioSegments"]) == len(ends) == int(66 / UNIT_S)
    base = ContractChoices().sentence_index_base  # each sentence once, none missing
    assert [e.index for e in ends] == list(range(base, base + len(ends)))


def test_spool_truncates_overwrites_and_keeps_earlier_mappings(tmp_path):
    """The spool itself: appends, slices, a rewind that the next append overwrites, a mapping
    taken before the rewind and the close that stays readable, and no named file ever."""
    spool = PcmSpool(tmp_path)
    assert len(spool) == 0 and spool.samples().size == 0 and spool[0:10] == b"" and spool.file_size() == 0
    first = np.arange(1000, dtype="<i2")
    spool.extend(first.tobytes())
    before = spool.samples()
    spool.truncate(600)  # rewind to sample 300
    spool.extend(np.full(100, -7, dtype="<i2").tobytes())
    assert len(spool) == 800 and spool.file_size() == 2000  # the file never shrinks while open
    assert np.array_equal(spool.samples(), np.concatenate([first[:300], np.full(100, -7, dtype="<i2")]))
    assert spool[598:602] == first[299:300].tobytes() + np.int16(-7).tobytes()
    assert len(before) == 1000 and before[350] == -7 and before[500] == 500  # the same file: a later overwrite shows through
    assert os.listdir(tmp_path) == [] and len(set(spool_fds(tmp_path))) == 1  # one nameless file
    spool.close()
    spool.close()
    assert spool.closed and spool[0:10] == b"" and int(before[999]) == 999  # the mapping holds the file...
    del before
    gc.collect()
    assert spool_fds(tmp_path) == []  # ... until it is gone; then the kernel frees the file
    with pytest.raises(ValueError):
        spool.extend(b"\0\0")


async def test_stopping_the_emulator_during_post_processing_fails_the_task_cleanly(tmp_path, caplog):
    """The emulator stopped while a task is post-processing: the task ends FAILED (TSC.Cancelled)
    and its audio file is freed, with no error logged. (The CLI's shutdown order, where the loop's
    executor is already gone, is tested in test_cancellation.py with a real SIGTERM.)"""
    ends: list[ev.SentenceEnd] = []
    emu = emulator(tmp_path, postprocess_delay_s=60.0).start()
    try:
        async with emu.client() as client:
            task = await client.create_realtime_task(RealtimeTaskRequest.create(output_level=1))
            await send_all(task.meeting_join_url, synthetic(20).tobytes(), ends)
            await client.stop_realtime_task(task.task_id)
            record = emu.store.get(task.task_id)
            for _ in range(int(GUARD_S * 10)):
                if record.phase != "streaming" and not record.stream_active:
                    break
                await asyncio.sleep(0.1)
            assert spool_fds(tmp_path)  # still post-processing (held by the delay): the audio is there
    finally:
        emu.stop()
    assert record.status == "FAILED" and record.error_code == "TSC.Cancelled" and record.phase == "done"
    assert record.pcm.closed and not spool_fds(tmp_path)
    assert not [r for r in caplog.records if r.levelname == "ERROR" and "unhandled" in r.getMessage()]
