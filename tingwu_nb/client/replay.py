"""Sans-I/O core of lossless reconnection: one continuous timeline over several connections.

When the WebSocket of a realtime stream drops, :class:`~tingwu_nb.client.resilient.ResilientStream`
opens a new connection to the same join URL and re-sends the audio the service has not
finalised: everything after the end of the last SentenceEnd received (``confirmed_ms``). This
module holds the bookkeeping, with no I/O:

* :class:`Stitcher` maps each connection's events onto one timeline: sentence indexes keep
  counting (the sentence that was open when the socket dropped keeps its index), times are
  re-based when the service restarts them, a second TranscriptionStarted is swallowed, and a
  SentenceEnd the timeline already has (a re-recognised duplicate) is dropped.
* :class:`AudioSource` gives the stream's audio again from any point: the original frame grid
  for pcm, a fresh encoding (new Ogg/ADTS headers) for compressed formats.
* :class:`Gap` is one drop and its replay, a row of the session's gaps table.

How the service numbers a new connection is UNCONFIRMED for the cloud (spec rt §5.4). The
stitcher's ``time_base`` handles the three readings: ``"resume"`` (times continue from the end
of the last finalised sentence: the emulator's default, exact), ``"restart"`` (times start at 0
again) and ``"auto"`` (the default: restart when the first timed event of a new connection is
before the resume point, else resume).
"""

from __future__ import annotations

import dataclasses
import mmap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np

from tingwu_nb.client.audio import Frame, stream_frames
from tingwu_nb.contract import events as ev

__all__ = ["DUPLICATE_TOLERANCE_MS", "AudioSource", "Gap", "PcmFrames", "Stitcher"]

#: A SentenceEnd of a later connection ending at most this much after the confirmed point is the
#: re-recognised copy of a sentence the timeline already has.
DUPLICATE_TOLERANCE_MS = 50

TimeBase = Literal["auto", "resume", "restart"]
#: Server indexes remembered per connection (the oldest are forgotten): bounded memory on a
#: day-long stream; a translation arrives within a few sentences of its source.
_INDEX_MEMORY = 256


@dataclass(frozen=True)
class Gap:
    """One dropped connection and what was done about it (a row of ``gaps.jsonl``).

    ``audio_sent_ms``: stream audio sent when the drop was noticed; ``resume_ms``: where the
    replay started (end of the last finalised sentence); ``replayed_s``: audio sent twice;
    ``lost_s``: audio that could not be replayed (beyond ``max_replay_s``; 0 when nothing was
    lost); ``open_sentence``: index of the sentence that was being recognised (its interim text
    is replaced when it is recognised again), None if none was open.
    """

    connection: int
    dropped_at: float
    dropped_wall: float
    reason: str
    audio_sent_ms: int
    resume_ms: int
    replayed_s: float
    lost_s: float
    reconnect_s: float
    attempts: int
    open_sentence: int | None


