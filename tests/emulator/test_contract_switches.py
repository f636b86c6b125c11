"""Each UNCONFIRMED realtime choice of the emulator is switchable, and the switch takes effect."""

from __future__ import annotations

import math

import pytest

from tests.conftest import sample_turns_wav
from tingwu_nb.client.audio import load_pcm, stream_frames
from tingwu_nb.client.stream import RealtimeStream, stream_frames_to
from tingwu_nb.contract import events as ev
from tingwu_nb.contract.params import RealtimeTaskRequest
from tingwu_nb.emulator.app import Emulator
from tingwu_nb.emulator.contract import ContractChoices, EmulatorConfig
from tingwu_nb.errors import TaskFailedError

pytestmark = [pytest.mark.network, pytest.mark.slow]


@pytest.fixture(scope="module")
def frames2(tmp_path_factory, sample_pcm16k, sample_truth):
    """Two turns of the sample meeting as 100 ms PCM frames."""
    wav = sample_turns_wav(tmp_path_factory.mktemp("c") / "two.wav", 2, sample_pcm16k, sample_truth)
    return stream_frames(load_pcm(wav, sample_rate=16000), 16000, "pcm")


async def stream_once(emu: Emulator, frames, *, level: int = 1, speed: float = math.inf,
                      task=None, client=None) -> list[ev.Event]:
    """One stream on a new (or given) task; returns the events."""
    task = task or await client.create_realtime_task(RealtimeTaskRequest.create(output_level=level))
    async with RealtimeStream(task.meeting_join_url) as stream:
        await stream_frames_to(stream, frames, speed=speed)
        await stream.stop()
    return stream.events


@pytest.mark.parametrize("choices, check", [
    (ContractChoices(sentence_index_base=1),
     lambda es: [e.index for e in es if isinstance(e, ev.SentenceEnd)] == [1, 2]),
    (ContractChoices(sentence_begin_at_level1=False),
     lambda es: not any(isinstance(e, ev.SentenceBegin) for e in es)),
    (ContractChoices(emit_begin_time=False, emit_confidence=False),
     lambda es: all(e.begin_time_ms is None and e.confidence is None for e in es if isinstance(e, ev.SentenceEnd))),
    (ContractChoices(),
     lambda es: [e.index for e in es if isinstance(e, ev.SentenceEnd)] == [0, 1]
     and any(isinstance(e, ev.SentenceBegin) for e in es)
     and all(e.begin_time_ms is not None and e.confidence is not None for e in es if isinstance(e, ev.SentenceEnd))),
], ids=["index-base-1", "no-begin-at-level-1", "no-nls-extras", "defaults"])
async def test_event_shape_switches(engine, frames2, choices, check):
    """Index base, SentenceBegin at level 1 and the NLS extras follow ContractChoices."""
    async with Emulator(EmulatorConfig.generate(choices=choices), engine=engine) as emu, emu.client() as client:
        events = await stream_once(emu, frames2, client=client)
    assert check(events)


async def test_sequential_reconnect_continues_index_and_time(engine, frames2):
    """A second stream on the same join URL continues sentence indexes and times (the default)."""
    async with Emulator(engine=engine) as emu, emu.client() as client:
        task = await client.create_realtime_task(RealtimeTaskRequest.create(output_level=1))
        first = await stream_once(emu, frames2, task=task)
        second = await stream_once(emu, frames2, task=task)
    ends1 = [e for e in first if isinstance(e, ev.SentenceEnd)]
    ends2 = [e for e in second if isinstance(e, ev.SentenceEnd)]
    assert [e.index for e in ends2] == [len(ends1), len(ends1) + 1]
    assert ends2[0].begin_time_ms > ends1[-1].time_ms


async def test_unknown_join_token_can_answer_with_task_failed(engine):
    """unknown_mc="taskfailed": the upgrade succeeds and TaskFailed 40000001 follows."""
    config = EmulatorConfig.generate(choices=ContractChoices(unknown_mc="taskfailed"))
    async with Emulator(config, engine=engine) as emu:
        stream = RealtimeStream(emu.endpoint.replace("http", "ws") + "/api/ws/v1?mc=unknown")
        with pytest.raises(TaskFailedError) as caught:
            await stream.open()
        await stream.close()
    assert caught.value.status == 40000001


async def test_max_speed_factor_refuses_audio_sent_too_fast(engine, frames2):
    """max_speed_factor=2: unpaced audio fails the stream with a CLIENT_ERROR naming the limit."""
    config = EmulatorConfig.generate(choices=ContractChoices(max_speed_factor=2.0))
    async with Emulator(config, engine=engine) as emu, emu.client() as client:
        with pytest.raises(TaskFailedError) as caught:
            await stream_once(emu, frames2, client=client)
    assert caught.value.status == 40000000 and "2x real time" in caught.value.status_text
