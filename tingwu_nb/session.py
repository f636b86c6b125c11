"""The whole realtime lifecycle in one call, and the Session it leaves on disk.

:func:`record` = validate → probe and convert audio → CreateTask → stream over the join URL
(paced, live events) → StopTranscription → CreateTask ``operation=stop`` → poll
GetTaskInfo → download every result file → sentence and word tables. Each step is written
to the session directory as it happens (:mod:`tingwu_nb.recorder`), so a crash loses
nothing. :func:`record_sync` is the same for scripts and cells that cannot ``await``.

    session = await record("meeting.wav", RealtimeTaskRequest.create(language="en"))
    session.sentences()          # DataFrame, results.SENTENCE_COLUMNS
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from . import events as ev
from .audio import PacingReport, load_pcm, probe, stream_frames
from .codec import from_object
from .config import redact_url
from .errors import TingwuError
from .params import RealtimeTaskRequest
from .recorder import SessionWriter, new_session_dir
from .results import live_sentences_frame, live_transcript_frames, sentences_frame, words_frame
from .stream import RealtimeStream, StreamOptions, stream_frames_to

__all__ = ["Session", "record", "record_sync", "run_sync"]

T = TypeVar("T")
DEFAULT_ROOT = "sessions"


class Session:
    """A realtime record on disk: read its tables, events and result files.

    Open one with ``Session(path)``; :func:`record` returns one for the session it wrote.
    """

    def __init__(self, directory: str | os.PathLike) -> None:
        self.directory = Path(directory)
        meta_path = self.directory / "session.json"
        if not meta_path.exists():
            raise FileNotFoundError(f"{self.directory} is not a session directory (no session.json)")
        self.meta: dict[str, Any] = json.loads(meta_path.read_text(encoding="utf-8"))

    def __repr__(self) -> str:
        return f"<Session {self.task_id} {self.status} at {self.directory}>"

    @property
    def task_id(self) -> str | None:
        return self.meta.get("task_id")

    @property
    def status(self) -> str:
        return self.meta.get("status", "unknown")

    def result(self, kind: str) -> dict[str, Any] | None:
        """A downloaded result file (``"Transcription"``, ...) or None if there is none."""
        path = self.directory / "results" / f"{kind}.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

    @property
    def transcription(self) -> dict[str, Any] | None:
        return self.result("Transcription")

    def events(self) -> list[ev.Message]:
        """Every event received live, decoded again, stamped with its receive times."""
        out = []
        lines = (self.directory / "events.jsonl").read_text(encoding="utf-8").splitlines()
        for n, line in enumerate(lines):
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                if n == len(lines) - 1:
                    break  # the line being written when the process died
                raise
            out.append(_stamp(from_object(row["message"]), row))
        return out

    def frames(self) -> pd.DataFrame:
        """One row per audio frame sent (seq, bytes, start_ms, end_ms, mono, wall)."""
        return pd.read_json(self.directory / "frames.jsonl", lines=True)

    @property
    def provisional(self) -> bool:
        """True when the tables hold live sentences the service never confirmed (see recover)."""
        return bool(self.meta.get("provisional")) and self.transcription is None

    def sentences(self) -> pd.DataFrame:
        """Final sentences from the Transcription file (``results.SENTENCE_COLUMNS``).

        A :attr:`provisional` session (recovered after its service died) gives the live
        sentences instead, in the same columns.
        """
        if self.provisional:
            return live_transcript_frames(self.events())[0]
        doc = self.transcription
        return sentences_frame(doc) if doc is not None else sentences_frame({})

    def words(self) -> pd.DataFrame:
        """Words from the Transcription file (``results.WORD_COLUMNS``); live words if provisional."""
        if self.provisional:
            return live_transcript_frames(self.events())[1]
        doc = self.transcription
        return words_frame(doc) if doc is not None else words_frame({})

    def live_sentences(self) -> pd.DataFrame:
        """SentenceEnd events as received live, with latency (``results.LIVE_SENTENCE_COLUMNS``)."""
        frames = self.frames() if (self.directory / "frames.jsonl").stat().st_size else pd.DataFrame()
        sent = list(zip(frames["end_ms"], frames["mono"])) if len(frames) else []
        return live_sentences_frame(self.events(), sent)

    def _repr_html_(self) -> str:
        head = f"<b>Tingwu session</b> {self.task_id} — {self.status} — <code>{self.directory}</code>"
        if self.provisional:
            head += "<br><i>provisional: live sentences only, the service never confirmed them</i>"
        return head + self.sentences().to_html(index=False, max_rows=30)


def _stamp(message: ev.Message, row: dict[str, Any]) -> ev.Message:
    return replace(message, received_at=row.get("mono"), received_wall=row.get("wall"),
                               audio_sent_ms=row.get("audio_sent_ms"))


async def record(
    source: str | os.PathLike | bytes,
    request: RealtimeTaskRequest | None = None,
    *,
    client: Any = None,
    speed: float = 1.0,
    out_dir: str | os.PathLike | None = None,
    on_event: Callable[[ev.Event], None] | None = None,
    options: StreamOptions | None = None,
    poll_interval_s: float = 1.0,
    timeout_s: float = 3600.0,
) -> Session:
    """Run one realtime record end to end and return its :class:`Session`.

    Args:
        source: an audio file (any common format) or its bytes.
        request: the CreateTask parameters; English 16 kHz PCM with live interim results
            when omitted. Validated (and the audio converted) before anything is sent.
        client: a :class:`~tingwu_nb.tasks.TingwuClient`; default: the cloud when
            credentials are configured, else the embedded emulator (:func:`tingwu_nb.connect`).
        speed: audio pacing, 1.0 = real time; ``math.inf`` sends as fast as possible.
        out_dir: parent folder of the session directory (default ``./sessions``).
        on_event: called with every live event (stamped with receive and audio times).

    Raises:
        AudioError / ParameterError before any task exists; ServiceError, TaskFailedError,
        TransportError or TingwuTimeoutError afterwards — by then the task has been stopped
        and the session directory holds everything received so far.
    """
    request = request or RealtimeTaskRequest.create()
    fmt, rate = request.input.format, request.input.sample_rate
    info = probe(source)
    frames = stream_frames(load_pcm(source, sample_rate=rate), rate, fmt)
    recording = _Recording(request=request, info=info, frames=frames, speed=speed, out_dir=out_dir,
                           on_event=on_event, options=options, poll_interval_s=poll_interval_s, timeout_s=timeout_s)
    return await _on_client(client, recording.run)


async def _on_client(client: Any, run: Callable[[Any], Awaitable[T]]) -> T:
    """``run(client)``, or run it on :func:`tingwu_nb.connect`'s client when none is given."""
    if client is not None:
        return await run(client)
    from .connect import connect

    async with connect() as default_client:
        return await run(default_client)


