"""The live view, headless: sessions recorded through the emulator are replayed into it and its state asserted.

Widgets are built without a frontend (ipywidgets keeps their values); the recordings are real
(emulator over loopback, speech engine), the replay feeds their stamped frames and events in
receive order, as :func:`tingwu_nb.record` does live.
"""

from __future__ import annotations

import asyncio
import io
import math
import re

import pytest

import tingwu_nb
from tests.conftest import espeak_wav, requires, sample_turns_wav
from tingwu_nb.client.taskinfo import TaskInfo
from tingwu_nb.contract import events as ev
from tingwu_nb.contract.params import RealtimeTaskRequest
from tingwu_nb.notebook.live import LiveView, TextView, in_kernel
from tingwu_nb.notebook.live_state import LiveState, expected_results
from tingwu_nb.session.recording import record

pytest.importorskip("ipywidgets")
pytestmark = [pytest.mark.network, pytest.mark.slow]

JAPANESE = "みなさん、おはようございます。かいぎをはじめましょう。"  # kana: espeak cannot read kanji


@pytest.fixture(scope="module")
def clip3(tmp_path_factory, sample_pcm16k, sample_truth):
    return sample_turns_wav(tmp_path_factory.mktemp("clip") / "clip3.wav", 3, sample_pcm16k, sample_truth)


@pytest.fixture(scope="module")
def meeting(emulator, clip3, tmp_path_factory):
    """The first three turns of the sample meeting, recorded once with interims and speakers."""
    request = RealtimeTaskRequest.create(language="en", diarization=True, output_level=2)

    async def run():
        async with emulator.client() as client:
            return await record(clip3, request, client=client, speed=math.inf, out_dir=tmp_path_factory.mktemp("s"),
                                poll_interval_s=0.2)

    return asyncio.run(run())


def replay(view, session) -> list[tuple[ev.Event, str, int]]:
    """Feed ``session``'s frames and events in receive order; returns (event, interim html, rows) after each."""
    frames = session.frames()
    view.on_progress("audio", int(frames["end_ms"].max()))
    steps = [(m, 0, (e, m)) for e, m in zip(frames["end_ms"], frames["mono"])]
    steps += [(e.received_at, 1, e) for e in session.events()]
    seen = []
    for _, kind, item in sorted(steps, key=lambda s: (s[0], s[1])):
        if kind == 0:
            view.on_progress("frame", (int(item[0]), float(item[1])))
        else:
            view.on_event(item)
            view.flush()
            seen.append((item, view.interim.value, len(view.rows.children)))
    return seen


async def test_replayed_session_interims_turn_into_final_rows_with_latency_and_progress(meeting):
    view = LiveView(min_interval_s=0.01)
    seen = replay(view, meeting)
    ends = [e for e in meeting.events() if isinstance(e, ev.SentenceEnd)]
    assert len(ends) >= 3 and any(isinstance(e, ev.TranscriptionResultChanged) for e in meeting.events())
    finals = 0
    for event, interim_html, rows in seen:
        if isinstance(event, ev.TranscriptionResultChanged):
            assert "tingwu-interim" in view.interim._dom_classes
            assert event.result.split()[0] in interim_html  # greyed interim shows the unstable text
        if isinstance(event, ev.SentenceEnd):
            finals += 1
            assert interim_html == ""  # the final replaced the interim of its sentence
        assert rows == finals  # one row per final, appended as it arrives
    assert len(view.rows.children) == len(ends)
    assert all("tingwu-final" in row._dom_classes for row in view.rows.children)
    for row, end in zip(view.rows.children, ends):
        assert end.result.split()[-1] in row.value
    # latency: the same definition as Session.live_sentences()
    expected = meeting.live_sentences()["latency_s"].tolist()
    got = [row.latency_s for row in view.state.rows]
    assert got == pytest.approx(expected) and all(v > 0 for v in got)
    assert f"({got[0]:.2f} s)" in view.rows.children[0].value
    assert view.progress.value == 1.0 and view.state.heard_ms >= ends[-1].time_ms
    # speaker colours: one colour per speaker id, the same on every row of that speaker
    colours = {}
    for row, state_row in zip(view.rows.children, view.state.rows):
        colour = re.search(r"border-left:3px solid (#[0-9a-f]{6})", row.value).group(1)
        assert colours.setdefault(state_row.speaker_id, colour) == colour
    assert len(set(colours.values())) == len(colours) >= 2
    view.state.finished(meeting.status)
    view.flush()
    assert view.status.value.endswith("COMPLETED") and "tingwu-status" in view.status._dom_classes
    assert view.stop_button.description == "Stop" and view.stop_button.disabled
    assert "tingwu-live" in view.widget._dom_classes


