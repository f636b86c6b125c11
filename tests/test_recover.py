"""A record whose process died mid-stream is finished later from its session directory.

The recording runs in a child process that is SIGKILLed after its first live sentences, so
nothing in it gets to clean up: exactly a dead kernel. ``recover(directory)`` must then use the
endpoint recorded in the session when it answers (stop the task, fetch the result files), and
when the service died too (the embedded emulator lived in the killed process) keep the live
sentences from ``events.jsonl``, marked provisional.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tingwu_nb.session.recording import Session
from tingwu_nb.session.recovery import PROVISIONAL, recover

pytestmark = [pytest.mark.network, pytest.mark.slow]

CHILD = """
import sys
from tingwu_nb import RealtimeTaskRequest, record_sync
record_sync(sys.argv[1], RealtimeTaskRequest.create(output_level=1), speed=2.0, out_dir=sys.argv[2])
"""


def _clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALIBABA_CLOUD_", "TINGWU_"))}
    env["HOME"] = str(tmp_path / "home")  # no ~/.aliyun or ~/.alibabacloud credentials
    return env | extra


def _record_then_kill(sample_path: Path, out: Path, env: dict[str, str], finals: int = 2) -> Path:
    """Run a record in a child process and SIGKILL it once ``finals`` SentenceEnds are on disk."""
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(sample_path), str(out)], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            events = list(out.glob("*/events.jsonl"))
            lines = events[0].read_text(encoding="utf-8").splitlines() if events else []
            if sum('"SentenceEnd"' in line for line in lines) >= finals:
                break
            assert child.poll() is None, child.stderr.read().decode()
            time.sleep(0.1)
        else:
            pytest.fail("the child never received its first live sentences")
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        child.stderr.close()
    (directory,) = out.iterdir()
    return directory


async def test_recover_after_the_embedded_service_died_keeps_the_live_sentences(sample_path, tmp_path):
    directory = _record_then_kill(sample_path, tmp_path / "sessions", _clean_env(tmp_path))
    dead = Session(directory)
    assert dead.status == "streaming" and dead.task_id and dead.meta["endpoint"].startswith("http://127.0.0.1:")

    session = await recover(directory, reach_timeout_s=2.0)

    assert session.status == PROVISIONAL and session.provisional
    assert session.meta["recovered"] is True and "does not answer" in session.meta["provisional_reason"]
    sentences = session.sentences()
    assert len(sentences) >= 2
    assert "weekly project meeting" in sentences["text"].iloc[0].lower()
    assert list(sentences["sentence_id"]) == list(range(1, len(sentences) + 1))
    words = session.words()
    assert len(words) >= sentences["word_count"].sum() and set(words["sentence_id"]) == set(sentences["sentence_id"])
    assert (directory / "sentences.parquet").exists() and (directory / "words.parquet").exists()
    assert "provisional" in session._repr_html_()


async def test_recover_uses_the_recorded_endpoint_when_it_answers(emulator, sample_path, tmp_path, monkeypatch):
    creds = emulator.credentials
    keys = {"TINGWU_ENDPOINT": emulator.endpoint, "TINGWU_APP_KEY": emulator.app_key,
            "ALIBABA_CLOUD_ACCESS_KEY_ID": creds.access_key_id,
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": creds.access_key_secret}
    env = _clean_env(tmp_path, **keys)
    directory = _record_then_kill(sample_path, tmp_path / "sessions", env, finals=1)
    dead = Session(directory)
    assert emulator.store.get(dead.task_id).status == "ONGOING"  # nobody stopped it

    for name in list(os.environ):
        if name.startswith(("ALIBABA_CLOUD_", "TINGWU_")):
            monkeypatch.delenv(name)
    for name, value in keys.items():
        if name != "TINGWU_ENDPOINT":  # recover() must find the endpoint in the session itself
            monkeypatch.setenv(name, value)
    monkeypatch.setenv("HOME", env["HOME"])
    session = await recover(directory, poll_interval_s=0.2)

    assert session.status == "COMPLETED" and not session.provisional
    assert emulator.store.get(dead.task_id).status == "COMPLETED"
    assert "task_stopped" in session.meta["phases"]
    assert "weekly project meeting" in session.sentences()["text"].iloc[0].lower()
    assert creds.access_key_secret not in (directory / "session.json").read_text(encoding="utf-8")


def _crafted_session(directory: Path, endpoint: str) -> Path:
    """A session directory as a dead process leaves it: one live SentenceEnd, a torn last line."""
    directory.mkdir()
    (directory / "session.json").write_text(json.dumps({
        "status": "streaming", "task_id": "0123456789abcdef", "endpoint": endpoint,
        "phases": {}, "request": {"Input": {"Format": "pcm"}}}), encoding="utf-8")
    line = {"seq": 1, "name": "SentenceEnd", "mono": 1.0, "wall": 1.0, "audio_sent_ms": 3000, "message": {
        "header": {"namespace": "SpeechTranscriber", "name": "SentenceEnd", "status": 20000000,
                   "message_id": "m1", "task_id": "0123456789abcdef", "status_text": "Gateway:SUCCESS:Success."},
        "payload": {"index": 1, "time": 2500, "begin_time": 400, "result": "hello there", "words": [
            {"text": "hello", "startTime": 400, "endTime": 900}, {"text": "there", "startTime": 950, "endTime": 1400}]}}}
    (directory / "events.jsonl").write_text(json.dumps(line) + "\n" + '{"seq": 2, "na', encoding="utf-8")
    return directory


async def test_recover_when_the_service_forgot_the_task(emulator, tmp_path):
    """A live endpoint that does not know the task (another emulator run): provisional, not an error."""
    directory = _crafted_session(tmp_path / "copy", emulator.endpoint)
    async with emulator.client() as client:
        session = await recover(directory, client=client)
    assert session.status == PROVISIONAL and "no longer knows" in session.meta["provisional_reason"]
    assert session.sentences()[["text", "word_count", "start_s", "end_s"]].values.tolist() == [
        ["hello there", 2, 0.4, 1.4]]
    shutil.rmtree(directory)


def test_cli_recover_prints_the_provisional_transcript(tmp_path, capsys):
    """`tingwu-nb recover DIR` with the recorded endpoint gone: the live sentences, said to be provisional."""
    from tingwu_nb.cli import main

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    directory = _crafted_session(tmp_path / "dead", dead)
    assert main(["recover", str(directory)]) == 1
    out = capsys.readouterr().out
    assert "hello there" in out and "Provisional" in out and "from the live events" in out
    assert Session(directory).status == PROVISIONAL
