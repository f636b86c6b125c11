"""What a live session view shows, as plain data: events in, a bounded view state out.

Pure (no widgets, no asyncio), so it is tested by replaying a recorded session. Feed it what
:func:`tingwu_nb.record` reports, in order — :meth:`LiveState.audio_ready`,
:meth:`LiveState.frame_sent`, :meth:`LiveState.event`, :meth:`LiveState.task_update`, then
:meth:`LiveState.finished` — and let the view take :meth:`LiveState.take_changes` to render
only what changed. Memory stays bounded for any length of session: the last ``max_rows``
final sentences are kept (the earlier ones are only counted) and sent frames are forgotten
once no later sentence can end in them.

    state = LiveState(max_rows=200, expected=expected_results(request.to_wire()))
    for event in session.events(): state.event(event)
    state.rows[-1].text, state.status_line()
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tingwu_nb.contract import events as ev

__all__ = ["Changes", "Interim", "LiveState", "SentenceRow", "expected_results", "speaker_color"]

#: Colours for speakers in order of appearance (Tableau 10, readable on white and dark themes).
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf")

#: Result keys switched on by ``Parameters.<Key>Enabled`` besides Transcription and Translation.
FEATURE_KEYS = ("AutoChapters", "MeetingAssistance", "Summarization", "TextPolish", "ServiceInspection",
                "CustomPrompt", "IdentityRecognition", "ContentExtraction")


def expected_results(request_wire: Mapping[str, Any]) -> list[str]:
    """The ``Result`` keys a task created with this CreateTask body will produce, in display order."""
    params = request_wire.get("Parameters") or {}
    keys = ["Transcription"] + (["Translation"] if params.get("TranslationEnabled") else [])
    return keys + [k for k in FEATURE_KEYS if params.get(f"{k}Enabled") is True]


def speaker_color(speaker_id: str | None, order: dict[str, int]) -> str:
    """A stable colour for ``speaker_id``: the next palette entry the first time it is seen in ``order``."""
    if speaker_id is None:
        return "#444444"
    n = order.setdefault(speaker_id, len(order))
    return PALETTE[n % len(PALETTE)]


@dataclass
class SentenceRow:
    """One final sentence as shown: ``seq`` counts finals from 1 in arrival order (a stable row key)."""

    seq: int
    index: int
    speaker_id: str | None
    start_s: float
    end_s: float
    text: str
    message_id: str = ""
    latency_s: float | None = None
    translations: dict[str, str] = field(default_factory=dict)


@dataclass
class Interim:
    """The open sentence's unstable text (greyed in the view) and its partial translations."""

    index: int
    text: str
    speaker_id: str | None = None
    time_s: float = 0.0
    translations: dict[str, str] = field(default_factory=dict)


@dataclass
class Changes:
    """What changed since the last :meth:`LiveState.take_changes`; render only these."""

    added: list[SentenceRow]
    updated: list[SentenceRow]
    interim: bool
    progress: bool
    results: bool
    status: bool

    @property
    def any(self) -> bool:
        return bool(self.added or self.updated or self.interim or self.progress or self.results or self.status)


