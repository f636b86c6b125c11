"""Lossless reconnection: socket drops injected by the emulator, one continuous timeline.

The emulator drops the WebSocket at chosen points of the record's audio (``FaultPlan``); the
client (``ResilientStream`` under ``record()``) reconnects to the same join URL, replays the
audio after the last finalised sentence and stitches the events. The sentences must be exactly
those of a clean run, each once, in order, with the same times; every drop is a row of the
session's gaps table.
"""

from __future__ import annotations

import random

import pytest

from tests.conftest import sample_turns_wav
from tingwu_nb.contract import events as ev
from tingwu_nb.contract.params import RealtimeTaskRequest
from tingwu_nb.emulator.app import Emulator
from tingwu_nb.emulator.contract import EmulatorConfig
from tingwu_nb.emulator.faults import FaultPlan
from tingwu_nb.errors import TransportError
from tingwu_nb.research.metrics import wer
from tingwu_nb.session.gaps import GAP_COLUMNS
from tingwu_nb.session.recording import ReconnectPolicy, record

pytestmark = [pytest.mark.network, pytest.mark.slow]


def finals(session) -> list[tuple[int, str, int, int]]:
    return [(e.index, e.result, e.begin_time_ms, e.time_ms) for e in session.events() if isinstance(e, ev.SentenceEnd)]


@pytest.fixture(scope="module")
def meeting(tmp_path_factory, sample_pcm16k, sample_truth):
    return sample_turns_wav(tmp_path_factory.mktemp("reconnect") / "meeting.wav", len(sample_truth["turns"]),
                            sample_pcm16k, sample_truth)


async def _record(engine, wav, out, plan: FaultPlan, fmt: str = "pcm", **kw):
    config = EmulatorConfig.generate(analysis_engine="extractive", faults=plan)
    with Emulator(config, engine=engine) as emu:
        async with emu.client() as client:
            session = await record(wav, RealtimeTaskRequest.create(output_level=2, format=fmt), client=client,
                                   speed="max", out_dir=out, **kw)
        drops = emu.store.get(session.meta["task_id"]).faults.drops
    return session, drops


@pytest.mark.parametrize("fmt", ["pcm", "opus"])
async def test_ten_random_drops_give_exactly_the_sentences_of_a_clean_run(engine, meeting, tmp_path, fmt):
    clean, drops = await _record(engine, meeting, tmp_path / "clean", FaultPlan(), fmt)
    assert drops == 0 and clean.gaps().empty
    rng = random.Random(7)
    points = sorted(round(rng.uniform(1.0, 52.0), 2) for _ in range(10))
    faulty, drops = await _record(engine, meeting, tmp_path / "faulty", FaultPlan(drop_at_audio_s=points), fmt)
    gaps = faulty.gaps()
    print(f"\n{fmt}: drops at {points}: {drops} drops, {len(gaps)} reconnects, replayed "
          f"{gaps['replayed_s'].sum():.1f} s, reconnect {gaps['reconnect_s'].median():.2f} s median")
    print(gaps[["audio_sent_ms", "resume_ms", "replayed_s", "attempts", "open_sentence"]].to_string())
    assert drops >= 5 and len(gaps) == drops  # points closer than a replay merge; each drop was survived
    assert list(gaps.columns) == [*GAP_COLUMNS, "sentences_affected"] and (gaps["lost_s"] == 0).all()
    final_spans = {i: (b, e) for i, _, b, e in finals(faulty)}
    for row in gaps.itertuples():  # the sentences recognised again from the replayed audio
        assert all(final_spans[i][1] > row.resume_ms and final_spans[i][0] < row.audio_sent_ms
                   for i in row.sentences_affected)
        if row.open_sentence is not None and row.open_sentence == row.open_sentence and row.open_sentence in final_spans:
            assert row.open_sentence in row.sentences_affected
    assert faulty.meta["status"] == "COMPLETED" and faulty.meta["reconnects"] == drops
    got, want = finals(faulty), finals(clean)
    if fmt == "pcm":  # the replay is the same samples: exactly the same sentences, indexes and times
        assert got == want
        assert faulty.sentences()["text"].tolist() == clean.sentences()["text"].tolist()  # the result file too
    else:  # a lossy stream is encoded afresh from the resume point: equivalent audio, not the same bits
        assert [i for i, *_ in got] == [i for i, *_ in want]  # none missing, none twice
        assert all(abs(a[2] - b[2]) <= 100 and abs(a[3] - b[3]) <= 100 for a, b in zip(got, want))
        # a word or two may differ (3-6 % measured): the decoded samples are not identical after the resume
        assert wer(" ".join(t for _, t, _, _ in want), " ".join(t for _, t, _, _ in got)) <= 0.10
        assert len(faulty.sentences()) == len(clean.sentences())
    # the audio on disk is the original stream once (replays are not written twice)
    assert faulty.frames()["end_ms"].is_monotonic_increasing
    assert faulty.frames()["end_ms"].iloc[-1] == clean.frames()["end_ms"].iloc[-1]