@requires("espeak-ng")
@requires("sox")
async def test_translations_show_under_their_source_sentence(emulator, tmp_path):
    wav = espeak_wav(tmp_path, "ja", JAPANESE, name="ja")
    request = RealtimeTaskRequest.create(language="ja", translate_to=["en"], output_level=1)
    async with emulator.client() as client:
        session = await record(wav, request, client=client, speed=math.inf, out_dir=tmp_path, poll_interval_s=0.2)
    view = LiveView()
    view.hooks(request)
    replay(view, session)
    translated = {e.source_message_id: e.items[0].text for e in session.events() if isinstance(e, ev.ResultTranslated)}
    assert translated and len(view.state.rows) == len(translated)
    for row, widget in zip(view.state.rows, view.rows.children):
        assert row.translations == {"en": translated[row.message_id]}
        source_at = widget.value.index(row.text[:4])
        assert widget.value.index("↳") > source_at  # the translation sits under its source
    assert list(view.state.results) == ["Transcription", "Translation"]


def synthetic(n: int) -> list[ev.Event]:
    out: list[ev.Event] = []
    for i in range(1, n + 1):
        out.append(ev.TranscriptionResultChanged(index=i, time_ms=i * 1000 - 500, result=f"partial {i}"))
        out.append(ev.SentenceEnd(index=i, time_ms=i * 1000, begin_time_ms=i * 1000 - 900, result=f"sentence {i}",
                                  speaker_id=f"S{i % 3}", message_id=f"m{i}", received_at=i + 0.25))
        out.append(ev.ResultTranslated(source_message_id=f"m{i}", target_lang="cn",
                                       items=(ev.TranslatedItem(text=f"句子 {i}", index=i),)))
    return out


def test_thousands_of_sentences_keep_the_view_and_state_bounded():
    view, n = LiveView(max_rows=200), 5000
    view.on_progress("audio", n * 1000)
    for i, event in enumerate(synthetic(n)):
        if i % 3 == 0:
            view.on_progress("frame", (event.time_ms + 500, event.time_ms / 1000 + 0.5))
        view.on_event(event)
        if i % 500 == 0:
            view.flush()
    view.flush()
    assert len(view.rows.children) == 200 and len(view._rows) == 200
    assert view.state.finals == n and view.state.earlier == n - 200
    assert view.earlier.value == f"<i>… {n - 200} earlier sentences</i>"
    assert "sentence 4801" in view.rows.children[0].value and "句子 5000" in view.rows.children[-1].value
    assert len(view.state._by_message) == 200 and len(view.state._frames) <= 2
    assert view.state.latency_count == n and view.state.mean_latency_s == pytest.approx(0.25)
    assert view.progress.value == 1.0


async def test_updates_are_throttled_to_one_render_per_interval():
    """Thousands of events fed without yielding to the loop cause one render, not thousands."""
    view = LiveView(min_interval_s=0.05)
    before = view.renders
    for event in synthetic(1000):
        view.on_event(event)
    assert view.renders == before  # nothing rendered synchronously
    await asyncio.sleep(0.3)
    assert view.renders == before + 1 and len(view.rows.children) == 200


