"""The server role of the realtime protocol (the emulator's end of the WebSocket).

Same sans-I/O rules as :mod:`tingwu_nb.contract.protocol`, whose transition table it obeys:
feed received frames in, send events, drain :meth:`ServerSession.data_to_send` and write
it. A command the service would refuse becomes the service's TaskFailed (spec §3 status
codes and ``Gateway:CODE:Text`` texts), never an exception.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from tingwu_nb.contract import events as ev
from tingwu_nb.contract.codec import from_object, split_objects
from tingwu_nb.contract.protocol import (
    IDLE,
    STARTING,
    STOPPING,
    STREAMING,
    TRANSITIONS,
    Role,
    State,
    _is_hex32,
    _new_id,
    _Session,
)
from tingwu_nb.errors import RemoteProtocolError

__all__ = ["ServerSession"]

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
