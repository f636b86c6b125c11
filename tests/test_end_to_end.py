"""Loopback tier: the whole lifecycle against the real emulator (uvicorn, httpx, websockets, ASR)."""

from __future__ import annotations

import asyncio
import itertools
import math
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import requires, sample_turns_wav, wer, write_wav
from tingwu_nb.client.audio import load_pcm
from tingwu_nb.client.stream import RealtimeStream
from tingwu_nb.contract import events as ev
from tingwu_nb.contract.params import RealtimeTaskRequest
from tingwu_nb.emulator.app import Emulator
from tingwu_nb.emulator.contract import ContractChoices, EmulatorConfig
from tingwu_nb.errors import AudioError, ParameterError, TaskFailedError, TransportError
from tingwu_nb.session.recording import Session, record

pytestmark = [pytest.mark.network, pytest.mark.slow]


def truth_text(truth: dict, turns: slice = slice(None)) -> str:
    return " ".join(t["text"] for t in truth["turns"][turns])


async def run(emu: Emulator, source, tmp_path: Path, **create) -> Session:
    request = RealtimeTaskRequest.create(**create)
    async with emu.client() as client:
        return await record(source, request, client=client, speed=math.inf, out_dir=tmp_path, poll_interval_s=0.2)


@pytest.fixture(scope="module")
def clip3(tmp_path_factory, sample_pcm16k, sample_truth) -> Path:
    """The first three turns of the sample meeting (three speakers), as a WAV file."""
    return sample_turns_wav(tmp_path_factory.mktemp("clip") / "clip3.wav", 3, sample_pcm16k, sample_truth)


def speaker_accuracy(sentences, truth: dict) -> float:
    """Share of sentences whose speaker matches the truth turn they overlap, best label mapping."""
    labels = sorted(set(sentences["speaker_id"]))
    truth_of = []
    for row in sentences.itertuples():
        mid = (row.start_s + row.end_s) / 2
        turn = min(truth["turns"], key=lambda t: abs((t["start_s"] + t["end_s"]) / 2 - mid))
        truth_of.append(turn["speaker"])
    best = 0
    for perm in itertools.permutations(sorted(set(truth_of)), len(labels)):
        mapping = dict(zip(labels, perm))
        best = max(best, sum(mapping[s] == t for s, t in zip(sentences["speaker_id"], truth_of)))
    return best / len(sentences)


async def test_sample_meeting_at_16k_is_accurate_and_speakers_are_separated(emulator, sample_path, sample_truth,
                                                                              tmp_path):
    """16 kHz PCM: WER ≤ 15 % with the default English model; three speakers told apart."""
    session = await run(emulator, sample_path, tmp_path, diarization=True, mp3=True)
    sentences = session.sentences()
    assert session.status == "COMPLETED"
    assert wer(truth_text(sample_truth), " ".join(sentences["text"])) <= 0.15
    assert sentences["speaker_id"].nunique() == 3
    assert speaker_accuracy(sentences, sample_truth) >= 0.9
    assert speaker_accuracy(session.live_sentences(), sample_truth) >= 0.9  # provisional live labels
    assert len(sentences) == len(sample_truth["turns"])
    mp3 = next((session.directory / "results").glob("*.mp3"))
    decoded = load_pcm(mp3, sample_rate=16000)
    assert abs(len(decoded) / 16000 - sample_truth["duration_s"]) < 0.5
    assert (session.directory / "sentences.parquet").exists() and (session.directory / "words.parquet").exists()
    doc = session.transcription["Transcription"]  # rest-api §4.1 shape
    words = [w for p in doc["Paragraphs"] for w in p["Words"]]
    assert [w["Id"] for w in words] == list(range(10, 10 * len(words) + 1, 10))
    assert sorted({w["SentenceId"] for w in words}) == list(range(1, len(sentences) + 1))
    assert len(doc["AudioSegments"]) == len(sentences) and doc["AudioInfo"]["Duration"] > 50_000
    assert all(p["SpeakerId"] in {"1", "2", "3"} for p in doc["Paragraphs"])


async def test_sample_meeting_at_8k(emulator, sample_path, sample_truth, tmp_path):
    """8 kHz PCM works end to end; telephone-band accuracy is lower but bounded."""
    session = await run(emulator, sample_path, tmp_path, sample_rate=8000)
    text = " ".join(session.sentences()["text"])
    assert wer(truth_text(sample_truth), text) <= 0.35  # measured 24–27 % on espeak voices with tiny.en


