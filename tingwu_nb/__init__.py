"""tingwu_nb: Alibaba Cloud Tingwu real-time recording as a first-class citizen of Jupyter.

The flat public API. Importing it has no side effects (the emulator and the speech engine
load only when used).

    session = await tingwu_nb.record("meeting.wav", tingwu_nb.RealtimeTaskRequest.create(language="en"))
    session.sentences()
"""

from __future__ import annotations

from .audio import FORMATS, AudioInfo, Frame, load_pcm, probe, stream_frames
from .config import Credentials, redact_text, redact_url, resolve_credentials
from .connect import connect
from .errors import (
    AudioError,
    AudioWarning,
    ConfigError,
    CredentialsError,
    EncoderUnavailable,
    LocalProtocolError,
    ModelError,
    ModelHashMismatch,
    ModelNotInstalled,
    NotTingwuError,
    OutputError,
    ParameterError,
    ProtocolError,
    RemoteProtocolError,
    ServiceError,
    TaskFailedError,
    ThrottledError,
    TingwuError,
    TingwuTimeoutError,
    TransportError,
)
from .metrics import cer, wer
from .pacing import MAX_SPEED
from .params import RealtimeTaskRequest
from .recovery import recover
from .results import LIVE_SENTENCE_COLUMNS, SENTENCE_COLUMNS, WORD_COLUMNS
from .samples import load_sample_meeting, sample_meeting_path
from .session import Session, record, record_sync
from .stream import RealtimeStream, StreamOptions
from .tasks import TaskInfo, TingwuClient

__version__ = "0.1.0"

__all__ = [
    "FORMATS",
    "LIVE_SENTENCE_COLUMNS",
    "MAX_SPEED",
    "SENTENCE_COLUMNS",
    "WORD_COLUMNS",
    "AudioError",
    "AudioInfo",
    "AudioWarning",
    "ConfigError",
    "Credentials",
    "CredentialsError",
    "EncoderUnavailable",
    "Frame",
    "LocalProtocolError",
    "ModelError",
    "ModelHashMismatch",
    "ModelNotInstalled",
    "NotTingwuError",
    "OutputError",
    "ParameterError",
    "ProtocolError",
    "RealtimeStream",
    "RealtimeTaskRequest",
    "RemoteProtocolError",
    "ServiceError",
    "Session",
    "StreamOptions",
    "TaskFailedError",
    "TaskInfo",
    "ThrottledError",
    "TingwuClient",
    "TingwuError",
    "TingwuTimeoutError",
    "TransportError",
    "cer",
    "connect",
    "load_pcm",
    "load_sample_meeting",
    "probe",
    "record",
    "record_sync",
    "recover",
    "redact_text",
    "redact_url",
    "resolve_credentials",
    "sample_meeting_path",
    "stream_frames",
    "wer",
]
