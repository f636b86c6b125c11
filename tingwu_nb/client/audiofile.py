"""Audio files in: probe and decode any common format onto a faithful timeline.

    info = probe("meeting.m4a")                     # refuses non-audio with a reason, before any task
    audio = decode_audio("meeting.m4a", sample_rate=16000)
    audio.pcm                                       # int16 mono, one sample per 1/16000 s of the file
    audio.gaps, audio.warnings                      # corrupt stretches found, and how they were repaired

Decoding uses PyAV (FFmpeg). Every decoded frame is placed at its own timestamp: a stretch the
decoder skipped (corrupt bytes inside a FLAC, a damaged MP3 frame, ...) becomes silence of the
same length, so every later timestamp stays where it is in the file, and the stretch is
reported (:class:`AudioGap`; :func:`load_pcm` also issues an :class:`~tingwu_nb.errors.AudioWarning`).
:mod:`tingwu_nb.client.audio` re-exports :func:`probe`, :func:`load_pcm` and :class:`AudioInfo`.
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tingwu_nb.client.audiotimeline import AudioGap, RawClock, Timeline
from tingwu_nb.client.bitstream import adts_header, mpeg_header
from tingwu_nb.errors import AudioError, AudioWarning

if TYPE_CHECKING:  # PyAV loads (~40 ms, ~20 MB) only in the functions that decode/encode
    import av

__all__ = ["STREAM_RATES", "AudioGap", "AudioInfo", "DecodedAudio", "decode_audio", "load_pcm", "probe"]

STREAM_RATES = (8000, 16000)
_CONTAINER_NAMES = {"mov,mp4,m4a,3gp,3g2,mj2": "mp4", "matroska,webm": "matroska"}
_MAGIC = [  # (offset, bytes, description, is_audio)
    (0, b"\x89PNG\r\n\x1a\n", "a PNG image", False),
    (0, b"\xff\xd8\xff", "a JPEG image", False),
    (0, b"GIF8", "a GIF image", False),
    (0, b"%PDF", "a PDF document", False),
    (0, b"PK\x03\x04", "a ZIP archive (or an Office document)", False),
    (0, b"\x1f\x8b", "gzip-compressed data", False),
    (0, b"\x7fELF", "an executable program", False),
    (0, b"RIFF", "a WAV/RIFF file", True),
    (0, b"fLaC", "a FLAC file", True),
    (0, b"OggS", "an Ogg file", True),
    (0, b"ID3", "an MP3 file", True),
    (4, b"ftyp", "an MP4/M4A file", True),
    (0, b"\x1a\x45\xdf\xa3", "a Matroska/WebM file", True),
]


@dataclass(frozen=True)
class AudioInfo:
    """What :func:`probe` found: FFmpeg container and codec names, rate, channels, length."""

    source: str
    container: str
    codec: str
    sample_rate: int
    channels: int
    duration_s: float
    sample_format: str


@dataclass(frozen=True)
class DecodedAudio:
    """The result of :func:`decode_audio`: int16 mono ``pcm`` at ``sample_rate`` and what was repaired.

    ``warnings`` are one line each (gaps, and a file that ends early); show them to the user.
    """

    source: str
    pcm: np.ndarray = field(repr=False)
    sample_rate: int
    gaps: tuple[AudioGap, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def duration_s(self) -> float:
        return self.pcm.size / self.sample_rate


# ---------------------------------------------------------------- opening


def _describe(head: bytes) -> tuple[str | None, bool]:
    """Guess what ``head`` (first bytes of a file) is: (human description, looks like audio)."""
    for offset, magic, what, is_audio in _MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return what, is_audio
    if adts_header(head) or mpeg_header(head):
        return "an MP3/AAC stream", True
    try:
        text = head.decode("utf-8").strip()
    except UnicodeDecodeError:
        try:  # a multi-byte character may be cut at the end of the head
            text = head[:-3].decode("utf-8").strip()
        except UnicodeDecodeError:
            return None, False
    if text[:1] in ("{", "["):
        return "JSON text", False
    if text[:1] == "<":
        return "HTML/XML text", False
    if text and all(c.isprintable() or c.isspace() for c in text):
        return "plain text", False
    return None, False


def _read_head(name: str) -> tuple[bytes, int]:
    path = Path(name)
    try:
        if not path.exists():
            raise AudioError(name, "file not found — check the path")
        if path.is_dir():
            raise AudioError(name, "is a directory, not an audio file")
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(64)
    except OSError as exc:
        why = (exc.strerror or type(exc).__name__).lower()
        raise AudioError(name, f"cannot read the file ({why}) — check its permissions or choose "
                               "a readable copy") from None
    if size == 0:
        raise AudioError(name, "file is empty (0 bytes)")
    return head, size


def _open(source: str | os.PathLike | bytes) -> tuple[str, av.container.InputContainer, int]:
    """Open ``source`` for demuxing; return (name for messages, container, size in bytes)."""
    import av

    if isinstance(source, (bytes, bytearray, memoryview)):
        name, data = "<bytes>", bytes(source)
        if not data:
            raise AudioError(name, "audio data is empty (0 bytes)")
        head, target, size = data[:64], io.BytesIO(data), len(data)
    else:
        name = os.fspath(source)
        head, size = _read_head(name)
        target = name
    what, is_audio = _describe(head)
    try:
        container = av.open(target, "r")
    except av.FFmpegError as exc:
        if what and is_audio:
            reason = f"looks like {what} but it is truncated or corrupt ({_ff(exc)})"
        elif what:
            reason = f"not audio: this looks like {what}"
        else:
            reason = f"not a recognised audio file ({_ff(exc)})"
        raise AudioError(name, reason) from None
    if not container.streams.audio:
        kinds = sorted({s.type for s in container.streams})
        container.close()
        if what and not is_audio:
            hint = f": this looks like {what}"
        else:
            hint = f": the file has only {'/'.join(kinds)} stream(s)" if kinds else ""
        raise AudioError(name, f"no audio stream found{hint}")
    return name, container, size


def _ff(exc: BaseException) -> str:
    return f"FFmpeg: {getattr(exc, 'strerror', None) or exc}"


# ---------------------------------------------------------------- decoding


_RAW_STREAMS = {"mp3": mpeg_header, "aac": adts_header}


def _frames(name: str, container: av.container.InputContainer, size: int, notes: list[str],
            *, stop_after_first: bool = False, data: bytes | None = None) -> Iterator[av.AudioFrame | str]:
    """Yield decoded frames of the first audio stream, and a reason string where data was damaged.

    ``data`` (the file's bytes) lets raw MP3 / ADTS streams find bytes FFmpeg skipped. Refuses
    data that decodes to nothing; a file whose demuxing stops early adds a note.
    """
    import av

    stream = container.streams.audio[0]
    fmt = container.format.name
    raw = RawClock(_RAW_STREAMS[fmt], data) if fmt in _RAW_STREAMS else None
    got, packet_bytes = False, 0
    try:
        for packet in container.demux(stream):
            packet_bytes += packet.size
            damage, decodable = raw.packet(packet) if raw is not None and packet.size else (None, True)
            if damage:
                yield damage
            try:
                decoded = packet.decode() if decodable else []
            except av.FFmpegError as exc:  # one damaged packet: its span becomes a gap
                yield _ff(exc)
                if raw is not None:
                    raw.refused()
                continue
            for frame in decoded:
                got = True
                if raw is not None:
                    raw.stamp(frame)
                yield frame
                if stop_after_first:
                    return
    except av.FFmpegError as exc:
        if not got:
            raise AudioError(name, f"no decodable audio: the data is corrupt or truncated ({_ff(exc)})") from None
        notes.append(f"{name}: the file could not be read to its end ({_ff(exc)}); the audio is cut short there")
    if not got and (packet_bytes or size > 4096):  # a bare header is small; more is corrupt audio
        raise AudioError(name, f"no decodable audio: {size} bytes but no intact audio frame (corrupt or truncated)")
    if not got:
        raise AudioError(name, "contains no audio samples (zero length)")


def _raw_bytes(source: str | os.PathLike | bytes) -> bytes:
    """The bytes of a raw MP3 / ADTS file (compressed, so modest), to find what FFmpeg skipped."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    return Path(source).read_bytes()


def _timeline_start(stream: av.audio.stream.AudioStream, rate: int) -> int | None:
    if stream.start_time is None or not stream.time_base:
        return None
    return round(stream.start_time * stream.time_base * rate)


def _decoded_chunks(name: str, container: av.container.InputContainer, size: int, gaps: list[AudioGap],
                    notes: list[str], data: bytes | None) -> Iterator[tuple[np.ndarray, int]]:
    """Yield (float32 mono chunk, its sample rate) in file order, holes filled; fill ``gaps``/``notes``."""
    stream = container.streams.audio[0]
    timeline: Timeline | None = None
    early_errors: list[str] = []
    for item in _frames(name, container, size, notes, data=data):
        if isinstance(item, str):
            (timeline.failed if timeline is not None else early_errors.append)(item)
            continue
        if timeline is None:
            timeline = Timeline(item.sample_rate, _timeline_start(stream, item.sample_rate))
            timeline.errors.extend(early_errors)
        for chunk in timeline.add(item):
            yield chunk, timeline.rate
    if timeline is not None:
        for chunk in timeline.finish():
            yield chunk, timeline.rate
        gaps.extend(timeline.gaps)


def probe(source: str | os.PathLike | bytes) -> AudioInfo:
    """Check that ``source`` is decodable audio and describe it, without decoding all of it.

    Args:
        source: a file path, or the file's bytes.

    Returns:
        :class:`AudioInfo`; pass the same source to :func:`decode_audio` to get samples.

    Raises:
        AudioError: missing, unreadable or empty file, not audio, corrupt/truncated data, no
            audio stream, or zero-length audio. ``.reason`` says which in plain words.
    """
    name, container, size = _open(source)
    with container:
        stream = container.streams.audio[0]
        for _frame in _frames(name, container, size, [], stop_after_first=True):
            pass
        fmt = container.format.name
        duration = None
        if stream.duration and stream.time_base and fmt != "aac":
            duration = float(stream.duration * stream.time_base)
        elif container.duration and fmt != "aac":
            duration = container.duration / 1_000_000
        if duration is None:  # ADTS: FFmpeg only estimates from the bitrate; count packets
            container.seek(0)
            ticks = sum(p.duration or 0 for p in container.demux(stream) if p.size)
            duration = float(ticks * stream.time_base)
        if duration <= 0:
            raise AudioError(name, "contains no audio samples (zero length)")
        cc = stream.codec_context
        return AudioInfo(
            source=name,
            container=_CONTAINER_NAMES.get(fmt, fmt),
            codec=stream.codec.name if stream.codec else cc.name,
            sample_rate=int(cc.sample_rate),
            channels=int(cc.channels),
            duration_s=round(duration, 6),
            sample_format=cc.format.name if cc.format else "",
        )


def decode_audio(source: str | os.PathLike | bytes, *, sample_rate: int = 16000,
                 spool: bool = False) -> DecodedAudio:
    """Decode any common audio file to int16 mono at ``sample_rate``, keeping its timeline.

    Stereo is averaged to mono and any rate is resampled with FFmpeg's resampler. A stretch
    that does not decode is replaced by silence of its length and listed in ``.gaps`` /
    ``.warnings`` (nothing is issued as a Python warning here: show them yourself).
    ``spool=True`` writes the samples, chunk by chunk, to an anonymous temporary file and returns
    them as a read-only ``numpy.memmap`` of it: a day of audio then costs disk, not memory.

    Raises:
        ValueError: ``sample_rate`` is not 8000 or 16000 (the rates Tingwu accepts).
        AudioError: as for :func:`probe`.
    """
    if sample_rate not in STREAM_RATES:
        raise ValueError(f"sample_rate must be 8000 or 16000 (Tingwu's rates), got {sample_rate!r}")
    import av

    name, container, size = _open(source)
    resampler = av.AudioResampler(format="s16", layout="mono", rate=sample_rate)
    sink = _Spool() if spool else _Parts()
    gaps: list[AudioGap] = []
    notes: list[str] = []
    with container:
        data = _raw_bytes(source) if container.format.name in _RAW_STREAMS else None
        for chunk, rate in _decoded_chunks(name, container, size, gaps, notes, data):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk)[None, :], format="flt", layout="mono")
            frame.sample_rate = rate
            sink.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(frame))
    sink.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(None))
    pcm = sink.samples()
    if pcm.size == 0:
        raise AudioError(name, "contains no audio samples (zero length)")
    messages = tuple(f"{name}: {gap}" for gap in gaps) + tuple(notes)
    return DecodedAudio(source=name, pcm=pcm, sample_rate=sample_rate, gaps=tuple(gaps), warnings=messages)


