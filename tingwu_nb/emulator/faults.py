"""Fault injection: what the emulator does wrong on purpose, so clients can prove they cope.

A :class:`FaultPlan` says which faults to inject. Give one to the whole server
(``EmulatorConfig(faults=FaultPlan(...))``, or ``tingwu-nb emulator --fault KEY=VALUE``) or to
one task (``Emulator.inject(task_id, FaultPlan(...))``); a task's own plan replaces the
server's for that task. Faults are deterministic given the plan (random ones take ``seed``).

Streaming faults (read by :mod:`tingwu_nb.emulator.realtime`):

* ``drop_at_audio_s`` — close the WebSocket abruptly (code 1011, no TranscriptionCompleted)
  when the record's audio timeline first passes each of these points (seconds of the record,
  so a reconnect that replays audio does not trigger the same drop twice);
  ``drop_after_s`` — close every connection after this many seconds of audio received on it.
  ``max_drops`` bounds the drops of one task (None: unbounded).

Everything else (REST throttling and 5xx, refused handshakes, stalls, delayed or reordered
events, TaskFailed with a chosen code, early URL expiry, slow post-processing) is added to this
plan by the modules that serve those paths; each field documents itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

__all__ = ["FaultPlan", "FaultState"]

#: Close code of an injected drop: 1011 (internal error), the closest a server can send to a
#: network failure (1006 is reserved for "no close frame" and cannot be sent).
DROP_CLOSE_CODE = 1011


@dataclass(frozen=True)
class FaultPlan:
    """Which faults to inject; the default injects none. See the module docstring."""

    drop_at_audio_s: tuple[float, ...] = ()
    drop_after_s: float | None = None
    max_drops: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "drop_at_audio_s", tuple(sorted(float(t) for t in self.drop_at_audio_s)))
        if any(t <= 0 for t in self.drop_at_audio_s):
            raise ValueError("drop_at_audio_s: every point must be > 0 seconds")
        if self.drop_after_s is not None and self.drop_after_s <= 0:
            raise ValueError("drop_after_s must be > 0 seconds")

    @property
    def active(self) -> bool:
        """True when the plan injects anything."""
        return self != FaultPlan(seed=self.seed)

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
            values[key] = _value(known[key].default, raw.strip(), key)
        return replace(cls(), **values)


def _value(default: Any, raw: str, key: str) -> Any:
    try:
        if isinstance(default, tuple):
            return tuple(float(x) for x in raw.split(",") if x.strip())
        if isinstance(default, bool):
            return raw.lower() in ("1", "true", "yes", "on")
        if isinstance(default, int) and not isinstance(default, bool):
            return int(raw)
        if raw.lower() in ("none", ""):
            return None
        try:
            return float(raw)
        except ValueError:
            return raw
    except ValueError:
        raise ValueError(f"fault {key}: {raw!r} is not a valid value") from None


@dataclass
class FaultState:
    """What one task's plan has already done (drops so far, drop points used)."""

    plan: FaultPlan = field(default_factory=FaultPlan)
    drops: int = 0
    next_drop_point: int = 0

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
