"""tingwu_nb: Alibaba Cloud Tingwu real-time recording as a first-class citizen of Jupyter.

The flat public API. Importing it has no side effects (the emulator and the speech engine
load only when used).

    session = await tingwu_nb.record("meeting.wav", tingwu_nb.RealtimeTaskRequest.create(language="en"))
    session.sentences()

In a Jupyter kernel ``record`` shows the live view (``view=False``: none); run it as a task
(``asyncio.create_task(tingwu_nb.record(...))``) to keep other cells free while it streams.
"""

from __future__ import annotations

from tingwu_nb.client.audio import FORMATS, AudioInfo, Frame, load_pcm, probe, stream_frames
from tingwu_nb.client.callbacks import CallbackReceiver
from tingwu_nb.client.pacing import MAX_SPEED
from tingwu_nb.client.phrases import PhraseList, Phrases
from tingwu_nb.client.stream import RealtimeStream, StreamOptions
from tingwu_nb.client.tasks import TaskInfo, TingwuClient
from tingwu_nb.config import Credentials, resolve_credentials
from tingwu_nb.contract.params import RealtimeTaskRequest
from tingwu_nb.errors import (
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
from tingwu_nb.notebook.live import LiveView, record
from tingwu_nb.redaction import redact_text, redact_url
from tingwu_nb.research.metrics import cer, wer
from tingwu_nb.results.catalog import all_frames
from tingwu_nb.results.exports import read_json_bundle, to_json_bundle, to_markdown, to_srt, to_vtt
from tingwu_nb.results.transcription import LIVE_SENTENCE_COLUMNS, SENTENCE_COLUMNS, WORD_COLUMNS
from tingwu_nb.samples import load_sample_meeting, sample_meeting_path
from tingwu_nb.session.connect import connect
from tingwu_nb.session.recording import Session, record_sync
from tingwu_nb.session.recovery import recover

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
    "CallbackReceiver",
    "ConfigError",
    "Credentials",
    "CredentialsError",
    "EncoderUnavailable",
    "Frame",
    "LiveView",
    "LocalProtocolError",
    "ModelError",
    "ModelHashMismatch",
    "ModelNotInstalled",
    "NotTingwuError",
    "OutputError",
    "ParameterError",
    "PhraseList",
    "Phrases",
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
    "all_frames",
    "cer",
    "connect",
    "load_pcm",
    "load_sample_meeting",
    "probe",
    "read_json_bundle",
    "record",
    "record_sync",
    "recover",
    "redact_text",
    "redact_url",
    "resolve_credentials",
    "sample_meeting_path",
    "stream_frames",
    "to_json_bundle",
    "to_markdown",
    "to_srt",
    "to_vtt",
    "wer",
]
