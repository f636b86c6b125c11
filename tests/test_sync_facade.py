"""record_sync: the lifecycle from code that cannot await, with or without a running loop."""

from __future__ import annotations

import asyncio
import math

import pytest

from tests.conftest import sample_turns_wav
from tingwu_nb.contract.params import RealtimeTaskRequest
from tingwu_nb.session.recording import record_sync, run_sync

pytestmark = [pytest.mark.network, pytest.mark.slow]


@pytest.fixture()
def short_clip(tmp_path, sample_pcm16k, sample_truth):
    return sample_turns_wav(tmp_path / "turn1.wav", 1, sample_pcm16k, sample_truth)


def test_record_sync_without_a_loop_uses_the_embedded_emulator(short_clip, tmp_path, monkeypatch):
    """From plain sync code, record_sync runs the whole record against the embedded emulator."""
    for name in ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "TINGWU_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    session = record_sync(short_clip, RealtimeTaskRequest.create(output_level=1), speed=math.inf,
                          out_dir=tmp_path / "s", poll_interval_s=0.2)
    assert session.status == "COMPLETED"
    assert "weekly project meeting" in " ".join(session.sentences()["text"]).lower()


async def test_run_sync_works_inside_a_running_loop():
    """Inside a running loop (a Jupyter kernel), run_sync still completes a coroutine."""
    async def answer() -> int:
        await asyncio.sleep(0)
        return 42

    assert run_sync(answer()) == 42
