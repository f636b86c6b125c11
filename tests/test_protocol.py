"""The sans-I/O session: one transition table, client and server roles, in memory."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable

import pytest

from tingwu_nb.contract import events as ev
from tingwu_nb.contract.codec import decode, encode
from tingwu_nb.contract.protocol import TRANSITIONS, ClientSession, Role, State
from tingwu_nb.contract.server_session import ServerSession
from tingwu_nb.errors import ConfigError, LocalProtocolError, RemoteProtocolError

ID_A, ID_B = "a" * 32, "b" * 32


def counter_ids(prefix: str) -> Callable[[], str]:
    """Deterministic 32-hex ids: prefix digit then a counter."""
    numbers = itertools.count(1)
    return lambda: f"{prefix}{next(numbers):031x}"


class SessionPair:
    """A client and a server session joined by an in-memory 'network' (after h11's ConnectionPair)."""

    def __init__(self, **client_kw: object) -> None:
        self.client = ClientSession(new_id=counter_ids("c"), **client_kw)  # type: ignore[arg-type]
        self.server = ServerSession(new_id=counter_ids("e"), session_id="5" * 32)

    def deliver_to_server(self) -> list[object]:
        """Move every queued client frame to the server; return commands and accepted audio."""
        got: list[object] = []
        for frame in self.client.data_to_send():
            if isinstance(frame, str):
                got.extend(self.server.receive_text(frame))
            else:
                got.append(self.server.receive_audio(frame))
        return got

    def deliver_to_client(self) -> list[ev.Event]:
        """Move every queued server frame to the client; return the events it decoded."""
        return [e for frame in self.server.data_to_send() for e in self.client.receive_text(frame)]

    def server_sends(self, *events: ev.Event) -> list[ev.Event]:
        """Send events from the server and check the client receives exactly the stamped ones."""
        stamped = [self.server.send(e) for e in events]
        assert self.deliver_to_client() == stamped
        return stamped

    def states(self) -> tuple[State, State]:
        return self.client.state, self.server.state

    def drive_to(self, state: State) -> SessionPair:
        """Bring both sides to ``state`` through legal moves only."""
        steps: dict[State, list[Callable[[], object]]] = {
            State.IDLE: [],
            State.STARTING: [self.client.start, self.deliver_to_server],
            State.STREAMING: [self.server.started, self.deliver_to_client],
            State.STOPPING: [self.client.stop, self.deliver_to_server],
            State.COMPLETED: [self.server.complete, self.deliver_to_client],
        }
        path = [State.IDLE, State.STARTING, State.STREAMING, State.STOPPING, State.COMPLETED]
        if state is State.FAILED:
            self.server.fail(40000004, "Gateway:IDLE_TIMEOUT:x")
            self.deliver_to_client()
        else:
            for step in path[: path.index(state) + 1]:
                for action in steps[step]:
                    action()
        assert self.states() == (state, state)
        return self


def test_whole_session_in_memory() -> None:
    """Start, audio, interim and final results with words/speaker/stash, translation, stop, flush, complete."""
    pair = SessionPair()
    pair.client.start()
    (start,) = pair.deliver_to_server()
    assert isinstance(start, ev.StartTranscription) and start.task_id == pair.client.task_id
    assert pair.states() == (State.STARTING, State.STARTING)
    assert pair.server.task_id == pair.client.task_id and pair.server.last_directive == "StartTranscription"

    started = pair.server.started()
    assert pair.deliver_to_client() == [started]
    assert pair.client.session_id == "5" * 32 and pair.states() == (State.STREAMING, State.STREAMING)

    pair.client.send_audio(b"\x01\x02" * 1600)
    pair.client.send_audio(bytearray(b"\x03\x04"))
    assert pair.deliver_to_server() == [b"\x01\x02" * 1600, b"\x03\x04"]

    words = (ev.Word("今天", 480, 800), ev.Word("会议", 950, 1300))
    stash = ev.StashResult(index=1, begin_time_ms=1700, current_time_ms=2100, text="首先")
    _, _, end = pair.server_sends(
        ev.SentenceBegin(index=0, time_ms=0),
        ev.TranscriptionResultChanged(index=0, time_ms=1620, result="今天会议", words=words, speaker_id="1"),
        ev.SentenceEnd(
            index=0,
            time_ms=2100,
            begin_time_ms=0,
            result="今天会议。",
            words=words,
            speaker_id="1",
            stash=stash,
        ),
    )
    items = (ev.TranslatedItem("Today's meeting.", 0, 0, 2100),)
    (translated,) = pair.server_sends(
        ev.ResultTranslated(source_message_id=end.message_id, source_lang="cn", target_lang="en", items=items)
    )
    assert translated.source_message_id == end.message_id and translated.task_id == pair.client.task_id

    pair.client.stop()
    (stop,) = pair.deliver_to_server()
    assert isinstance(stop, ev.StopTranscription) and pair.states() == (State.STOPPING, State.STOPPING)
    assert pair.server.last_directive == "StopTranscription"
    pair.server_sends(ev.SentenceEnd(index=1, time_ms=2600, result="首先。"))
    completed = pair.server.complete()
    assert pair.deliver_to_client() == [completed]
    assert pair.states() == (State.COMPLETED, State.COMPLETED)
    assert pair.client.finished and pair.server.finished


def test_client_frames_have_fresh_message_ids_and_one_task_id() -> None:
    """Every command gets a new message_id from new_id; the task_id stays the same."""
    client = ClientSession(new_id=counter_ids("c"))
    client.start()
    client.receive_text(encode(ev.TranscriptionStarted()))
    client.control({"k": 1})
    client.stop()
    headers = [json.loads(frame)["header"] for frame in client.data_to_send()]
    assert [h["name"] for h in headers] == ["StartTranscription", "ControlTranscriber", "StopTranscription"]
    assert {h["task_id"] for h in headers} == {"c" + f"{1:031x}"}
    assert [h["message_id"] for h in headers] == ["c" + f"{n:031x}" for n in (2, 3, 4)]
    assert all(h["appkey"] == "default" and h["namespace"] == "SpeechTranscriber" for h in headers)


def test_client_start_frame_carries_payload_and_context() -> None:
    """start() queues one text frame with the given payload and context."""
    client = ClientSession(task_id=ID_A, payload={"format": "pcm"}, context={"sdk": {"name": "tingwu-nb"}})
    client.start()
    (frame,) = client.data_to_send()
    obj = json.loads(frame)
    assert obj["payload"] == {"format": "pcm"} and obj["context"] == {"sdk": {"name": "tingwu-nb"}}
    assert client.data_to_send() == []


def test_client_role_and_default_ids() -> None:
    """A default client is IDLE with a 32-hex task_id and the CLIENT role."""
    client = ClientSession()
    assert client.role is Role.CLIENT and client.state is State.IDLE and not client.finished
    assert len(client.task_id) == 32 and client.task_id == client.task_id.lower()


@pytest.mark.parametrize("task_id", ["0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9", "A" * 32, "a" * 31, ""])
def test_client_refuses_bad_task_id(task_id: str) -> None:
    """A task_id that is not 32 lowercase hex fails before anything is sent."""
    with pytest.raises(ConfigError, match="task_id"):
        ClientSession(task_id=task_id)


def test_control_is_legal_while_streaming() -> None:
    """ControlTranscriber goes through in STREAMING and reaches the server as a command."""
    pair = SessionPair().drive_to(State.STREAMING)
    pair.client.control({"max_sentence_silence": 600})
    (msg,) = pair.deliver_to_server()
    assert isinstance(msg, ev.ControlTranscriber) and msg.payload == {"max_sentence_silence": 600}
    assert pair.states() == (State.STREAMING, State.STREAMING)


# --- the transition table ------------------------------------------------------------

COMMANDS = [ev.StartTranscription, ev.StopTranscription, ev.ControlTranscriber]
EVENTS = [
    ev.TranscriptionStarted,
    ev.SentenceBegin,
    ev.TranscriptionResultChanged,
    ev.SentenceEnd,
    ev.ResultTranslated,
    ev.TranscriptionCompleted,
    ev.TaskFailed,
]


def test_table_matches_the_documented_machine() -> None:
    """The table holds exactly the moves of the brief: happy path, results, TaskFailed, UnknownMessage."""
    S = State
    results = [ev.SentenceBegin, ev.TranscriptionResultChanged, ev.SentenceEnd, ev.ResultTranslated]
    expected = {
        (S.IDLE, ev.StartTranscription): S.STARTING,
        (S.STARTING, ev.TranscriptionStarted): S.STREAMING,
        (S.STREAMING, bytes): S.STREAMING,
        (S.STREAMING, ev.ControlTranscriber): S.STREAMING,
        (S.STREAMING, ev.StopTranscription): S.STOPPING,
        (S.STOPPING, ev.TranscriptionCompleted): S.COMPLETED,
        **{(S.STREAMING, c): S.STREAMING for c in results},
        **{(S.STOPPING, c): S.STOPPING for c in results},
        **{(s, ev.TaskFailed): S.FAILED for s in (S.IDLE, S.STARTING, S.STREAMING, S.STOPPING)},
        **{(s, ev.UnknownMessage): s for s in S},
    }
    assert dict(TRANSITIONS) == expected


def _illegal(kinds: list[type]) -> list[tuple[State, type]]:
    return [(s, k) for s in State for k in kinds if (s, k) not in TRANSITIONS]


CLIENT_MOVES: dict[type, Callable[[ClientSession], None]] = {
    ev.StartTranscription: ClientSession.start,
    ev.StopTranscription: ClientSession.stop,
    ev.ControlTranscriber: lambda c: c.control({"k": 1}),
    bytes: lambda c: c.send_audio(b"\x00\x01"),
}

SAMPLE_EVENTS: dict[type, ev.Event] = {
    ev.TranscriptionStarted: ev.TranscriptionStarted(session_id="s"),
    ev.SentenceBegin: ev.SentenceBegin(index=0, time_ms=0),
    ev.TranscriptionResultChanged: ev.TranscriptionResultChanged(index=0, time_ms=10, result="a"),
    ev.SentenceEnd: ev.SentenceEnd(index=0, time_ms=20, result="a。"),
    ev.ResultTranslated: ev.ResultTranslated(source_message_id=ID_B, target_lang="en"),
    ev.TranscriptionCompleted: ev.TranscriptionCompleted(),
    ev.TaskFailed: ev.TaskFailed(status=40000004, status_text="Gateway:IDLE_TIMEOUT:x"),
}


def _ids(case: tuple[State, type]) -> str:
    return f"{case[0].name}-{case[1].__name__}"


@pytest.mark.parametrize("case", _illegal([*COMMANDS, bytes]), ids=_ids)
def test_client_illegal_local_move_raises(case: tuple[State, type]) -> None:
    """A command or audio the table does not allow raises LocalProtocolError naming state, event, role."""
    state, kind = case
    pair = SessionPair().drive_to(state)
    event = "audio" if kind is bytes else kind.__name__
    with pytest.raises(LocalProtocolError) as info:
        CLIENT_MOVES[kind](pair.client)
    err = info.value
    assert (err.state, err.event, err.role) == (state, event, Role.CLIENT)
    assert state.name in str(err) and event in str(err) and "client" in str(err)
    assert pair.client.state is state and pair.client.data_to_send() == []


@pytest.mark.parametrize("case", _illegal(EVENTS), ids=_ids)
def test_server_illegal_local_move_raises(case: tuple[State, type]) -> None:
    """An event the table does not allow raises LocalProtocolError naming state, event, role."""
    state, kind = case
    pair = SessionPair().drive_to(state)
    with pytest.raises(LocalProtocolError) as info:
        pair.server.send(SAMPLE_EVENTS[kind])
    err = info.value
    assert (err.state, err.event, err.role) == (state, kind.__name__, Role.SERVER)
    assert state.name in str(err) and kind.__name__ in str(err) and "server" in str(err)
    assert pair.server.state is state and pair.server.data_to_send() == []


@pytest.mark.parametrize("case", _illegal(EVENTS), ids=_ids)
def test_client_rejects_illegal_remote_event(case: tuple[State, type]) -> None:
    """An event the table does not allow, received by the client, raises RemoteProtocolError; state kept."""
    state, kind = case
    pair = SessionPair().drive_to(state)
    frame = encode(SAMPLE_EVENTS[kind])
    with pytest.raises(RemoteProtocolError) as info:
        pair.client.receive_text(frame)
    err = info.value
    assert (err.state, err.event, err.role) == (state, kind.__name__, Role.CLIENT)
    assert state.name in str(err) and kind.__name__ in str(err) and "client" in str(err)
    assert pair.client.state is state


@pytest.mark.parametrize("case", _illegal(COMMANDS), ids=_ids)
def test_server_refuses_illegal_remote_command(case: tuple[State, type]) -> None:
    """A command in the wrong state fails the task with 40010005 TASK_STATE_ERROR (ignored once over)."""
    state, kind = case
    pair = SessionPair().drive_to(state)
    pair.server.data_to_send()
    cmd = kind(message_id=ID_A, task_id=pair.client.task_id)
    assert pair.server.receive_text(encode(cmd)) == []
    if state in (State.COMPLETED, State.FAILED):
        assert pair.server.state is state and pair.server.data_to_send() == []
        return
    (failed,) = decode(pair.server.data_to_send()[0])
    assert isinstance(failed, ev.TaskFailed) and failed.status == 40010005
    assert failed.status_text.startswith("Gateway:TASK_STATE_ERROR:Got ")
    assert pair.server.state is State.FAILED


@pytest.mark.parametrize("state", [s for s in State if (s, bytes) not in TRANSITIONS], ids=lambda s: s.name)
def test_server_drops_audio_outside_streaming(state: State) -> None:
    """Audio before TranscriptionStarted or after Stop is dropped (b""), and the state is kept."""
    pair = SessionPair().drive_to(state)
    pair.server.data_to_send()
    assert pair.server.receive_audio(b"\x00\x01") == b""
    assert pair.server.state is state and pair.server.data_to_send() == []


@pytest.mark.parametrize("state", list(State), ids=lambda s: s.name)
def test_unknown_message_passes_through_in_any_state(state: State) -> None:
    """An UnknownMessage reaches the client in every state and never changes it."""
    pair = SessionPair().drive_to(state)
    frame = json.dumps({"header": {"name": "Pong", "namespace": "SpeechTranscriber", "status": 20000000}})
    (msg,) = pair.client.receive_text(frame)
    assert isinstance(msg, ev.UnknownMessage) and msg.name == "Pong" and pair.client.state is state


# --- client receive rules -------------------------------------------------------------


def test_client_applies_concatenated_events_in_order() -> None:
    """Several events in one text frame are all returned and all applied."""
    pair = SessionPair().drive_to(State.STOPPING)
    frame = encode(SAMPLE_EVENTS[ev.SentenceEnd]) + encode(ev.TranscriptionCompleted())
    assert [e.name for e in pair.client.receive_text(frame)] == ["SentenceEnd", "TranscriptionCompleted"]
    assert pair.client.state is State.COMPLETED


def test_client_frame_with_an_illegal_event_changes_nothing() -> None:
    """If any event of a concatenated frame is illegal, the client raises and keeps its state."""
    pair = SessionPair().drive_to(State.STREAMING)
    frame = encode(SAMPLE_EVENTS[ev.SentenceEnd]) + encode(ev.TranscriptionCompleted())
    with pytest.raises(RemoteProtocolError, match="TranscriptionCompleted"):
        pair.client.receive_text(frame)
    assert pair.client.state is State.STREAMING


def test_client_rejects_a_command_from_the_server() -> None:
    """A command arriving at the client is a remote protocol error."""
    pair = SessionPair().drive_to(State.STREAMING)
    with pytest.raises(RemoteProtocolError, match="StopTranscription") as info:
        pair.client.receive_text(encode(ev.StopTranscription(message_id=ID_A, task_id=ID_B)))
    assert info.value.role is Role.CLIENT and pair.client.state is State.STREAMING


@pytest.mark.parametrize("frame", ["not json", '{"payload":{}}'])
def test_client_rejects_undecodable_frames_with_its_state(frame: str) -> None:
    """Non-JSON or header-less frames raise RemoteProtocolError carrying the client's state."""
    pair = SessionPair().drive_to(State.STREAMING)
    with pytest.raises(RemoteProtocolError) as info:
        pair.client.receive_text(frame)
    assert (info.value.state, info.value.role) == (State.STREAMING, Role.CLIENT)


@pytest.mark.parametrize(
    "state", [State.IDLE, State.STARTING, State.STREAMING, State.STOPPING], ids=lambda s: s.name
)
def test_task_failed_ends_the_client_from_any_live_state(state: State) -> None:
    """TaskFailed moves the client to FAILED from every non-terminal state; nothing can be sent after."""
    pair = SessionPair().drive_to(state)
    failed = pair.server.fail(40000004, "Gateway:IDLE_TIMEOUT:x")
    assert pair.deliver_to_client() == [failed] and failed.namespace == "Default"
    assert pair.client.state is State.FAILED and pair.client.finished
    with pytest.raises(LocalProtocolError):
        pair.client.send_audio(b"\x00")


# --- empty audio -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "data", [b"", bytearray(), memoryview(b"")], ids=["bytes", "bytearray", "memoryview"]
)
def test_client_never_sends_an_empty_frame(data: bytes) -> None:
    """send_audio(b"") raises LocalProtocolError even in STREAMING, and queues nothing."""
    pair = SessionPair().drive_to(State.STREAMING)
    with pytest.raises(LocalProtocolError, match="empty audio frame") as info:
        pair.client.send_audio(data)
    assert (info.value.state, info.value.event, info.value.role) == (State.STREAMING, "audio", Role.CLIENT)
    assert pair.client.data_to_send() == [] and pair.client.state is State.STREAMING


