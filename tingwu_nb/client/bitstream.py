"""Pure bitstream helpers: ADTS/MPEG frame headers, Ogg page reading/writing, frame grouping.

No FFmpeg here: these work on bytes only. :mod:`tingwu_nb.client.audio` uses them to repage
``speexenc`` output and to cut encoded streams into WebSocket frames; the emulator's incremental
decoders (:mod:`tingwu_nb.emulator.engine.codecs`) use the header parsers and :data:`SPEEX_LOOKAHEAD`.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator

from tingwu_nb.client.pacing import Frame

__all__ = [
    "SPEEX_LOOKAHEAD",
    "adts_header",
    "group_frames",
    "mpeg_header",
    "ogg_page",
    "ogg_pages",
    "repage_speex",
    "stream_units",
]

SPEEX_LOOKAHEAD = {8000: 40, 16000: 143}  # encoder delay in samples, narrowband / wideband

# ---------------------------------------------------------------- frame headers

_ADTS_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350)
_MPEG_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
_MPEG_KBPS = {  # (version is MPEG-1, layer) -> kb/s by index
    (True, 1): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_MPEG_KBPS[(False, 3)] = _MPEG_KBPS[(False, 2)]


def adts_header(b: bytes, pos: int = 0) -> tuple[int, int, int] | None:
    """Parse an ADTS header at ``pos``: (frame length in bytes, samples, sample rate) or None."""
    if len(b) < pos + 7 or b[pos] != 0xFF or b[pos + 1] & 0xF6 != 0xF0:
        return None
    sf = (b[pos + 2] >> 2) & 0xF
    length = ((b[pos + 3] & 3) << 11) | (b[pos + 4] << 3) | (b[pos + 5] >> 5)
    if sf >= len(_ADTS_RATES) or length < 7:
        return None
    return length, 1024 * ((b[pos + 6] & 3) + 1), _ADTS_RATES[sf]


def mpeg_header(b: bytes, pos: int = 0) -> tuple[int, int, int] | None:
    """Parse an MPEG audio frame header at ``pos``: (frame bytes, samples, sample rate) or None."""
    if len(b) < pos + 4 or b[pos] != 0xFF or b[pos + 1] & 0xE0 != 0xE0:
        return None
    version, layer = (b[pos + 1] >> 3) & 3, 4 - ((b[pos + 1] >> 1) & 3)
    br_idx, sr_idx, pad = b[pos + 2] >> 4, (b[pos + 2] >> 2) & 3, (b[pos + 2] >> 1) & 1
    if version == 1 or layer == 4 or br_idx in (0, 15) or sr_idx == 3:
        return None
    rate, kbps = _MPEG_RATES[version][sr_idx], _MPEG_KBPS[(version == 3, layer)][br_idx]
    if layer == 1:
        return (12000 * kbps // rate + pad) * 4, 384, rate
    samples = 576 if (layer == 3 and version != 3) else 1152
    return samples * 125 * kbps // rate + pad, samples, rate


def ogg_pages(b: bytes, pos: int = 0) -> Iterator[tuple[int, int, int, list[int]]]:
    """Walk complete Ogg pages from ``pos``: yield (start, end, granule, lacing values).

    Stops at the first incomplete page; raises ValueError where a page should start but no
    ``OggS`` capture pattern is found.
    """
    while len(b) - pos >= 27:
        if b[pos : pos + 4] != b"OggS":
            raise ValueError(f"lost Ogg page sync at byte {pos}")
        nseg = b[pos + 26]
        if len(b) - pos < 27 + nseg:
            return
        lacing = list(b[pos + 27 : pos + 27 + nseg])
        end = pos + 27 + nseg + sum(lacing)
        if end > len(b):
            return
        yield pos, end, struct.unpack_from("<q", b, pos + 6)[0], lacing
        pos = end


# ---------------------------------------------------------------- Ogg page writing


def repage_speex(data: bytes, page_ms: int) -> bytes:
    """Rewrite speexenc's ~1.2 s Ogg pages as ~page_ms pages, keeping its granule positions."""
    packets: list[tuple[bytes, int]] = []  # (packet, granule of its page if it ends the page else -1)
    partial = b""
    for start, _, granule, lacing in ogg_pages(data):
        pos = start + 27 + len(lacing)
        ends = [i for i, lace in enumerate(lacing) if lace < 255]
        for i, lace in enumerate(lacing):
            partial, pos = partial + data[pos : pos + lace], pos + lace
            if lace < 255:
                packets.append((partial, granule if i == ends[-1] else -1))
                partial = b""
    header, rest = packets[0][0], packets[1:]
    rate, spp = struct.unpack_from("<i", header, 36)[0], struct.unpack_from("<ii", header, 56)
    spp = spp[0] * max(1, spp[1])  # samples per packet = frame size x frames per packet
    audio = rest[1 + max(0, struct.unpack_from("<i", header, 68)[0]) :]
    # encoder look-ahead from the first page that is not also the last; else speexenc's constant
    ends = [i for i, (_, g) in enumerate(audio) if g >= 0]
    lookahead = (ends[0] + 1) * spp - audio[ends[0]][1] if len(ends) > 1 else SPEEX_LOOKAHEAD[rate]
    total = audio[-1][1] if audio else 0
    per_page = max(1, round(page_ms * rate / 1000 / spp))
    pages = [ogg_page([header], 0, 0, 2)] + [
        ogg_page([p], 0, i + 1, 0) for i, (p, _) in enumerate(rest[: len(rest) - len(audio)])
    ]
    for n in range(0, len(audio), per_page):
        group = [p for p, _ in audio[n : n + per_page]]
        granule = min((n + len(group)) * spp - lookahead, total)
        pages.append(ogg_page(group, granule, len(pages), 4 if n + per_page >= len(audio) else 0))
    return b"".join(pages)


