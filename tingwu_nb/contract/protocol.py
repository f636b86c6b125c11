"""Sans-I/O realtime session: one transition table, a client role and a server role.

Rule 1 (after h11): everything that decides which message may follow which lives in
:data:`TRANSITIONS`. Rule 2: the table does not know the role; :class:`ClientSession`
and :class:`ServerSession` only add who sends what (commands go client -> server,
events server -> client) and what to do on a violation. ::

    IDLE --StartTranscription--> STARTING --TranscriptionStarted--> STREAMING
    STREAMING --audio / SentenceBegin / ResultChanged / SentenceEnd / ResultTranslated
                / ControlTranscriber--> STREAMING
    STREAMING --StopTranscription--> STOPPING --finals / ResultTranslated--> STOPPING
    STOPPING --TranscriptionCompleted--> COMPLETED
    any non-terminal state --TaskFailed--> FAILED;  UnknownMessage never moves

Audio frames appear in the table under the key type ``bytes``. Nothing here reads a
clock, opens a socket or imports asyncio: feed frames in with ``receive_*``, drain
frames to write with :meth:`~ClientSession.data_to_send`. Timeouts belong to the I/O
layer. The JSON codec is :mod:`tingwu_nb.contract.codec` (re-exported here as :func:`encode` and
:func:`decode`).
"""

from __future__ import annotations

import dataclasses
import enum
import re
import uuid
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from tingwu_nb.contract import events as ev
from tingwu_nb.contract.codec import decode, encode, from_object, split_objects
from tingwu_nb.errors import ConfigError, LocalProtocolError, RemoteProtocolError

__all__ = ["TRANSITIONS", "ClientSession", "Role", "ServerSession", "State", "decode", "encode"]


class Role(enum.Enum):
    """Which end of the WebSocket a session plays."""

    CLIENT = "client"
    SERVER = "server"


class State(enum.Enum):
    """Lifecycle of one stream (one ``task_id``); COMPLETED and FAILED are terminal."""

    IDLE = "IDLE"
    STARTING = "STARTING"
    STREAMING = "STREAMING"
    STOPPING = "STOPPING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


IDLE, STARTING, STREAMING, STOPPING, COMPLETED, FAILED = State
_TERMINAL = frozenset({COMPLETED, FAILED})
_RESULTS = (ev.SentenceBegin, ev.TranscriptionResultChanged, ev.SentenceEnd, ev.ResultTranslated)

TRANSITIONS: Mapping[tuple[State, type], State] = MappingProxyType(
    {
        (IDLE, ev.StartTranscription): STARTING,
        (STARTING, ev.TranscriptionStarted): STREAMING,
        (STREAMING, bytes): STREAMING,
        (STREAMING, ev.ControlTranscriber): STREAMING,
        **{(STREAMING, cls): STREAMING for cls in _RESULTS},
        (STREAMING, ev.StopTranscription): STOPPING,
        # The server flushes the last finals (and their translations) after Stop (spec §1.5).
        **{(STOPPING, cls): STOPPING for cls in _RESULTS},
        (STOPPING, ev.TranscriptionCompleted): COMPLETED,
        **{(state, ev.TaskFailed): FAILED for state in State if state not in _TERMINAL},
        # A future server event must never break a client (events.UnknownMessage).
        **{(state, ev.UnknownMessage): state for state in State},
    }
)
"""``(state, message class) -> next state``; a missing key is an illegal move."""

# Who may send which kind of message; the other role only receives it.
_SENDS: Mapping[Role, type] = MappingProxyType({Role.CLIENT: ev.Command, Role.SERVER: ev.Event})
_HEX32 = re.compile(r"[0-9a-f]{32}")


def _name(message_type: type) -> str:
    return "audio" if message_type is bytes else message_type.__name__


def _legal(state: State, role: Role) -> str:
    """The moves ``role`` may make in ``state``, for error messages."""
    mine = (bytes, _SENDS[role]) if role is Role.CLIENT else (_SENDS[role],)
    names = sorted(
        _name(cls)
        for (st, cls) in TRANSITIONS
        if st is state and issubclass(cls, mine) and cls is not ev.UnknownMessage
    )
    return ", ".join(names) or "nothing"


