"""Sentence latency and partial stability: a hand-built event list with known stamps, and a
short session recorded live through the emulator."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from tests.conftest import sample_turns_wav
from tingwu_nb.contract import events as ev
from tingwu_nb.contract.params import RealtimeTaskRequest
from tingwu_nb.research.latency import (
    SENTENCE_LATENCY_COLUMNS,
    latency_summary,
    prefix_edit_distance,
    result_ready_times,
    sentence_latency,
    session_latency,
    stop_times,
)
from tingwu_nb.session.recording import record


def at(event: ev.Message, t: float) -> ev.Message:
    return replace(event, received_at=t)


def test_prefix_edit_distance_ignores_growth_and_counts_rewrites():
    assert prefix_edit_distance("今天", "今天天气") == 0
    assert prefix_edit_distance("今天天汽", "今天天气很") == 1
    assert prefix_edit_distance("hello word", "hello world again") == 1
    assert prefix_edit_distance("abc", "") == 3
    assert prefix_edit_distance("", "xyz") == 0


def test_hand_built_events_with_known_stamps():
    # frames of 100 ms sent at 10.0, 10.1, ... (monotonic): frame k ends at (k+1)*100 ms
    frames = [((k + 1) * 100, 10.0 + 0.1 * k) for k in range(30)]
    events = [
        at(ev.TranscriptionStarted(), 9.9),
        at(ev.SentenceBegin(index=1, time_ms=0), 10.2),
        at(ev.TranscriptionResultChanged(index=1, time_ms=500, result="今天"), 10.6),
        at(ev.TranscriptionResultChanged(index=1, time_ms=900, result="今天天汽"), 11.0),
        at(ev.TranscriptionResultChanged(index=1, time_ms=1200, result="今天天气很"), 11.3),
        at(ev.SentenceEnd(index=1, time_ms=1500, begin_time_ms=100, result="今天天气很好。"), 11.9),
        at(ev.SentenceBegin(index=2, time_ms=1600), 11.95),
        at(ev.SentenceEnd(index=2, time_ms=2000, begin_time_ms=1600, result="走吧"), 12.4),
        at(ev.SentenceBegin(index=3, time_ms=2150), 12.5),
        at(ev.TranscriptionResultChanged(index=3, time_ms=2400, result="好"), 12.55),
        at(ev.SentenceEnd(index=3, time_ms=2600, begin_time_ms=2150, result="好的"), 12.9),
        at(ev.TranscriptionCompleted(), 13.5),
    ]
    frame = sentence_latency(events, frames, condition_id="c1")
    assert list(frame.columns) == list(SENTENCE_LATENCY_COLUMNS)
    one, two, three = frame.to_dict("records")
    assert one["condition_id"] == "c1" and one["sentence_index"] == 1
    assert (one["start_s"], one["end_s"]) == (0.1, 1.5)
    assert one["first_partial_s"] == pytest.approx(0.6)  # 10.6 - first frame sent at 10.0
    assert one["final_s"] == pytest.approx(1.9)
    assert one["latency_s"] == pytest.approx(11.9 - 11.4)  # frame ending at 1500 ms was sent at 11.4
    assert (one["revisions"], one["chars_changed"]) == (3, 1)  # 汽 -> 气 rewritten once
    # lag after start of speech: speech starts at 100 ms, held by the frame [100, 200) ms sent at 10.1
    assert one["first_partial_lag_s"] == pytest.approx(10.6 - 10.1)
    assert math.isnan(two["first_partial_s"]) and two["revisions"] == 0 and two["chars_changed"] == 0
    assert math.isnan(two["first_partial_lag_s"])  # no partial, no lag
    assert two["latency_s"] == pytest.approx(12.4 - 11.9)
    # start 2150 ms is inside the frame [2100, 2200) ms, sent at 10.0 + 0.1 * 21 = 12.1
    assert three["first_partial_lag_s"] == pytest.approx(12.55 - 12.1)
    assert three["latency_s"] == pytest.approx(12.9 - 12.5)  # frame ending at 2600 ms sent at 12.5
    summary = latency_summary(frame)
    assert summary["latency_final_median_s"] == pytest.approx(0.5)
    assert summary["latency_first_partial_median_s"] == pytest.approx((0.5 + 0.45) / 2)  # NaN skipped
    assert summary["sentences"] == 3 and summary["chars_changed_total"] == 1
    # without frame stamps: times from the first stamped event, no lag after speech
    bare = sentence_latency(events)
    assert bare.loc[0, "final_s"] == pytest.approx(2.0) and bare["latency_s"].isna().all()
    assert bare["first_partial_lag_s"].isna().all()
    assert math.isnan(latency_summary(bare)["latency_first_partial_median_s"])


@pytest.mark.network
@pytest.mark.slow
async def test_latency_of_a_session_recorded_through_the_emulator(emulator, sample_pcm16k, sample_truth, tmp_path):
    wav = sample_turns_wav(tmp_path / "one.wav", 2, sample_pcm16k, sample_truth)
    request = RealtimeTaskRequest.create(output_level=2)
    async with emulator.client() as client:
        session = await record(wav, request, client=client, speed=4.0, out_dir=tmp_path / "s", poll_interval_s=0.2)
    events = session.events()
    frame = session_latency(session, condition_id="en-16k")
    ends = [e for e in events if isinstance(e, ev.SentenceEnd)]
    assert len(frame) == len(ends) >= 1
    for row, end in zip(frame.itertuples(), ends):
        partials = [e for e in events if isinstance(e, ev.TranscriptionResultChanged) and e.index == end.index]
        assert row.revisions == len(partials)
        assert row.final_s > 0 and row.latency_s >= 0
        if partials:
            assert row.first_partial_s <= row.final_s and math.isfinite(row.first_partial_lag_s)
    assert frame["revisions"].sum() > 0  # OutputLevel=2: the emulator sent interim results
    # same lag definition as the session's own live table
    live = session.live_sentences()
    assert frame["latency_s"].tolist() == pytest.approx(live["latency_s"].tolist())
    stops = stop_times(session)
    assert stops["stop_to_completed_s"] >= 0
    assert stops["stop_to_task_finished_s"] >= stops["stop_to_task_stopped_s"] >= 0
    assert stops["stop_to_results_downloaded_s"] >= stops["stop_to_task_finished_s"]
    print(f"\nlatency {latency_summary(frame)} stops {stops}")


@pytest.mark.network
@pytest.mark.slow
async def test_each_result_is_stamped_when_it_first_appears(engine, sample_pcm16k, sample_truth, tmp_path):
    """stop -> ready per result file: Transcription first, every requested result stamped, none
    after the task finished, the poll interval kept as the resolution."""
    from tingwu_nb.emulator.app import Emulator
    from tingwu_nb.emulator.contract import EmulatorConfig

    wav = sample_turns_wav(tmp_path / "three.wav", 3, sample_pcm16k, sample_truth)
    request = RealtimeTaskRequest.create(output_level=1, summarization=True, chapters=True,
                                         meeting_assistance=True, text_polish=True)
    with Emulator(EmulatorConfig.generate(analysis_engine="extractive"), engine=engine) as emu:
        async with emu.client() as client:
            session = await record(wav, request, client=client, speed=4.0, out_dir=tmp_path / "s",
                                   poll_interval_s=0.1)
    ready = result_ready_times(session, condition_id="c1")
    stops = stop_times(session)
    print(f"\n{ready.to_string()}\n{stops}")
    assert set(ready["result"]) == set(session.meta["results"])  # every downloaded file was stamped
    assert {"Transcription", "Summarization", "AutoChapters", "MeetingAssistance", "TextPolish"} <= set(ready["result"])
    assert (ready["condition_id"] == "c1").all() and (ready["resolution_s"] == 0.1).all()
    assert ready["stop_to_ready_s"].is_monotonic_increasing and (ready["stop_to_ready_s"] >= 0).all()
    assert ready["stop_to_ready_s"].max() <= stops["stop_to_task_finished_s"]
    assert ready.set_index("result").loc["Transcription", "stop_to_ready_s"] == ready["stop_to_ready_s"].min()