async def test_a_drop_after_stop_is_replayed_and_completed(engine, meeting, tmp_path, sample_truth):
    end = sample_truth["turns"][-1]["end_s"]
    seen = []
    faulty, drops = await _record(engine, meeting, tmp_path, FaultPlan(drop_at_audio_s=(end + 0.4,)),
                                  on_progress=lambda kind, value: seen.append(value) if kind == "gap" else None)
    assert drops == 1 and len(faulty.gaps()) == 1 and faulty.meta["status"] == "COMPLETED"
    assert len(seen) == 1 and seen[0].replayed_s == faulty.gaps()["replayed_s"].iloc[0]  # the live view hears it
    assert len(finals(faulty)) == len(sample_truth["turns"])


async def test_without_reconnect_a_drop_is_a_clear_error_and_the_task_is_stopped(engine, meeting, tmp_path):
    with pytest.raises(TransportError, match="closed|failed") as info:
        await _record(engine, meeting, tmp_path, FaultPlan(drop_at_audio_s=(5.0,)),
                      reconnect=ReconnectPolicy(enabled=False))
    from tingwu_nb.session.recording import Session

    session = Session(info.value.session_dir)
    assert session.meta["status"] == "stream_failed" and session.meta["error"]["type"] == "TransportError"
    assert "task_stopped" in session.meta["phases"] and session.gaps().empty
    # what arrived before the drop is kept, and the task's results were still collected
    assert (session.directory / "events.jsonl").stat().st_size > 0 and "Transcription" in session.meta["results"]


async def test_drops_with_delayed_and_reordered_events_still_give_the_clean_run(engine, meeting, tmp_path):
    """Drops combined with late and swapped events and refused handshakes: the same timeline."""
    clean, _ = await _record(engine, meeting, tmp_path / "clean", FaultPlan())
    plan = FaultPlan(drop_at_audio_s=(8.0, 21.5, 37.0), event_delay_s=0.3, reorder_events=0.5,
                     refuse_handshake_first=2, seed=3)
    faulty, drops = await _record(engine, meeting, tmp_path / "faulty", plan)
    gaps = faulty.gaps()
    assert drops == 3 and len(gaps) == 3 and faulty.meta["status"] == "COMPLETED"
    assert sorted(finals(faulty)) == finals(clean)  # arrival order may differ; the sentences may not
    assert faulty.sentences()["text"].tolist() == clean.sentences()["text"].tolist()


async def test_a_service_that_restarts_times_on_a_new_connection_is_rebased(engine, meeting, tmp_path):
    """ContractChoices(time_continues_across_reconnect=False): each connection's times start at 0
    again; the client's stitcher (time_base="auto") puts them back on the stream's timeline."""
    from tingwu_nb.emulator.contract import ContractChoices

    clean, _ = await _record(engine, meeting, tmp_path / "clean", FaultPlan())
    choices = ContractChoices(time_continues_across_reconnect=False)
    config = EmulatorConfig.generate(analysis_engine="extractive", faults=FaultPlan(drop_at_audio_s=(12.0, 30.0)),
                                     choices=choices)
    with Emulator(config, engine=engine) as emu:
        async with emu.client() as client:
            faulty = await record(meeting, RealtimeTaskRequest.create(output_level=2), client=client, speed="max",
                                  out_dir=tmp_path / "faulty")
    assert len(faulty.gaps()) == 2
    got, want = finals(faulty), finals(clean)
    assert [(i, t) for i, t, _, _ in got] == [(i, t) for i, t, _, _ in want]
    assert all(abs(a[2] - b[2]) <= 40 and abs(a[3] - b[3]) <= 40 for a, b in zip(got, want))