def _next_state(state: State, message_type: type, role: Role, *, local: bool) -> State:
    """Look ``(state, message_type)`` up; a miss raises the local or remote protocol error."""
    try:
        return TRANSITIONS[(state, message_type)]
    except KeyError:
        pass
    event = _name(message_type)
    if local:
        text = f"{role.value} cannot send {event} in state {state.name} (legal now: {_legal(state, role)})"
        raise LocalProtocolError(text, state=state, event=event, role=role) from None
    text = f"{role.value} received {event} in state {state.name}, which the protocol does not allow"
    raise RemoteProtocolError(text, state=state, event=event, role=role)


def _is_hex32(value: str) -> bool:
    return _HEX32.fullmatch(value) is not None


def _new_id() -> str:
    return uuid.uuid4().hex


class _Session:
    """What both roles share: state, the outgoing queue, local moves."""

    role: Role

    def __init__(self) -> None:
        self.state = IDLE
        self._outgoing: list[Any] = []

    @property
    def finished(self) -> bool:
        """True once the stream is COMPLETED or FAILED; nothing more may be sent."""
        return self.state in _TERMINAL

    def _move(self, message_type: type) -> None:
        self.state = _next_state(self.state, message_type, self.role, local=True)

    def _send_message(self, msg: ev.Message) -> None:
        if not isinstance(msg, _SENDS[self.role]):
            text = f"{self.role.value} cannot send {msg.name}: it travels the other way"
            raise LocalProtocolError(text, state=self.state, event=msg.name, role=self.role)
        if self.finished:
            text = f"{self.role.value} cannot send {msg.name} in state {self.state.name}: the stream is over"
            raise LocalProtocolError(text, state=self.state, event=msg.name, role=self.role)
        self._move(type(msg))
        self._outgoing.append(encode(msg))

    def _drain(self) -> list[Any]:
        frames, self._outgoing = self._outgoing, []
        return frames


class ClientSession(_Session):
    """The client role: send commands and audio, receive events.

    After :meth:`start`, :meth:`send_audio`, :meth:`stop` or :meth:`control`, call
    :meth:`data_to_send` and write every frame in order (``str`` as a text frame,
    ``bytes`` as a binary frame). Feed every received text frame to :meth:`receive_text`.
    """

    role = Role.CLIENT

    def __init__(
        self,
        *,
        task_id: str | None = None,
        appkey: str = "default",
        payload: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
        new_id: Callable[[], str] = _new_id,
    ) -> None:
        """Prepare a stream; nothing is queued until :meth:`start`.

        Raises:
            ConfigError: ``task_id`` is not 32 lowercase hex characters (the service
                answers "Invalid task id" to hyphenated or uppercase ids).
        """
        super().__init__()
        self.task_id = new_id() if task_id is None else task_id
        if not _is_hex32(self.task_id):
            raise ConfigError(f"task_id must be 32 lowercase hex characters, got {self.task_id!r}")
        self.appkey = appkey
        self.payload: Mapping[str, Any] = dict(payload or {})
        self.context = None if context is None else dict(context)
        self.session_id: str | None = None
        self._new_id = new_id

    def start(self) -> None:
        """Queue StartTranscription (IDLE -> STARTING); then wait for TranscriptionStarted."""
        self._send_message(
            ev.StartTranscription(**self._header(), payload=self.payload, context=self.context)
        )

    def send_audio(self, data: bytes) -> None:
        """Queue one binary audio frame; legal only in STREAMING.

        Raises:
            LocalProtocolError: ``data`` is empty (the service fails the task with "Audio
                frame is null"), or the stream is not STREAMING.
        """
        if not data:
            text = f"client cannot send an empty audio frame (state {self.state.name})"
            raise LocalProtocolError(text, state=self.state, event="audio", role=self.role)
        self._move(bytes)
        self._outgoing.append(bytes(data))

    def control(self, payload: Mapping[str, Any]) -> None:
        """Queue an NLS ControlTranscriber (STREAMING only); Tingwu use is UNCONFIRMED."""
        self._send_message(ev.ControlTranscriber(**self._header(), payload=dict(payload)))

    def stop(self) -> None:
        """Queue StopTranscription (STREAMING -> STOPPING); then read events until finished."""
        self._send_message(ev.StopTranscription(**self._header()))

    def receive_text(self, text: str) -> list[ev.Event]:
        """Decode one text frame and apply its events to the state.

        Returns:
            The events in wire order (UnknownMessage included, state unchanged by it).
            Check :attr:`finished` afterwards; on TaskFailed raise or report it yourself.

        Raises:
            RemoteProtocolError: the frame is not a message, carries a command, or an event
                the current state does not allow. The state is left unchanged; close the
                connection.
        """
        try:
            messages = decode(text)
        except RemoteProtocolError as exc:
            raise RemoteProtocolError(str(exc), state=self.state, role=self.role) from exc
        state = self.state
        for msg in messages:
            if not isinstance(msg, ev.Event):
                text = f"client received command {msg.name} in state {state.name}; only events go this way"
                raise RemoteProtocolError(text, state=state, event=msg.name, role=self.role)
            state = _next_state(state, type(msg), self.role, local=False)
        self.state = state
        for msg in messages:
            if isinstance(msg, ev.TranscriptionStarted):
                self.session_id = msg.session_id
        return messages  # type: ignore[return-value]  # all Events, checked above

    def data_to_send(self) -> list[str | bytes]:
        """Drain the frames to write, in order: ``str`` = text frame, ``bytes`` = binary."""
        return self._drain()

    def _header(self) -> dict[str, str]:
        return {"message_id": self._new_id(), "task_id": self.task_id, "appkey": self.appkey}


