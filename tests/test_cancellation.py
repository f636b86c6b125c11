"""No task left running: Ctrl-C on the CLI and cancellation of record() stop the stream and the task."""

from __future__ import annotations

import asyncio
import functools
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from websockets.asyncio.client import connect as ws_connect

from tingwu_nb.client.audio import stream_frames
from tingwu_nb.client.stream import RealtimeStream
from tingwu_nb.contract import events as ev
from tingwu_nb.contract.params import RealtimeTaskRequest
from tingwu_nb.session.lifecycle import Recording, open_session, settle
from tingwu_nb.session.recording import Session, record

pytestmark = [pytest.mark.network, pytest.mark.slow]


def _cli_env(tmp_path: Path, emulator) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALIBABA_CLOUD_", "TINGWU_"))}
    env["HOME"] = str(tmp_path)
    env["ALIBABA_CLOUD_ACCESS_KEY_ID"] = emulator.credentials.access_key_id
    env["ALIBABA_CLOUD_ACCESS_KEY_SECRET"] = emulator.credentials.access_key_secret
    return env


def _wait_for_streaming(emulator, known: set[str], timeout_s: float = 120.0):
    """The new task once it is streaming and has received audio."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        fresh = [t for t in emulator.store if t.task_id not in known]
        if fresh and fresh[0].stream_active and len(fresh[0].pcm) > 32000:  # > 1 s of audio arrived
            return fresh[0]
        time.sleep(0.05)
    raise AssertionError("no task started streaming")


@pytest.mark.parametrize("signum, code, said", [(signal.SIGINT, 130, "interrupted (Ctrl-C)"),
                                                (signal.SIGTERM, 143, "terminated (SIGTERM)")])
def test_signal_to_the_cli_stops_the_task_and_exits_with_one_line(emulator, sample_path, tmp_path, signum, code,
                                                                   said):
    """Ctrl-C (SIGTERM) mid-stream: the task is stopped, session.json says cancelled, one line, exit 130 (143)."""
    known = {t.task_id for t in emulator.store}
    out = tmp_path / "sessions"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tingwu_nb.cli", "transcribe", str(sample_path), "--endpoint", emulator.endpoint,
         "--app-key", emulator.app_key, "--speed", "1", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_cli_env(tmp_path, emulator))
    try:
        task = _wait_for_streaming(emulator, known)
        assert task.status == "ONGOING" and task.stopped_at is None
        proc.send_signal(signum)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == code, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    assert lines[0].startswith(f"tingwu-nb: {said}") and f"task {task.task_id} stopped" in lines[0]
    assert f"to {emulator.endpoint} " in stdout and "embedded emulator" not in stdout  # the banner names it
    assert task.stopped_at is not None and not task.stream_active  # StopTranscription and CreateTask stop
    (directory,) = out.iterdir()
    assert str(directory) in lines[0]
    meta = json.loads((directory / "session.json").read_text(encoding="utf-8"))
    assert meta["status"] == "cancelled" and meta["task_id"] == task.task_id
    assert meta["error"] == {"type": "CancelledError", "message": said}
    assert meta["cleanup"]["task_stop"] == "stopped" and meta["cleanup"]["stream_close"] == "closed"
    assert meta["cleanup"]["stream_stop"].startswith("StopTranscription sent")
    assert "task_stopped" in meta["phases"]


async def test_cancelling_record_stops_the_stream_and_the_task(emulator, sample_path, tmp_path):
    """task.cancel() on record() mid-stream (a notebook interrupt) stops the task before CancelledError goes on."""
    first_final = asyncio.Event()

    def watch(event: ev.Event) -> None:
        if isinstance(event, ev.SentenceEnd):
            first_final.set()

    async with emulator.client() as client:
        job = asyncio.create_task(record(sample_path, RealtimeTaskRequest.create(), client=client, speed=2.0,
                                         out_dir=tmp_path, on_event=watch))
        await asyncio.wait_for(first_final.wait(), timeout=120)
        job.cancel()
        with pytest.raises(asyncio.CancelledError) as caught:
            await job
        directory = caught.value.session_dir
        session = Session(directory)
        task = emulator.store.get(session.task_id)
        assert task.stopped_at is not None and not task.stream_active
        assert session.status == "cancelled" and session.meta["cleanup"]["task_stop"] == "stopped"
        assert session.meta["error"]["type"] == "CancelledError"
        assert len(session.events()) >= 1  # what arrived live is kept
        final = await client.wait_for_task(session.task_id, poll_interval_s=0.2, timeout_s=120)
    assert final.status == "COMPLETED"  # stopped, so the service finished it


class _SlowClose:
    """A real websockets connection whose close() first waits ``delay_s`` (a slow close handshake)."""

    def __init__(self, ws, delay_s: float, closing: asyncio.Event) -> None:
        self._ws, self._delay_s, self._closing = ws, delay_s, closing

    def __getattr__(self, name: str):
        return getattr(self._ws, name)

    def __aiter__(self):
        return self._ws.__aiter__()

    async def close(self, *args, **kwargs) -> None:
        self._closing.set()
        await asyncio.sleep(self._delay_s)
        await self._ws.close(*args, **kwargs)


async def test_a_cancel_while_the_stream_closes_is_not_lost(emulator, tmp_path):
    """Cancelled during the shielded close after a completed stream: the run still ends with
    CancelledError and stops the task, instead of absorbing the interrupt and collecting results."""
    closing = asyncio.Event()

    async def slow_connect(url, **kwargs):
        return _SlowClose(await ws_connect(url, **kwargs), 1.0, closing)

    writer, _ = open_session(tmp_path, "pcm")
    recording = Recording(request=RealtimeTaskRequest.create(), audio={}, speed=math.inf, writer=writer,
                          frames=stream_frames(np.zeros(2 * 16000, np.int16), 16000, "pcm"),
                          open_stream=functools.partial(RealtimeStream, connect=slow_connect))
    async with emulator.client() as client:
        job = asyncio.create_task(recording.run(client))
        await asyncio.wait_for(closing.wait(), timeout=120)
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job
    meta = json.loads((writer.directory / "session.json").read_text(encoding="utf-8"))
    assert "stream_completed" in meta["phases"] and meta["cleanup"]["stream_close"] == "closed"
    assert meta["status"] == "cancelled" and meta["cleanup"]["task_stop"] == "stopped"
    assert emulator.store.get(meta["task_id"]).stopped_at is not None


async def test_settle_finishes_a_step_even_when_cancelled_twice():
    """The cleanup helper absorbs further cancellations but keeps its bound."""
    finished = []

    async def step() -> str:
        await asyncio.sleep(0.3)
        finished.append(True)
        return "done"

    async def cleanup() -> object:
        return await settle(step(), timeout_s=5)

    job = asyncio.create_task(cleanup())
    await asyncio.sleep(0.05)
    job.cancel()
    await asyncio.sleep(0.05)
    job.cancel()
    result = await job
    assert result.value == "done" and result.interrupted and finished == [True]
    slow = await settle(asyncio.sleep(10), timeout_s=0.1)
    assert not slow.ok and isinstance(slow.error, (asyncio.TimeoutError, TimeoutError))


def test_ctrl_c_in_a_record_sync_script_stops_the_task(emulator, sample_path, tmp_path):
    """A plain script calling record_sync(): Ctrl-C (asyncio.run's cancellation) still stops the task."""
    known = {t.task_id for t in emulator.store}
    env = _cli_env(tmp_path, emulator) | {"TINGWU_ENDPOINT": emulator.endpoint, "TINGWU_APP_KEY": emulator.app_key}
    script = ("import sys; from tingwu_nb import record_sync; "
              "record_sync(sys.argv[1], speed=1, out_dir=sys.argv[2])")
    proc = subprocess.Popen([sys.executable, "-c", script, str(sample_path), str(tmp_path / "s")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        task = _wait_for_streaming(emulator, known)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert "KeyboardInterrupt" in stderr  # a script's own Ctrl-C still ends as one
    assert task.stopped_at is not None and not task.stream_active
    (directory,) = (tmp_path / "s").iterdir()
    meta = json.loads((directory / "session.json").read_text(encoding="utf-8"))
    assert meta["status"] == "cancelled" and meta["cleanup"]["task_stop"] == "stopped"


def test_sigterm_to_a_cli_run_on_the_embedded_emulator_says_one_line(sample_path, tmp_path):
    """The embedded emulator stops with the CLI while its task may be post-processing: still one
    line on stderr, no traceback from the emulator's shutdown (it once printed 'unhandled
    exception during asyncio.run() shutdown' while freeing the task's spooled audio)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALIBABA_CLOUD_", "TINGWU_ENDPOINT"))}
    out = tmp_path / "sessions"
    proc = subprocess.Popen([sys.executable, "-m", "tingwu_nb.cli", "transcribe", str(sample_path), "--speed", "1",
                             "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        seen = []
        for line in proc.stdout:  # the banner, then the first final sentence: streaming is under way
            seen.append(line)
            if " ms " in line:
                break
        assert any("embedded emulator" in s for s in seen), seen
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 143, stderr
    assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr and "unhandled" not in stderr, stderr
    (directory,) = out.iterdir()
    meta = json.loads((directory / "session.json").read_text(encoding="utf-8"))
    assert meta["status"] == "cancelled" and meta["cleanup"]["task_stop"] == "stopped"
