"""Audio in: probe and decode any common file, encode the five Tingwu stream formats, frame them.

Typical client flow::

    info = probe("meeting.m4a")                  # refuses non-audio with a reason, before any task
    pcm = load_pcm("meeting.m4a", sample_rate=16000)
    frames = stream_frames(pcm, 16000, "opus")   # ~100 ms WebSocket binary frames
    async for frame in paced(frames, speed=1.0): # real-time schedule (see tingwu_nb.client.pacing)
        await ws.send(frame.data)

Many streams in one process should pace with ``paced(..., sleep=shared_sleep)`` (one timer per
5 ms slot for all of them; :func:`tingwu_nb.client.stream.stream_frames_to` does).

Probing and decoding live in :mod:`tingwu_nb.client.audiofile` (re-exported here; ``decode_audio``
also reports corrupt stretches it filled with silence). Encoding uses PyAV (FFmpeg); speex has
no encoder in FFmpeg, so ``encode(..., "speex")`` runs Debian's ``speexenc``. The pure
bitstream helpers (Ogg pages, ADTS/MPEG headers, frame grouping) live in
:mod:`tingwu_nb.client.bitstream` (``mpeg_header`` / ``adts_header`` are still importable here).
"""

from __future__ import annotations

import io
import shutil
import subprocess
from typing import TYPE_CHECKING

import numpy as np

from tingwu_nb.client.audiofile import (
    STREAM_RATES,
    AudioGap,
    AudioInfo,
    DecodedAudio,
    decode_audio,
    load_pcm,
    probe,
)
from tingwu_nb.client.bitstream import adts_header, group_frames, mpeg_header, repage_speex, stream_units
from tingwu_nb.client.pacing import ALIGN_S, TICK_S, Frame, PacingReport, SharedClock, paced, shared_sleep
from tingwu_nb.errors import AudioError, EncoderUnavailable

if TYPE_CHECKING:  # PyAV loads (~40 ms, ~20 MB) only in the functions that decode/encode
    import av

__all__ = [
    "ALIGN_S",
    "FORMATS",
    "AudioGap",
    "AudioInfo",
    "DecodedAudio",
    "Frame",
    "PacingReport",
    "SharedClock",
    "TICK_S",
    "adts_header",
    "decode_audio",
    "encode",
    "load_pcm",
    "mpeg_header",
    "paced",
    "probe",
    "shared_sleep",
    "stream_frames",
]

FORMATS = ("pcm", "opus", "aac", "mp3", "speex")
# default bit rates by (format, sample rate); libopus overshoots 24 kb/s at 8 kHz (~37 kb/s)
DEFAULT_BITRATES = {("opus", 16000): 24000, ("opus", 8000): 16000, "aac": 32000, "mp3": 32000}


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
    import av

    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(pcm)[None, :], format="s16", layout="mono")
    frame.sample_rate = sample_rate
    return frame


def _mux(
    pcm: np.ndarray, sample_rate: int, container_fmt: str, codec: str, bitrate: int, options: dict
) -> bytes:
    import av

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
