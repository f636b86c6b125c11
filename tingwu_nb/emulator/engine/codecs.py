"""Incremental server-side decoders for the five Tingwu stream formats.

The emulator feeds each WebSocket binary frame to :class:`StreamDecoder` as it arrives; frames
need not line up with codec packets or Ogg pages. Out come int16 mono samples at the task's
``Input.SampleRate``. Framing follows spec §5.1 (documented choice of the emulator):

* ``pcm``   raw s16le; a leading RIFF/WAV header (16-bit mono at the task rate) is skipped.
* ``opus``  Ogg Opus (libopus decodes at 48 kHz and drops the pre-skip; resampled).
* ``speex`` Ogg Speex (FFmpeg ``speex`` decoder; look-ahead removed as ``speexdec`` does).
* ``aac``   ADTS frames. ``mp3``: MPEG audio frames; an ID3v2 tag and a Xing/Info frame are skipped.

Anything else raises :class:`DecodeError` with a message for the client's TaskFailed event.
"""

from __future__ import annotations

import struct

import av
import numpy as np

from tingwu_nb.client.audio import FORMATS
from tingwu_nb.client.bitstream import SPEEX_LOOKAHEAD, adts_header, mpeg_header

__all__ = ["DecodeError", "StreamDecoder", "sniff"]

_NAMES = {
    "ogg-opus": "Ogg Opus",
    "ogg-speex": "Ogg Speex",
    "adts": "AAC (ADTS)",
    "mp3": "MP3",
    "wav": "a WAV file",
}
_EXPECTED = {"opus": "ogg-opus", "speex": "ogg-speex", "aac": "adts", "mp3": "mp3"}
_MAX_HEADER = 64 * 1024  # bytes we buffer looking for a WAV data chunk / ID3 end / first frame
_EMPTY = np.zeros(0, np.int16)


class DecodeError(Exception):
    """The audio stream cannot be decoded as the declared ``Input.Format``.

    ``code`` is the TaskFailed status the emulator should send: 40000009 for broken container
    framing (WAV header, Ogg page sync), 40270003 (DECODE_ERROR) for everything else.
    """

    def __init__(self, message: str, code: int = 40270003) -> None:
        self.code = code
        super().__init__(message)


def sniff(head: bytes) -> str | None:
    """Name the stream format of ``head`` (the first bytes of a stream), or None if unknown.

    Returns one of ``"ogg-opus"``, ``"ogg-speex"``, ``"adts"``, ``"mp3"``, ``"wav"``. An Ogg
    stream is named only once its first page's first packet is in ``head``.
    """
    if head[:4] == b"OggS":
        if len(head) < 27 or len(head) < 27 + head[26]:
            return None
        packet = head[27 + head[26] : 27 + head[26] + 8]
        return {b"OpusHead": "ogg-opus", b"Speex   ": "ogg-speex"}.get(bytes(packet))
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:3] == b"ID3":
        return "mp3"
    if adts_header(head):
        return "adts"
    if mpeg_header(head):
        return "mp3"
    return None


def _strong_sniff(head: bytes) -> str | None:
    """Like :func:`sniff` but only where raw PCM could hardly look the same by chance."""
    kind = sniff(head)
    if kind in ("ogg-opus", "ogg-speex", "wav"):
        return kind
    if kind == "mp3" and head[:3] == b"ID3":
        return kind if head[3:4] in (b"\x02", b"\x03", b"\x04") and head[4] == 0 else None
    parse = adts_header if kind == "adts" else mpeg_header
    first = parse(head) if kind else None
    second = parse(head, first[0]) if first else None
    return kind if second and second[2] == first[2] else None


