"""Memory of a long record(): nothing in the client may grow with the length of the stream.

A synthetic stream (1.2 s of noise "speech" + 1.0 s of silence, repeated: ~27 sentences a minute,
interim results on) is recorded at the fastest accepted speed against a load-test emulator run
as a separate process (``tingwu-nb emulator --speech-engine loadtest``), so this process holds
only the client. Python allocations (tracemalloc, numpy included) are sampled every 1/20 of
the audio from the frame-progress callback; the assertions are in MB, never on time.

record() keeps no event in memory (the session writer streams them to disk; the reconnect
stitcher remembers a bounded number of indexes), spools the decoded samples to a temporary file
and cuts pcm frames as they are sent. The measured numbers are printed (``pytest -s``).
"""

from __future__ import annotations

import asyncio
import math
import re
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import write_wav
from tingwu_nb.client.tasks import TingwuClient
from tingwu_nb.config import Credentials
from tingwu_nb.contract.params import RealtimeTaskRequest
from tingwu_nb.session.recording import record

pytestmark = pytest.mark.network

AUDIO_MIN = 5.0  # ~35 s at MAX_SPEED on a quiet machine
UNIT_S, SPEECH_S = 2.2, 1.2
SAMPLES = 20
GROWTH_BOUND_MB = 0.1  # over the last 3/4 of the stream (~100 sentences, ~400 events)
HELD_BOUND_MB = 4.0  # audio held while streaming; the 5 min of 16 kHz PCM are 9.6 MB


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100.0  # utime + stime, clock ticks of 10 ms


@pytest.fixture(scope="module")
def loadtest_service():
    """``tingwu-nb emulator --speech-engine loadtest --port 0`` in its own process: (info, pid)."""
    proc = subprocess.Popen([sys.executable, "-m", "tingwu_nb.cli", "emulator", "--speech-engine", "loadtest",
                             "--port", "0"], stdout=subprocess.PIPE, text=True)
    info: dict[str, str] = {}
    patterns = {"endpoint": r"listening on (\S+)", "app_key": r"AppKey\s+(\S+)",
                "id": r"AccessKey id\s+(\S+)", "secret": r"AccessKey secret\s+(\S+)"}
    try:
        for line in proc.stdout:
            for key, pattern in patterns.items():
                found = re.search(pattern, line)
                if found:
                    info[key] = found.group(1)
            if "Ctrl-C" in line:
                break
        assert set(info) == set(patterns), info.keys()
        yield info, proc.pid
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def long_stream(loadtest_service, tmp_path_factory) -> dict:
    """Record the long synthetic stream once; the memory samples and facts of the run."""
    info, pid = loadtest_service
    tmp = tmp_path_factory.mktemp("memory")
    rng = np.random.default_rng(0)
    unit = np.zeros(int(UNIT_S * 16000), dtype=np.int16)
    unit[:int(SPEECH_S * 16000)] = (rng.standard_normal(int(SPEECH_S * 16000)) * 3000).astype(np.int16)
    units = int(AUDIO_MIN * 60 / UNIT_S)
    wav = write_wav(tmp / "long.wav", np.tile(unit, units), 16000)
    total_ms = units * int(UNIT_S * 1000)
    samples: list[tuple[float, float]] = []  # (audio minutes sent, traced MB)

    def progress(kind: str, value) -> None:
        if kind == "frame" and len(samples) <= min(SAMPLES, value[0] * SAMPLES // total_ms):
            samples.append((value[0] / 60000, tracemalloc.get_traced_memory()[0] / 2**20))

    async def run():
        creds = Credentials(access_key_id=info["id"], access_key_secret=info["secret"])
        async with TingwuClient(endpoint=info["endpoint"], app_key=info["app_key"], credentials=creds) as client:
            return await record(wav, RealtimeTaskRequest.create(output_level=2), client=client, speed=math.inf,
                                out_dir=tmp / "sessions", on_progress=progress, poll_interval_s=0.2)

    tracemalloc.start(1)
    try:
        baseline = tracemalloc.get_traced_memory()[0] / 2**20
        cpu, service_cpu, started = time.process_time(), _cpu_s(pid), time.monotonic()
        session = asyncio.run(run())
        cpu, service_cpu = time.process_time() - cpu, _cpu_s(pid) - service_cpu
        wall = time.monotonic() - started
    finally:
        tracemalloc.stop()
    facts = {"session": session, "samples": samples, "baseline_mb": baseline, "audio_min": total_ms / 60000,
             "sentences": units}
    q1 = samples[SAMPLES // 4][1]
    growth = samples[-1][1] - q1
    per_hour = growth / (samples[-1][0] - samples[SAMPLES // 4][0]) * 60
    print(f"\nmemory: {total_ms / 60000:.1f} min of audio in {wall:.1f} s wall; traced before {baseline:.1f} MB, "
          f"at first frame {samples[0][1]:.1f} MB, at 1/4 {q1:.2f} MB, at end {samples[-1][1]:.2f} MB "
          f"(growth {growth * 1024:.0f} KB over the last 3/4 = {per_hour:.1f} MB per audio hour); "
          f"client CPU {cpu / facts['audio_min']:.2f} s and loadtest emulator CPU {service_cpu / facts['audio_min']:.2f} s "
          f"per stream-minute (tracemalloc on in the client)")
    return facts | {"growth_mb": growth, "held_mb": samples[0][1] - baseline}


def test_long_stream_completes(long_stream):
    """The long stream itself is fine: every sentence back, labelled by the load-test engine."""
    session = long_stream["session"]
    assert session.status == "COMPLETED"
    assert len(session.sentences()) == long_stream["sentences"]
    assert len(long_stream["samples"]) == SAMPLES + 1


def test_client_memory_does_not_grow_with_stream_length(long_stream):
    """Python allocations after the first quarter stay flat (within GROWTH_BOUND_MB)."""
    assert long_stream["growth_mb"] < GROWTH_BOUND_MB


def test_client_does_not_hold_the_whole_audio(long_stream):
    """What is held when the first frame goes out does not scale with the recording's length."""
    assert long_stream["held_mb"] < HELD_BOUND_MB
