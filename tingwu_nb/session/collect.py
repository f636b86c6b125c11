"""The end of a record: stop the task, wait for its results, download them, write the tables.

:func:`collect` is what :class:`~tingwu_nb.session.lifecycle.Recording` and
:func:`~tingwu_nb.session.recovery.recover` run once the stream is over; it stamps each result
key when the service first lists it (``results_ready`` in session.json) and writes every
non-empty result table as Parquet.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from typing import Any

from tingwu_nb.client.download import MP3, download_results, result_document
from tingwu_nb.errors import TingwuError
from tingwu_nb.session.recorder import SessionWriter

__all__ = ["collect", "error_record", "note_results_ready", "target_languages", "write_tables"]


async def collect(client: Any, task_id: str, writer: SessionWriter, poll_interval_s: float, timeout_s: float,
                  *, stop: bool = True, callbacks: Any = None,
                  on_update: Callable[[Any], None] | None = None) -> None:
    """Stop the record (unless told not to), wait for it, download every result, write the tables.

    ``callbacks`` (a started :class:`~tingwu_nb.client.callbacks.CallbackReceiver`) ends the
    wait as soon as the service's final callback arrives; ``on_update`` gets every TaskInfo seen
    while waiting (result keys appear as post-processing finishes). The mp3 is streamed into
    ``results/`` in chunks (a ``.part`` file renamed once whole). Every file that downloads is saved
    even when another fails; then the first failure is raised (session.json keeps each one
    under ``download_errors``). Each non-empty result table is written as ``<name>.parquet``.
    """
    if stop:
        stopped = await client.stop_realtime_task(task_id)
        writer.phase("task_stopped")
        writer.update(stop_request_id=stopped.request_id)
    writer.update(results_ready_poll_s=poll_interval_s)

    def seen(info: Any) -> None:
        note_results_ready(writer, info)
        if on_update is not None:
            on_update(info)

    final = await client.wait_for_task(task_id, poll_interval_s=poll_interval_s, timeout_s=timeout_s,
                                       on_update=seen,
                                       **({"callbacks": callbacks} if callbacks is not None else {}))
    writer.phase("task_finished")
    # concurrent; stale links renewed via GetTaskInfo; the mp3 streamed to disk, never into memory
    got = await download_results(client, final, to_disk={MP3: writer.blob_path(f"{task_id}.mp3")})
    writer.phase("results_downloaded")
    results = {kind: path.name for kind, path in got.saved.items()}
    for kind, data in sorted(got.files.items()):
        try:
            saved = writer.result(kind, result_document(kind, data))
        except TingwuError as exc:
            got.errors[kind] = exc
            continue
        results[kind] = saved.name
    fields: dict[str, Any] = {"results": dict(sorted(results.items())), "downloads": {"files": len(results), "refreshes": got.refreshes}}
    if got.errors:
        fields["download_errors"] = {kind: error_record(exc) for kind, exc in sorted(got.errors.items())}
    if writer.meta.get("status") != "stream_failed":
        fields["status"] = final.status or "unknown"
    if final.error_code:
        fields["task_error"] = {"code": final.error_code, "message": final.error_message}
    writer.update(**fields)
    write_tables(writer, [kind for kind in results if kind != MP3])
    got.raise_first()  # what arrived is saved; a file that could not be fetched still fails the session


def note_results_ready(writer: SessionWriter, info: Any) -> None:
    """Record under ``results_ready`` of session.json when each result key was first seen.

    The time is that of the GetTaskInfo answer (or callback) that first listed the key, so it is
    an upper bound with the resolution of the poll interval (kept as ``results_ready_poll_s``).
    A key already present at the first look after stop is stamped with that first look.
    """
    ready = writer.meta.get("results_ready") or {}
    new = [key for key in (getattr(info, "result_urls", None) or {}) if key not in ready]
    if new:
        writer.mark("results_ready", new)


def write_tables(writer: SessionWriter, kinds: list[str]) -> None:
    """Every non-empty table of the saved result files as ``<name>.parquet`` (sentences and words
    always, when there is a Transcription file), parsing each file once."""
    from tingwu_nb.results.catalog import all_frames  # pandas + pyarrow: only once results are in

    docs = {kind: json.loads((writer.directory / "results" / f"{kind}.json").read_text(encoding="utf-8"))
            for kind in kinds}
    for name, frame in all_frames(docs, target_languages(writer.meta)).items():
        if len(frame) or (name in ("sentences", "words") and "Transcription" in docs):
            frame.to_parquet(writer.directory / f"{name}.parquet", index=False)


def target_languages(meta: Mapping[str, Any]) -> list[str]:
    """The translation targets a session asked for (``request.Parameters.Translation.TargetLanguages``
    of ``session.json``); they name the translation columns."""
    params = (meta.get("request") or {}).get("Parameters") or {}
    return list((params.get("Translation") or {}).get("TargetLanguages") or [])


def error_record(exc: BaseException) -> dict[str, Any]:
    """What session.json keeps about an exception: type, message and its structured fields."""
    fields = {k: getattr(exc, k) for k in ("code", "status_code", "request_id", "status", "status_text")
              if getattr(exc, k, None) is not None}
    message = str(exc) or ("cancelled" if isinstance(exc, asyncio.CancelledError) else type(exc).__name__)
    return {"type": type(exc).__name__, "message": message, **fields}