# --- server role ---------------------------------------------------------------------

STATUS_MESSAGE_INVALID = 40000002
STATUS_NAMESPACE_NOT_FOUND = 40010001
STATUS_DIRECTIVE_NOT_SUPPORTED = 40010002
STATUS_TASK_STATE_ERROR = 40010005

_VERBS = {ev.StartTranscription: "start", ev.StopTranscription: "stop", ev.ControlTranscriber: "control"}
_STATE_WORDS = {IDLE: "not started", STARTING: "starting", STREAMING: "started", STOPPING: "stopping"}

_Failure = tuple[int, str]


def _gateway(kind: str, detail: str) -> str:
    """Status text in the ``Gateway:CODE:Text`` form of spec §3."""
    return f"Gateway:{kind}:{detail}"


class ServerSession(_Session):
    """The server role (the emulator): validate commands, send events.

    Feed text frames to :meth:`receive_text` and binary frames to :meth:`receive_audio`;
    answer a StartTranscription with :meth:`started`, send results with :meth:`send`,
    end with :meth:`complete` or :meth:`fail`. After every call, write
    :meth:`data_to_send`; once :attr:`finished`, close the socket (emulator choice: 1000).

    A command that breaks the protocol never raises: the session queues TaskFailed with
    the NLS status code, moves to FAILED and returns no commands. Commands and audio
    arriving after COMPLETED or FAILED are ignored.
    """

    role = Role.SERVER

    def __init__(self, *, new_id: Callable[[], str] = _new_id, session_id: str | None = None) -> None:
        """``session_id`` is echoed in TranscriptionStarted; by default ``new_id()``."""
        super().__init__()
        self.task_id: str | None = None
        self.last_directive: str | None = None
        self._new_id = new_id
        self._session_id = session_id

    def receive_text(self, text: str) -> list[ev.Command]:
        """Validate one text frame of commands and apply them.

        Returns:
            The legal commands in order (act on StartTranscription by calling
            :meth:`started`, on StopTranscription by flushing finals then :meth:`complete`),
            or ``[]`` if the frame broke a rule (TaskFailed is queued) or the stream is over.
        """
        if self.finished:
            return []
        try:
            objects = split_objects(text)
        except RemoteProtocolError:
            return self._refuse(
                (STATUS_MESSAGE_INVALID, _gateway("MESSAGE_INVALID", "Message is not valid JSON!"))
            )
        state, task_id, accepted = self.state, self.task_id, []
        for obj in objects:
            try:
                msg = from_object(obj)
            except RemoteProtocolError:
                return self._refuse(
                    (STATUS_MESSAGE_INVALID, _gateway("MESSAGE_INVALID", "Missing message header!"))
                )
            failure = self._check(msg, state, task_id)
            if failure is not None:
                return self._refuse(failure)
            state = TRANSITIONS[(state, type(msg))]
            task_id = task_id or msg.task_id
            accepted.append(msg)
        self.state, self.task_id = state, task_id
        self.last_directive = accepted[-1].name
        return accepted

    def receive_audio(self, data: bytes) -> bytes:
        """Take one binary frame.

        Returns:
            The audio when STREAMING. ``b""`` otherwise: audio before TranscriptionStarted or
            after StopTranscription is dropped (emulator's choice; spec §1.4 leaves it
            UNCONFIRMED), and an empty frame fails the task with 40000002 "Audio frame is null!".
        """
        if self.finished:
            return b""
        if not data:
            self._refuse((STATUS_MESSAGE_INVALID, _gateway("MESSAGE_INVALID", "Audio frame is null!")))
            return b""
        return bytes(data) if (self.state, bytes) in TRANSITIONS else b""

    def started(self) -> ev.TranscriptionStarted:
        """Queue TranscriptionStarted (STARTING -> STREAMING); audio is accepted from now on."""
        session_id = self._session_id if self._session_id is not None else self._new_id()
        return self.send(ev.TranscriptionStarted(session_id=session_id))  # type: ignore[return-value]

    def send(self, event: ev.Event) -> ev.Event:
        """Stamp ``message_id`` and ``task_id`` (where empty), apply the move, queue the JSON.

        Returns:
            The stamped event; use its ``message_id`` as a later ResultTranslated's
            ``source_message_id``.

        Raises:
            LocalProtocolError: the event is a command or illegal in the current state.
        """
        stamped = dataclasses.replace(
            event,
            message_id=event.message_id or self._new_id(),
            task_id=event.task_id or (self.task_id or ""),
        )
        self._send_message(stamped)
        return stamped

    def complete(self) -> ev.TranscriptionCompleted:
        """Queue TranscriptionCompleted (STOPPING -> COMPLETED) after the last finals."""
        return self.send(ev.TranscriptionCompleted())  # type: ignore[return-value]

    def fail(self, status: int, status_text: str, *, namespace: str = "Default") -> ev.TaskFailed:
        """Queue TaskFailed from any non-terminal state and move to FAILED.

        ``namespace`` is ``Default`` for gateway-level failures (spec §2.1); pass
        ``ev.NAMESPACE`` for recognition-level ones.
        """
        failed = ev.TaskFailed(status=status, status_text=status_text, namespace=namespace)
        return self.send(failed)  # type: ignore[return-value]

    def data_to_send(self) -> list[str]:
        """Drain the JSON text frames to write, in order."""
        return self._drain()

    def _refuse(self, failure: _Failure) -> list[ev.Command]:
        self.fail(*failure)
        return []

    def _check(self, msg: ev.Message, state: State, task_id: str | None) -> _Failure | None:
        """The first rule ``msg`` breaks in ``state`` (spec §8.3), or None if it is legal."""
        if msg.namespace != ev.NAMESPACE:
            text = f"Namespace '{msg.namespace}' is not supported!"
            return STATUS_NAMESPACE_NOT_FOUND, _gateway("NAMESPACE_NOT_FOUND", text)
        if not isinstance(msg, ev.Command):
            text = f"Directive '{msg.name}' is not supported!"
            return STATUS_DIRECTIVE_NOT_SUPPORTED, _gateway("DIRECTIVE_NOT_SUPPORTED", text)
        if not _is_hex32(msg.message_id):
            return STATUS_MESSAGE_INVALID, _gateway(
                "MESSAGE_INVALID", f"Invalid message id '{msg.message_id}'!"
            )
        if not _is_hex32(msg.task_id) or task_id not in (None, msg.task_id):
            return STATUS_MESSAGE_INVALID, _gateway("MESSAGE_INVALID", f"Invalid task id '{msg.task_id}'!")
        if (state, type(msg)) not in TRANSITIONS:
            text = f"Got {_VERBS[type(msg)]} directive while task is {_STATE_WORDS[state]}!"
            return STATUS_TASK_STATE_ERROR, _gateway("TASK_STATE_ERROR", text)
        return None