class Stitcher:
    """Maps the events of successive connections onto one timeline; feed every event to
    :meth:`accept` and call :meth:`new_connection` before the events of a new connection."""

    def __init__(self, time_base: TimeBase = "auto", tolerance_ms: int = DUPLICATE_TOLERANCE_MS) -> None:
        if time_base not in ("auto", "resume", "restart"):
            raise ValueError(f"time_base must be 'auto', 'resume' or 'restart', got {time_base!r}")
        self.time_base = time_base
        self.tolerance_ms = tolerance_ms
        self.connection = 1
        self.confirmed_ms = 0  # end of the last SentenceEnd on the timeline
        self.open_index: int | None = None  # a sentence begun (or with interim text) but not finalised
        self.last_index: int | None = None  # the highest index on the timeline
        self.duplicates = 0
        self._index_map: dict[int, int] = {}
        self._shift_ms: int | None = 0
        self._resume_ms = 0
        self._replay_start_ms = 0
        self._started = False

    def new_connection(self, replay_start_ms: int) -> None:
        """A new connection starts; its first audio sample is stream time ``replay_start_ms``
        (at or before :attr:`confirmed_ms`)."""
        self.connection += 1
        self._index_map = {}
        self._resume_ms = self.confirmed_ms
        self._replay_start_ms = replay_start_ms
        self._shift_ms = None if self.time_base == "auto" else self._shift_for(self.time_base)

    def _shift_for(self, base: str) -> int:
        # resume: the service's time for the first replayed sample is the confirmed point
        return self._replay_start_ms - (self._resume_ms if base == "resume" else 0)

    def accept(self, event: ev.Event) -> ev.Event | None:
        """The event on the continuous timeline, or None when it must not be delivered."""
        if isinstance(event, ev.TranscriptionStarted):
            if self._started:
                return None
            self._started = True
            return event
        if isinstance(event, (ev.SentenceBegin, ev.TranscriptionResultChanged, ev.SentenceEnd)):
            return self._sentence_event(event)
        if isinstance(event, ev.ResultTranslated):
            return self._translated(event)
        return event

    # --- sentences ------------------------------------------------------------------------

    def _decide_shift(self, event: ev.Event) -> None:
        if self._shift_ms is not None:
            return
        first = getattr(event, "begin_time_ms", None)
        first = event.time_ms if first is None else first
        # a resumed service numbers the first replayed sample at (or just before) the resume point
        restarted = first < min(self._replay_start_ms, self._resume_ms - self.tolerance_ms)
        self._shift_ms = self._shift_for("restart" if restarted else "resume")

    def _index(self, server_index: int) -> int:
        if server_index not in self._index_map:
            if self.connection == 1:
                mapped = server_index
            elif self.open_index is not None and self.open_index not in self._index_map.values():
                mapped = self.open_index
            else:
                mapped = (self.last_index + 1) if self.last_index is not None else server_index
            self._index_map[server_index] = mapped
            self.last_index = mapped if self.last_index is None else max(self.last_index, mapped)
            if len(self._index_map) > _INDEX_MEMORY:  # translations cite only recent sentences
                del self._index_map[next(iter(self._index_map))]
        return self._index_map[server_index]

    def _sentence_event(self, event: ev.Event) -> ev.Event | None:
        self._decide_shift(event)
        shift = self._shift_ms or 0
        if isinstance(event, ev.SentenceEnd) and self.connection > 1 and \
                event.time_ms + shift <= self.confirmed_ms + self.tolerance_ms and event.index not in self._index_map:
            self.duplicates += 1  # recognised again from replayed audio the timeline already has
            return None
        index = self._index(event.index)
        changes: dict[str, object] = {"index": index, "time_ms": event.time_ms + shift}
        if getattr(event, "words", None):
            changes["words"] = tuple(ev.Word(w.text, w.start_ms + shift, w.end_ms + shift) for w in event.words)
        if isinstance(event, ev.SentenceEnd):
            if event.begin_time_ms is not None:
                changes["begin_time_ms"] = event.begin_time_ms + shift
            if event.stash is not None:
                changes["stash"] = dataclasses.replace(
                    event.stash, begin_time_ms=event.stash.begin_time_ms + shift,
                    current_time_ms=event.stash.current_time_ms + shift)
            self.confirmed_ms = max(self.confirmed_ms, event.time_ms + shift)
            if self.open_index == index:
                self.open_index = None
        else:
            self.open_index = index
        return dataclasses.replace(event, **changes) if changes else event

    def _translated(self, event: ev.ResultTranslated) -> ev.ResultTranslated:
        shift = self._shift_ms or 0
        items = tuple(dataclasses.replace(
            item, index=self._index_map.get(item.index, item.index),
            begin_time_ms=None if item.begin_time_ms is None else item.begin_time_ms + shift,
            end_time_ms=None if item.end_time_ms is None else item.end_time_ms + shift) for item in event.items)
        return dataclasses.replace(event, items=items)


