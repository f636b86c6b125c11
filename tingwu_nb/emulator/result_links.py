"""The emulator's result files behind presigned links (spec ``tingwu-rest-api.md`` §3).

Like the cloud's OSS links, ``/results/<TaskId>/<name>?Expires=<epoch>&Signature=<hmac>`` opens a
file until it expires; a bad, missing or stale signature gets OSS's XML error (403
``AccessDenied`` / ``SignatureDoesNotMatch``), an unknown file 404 ``NoSuchKey``.

Bytes are answered as they are; a file on disk (the mp3, a
:class:`~tingwu_nb.emulator.spool.PcmSpool`) is streamed :data:`READ_CHUNK` at a time, read on a
worker thread, with its ``Content-Length``: a client always knows when a body was cut short, and
the emulator never holds the file in memory. Such a file also answers one ``Range: bytes=a-[b]``
with 206 and ``Content-Range`` (a client resumes a broken download); a range it cannot satisfy
or parse gets the whole file with 200, as OSS does by default. The REST side (rest.py) builds the links
(:meth:`ResultLinks.url`) and answers ``GET /results/...`` with :meth:`ResultLinks.serve`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from xml.sax.saxutils import escape

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from tingwu_nb.emulator.contract import ContractChoices
from tingwu_nb.emulator.spool import PcmSpool

__all__ = ["READ_CHUNK", "Lookup", "ResultLinks", "byte_range", "file_response", "request_host"]

READ_CHUNK = 1 << 20  # bytes read from disk and sent at a time

#: ``lookup(task_id, name)`` -> ``(content, media type)`` or None when there is no such file.
Lookup = Callable[[str, str], Awaitable["tuple[bytes | PcmSpool, str] | None"]]


def request_host(request: Request) -> str:
    """``host[:port]`` the client called (its Host header)."""
    return request.headers.get("host", request.url.netloc)


class ResultLinks:
    """Signs result links with ``signing_key`` and serves what they point to.

    ``clock`` (epoch seconds) decides expiry; ``choices`` the default lifetime
    (``result_url_ttl_s``) and the links' scheme (``result_url_scheme``).
    """

    def __init__(self, signing_key: bytes, choices: ContractChoices, clock: Callable[[], float]) -> None:
        self._key = signing_key
        self._choices = choices
        self._clock = clock

    def signature(self, path: str, expires: int) -> str:
        message = f"GET\n{path}\n{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def url(self, origin: str, task_id: str, name: str, ttl_s: float | None = None) -> str:
        """The signed link to file ``name`` of ``task_id`` on ``origin`` (``scheme://host``),
        valid for ``ttl_s`` seconds (default ``choices.result_url_ttl_s``)."""
        scheme, _, host = origin.partition("://")
        scheme = scheme if self._choices.result_url_scheme == "request" else self._choices.result_url_scheme
        expires = int(self._clock() + (ttl_s or self._choices.result_url_ttl_s))
        path = f"/results/{task_id}/{name}"
        return f"{scheme}://{host}{path}?Expires={expires}&Signature={self.signature(path, expires)}"

    async def serve(self, request: Request, rid: str, lookup: Lookup) -> Response:
        """Answer ``GET /results/{task_id}/{name}``: check the link, then ``lookup`` the file."""
        path = request.url.path
        expires = request.query_params.get("Expires", "")
        signature = request.query_params.get("Signature", "")
        if not expires.isdigit() or not signature:
            return oss_error(request, 403, "AccessDenied", "Anonymous access is forbidden for this operation.", rid)
        if not hmac.compare_digest(self.signature(path, int(expires)), signature):
            return oss_error(request, 403, "SignatureDoesNotMatch",
                             "The request signature we calculated does not match the signature you provided.", rid)
        if self._clock() > int(expires):
            return oss_error(request, 403, "AccessDenied", "Request has expired.", rid)
        found = await lookup(request.path_params["task_id"], request.path_params["name"])
        if found is None or (isinstance(found[0], PcmSpool) and found[0].closed):
            return oss_error(request, 404, "NoSuchKey", "The specified key does not exist.", rid)
        content, media_type = found
        return file_response(content, media_type, {"x-oss-request-id": rid}, request.headers.get("range"))


def oss_error(request: Request, status: int, code: str, message: str, rid: str) -> Response:
    """An OSS-style XML error answer."""
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error>\n'
        f"  <Code>{escape(code)}</Code>\n  <Message>{escape(message)}</Message>\n"
        f"  <RequestId>{rid}</RequestId>\n  <HostId>{escape(request_host(request))}</HostId>\n</Error>\n"
    )
    return Response(xml, status_code=status, media_type="application/xml", headers={"x-oss-request-id": rid})


def file_response(content: bytes | PcmSpool, media_type: str, headers: dict[str, str],
                  range_header: str | None = None) -> Response:
    """``content`` as a 200 answer: bytes at once, a file on disk streamed with its Content-Length
    (or 206, the part ``range_header`` asks for, when it is one satisfiable byte range)."""
    if not isinstance(content, PcmSpool):
        return Response(content, media_type=media_type, headers=headers)
    size = len(content)
    span = byte_range(range_header, size)
    start, end = span or (0, size)
    headers = {**headers, "content-length": str(end - start), "accept-ranges": "bytes"}
    if span is not None:
        headers["content-range"] = f"bytes {start}-{end - 1}/{size}"
    return StreamingResponse(_chunks(content, start, end), status_code=206 if span else 200,
                             media_type=media_type, headers=headers)


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(start, end)`` (end exclusive) of a single ``bytes=a-`` / ``bytes=a-b`` / ``bytes=-n``
    range within ``size`` bytes, or None (no header, several ranges, unparseable, unsatisfiable)."""
    match = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", header or "")
    if match is None or not (match[1] or match[2]):
        return None
    if not match[1]:  # the last n bytes
        start, end = max(0, size - int(match[2])), size
    else:
        start, end = int(match[1]), min(size, int(match[2]) + 1) if match[2] else size
    return (start, end) if start < end else None


async def _chunks(file: PcmSpool, start: int, end: int) -> AsyncIterator[bytes]:
    """Bytes ``start:end`` of the file, :data:`READ_CHUNK` at a time, each read on a worker
    thread. Ends early (the answer is then shorter than its Content-Length) if the file is
    closed meanwhile."""
    for at in range(start, end, READ_CHUNK):
        data = await asyncio.to_thread(file.__getitem__, slice(at, min(at + READ_CHUNK, end)))
        if not data:
            return
        yield data