def test_post_processing_progress_per_result_key():
    wire = RealtimeTaskRequest.create(translate_to="cn", chapters=True, summarization=["Paragraph"],
                                      meeting_assistance=True, text_polish=True).to_wire()
    assert expected_results(wire) == ["Transcription", "Translation", "AutoChapters", "MeetingAssistance",
                                      "Summarization", "TextPolish"]
    state = LiveState(expected=expected_results(wire))
    state.task_update("ONGOING", ["Transcription", "Translation"])
    assert state.results == {"Transcription": True, "Translation": True, "AutoChapters": False,
                             "MeetingAssistance": False, "Summarization": False, "TextPolish": False}
    assert state.status_line().endswith("post-processing — ONGOING")
    state.task_update("COMPLETED", expected_results(wire))
    state.finished("COMPLETED")
    assert all(state.results.values()) and state.status_line().endswith("COMPLETED")


async def test_stop_button_drains_every_final_and_completes(emulator, clip3, tmp_path):
    """At 1× speed, Stop after the first final: sending ends early, finals drained, results fetched."""
    view = LiveView(min_interval_s=0.05)
    updates: list[TaskInfo] = []
    async with emulator.client() as client:
        task = view.start(clip3, RealtimeTaskRequest.create(language="en"), client=client, speed=1.0,
                          out_dir=tmp_path, poll_interval_s=0.2,
                          on_progress=lambda kind, value: kind == "task" and updates.append(value))
        while view.state.finals == 0 and not task.done():
            await asyncio.sleep(0.05)
        assert not task.done()
        view.stop_button.click()
        assert view.stop_event.is_set()
        session = await task
    assert session.status == "COMPLETED" and session.meta["stopped_early"] is True
    assert view.state.sent_ms < view.state.total_ms  # audio was cut short
    live = [e for e in session.events() if isinstance(e, ev.SentenceEnd)]
    assert any(isinstance(e, ev.TranscriptionCompleted) for e in session.events())  # every final was drained
    assert [r.text for r in view.state.rows] == [e.result for e in live]
    assert len(session.sentences()) == len(live) >= 1  # and the Transcription file holds them all
    assert updates and view.state.results == {"Transcription": True}
    assert view.status.value.endswith("COMPLETED") and view.stop_button.disabled


async def test_flat_record_is_quiet_in_scripts_and_prints_text_when_asked(emulator, clip3, tmp_path, capsys):
    assert not in_kernel()
    request = RealtimeTaskRequest.create(language="en", output_level=1)
    async with emulator.client() as client:
        quiet = await tingwu_nb.record(clip3, request, client=client, speed=math.inf, out_dir=tmp_path)
        assert capsys.readouterr().out == ""
        texts = await tingwu_nb.record(clip3, request, client=client, speed=math.inf, out_dir=tmp_path, view=True)
    out = capsys.readouterr().out.splitlines()
    assert quiet.status == texts.status == "COMPLETED"
    sentences = texts.live_sentences()["text"].tolist()
    assert len(out) == len(sentences) + 1 and all(s in line for s, line in zip(sentences, out))
    assert out[-1].endswith("COMPLETED")


def test_text_view_prints_finals_only():
    buffer = io.StringIO()
    view = TextView(file=buffer)
    for event in synthetic(3):
        view.on_event(event)
    assert buffer.getvalue().splitlines() == [f"[{i - 0.9:7.1f}s] S{i % 3}: sentence {i}" for i in (1, 2, 3)]


def test_a_reconnect_shows_in_the_status_line_and_clears_the_stale_interim():
    from tingwu_nb.notebook.live_state import LiveState

    state = LiveState()
    state.event(ev.TranscriptionResultChanged(index=3, time_ms=1200, result="the design re"))
    assert state.interim is not None
    state.reconnected(4.25)
    state.reconnected(1.0)
    assert state.interim is None and state.reconnects == 2
    assert "reconnected 2× (5.2 s replayed, nothing lost)" in state.status_line()