class PcmFrames:
    """The frames of a pcm stream cut on demand from its samples (an array or a memmap): the same
    frames as :func:`tingwu_nb.client.audio.stream_frames` for pcm, without holding them all.

    Iterate it as often as needed; ``duration_ms`` is the end of the last frame.
    """

    def __init__(self, pcm: np.ndarray, sample_rate: int, frame_ms: int = 100, start_ms: int = 0,
                 root: np.ndarray | None = None) -> None:
        self.pcm, self.sample_rate, self.frame_ms, self.start_ms = pcm, sample_rate, frame_ms, start_ms
        self.root = pcm if root is None else root  # the memmap ``pcm`` is a slice of, if any

    @property
    def duration_ms(self) -> int:
        return self.start_ms + round(len(self.pcm) * 1000 / self.sample_rate)

    def __iter__(self) -> Iterator[Frame]:
        step = self.sample_rate * self.frame_ms // 1000
        ms = 1000 / self.sample_rate
        release = _page_release(self.root)
        for n, i in enumerate(range(0, len(self.pcm), step)):
            view = self.pcm[i:i + step]
            if release is not None and n % _RELEASE_EVERY == 0:
                release(view)
            chunk = np.asarray(view, dtype="<i2")
            yield Frame(chunk.tobytes(), self.start_ms + round(i * ms), self.start_ms + round((i + len(chunk)) * ms))


#: Frames between two releases of the memory-mapped pages already sent (10 s of audio).
_RELEASE_EVERY = 100


def _page_release(root: np.ndarray) -> Callable[[np.ndarray], None] | None:
    """For a memmap (offset 0, as ``decode_audio(spool=True)`` makes), a function that drops the
    pages before a view's start from this process (MADV_DONTNEED: they are read again from the
    file if a replay needs them), so resident memory stays flat while a long file streams."""
    mapped = getattr(root, "_mmap", None)
    if mapped is None or not hasattr(mapped, "madvise") or getattr(root, "offset", 0) or \
            not hasattr(mmap, "MADV_DONTNEED"):
        return None
    base = root.ctypes.data

    def release(view: np.ndarray) -> None:
        upto = (view.ctypes.data - base) // mmap.PAGESIZE * mmap.PAGESIZE
        if upto > 0:
            mapped.madvise(mmap.MADV_DONTNEED, 0, upto)

    return release


class AudioSource:
    """The stream's audio, again from any point: what a reconnect re-sends.

    ``pcm`` is the decoded int16 audio at ``sample_rate``; ``fmt`` the stream format. For pcm
    the frames follow the original ``frame_ms`` grid (the first one cut at the resume point);
    compressed formats are encoded afresh from the resume point (a new connection needs new
    Ogg/ADTS headers), so their frame edges differ from the first encoding.
    """

    def __init__(self, pcm: np.ndarray, sample_rate: int, fmt: str, frame_ms: int = 100) -> None:
        self.pcm = pcm
        self.sample_rate = sample_rate
        self.fmt = fmt
        self.frame_ms = frame_ms

    @property
    def duration_ms(self) -> int:
        return round(len(self.pcm) * 1000 / self.sample_rate)

    def frames(self, from_ms: int) -> Iterator[Frame]:
        """Frames covering ``[from_ms, end)`` with stream times (``start_ms``/``end_ms``)."""
        from_ms = max(0, min(int(from_ms), self.duration_ms))
        if self.fmt == "pcm":
            grid = -(-from_ms // self.frame_ms) * self.frame_ms  # the next edge of the original grid
            if grid > from_ms:
                yield from self._encoded(from_ms, grid)
            from_ms = grid
        yield from self._encoded(from_ms, None)

    def _encoded(self, start_ms: int, end_ms: int | None) -> Iterator[Frame]:
        first = start_ms * self.sample_rate // 1000
        last = None if end_ms is None else end_ms * self.sample_rate // 1000
        piece = self.pcm[first:last]
        if not len(piece):
            return
        if self.fmt == "pcm":  # cut on demand: a replay of a long stream copies nothing ahead
            yield from PcmFrames(piece, self.sample_rate, self.frame_ms, start_ms, root=self.pcm)
            return
        for frame in stream_frames(np.asarray(piece), self.sample_rate, self.fmt, frame_ms=self.frame_ms):
            yield Frame(frame.data, frame.start_ms + start_ms, frame.end_ms + start_ms)
