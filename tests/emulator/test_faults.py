"""Fault injection (emulator/faults.py): every injected fault ends in success with nothing lost,
or in a clear error — the real emulator over loopback, the real client."""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import sample_turns_wav
from tingwu_nb.client.download import download_results
from tingwu_nb.client.ratelimit import RetryPolicy
from tingwu_nb.client.stream import RealtimeStream
from tingwu_nb.contract import events as ev
from tingwu_nb.contract.params import RealtimeTaskRequest
from tingwu_nb.emulator.app import Emulator
from tingwu_nb.emulator.contract import EmulatorConfig
from tingwu_nb.emulator.faults import FaultPlan, RestFaults
from tingwu_nb.emulator.outbox import swappable
from tingwu_nb.errors import ServiceError, TaskFailedError, ThrottledError, TransportError
from tingwu_nb.session.recording import Session, record

pytestmark = [pytest.mark.network, pytest.mark.slow]

TURNS = 3


# --- the plan itself (no I/O) ---------------------------------------------------------------


def test_parse_reads_every_field():
    plan = FaultPlan.parse([
        "stall_at_audio_s=2,1", "stall_s=1.5", "event_delay_s=0.25", "reorder_events=0.5",
        "task_failed_at_audio_s=4", "task_failed_status=41040201", "task_failed_text=Realtime:X:1",
        "refuse_handshake_first=2", "refuse_handshake_status=503", "rest_throttle_first=1", "rest_5xx_first=2",
        "rest_throttle_fraction=0.1", "rest_5xx_fraction=0.2", "rest_5xx_status=503", "rest_retry_after_s=3",
        "rest_fault_actions=CreateTask,GetTaskInfo", "result_url_ttl_s=2", "postprocess_delay_s=1", "seed=7",
    ])
    assert plan == FaultPlan(
        stall_at_audio_s=(1.0, 2.0), stall_s=1.5, event_delay_s=0.25, reorder_events=0.5, task_failed_at_audio_s=4.0,
        task_failed_status=41040201, task_failed_text="Realtime:X:1", refuse_handshake_first=2,
        refuse_handshake_status=503, rest_throttle_first=1, rest_5xx_first=2, rest_throttle_fraction=0.1,
        rest_5xx_fraction=0.2, rest_5xx_status=503, rest_retry_after_s=3,
        rest_fault_actions=("CreateTask", "GetTaskInfo"), result_url_ttl_s=2.0, postprocess_delay_s=1.0, seed=7)
    assert plan.active and plan.shapes_events
    assert not FaultPlan(seed=3).active
    assert FaultPlan.parse(["task_failed_text=123"]).task_failed_text == "123"  # text stays text


@pytest.mark.parametrize("item, says", [
    ("bogus=1", "unknown fault 'bogus=1'"), ("rest_5xx_first=two", "not a valid value"),
    ("refuse_handshake_status=404", "403 or 503"), ("reorder_events=1.5", "probability"),
    ("rest_5xx_status=404", "5xx"), ("stall_at_audio_s=0", "> 0"), ("event_delay_s=-1", ">= 0"),
])
def test_parse_refuses_bad_items_by_name(item, says):
    with pytest.raises(ValueError, match=says):
        FaultPlan.parse([item])


def test_rest_faults_count_per_action_then_draw_seeded_fractions():
    faults = RestFaults(FaultPlan(rest_throttle_first=1, rest_5xx_first=1, rest_fault_actions=("GetTaskInfo",)))
    assert [faults.decide("GetTaskInfo") for _ in range(3)] == ["throttle", "5xx", None]
    assert faults.decide("CreateTask") is None  # not a listed action
    drawn = [RestFaults(FaultPlan(rest_5xx_fraction=0.5, seed=4)).decide("CreateTask") for _ in range(2)]
    assert drawn[0] == drawn[1]  # same seed, same answer
    many = RestFaults(FaultPlan(rest_5xx_fraction=0.5, seed=4))
    assert 20 < sum(many.decide("CreateTask") == "5xx" for _ in range(100)) < 80


def test_reorder_never_moves_fixed_events():
    def key(name, index=None, mid="", source=""):
        return (name, index, mid, source)

    assert swappable(key("SentenceEnd", 1, "a"), key("SentenceBegin", 2, "b"))
    assert not swappable(key("SentenceBegin", 1), key("SentenceEnd", 1))  # one sentence keeps its order
    assert not swappable(key("SentenceEnd", 1), key("TranscriptionCompleted"))
    assert not swappable(key("TranscriptionStarted"), key("SentenceBegin", 1))
    assert not swappable(key("SentenceEnd", 1, "a"), key("ResultTranslated", None, "t", "a"))