async def test_ctrl_c_while_reconnecting_stops_the_task(engine, meeting, tmp_path):
    """Cancelled during the backoff of a reconnect that keeps being refused: the record ends
    'cancelled' and the paid task is stopped."""
    import asyncio

    from tingwu_nb.session.recording import Session

    # every connection dropped after 0.5 s of audio on it, so a reconnect that slips in before the
    # refusals are injected is dropped again, and the next attempts meet the refusals
    config = EmulatorConfig.generate(analysis_engine="extractive", faults=FaultPlan(drop_after_s=0.5))
    with Emulator(config, engine=engine) as emu:
        async with emu.client() as client:
            job = asyncio.create_task(record(meeting, RealtimeTaskRequest.create(output_level=2), client=client,
                                             speed="max", out_dir=tmp_path,
                                             reconnect=ReconnectPolicy(max_attempts=50, base_delay_s=0.2)))
            while not any(t.faults is not None and t.faults.drops for t in emu.store) and not job.done():
                await asyncio.sleep(0.01)
            task = next(iter(emu.store))
            emu.inject(task.task_id, FaultPlan(refuse_handshake_first=1000))  # every reconnect refused now
            await asyncio.sleep(1.5)  # inside the reconnect backoff
            assert not job.done()
            job.cancel()
            with pytest.raises(asyncio.CancelledError) as info:
                await job
            assert task.stopped_at is not None and not task.stream_active
            assert task.faults.handshakes_refused >= 2
    session = Session(info.value.session_dir)
    assert session.meta["status"] == "cancelled"
    assert session.meta["cleanup"]["task_stop"] == "stopped"


async def test_a_drop_right_after_a_cut_final_resumes_inside_speech(engine, tmp_path):
    """A sentence longer than the recogniser's limit is cut while speech goes on; a drop just
    after such a cut resumes with the voice detector in speech, not in silence. The resumed
    connection must still end every sentence where the unbroken stream did."""
    from tests.conftest import espeak_wav, requires

    if requires("espeak-ng").mark.args[0]:
        pytest.skip("espeak-ng is not installed (apt install espeak-ng)")
    words = ("the committee reviewed every line of the budget and the plan for the new office and the "
             "schedule for hiring and the training of the support team and the travel costs for the spring "
             "and the results of the survey and the risks of the launch and the steps for the next quarter "
             "and the list of open questions for the board and the notes of the last review")
    wav = espeak_wav(tmp_path, "en", words + " " + words, name="run-on")
    clean, _ = await _record(engine, wav, tmp_path / "clean", FaultPlan())
    want = finals(clean)
    cuts = [end for (_, _, _, end), (_, _, begin, _) in zip(want, want[1:]) if begin - end < 300]
    print(f"\nclean sentences (ms): {[(b, e) for _, _, b, e in want]}; cut at {cuts}")
    assert cuts, "the run-on speech was never cut: the test would not exercise a drop inside speech"
    faulty, drops = await _record(engine, wav, tmp_path / "faulty",
                                  FaultPlan(drop_at_audio_s=[c / 1000 + 0.25 for c in cuts]))
    gaps = faulty.gaps()
    print(gaps[["audio_sent_ms", "resume_ms", "replayed_s", "open_sentence"]].to_string())
    assert drops == len(cuts) and len(gaps) == drops and (gaps["lost_s"] == 0).all()
    # a resume point is the end of the last final DELIVERED before the drop: the cut itself, or
    # (when its final was still being decoded) an earlier one, itself a cut after the first
    assert set(gaps["resume_ms"]) & set(cuts), "no connection resumed inside speech"
    assert finals(faulty) == want