class LiveState:
    """The bounded state of one live session (see the module docstring for the feeding order)."""

    def __init__(self, *, max_rows: int = 200, expected: Iterable[str] = ("Transcription",)) -> None:
        if max_rows < 1:
            raise ValueError(f"max_rows must be >= 1, got {max_rows!r}")
        self.max_rows = max_rows
        self.rows: deque[SentenceRow] = deque(maxlen=max_rows)
        self.finals = 0  # every final received; finals - len(rows) are summarised as "earlier"
        self.interim: Interim | None = None
        self.total_ms: int | None = None
        self.sent_ms = 0
        self.heard_ms = 0  # the latest stream time an event reported
        self.phase = "preparing audio"
        self.task_status: str | None = None
        self.task_id: str | None = None
        self.error: str | None = None
        self.results: dict[str, bool] = {k: False for k in expected}
        self.latency_count, self.latency_sum, self.latency_max = 0, 0.0, 0.0
        self.reconnects, self.replayed_s = 0, 0.0
        self.colors: dict[str, int] = {}
        self._frames: deque[tuple[int, float]] = deque()  # (end_ms, mono) not yet passed by a sentence end
        self._by_message: dict[str, SentenceRow] = {}
        self._added: list[SentenceRow] = []
        self._updated: dict[int, SentenceRow] = {}
        self._flags = {"interim": False, "progress": False, "results": False, "status": True}

    # --- input ------------------------------------------------------------------------
    def audio_ready(self, total_ms: int) -> None:
        """The audio was converted: ``total_ms`` of it will be streamed."""
        self.total_ms = total_ms
        self._set_phase("creating task")
        self._flags["progress"] = True

    def reconnected(self, replayed_s: float) -> None:
        """The connection dropped and was replaced; ``replayed_s`` of audio were sent again (a
        :class:`~tingwu_nb.client.replay.Gap`). The interim text of the open sentence is stale:
        it is recognised again from the replayed audio."""
        self.reconnects += 1
        self.replayed_s += replayed_s
        self.interim = None
        self._flags["interim"] = self._flags["status"] = True

    def frame_sent(self, end_ms: int, mono: float) -> None:
        """A frame ending at ``end_ms`` of stream audio was sent at monotonic time ``mono``."""
        if self.phase in ("preparing audio", "creating task"):
            self._set_phase("streaming")
        self.sent_ms = max(self.sent_ms, end_ms)
        self._frames.append((end_ms, mono))
        self._flags["progress"] = True
        if self.total_ms is not None and end_ms >= self.total_ms and self.phase == "streaming":
            self._set_phase("draining finals")

    def event(self, event: ev.Message) -> None:
        """Apply one live event (stamped with ``received_at`` for latency)."""
        if isinstance(event, ev.SentenceEnd):
            self._final(event)
        elif isinstance(event, ev.TranscriptionResultChanged):
            self.interim = Interim(event.index, event.result, event.speaker_id, event.time_ms / 1000.0,
                                   self.interim.translations if self.interim and self.interim.index == event.index
                                   else {})
            self._heard(event.time_ms)
            self._flags["interim"] = True
        elif isinstance(event, ev.ResultTranslated):
            self._translated(event)
        elif isinstance(event, ev.TranscriptionStarted):
            self.task_id = event.task_id or self.task_id
            self._set_phase("streaming")
        elif isinstance(event, ev.TranscriptionCompleted):
            self._set_phase("post-processing")
        elif isinstance(event, ev.TaskFailed):
            self.error = f"TaskFailed {event.status}: {event.status_text}"
            self._flags["status"] = True

    def stopping(self) -> None:
        """Stop was requested: no more audio, the finals are being drained."""
        self._set_phase("stopping: draining finals")

    def task_update(self, status: str | None, result_keys: Iterable[str]) -> None:
        """One GetTaskInfo while post-processing: its ``TaskStatus`` and the ``Result`` keys present."""
        self.task_status = status
        self._set_phase("post-processing")
        for key in result_keys:
            if not self.results.get(key):
                self.results[key] = True
                self._flags["results"] = True

    def finished(self, status: str, error: str | None = None) -> None:
        """The recording ended with task ``status`` (``COMPLETED``, ``FAILED``, ``cancelled``, ...)."""
        self.task_status = status
        self.error = error or self.error
        if status == "COMPLETED":
            self.results = dict.fromkeys(self.results, True)
            self._flags["results"] = True
        self._set_phase("done")

    # --- output -----------------------------------------------------------------------
    @property
    def earlier(self) -> int:
        """Final sentences received but no longer kept as rows."""
        return self.finals - len(self.rows)

    @property
    def mean_latency_s(self) -> float | None:
        return self.latency_sum / self.latency_count if self.latency_count else None

    @property
    def progress(self) -> float:
        """Audio sent / total audio, 0..1 (0 while the total is unknown)."""
        return min(1.0, self.sent_ms / self.total_ms) if self.total_ms else 0.0

    def status_line(self) -> str:
        """One line that ends with the task status once there is one (e.g. ``... — COMPLETED``)."""
        parts = [f"{self.finals} sentences", f"audio {_clock(self.sent_ms / 1000)}"
                 + (f" / {_clock(self.total_ms / 1000)}" if self.total_ms else "")]
        if self.mean_latency_s is not None:
            parts.append(f"latency mean {self.mean_latency_s:.2f} s, max {self.latency_max:.2f} s")
        if self.reconnects:
            parts.append(f"reconnected {self.reconnects}× ({self.replayed_s:.1f} s replayed, nothing lost)")
        if self.error:
            parts.append(self.error)
        if self.phase != "done":
            parts.append(self.phase)
        if self.task_status:
            parts.append(self.task_status)
        return " — ".join(parts)

    def take_changes(self) -> Changes:
        """What changed since the previous call (and forget it)."""
        kept = {row.seq for row in self.rows}
        added = [row for row in self._added if row.seq in kept]
        updated = [row for seq, row in self._updated.items() if seq in kept and row not in added]
        changes = Changes(added, updated, **self._flags)
        self._added, self._updated = [], {}
        self._flags = dict.fromkeys(self._flags, False)
        return changes

    # --- internals --------------------------------------------------------------------
    def _final(self, event: ev.SentenceEnd) -> None:
        self.finals += 1
        start_ms = event.begin_time_ms if event.begin_time_ms is not None else (
            event.words[0].start_ms if event.words else event.time_ms)
        row = SentenceRow(self.finals, event.index, event.speaker_id, start_ms / 1000.0, event.time_ms / 1000.0,
                          event.result, event.message_id, self._latency(event))
        if row.latency_s is not None:
            self.latency_count += 1
            self.latency_sum += row.latency_s
            self.latency_max = max(self.latency_max, row.latency_s)
        if len(self.rows) == self.rows.maxlen:
            self._by_message.pop(self.rows[0].message_id, None)
        self.rows.append(row)
        if event.message_id:
            self._by_message[event.message_id] = row
        self._added.append(row)
        speaker_color(event.speaker_id, self.colors)
        if self.interim is not None and self.interim.index <= event.index:
            self.interim = None
            self._flags["interim"] = True
        self._heard(event.time_ms)

    def _latency(self, event: ev.SentenceEnd) -> float | None:
        """Receive time − send time of the first frame holding the sentence end (as
        :func:`~tingwu_nb.results.transcription.live_sentences_frame`); earlier frames are dropped."""
        while len(self._frames) > 1 and self._frames[0][0] < event.time_ms:
            self._frames.popleft()
        if not self._frames or event.received_at is None:
            return None
        return event.received_at - self._frames[0][1]

    def _translated(self, event: ev.ResultTranslated) -> None:
        for item in event.items:
            if item.partial:
                if self.interim is not None and self.interim.index == item.index:
                    self.interim.translations[event.target_lang] = item.text
                    self._flags["interim"] = True
                continue
            row = self._by_message.get(event.source_message_id) or next(
                (r for r in reversed(self.rows) if r.index == item.index), None)
            if row is not None:
                row.translations[event.target_lang] = item.text
                self._updated[row.seq] = row

    def _heard(self, time_ms: int) -> None:
        if time_ms > self.heard_ms:
            self.heard_ms = time_ms
            self._flags["progress"] = True

    def _set_phase(self, phase: str) -> None:
        if self.phase == "done" or (self.phase.startswith("stopping") and phase in ("streaming", "draining finals")):
            return
        if phase != self.phase:
            self.phase = phase
            self._flags["status"] = True


def _clock(seconds: float) -> str:
    minutes, sec = divmod(max(0.0, seconds), 60)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}:{minutes:02d}:{sec:04.1f}" if hours else f"{minutes}:{sec:04.1f}"
