"""Audio in: probe and decode any common file, encode the five Tingwu stream formats, frame them.

Typical client flow::

    info = probe("meeting.m4a")                  # refuses non-audio with a reason, before any task
    pcm = load_pcm("meeting.m4a", sample_rate=16000)
    frames = stream_frames(pcm, 16000, "opus")   # ~100 ms WebSocket binary frames
    async for frame in paced(frames, speed=1.0): # real-time schedule (see tingwu_nb.pacing)
        await ws.send(frame.data)

Decoding uses PyAV (FFmpeg). Speex has no encoder in FFmpeg, so ``encode(..., "speex")`` runs
Debian's ``speexenc``. The pure bitstream helpers (Ogg pages, ADTS/MPEG headers, frame grouping)
live in :mod:`tingwu_nb.bitstream` (``mpeg_header`` / ``adts_header`` are still importable here).
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from .bitstream import adts_header, group_frames, mpeg_header, repage_speex, stream_units
from .errors import AudioError, EncoderUnavailable
from .pacing import Frame, PacingReport, paced

__all__ = [
    "FORMATS",
    "AudioInfo",
    "Frame",
    "PacingReport",
    "encode",
    "load_pcm",
    "paced",
    "probe",
    "stream_frames",
]

FORMATS = ("pcm", "opus", "aac", "mp3", "speex")
STREAM_RATES = (8000, 16000)
# default bit rates by (format, sample rate); libopus overshoots 24 kb/s at 8 kHz (~37 kb/s)
DEFAULT_BITRATES = {("opus", 16000): 24000, ("opus", 8000): 16000, "aac": 32000, "mp3": 32000}

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


# ---------------------------------------------------------------- probing and decoding


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


def _open(source: str | os.PathLike | bytes) -> tuple[str, av.container.InputContainer, int]:
    """Open ``source`` for demuxing; return (name for messages, container, size in bytes)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        name, data = "<bytes>", bytes(source)
        if not data:
            raise AudioError(name, "audio data is empty (0 bytes)")
        head, target, size = data[:64], io.BytesIO(data), len(data)
    else:
        name = os.fspath(source)
        path = Path(name)
        if not path.exists():
            raise AudioError(name, "file not found")
        if path.is_dir():
            raise AudioError(name, "is a directory, not an audio file")
        size = path.stat().st_size
        if size == 0:
            raise AudioError(name, "file is empty (0 bytes)")
        with path.open("rb") as fh:
            head = fh.read(64)
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


def _decode(
    name: str, container: av.container.InputContainer, size: int, *, stop_after_first: bool
) -> Iterator:
    """Yield decoded frames of the first audio stream; refuse data that decodes to nothing."""
    stream = container.streams.audio[0]
    got, packet_bytes = False, 0
    try:
        for packet in container.demux(stream):
            packet_bytes += packet.size
            for frame in packet.decode():
                got = True
                yield frame
                if stop_after_first:
                    return
    except av.FFmpegError as exc:
        if not got:
            raise AudioError(
                name, f"no decodable audio: the data is corrupt or truncated ({_ff(exc)})"
            ) from None
        warnings.warn(f"{name}: decoding stopped early, audio may be cut short ({_ff(exc)})", stacklevel=3)
    if not got and (packet_bytes or size > 4096):  # a bare header is small; more is corrupt audio
        raise AudioError(
            name, f"no decodable audio: {size} bytes but no intact audio frame (corrupt or truncated)"
        )
    if not got:
        raise AudioError(name, "contains no audio samples (zero length)")


def probe(source: str | os.PathLike | bytes) -> AudioInfo:
    """Check that ``source`` is decodable audio and describe it, without decoding all of it.

    Args:
        source: a file path, or the file's bytes.

    Returns:
        :class:`AudioInfo`; pass the same source to :func:`load_pcm` to get samples.

    Raises:
        AudioError: missing or empty file, not audio, corrupt/truncated data, no audio stream,
            or zero-length audio. ``.reason`` says which in plain words.
    """
    name, container, size = _open(source)
    with container:
        stream = container.streams.audio[0]
        for _frame in _decode(name, container, size, stop_after_first=True):
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