def test_server_fails_on_empty_audio_frame() -> None:
    """An empty binary frame fails the task: 40000002 'Audio frame is null!'."""
    pair = SessionPair().drive_to(State.STREAMING)
    assert pair.server.receive_audio(b"") == b""
    (failed,) = pair.deliver_to_client()
    assert isinstance(failed, ev.TaskFailed) and failed.status == 40000002
    assert failed.status_text == "Gateway:MESSAGE_INVALID:Audio frame is null!"
    assert failed.task_id == pair.client.task_id
    assert pair.states() == (State.FAILED, State.FAILED)


# --- server validation -----------------------------------------------------------------


def _start_json(**header: object) -> str:
    base = {
        "namespace": "SpeechTranscriber",
        "name": "StartTranscription",
        "message_id": ID_A,
        "task_id": ID_B,
    }
    return json.dumps({"header": {**base, **header}, "payload": {}})


SERVER_RULES = [
    ("namespace", _start_json(namespace="SpeechSynthesizer"), 40010001, "Gateway:NAMESPACE_NOT_FOUND:"),
    (
        "no-namespace",
        json.dumps({"header": {"name": "StartTranscription", "message_id": ID_A, "task_id": ID_B}}),
        40010001,
        "Gateway:NAMESPACE_NOT_FOUND:",
    ),
    (
        "unknown-name",
        _start_json(name="Ping"),
        40010002,
        "Gateway:DIRECTIVE_NOT_SUPPORTED:Directive 'Ping' is not supported!",
    ),
    (
        "event-name",
        _start_json(name="SentenceEnd"),
        40010002,
        "Gateway:DIRECTIVE_NOT_SUPPORTED:Directive 'SentenceEnd' is not supported!",
    ),
    (
        "message-id-hyphen",
        _start_json(message_id="8f0c1d2e-3b4a-5968-7766-554433221100"),
        40000002,
        "Gateway:MESSAGE_INVALID:Invalid message id '8f0c1d2e-3b4a-5968-7766-554433221100'!",
    ),
    (
        "message-id-upper",
        _start_json(message_id="A" * 32),
        40000002,
        f"Gateway:MESSAGE_INVALID:Invalid message id '{'A' * 32}'!",
    ),
    (
        "task-id-hyphen",
        _start_json(task_id="0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"),
        40000002,
        "Gateway:MESSAGE_INVALID:Invalid task id '0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9'!",
    ),
    ("task-id-short", _start_json(task_id="abc"), 40000002, "Gateway:MESSAGE_INVALID:Invalid task id 'abc'!"),
    ("not-json", "{not json", 40000002, "Gateway:MESSAGE_INVALID:Message is not valid JSON!"),
    ("no-header", '{"payload":{}}', 40000002, "Gateway:MESSAGE_INVALID:Missing message header!"),
]


