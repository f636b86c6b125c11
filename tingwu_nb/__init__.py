"""tingwu_nb: Alibaba Cloud Tingwu real-time recording as a first-class citizen of Jupyter.

The flat public API. Importing it has no side effects and costs almost nothing: the names below
load on first use (PEP 562), so ``import tingwu_nb`` or ``import tingwu_nb.session.lifecycle``
does not pull in pandas, pyarrow, PyAV, matplotlib or ipywidgets; ``tingwu_nb.record`` (the
notebook view) or ``tingwu_nb.all_frames`` (pandas) load theirs when first touched. The
exception classes are always loaded (stdlib only). The emulator and the speech engine load
only when used.

    session = await tingwu_nb.record("meeting.wav", tingwu_nb.RealtimeTaskRequest.create(language="en"))
    session.sentences()

In a Jupyter kernel ``record`` shows the live view (``view=False``: none); run it as a task
(``asyncio.create_task(tingwu_nb.record(...))``) to keep other cells free while it streams.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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
from tingwu_nb.lazy import lazy_names

if TYPE_CHECKING:  # the same names, for type checkers and IDEs; at run time they load lazily
    from tingwu_nb.client.audio import FORMATS, AudioInfo, Frame, load_pcm, probe, stream_frames
    from tingwu_nb.client.callbacks import CallbackReceiver
    from tingwu_nb.client.pacing import MAX_SPEED
    from tingwu_nb.client.phrases import PhraseList, Phrases
    from tingwu_nb.client.stream import RealtimeStream, StreamOptions
    from tingwu_nb.client.tasks import TaskInfo, TingwuClient
    from tingwu_nb.config import Credentials, resolve_credentials
    from tingwu_nb.contract.params import RealtimeTaskRequest
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

#: public name -> the module that defines it (kept in step with the TYPE_CHECKING block above;
#: tests/test_import_weight.py checks every name in ``__all__`` resolves).
_LAZY: dict[str, str] = {
    "FORMATS": "tingwu_nb.client.audio",
    "AudioInfo": "tingwu_nb.client.audio",
    "Frame": "tingwu_nb.client.audio",
    "load_pcm": "tingwu_nb.client.audio",
    "probe": "tingwu_nb.client.audio",
    "stream_frames": "tingwu_nb.client.audio",
    "CallbackReceiver": "tingwu_nb.client.callbacks",
    "MAX_SPEED": "tingwu_nb.client.pacing",
    "PhraseList": "tingwu_nb.client.phrases",
    "Phrases": "tingwu_nb.client.phrases",
    "RealtimeStream": "tingwu_nb.client.stream",
    "StreamOptions": "tingwu_nb.client.stream",
    "TaskInfo": "tingwu_nb.client.tasks",
    "TingwuClient": "tingwu_nb.client.tasks",
    "Credentials": "tingwu_nb.config",
    "resolve_credentials": "tingwu_nb.config",
    "RealtimeTaskRequest": "tingwu_nb.contract.params",
    "LiveView": "tingwu_nb.notebook.live",
    "record": "tingwu_nb.notebook.live",
    "redact_text": "tingwu_nb.redaction",
    "redact_url": "tingwu_nb.redaction",
    "cer": "tingwu_nb.research.metrics",
    "wer": "tingwu_nb.research.metrics",
    "all_frames": "tingwu_nb.results.catalog",
    "read_json_bundle": "tingwu_nb.results.exports",
    "to_json_bundle": "tingwu_nb.results.exports",
    "to_markdown": "tingwu_nb.results.exports",
    "to_srt": "tingwu_nb.results.exports",
    "to_vtt": "tingwu_nb.results.exports",
    "LIVE_SENTENCE_COLUMNS": "tingwu_nb.results.transcription",
    "SENTENCE_COLUMNS": "tingwu_nb.results.transcription",
    "WORD_COLUMNS": "tingwu_nb.results.transcription",
    "load_sample_meeting": "tingwu_nb.samples",
    "sample_meeting_path": "tingwu_nb.samples",
    "connect": "tingwu_nb.session.connect",
    "Session": "tingwu_nb.session.recording",
    "record_sync": "tingwu_nb.session.recording",
    "recover": "tingwu_nb.session.recovery",
}


__getattr__, __dir__ = lazy_names(__name__, globals(), _LAZY)


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
