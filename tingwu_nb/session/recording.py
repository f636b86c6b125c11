"""The whole realtime lifecycle in one call, and the Session it leaves on disk.

:func:`record` = validate → probe and convert audio → CreateTask → stream over the join URL
(paced, live events) → StopTranscription → CreateTask ``operation=stop`` → poll
GetTaskInfo → download every result file → sentence and word tables. Each step is written
to the session directory as it happens (:mod:`tingwu_nb.session.recorder`), so a crash loses
nothing. :func:`record_sync` is the same for scripts and cells that cannot ``await``.

    session = await record("meeting.wav", RealtimeTaskRequest.create(language="en"))
    session.sentences()          # DataFrame, results.SENTENCE_COLUMNS
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import warnings
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from tingwu_nb.client.audio import Frame, decode_audio, probe, stream_frames
from tingwu_nb.client.pacing import MAX_SPEED
from tingwu_nb.client.replay import AudioSource, PcmFrames
from tingwu_nb.client.resilient import ReconnectPolicy
from tingwu_nb.client.stream import StreamOptions
from tingwu_nb.contract import events as ev
from tingwu_nb.contract.codec import from_object
from tingwu_nb.contract.params import RealtimeTaskRequest
from tingwu_nb.errors import AudioWarning, ParameterError
from tingwu_nb.results.catalog import TABLES, all_frames
from tingwu_nb.results.speakers import speaker_stats
from tingwu_nb.results.transcription import (
    live_sentences_frame,
    live_transcript_frames,
    sentences_frame,
    words_frame,
)
from tingwu_nb.results.translation import translations_frame
from tingwu_nb.session.lifecycle import (
    Recording,
    check_out_dir,
    discard_session_dir,
    open_session,
    target_languages,
)

__all__ = ["Session", "parse_speed", "record", "record_sync", "run_sync"]

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

    def gaps(self) -> pd.DataFrame:
        """One row per dropped connection and its replay (see :mod:`tingwu_nb.session.gaps`);
        empty when the stream never dropped."""
        from tingwu_nb.session.gaps import read_gaps

        return read_gaps(self.directory)

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

    def table(self, name: str) -> pd.DataFrame:
        """Any table of ``results.TABLES`` by name, parsed from ``results/<Kind>.json``.

        A missing file (feature not requested, or not produced) gives an empty frame with the
        table's documented columns. Prefer the named methods below; ``translations`` needs them.
        """
        if name == "translations":
            return self.translations()
        if name in ("sentences", "words", "speakers"):
            return getattr(self, name)()
        spec = TABLES[name]
        return spec.parse(self.result(spec.kind))

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table by name (``results.TABLES``), each result file read and parsed once.

        What an export of the whole session writes; the same frames as the named methods.
        """
        docs = {kind: self.result(kind) for kind in dict.fromkeys(t.kind for t in TABLES.values())}
        languages = self.target_languages()
        frames = all_frames(docs, languages)
        if docs["Transcription"] is None and self.meta.get("provisional"):  # self.provisional, file already read
            sentences, words = live_transcript_frames(self.events())
            frames.update(sentences=sentences, words=words, speakers=speaker_stats(sentences),
                          translations=translations_frame(docs["Translation"], languages, sentences=sentences))
        return frames

    def target_languages(self) -> list[str]:
        """The translation targets this session asked for (``Parameters.Translation.TargetLanguages``)."""
        return target_languages(self.meta)

    def paragraphs(self) -> pd.DataFrame:
        """Speaker paragraphs of the Transcription file (``results.PARAGRAPH_COLUMNS``)."""
        return self.table("paragraphs")

    def speakers(self) -> pd.DataFrame:
        """Talk time, turns, rate and longest monologue per speaker (``results.SPEAKER_COLUMNS``)."""
        return speaker_stats(self.sentences())

    def translations(self) -> pd.DataFrame:
        """Translations aligned to :meth:`sentences`: ``sentence_id, start_s, end_s`` + one column per target."""
        return translations_frame(self.result("Translation"), self.target_languages(), sentences=self.sentences())

    def chapters(self) -> pd.DataFrame:
        """AutoChapters (``results.CHAPTER_COLUMNS``)."""
        return self.table("chapters")

    def keywords(self) -> pd.DataFrame:
        """MeetingAssistance keywords (``results.KEYWORD_COLUMNS``)."""
        return self.table("keywords")

    def key_sentences(self) -> pd.DataFrame:
        """MeetingAssistance key sentences (``results.KEY_SENTENCE_COLUMNS``)."""
        return self.table("key_sentences")

    def actions(self) -> pd.DataFrame:
        """MeetingAssistance action items (``results.ACTION_COLUMNS``)."""
        return self.table("actions")

    def classifications(self) -> pd.DataFrame:
        """MeetingAssistance scene scores (``results.CLASSIFICATION_COLUMNS``)."""
        return self.table("classifications")

    def summary(self) -> pd.DataFrame:
        """Title and full-text summary (``results.SUMMARY_COLUMNS``)."""
        return self.table("summary")

    def speaker_summaries(self) -> pd.DataFrame:
        """Summary per speaker (``results.SPEAKER_SUMMARY_COLUMNS``)."""
        return self.table("speaker_summaries")

    def qa(self) -> pd.DataFrame:
        """Questions and answers with their sentence ids (``results.QA_COLUMNS``)."""
        return self.table("qa")

    def mindmap(self) -> pd.DataFrame:
        """Mind-map nodes in pre-order (``results.MINDMAP_COLUMNS``)."""
        return self.table("mindmap")

    def mindmap_edges(self) -> pd.DataFrame:
        """Mind-map edge list (``results.MINDMAP_EDGE_COLUMNS``)."""
        return self.table("mindmap_edges")

    def polished(self) -> pd.DataFrame:
        """TextPolish paragraphs (``results.POLISH_COLUMNS``)."""
        return self.table("polished")

    def inspection(self) -> pd.DataFrame:
        """ServiceInspection, one row per dimension (``results.INSPECTION_COLUMNS``)."""
        return self.table("inspection")

    def custom_prompt(self) -> pd.DataFrame:
        """CustomPrompt answers (``results.CUSTOM_PROMPT_COLUMNS``)."""
        return self.table("custom_prompt")

    def identities(self) -> pd.DataFrame:
        """IdentityRecognition per speaker (``results.IDENTITY_COLUMNS``)."""
        return self.table("identities")

    def extractions(self) -> pd.DataFrame:
        """ContentExtraction fields (``results.EXTRACTION_COLUMNS``)."""
        return self.table("extractions")

    def _repr_html_(self) -> str:
        """Jupyter's view: id, status, duration, result tables, first sentences in full (redacted)."""
        from tingwu_nb.session.overview import session_html

        return session_html(self)


