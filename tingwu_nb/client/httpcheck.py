"""HTTP answers and httpx failures as the package's errors (used by :mod:`tingwu_nb.client.tasks`).

A Tingwu API answer is a JSON object; anything else at the endpoint (an HTML page, a proxy's
text) becomes :class:`~tingwu_nb.errors.NotTingwuError` naming the endpoint and what it sent,
never the page itself. Error bodies become ServiceError / ThrottledError (rest-api §5.1, §5.3).
"""

from __future__ import annotations

import html
import os
import re
import socket
from collections.abc import Mapping
from typing import Any

import httpx

from tingwu_nb.client.taskinfo import pick, str_or_none
from tingwu_nb.errors import NotTingwuError, ServiceError, ThrottledError
from tingwu_nb.redaction import redact_url

__all__ = ["api_result", "download_result", "os_cause"]


def _json_body(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _retry_after(response: httpx.Response) -> float | None:
    try:
        value = float(response.headers.get("x-acs-retry-after", ""))
    except ValueError:
        return None
    return value if value > 0 else None


def _origin(response: httpx.Response) -> str:
    """scheme://host:port of the request, with any user:password masked."""
    url = response.request.url
    return redact_url(f"{url.scheme}://{url.netloc.decode('ascii')}")


def _content_type(response: httpx.Response) -> str:
    return response.headers.get("content-type", "").split(";")[0].strip()


def _not_tingwu(response: httpx.Response) -> ServiceError:
    """A non-JSON answer to an API call: another server (or a gateway page) is at the endpoint."""
    kind = _content_type(response)
    if response.status_code >= 500:
        return ServiceError(f"endpoint {_origin(response)} answered HTTP {response.status_code} with "
                            f"{kind or 'an untyped body'} (a gateway or server failure) — retry later, or "
                            "check --endpoint", status_code=response.status_code)
    return NotTingwuError(_origin(response), response.status_code, kind)


def _error_from(response: httpx.Response, body: Mapping[str, Any] | None) -> ServiceError:
    """Turn an error response into ServiceError / ThrottledError (§5.1, §5.3)."""
    if body is None and "<Error>" in response.text:  # OSS answers with XML: <Error><Code>...
        body = {k: html.unescape(v) for k, v in re.findall(r"<(Code|Message|RequestId)>([^<]*)</\1>", response.text)}
    body = body or {}
    code = str_or_none(pick(body, "Code"))
    page = "html" in _content_type(response)  # never echo a whole web page as the message
    text = "" if page else response.text[:200].strip()
    message = pick(body, "Message") or text or f"{response.reason_phrase or 'error'} ({_content_type(response)})"
    request_id = (
        pick(body, "RequestId")
        or response.headers.get("x-acs-request-id")
        or response.headers.get("x-oss-request-id")
    )
    kw = {"code": code, "status_code": response.status_code, "request_id": str_or_none(request_id)}
    if response.status_code == 429 or (code or "").startswith("Throttling"):
        return ThrottledError(str(message), retry_after=_retry_after(response), **kw)
    return ServiceError(str(message), **kw)


def api_result(response: httpx.Response) -> dict[str, Any]:
    """The JSON body of a successful API call; raises NotTingwuError, ThrottledError (retry
    after ``retry_after``) or ServiceError (quote its ``request_id``) otherwise."""
    body = _json_body(response)
    if body is None and response.status_code != 429:
        raise _not_tingwu(response)
    if response.status_code >= 400:
        raise _error_from(response, body)
    code = pick(body, "Code")
    if code is not None and str(code) != "0":  # HTTP 200 with a business error code
        raise _error_from(response, body)
    return body


def download_result(response: httpx.Response) -> bytes:
    """The bytes of a result-file download; raises ServiceError (e.g. an expired presigned URL:
    call ``TingwuClient.get_task_info`` again for fresh links) when the storage refused it."""
    if response.status_code >= 400:
        raise _error_from(response, _json_body(response))
    return response.content


def os_cause(exc: BaseException) -> str:
    """The innermost OS-level reason of an httpx error, in words ("connection refused", ...)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, socket.gaierror):
            return "host name not found (DNS)"
        if isinstance(seen, OSError) and seen.errno:
            return os.strerror(seen.errno).lower()
        seen = seen.__cause__ or seen.__context__
    return str(exc) or type(exc).__name__