class _Parts:
    """Decoded samples collected in memory."""

    def __init__(self) -> None:
        self.parts: list[np.ndarray] = []

    def extend(self, arrays: Any) -> None:
        self.parts.extend(arrays)

    def samples(self) -> np.ndarray:
        return np.concatenate(self.parts).astype(np.int16, copy=False) if self.parts else np.zeros(0, np.int16)


class _Spool:
    """Decoded samples written to an anonymous temporary file, mapped read-only at the end."""

    def __init__(self) -> None:
        import tempfile

        self.file = tempfile.TemporaryFile()
        self.count = 0

    def extend(self, arrays: Any) -> None:
        for array in arrays:
            self.file.write(np.asarray(array, dtype="<i2").tobytes())
            self.count += len(array)

    def samples(self) -> np.ndarray:
        self.file.flush()
        if not self.count:
            return np.zeros(0, np.int16)
        return np.memmap(self.file, dtype="<i2", mode="r", shape=(self.count,))  # keeps the file open


def load_pcm(source: str | os.PathLike | bytes, *, sample_rate: int = 16000) -> np.ndarray:
    """Decode any common audio file to int16 mono samples at ``sample_rate``.

    The same as :func:`decode_audio`, returning only the samples; each repaired stretch is
    issued as an :class:`~tingwu_nb.errors.AudioWarning`. The result can go straight to
    :func:`tingwu_nb.client.audio.encode` / :func:`tingwu_nb.client.audio.stream_frames`.

    Raises:
        ValueError: ``sample_rate`` is not 8000 or 16000 (the rates Tingwu accepts).
        AudioError: as for :func:`probe`.
    """
    decoded = decode_audio(source, sample_rate=sample_rate)
    for message in decoded.warnings:
        warnings.warn(message, AudioWarning, stacklevel=2)
    return decoded.pcm