@dataclass
class _Recording:
    """One validated, converted recording and how to run it; :meth:`run` does the I/O."""

    request: RealtimeTaskRequest
    info: Any
    frames: list
    speed: float
    out_dir: str | os.PathLike | None
    on_event: Callable[[ev.Event], None] | None
    options: StreamOptions | None
    poll_interval_s: float
    timeout_s: float

    async def run(self, client: Any) -> Session:
        """CreateTask → stream → stop → results, writing the session directory as it goes."""
        writer = SessionWriter(new_session_dir(self.out_dir or DEFAULT_ROOT), fmt=self.request.input.format,
                               secrets=_secrets_of(client))
        writer.update(request=self.request.to_wire(), audio=asdict(self.info) | {"source": str(self.info.source)},
                      endpoint=redact_url(str(getattr(client, "endpoint", ""))), speed=str(self.speed))
        try:
            await self._lifecycle(client, writer)
        finally:
            writer.close()
        return Session(writer.directory)

    async def _lifecycle(self, client: Any, writer: SessionWriter) -> None:
        writer.phase("create")
        task = await client.create_realtime_task(self.request)
        writer.add_secret(task.meeting_join_url)
        writer.update(task_id=task.task_id, task_key=task.task_key, status="streaming",
                      create_request_id=task.request_id)
        report = PacingReport()
        try:
            await self._stream(task.meeting_join_url, writer, report)
        except TingwuError as exc:
            writer.update(status="stream_failed", error=_error_record(exc), pacing=asdict(report))
            await _collect(client, task.task_id, writer, self.poll_interval_s, self.timeout_s)
            raise
        writer.update(pacing=asdict(report))
        await _collect(client, task.task_id, writer, self.poll_interval_s, self.timeout_s)

    async def _stream(self, join_url: str, writer: SessionWriter, report: PacingReport) -> None:
        def handle(event: ev.Event) -> None:
            writer.event(event)
            if self.on_event is not None:
                self.on_event(event)

        async with RealtimeStream(join_url, options=self.options, on_event=handle, on_frame=writer.frame) as stream:
            writer.phase("stream_started")
            await stream_frames_to(stream, self.frames, speed=self.speed, report=report)
            writer.phase("audio_sent")
            await stream.stop()
            writer.phase("stream_completed")


async def _collect(client: Any, task_id: str, writer: SessionWriter, poll_interval_s: float, timeout_s: float,
                   *, stop: bool = True) -> None:
    """Stop the record (unless told not to), wait for it, download every result, write the tables."""
    if stop:
        stopped = await client.stop_realtime_task(task_id)
        writer.phase("task_stopped")
        writer.update(stop_request_id=stopped.request_id)
    final = await client.wait_for_task(task_id, poll_interval_s=poll_interval_s, timeout_s=timeout_s)
    writer.phase("task_finished")
    results = {}
    for kind, url in sorted(final.result_urls.items()):
        results[kind] = writer.result(kind, await client.fetch_json(url)).name
    if final.output_mp3_path:
        mp3 = await client.fetch_bytes(final.output_mp3_path)
        results["OutputMp3Path"] = writer.blob(f"{task_id}.mp3", mp3).name
    fields: dict[str, Any] = {"results": results}
    if writer.meta.get("status") != "stream_failed":
        fields["status"] = final.status or "unknown"
    if final.error_code:
        fields["task_error"] = {"code": final.error_code, "message": final.error_message}
    writer.update(**fields)
    transcription = writer.directory / "results" / "Transcription.json"
    if transcription.exists():
        doc = json.loads(transcription.read_text(encoding="utf-8"))
        sentences_frame(doc).to_parquet(writer.directory / "sentences.parquet", index=False)
        words_frame(doc).to_parquet(writer.directory / "words.parquet", index=False)


def _error_record(exc: BaseException) -> dict[str, Any]:
    fields = {k: getattr(exc, k) for k in ("code", "status_code", "request_id", "status", "status_text")
              if getattr(exc, k, None) is not None}
    return {"type": type(exc).__name__, "message": str(exc), **fields}


def _secrets_of(client: Any) -> list[str]:
    creds = getattr(client, "credentials", None)
    return [s for s in (getattr(creds, "access_key_secret", None), getattr(creds, "security_token", None)) if s]


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion from sync code, inside a running kernel loop or not."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    import nest_asyncio

    nest_asyncio.apply(loop)
    return loop.run_until_complete(coro)


def record_sync(source: str | os.PathLike | bytes, request: RealtimeTaskRequest | None = None,
                **kwargs: Any) -> Session:
    """:func:`record` for scripts and notebook cells that cannot ``await``."""
    return run_sync(record(source, request, **kwargs))

