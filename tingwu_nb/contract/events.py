"""The one vocabulary of the realtime protocol: frozen dataclasses for every message.

Commands go client -> server (:class:`StartTranscription`, :class:`StopTranscription`,
:class:`ControlTranscriber`); events go server -> client (:class:`TranscriptionStarted`,
:class:`SentenceBegin`, :class:`TranscriptionResultChanged`, :class:`SentenceEnd`,
:class:`ResultTranslated`, :class:`TranscriptionCompleted`, :class:`TaskFailed`).
Anything with an unknown name decodes to :class:`UnknownMessage` so a new server event
never breaks a client. Times on the wire are integer milliseconds of stream audio.

The JSON codec lives in :mod:`tingwu_nb.contract.codec` (re-exported by :mod:`tingwu_nb.contract.protocol`);
this module imports nothing but the standard library. ``received_at`` (monotonic s), ``received_wall`` (epoch s) and
``audio_sent_ms`` are stamped by the I/O layer when an event arrives
(``dataclasses.replace``) and never take part in equality.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "NAMESPACE",
    "STATUS_OK",
    "STATUS_TEXT_OK",
    "Command",
    "ControlTranscriber",
    "Event",
    "Message",
    "ResultTranslated",
    "SentenceBegin",
    "SentenceEnd",
    "StartTranscription",
    "StashResult",
    "StopTranscription",
    "TaskFailed",
    "TranscriptionCompleted",
    "TranscriptionResultChanged",
    "TranscriptionStarted",
    "TranslatedItem",
    "UnknownMessage",
    "Word",
]

NAMESPACE = "SpeechTranscriber"
STATUS_OK = 20000000
STATUS_TEXT_OK = "Gateway:SUCCESS:Success."


@dataclass(frozen=True)
class Word:
    """One recognised token with its audio span in stream milliseconds."""

    text: str
    start_ms: int
    end_ms: int


@dataclass(frozen=True, kw_only=True)
class Message:
    """Fields every command and event carries in its ``header``."""

    message_id: str = ""
    task_id: str = ""
    namespace: str = NAMESPACE
    # Stamped by the I/O layer; excluded from equality so tests compare content only.
    received_at: float | None = field(default=None, compare=False, repr=False)
    received_wall: float | None = field(default=None, compare=False, repr=False)
    audio_sent_ms: int | None = field(default=None, compare=False, repr=False)

    @property
    def name(self) -> str:
        """The wire ``header.name`` of this message."""
        return type(self).__name__


# --- commands (client -> server) -------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Command(Message):
    """A client -> server command."""

    appkey: str = "default"


@dataclass(frozen=True, kw_only=True)
class StartTranscription(Command):
    """First text frame of a stream. Tingwu takes audio settings from CreateTask, so the
    official client sends an empty ``payload``; NLS keys are tolerated."""

    payload: Mapping[str, Any] = field(default_factory=dict)
    context: Mapping[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class StopTranscription(Command):
    """Ends the audio of a stream; the server flushes finals, then TranscriptionCompleted."""


@dataclass(frozen=True, kw_only=True)
class ControlTranscriber(Command):
    """NLS mid-stream control; accepted and ignored by the emulator (no Tingwu use known)."""

    payload: Mapping[str, Any] = field(default_factory=dict)


# --- events (server -> client) -----------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Event(Message):
    """A server -> client event; ``status``/``status_text`` come from its header."""

    status: int = STATUS_OK
    status_text: str = STATUS_TEXT_OK


@dataclass(frozen=True, kw_only=True)
class TranscriptionStarted(Event):
    """The server is ready for audio."""

    session_id: str = ""


@dataclass(frozen=True, kw_only=True)
class SentenceBegin(Event):
    """Server VAD opened sentence ``index`` at ``time_ms`` of stream audio."""

    index: int
    time_ms: int


@dataclass(frozen=True, kw_only=True)
class TranscriptionResultChanged(Event):
    """Interim (unstable) text of the open sentence; only with OutputLevel=2."""

    index: int
    time_ms: int
    result: str
    words: tuple[Word, ...] = ()
    speaker_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class StashResult:
    """Text already heard after a sentence end (start of the next sentence); may change."""

    index: int
    begin_time_ms: int
    current_time_ms: int
    text: str
    words: tuple[Word, ...] = ()


@dataclass(frozen=True, kw_only=True)
class SentenceEnd(Event):
    """Final text of sentence ``index`` (``begin_time_ms`` .. ``time_ms``); it will not change."""

    index: int
    time_ms: int
    result: str
    begin_time_ms: int | None = None
    confidence: float | None = None
    words: tuple[Word, ...] = ()
    speaker_id: str | None = None
    stash: StashResult | None = None


@dataclass(frozen=True)
class TranslatedItem:
    """One translated sentence; ``partial`` items are unfinished and carry no times."""

    text: str
    index: int
    begin_time_ms: int | None = None
    end_time_ms: int | None = None
    partial: bool = False


@dataclass(frozen=True, kw_only=True)
class ResultTranslated(Event):
    """Translation of the recognition event ``source_message_id`` into ``target_lang``."""

    source_message_id: str = ""
    source_lang: str = ""
    target_lang: str = ""
    items: tuple[TranslatedItem, ...] = ()
    speaker_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class TranscriptionCompleted(Event):
    """Last event after StopTranscription: every final has been sent."""


@dataclass(frozen=True, kw_only=True)
class TaskFailed(Event):
    """The stream failed; ``status`` is the NLS/Tingwu code, ``status_text`` the reason."""


@dataclass(frozen=True, kw_only=True)
class UnknownMessage(Event):
    """A message whose ``header.name`` we do not know; kept whole in ``raw``."""

    wire_name: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:  # noqa: D102 - the unknown wire name, not the class name
        return self.wire_name