class _OggReader:
    """Incremental Ogg demuxer for the first logical stream: bytes in, (packets, granule) out."""

    def __init__(self) -> None:
        self.buf = b""
        self.partial = b""
        self.serial: int | None = None

    def feed(self, data: bytes) -> list[tuple[list[bytes], int, bool]]:
        self.buf += data
        pages, buf, pos = [], self.buf, 0
        while len(buf) - pos >= 27:
            if buf[pos : pos + 4] != b"OggS":
                raise DecodeError(
                    f"lost Ogg page sync at stream byte offset (page {pos}): not an Ogg page", 40000009
                )
            nseg = buf[pos + 26]
            body = pos + 27 + nseg
            if len(buf) < body:
                break
            lacing = buf[pos + 27 : body]
            end = body + sum(lacing)
            if len(buf) < end:
                break
            flags, granule, serial = buf[pos + 5], *struct.unpack_from("<qI", buf, pos + 6)
            if self.serial is None:
                self.serial = serial
            if serial == self.serial:
                if not flags & 1:
                    self.partial = b""  # a new packet starts; drop any orphaned piece
                packets, seg = [], body
                for lace in lacing:
                    self.partial += buf[seg : seg + lace]
                    seg += lace
                    if lace < 255:
                        packets.append(self.partial)
                        self.partial = b""
                pages.append((packets, granule, bool(flags & 4)))
            pos = end
        self.buf = buf[pos:]
        return pages


