"""What the service says about a task: :class:`TaskInfo`, parsed tolerantly from any response.

Spec ``tingwu-rest-api.md`` §2.4 (CreateTask ``Data``) and §3 (GetTaskInfo ``Data``). The
join URL and the result URLs are capabilities: the repr shows them redacted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tingwu_nb.redaction import RedactedMapping, redact_url, secret_text

__all__ = ["TaskInfo", "pick", "str_or_none"]


def pick(data: Mapping[str, Any], name: str) -> Any:
    """Read a PascalCase key, tolerating the camelCase spelling (§0 tolerance rule)."""
    if name in data:
        return data[name]
    return data.get(name[:1].lower() + name[1:])


def str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True)
class TaskInfo:
    """What CreateTask or GetTaskInfo said about one task.

    URL fields are capabilities (``mc`` join token, presigned result links): they are
    :class:`~tingwu_nb.redaction.SecretText` strings and ``result_urls`` a
    :class:`~tingwu_nb.redaction.RedactedMapping`, which work as plain values but display
    redacted; the repr redacts them too. ``raw`` keeps the whole response body for fields not
    modelled here; it is a :class:`~tingwu_nb.redaction.RedactedMapping`, so displaying it
    (in a notebook, a log line or a report) shows the URLs redacted while reading a value
    still gives the working URL.
    """

    task_id: str
    status: str | None = None
    task_key: str | None = None
    meeting_join_url: str | None = field(default=None, repr=False)
    result_urls: Mapping[str, str] = field(default_factory=dict, repr=False)
    output_mp3_path: str | None = field(default=None, repr=False)
    error_code: str | None = None
    error_message: str | None = None
    request_id: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_response(cls, body: Mapping[str, Any], *, task_id: str | None = None) -> TaskInfo:
        """Build from a response body; unknown keys are kept in ``raw`` and ignored.

        Args:
            task_id: fallback when ``Data.TaskId`` is absent (e.g. a terse stop response).
        """
        data = pick(body, "Data")
        data = data if isinstance(data, Mapping) else {}
        result = pick(data, "Result")
        urls = {str(k): v for k, v in result.items() if isinstance(v, str)} if isinstance(result, Mapping) else {}
        join_url, mp3 = str_or_none(pick(data, "MeetingJoinUrl")), str_or_none(pick(data, "OutputMp3Path"))
        return cls(
            task_id=str(pick(data, "TaskId") or task_id or ""),
            status=str_or_none(pick(data, "TaskStatus")),
            task_key=str_or_none(pick(data, "TaskKey")),
            meeting_join_url=secret_text(join_url),
            result_urls=RedactedMapping(urls),
            output_mp3_path=secret_text(mp3),
            error_code=str_or_none(pick(data, "ErrorCode")),
            error_message=str_or_none(pick(data, "ErrorMessage")),
            request_id=str_or_none(pick(body, "RequestId")),
            raw=RedactedMapping(body),
        )

    @property
    def done(self) -> bool:
        """True once the task left ``ONGOING`` (COMPLETED, FAILED or INVALID)."""
        return self.status != "ONGOING"

    def __repr__(self) -> str:
        parts = [f"task_id={self.task_id!r}", f"status={self.status!r}"]
        if self.task_key is not None:
            parts.append(f"task_key={self.task_key!r}")
        if self.meeting_join_url:
            parts.append(f"meeting_join_url={redact_url(self.meeting_join_url)!r}")
        if self.result_urls:
            parts.append(f"result_urls={ {k: redact_url(v) for k, v in self.result_urls.items()} !r}")
        if self.output_mp3_path:
            parts.append(f"output_mp3_path={redact_url(self.output_mp3_path)!r}")
        for name in ("error_code", "error_message", "request_id"):
            if getattr(self, name) is not None:
                parts.append(f"{name}={getattr(self, name)!r}")
        return f"TaskInfo({', '.join(parts)})"