@pytest.mark.parametrize(
    ("frame", "status", "text"), [r[1:] for r in SERVER_RULES], ids=[r[0] for r in SERVER_RULES]
)
def test_server_validation_rule(frame: str, status: int, text: str) -> None:
    """A command breaking an envelope rule fails the task with the spec's status code and text."""
    server = ServerSession(new_id=counter_ids("e"))
    assert server.receive_text(frame) == []
    (failed,) = decode(server.data_to_send()[0])
    assert isinstance(failed, ev.TaskFailed) and failed.status == status
    assert failed.status_text.startswith(text) and failed.namespace == "Default"
    assert server.state is State.FAILED and server.finished and server.task_id is None


@pytest.mark.parametrize(
    ("state", "command", "text"),
    [
        (State.IDLE, ev.StopTranscription, "Got stop directive while task is not started!"),
        (State.STARTING, ev.StartTranscription, "Got start directive while task is starting!"),
        (State.STREAMING, ev.StartTranscription, "Got start directive while task is started!"),
        (State.STOPPING, ev.StopTranscription, "Got stop directive while task is stopping!"),
        (State.STARTING, ev.StopTranscription, "Got stop directive while task is starting!"),
        (State.IDLE, ev.ControlTranscriber, "Got control directive while task is not started!"),
    ],
    ids=lambda v: v.name if isinstance(v, (State, type)) else None,
)
def test_server_task_state_texts(state: State, command: type, text: str) -> None:
    """Commands out of order fail with 40010005 and a text saying which directive met which state."""
    pair = SessionPair().drive_to(state)
    pair.server.data_to_send()
    pair.server.receive_text(encode(command(message_id=ID_A, task_id=pair.client.task_id)))
    (failed,) = pair.deliver_to_client()
    assert (failed.status, failed.status_text) == (40010005, f"Gateway:TASK_STATE_ERROR:{text}")