def load_pcm(source: str | os.PathLike | bytes, *, sample_rate: int = 16000) -> np.ndarray:
    """Decode any common audio file to int16 mono samples at ``sample_rate``.

    Stereo is downmixed and any rate is resampled with FFmpeg's resampler. The result can go
    straight to :func:`encode` / :func:`stream_frames`.

    Raises:
        ValueError: ``sample_rate`` is not 8000 or 16000 (the rates Tingwu accepts).
        AudioError: as for :func:`probe`.
    """
    if sample_rate not in STREAM_RATES:
        raise ValueError(f"sample_rate must be 8000 or 16000 (Tingwu's rates), got {sample_rate!r}")
    name, container, size = _open(source)
    resampler = av.AudioResampler(format="s16", layout="mono", rate=sample_rate)
    parts: list[np.ndarray] = []
    with container:
        for frame in _decode(name, container, size, stop_after_first=False):
            frame.pts = None  # let the resampler keep its own timeline (no gaps/overlaps)
            parts.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(frame))
    parts.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(None))
    pcm = np.concatenate(parts).astype(np.int16, copy=False) if parts else np.zeros(0, np.int16)
    if pcm.size == 0:
        raise AudioError(name, "contains no audio samples (zero length)")
    return pcm


# ---------------------------------------------------------------- encoding


def _check_pcm(pcm: np.ndarray, sample_rate: int, fmt: str) -> np.ndarray:
    if fmt not in FORMATS:
        raise ValueError(f"unknown stream format {fmt!r}; choose one of {', '.join(FORMATS)}")
    pcm = np.asarray(pcm)
    if pcm.dtype != np.int16 or pcm.ndim != 1:
        raise ValueError(f"pcm must be a 1-D int16 array (mono), got {pcm.dtype} with shape {pcm.shape}")
    if fmt == "speex" and sample_rate not in STREAM_RATES:
        raise ValueError(f"speex needs 8000 or 16000 Hz, got {sample_rate!r}")
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate!r}")
    return pcm


def _av_frame(pcm: np.ndarray, sample_rate: int) -> av.AudioFrame:
    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(pcm)[None, :], format="s16", layout="mono")
    frame.sample_rate = sample_rate
    return frame


def _mux(
    pcm: np.ndarray, sample_rate: int, container_fmt: str, codec: str, bitrate: int, options: dict
) -> bytes:
    buf = io.BytesIO()
    with av.open(buf, "w", format=container_fmt, options=options) as out:
        stream = out.add_stream(codec, rate=sample_rate, layout="mono")
        stream.bit_rate = bitrate
        if pcm.size:
            for packet in stream.encode(_av_frame(pcm, sample_rate)):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


def _ogg_options(page_ms: int) -> dict[str, str]:
    # pages of ~page_ms so frames can be cut at page edges; bitexact: serial 0, same bytes every run
    return {"page_duration": str(page_ms * 1000), "fflags": "+bitexact"}


def _speex(pcm: np.ndarray, sample_rate: int, bitrate: int | None, page_ms: int) -> bytes:
    tool = shutil.which("speexenc")
    if tool is None:
        raise EncoderUnavailable(
            "<pcm>",
            "speex encoding needs the `speexenc` command, which is not on PATH; "
            "install it with `apt-get install speex` (Debian/Ubuntu) or `brew install speex` (macOS)",
            tool="speexenc",
        )
    mode = "--wideband" if sample_rate == 16000 else "--narrowband"
    cmd = [tool, mode, "--rate", str(sample_rate), "--le", "--16bit"]
    cmd += ["--bitrate", str(bitrate)] if bitrate else ["--quality", "8"]
    done = subprocess.run(
        [*cmd, "-", "-"], input=pcm.astype("<i2").tobytes(), capture_output=True, check=False
    )
    if done.returncode != 0 or not done.stdout:
        raise AudioError(
            "<pcm>", f"speexenc failed ({done.returncode}): {done.stderr.decode(errors='replace')[-300:]}"
        )
    return repage_speex(done.stdout, page_ms)


