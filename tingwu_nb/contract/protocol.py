"""Sans-I/O realtime session: one transition table, a client role and a server role.

Rule 1 (after h11): everything that decides which message may follow which lives in
:data:`TRANSITIONS`. Rule 2: the table does not know the role; :class:`ClientSession` and
:class:`~tingwu_nb.contract.server_session.ServerSession` (the emulator's role, in its own
module) only add who sends what (commands go client -> server, events server -> client) and
what to do on a violation. ::

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

import enum
import re
import uuid
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from tingwu_nb.contract import events as ev
from tingwu_nb.contract.codec import decode, encode
from tingwu_nb.errors import ConfigError, LocalProtocolError, RemoteProtocolError

__all__ = ["TRANSITIONS", "ClientSession", "Role", "State", "decode", "encode"]


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