class StreamDecoder:
    """Decode one realtime audio stream incrementally.

    Call :meth:`feed` with every binary frame as it arrives and :meth:`flush` once when the
    client stops; both return the newly decoded int16 mono samples at ``sample_rate`` (possibly
    empty). ``decoded_samples`` counts all samples returned so far.

    Args:
        fmt: the task's ``Input.Format`` (``pcm``, ``opus``, ``aac``, ``mp3``, ``speex``).
        sample_rate: the task's ``Input.SampleRate``; output is resampled to it if needed.

    Raises:
        ValueError: unknown ``fmt`` or non-positive ``sample_rate``.
    """

    def __init__(self, fmt: str, sample_rate: int) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown Input.Format {fmt!r}; expected one of {', '.join(FORMATS)}")
        if sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {sample_rate!r}")
        self.fmt, self.sample_rate = fmt, sample_rate
        self.decoded_samples = 0
        self._head = b""  # bytes held until the stream start is understood
        self._started = False
        self._carry = b""  # pcm: odd trailing byte
        self._ctx: av.CodecContext | None = None
        self._resampler: av.AudioResampler | None = None
        self._ogg = _OggReader() if fmt in ("opus", "speex") else None
        self._headers_left = 0  # Ogg header packets still to skip
        self._native_rate = 0
        self._trim_first_page = False
        self._skip = 0  # output samples still to drop (codec priming)
        self._fed_since_packet = 0
        self._finished = False

    # ------------------------------------------------------------------ public

    def feed(self, data: bytes) -> np.ndarray:
        """Decode the next chunk of the stream (any size, any alignment)."""
        if self._finished:
            raise ValueError("StreamDecoder.feed() after flush(); create a new decoder per stream")
        out = self._decode(bytes(data), final=False)
        self.decoded_samples += out.size
        return out

    def flush(self) -> np.ndarray:
        """End of stream: decode what is buffered and return the last samples (idempotent)."""
        if self._finished:
            return _EMPTY
        out = self._decode(b"", final=True)
        self._finished = True
        self.decoded_samples += out.size
        return out

    # ------------------------------------------------------------------ stream start

    def _decode(self, data: bytes, final: bool) -> np.ndarray:
        if not self._started:
            data = self._start(self._head + data, final)
            if data is None:
                return _EMPTY
        if self.fmt == "pcm":
            return self._pcm(data, final)
        if self._ogg is not None:
            return self._ogg_decode(data, final)
        return self._parse_decode(data, final)

    def _start(self, head: bytes, final: bool) -> bytes | None:
        """Check the start of the stream; return the bytes to decode, or None to wait for more."""
        need = {"pcm": 12, "opus": 28, "speex": 28, "aac": 7, "mp3": 10}[self.fmt]
        if head[:4] == b"OggS" and len(head) >= 27:
            need = 27 + head[26] + 8
        elif self.fmt == "pcm" and (first := adts_header(head) or mpeg_header(head)):
            need = first[0] + 7  # raw PCM may look like one frame header by chance; check the next
        if len(head) < need and not final:
            self._head = head
            return None
        self._head, self._started = b"", True
        if not head:
            return b""
        if self.fmt == "pcm":
            kind = _strong_sniff(head)
            if kind == "wav":
                return self._skip_wav(head, final)
            if kind is not None:
                raise DecodeError(f"Input.Format is pcm but the audio looks like {_NAMES[kind]}")
            return head
        kind = sniff(head)
        if self.fmt == "mp3" and kind == "mp3" and head[:3] == b"ID3":
            return self._skip_id3(head, final)
        if kind != _EXPECTED[self.fmt]:
            what = f"looks like {_NAMES[kind]}" if kind else "is not recognisable"
            wanted = _NAMES[_EXPECTED[self.fmt]]
            raise DecodeError(f"Input.Format is {self.fmt} (expects {wanted}) but the audio {what}")
        if self.fmt == "aac":
            self._ctx = av.CodecContext.create("aac", "r")
        elif self.fmt == "mp3":
            return self._open_mp3(head, final)
        return head

    def _skip_wav(self, head: bytes, final: bool) -> bytes | None:
        pos, fmt = 12, None
        while len(head) >= pos + 8:
            cid, size = head[pos : pos + 4], struct.unpack_from("<I", head, pos + 4)[0]
            if cid == b"fmt " and len(head) >= pos + 8 + 16:
                fmt = struct.unpack_from("<HHIIHH", head, pos + 8)
            if cid == b"data":
                if fmt is None:
                    raise DecodeError("Invalid wav header! (data chunk before fmt chunk)", 40000009)
                tag, channels, rate, _, _, bits = fmt
                if tag not in (1, 0xFFFE) or channels != 1 or bits != 16 or rate != self.sample_rate:
                    raise DecodeError(
                        f"Invalid wav header! It says {rate} Hz, {channels} channel(s), {bits}-bit "
                        f"(format tag {tag}); the task expects {self.sample_rate} Hz 16-bit mono PCM",
                        40000009,
                    )
                return head[pos + 8 :]
            pos += 8 + size + (size & 1)
        if final:
            raise DecodeError("Invalid wav header! (the stream ends inside the header)", 40000009)
        if len(head) > _MAX_HEADER:
            raise DecodeError("Too large wav header! (no data chunk in the first 64 KiB)", 40000009)
        self._started, self._head = False, head
        return None

    def _skip_id3(self, head: bytes, final: bool) -> bytes | None:
        size = 10 + sum((b & 0x7F) << (7 * (3 - i)) for i, b in enumerate(head[6:10]))
        size += 10 if head[5] & 0x10 else 0  # footer present
        if len(head) < size + 4 and not final:
            self._started, self._head = False, head
            return None
        self._started = False
        return self._start(head[size:], final)

    def _open_mp3(self, head: bytes, final: bool) -> bytes | None:
        length = mpeg_header(head)[0]
        if len(head) < length and not final:
            self._started, self._head = False, head
            return None
        if any(tag in head[4:48] for tag in (b"Xing", b"Info", b"VBRI")):  # where LAME/Fraunhofer put it
            head = head[length:]  # the tag frame carries no audio
        self._ctx = av.CodecContext.create("mp3", "r")
        return head

    # ------------------------------------------------------------------ per format

    def _pcm(self, data: bytes, final: bool) -> np.ndarray:
        data = self._carry + data
        cut = len(data) & ~1
        self._carry = b"" if final else data[cut:]
        return np.frombuffer(data[:cut], "<i2").astype(np.int16)

    def _ogg_decode(self, data: bytes, final: bool) -> np.ndarray:
        parts = []
        for packets, granule, last in self._ogg.feed(data):
            native = 0
            for packet in packets:
                if self._ctx is None or self._headers_left:
                    self._header_packet(packet)
                    continue
                frames = self._packet_frames(av.Packet(packet))
                native += sum(f.samples for f in frames)
                parts.extend(self._resample(frames))
            if self._trim_first_page and native:
                self._trim_first_page = False  # encoder look-ahead: page decodes to more than its granule
                extra = native - granule if granule >= 0 else 0
                if last:  # a one-page stream: the granule also cuts the end padding
                    extra = min(extra, SPEEX_LOOKAHEAD.get(self._native_rate, extra))
                self._skip += round(max(0, extra) * self.sample_rate / self._native_rate)
        if final:
            if self._ctx is None and (self._ogg.buf or self._ogg.serial is not None):
                raise DecodeError(f"stream ended before a complete {_NAMES[_EXPECTED[self.fmt]]} header")
            if self._ctx is not None:
                parts.extend(self._resample(self._packet_frames(None)))
            parts.extend(self._resample(None))
        return self._collect(parts)

    def _header_packet(self, packet: bytes) -> None:
        if self._ctx is None:
            magic = {"opus": b"OpusHead", "speex": b"Speex   "}[self.fmt]
            if not packet.startswith(magic):
                raise DecodeError(
                    f"Input.Format is {self.fmt} but the Ogg stream does not start with {magic!r}"
                )
            self._ctx = av.CodecContext.create("libopus" if self.fmt == "opus" else "speex", "r")
            self._ctx.extradata = packet
            if self.fmt == "opus":
                if len(packet) < 19:
                    raise DecodeError("OpusHead packet is truncated", 40000009)
                self._native_rate = 48000  # FFmpeg's libopus decoder drops the pre-skip itself
                self._headers_left = 1  # OpusTags
            else:
                if len(packet) < 80:
                    raise DecodeError("Speex header packet is truncated", 40000009)
                self._native_rate, mode = struct.unpack_from("<ii", packet, 36)
                self._headers_left = 1 + max(0, struct.unpack_from("<i", packet, 68)[0])  # comments + extras
                # as speexdec: drop the decoder look-ahead (one sub-frame, 40 samples per band) and,
                # on the first audio page, whatever it decodes beyond its granule (encoder look-ahead)
                self._skip = round((40 << max(0, min(mode, 2))) * self.sample_rate / self._native_rate)
                self._trim_first_page = True
        else:
            self._headers_left -= 1

    def _parse_decode(self, data: bytes, final: bool) -> np.ndarray:
        parts = []
        try:
            packets = self._ctx.parse(data) if data else []
            if final:
                packets += self._ctx.parse(None)
        except av.FFmpegError as exc:
            raise DecodeError(f"{self.fmt} stream could not be parsed: {exc}") from None
        self._fed_since_packet = 0 if packets else self._fed_since_packet + len(data)
        if self._fed_since_packet > _MAX_HEADER:
            raise DecodeError(
                f"no {_NAMES[_EXPECTED[self.fmt]]} frames in the last {self._fed_since_packet} bytes"
            )
        for packet in packets:
            parts.extend(self._resample(self._packet_frames(packet)))
        if final:
            parts.extend(self._resample(self._packet_frames(None)))
            parts.extend(self._resample(None))
        return self._collect(parts)

    # ------------------------------------------------------------------ shared

    def _packet_frames(self, packet: av.Packet | None) -> list[av.AudioFrame]:
        try:
            return self._ctx.decode(packet)
        except av.FFmpegError as exc:
            if packet is None:
                return []
            raise DecodeError(f"{self.fmt} audio could not be decoded: {exc}") from None

    def _resample(self, frames: list[av.AudioFrame] | None) -> list[np.ndarray]:
        if self._resampler is None:
            if frames is None:
                return []
            self._resampler = av.AudioResampler(format="s16", layout="mono", rate=self.sample_rate)
        out = []
        for frame in [None] if frames is None else frames:
            if frame is not None:
                frame.pts = None  # resample on a gap-free timeline
            out.extend(f.to_ndarray().reshape(-1) for f in self._resampler.resample(frame))
        return out

    def _collect(self, parts: list[np.ndarray]) -> np.ndarray:
        if not parts:
            return _EMPTY
        out = np.concatenate(parts).astype(np.int16, copy=False)
        if self._skip:
            drop = min(self._skip, out.size)
            self._skip -= drop
            out = out[drop:]
        return out
