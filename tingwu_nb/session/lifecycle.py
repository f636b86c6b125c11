"""One realtime record's lifecycle, and how it ends when something goes wrong.

:class:`Recording` runs CreateTask → stream → StopTranscription → CreateTask ``operation=stop``
→ results for :func:`tingwu_nb.record`, writing the session directory as it goes. Once a task
exists, any way out — an error, ``asyncio.CancelledError`` (a notebook interrupt), Ctrl-C —
first ends everything that is open:

1. the stream: StopTranscription if audio was still flowing, then the WebSocket is closed;
2. the task: CreateTask ``operation=stop``, so a paid record never stays open;
3. ``session.json``: ``status`` ``"cancelled"`` or ``"failed"``, ``error`` (what ended it) and
   ``cleanup`` (how each step went),

and only then lets the exception go on. Each step runs to its end even if the caller is
cancelled again meanwhile (:func:`settle`), but never longer than its bound (:data:`BOUNDS`).
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from tingwu_nb.client.audio import PacingReport
from tingwu_nb.client.replay import AudioSource, Gap
from tingwu_nb.client.resilient import ReconnectPolicy, ResilientStream
from tingwu_nb.client.stream import RealtimeStream, StreamOptions, stream_frames_to
from tingwu_nb.contract import events as ev
from tingwu_nb.contract.params import RealtimeTaskRequest
from tingwu_nb.contract.protocol import State
from tingwu_nb.errors import OutputError, TingwuError
from tingwu_nb.redaction import redact_url
from tingwu_nb.session.collect import collect, error_record, target_languages, write_tables
from tingwu_nb.session.gaps import append_gap
from tingwu_nb.session.recorder import SessionWriter, new_session_dir

__all__ = ["BOUNDS", "Bounds", "Recording", "collect", "error_record", "check_out_dir", "discard_session_dir", "open_session", "secrets_of", "settle", "target_languages", "write_tables"]

T = TypeVar("T")


@dataclass(frozen=True)
class Bounds:
    """Longest each cleanup step may take, in seconds (they run one after the other)."""

    stream_stop_s: float = 3.0  # StopTranscription, then a short wait for TranscriptionCompleted
    stream_close_s: float = 5.0
    task_stop_s: float = 15.0  # CreateTask operation=stop, retries included
    create_s: float = 15.0  # a CreateTask in flight when cancelled: wait for its answer to stop it


BOUNDS = Bounds()


@dataclass
class Settled(Generic[T]):
    """How an awaited step ended: its ``value``, or its ``error``; ``interrupted`` if the caller
    was cancelled while waiting (the step was finished anyway)."""

    value: T | None = None
    error: BaseException | None = None
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


async def settle(step: Awaitable[T], timeout_s: float) -> Settled[T]:
    """Await ``step`` to its end even if the caller is cancelled meanwhile, but at most ``timeout_s``.

    Never raises: a failure (``TimeoutError`` when the bound ran out) is returned in
    :attr:`Settled.error`. Cancellations of the caller that arrive meanwhile are absorbed and
    reported as ``interrupted``; the caller re-raises what it was already handling.
    """
    inner = asyncio.ensure_future(asyncio.wait_for(step, timeout_s))
    interrupted = False
    while True:
        try:
            return Settled(value=await asyncio.shield(inner), interrupted=interrupted)
        except asyncio.CancelledError as exc:
            if not inner.done():
                interrupted = True
                continue
            if inner.cancelled():
                return Settled(error=exc, interrupted=interrupted)
            if inner.exception() is None:
                return Settled(value=inner.result(), interrupted=True)
            return Settled(error=inner.exception(), interrupted=True)
        except Exception as exc:  # noqa: BLE001 - returned to the caller, who records it
            return Settled(error=exc, interrupted=interrupted)


def check_out_dir(out_dir: str | os.PathLike) -> None:
    """Raise OutputError when session directories cannot be made under ``out_dir`` (a file in
    the way, no write permission); call it before anything is started, then :func:`open_session`."""
    root = Path(out_dir)
    existing = next((p for p in [root, *root.absolute().parents] if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise OutputError(root, f"{existing} is a file, not a folder")
    if existing is not None and not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(root, "permission denied")


def open_session(out_dir: str | os.PathLike, fmt: str) -> tuple[SessionWriter, Path | None]:
    """A writer on a fresh session directory under ``out_dir``, and ``out_dir`` if created here.

    Raises OutputError (nothing is sent) when the folder cannot be created or written.
    """
    check_out_dir(out_dir)
    root = Path(out_dir)
    created = None if root.exists() else root
    directory = None
    try:
        directory = new_session_dir(root)
        return SessionWriter(directory, fmt=fmt), created
    except OSError as exc:
        if directory is not None:
            discard_session_dir(directory, created)
        raise OutputError(root, (exc.strerror or str(exc)).lower()) from None


def discard_session_dir(directory: Path, created_root: Path | None) -> None:
    """Remove a session directory whose task was never created (and its root if made for it)."""
    shutil.rmtree(directory, ignore_errors=True)
    if created_root is not None:
        try:
            created_root.rmdir()  # only when empty: other sessions stay
        except OSError:
            pass


@dataclass
class Recording:
    """One validated, converted recording; :meth:`run` does the I/O on ``client``.

    ``writer`` is the open session directory. After :meth:`run` (or its exception)
    ``task_id`` says whether a task was created.
    """

    request: RealtimeTaskRequest
    audio: dict[str, Any]
    frames: Iterable  # the stream's frames in order (a list, or PcmFrames cut on demand)
    speed: float
    writer: SessionWriter
    on_event: Callable[[ev.Event], None] | None = None
    options: StreamOptions | None = None
    poll_interval_s: float = 1.0
    timeout_s: float = 3600.0
    bounds: Bounds = BOUNDS
    open_stream: Callable[..., RealtimeStream] = RealtimeStream  # seam, one connection: (join_url, options=, on_event=)
    source: AudioSource | None = None  # the audio again from any point: a dropped connection is replayed from it
    reconnect: ReconnectPolicy | None = None  # None: the default policy (reconnect when a source is given)
    callbacks: Any = None  # a started CallbackReceiver: results arrive by callback as well as by polling
    stop_event: asyncio.Event | None = None  # once set: no more audio; finals drained, task stopped, results fetched
    on_progress: Callable[[str, Any], None] | None = None  # ("audio", total_ms), ("frame", (end_ms, mono)), ("task", TaskInfo)
    task_id: str | None = None
    cleanup: dict[str, str] = field(default_factory=dict)

    async def run(self, client: Any) -> Path:
        """CreateTask → stream → stop → results; returns the session directory."""
        w = self.writer
        for secret in secrets_of(client):
            w.add_secret(secret)
        w.update(request=self.request.to_wire(), audio=self.audio, speed=str(self.speed),
                 endpoint=redact_url(str(getattr(client, "endpoint", ""))), status="creating_task")
        try:
            await self._lifecycle(client)
        finally:
            w.close()
        return w.directory

    async def _lifecycle(self, client: Any) -> None:
        task = await self._create(client)
        stream_error: TingwuError | None = None
        report = PacingReport()
        try:
            try:
                await self._stream(task.meeting_join_url, report)
            except TingwuError as exc:  # the task still holds what was streamed: collect it
                stream_error = exc
                self.writer.update(status="stream_failed", error=error_record(exc), pacing=asdict(report))
            else:
                self.writer.update(pacing=asdict(report))
            await collect(client, task.task_id, self.writer, self.poll_interval_s, self.timeout_s,
                          callbacks=self.callbacks, on_update=self._progress("task"))
        except BaseException as exc:
            await self._abort(client, exc)
            if stream_error is not None and isinstance(exc, Exception):
                raise stream_error from None  # the first cause; the later one is in session.json
            raise
        if stream_error is not None:
            raise stream_error

    async def _create(self, client: Any) -> Any:
        """CreateTask; if cancelled while it is in flight, still learn its task and stop it."""
        self.writer.phase("create")
        call = asyncio.ensure_future(client.create_realtime_task(self.request))
        try:
            task = await asyncio.shield(call)
        except BaseException as exc:
            late = await settle(call, self.bounds.create_s)  # at once when the call itself failed
            if late.ok:
                self._created(late.value)
                await self._abort(client, exc)
            raise
        self._created(task)
        return task

    def _created(self, task: Any) -> None:
        self.task_id = task.task_id
        self.writer.add_secret(task.meeting_join_url)
        self.writer.update(task_id=task.task_id, task_key=task.task_key, status="streaming",
                           create_request_id=task.request_id)

    async def _stream(self, join_url: str, report: PacingReport) -> None:
        w = self.writer

        def handle(event: ev.Event) -> None:
            w.event(event)
            if self.on_event is not None:
                self.on_event(event)

        def sent(frame: Any, mono: float, wall: float) -> None:
            w.frame(frame, mono, wall)
            if self.on_progress is not None:
                self.on_progress("frame", (frame.end_ms, mono))

        def gap(dropped: Gap) -> None:
            append_gap(w.directory, dropped)
            w.update(reconnects=w.meta.get("reconnects", 0) + 1)
            if self.on_progress is not None:
                self.on_progress("gap", dropped)

        stream = ResilientStream(join_url, source=self.source, options=self.options, policy=self.reconnect,
                                 on_event=handle, on_frame=sent, on_gap=gap, open_stream=self.open_stream,
                                 keep_events=False)  # the writer keeps them on disk
        try:
            await stream.open()
            w.phase("stream_started")
            await stream_frames_to(stream, self._until_stopped(), speed=self.speed, report=report)
            w.phase("audio_sent")
            if self.stop_event is not None and self.stop_event.is_set():
                w.update(stopped_early=True)
            await stream.stop()
            w.phase("stream_completed")
        except BaseException as exc:
            if not isinstance(exc, TingwuError):
                await self._stop_stream(stream)
            if await self._close_stream(stream) and not _is_cancel(exc):
                raise asyncio.CancelledError(_CLOSE_INTERRUPTED) from exc
            raise
        if await self._close_stream(stream):
            raise asyncio.CancelledError(_CLOSE_INTERRUPTED)

    def _until_stopped(self) -> Any:
        """The frames, ending early (at a frame boundary) once :attr:`stop_event` is set."""
        for frame in self.frames:
            if self.stop_event is not None and self.stop_event.is_set():
                return
            yield frame

    def _progress(self, kind: str) -> Callable[[Any], None] | None:
        on_progress = self.on_progress
        return None if on_progress is None else (lambda value: on_progress(kind, value))

    async def _close_stream(self, stream: ResilientStream) -> bool:
        """Close the socket (bounded); True if the caller was cancelled meanwhile (settle absorbed it,
        so the caller must raise CancelledError itself rather than go on to collect the results)."""
        closed = await settle(stream.close(), self.bounds.stream_close_s)
        self.cleanup["stream_close"] = "closed" if closed.ok else f"not closed cleanly: {_say(closed.error)}"
        return closed.interrupted

    async def _stop_stream(self, stream: ResilientStream) -> None:
        """Interrupted mid-stream: send StopTranscription and wait briefly for the last events."""
        state = getattr(stream.session, "state", None)
        if state is not State.STREAMING:
            self.cleanup["stream_stop"] = f"nothing to stop (stream {state.name.lower() if state else 'not open'})"
            return
        stopped = await settle(stream.stop(), self.bounds.stream_stop_s)
        self.cleanup["stream_stop"] = ("StopTranscription sent, TranscriptionCompleted received" if stopped.ok else
                                       f"StopTranscription sent ({_say(stopped.error)})")

    async def _abort(self, client: Any, exc: BaseException) -> None:
        """Stop the task (bounded, shielded) and record how the session ended."""
        w = self.writer
        if "task_stopped" in w.meta["phases"]:
            self.cleanup["task_stop"] = "already stopped"
        else:
            stopped = await settle(client.stop_realtime_task(self.task_id), self.bounds.task_stop_s)
            if stopped.ok:
                w.phase("task_stopped")
                w.update(stop_request_id=stopped.value.request_id)
                self.cleanup["task_stop"] = "stopped"
            else:
                self.cleanup["task_stop"] = f"FAILED: {_say(stopped.error)} — the task may still be running"
        fields: dict[str, Any] = {"status": "cancelled" if _is_cancel(exc) else "failed",
                                  "error": error_record(exc), "cleanup": dict(self.cleanup)}
        if "error" in w.meta and w.meta.get("status") == "stream_failed":
            fields["stream_error"] = w.meta["error"]
        w.update(**fields)


_CLOSE_INTERRUPTED = "interrupted while the stream was closing"


def _is_cancel(exc: BaseException) -> bool:
    return isinstance(exc, (asyncio.CancelledError, KeyboardInterrupt))


def _say(exc: BaseException | None) -> str:
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)) and not str(exc):
        return "no answer in time"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def secrets_of(client: Any) -> list[str]:
    """The strings of ``client``'s credentials that must never reach the disk."""
    creds = getattr(client, "credentials", None)
    return [s for s in (getattr(creds, "access_key_secret", None), getattr(creds, "security_token", None)) if s]
