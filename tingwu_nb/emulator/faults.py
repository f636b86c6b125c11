"""Fault injection: what the emulator does wrong on purpose, so clients can prove they cope.

A :class:`FaultPlan` says which faults to inject. Give one to the whole server
(``EmulatorConfig(faults=FaultPlan(...))``, or ``tingwu-nb emulator --fault KEY=VALUE``) or to
one task (``Emulator.inject(task_id, FaultPlan(...))``); a task's own plan replaces the
server's for that task. Faults are deterministic given the plan (random ones take ``seed``).
The user guide is ``docs/fault-injection.md``.

Streaming faults (read by :mod:`tingwu_nb.emulator.realtime` and :mod:`~tingwu_nb.emulator.outbox`);
"audio points" are seconds of the record's audio timeline, so a reconnect that replays audio
does not trigger the same fault twice:

* ``drop_at_audio_s`` — close the WebSocket abruptly (code 1011, no TranscriptionCompleted)
  at each of these points; ``drop_after_s`` — close every connection after this many seconds
  of audio received on it. ``max_drops`` bounds the drops of one task (None: unbounded).
* ``stall_at_audio_s`` / ``stall_s`` — at each point, neither read nor send for ``stall_s`` s.
* ``event_delay_s`` — every outgoing event leaves this much later (order kept).
* ``reorder_events`` — probability of swapping two adjacent events that concern different
  sentences (never TranscriptionStarted/Completed/TaskFailed, never a sentence's own events,
  never a ResultTranslated ahead of the SentenceEnd it cites).
* ``task_failed_at_audio_s`` — send TaskFailed ``task_failed_status`` / ``task_failed_text``
  at that point and close, as the service does (rt §2.8).
* ``refuse_handshake_first`` — refuse the first N WebSocket upgrades of a task with HTTP
  ``refuse_handshake_status`` (403 or 503).

REST faults (read by :mod:`tingwu_nb.emulator.rest`), counted per API action (``CreateTask``
covers start and stop), per server — or per task for calls naming a task with its own plan:

* ``rest_throttle_first`` — the first N calls answer ``Throttling.User`` (HTTP
  ``ContractChoices.throttle_status``, header ``x-acs-retry-after: rest_retry_after_s``);
  then ``rest_5xx_first`` calls answer HTTP ``rest_5xx_status`` ``ServerError``; afterwards each
  call is throttled with probability ``rest_throttle_fraction``, else failed with
  ``rest_5xx_fraction``. ``rest_fault_actions`` limits this to some actions (empty: all).
  A faulted call does nothing (safe to resend).
* ``result_url_ttl_s`` — result links expire this many seconds after GetTaskInfo handed them out.
* ``postprocess_delay_s`` — post-processing starts this much later (results appear late).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field, fields, replace
from typing import Any

from tingwu_nb.errors import ServiceError, ThrottledError

__all__ = ["FaultPlan", "FaultState", "RestFaults", "plan_of", "rest_fault_error", "task_id_of"]

#: Close code of an injected drop: 1011 (internal error), the closest a server can send to a
#: network failure (1006 is reserved for "no close frame" and cannot be sent).
DROP_CLOSE_CODE = 1011
#: Status texts of an injected TaskFailed without ``task_failed_text`` (rt §3 forms).
INJECTED_TEXT = {True: "Realtime:SERVER_ERROR:Injected fault (task_failed_at_audio_s).",
                 False: "Gateway:CLIENT_ERROR:Injected fault (task_failed_at_audio_s)."}
THROTTLE = "throttle"
SERVER_ERROR = "5xx"
#: rest §5.3: the message Tingwu's docs quote for Throttling.User; rest §5.2: the 500 row.
THROTTLE_MESSAGE = "Request was denied due to user flow control."
SERVER_ERROR_CODE, SERVER_ERROR_MESSAGE = "ServerError", "Server error."


@dataclass(frozen=True)
class FaultPlan:
    """Which faults to inject; the default injects none. See the module docstring."""

    drop_at_audio_s: tuple[float, ...] = ()
    drop_after_s: float | None = None
    max_drops: int | None = None
    seed: int = 0
    stall_at_audio_s: tuple[float, ...] = ()
    stall_s: float = 5.0
    event_delay_s: float = 0.0
    reorder_events: float = 0.0
    task_failed_at_audio_s: float | None = None
    task_failed_status: int = 50000000
    task_failed_text: str = ""
    refuse_handshake_first: int = 0
    refuse_handshake_status: int = 403
    rest_throttle_first: int = 0
    rest_5xx_first: int = 0
    rest_throttle_fraction: float = 0.0
    rest_5xx_fraction: float = 0.0
    rest_5xx_status: int = 500
    rest_retry_after_s: int = 1
    rest_fault_actions: tuple[str, ...] = ()
    result_url_ttl_s: float | None = None
    postprocess_delay_s: float = 0.0

    def __post_init__(self) -> None:
        for name in ("drop_at_audio_s", "stall_at_audio_s"):
            points = tuple(sorted(float(t) for t in getattr(self, name)))
            object.__setattr__(self, name, points)
            if any(t <= 0 for t in points):
                raise ValueError(f"{name}: every point must be > 0 seconds")
        object.__setattr__(self, "rest_fault_actions", tuple(str(a) for a in self.rest_fault_actions))
        for name in ("drop_after_s", "task_failed_at_audio_s", "result_url_ttl_s", "stall_s"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be > 0 seconds")
        for name in ("event_delay_s", "postprocess_delay_s", "refuse_handshake_first", "rest_throttle_first",
                     "rest_5xx_first"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        for name in ("reorder_events", "rest_throttle_fraction", "rest_5xx_fraction"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} is a probability: 0 to 1")
        if self.refuse_handshake_status not in (403, 503):
            raise ValueError("refuse_handshake_status must be 403 or 503")
        if not 500 <= self.rest_5xx_status <= 599:
            raise ValueError("rest_5xx_status must be an HTTP 5xx status")
        if self.rest_retry_after_s < 1:
            raise ValueError("rest_retry_after_s must be a positive integer (x-acs-retry-after)")
        if self.task_failed_status <= 0:
            raise ValueError("task_failed_status must be a positive status code, e.g. 50000000")

    @property
    def active(self) -> bool:
        """True when the plan injects anything."""
        return self != FaultPlan(seed=self.seed)

    @property
    def shapes_events(self) -> bool:
        """True when outgoing events are delayed or reordered (the outbox queues them)."""
        return self.event_delay_s > 0 or self.reorder_events > 0

    @property
    def failed_text(self) -> str:
        """The injected TaskFailed's status_text."""
        return self.task_failed_text or INJECTED_TEXT[self.task_failed_status >= 50000000]

    @classmethod
    def parse(cls, items: list[str] | tuple[str, ...]) -> FaultPlan:
        """A plan from ``KEY=VALUE`` strings (the CLI's ``--fault``); tuples as ``a,b,c``.

        Raises ValueError naming the unknown key or the bad value.
        """
        known = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {}
        for item in items:
            key, sep, raw = item.partition("=")
            key = key.strip().replace("-", "_")
            if not sep or key not in known:
                raise ValueError(f"unknown fault {item!r}; known: {', '.join(sorted(known))}")
            values[key] = _value(known[key], raw.strip(), key)
        return replace(cls(), **values)