def test_cli_refuses_an_unknown_fault_in_one_line():
    """``tingwu-nb emulator --fault rest_5xx_first=2 --fault bogus=1`` fails before serving."""
    done = subprocess.run([sys.executable, "-m", "tingwu_nb.cli", "emulator", "--port", "0",
                           "--fault", "rest_5xx_first=2", "--fault", "bogus=1"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "unknown fault 'bogus=1'" in lines[0] and "rest_5xx_first" in lines[0]
    assert "listening" not in done.stdout


# --- faults against the real client ---------------------------------------------------------


@pytest.fixture(scope="module")
def clip(tmp_path_factory, sample_pcm16k, sample_truth) -> Path:
    return sample_turns_wav(tmp_path_factory.mktemp("faults") / "clip.wav", TURNS, sample_pcm16k, sample_truth)


@pytest.fixture(scope="module")
def clip_s(sample_truth) -> float:
    return sample_truth["turns"][TURNS - 1]["end_s"] + 0.5


def emulator_with(engine, **faults) -> Emulator:
    return Emulator(EmulatorConfig.generate(faults=FaultPlan(**faults), analysis_engine="extractive"), engine=engine)


async def run(emu: Emulator, clip: Path, out: Path, *, client_kw: dict | None = None, **kw) -> Session:
    async with emu.client(**(client_kw or {})) as client:
        return await record(clip, RealtimeTaskRequest.create(), client=client, speed=math.inf, out_dir=out,
                            poll_interval_s=0.2, **kw)


def live_texts(session: Session) -> list[str]:
    return list(session.live_sentences().sort_values("index")["text"])


@pytest.fixture(scope="module")
def clean(engine, clip, tmp_path_factory) -> list[str]:
    """The sentence texts of a run without faults."""
    with emulator_with(engine) as emu:
        session = asyncio.run(run(emu, clip, tmp_path_factory.mktemp("clean")))
    texts = live_texts(session)
    assert len(texts) >= TURNS and list(session.sentences()["text"]) == texts
    return texts


async def test_throttled_and_failing_rest_calls_are_retried(engine, clip, clean, tmp_path):
    """The first 2 calls of every action throttled (400 Throttling.User, retry hint), the next 2
    answered 500: the client's retries (5 attempts) get through, nothing is lost."""
    calls: list[dict] = []
    with emulator_with(engine, rest_throttle_first=2, rest_5xx_first=2) as emu:
        session = await run(emu, clip, tmp_path, client_kw={"on_request": calls.append})
    assert session.status == "COMPLETED" and live_texts(session) == clean
    assert list(session.sentences()["text"]) == clean
    for action in ("CreateTask", "GetTaskInfo"):
        codes = [c["error"] for c in calls if c["action"] == action][:5]
        assert codes == ["Throttling.User", "Throttling.User", "ServerError", "ServerError", None], action


async def test_without_retries_the_fault_is_a_clear_error(engine):
    """The documented bodies: 400 Throttling.User with x-acs-retry-after, then HTTP 503 ServerError."""
    with emulator_with(engine, rest_throttle_first=1, rest_5xx_first=1, rest_5xx_status=503,
                       rest_retry_after_s=2) as emu:
        async with emu.client(retry=RetryPolicy(max_attempts=1)) as client:
            with pytest.raises(ThrottledError) as throttled:
                await client.create_realtime_task(RealtimeTaskRequest.create())
            with pytest.raises(ServiceError) as failed:
                await client.create_realtime_task(RealtimeTaskRequest.create())
            task = await client.create_realtime_task(RealtimeTaskRequest.create())  # third call: through
    exc = throttled.value
    assert (exc.status_code, exc.code, exc.retry_after) == (400, "Throttling.User", 2.0)
    assert exc.message == "Request was denied due to user flow control." and exc.request_id
    assert (failed.value.status_code, failed.value.code) == (503, "ServerError")
    assert task.task_id and len(emu.store) == 1  # a faulted call created nothing


async def test_a_task_plan_faults_only_that_task(engine):
    """Emulator.inject: GetTaskInfo of that task throttled twice (counted for it), then through;
    another task's calls are not faulted."""
    calls: list[dict] = []
    plan = FaultPlan(rest_throttle_first=2, rest_fault_actions=("GetTaskInfo",))
    with emulator_with(engine) as emu:
        async with emu.client(on_request=calls.append) as client:
            created = await client.create_realtime_task(RealtimeTaskRequest.create())
            emu.inject(created.task_id, plan)
            await client.stop_realtime_task(created.task_id)
            info = await client.get_task_info(created.task_id)
            other = await client.create_realtime_task(RealtimeTaskRequest.create())
            await client.get_task_info(other.task_id)
            await client.stop_realtime_task(other.task_id)
    assert info.task_id == created.task_id
    gets = [c["error"] for c in calls if c["action"] == "GetTaskInfo"]
    assert gets == ["Throttling.User", "Throttling.User", None, None]
    assert all(c["error"] is None for c in calls if c["action"] == "CreateTask")


@pytest.mark.parametrize("faults", [
    {"stall_at_audio_s": (3.0,), "stall_s": 2.0},
    {"event_delay_s": 0.5},
    {"reorder_events": 1.0, "seed": 1},
], ids=["stall", "delay", "reorder"])
async def test_stalled_delayed_or_reordered_events_lose_nothing(engine, clip, clean, tmp_path, faults):
    order: list[tuple[str, int | None]] = []

    def seen(event: ev.Event) -> None:
        order.append((type(event).__name__, getattr(event, "index", None)))

    with emulator_with(engine, **faults) as emu:
        session = await run(emu, clip, tmp_path, on_event=seen)
        state = emu.store.get(session.task_id).faults
    assert session.status == "COMPLETED"
    assert live_texts(session) == clean and list(session.sentences()["text"]) == clean
    assert order[0][0] == "TranscriptionStarted" and order[-1][0] == "TranscriptionCompleted"
    if "stall_at_audio_s" in faults:
        assert state.next_stall_point == 1  # the stall happened
    indexes = [i for _, i in order if i is not None]
    inversions = sum(b < a for a, b in zip(indexes, indexes[1:]))
    assert inversions > 0 if "reorder_events" in faults else inversions == 0


async def test_task_failed_is_a_clear_error_and_keeps_what_arrived(engine, clip, clean, clip_s, tmp_path):
    text = "Realtime:GET_CLIENT_DATA_TIMEOUT:Client data does not send continuously!"
    with emulator_with(engine, task_failed_at_audio_s=round(clip_s * 0.6, 1), task_failed_status=41040201,
                       task_failed_text=text) as emu:
        with pytest.raises(TaskFailedError) as failed:
            await run(emu, clip, tmp_path)
        exc = failed.value
        session = Session(exc.session_dir)
        record_ = emu.store.get(session.task_id)
        assert record_.phase != "streaming"  # the task was stopped
    assert (exc.status, exc.status_text) == (41040201, text)
    assert "task_stopped" in session.meta["phases"] and session.meta["error"]["code"] == "41040201"
    arrived = live_texts(session)
    assert arrived == clean[:len(arrived)] and len(arrived) < len(clean)  # a prefix: nothing invented
    assert list(session.sentences()["text"]) == arrived  # the results hold exactly what arrived


@pytest.mark.parametrize("status", [403, 503])
async def test_refused_handshake_names_the_http_status(engine, clip, clean, tmp_path, status):
    """The first upgrade of a task is refused; the client's error names the status, and the
    same join URL works on the next attempt. record() either copes (retries) or fails clearly."""
    with emulator_with(engine, refuse_handshake_first=1, refuse_handshake_status=status) as emu:
        async with emu.client() as client:
            task = await client.create_realtime_task(RealtimeTaskRequest.create())
            with pytest.raises(TransportError, match=f"HTTP {status}") as refused:
                await RealtimeStream(task.meeting_join_url).open()
            assert "mc=" not in str(refused.value)  # the capability token is not echoed
            stream = RealtimeStream(task.meeting_join_url)
            await stream.open()  # second attempt: accepted
            await stream.stop()
            await stream.close()
            await client.stop_realtime_task(task.task_id)
        if status == 403:
            return  # record() below once is enough
        try:
            session = await run(emu, clip, tmp_path)
        except TransportError as exc:  # today's record(): no retry of the handshake
            assert f"HTTP {status}" in str(exc) and Session(exc.session_dir).meta["cleanup"]["task_stop"] == "stopped"
        else:
            assert live_texts(session) == clean


async def test_expired_result_links_are_renewed(engine, clip, clean, tmp_path):
    """Links live 2 s: a download after that gets 403 'Request has expired' and renews them."""
    with emulator_with(engine, result_url_ttl_s=2.0) as emu:
        session = await run(emu, clip, tmp_path)
        async with emu.client() as client:
            info = await client.get_task_info(session.task_id)
            await asyncio.sleep(2.5)  # every link in `info` has expired now
            got = await download_results(client, info)
    assert session.status == "COMPLETED" and live_texts(session) == clean
    got.raise_first()
    assert got.refreshes >= 1 and set(got.files) == set(info.result_urls)
    assert session.transcription == json.loads(got.files["Transcription"])


async def test_slow_postprocessing_is_waited_for(engine, clip, clean, tmp_path):
    infos: list = []

    def progress(kind: str, value) -> None:
        if kind == "task":
            infos.append(value)

    with emulator_with(engine, postprocess_delay_s=2.0) as emu:
        session = await run(emu, clip, tmp_path, on_progress=progress)
    assert session.status == "COMPLETED" and list(session.sentences()["text"]) == clean
    waiting = [i for i in infos if i.status == "ONGOING" and not i.result_urls]
    assert len(waiting) >= 3  # polled while nothing was ready (poll 0.2 s, 2 s delay)