def _stamp(message: ev.Message, row: dict[str, Any]) -> ev.Message:
    return replace(message, received_at=row.get("mono"), received_wall=row.get("wall"),
                               audio_sent_ms=row.get("audio_sent_ms"))


async def record(
    source: str | os.PathLike | bytes,
    request: RealtimeTaskRequest | None = None,
    *,
    client: Any = None,
    speed: float | str = 1.0,
    out_dir: str | os.PathLike | None = None,
    on_event: Callable[[ev.Event], None] | None = None,
    options: StreamOptions | None = None,
    poll_interval_s: float = 1.0,
    timeout_s: float = 3600.0,
    callbacks: Any = None,
    stop_event: asyncio.Event | None = None,
    on_progress: Callable[[str, Any], None] | None = None,
    reconnect: ReconnectPolicy | None = None,
) -> Session:
    """Run one realtime record end to end and return its :class:`Session`.

    Args:
        source: an audio file (any common format) or its bytes.
        request: the CreateTask parameters; English 16 kHz PCM with live interim results
            when omitted. Validated (and the audio converted) before anything is sent.
        client: a :class:`~tingwu_nb.client.tasks.TingwuClient`; default: the cloud when
            credentials are configured, else the embedded emulator (:func:`tingwu_nb.session.connect`).
        speed: audio pacing, 1.0 = real time, up to :data:`~tingwu_nb.client.pacing.MAX_SPEED`;
            ``math.inf`` or ``"max"`` sends at MAX_SPEED (see :func:`parse_speed`).
        out_dir: parent folder of the session directory (default ``./sessions``).
        on_event: called with every live event (stamped with receive and audio times).
        callbacks: a started :class:`~tingwu_nb.client.callbacks.CallbackReceiver` whose URL
            is the AppKey's callback URL; the request must enable ``ProgressiveCallbacksEnabled``.
            The wait for results then ends on the service's final callback (polling continues
            as a safety net).
        stop_event: once set (a Stop button), no more audio is sent; every final is drained,
            the task stopped and its results fetched as usual (``meta["stopped_early"]``).
        on_progress: called with ``("audio", total_ms)`` once the audio is converted,
            ``("frame", (end_ms, monotonic_sent_at))`` after each frame sent,
            ``("gap", Gap)`` after each reconnect, and
            ``("task", TaskInfo)`` for each GetTaskInfo while post-processing runs.
        reconnect: how a dropped WebSocket is survived (default :class:`ReconnectPolicy`: up to
            6 attempts with backoff, the unfinalised audio replayed, one continuous timeline;
            each drop is a row of ``session.gaps()``). ``ReconnectPolicy(enabled=False)`` fails instead.

    Corrupt stretches of the audio are replaced by silence of their length (timestamps stay
    right), issued as :class:`~tingwu_nb.errors.AudioWarning` and kept in
    ``session.meta["audio"]["warnings"]``.

    Raises:
        ParameterError, AudioError, OutputError or ConfigError before any task exists (and no
        session directory is left behind). Afterwards — ServiceError, TaskFailedError,
        TransportError, TingwuTimeoutError, or ``asyncio.CancelledError`` / ``KeyboardInterrupt``
        when interrupted — the stream and the task have been stopped first and ``session.json``
        says how it ended (``status``, ``error``, ``cleanup``); the exception carries the
        directory as ``exc.session_dir``: open it with :class:`Session`, or finish it with
        :func:`tingwu_nb.recover`.
    """
    request = request or RealtimeTaskRequest.create()
    speed = parse_speed(speed)
    if callbacks is not None and not request.input.progressive_callbacks_enabled:
        raise ParameterError("Input.ProgressiveCallbacksEnabled", "must be true when callbacks= is given "
                             "(create the request with progressive_callbacks_enabled=True)", False)
    for name, value in (("poll_interval_s", poll_interval_s), ("timeout_s", timeout_s)):
        if not value > 0:
            raise ParameterError(name, f"must be > 0 seconds, got {value!r}", value)
    check_out_dir(out_dir or DEFAULT_ROOT)  # before the audio is decoded: a cheap refusal first
    audio, frames, replay = await asyncio.to_thread(_prepare, source, request)
    for message in audio["warnings"]:
        warnings.warn(message, AudioWarning, stacklevel=2)
    if on_progress is not None:
        on_progress("audio", replay.duration_ms)
    writer, created_root = open_session(out_dir or DEFAULT_ROOT, request.input.format)
    recording = Recording(request=request, audio=audio, frames=frames, speed=speed, writer=writer,
                          on_event=on_event, options=options, poll_interval_s=poll_interval_s, timeout_s=timeout_s,
                          callbacks=callbacks, stop_event=stop_event, on_progress=on_progress, source=replay,
                          reconnect=reconnect)
    try:
        return Session(await _on_client(client, recording.run))
    except BaseException as exc:
        writer.close()
        if recording.task_id is None:  # nothing was created: leave nothing behind
            discard_session_dir(writer.directory, created_root)
        else:
            exc.session_dir = writer.directory
        raise


