"""A recognition error inside the emulator ends the stream the protocol's way, never silently.

Real parts only: the emulator over loopback with a real ``SpeechEngine`` whose model directory
holds no model, so the first decode raises ``ModelError`` on a decode thread.
"""

from __future__ import annotations

import pytest

from tests.test_long_recording import stream_until_failed
from tests.test_nls_sdk import ErrorLog
from tingwu_nb.client.pacing import MAX_SPEED
from tingwu_nb.emulator.app import Emulator
from tingwu_nb.emulator.engine.engine import EngineConfig, SpeechEngine

pytestmark = pytest.mark.network


async def test_a_failing_decode_sends_taskfailed_with_its_cause(sample_pcm16k, tmp_path):
    """TaskFailed 50000000 naming the cause reaches the client; the server logs no traceback."""
    pytest.importorskip("faster_whisper")
    broken = SpeechEngine(EngineConfig(model_dir=tmp_path))  # an empty directory: no model to load
    with ErrorLog("uvicorn", "asyncio") as log, Emulator(engine=broken) as emu:
        failed = await stream_until_failed(emu, sample_pcm16k[: 8 * 16000], speed=MAX_SPEED, output_level=2)
    assert failed.status == 50000000
    assert "SERVER_ERROR" in failed.status_text and "lacks" in failed.status_text
    assert not log.records, log.text()