_BIT_REVERSED = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


def ogg_page(packets: list[bytes], granule: int, sequence: int, flags: int, serial: int = 0) -> bytes:
    """One Ogg page holding whole ``packets`` (each < 64 KiB, at most 255 lacing values in all)."""
    lacing = b"".join(bytes([255] * (len(p) // 255) + [len(p) % 255]) for p in packets)
    page = struct.pack("<4sBBqIIIB", b"OggS", 0, flags, granule, serial, sequence, 0, len(lacing))
    page += lacing + b"".join(packets)
    # Ogg's CRC-32 is zlib's polynomial unreflected, with no init/xor-out: run zlib on bit-reversed bytes
    raw = zlib.crc32(page.translate(_BIT_REVERSED), 0xFFFFFFFF) ^ 0xFFFFFFFF
    return page[:22] + struct.pack("<I", int(f"{raw:032b}"[::-1], 2)) + page[26:]


# ---------------------------------------------------------------- framing


def stream_units(data: bytes, sample_rate: int, fmt: str) -> list[tuple[bytes, float, float]]:
    """Split an encoded stream into its smallest self-contained pieces with their ms span."""
    units, clock = [], 0
    if fmt in ("opus", "speex"):
        rate, skip = (48000, struct.unpack_from("<H", data, 38)[0]) if fmt == "opus" else (sample_rate, 0)
        for start, end, granule, _ in ogg_pages(data):
            t0 = clock
            clock = max(clock, (granule - skip) * 1000 / rate) if granule >= 0 else clock
            units.append((data[start:end], t0, clock))
        return units
    header = adts_header if fmt == "aac" else mpeg_header
    pos = 0
    while pos < len(data):
        parsed = header(data, pos)
        if parsed is None:
            raise ValueError(f"{fmt} stream has no frame header at byte {pos}")
        length, samples, rate = parsed
        units.append((data[pos : pos + length], clock * 1000 / rate, (clock + samples) * 1000 / rate))
        clock, pos = clock + samples, pos + length
    return units


def group_frames(units: list[tuple[bytes, float, float]], frame_ms: int) -> list[Frame]:
    """Group pieces so frame boundaries fall on the piece edge nearest each multiple of frame_ms."""
    frames: list[Frame] = []
    cur: list[tuple[bytes, float, float]] = []
    target = float(frame_ms)

    def emit() -> None:
        nonlocal cur, target
        frames.append(Frame(b"".join(u[0] for u in cur), round(cur[0][1]), round(cur[-1][2])))
        target += frame_ms  # the cut served the current target, whichever side of it it fell
        while target <= cur[-1][2]:
            target += frame_ms
        cur = []

    for unit in units:
        _, start, end = unit
        has_audio = any(u[2] > u[1] for u in cur)
        if end >= target and has_audio and target - cur[-1][2] < end - target:
            emit()
        cur.append(unit)
        if end >= target:
            emit()
    if cur:
        if frames and not any(u[2] > u[1] for u in cur):  # trailing pages without audio
            last = frames.pop()
            cur = [(last.data, last.start_ms, last.end_ms), *cur]
        emit()
    return frames
