"""The recording's mp3 (``Transcoding.TargetAudioFormat: "mp3"`` -> ``Data.OutputMp3Path``), made on disk.

:func:`encode_mp3` reads the spooled recording (a read-only mapping, emulator/spool.py) a chunk at
a time, feeds one libmp3lame encoder and appends every muxed MPEG frame to a nameless temporary
file (a :class:`~tingwu_nb.emulator.spool.PcmSpool` used as a plain append-only byte file). Memory
stays at one chunk of pcm (``chunk_s``, 20 s: 640 kB at 16 kHz) plus the encoder's buffers, however
long the meeting: a day at 128 kb/s is 1.4 GB on disk. The bytes are those of encoding the whole
recording at once (raw MPEG frames, no ID3 tag or Xing header, as
:func:`tingwu_nb.client.audio.encode` makes them).

Run it on a worker thread. The caller keeps the returned file in ``record.files`` and closes it
when the emulator stops (:meth:`~tingwu_nb.emulator.store.TaskStore.close`); the REST side streams
it from there (emulator/result_links.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tingwu_nb.emulator.spool import PcmSpool

__all__ = ["CHUNK_S", "MP3_BITRATE", "encode_mp3"]

MP3_BITRATE = 128_000  # realtime guide: realtime MP3 transcoding is 128 kb/s
CHUNK_S = 20.0  # seconds of pcm handed to the encoder at a time


class _Appender:
    """The write-only, non-seekable file object PyAV muxes into: every write goes to the spool."""

    def __init__(self, spool: PcmSpool) -> None:
        self._spool = spool

    def write(self, data: bytes) -> int:
        self._spool.extend(bytes(data))
        return len(data)

    def flush(self) -> None:  # PyAV may call it; the spool writes through
        return None


def encode_mp3(samples: np.ndarray, sample_rate: int, *, directory: str | Path | None = None,
               bitrate: int = MP3_BITRATE, chunk_s: float = CHUNK_S,
               on_chunk: object = None) -> PcmSpool:
    """Encode int16 mono ``samples`` (e.g. ``record.pcm.samples()``) to an mp3 file on disk.

    Args:
        directory: where the nameless file is created (the emulator's ``spool_dir``; None: the
            system temp dir).
        chunk_s: seconds of pcm read and encoded at a time (bounds the memory used).
        on_chunk: optional ``callable(start_sample, end_sample)`` told of every chunk (tests).

    Returns:
        The file (``len()`` is its size in bytes; ``file[a:b]`` reads a range); close it when
        it is no longer served. Raises ValueError for an empty recording or a bad ``chunk_s``.
    """
    import av

    if samples.size == 0:
        raise ValueError("no audio to encode")
    step = int(round(chunk_s * sample_rate))
    if step <= 0:
        raise ValueError(f"chunk_s must be > 0, got {chunk_s!r}")
    out = PcmSpool(directory)
    try:
        with av.open(_Appender(out), "w", format="mp3",
                     options={"id3v2_version": "0", "write_xing": "0"}) as container:
            stream = container.add_stream("libmp3lame", rate=sample_rate, layout="mono")
            stream.bit_rate = bitrate
            for start in range(0, samples.size, step):
                end = min(start + step, samples.size)
                chunk = np.array(samples[start:end], dtype="<i2")  # one chunk read from the mapping
                frame = av.AudioFrame.from_ndarray(chunk[None, :], format="s16", layout="mono")
                frame.sample_rate, frame.pts = sample_rate, start
                for packet in stream.encode(frame):
                    container.mux(packet)
                if callable(on_chunk):
                    on_chunk(start, end)
            for packet in stream.encode(None):
                container.mux(packet)
    except BaseException:
        out.close()
        raise
    return out
