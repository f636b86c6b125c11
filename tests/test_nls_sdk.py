"""The official NLS Python SDK, unmodified, streams to the emulator's join URL.

The SDK (``alibabacloud-nls-python-sdk``, a dev dependency; module ``nls``) is the client of
Tingwu's own Python realtime sample. Its handshake carries ``Sec-WebSocket-Key`` and
``Sec-WebSocket-Version`` twice; the emulator must answer from the first key
(:mod:`tingwu_nb.emulator.handshake`).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import shutil
import socket
import threading
import time
from urllib.parse import urlsplit

import numpy as np
import pytest
import websockets

from tests.conftest import wer
from tingwu_nb.client.pacing import MAX_SPEED
from tingwu_nb.contract.params import RealtimeTaskRequest
from tingwu_nb.emulator.handshake import first_occurrence
from tingwu_nb.samples import spoken_clip

pytestmark = [pytest.mark.network]

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
SDK_FIXED_KEY = "x3JJHMbDL1EzLkh9GBhXDw=="  # the key nls/core.py appends to every handshake
PHRASES = ("Good morning everyone, thank you for joining the meeting today.",
           "Please send the quarterly report to the finance team by Friday.")
SPEED = MAX_SPEED / 2  # well inside the emulator's sending-speed limit


def expected_accept(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def join_url(emu) -> str:
    """The MeetingJoinUrl of a new realtime task (English, level 1) on ``emu``."""
    async def create() -> str:
        async with emu.client() as client:
            task = await client.create_realtime_task(RealtimeTaskRequest.create(output_level=1))
            return task.meeting_join_url

    return asyncio.run(create())


class ErrorLog(logging.Handler):
    """Collects WARNING+ records of the loggers it is attached to (uvicorn does not propagate)."""

    def __init__(self, *names: str) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []
        self.loggers = [logging.getLogger(n) for n in names]

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def __enter__(self) -> ErrorLog:
        for lg in self.loggers:
            lg.addHandler(self)
        return self

    def __exit__(self, *exc) -> None:
        for lg in self.loggers:
            lg.removeHandler(self)

    def text(self) -> str:
        return "\n".join(self.format(r) for r in self.records)


def raw_handshake(url: str, headers: list[tuple[str, str]]) -> tuple[int, dict[str, list[str]]]:
    """Send a hand-written upgrade request; return the status and the response headers."""
    parts = urlsplit(url)
    request = [f"GET {parts.path}?{parts.query} HTTP/1.1", f"Host: {parts.netloc}",
               "Upgrade: websocket", "Connection: Upgrade", *(f"{k}: {v}" for k, v in headers), "", ""]
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall("\r\n".join(request).encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        if data.startswith(b"HTTP/1.1 101"):  # close politely: a masked close frame, code 1000
            sock.sendall(bytes([0x88, 0x82, 1, 2, 3, 4, 0x03 ^ 1, 0xE8 ^ 2]))
    head = data.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
    found: dict[str, list[str]] = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        found.setdefault(name.strip().lower(), []).append(value.strip())
    return int(head[0].split()[1]), found


@pytest.mark.parametrize("headers, first_key", [
    ([("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Sec-WebSocket-Version", "13")],
     "dGhlIHNhbXBsZSBub25jZQ=="),
    ([("Sec-WebSocket-Key", "AQIDBAUGBwgJCgsMDQ4PEA=="), ("Sec-WebSocket-Version", "13"),
      ("Sec-WebSocket-Key", SDK_FIXED_KEY), ("Sec-WebSocket-Version", "13"), ("X-NLS-Token", "default")],
     "AQIDBAUGBwgJCgsMDQ4PEA=="),
], ids=["single-key", "sdk-duplicated-key"])
def test_raw_handshake_answers_from_the_first_key(emulator, headers, first_key):
    """101 with Sec-WebSocket-Accept = base64(sha1(first key + GUID)), duplicated or not."""
    with ErrorLog("uvicorn", "asyncio") as log:
        status, response = raw_handshake(join_url(emulator), headers)
    assert status == 101
    assert response["sec-websocket-accept"] == [expected_accept(first_key)]
    assert expected_accept(first_key) != expected_accept(SDK_FIXED_KEY)
    assert not log.records, log.text()


async def test_websockets_client_still_connects(emulator):
    """The websockets client (what tingwu_nb.client.stream uses) validates the emulator's handshake."""
    url = await asyncio.to_thread(join_url, emulator)
    async with websockets.connect(url, open_timeout=10) as ws:
        assert ws.response.status_code == 101


