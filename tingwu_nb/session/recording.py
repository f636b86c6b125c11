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
import math
import os
import warnings
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import asdict
from typing import Any, TypeVar

from tingwu_nb.client.audio import Frame, decode_audio, probe, stream_frames
from tingwu_nb.client.pacing import MAX_SPEED
from tingwu_nb.client.replay import AudioSource, PcmFrames
from tingwu_nb.client.resilient import ReconnectPolicy
from tingwu_nb.client.stream import StreamOptions
from tingwu_nb.contract import events as ev
from tingwu_nb.contract.params import RealtimeTaskRequest
from tingwu_nb.errors import AudioWarning, ParameterError
from tingwu_nb.session.lifecycle import (
    Recording,
    check_out_dir,
    discard_session_dir,
    open_session,
)
from tingwu_nb.session.stored import Session

__all__ = ["Session", "parse_speed", "record", "record_sync", "run_sync"]

T = TypeVar("T")
DEFAULT_ROOT = "sessions"


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