@pytest.mark.parametrize("rate", [16000, 8000])
@pytest.mark.parametrize("fmt", ["pcm", "opus", "aac", "mp3", pytest.param("speex", marks=requires("speexenc"))])
async def test_every_stream_format_round_trips(emulator, clip3, sample_truth, tmp_path, fmt, rate):
    """Each of the five formats is encoded, streamed, decoded by the emulator and recognised."""
    session = await run(emulator, clip3, tmp_path, format=fmt, sample_rate=rate)
    assert session.status == "COMPLETED"
    text = " ".join(session.sentences()["text"])
    assert wer(truth_text(sample_truth, slice(0, 3)), text) <= (0.2 if rate == 16000 else 0.35)
    sent = (session.directory / f"sent.{fmt}").read_bytes()
    assert len(sent) == session.frames()["bytes"].sum() > 0


async def test_stop_loses_no_sentence(emulator, engine, sample_pcm16k, sample_truth, tmp_path):
    """Audio cut mid-sentence: the open sentence is flushed on Stop, like an offline decode."""
    from tingwu_nb.emulator.engine.recognizer import StreamingRecognizer

    cut = int((sample_truth["turns"][2]["start_s"] + 2.0) * 16000)  # two seconds into turn 3
    pcm = sample_pcm16k[:cut]
    clip = write_wav(tmp_path / "cut.wav", pcm, 16000)
    session = await run(emulator, clip, tmp_path, output_level=1)
    live = [e.result for e in session.events() if isinstance(e, ev.SentenceEnd)]

    offline = StreamingRecognizer(engine, language="en", sample_rate=16000)
    finals = [o for i in range(0, len(pcm), 1600) for o in offline.feed(pcm[i:i + 1600])]
    finals += offline.finish()
    expected = [o.text for o in finals if type(o).__name__ == "Final"]

    assert len(live) == len(expected) == 3
    assert wer(" ".join(expected), " ".join(live)) <= 0.05
    assert list(session.sentences()["text"]) == [" ".join(t.split()) for t in live]


async def test_events_are_stamped_and_interims_precede_finals(emulator, clip3, tmp_path):
    """OutputLevel 2: every event carries receive and audio times; interims come before their final."""
    seen: list[ev.Event] = []
    request = RealtimeTaskRequest.create(output_level=2)
    async with emulator.client() as client:
        await record(clip3, request, client=client, speed=8.0, out_dir=tmp_path, on_event=seen.append)
    assert isinstance(seen[0], ev.TranscriptionStarted) and isinstance(seen[-1], ev.TranscriptionCompleted)
    assert all(e.received_at is not None and e.received_wall is not None for e in seen)
    sent = [e.audio_sent_ms for e in seen]
    assert sent == sorted(sent) and sent[-1] > 0
    finals = {e.index: n for n, e in enumerate(seen) if isinstance(e, ev.SentenceEnd)}
    interims = [(e.index, n) for n, e in enumerate(seen) if isinstance(e, ev.TranscriptionResultChanged)]
    assert interims, "OutputLevel 2 must produce interim results"
    assert all(n < finals[index] for index, n in interims)


async def test_output_level_1_sends_no_interims(emulator, clip3, tmp_path):
    """OutputLevel 1: SentenceBegin/SentenceEnd only, no TranscriptionResultChanged."""
    session = await run(emulator, clip3, tmp_path, output_level=1)
    names = {e.name for e in session.events()}
    assert "SentenceEnd" in names and "TranscriptionResultChanged" not in names


async def test_events_as_async_iterator(emulator, clip3):
    """A RealtimeStream yields live events to `async for` while audio is being sent."""
    from tingwu_nb.client.audio import stream_frames
    from tingwu_nb.client.stream import stream_frames_to

    frames = stream_frames(load_pcm(clip3, sample_rate=16000), 16000, "pcm")
    async with emulator.client() as client:
        task = await client.create_realtime_task(RealtimeTaskRequest.create(output_level=1))
        async with RealtimeStream(task.meeting_join_url) as stream:
            async def consume() -> list[str]:
                return [e.name async for e in stream]

            consumer = asyncio.create_task(consume())
            await stream_frames_to(stream, frames, speed=math.inf)
            await stream.stop()
        names = await consumer
        await client.stop_realtime_task(task.task_id)
    assert names[0] == "TranscriptionStarted" and names[-1] == "TranscriptionCompleted"
    assert names.count("SentenceEnd") == 3


async def test_idle_timeout_fails_the_stream(engine):
    """Nothing sent for longer than the idle timeout: TaskFailed 40000004 naming the last directive."""
    config = EmulatorConfig.generate(choices=ContractChoices(idle_timeout_s=0.5))
    async with Emulator(config, engine=engine) as emu, emu.client() as client:
        task = await client.create_realtime_task(RealtimeTaskRequest.create())
        stream = RealtimeStream(task.meeting_join_url)
        await stream.open()
        await asyncio.sleep(1.5)
        with pytest.raises(TaskFailedError) as caught:
            await stream.stop()
        await stream.close()
    assert caught.value.status == 40000004
    assert "StartTranscription" in caught.value.status_text
    assert isinstance(stream.events[-1], ev.TaskFailed)