def _encode(pcm: np.ndarray, sample_rate: int, fmt: str, bitrate: int | None, page_ms: int) -> bytes:
    pcm = _check_pcm(pcm, sample_rate, fmt)
    if fmt == "pcm":
        return pcm.astype("<i2").tobytes()
    if fmt == "speex":
        return _speex(pcm, sample_rate, bitrate, page_ms)
    rate = bitrate or DEFAULT_BITRATES.get((fmt, sample_rate)) or DEFAULT_BITRATES.get(fmt, 24000)
    if fmt == "opus":
        return _mux(pcm, sample_rate, "ogg", "libopus", rate, _ogg_options(page_ms))
    if fmt == "aac":
        return _mux(pcm, sample_rate, "adts", "aac", rate, {})
    return _mux(pcm, sample_rate, "mp3", "libmp3lame", rate, {"id3v2_version": "0", "write_xing": "0"})


def encode(pcm: np.ndarray, sample_rate: int, fmt: str, *, bitrate: int | None = None) -> bytes:
    """Encode int16 mono ``pcm`` as one whole stream in a Tingwu ``Input.Format``.

    pcm: raw s16le, no header. opus: Ogg Opus (libopus, 24 kb/s at 16 kHz, 16 kb/s at 8 kHz, ~100 ms pages).
    aac: ADTS (32 kb/s). mp3: raw MPEG frames without ID3/Xing (32 kb/s; pass
    ``bitrate=128000`` for archive copies). speex: Ogg Speex from ``speexenc`` (quality 8).
    To send the stream, split it with :func:`stream_frames` instead.

    Raises:
        ValueError: unknown ``fmt``, ``pcm`` not 1-D int16, or a rate the codec cannot take.
        EncoderUnavailable: ``fmt="speex"`` and ``speexenc`` is not installed (``.tool``).
    """
    return _encode(pcm, sample_rate, fmt, bitrate, 100)


# ---------------------------------------------------------------- framing


def stream_frames(pcm: np.ndarray, sample_rate: int, fmt: str, *, frame_ms: int = 100) -> list[Frame]:
    """Encode ``pcm`` in ``fmt`` and cut it into WebSocket binary frames of ~``frame_ms`` each.

    pcm frames are exact (3200 bytes per 100 ms at 16 kHz, 1600 at 8 kHz; the last may be
    shorter). Compressed formats are cut only at Ogg page / ADTS frame / MPEG frame edges, so
    a frame holds about ``frame_ms`` of audio on average; the Ogg headers ride in the first
    frame. No frame is empty; empty ``pcm`` gives ``[]``. Send them with :func:`paced`.

    Raises:
        ValueError: bad ``frame_ms`` (must be > 0 and a whole number of samples), or as
            :func:`encode`.
        EncoderUnavailable: as :func:`encode`.
    """
    if frame_ms <= 0 or (sample_rate * frame_ms) % 1000:
        raise ValueError(f"frame_ms must be > 0 and hold a whole number of samples, got {frame_ms!r}")
    pcm = _check_pcm(pcm, sample_rate, fmt)
    if pcm.size == 0:
        return []
    data = _encode(pcm, sample_rate, fmt, None, frame_ms)
    if fmt == "pcm":
        step = sample_rate * frame_ms // 1000 * 2
        ms = 1000 / sample_rate
        return [
            Frame(data[i : i + step], round(i // 2 * ms), round(min(i + step, len(data)) // 2 * ms))
            for i in range(0, len(data), step)
        ]
    return group_frames(stream_units(data, sample_rate, fmt), frame_ms)
