"""Stream one result file (a presigned link, spec rest-api §3) to disk without holding it in memory.

:meth:`TingwuClient.fetch_file <tingwu_nb.client.tasks.TingwuClient.fetch_file>` is
:func:`download_to` over these parts: :func:`open_download` sends the GET and returns once the
headers are in (the body still unread, so a refused link's error answer is read and raised as
usual), and :func:`save_body` writes the body :data:`WRITE_CHUNK` at a time into ``<name>.part``
and renames it to ``<name>`` only once every byte the ``Content-Length`` promised has arrived and
reached the disk. A body cut short raises an ``httpx`` network error and never leaves a file under
the final name; the next attempt asks only for the rest (``Range: bytes=<saved>-``, which OSS and
the emulator answer with 206). :func:`download_to` removes the ``.part`` file (:func:`part_path`)
when it gives up.

The link is a capability: nothing here logs it or puts it in a message.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import IO

import httpx

from tingwu_nb.client.httpcheck import download_result

__all__ = ["BODY_ERRORS", "WRITE_CHUNK", "download_to", "open_download", "opened", "part_path", "save_body"]

WRITE_CHUNK = 1 << 20  # bytes written to disk at a time (on a worker thread)
#: How a body breaks off after its headers (worth another attempt).
BODY_ERRORS = (httpx.NetworkError, httpx.TimeoutException, httpx.RemoteProtocolError)


async def download_to(path: Path, open_response: Callable[[int], Awaitable[httpx.Response]],
                      broke_off: Callable[[int, httpx.HTTPError], Awaitable[None]]) -> int:
    """Save the body of ``open_response(offset)`` (an accepted download from byte ``offset``,
    see :func:`open_download`) to ``path``; returns the file's size. When the body breaks off
    (:data:`BODY_ERRORS`), ``broke_off(attempt, error)`` raises to give up or returns (after its
    backoff) to try again from the bytes already saved (from the start if the server ignores the
    range). However it ends, no ``.part`` file is left behind."""
    part, offset = part_path(path), 0
    try:
        for attempt in itertools.count(1):
            response = await open_response(offset)
            try:
                return await save_body(response, path, offset)
            except BODY_ERRORS as exc:
                await broke_off(attempt, exc)
            offset = await asyncio.to_thread(_size, part)
        raise AssertionError("unreachable")  # pragma: no cover
    finally:
        await asyncio.to_thread(part.unlink, missing_ok=True)


def part_path(path: Path) -> Path:
    """Where the body goes while it downloads: ``<path>.part`` next to ``path``."""
    return path.with_name(path.name + ".part")


async def open_download(http: httpx.AsyncClient, url: str, offset: int = 0) -> httpx.Response:
    """GET ``url`` (no signing: the link is presigned), from byte ``offset`` on (a ``Range``
    header) when it is > 0; returns the response as soon as its headers arrive. An error answer
    (status >= 400) is read whole and closed, for :func:`opened`."""
    headers = {"range": f"bytes={offset}-"} if offset > 0 else None
    response = await http.send(http.build_request("GET", url, headers=headers), stream=True, auth=None)
    if response.status_code >= 400:
        try:
            await response.aread()
        finally:
            await response.aclose()
    return response


def opened(response: httpx.Response) -> httpx.Response:
    """``response`` if the storage accepted the link; else raises its ServiceError (as
    :func:`~tingwu_nb.client.httpcheck.download_result`: an expired link is 403 AccessDenied)."""
    if response.status_code >= 400:
        download_result(response)
    return response


async def save_body(response: httpx.Response, path: Path, offset: int = 0) -> int:
    """Write ``response``'s body to :func:`part_path`, then rename it to ``path``.

    A 206 answer whose ``Content-Range`` starts at ``offset`` is appended after the first
    ``offset`` bytes already there; any other body is written from scratch. Returns the file's
    size. Always closes ``response``. Raises :class:`httpx.RemoteProtocolError` when fewer (or
    more) bytes arrive than its ``Content-Length`` says (or a 206 starts elsewhere: the ``.part``
    is then emptied), and the network errors of a body that breaks off; ``path`` is then
    untouched and the ``.part`` file holds what arrived (the caller resumes or removes it).
    """
    part = part_path(path)
    start = _range_start(response)
    if start is not None and start != offset:
        await asyncio.to_thread(part.unlink, missing_ok=True)
        await response.aclose()
        raise httpx.RemoteProtocolError(f"asked for bytes from {offset}, got a range from {start}")
    start = start or 0
    expected = response.headers.get("content-length")
    size = start
    sink: IO[bytes] = await asyncio.to_thread(_open_part, part, start)
    try:
        async for chunk in response.aiter_bytes(WRITE_CHUNK):
            await asyncio.to_thread(sink.write, chunk)
            size += len(chunk)
        if expected is not None and expected.isdigit() and start + int(expected) != size:
            raise httpx.RemoteProtocolError(f"the body ended after {size - start} of {expected} bytes")
        await asyncio.to_thread(_sync, sink)
    finally:
        await response.aclose()
        await asyncio.to_thread(sink.close)
    await asyncio.to_thread(os.replace, part, path)  # complete and on disk: only now under its name
    return size


def _range_start(response: httpx.Response) -> int | None:
    """Where a 206 answer's ``Content-Range: bytes a-b/n`` starts (None for any other answer)."""
    if response.status_code != 206:
        return None
    found = re.match(r"\s*bytes\s+(\d+)-", response.headers.get("content-range", ""))
    return int(found[1]) if found else -1


def _open_part(part: Path, start: int) -> IO[bytes]:
    if start == 0:
        return open(part, "wb")  # noqa: SIM115 - closed by save_body
    sink = open(part, "r+b")  # noqa: SIM115 - closed by save_body
    sink.truncate(start)
    sink.seek(start)
    return sink


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _sync(sink: IO[bytes]) -> None:
    sink.flush()
    os.fsync(sink.fileno())