async def test_undecodable_audio_fails_with_status_and_the_task_is_stopped(emulator, tmp_path):
    """Bytes that are not the declared format: TaskFailed 40270003; the record is still stopped."""
    garbage = write_wav(tmp_path / "tone.wav", (np.sin(np.arange(32000) / 5) * 8000).astype(np.int16), 16000)
    request = RealtimeTaskRequest.create(format="opus")
    async with emulator.client() as client:
        task = await client.create_realtime_task(request)
        stream = RealtimeStream(task.meeting_join_url)
        await stream.open()
        with pytest.raises(TaskFailedError) as caught:
            await stream.send(garbage.read_bytes()[:4000])
            await stream.stop()
        await stream.close()
        stopped = await client.stop_realtime_task(task.task_id)
    assert caught.value.status == 40270003
    assert stopped.status == "ONGOING"


async def test_unknown_join_token_is_refused(emulator):
    """A join URL with an unknown `mc` capability is refused at the WebSocket upgrade."""
    with pytest.raises(TransportError):
        await RealtimeStream(emulator.endpoint.replace("http", "ws") + "/api/ws/v1?mc=nope").open()


@pytest.mark.parametrize("content, reason", [
    (b"", "empty"),
    (b"meeting notes, not audio\n" * 20, ""),
    (b"RIFF\x24\x00\x00\x00WAVEfmt ", ""),
])
async def test_bad_audio_is_refused_before_create_task(emulator, tmp_path, content, reason):
    """Empty, non-audio or truncated input raises AudioError and no task is created."""
    bad = tmp_path / "bad.wav"
    bad.write_bytes(content)
    before = len(emulator.store)
    with pytest.raises(AudioError) as caught:
        await run(emulator, bad, tmp_path)
    assert reason in str(caught.value)
    assert len(emulator.store) == before


async def test_invalid_parameters_are_refused_before_create_task(emulator, clip3, tmp_path):
    """Japanese at 8 kHz is refused with a readable message before any task exists."""
    before = len(emulator.store)
    with pytest.raises(ParameterError, match="8000 Hz is only available for cn and en"):
        await run(emulator, clip3, tmp_path, language="ja", sample_rate=8000)
    assert len(emulator.store) == before


async def test_no_secret_reaches_the_session_directory_or_a_repr(emulator, clip3, tmp_path):
    """Neither the AccessKey secret, the join token nor a URL signature is written or shown."""
    request = RealtimeTaskRequest.create(mp3=True, diarization=True)
    async with emulator.client() as client:
        session = await record(clip3, request, client=client, speed=math.inf, out_dir=tmp_path,
                               poll_interval_s=0.2)
        info = await client.get_task_info(session.task_id)
        reprs = [repr(client), repr(info), repr(session), repr(emulator.config), repr(emulator.credentials)]
    record_ = emulator.store.get(session.task_id)
    secrets = [emulator.credentials.access_key_secret, record_.join_token]
    secrets += [url.split("Signature=")[1] for url in info.result_urls.values()]
    for path in session.directory.rglob("*"):
        if path.is_file() and path.suffix not in (".mp3", ".pcm", ".parquet"):
            text = path.read_text(encoding="utf-8")
            assert not [s for s in secrets if s in text], path
    for text in reprs:
        assert not [s for s in secrets if s in text], text


async def test_start_payload_max_sentence_silence_is_honoured(emulator, clip3, tmp_path):
    """An NLS `max_sentence_silence` of 2 s joins turns separated by shorter pauses."""
    from tingwu_nb.client.stream import StreamOptions

    request = RealtimeTaskRequest.create(output_level=1)
    async with emulator.client() as client:
        session = await record(clip3, request, client=client, speed=math.inf, out_dir=tmp_path,
                               options=StreamOptions(payload={"max_sentence_silence": 2000}))
    assert len(session.sentences()) < 3


async def test_server_closes_the_socket_after_task_failed(emulator):
    """After TaskFailed the emulator closes the WebSocket itself, without waiting for the client."""
    import json

    import websockets

    from tingwu_nb.contract.protocol import ClientSession

    async with emulator.client() as client:
        task = await client.create_realtime_task(RealtimeTaskRequest.create(format="opus"))
        session = ClientSession()
        async with websockets.connect(task.meeting_join_url, proxy=None) as ws:
            session.start()
            for frame in session.data_to_send():
                await ws.send(frame)
            session.receive_text(await ws.recv())
            await ws.send(b"definitely not an Ogg stream" * 50)
            failed = json.loads(await asyncio.wait_for(ws.recv(), timeout=5))
            await asyncio.wait_for(ws.wait_closed(), timeout=3)  # the idle timeout would be 10 s
        await client.stop_realtime_task(task.task_id)
    assert failed["header"]["name"] == "TaskFailed"
