"""Redaction: AccessKey secrets, STS tokens, ``MeetingJoinUrl`` ``mc`` tokens and presigned-URL
signatures are masked before anything is written, shown or logged.

* :func:`redact_url`, :func:`redact_text`, :func:`redact_mapping`: masked copies of text and data;
* :class:`RedactedMapping` and :class:`SecretText`: values that work as the real thing in code
  but display redacted (``TaskInfo.raw``, result URLs);
* :func:`redact_logs`: the HTTP and WebSocket libraries' own log lines, redacted.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "LOGGERS_WITH_URLS",
    "MASK",
    "RedactedMapping",
    "RedactingLogFilter",
    "SecretText",
    "redact_logs",
    "redact_mapping",
    "redact_text",
    "redact_url",
    "secret_text",
]

MASK = "****"

_SECRET_PARAM = re.compile(r"^(mc|signature|sig|ossaccesskeyid|accesskeyid|security-?token|token|"
                           r"access_token|x-(oss|amz|acs)-.*)$", re.IGNORECASE)
_URL = re.compile(r"\b(?:https?|wss?)://[^\s\"'<>`]+", re.IGNORECASE)
_LOOSE = re.compile(r"(?i)\b(signature|mc|security-token|x-oss-signature|access_?key_?secret|"
                    r"security_?token)(\s*[=:]\s*[\"']?)([^\s,&\"'<>;]+)")
_SENSITIVE_KEY = re.compile(r"secret|token|password|passwd|signature", re.IGNORECASE)
_URL_KEYS = {"meetingjoinurl", "url", "fileurl"}


def redact_url(url: str) -> str:
    """Mask the capability parts of a URL, keeping scheme, host and path readable.

    Masks query values of ``mc`` (MeetingJoinUrl token), ``Signature``, ``OSSAccessKeyId``,
    ``security-token``, ``x-oss-*`` (and similar signing params) and any ``user:password@``.
    ``Expires`` and other parameters stay visible. Text that is not a URL is returned unchanged.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if not parts.scheme or not parts.netloc:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{MASK}@{host}" if ":" in userinfo else f"{MASK}@{host}"
    query = "&".join(_redact_param(p) for p in parts.query.split("&")) if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _redact_param(param: str) -> str:
    key, sep, value = param.partition("=")
    return f"{key}={MASK}" if sep and value and _SECRET_PARAM.match(key) else param


def redact_text(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Replace every given secret with ``****`` and redact every URL in ``text``.

    Also masks loose ``Signature=...``/``mc=...``/``security_token: ...`` fragments outside URLs
    (e.g. an ``Authorization`` header in a log line). Empty secrets are ignored.
    """
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    text = _URL.sub(_redact_match, text)
    return _LOOSE.sub(lambda m: m.group(1) + m.group(2) + (m.group(3) if m.group(3) == MASK else MASK), text)


def _redact_match(match: re.Match[str]) -> str:
    url = match.group(0)
    core = url.rstrip(".,;:!?)]}")  # sentence punctuation after a URL is not part of it
    return redact_url(core) + url[len(core):]


def redact_mapping(obj: Any, secrets: Iterable[str | None] = ()) -> Any:
    """Return a copy of ``obj`` (dicts, lists, tuples, strings) with secrets redacted.

    String values under keys whose name contains secret/token/password/signature become
    ``****``; every other string goes through :func:`redact_text` (so URLs such as
    ``MeetingJoinUrl`` or presigned result links are redacted). Other values are kept.
    """
    secrets = tuple(secrets)
    if isinstance(obj, Mapping):
        out = {}
        for key, value in obj.items():
            if isinstance(value, str) and isinstance(key, str) and _SENSITIVE_KEY.search(key):
                out[key] = MASK if value else value
            elif isinstance(value, str) and isinstance(key, str) and key.lower() in _URL_KEYS:
                out[key] = redact_text(redact_url(value), secrets)
            else:
                out[key] = redact_mapping(value, secrets)
        return out
    if isinstance(obj, (list, tuple)):
        items = [redact_mapping(v, secrets) for v in obj]
        return items if isinstance(obj, list) else tuple(items)
    if isinstance(obj, str):
        return redact_text(obj, secrets)
    return obj


class RedactedMapping(Mapping):
    """A read-only view of a response body whose every display is redacted.

    Reading a value gives the real thing (``raw["Data"]["Result"]["Transcription"]`` is the
    working presigned URL, for downloading); ``repr``, ``str`` and Jupyter's display show
    :func:`redact_mapping` of it, so printing or displaying the body never reveals a join token
    or a URL signature. Nested objects are wrapped the same way (lists become tuples). Call
    :meth:`unredacted` only to hand the body to code that needs the plain dict, and never show it.
    """

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        self._data = {str(k): _wrap(v) for k, v in (data or {}).items()}

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Any:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RedactedMapping):
            return self.unredacted() == other.unredacted()
        return isinstance(other, Mapping) and self.unredacted() == dict(other)

    __hash__ = None  # type: ignore[assignment]

    def unredacted(self) -> dict[str, Any]:
        """The plain dict, capabilities included: for code, never for display."""
        return {k: _unwrap(v) for k, v in self._data.items()}

    def __repr__(self) -> str:
        return repr(redact_mapping(self.unredacted()))

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """IPython's display: the redacted body, pretty-printed."""
        printer.pretty(redact_mapping(self.unredacted()))

    def _repr_json_(self) -> dict[str, Any]:
        """JupyterLab's JSON view: redacted too."""
        return redact_mapping(self.unredacted())


class SecretText(str):
    """A string holding a capability (a join URL, a presigned link) that displays redacted.

    It *is* the real string for every use (``httpx.get(url)``, ``str(url)``, ``print(url)``),
    but ``repr`` and Jupyter's display show :func:`redact_text` of it, so echoing it in a
    notebook cell or a log of reprs reveals no token or signature.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(redact_text(str(self)))

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


def secret_text(value: Any) -> Any:
    """``value`` as :class:`SecretText` when it is a string that redaction would change."""
    if isinstance(value, str) and not isinstance(value, SecretText) and redact_text(value) != value:
        return SecretText(value)
    return value


def _wrap(value: Any) -> Any:
    if isinstance(value, str):
        return secret_text(value)
    if isinstance(value, Mapping) and not isinstance(value, RedactedMapping):
        return RedactedMapping(value)
    if isinstance(value, (list, tuple)):
        return tuple(_wrap(v) for v in value)
    return value


def _unwrap(value: Any) -> Any:
    if isinstance(value, RedactedMapping):
        return value.unredacted()
    if isinstance(value, tuple):
        return [_unwrap(v) for v in value]
    return value


#: Third-party loggers that write request lines or URLs: httpx ("HTTP Request: GET <url>"),
#: websockets ("> GET /api/ws/v1?mc=... HTTP/1.1" at DEBUG), uvicorn's access log.
LOGGERS_WITH_URLS = ("httpx", "websockets.client", "websockets.server", "uvicorn.access", "uvicorn.error")


class RedactingLogFilter(logging.Filter):
    """Rewrites a log record whose message holds a capability (join token, URL signature)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is logging's problem, not ours
            return True
        clean = redact_text(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


_FILTER = RedactingLogFilter()


def redact_logs(loggers: Iterable[str] = LOGGERS_WITH_URLS) -> None:
    """Make the HTTP/WebSocket libraries' own log lines redacted (idempotent).

    The clients and the emulator call this when they are created, so turning on
    ``logging.basicConfig(level=logging.DEBUG)`` in a notebook shows no join token or
    presigned-URL signature. Call it yourself for any other logger that prints URLs.
    """
    for name in loggers:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
