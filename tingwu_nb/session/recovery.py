"""Finish a record whose process died: :func:`recover` from its session directory.

A kernel (or a script) that dies mid-record leaves a session directory with the task id, the
endpoint it talked to and every live event received so far (``events.jsonl``). ``recover``:

1. talks to the service that owns the task — the ``client`` you pass, else the endpoint
   recorded in ``session.json`` when it still answers (the embedded emulator of this process,
   or any other endpoint with the configured credentials);
2. stops the task if it is still ONGOING (a paid record must not stay open), waits for it and
   downloads every result file, exactly as :func:`tingwu_nb.record` would have;
3. when the service is gone (the embedded emulator died with the process, the endpoint does
   not answer, or it no longer knows the task), keeps the sentences that arrived live: the
   session is marked ``provisional`` and :meth:`Session.sentences` / :meth:`Session.words`
   read the live SentenceEnd events instead of a result file.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any
from urllib.parse import urlsplit

from tingwu_nb.errors import ServiceError, TingwuError, TransportError
from tingwu_nb.results.transcription import live_transcript_frames
from tingwu_nb.session.connect import connect, running_embedded
from tingwu_nb.session.lifecycle import collect, error_record, secrets_of
from tingwu_nb.session.recorder import SessionWriter
from tingwu_nb.session.recording import Session

__all__ = ["recover"]

#: ``Session.status`` of a session recovered from its live events only.
PROVISIONAL = "provisional"


async def recover(
    directory: str | os.PathLike,
    *,
    client: Any = None,
    poll_interval_s: float = 1.0,
    timeout_s: float = 3600.0,
    reach_timeout_s: float = 5.0,
) -> Session:
    """Finish a session whose process died mid-record; returns the :class:`Session`.

    Args:
        directory: the session directory (its session.json names the task and endpoint).
        client: the service that owns the task. Default: the endpoint recorded in the session
            (the embedded emulator when it is this process's, else :func:`tingwu_nb.session.connect`
            to that endpoint with the configured credentials).
        reach_timeout_s: how long to try the recorded endpoint before deciding it is gone.

    Returns:
        The session with its result files, or — when the service is gone — with
        ``status == "provisional"``: its tables then hold the live sentences, which the
        service never confirmed. Check ``session.meta["provisional_reason"]``.

    Raises:
        FileNotFoundError if ``directory`` is not a session; ValueError if no task was created;
        ConfigError if the endpoint answers but no credentials for it are configured.
    """
    session = Session(directory)
    if not session.task_id:
        raise ValueError(f"{directory}: no task was created (nothing to recover)")
    if client is not None:
        return await _recover(client, session, poll_interval_s, timeout_s)
    endpoint = str(session.meta.get("endpoint") or "")
    embedded = running_embedded(endpoint)
    if embedded is not None:
        async with embedded.client() as own:
            return await _recover(own, session, poll_interval_s, timeout_s)
    if endpoint and not await _answers(endpoint, reach_timeout_s):
        return _provisional(session, f"the recorded endpoint {endpoint} does not answer")
    async with connect(endpoint or None) as default_client:
        return await _recover(default_client, session, poll_interval_s, timeout_s)


async def _recover(client: Any, session: Session, poll_interval_s: float, timeout_s: float) -> Session:
    writer = SessionWriter.reopen(session.directory, secrets=secrets_of(client))
    try:
        try:
            info = await client.get_task_info(session.task_id)
        except (ServiceError, TransportError) as exc:
            writer.update(recover_error=error_record(exc))
            gone = f"the service did not answer for task {session.task_id}: {exc}"
            return _provisional(session, gone, writer)
        if info.status in (None, "INVALID"):
            return _provisional(session, f"the service no longer knows task {session.task_id}", writer)
        if info.status == "ONGOING":
            try:
                await client.stop_realtime_task(session.task_id)
                writer.phase("task_stopped")
            except ServiceError as exc:  # already stopped by someone else: just collect
                writer.update(recover_stop_error=error_record(exc))
        writer.update(recovered=True)
        await collect(client, session.task_id, writer, poll_interval_s, timeout_s, stop=False)
    finally:
        writer.close()
    return Session(session.directory)


def _provisional(session: Session, reason: str, writer: SessionWriter | None = None) -> Session:
    """Keep the live sentences as the session's (unconfirmed) transcript."""
    own = writer is None
    writer = writer or SessionWriter.reopen(session.directory)
    try:
        sentences, words = live_transcript_frames(session.events())
        sentences.to_parquet(session.directory / "sentences.parquet", index=False)
        words.to_parquet(session.directory / "words.parquet", index=False)
        writer.update(recovered=True, provisional=True, provisional_reason=reason,
                      status_before_recover=session.status, status=PROVISIONAL)
    finally:
        if own:
            writer.close()
    return Session(session.directory)


async def _answers(endpoint: str, timeout_s: float) -> bool:
    """True when something accepts a TCP connection at the endpoint's host and port."""
    parts = urlsplit(endpoint)
    if not parts.hostname:
        return False
    port = parts.port or (443 if parts.scheme in ("https", "wss") else 80)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(parts.hostname, port), timeout_s)
    except (OSError, asyncio.TimeoutError, TingwuError):
        return False
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass
    return True
