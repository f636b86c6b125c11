"""In-memory task records shared by the emulator's REST and WebSocket sides.

Lifecycle (``tingwu-rest-api.md`` §3, suggested state machine)::

    start  -> status ONGOING,   phase "streaming"       (WebSocket appends sentences/pcm)
    stop   -> status ONGOING,   phase "postprocessing"  (results appear progressively)
    done   -> status COMPLETED | FAILED, phase "done"

Listeners (``TaskStore.subscribe``) hear ``(record, what)`` each time a key of
``record.results`` is set (``what`` = the key) and when the task ends (``what`` =
``"TaskStatus"``, sent by the REST side); the callback sender (emulator/callbacks.py) uses it.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from tingwu_nb.emulator.spool import PcmSpool

__all__ = ["Listener", "ResultMap", "TaskRecord", "TaskStore"]

Listener = Callable[["TaskRecord", str], None]
_log = logging.getLogger("tingwu_nb.emulator")


class ResultMap(dict):
    """``TaskRecord.results``: a dict that reports every key set (``[]=``, update, setdefault)."""

    __slots__ = ("_on_set",)

    def __init__(self, *args: Any, on_set: Callable[[str], None] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._on_set = on_set

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        if self._on_set is not None:
            self._on_set(key)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]


@dataclass(eq=False)
class TaskRecord:
    """One emulated task. Mutable: the REST and WebSocket handlers update it in place.

    The repr omits the join token, the request body and all bulk data.
    """

    task_id: str
    task_key: str | None
    app_key: str
    access_key_id: str
    request: dict[str, Any] = field(repr=False)
    format: str
    sample_rate: int
    language: str
    parameters: dict[str, Any] = field(repr=False)
    join_token: str = field(repr=False)
    created_at: float
    status: str = "ONGOING"
    phase: str = "streaming"
    stopped_at: float | None = None
    completed_at: float | None = None
    sentences: list[Any] = field(default_factory=list, repr=False)
    # the audio received so far, s16le, spooled to a temporary file (emulator/spool.py)
    pcm: PcmSpool = field(default_factory=PcmSpool, repr=False)
    results: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    # result files by name: the mp3 is a nameless file on disk (analysis/transcode.py); bytes also served
    files: dict[str, bytes | PcmSpool] = field(default_factory=dict, repr=False)
    output_mp3: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    stream_active: bool = False
    # Transcription.PhraseId's (word, weight) pairs as they were at CreateTask (emulator/phrases.py)
    hotwords: tuple[tuple[str, int], ...] = field(default=(), repr=False)
    postprocess_task: asyncio.Task[None] | None = field(default=None, repr=False)
    # "scheme://host" the client called at start: result URLs in callbacks point there
    origin: str | None = field(default=None, repr=False)
    listeners: list[Listener] = field(default_factory=list, repr=False)
    # fault injection for this task (emulator/faults.py FaultState); None: the server's plan
    faults: Any = field(default=None, repr=False)
    # the live diarizer, kept across sequential connections so speaker ids stay stable
    live_diarizer: Any = field(default=None, repr=False)
    # post-meeting analysis per Result key: {"seconds", "engine", "fallbacks"[, "error"]} (analysis/pipeline.py)
    analysis_report: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)

    def rewind(self, sentences_sent: int) -> None:
        """A stream ended without TranscriptionCompleted (``reconnect_resume="last_final"``): keep
        the first ``sentences_sent`` sentences (those whose SentenceEnd went out) and the audio up
        to the end of the last of them, so the next connection continues from there."""
        del self.sentences[sentences_sent:]
        end_ms = self.sentences[-1]["end_ms"] if self.sentences else 0
        self.pcm.truncate(end_ms * self.sample_rate // 1000 * 2)

    def release_audio(self) -> None:
        """Delete the spooled audio (the task is finished, or the emulator stops). Safe twice."""
        self.pcm.close()

    async def release_audio_off_loop(self) -> None:
        """:meth:`release_audio` on a worker thread (freeing a day's file takes ~0.5 s), or at
        once when the loop's executor is already shut down (the emulator is stopping)."""
        try:
            await asyncio.to_thread(self.release_audio)
        except RuntimeError:  # "cannot schedule new futures after shutdown"
            self.release_audio()

    def __setattr__(self, name: str, value: Any) -> None:
        # results always stays a ResultMap, so listeners hear every result, however it is set
        if name == "results" and not isinstance(value, ResultMap):
            value = ResultMap(value, on_set=self._result_set)
        object.__setattr__(self, name, value)

    def _result_set(self, kind: str) -> None:
        self.notify(kind)

    def notify(self, what: str) -> None:
        """Tell the listeners ``what`` changed (a Result key, or ``"TaskStatus"`` at the end).

        A listener that raises is logged and skipped: it never breaks post-processing.
        """
        for listener in list(self.listeners):
            try:
                listener(self, what)
            except Exception:  # noqa: BLE001 - an observer must not fail the task
                _log.exception("task listener failed for %s (%s)", self.task_id, what)

    @property
    def input(self) -> Mapping[str, Any]:
        """The request's ``Input`` object (empty mapping if absent)."""
        value = self.request.get("Input")
        return value if isinstance(value, Mapping) else {}


class TaskStore:
    """Task records by TaskId and by MeetingJoinUrl ``mc`` token."""

    def __init__(self, spool_dir: str | None = None) -> None:
        self.spool_dir = spool_dir  # where each task's audio is spooled (None: the system temp dir)
        self._by_id: dict[str, TaskRecord] = {}
        self._by_token: dict[str, TaskRecord] = {}
        self._listeners: list[Listener] = []  # shared by every record (see TaskRecord.notify)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(record, what)`` on every record's changes; returns the unsubscribe call.

        It runs synchronously where the change happens (normally the emulator's event loop), so
        it must only take a snapshot and schedule work, never block.
        """
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def create(self, *, app_key: str, access_key_id: str, request: Mapping[str, Any], now: float) -> TaskRecord:
        """Create an ONGOING/streaming record from a validated realtime start body.

        The caller must have validated ``request`` (Input.Format, SampleRate, SourceLanguage).
        """
        body = dict(request)
        inp = body.get("Input") or {}
        params = body.get("Parameters")
        record = TaskRecord(
            task_id=uuid.uuid4().hex,
            task_key=None if inp.get("TaskKey") is None else str(inp["TaskKey"]),
            app_key=app_key,
            access_key_id=access_key_id,
            request=body,
            format=str(inp.get("Format", "")),
            sample_rate=int(inp.get("SampleRate", 0)),
            language=str(inp.get("SourceLanguage", "")),
            parameters=dict(params) if isinstance(params, Mapping) else {},
            join_token=secrets.token_urlsafe(32),
            created_at=now,
            listeners=self._listeners,
            pcm=PcmSpool(self.spool_dir),
        )
        self._by_id[record.task_id] = record
        self._by_token[record.join_token] = record
        return record

    def get(self, task_id: str) -> TaskRecord | None:
        """Return the record for ``task_id`` or None."""
        return self._by_id.get(task_id)

    def by_token(self, token: str) -> TaskRecord | None:
        """Return the record whose join token is ``token`` (constant-time per candidate) or None."""
        record = self._by_token.get(token)
        if record is not None and secrets.compare_digest(record.join_token, token):
            return record
        return None

    def close(self) -> None:
        """Release every task's spooled audio and result files on disk (the emulator stops); the
        records stay readable."""
        for record in self:
            record.release_audio()
            for kept in record.files.values():
                if isinstance(kept, PcmSpool):
                    kept.close()

    def __iter__(self) -> Iterator[TaskRecord]:
        return iter(list(self._by_id.values()))

    def __len__(self) -> int:
        return len(self._by_id)

    def __repr__(self) -> str:
        return f"TaskStore({len(self)} tasks)"
