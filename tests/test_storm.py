"""Throttling storm: 50 sessions started at once, each with its own TingwuClient, against ONE emulator.

The emulator enforces the documented QPS (CreateTask 20/s, GetTaskInfo 100/s, spec rest §5.5)
and uses the load-test speech engine (no recognition cost). Every REST request is logged on the
emulator side by an ASGI middleware (arrival time, action, status, throttled or not), so the test
checks what the service saw: CreateTask arrivals in any one-second window, Throttling.User answers.
The clients share one rate limiter per endpoint + AccessKey (``client.ratelimit.shared_limiter``).
"""

from __future__ import annotations

import asyncio
import bisect
import math
import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import write_wav
from tingwu_nb.client.ratelimit import DEFAULT_QPS, AnsweredWindow, shared_limiter
from tingwu_nb.client.tasks import TingwuClient
from tingwu_nb.config import Credentials
from tingwu_nb.contract.params import RealtimeTaskRequest
from tingwu_nb.emulator.app import Emulator
from tingwu_nb.emulator.contract import EmulatorConfig
from tingwu_nb.session.recording import record

pytestmark = pytest.mark.network

SESSIONS = 50


class RequestLog:
    """ASGI middleware: one row per HTTP request — arrival (monotonic), action, query, status, body code."""

    def __init__(self, app, rows: list[dict]) -> None:
        self.app = app
        self.rows = rows

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        row = {"t": time.monotonic(), "action": headers.get(b"x-acs-action", b"").decode(),
               "query": scope.get("query_string", b"").decode(), "status": None, "body": b""}

        async def logged_send(message):
            if message["type"] == "http.response.start":
                row["status"] = message["status"]
            elif message["type"] == "http.response.body" and row["status"] != 200:
                row["body"] += message.get("body", b"")
            await send(message)

        try:
            await self.app(scope, receive, logged_send)
        finally:
            self.rows.append(row)


def max_in_window(times: list[float], window_s: float = 1.0) -> int:
    """The most events in any half-open window ``[t, t + window_s)``."""
    times = sorted(times)
    return max((bisect.bisect_left(times, t + window_s) - i for i, t in enumerate(times)), default=0)


def clip(directory: Path, seconds: float, seed: int) -> Path:
    """``seconds`` of 16 kHz audio: 0.3 s silence, noise 'speech', 0.3 s silence (one sentence)."""
    rng = np.random.default_rng(seed)
    pcm = np.zeros(int(seconds * 16000), dtype=np.int16)
    pcm[4800:-4800] = (rng.standard_normal(len(pcm) - 9600) * 3000).astype(np.int16)
    return write_wav(directory / f"clip{seconds:g}.wav", pcm, 16000)


async def test_storm_of_50_sessions_stays_within_qps_and_all_succeed(tmp_path):
    """50 record() calls at once: all COMPLETED; the service saw <= 20 CreateTask in any 1 s, few throttles."""
    rows: list[dict] = []
    config = EmulatorConfig.generate(speech_engine="loadtest", analysis_engine="extractive")
    assert dict(config.qps) == dict(DEFAULT_QPS)  # the documented limits, enforced
    emu = Emulator(config)
    emu.app.add_middleware(RequestLog, rows=rows)
    clips = [clip(tmp_path, seconds, seed) for seed, seconds in enumerate((3.0, 4.0, 5.0))]
    attempts: list[dict] = []
    with emu:
        clients = [emu.client(on_request=attempts.append) for _ in range(SESSIONS)]
        assert len({id(c._limiter) for c in clients}) == 1  # one limiter for the process
        assert clients[0]._limiter is shared_limiter(emu.endpoint, emu.credentials.access_key_id)
        started = time.monotonic()
        try:
            sessions = await asyncio.gather(*(
                record(clips[i % len(clips)], RealtimeTaskRequest.create(output_level=2), client=client,
                       speed=math.inf, out_dir=tmp_path / f"s{i}", poll_interval_s=0.2, timeout_s=300)
                for i, client in enumerate(clients)))
        finally:
            await asyncio.gather(*(c.aclose() for c in clients))
        wall = time.monotonic() - started
    assert [s.status for s in sessions] == ["COMPLETED"] * SESSIONS
    assert all(len(s.sentences()) == 1 for s in sessions)
    assert len({s.task_id for s in sessions}) == SESSIONS

    creates = [r for r in rows if r["action"] == "CreateTask"]
    starts = [r for r in creates if "operation=stop" not in r["query"]]
    throttled = [r for r in rows if b"Throttling.User" in r["body"]]
    gets = [r for r in rows if r["action"] == "GetTaskInfo"]
    per_second = max_in_window([r["t"] for r in creates])
    print(f"\nstorm: {SESSIONS} sessions in {wall:.1f} s wall; {len(creates)} CreateTask "
          f"({len(starts)} starts), {len(gets)} GetTaskInfo; max CreateTask in any 1 s: {per_second}, "
          f"max GetTaskInfo in any 1 s: {max_in_window([r['t'] for r in gets])}; "
          f"Throttling.User answers: {len(throttled)}")
    assert len(starts) - sum(b"Throttling.User" in r["body"] for r in starts) == SESSIONS
    assert per_second <= DEFAULT_QPS["CreateTask"]
    assert max_in_window([r["t"] for r in gets]) <= DEFAULT_QPS["GetTaskInfo"]
    assert len(throttled) <= 5  # the shared limiter keeps the service's buckets from running dry
    # every throttled answer was retried by the client and none surfaced (all sessions completed)
    client_throttles = [a for a in attempts if a["error"] == "Throttling.User"]
    assert len(client_throttles) == len(throttled)


def test_answered_window_counts_from_the_answer():
    """The (limit+1)-th call waits for one window after the first call's answer, not its send."""
    window = AnsweredWindow(2, 1.0)
    assert window.reserve(0.0) == 0.0 and window.reserve(0.0) == 0.0
    first, second = window.release(0.0), window.release(0.0)
    assert window.reserve(0.0) == pytest.approx(1.0)  # booked behind the first two
    assert window.release(1.0) == pytest.approx(0.5)  # first still unanswered: ask again soon
    window.answered(first, 0.4)  # the service may have received it as late as 0.4 s
    assert window.release(1.0) == pytest.approx(0.4)
    third = window.release(1.4)
    assert not isinstance(third, float)
    window.answered(second, 1.5)
    assert window.release(1.6) == pytest.approx(0.9)


def test_shared_limiter_is_one_per_endpoint_and_key():
    """Clients of the same endpoint + AccessKey share one limiter; another key or faked time does not."""
    a = shared_limiter("http://127.0.0.1:1/", "KEY1")
    assert shared_limiter("HTTP://127.0.0.1:1", "KEY1") is a
    assert shared_limiter("http://127.0.0.1:1", "KEY2") is not a
    assert a.answered and "answered window" in repr(a)
    creds = Credentials(access_key_id="KEY1", access_key_secret="not-a-secret")
    real = TingwuClient(endpoint="http://127.0.0.1:1", app_key="k", credentials=creds)
    faked = TingwuClient(endpoint="http://127.0.0.1:1", app_key="k", credentials=creds, clock=lambda: 0.0)
    assert real._limiter is a and faked._limiter is not a