def _value(spec: Any, raw: str, key: str) -> Any:
    default, kind = spec.default, str(spec.type)
    try:
        if isinstance(default, tuple):
            items = [x.strip() for x in raw.split(",") if x.strip()]
            return tuple(items) if "str" in kind else tuple(float(x) for x in items)
        if isinstance(default, str):
            return raw
        if isinstance(default, bool):
            return raw.lower() in ("1", "true", "yes", "on")
        if isinstance(default, int) and not isinstance(default, bool):
            return int(raw)
        if raw.lower() in ("none", ""):
            return None
        if "int" in kind and "float" not in kind:
            return int(raw)
        return float(raw)
    except ValueError:
        raise ValueError(f"fault {key}: {raw!r} is not a valid value") from None


class RestFaults:
    """Decides, call by call, whether a REST call is answered with an injected fault."""

    def __init__(self, plan: FaultPlan) -> None:
        self.plan = plan
        self.calls: dict[str, int] = {}
        self._rng = random.Random(f"rest:{plan.seed}")

    def decide(self, action: str) -> str | None:
        """``"throttle"``, ``"5xx"`` or None for the next call of ``action`` (counts it)."""
        p = self.plan
        if p.rest_fault_actions and action not in p.rest_fault_actions:
            return None
        n = self.calls.get(action, 0)
        self.calls[action] = n + 1
        if n < p.rest_throttle_first:
            return THROTTLE
        if n < p.rest_throttle_first + p.rest_5xx_first:
            return SERVER_ERROR
        if p.rest_throttle_fraction and self._rng.random() < p.rest_throttle_fraction:
            return THROTTLE
        if p.rest_5xx_fraction and self._rng.random() < p.rest_5xx_fraction:
            return SERVER_ERROR
        return None


