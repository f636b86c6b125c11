"""A recognition error inside the emulator ends the stream the protocol's way, never silently.

Real parts only: the emulator over loopback with a real ``SpeechEngine`` whose model directory
holds no model, so the first decode raises ``ModelError`` on a decode thread.
"""

from __future__ import annotations

import pytest

from tests.test_nls_sdk import ErrorLog
from tingwu_nb.audio import paced, stream_frames
from tingwu_nb.emulator.app import Emulator
from tingwu_nb.emulator.engine import EngineConfig, SpeechEngine
from tingwu_nb.errors import TaskFailedError
from tingwu_nb.pacing import MAX_SPEED
from tingwu_nb.params import RealtimeTaskRequest
from tingwu_nb.stream import RealtimeStream

pytestmark = pytest.mark.network


async def test_a_failing_decode_sends_taskfailed_with_its_cause(sample_pcm16k, tmp_path):
    """TaskFailed 50000000 naming the cause reaches the client; the server logs no traceback."""
    pytest.importorskip("faster_whisper")
    broken = SpeechEngine(EngineConfig(model_dir=tmp_path))  # an empty directory: no model to load
    frames = stream_frames(sample_pcm16k[: 8 * 16000], 16000, "pcm")
    with ErrorLog("uvicorn", "asyncio") as log, Emulator(engine=broken) as emu:
        async with emu.client() as client:
            task = await client.create_realtime_task(RealtimeTaskRequest.create(output_level=2))
            async with RealtimeStream(task.meeting_join_url) as stream:
                with pytest.raises(TaskFailedError) as caught:
                    async for frame in paced(frames, speed=MAX_SPEED):
                        await stream.send(frame)
                    await stream.stop()
            await client.stop_realtime_task(task.task_id)
    assert caught.value.status == 50000000
    assert "SERVER_ERROR" in caught.value.status_text and "lacks" in caught.value.status_text
    assert not log.records, log.text()
