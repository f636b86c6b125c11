"""Download every result file of a finished task, concurrently, renewing links that expired.

Spec ``tingwu-rest-api.md`` §3: ``Result.<Kind>`` and ``OutputMp3Path`` are presigned storage
links that expire (30 days in the cloud, whatever ``ContractChoices.result_url_ttl_s`` says in
the emulator); calling GetTaskInfo again returns fresh ones. :func:`download_results`

* fetches every link at once, at most ``concurrency`` at a time;
* leaves network errors and HTTP 5xx to the client's own retries with backoff
  (:class:`~tingwu_nb.client.ratelimit.RetryPolicy` of the :class:`~tingwu_nb.client.tasks.TingwuClient`);
* treats a refused link (HTTP 403/404, OSS ``AccessDenied`` / ``Request has expired`` /
  ``SignatureDoesNotMatch`` / ``NoSuchKey``) as stale: it calls GetTaskInfo once for all the
  files that hit it at the same time and tries again with the fresh link, at most
  ``max_refreshes`` times per file;
* never stops the other files when one fails: the failures come back in
  :attr:`Downloads.errors` and :meth:`Downloads.raise_first` raises the first;
* streams the kinds named in ``to_disk`` (the mp3: 1.4 GB for a day) straight into their files
  in chunks (``TingwuClient.fetch_file``: via ``<name>.part``, renamed once whole), never into
  memory; they come back in :attr:`Downloads.saved`.

```python
final = await client.wait_for_task(task_id)
got = await download_results(client, final, to_disk={MP3: Path("results/meeting.mp3")})
for kind, data in got.files.items(): ...      # save them (bytes, no URL, no signature)
got.saved[MP3]                                # already on disk, complete
got.raise_first()                             # then report what could not be downloaded
```

Links are capabilities: no URL appears in an error message or a repr from this module.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from tingwu_nb.client.taskinfo import TaskInfo
from tingwu_nb.errors import ServiceError, ThrottledError, TingwuError, TransportError

__all__ = ["MP3", "REFUSED_CODES", "Downloads", "ResultSource", "download_results", "is_refused_link", "links_of",
           "result_document"]

#: The key of the transcoded audio (``Data.OutputMp3Path``) among :attr:`Downloads.files`.
MP3 = "OutputMp3Path"
#: OSS error codes meaning "this link no longer opens the file" (get a fresh one).
REFUSED_CODES = frozenset({"AccessDenied", "SignatureDoesNotMatch", "NoSuchKey", "InvalidAccessKeyId"})
_T = TypeVar("_T")


class ResultSource(Protocol):
    """What :func:`download_results` needs from a client (``TingwuClient`` has both)."""

    def fetch_bytes(self, url: str) -> Awaitable[bytes]: ...

    def fetch_file(self, url: str, path: Path) -> Awaitable[int]: ...  # only for ``to_disk`` kinds

    def get_task_info(self, task_id: str) -> Awaitable[TaskInfo]: ...


def is_refused_link(exc: BaseException) -> bool:
    """True when the storage refused a result link (expired, badly signed or gone): renew it."""
    if not isinstance(exc, ServiceError) or isinstance(exc, ThrottledError):
        return False
    return (exc.status_code in (403, 404) or (exc.code or "") in REFUSED_CODES
            or "request has expired" in (exc.message or "").lower())


def links_of(info: TaskInfo) -> dict[str, str]:
    """Every downloadable link of ``info``: ``Result.<Kind>`` and :data:`MP3`."""
    links = {str(kind): str(url) for kind, url in info.result_urls.items() if url}
    if info.output_mp3_path:
        links[MP3] = str(info.output_mp3_path)
    return links


def result_document(kind: str, data: bytes) -> dict[str, Any]:
    """Decode a downloaded result file; raises ServiceError naming ``kind`` if it is not a JSON object."""
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise ServiceError(f"{kind} result file is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise ServiceError(f"{kind} result file is a JSON {type(doc).__name__}, not an object")
    return doc


@dataclass
class Downloads:
    """What :func:`download_results` got.

    ``files``: kind (``Transcription``, ..., :data:`MP3`) -> the raw bytes as served.
    ``saved``: kind -> the file it was streamed into (the kinds of ``to_disk``), complete.
    ``errors``: kind -> why it could not be downloaded (the message names the kind).
    ``info``: the latest TaskInfo (the renewed one after a refresh).
    ``refreshes``: GetTaskInfo calls made to renew stale links.
    """

    info: TaskInfo
    files: dict[str, bytes] = field(default_factory=dict)
    saved: dict[str, Path] = field(default_factory=dict)
    errors: dict[str, TingwuError] = field(default_factory=dict)
    refreshes: int = 0

    def raise_first(self) -> None:
        """Raise the first failure (in kind order), if any; save :attr:`files` before calling it."""
        for kind in sorted(self.errors):
            raise self.errors[kind]

    def __repr__(self) -> str:
        sizes = {kind: len(data) for kind, data in sorted(self.files.items())}
        return (f"Downloads(task_id={self.info.task_id!r}, files={sizes}, saved={sorted(self.saved)}, "
                f"errors={sorted(self.errors)}, refreshes={self.refreshes})")


class _Links:
    """The current links, renewed through GetTaskInfo at most once per generation of links."""

    def __init__(self, client: ResultSource, info: TaskInfo) -> None:
        self._client = client
        self.info = info
        self.links = links_of(info)
        self.generation = 0
        self.refreshes = 0
        self._lock = asyncio.Lock()

    async def renew(self, seen: int) -> None:
        """Fetch fresh links unless another file already did since generation ``seen``."""
        async with self._lock:
            if self.generation != seen:
                return
            info = await self._client.get_task_info(self.info.task_id)
            self.refreshes += 1
            self.info, self.links, self.generation = info, links_of(info), self.generation + 1


async def download_results(
    client: ResultSource,
    info: TaskInfo,
    *,
    concurrency: int = 4,
    max_refreshes: int = 2,
    kinds: Collection[str] | None = None,
    to_disk: Mapping[str, Path] | None = None,
) -> Downloads:
    """Download every link of ``info`` (a finished task's TaskInfo); never raises for one file.

    Args:
        client: a :class:`~tingwu_nb.client.tasks.TingwuClient` (its retry policy applies to
            every download; its rate limiter to the GetTaskInfo refreshes).
        concurrency: downloads in flight at once.
        max_refreshes: fresh links asked for per file before giving up on it.
        kinds: only these keys (default: every ``Result`` key and :data:`MP3`).
        to_disk: kind -> file to stream it into (``client.fetch_file``) instead of memory; the
            file exists only once complete, and is left as it was when the download fails.

    Returns:
        :class:`Downloads`: store ``files`` (``saved`` are already stored), then call
        :meth:`Downloads.raise_first`.

    An exception that is not a :class:`~tingwu_nb.errors.TingwuError` (a bug, a cancellation)
    cancels the other downloads and propagates.
    """
    links = _Links(client, info)
    wanted = sorted(k for k in links.links if kinds is None or k in kinds)
    gate = asyncio.Semaphore(max(1, concurrency))
    out = Downloads(info=info)

    async def one(kind: str) -> None:
        try:
            path = (to_disk or {}).get(kind)
            if path is None:
                out.files[kind] = await _fetch(client.fetch_bytes, links, kind, gate, max_refreshes)
            else:
                await _fetch(lambda url: client.fetch_file(url, path), links, kind, gate, max_refreshes)
                out.saved[kind] = path
        except TingwuError as exc:
            out.errors[kind] = exc

    tasks = [asyncio.ensure_future(one(kind)) for kind in wanted]
    try:
        await asyncio.gather(*tasks)
    except BaseException:  # a bug or a cancellation: no download goes on unattended
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    out.info, out.refreshes = links.info, links.refreshes
    return out


async def _fetch(get: Callable[[str], Awaitable[_T]], links: _Links, kind: str, gate: asyncio.Semaphore,
                 max_refreshes: int) -> _T:
    renewed = 0
    while True:
        async with gate:  # the link is read once a slot is free: the freshest one
            url, seen = links.links.get(kind), links.generation
            if url is None:
                status = links.info.status or "unknown"
                raise ServiceError(f"{kind}: GetTaskInfo no longer lists this result (task {status})")
            try:
                return await get(url)
            except ServiceError as exc:
                if not is_refused_link(exc) or renewed >= max_refreshes:
                    raise _named(kind, exc, renewed) from None
            except TransportError as exc:
                raise TransportError(f"{kind} result file: {exc}", endpoint=exc.endpoint, reason=exc.reason) from None
        renewed += 1
        try:
            await links.renew(seen)
        except ServiceError as exc:
            raise _named(kind, exc, renewed, "renewing its link") from None


def _named(kind: str, exc: ServiceError, renewed: int, doing: str = "") -> ServiceError:
    """``exc`` again (same class and fields), its message saying which file and how often it was renewed."""
    if type(exc) not in (ServiceError, ThrottledError):  # special kinds (NotTingwuError...) stay as they are
        return exc
    what = f"{kind} result file" + (f" ({doing})" if doing else "")
    after = f" (link renewed {renewed} time{'s' if renewed != 1 else ''})" if renewed else ""
    kw: dict[str, Any] = {"code": exc.code, "status_code": exc.status_code, "request_id": exc.request_id}
    if isinstance(exc, ThrottledError):
        return ThrottledError(f"{what}: {exc.message}{after}", retry_after=exc.retry_after, **kw)
    return ServiceError(f"{what}: {exc.message}{after}", **kw)