def rest_fault_error(kind: str | None, plan: FaultPlan, throttle_status: int) -> ServiceError | None:
    """The error answering a faulted call (:meth:`RestFaults.decide`'s ``kind``), or None."""
    if kind == THROTTLE:
        return ThrottledError(THROTTLE_MESSAGE, retry_after=plan.rest_retry_after_s, code="Throttling.User",
                              status_code=throttle_status)
    if kind == SERVER_ERROR:
        return ServiceError(SERVER_ERROR_MESSAGE, code=SERVER_ERROR_CODE, status_code=plan.rest_5xx_status)
    return None


def plan_of(state: FaultState | None, server: FaultPlan) -> FaultPlan:
    """A task's plan: its FaultState's (``record.faults``), else the server's."""
    return state.plan if state is not None else server


def task_id_of(path_params: dict[str, Any], raw: bytes) -> str | None:
    """The task a REST call names: ``{task_id}`` in the path or ``Input.TaskId`` in the body."""
    if path_params.get("task_id"):
        return str(path_params["task_id"])
    if b"TaskId" not in raw:
        return None
    try:
        inp = json.loads(raw).get("Input")
    except (ValueError, AttributeError):
        return None
    task_id = inp.get("TaskId") if isinstance(inp, dict) else None
    return task_id if isinstance(task_id, str) else None


@dataclass
class FaultState:
    """What one task's plan has already done (drops, stalls, refusals so far, points used).

    ``own`` is True for a plan given by :meth:`Emulator.inject` (its REST faults then count
    per task); the server's plan counts REST calls per server.
    """

    plan: FaultPlan = field(default_factory=FaultPlan)
    drops: int = 0
    next_drop_point: int = 0
    own: bool = False
    next_stall_point: int = 0
    task_failed: bool = False
    handshakes_refused: int = 0
    rest: RestFaults | None = field(default=None, repr=False)
    connections: int = 0

    def may_drop(self) -> bool:
        return self.plan.max_drops is None or self.drops < self.plan.max_drops

    def drop_due(self, record_audio_s: float, connection_audio_s: float) -> bool:
        """True when the stream must be dropped now (and counts the drop)."""
        if not self.may_drop():
            return False
        points = self.plan.drop_at_audio_s
        due = False
        while self.next_drop_point < len(points) and record_audio_s >= points[self.next_drop_point]:
            self.next_drop_point += 1
            due = True
        if self.plan.drop_after_s is not None and connection_audio_s >= self.plan.drop_after_s:
            due = True
        if due:
            self.drops += 1
        return due

    def stall_due(self, record_audio_s: float) -> float:
        """Seconds to stall now (0.0: none); each stall point is used once."""
        points = self.plan.stall_at_audio_s
        due = False
        while self.next_stall_point < len(points) and record_audio_s >= points[self.next_stall_point]:
            self.next_stall_point += 1
            due = True
        return self.plan.stall_s if due else 0.0

    def task_failed_due(self, record_audio_s: float) -> tuple[int, str] | None:
        """``(status, status_text)`` of the injected TaskFailed once its point is reached (once)."""
        at = self.plan.task_failed_at_audio_s
        if self.task_failed or at is None or record_audio_s < at:
            return None
        self.task_failed = True
        return self.plan.task_failed_status, self.plan.failed_text

    def refuse_handshake(self) -> int | None:
        """The HTTP status refusing this WebSocket upgrade, or None to accept it (counts it)."""
        if self.handshakes_refused >= self.plan.refuse_handshake_first:
            return None
        self.handshakes_refused += 1
        return self.plan.refuse_handshake_status

    def rng(self) -> random.Random:
        """A new generator for one connection's random faults: seeded by the plan and the
        connection's number, so a run is repeatable."""
        self.connections += 1
        return random.Random(f"{self.plan.seed}:{self.connections}")

    def rest_faults(self) -> RestFaults:
        if self.rest is None:
            self.rest = RestFaults(self.plan)
        return self.rest
