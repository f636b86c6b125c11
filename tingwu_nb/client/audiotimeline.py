"""A decoded file's timeline: every frame at its own timestamp, damaged stretches as silence.

:class:`Timeline` places decoded frames where their timestamps say, so a stretch FFmpeg skipped
(corrupt bytes in a FLAC, a damaged MP3 frame...) becomes silence of the same length instead of
shifting everything after it, and records it as an :class:`AudioGap`. :class:`RawClock` gives
timestamps to raw MP3 / ADTS streams, which have none. Used by :mod:`tingwu_nb.client.audiofile`.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import av

__all__ = ["AudioGap", "RawClock", "Timeline"]

_GAP_TOLERANCE_S = 0.002  # timestamps of intact files agree to the sample; 2 ms is a real hole
_SEARCH_BYTES = 1 << 20  # how far past the expected offset a raw packet is looked for


@dataclass(frozen=True)
class AudioGap:
    """A stretch of the file that did not decode as written, in seconds of the file's timeline.

    ``missing_s`` seconds of it were filled with silence (the rest decoded, possibly damaged),
    so audio after ``end_s`` keeps its timestamps. ``reason`` is what FFmpeg reported.
    """

    start_s: float
    end_s: float
    missing_s: float
    reason: str

    def __str__(self) -> str:
        return (f"corrupt audio at {self.start_s:.2f}–{self.end_s:.2f} s ({self.reason}): "
                f"{self.missing_s:.2f} s filled with silence, later timestamps unchanged")


class RawClock:
    """Timestamps for raw MP3 / ADTS streams, which carry none of their own.

    FFmpeg counts frames, so a damaged stretch it skipped would vanish from the timeline. Each
    packet is found in the file's bytes (``data``): bytes FFmpeg jumped over before it were
    damaged. A packet without a valid header (or with one at another sample rate) is damaged
    data itself and is not decoded. Damaged bytes are counted as whole frames of the mean
    intact frame size (exact for constant bit rates, close otherwise).
    """

    def __init__(self, header: Any, data: bytes | None = None) -> None:
        self.header, self.data, self.offset = header, data, None
        self.samples, self.expected, self.rate, self.intact_frames, self.intact_bytes = 0, 0, 0, 0, 0
        self.run_bytes = self.run_frames = 0  # the current run of damaged data

    def packet(self, packet: av.Packet) -> tuple[str | None, bool]:
        """Advance over ``packet``: (why time was lost before or in it, whether to decode it)."""
        raw = bytes(packet)
        damaged = self._skipped(raw)
        parsed = self.header(raw)
        intact = parsed is not None and parsed[0] == packet.size and self.rate in (0, parsed[2])
        if intact:
            length, self.expected, self.rate = parsed
            self.intact_frames, self.intact_bytes = self.intact_frames + 1, self.intact_bytes + length
        else:
            damaged += packet.size
        if not damaged:
            self.run_bytes = self.run_frames = 0
            return None, True
        # a damaged run was whole frames of the stream: count it at the mean intact frame size
        self.run_bytes += damaged
        frames = round(self.run_bytes * self.intact_frames / self.intact_bytes) if self.intact_bytes else 0
        lost = (frames - self.run_frames) * self.expected
        self.run_frames = frames
        self.samples += lost
        return f"{damaged} bytes of damaged data (about {lost / max(self.rate, 1):.2f} s, from the bit rate)", intact

    def _skipped(self, raw: bytes) -> int:
        """Bytes of the file between the previous packet and this one (0 before the first: tags)."""
        if self.data is None:
            return 0
        start = self.offset or 0
        at = self.data.find(raw[:32], start, start + _SEARCH_BYTES + len(raw))
        if at < 0:  # not found (should not happen): assume it follows on
            self.offset = None if self.offset is None else self.offset + len(raw)
            return 0
        skipped = at - start if self.offset is not None else 0
        self.offset = at + len(raw)
        return skipped

    def refused(self) -> None:
        """The decoder refused an intact-looking packet: its samples are missing."""
        self.samples += self.expected

    def stamp(self, frame: av.AudioFrame) -> None:
        frame.pts, frame.time_base = self.samples, Fraction(1, self.rate or frame.sample_rate)
        self.samples += frame.samples


def _mono(frame: av.AudioFrame) -> np.ndarray:
    """One frame as float32 mono in [-1, 1] (channels averaged)."""
    data = frame.to_ndarray()
    channels = len(frame.layout.channels)
    if not frame.format.is_planar:
        data = data.reshape(-1, channels).T
    if data.dtype.kind == "u":
        data = (data.astype(np.float32) - 128.0) / 128.0
    elif data.dtype.kind == "i":
        data = data.astype(np.float32) / float(np.iinfo(data.dtype).max + 1)
    return data.astype(np.float32, copy=False).mean(axis=0)


class Timeline:
    """Places mono chunks at their timestamps on the file's sample timeline, filling holes.

    ``pos`` counts the samples emitted. Frames without a timestamp (FFmpeg lost sync inside
    damaged data) wait for the next timed frame, which says how much room they had: they are
    cut to fit and the rest of the room is silence. Decoder errors since the last timed frame
    name the reason of the next hole.
    """

    def __init__(self, rate: int, start: int | None) -> None:
        self.rate, self.start, self.origin, self.pos = rate, start, None, 0
        self.kind: tuple | None = None
        self.damaged_end = 0
        self.pending: list[np.ndarray] = []
        self.errors: list[str] = []
        self.gaps: list[AudioGap] = []

    def add(self, frame: av.AudioFrame) -> list[np.ndarray]:
        at = None if frame.pts is None or frame.time_base is None else round(frame.pts * frame.time_base * self.rate)
        if at is not None and self.origin is None:
            first = at - sum(c.size for c in self.pending)
            self.origin = first if self.start is None else min(first, self.start)
        kind = (frame.layout.name, frame.format.name, frame.sample_rate)
        self.kind = self.kind or kind
        planes = len(frame.layout.channels) if frame.format.is_planar else 1
        if kind != self.kind or len(frame.planes) != planes:  # garbage decoded from damaged data
            self.failed(f"the decoder produced a damaged frame ({frame.layout.name}, {frame.sample_rate} Hz)")
            if at is not None:
                self.damaged_end = at - self.origin + frame.samples
            return []
        chunk = _mono(frame)
        if at is None:
            self.pending.append(chunk)
            return []
        out = self._fill(at - self.origin - self.pos)
        out.append(chunk)
        self.pos += chunk.size
        return out

    def failed(self, reason: str) -> None:
        self.errors.append(reason)

    def finish(self) -> list[np.ndarray]:
        """The rest: untimed chunks as they are, or silence up to the end of trailing damage."""
        if self.errors and self.damaged_end > self.pos:
            return self._fill(self.damaged_end - self.pos)
        out, self.pending = self.pending, []
        self.pos += sum(c.size for c in out)
        return out

    def _fill(self, room: int) -> list[np.ndarray]:
        """What goes before the next timed frame: untimed chunks cut to ``room``, then silence."""
        pending, self.pending = self.pending, []
        room = max(room, 0)  # an overlap (room < 0) is left alone: the frame follows at once
        out, used = [], 0
        for chunk in pending:
            take = chunk[: room - used]
            if take.size:
                out.append(take)
                used += take.size
        missing = room - used
        damaged = bool(pending or self.errors)
        if missing > (0 if damaged else self.rate * _GAP_TOLERANCE_S) or (pending and used < sum(map(len, pending))):
            reason = "; ".join(dict.fromkeys(self.errors)) or (
                "FFmpeg lost sync in damaged data" if pending else "the file holds no intact audio for this stretch")
            self.gaps.append(AudioGap(round(self.pos / self.rate, 3), round((self.pos + room) / self.rate, 3),
                                      round(missing / self.rate, 3), reason))
        if missing > 0:
            out.append(np.zeros(missing, np.float32))
        self.errors = []
        self.pos += room
        return out
