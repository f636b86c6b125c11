"""In-memory task records shared by the emulator's REST and WebSocket sides.

Lifecycle (``tingwu-rest-api.md`` §3, suggested state machine)::

    start  -> status ONGOING,   phase "streaming"       (WebSocket appends sentences/pcm)
    stop   -> status ONGOING,   phase "postprocessing"  (results appear progressively)
    done   -> status COMPLETED | FAILED, phase "done"
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["TaskRecord", "TaskStore"]


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
    pcm: bytearray = field(default_factory=bytearray, repr=False)
    results: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    files: dict[str, bytes] = field(default_factory=dict, repr=False)
    output_mp3: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    stream_active: bool = False
    # Transcription.PhraseId's (word, weight) pairs as they were at CreateTask (emulator/phrases.py)
    hotwords: tuple[tuple[str, int], ...] = field(default=(), repr=False)
    postprocess_task: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def input(self) -> Mapping[str, Any]:
        """The request's ``Input`` object (empty mapping if absent)."""
        value = self.request.get("Input")
        return value if isinstance(value, Mapping) else {}


class TaskStore:
    """Task records by TaskId and by MeetingJoinUrl ``mc`` token."""

    def __init__(self) -> None:
        self._by_id: dict[str, TaskRecord] = {}
        self._by_token: dict[str, TaskRecord] = {}

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

    def __iter__(self) -> Iterator[TaskRecord]:
        return iter(list(self._by_id.values()))

    def __len__(self) -> int:
        return len(self._by_id)

    def __repr__(self) -> str:
        return f"TaskStore({len(self)} tasks)"