def test_second_stop_through_the_pair_is_refused() -> None:
    """A client that bypasses its session and repeats Stop gets TASK_STATE_ERROR from the server."""
    pair = SessionPair().drive_to(State.STOPPING)
    again = ev.StopTranscription(message_id=ID_A, task_id=pair.client.task_id)
    assert pair.server.receive_text(encode(again)) == []
    (failed,) = pair.deliver_to_client()
    assert failed.status_text == "Gateway:TASK_STATE_ERROR:Got stop directive while task is stopping!"


def test_server_refuses_a_different_task_id_after_start() -> None:
    """Every command of one stream must carry the Start's task_id."""
    pair = SessionPair().drive_to(State.STREAMING)
    pair.server.receive_text(encode(ev.StopTranscription(message_id=ID_A, task_id=ID_B)))
    (failed,) = pair.deliver_to_client()
    assert (failed.status, failed.status_text) == (
        40000002,
        f"Gateway:MESSAGE_INVALID:Invalid task id '{ID_B}'!",
    )


def test_server_ignores_commands_after_failed() -> None:
    """Once FAILED, commands and audio are ignored: nothing returned, nothing queued."""
    server = ServerSession()
    server.receive_text("garbage")
    server.data_to_send()
    assert server.receive_text(_start_json()) == [] and server.receive_audio(b"\x00") == b""
    assert server.receive_audio(b"") == b""
    assert server.data_to_send() == [] and server.state is State.FAILED