def test_first_occurrence_keeps_other_repeated_headers():
    """Only the listed headers are de-duplicated; order and other repeats are kept."""
    from websockets.datastructures import Headers

    h = Headers([("Sec-WebSocket-Key", "a"), ("Cookie", "x=1"), ("sec-websocket-key", "b"), ("Cookie", "y=2")])
    kept = first_occurrence(h)
    assert list(kept.raw_items()) == [("Sec-WebSocket-Key", "a"), ("Cookie", "x=1"), ("Cookie", "y=2")]


@pytest.fixture(scope="module")
def english_clip() -> np.ndarray:
    """Two espeak-ng sentences with a second of silence between them, 16 kHz int16."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    return spoken_clip([("en-us", text) for text in PHRASES], gap_s=1.0, words_per_minute=150)


@pytest.mark.slow
def test_unmodified_sdk_streams_to_the_join_url(emulator, english_clip, capfd):
    """NlsSpeechTranscriber gets TranscriptionStarted, SentenceEnd with the words, Completed."""
    nls = pytest.importorskip("nls", reason="the official NLS SDK (alibabacloud-nls-python-sdk, "
                                            "a dev dependency) is not installed")
    url = join_url(emulator)
    got: dict[str, list] = {"started": [], "sentences": [], "completed": [], "errors": [], "closed": []}
    completed, closed = threading.Event(), threading.Event()

    def on(kind: str, done: threading.Event | None = None):
        def callback(*args) -> None:
            got[kind].append(json.loads(args[0]) if kind != "closed" else True)
            if done is not None:
                done.set()
        return callback

    sdk = nls.NlsSpeechTranscriber(
        url=url, token="default", appkey="default",  # what Tingwu's own realtime sample passes
        on_start=on("started"), on_sentence_end=on("sentences"), on_completed=on("completed", completed),
        on_error=on("errors"), on_close=on("closed", closed))
    audio = english_clip.astype("<i2").tobytes()
    with ErrorLog("uvicorn", "asyncio", "nls", "websocket") as log:  # emulator and SDK alike
        sdk.start(aformat="pcm", sample_rate=16000, timeout=20)
        assert got["started"], "no TranscriptionStarted: the SDK could not open the join URL"
        try:
            for offset in range(0, len(audio), 640):  # 20 ms slices, as the SDK docstring prefers
                sdk.send_audio(audio[offset:offset + 640])
                time.sleep(0.020 / SPEED)  # a fixed gap after each slice: never faster than SPEED
            sdk.stop(timeout=240)
        finally:
            if not completed.wait(timeout=5):
                sdk.shutdown()
        assert closed.wait(timeout=20), "the SDK's connection did not close after TranscriptionCompleted"
    stderr = capfd.readouterr().err
    assert got["errors"] == [] and len(got["started"]) == 1 and len(got["completed"]) == 1, got
    assert got["completed"][0]["header"]["status"] == 20000000
    assert all(isinstance(m["payload"]["index"], int) and m["payload"]["time"] > 0 for m in got["sentences"])
    texts = [m["payload"]["result"] for m in got["sentences"]]
    hypothesis = " ".join(texts)
    error = wer(" ".join(PHRASES), hypothesis)
    print(f"NLS SDK via join URL: {len(texts)} sentences, WER {error:.1%}: {texts}")
    assert len(texts) >= 2 and all(t.strip() for t in texts), texts
    assert error <= 0.25, (error, texts)
    for word in ("morning", "meeting", "quarterly", "report", "friday"):
        assert word in hypothesis.lower(), (word, texts)
    assert not log.records, log.text()
    assert "Traceback" not in stderr, stderr[-4000:]