def parse_speed(value: float | str) -> float:
    """A sending speed as record() takes it: a number > 0 up to MAX_SPEED, or ``inf`` / ``"max"``.

    Returns the float (``math.inf`` for "max", which :func:`~tingwu_nb.client.stream.stream_frames_to`
    sends at :data:`~tingwu_nb.client.pacing.MAX_SPEED`). Raises ParameterError naming what is accepted.
    """
    text = str(value).strip().lower()
    accepted = f"use a number > 0 (1 = real time, at most {MAX_SPEED:g}) or max"
    try:
        speed = math.inf if text in ("max", "inf", "infinity") else float(text)
    except ValueError:
        raise ParameterError("speed", f"{value!r} is not a speed; {accepted}", value) from None
    if not speed > 0 or (speed > MAX_SPEED and not math.isinf(speed)):
        raise ParameterError("speed", f"{value!r} is out of range; {accepted}", value)
    return speed


def _prepare(source: str | os.PathLike | bytes,
             request: RealtimeTaskRequest) -> tuple[dict[str, Any], Iterable[Frame], AudioSource]:
    """Probe, decode and frame the audio (CPU work, run in a thread): session.json's audio, frames,
    and the decoded audio as the replay source of reconnects.

    The samples are spooled to a temporary file (a memmap) and pcm frames are cut as they are
    sent, so what a long recording holds in memory does not grow with its length; a compressed
    format holds its encoded stream (about 1/10 of the samples)."""
    fmt, rate = request.input.format, request.input.sample_rate
    info = probe(source)
    decoded = decode_audio(source, sample_rate=rate, spool=True)
    frames = PcmFrames(decoded.pcm, rate) if fmt == "pcm" else stream_frames(decoded.pcm, rate, fmt)
    audio = asdict(info) | {"source": str(info.source), "warnings": list(decoded.warnings),
                            "gaps": [asdict(g) for g in decoded.gaps]}
    return audio, frames, AudioSource(decoded.pcm, rate, fmt)


async def _on_client(client: Any, run: Callable[[Any], Awaitable[T]]) -> T:
    """``run(client)``, or run it on :func:`tingwu_nb.session.connect`'s client when none is given."""
    if client is not None:
        return await run(client)
    from tingwu_nb.session.connect import connect

    async with connect() as default_client:
        return await run(default_client)


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion from sync code, inside a running kernel loop or not.

    A KeyboardInterrupt (Ctrl-C, a kernel interrupt) cancels ``coro`` and lets it finish its
    cleanup — :func:`record` stops the stream and the task — before the interrupt goes on.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # asyncio.run cancels the main task on Ctrl-C (3.11+) or all tasks (3.10)
        return asyncio.run(coro)
    import nest_asyncio

    nest_asyncio.apply(loop)
    task = loop.create_task(coro)
    try:
        return loop.run_until_complete(task)
    except KeyboardInterrupt:
        task.cancel("interrupted (KeyboardInterrupt)")
        try:
            loop.run_until_complete(task)
        except (asyncio.CancelledError, Exception):  # noqa: BLE001 - the interrupt is what goes on
            pass
        raise


def record_sync(source: str | os.PathLike | bytes, request: RealtimeTaskRequest | None = None,
                **kwargs: Any) -> Session:
    """:func:`record` for scripts and notebook cells that cannot ``await``."""
    return run_sync(record(source, request, **kwargs))