def test_server_start_does_not_answer_by_itself() -> None:
    """A legal StartTranscription queues nothing; the app calls started() when ready."""
    server = ServerSession()
    (start,) = server.receive_text(_start_json())
    assert isinstance(start, ev.StartTranscription) and server.data_to_send() == []
    assert (server.state, server.task_id, server.last_directive) == (
        State.STARTING,
        ID_B,
        "StartTranscription",
    )
    assert server.role is Role.SERVER


def test_server_accepts_concatenated_commands() -> None:
    """Start and Stop concatenated in one frame are both returned when legal."""
    pair = SessionPair().drive_to(State.STREAMING)
    pair.client.control({"k": 1})
    pair.client.stop()
    frames = pair.client.data_to_send()
    commands = pair.server.receive_text("".join(frames))
    assert [c.name for c in commands] == ["ControlTranscriber", "StopTranscription"]
    assert pair.server.state is State.STOPPING and pair.server.last_directive == "StopTranscription"


def test_server_frame_with_one_bad_command_applies_none() -> None:
    """A frame whose second command breaks a rule fails the task and returns no commands."""
    server = ServerSession()
    frame = _start_json() + encode(ev.StopTranscription(message_id=ID_A, task_id=ID_B))
    assert server.receive_text(frame) == [] and server.state is State.FAILED and server.task_id is None


def test_started_echoes_session_id_or_makes_one() -> None:
    """started() uses the configured session_id, else a fresh id from new_id."""
    for session_id, expected in ((None, "e" + f"{1:031x}"), ("s1", "s1")):
        server = ServerSession(new_id=counter_ids("e"), session_id=session_id)
        server.receive_text(_start_json())
        assert server.started().session_id == expected and server.state is State.STREAMING


def test_send_stamps_ids_but_keeps_given_ones() -> None:
    """send() fills an empty message_id/task_id and leaves caller-given ones alone."""
    pair = SessionPair().drive_to(State.STREAMING)
    stamped = pair.server.send(ev.SentenceBegin(index=0, time_ms=0))
    assert stamped.message_id and stamped.task_id == pair.client.task_id
    kept = pair.server.send(ev.SentenceBegin(index=1, time_ms=5, message_id=ID_A))
    assert kept.message_id == ID_A


def test_server_cannot_send_a_command() -> None:
    """Commands travel client -> server only; the server sending one is a local error."""
    pair = SessionPair().drive_to(State.STREAMING)
    with pytest.raises(LocalProtocolError, match="server cannot send StopTranscription") as info:
        pair.server.send(ev.StopTranscription())  # type: ignore[arg-type]
    assert info.value.role is Role.SERVER and pair.server.state is State.STREAMING


def test_nothing_after_completed() -> None:
    """After COMPLETED every local move of either role raises and names the state."""
    pair = SessionPair().drive_to(State.COMPLETED)
    for move in (pair.server.complete, lambda: pair.server.fail(1, "x"), pair.client.stop):
        with pytest.raises(LocalProtocolError, match="COMPLETED"):
            move()
    with pytest.raises(LocalProtocolError, match="COMPLETED"):
        pair.server.send(ev.UnknownMessage(wire_name="Pong"))
