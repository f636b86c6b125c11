"""Emulator stream decoders: every format round-trips from client frames and from arbitrary chunks."""

from __future__ import annotations

import io
import shutil
import struct

import av
import numpy as np
import pytest

from tests.test_audio import aligned, espeak_pcm, spectral_similarity, speechlike
from tingwu_nb.client.audio import FORMATS, encode, stream_frames
from tingwu_nb.emulator.engine.codecs import DecodeError, StreamDecoder, sniff

# most output beyond the source each codec may add (priming + padding), in samples
EXTRA = {
    "pcm": lambda sr: 0,
    "opus": lambda sr: sr * 30 // 1000,
    "speex": lambda sr: sr * 30 // 1000,
    "aac": lambda sr: 3 * 1024,
    "mp3": lambda sr: 1105 + 2 * 1152,
}
# where the source starts in the decoded audio (encoder priming FFmpeg cannot know from the stream)
LAG = {"pcm": 0, "opus": 0, "speex": 0, "aac": 1024, "mp3": 1105}


def need_speexenc(fmt: str) -> None:
    if fmt == "speex" and shutil.which("speexenc") is None:
        pytest.skip("speexenc is not installed (apt-get install speex); cannot make Ogg Speex test streams")


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    """espeak-ng English speech at 16 and 8 kHz."""
    directory = tmp_path_factory.mktemp("speech")
    return {rate: espeak_pcm(directory, rate)[: rate * 3] for rate in (16000, 8000)}


def decode_all(fmt: str, rate: int, chunks) -> tuple[np.ndarray, StreamDecoder]:
    decoder = StreamDecoder(fmt, rate)
    parts = [decoder.feed(chunk) for chunk in chunks]
    parts.append(decoder.flush())
    assert all(p.dtype == np.int16 and p.ndim == 1 for p in parts)
    out = np.concatenate(parts)
    assert decoder.decoded_samples == out.size
    return out, decoder


def odd_chunks(data: bytes, seed: int) -> list[bytes]:
    rng = np.random.default_rng(seed)
    cuts = np.cumsum(rng.integers(1, 400, size=len(data)) | 1)
    cuts = cuts[cuts < len(data)]
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)])]


@pytest.mark.parametrize("chunking", ["frames", "odd-chunks"])
@pytest.mark.parametrize("signal", ["synthetic", "speech"])
@pytest.mark.parametrize("rate", [16000, 8000])
@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_matches_the_source(fmt, rate, signal, chunking, speech):
    """encode -> stream_frames -> feed (per frame or odd-sized chunks) gives back the source audio."""
    need_speexenc(fmt)
    pcm = speechlike(rate, 2.0) if signal == "synthetic" else speech[rate]
    frames = stream_frames(pcm, rate, fmt)
    data = b"".join(f.data for f in frames)
    chunks = [f.data for f in frames] if chunking == "frames" else odd_chunks(data, seed=rate)
    out, _ = decode_all(fmt, rate, chunks)
    assert pcm.size <= out.size <= pcm.size + EXTRA[fmt](rate)
    if fmt == "pcm":
        assert np.array_equal(out, pcm)
        return
    corr, lag, snr = aligned(pcm, out, 1600)
    if fmt == "speex":  # CELP: the spectrum survives; the waveform only for real speech
        assert spectral_similarity(pcm, out, rate) > 0.8
        if signal == "speech":
            assert corr > 0.8 and lag <= 2
        return
    assert abs(lag - LAG[fmt]) <= 2
    assert corr > 0.9 and snr > 6


@pytest.mark.parametrize("fmt", ["opus", "aac", "mp3", "speex"])
def test_chunking_does_not_change_the_output(fmt):
    """One-byte, odd and whole-stream feeding decode to identical samples."""
    need_speexenc(fmt)
    data = encode(speechlike(16000, 0.6), 16000, fmt)
    whole, _ = decode_all(fmt, 16000, [data])
    odd, _ = decode_all(fmt, 16000, odd_chunks(data, seed=7))
    bytewise, _ = decode_all(fmt, 16000, [data[i : i + 1] for i in range(len(data))])
    assert np.array_equal(whole, odd) and np.array_equal(whole, bytewise)


def test_pcm_skips_a_leading_wav_header_and_carries_odd_bytes():
    """pcm tolerates a RIFF/WAV header on the first frame and odd-sized chunks."""
    pcm = speechlike(16000, 0.3)
    buf = io.BytesIO()
    with av.open(buf, "w", format="wav") as out:
        stream = out.add_stream("pcm_s16le", rate=16000, layout="mono")
        frame = av.AudioFrame.from_ndarray(pcm[None, :], format="s16", layout="mono")
        frame.sample_rate = 16000
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    wav = buf.getvalue()
    out, _ = decode_all("pcm", 16000, [wav[:3], wav[3:50], wav[50:3201], wav[3201:]])
    assert np.array_equal(out, pcm)


def test_pcm_with_a_wav_header_for_another_rate_is_refused():
    """A WAV header that disagrees with Input.SampleRate fails as a container problem (40000009)."""
    fmt = struct.pack("<4sIHHIIHH", b"fmt ", 16, 1, 2, 44100, 176400, 4, 16)
    wav = b"RIFF" + struct.pack("<I", 36 + 8) + b"WAVE" + fmt + b"data" + struct.pack("<I", 8) + bytes(8)
    with pytest.raises(DecodeError, match="44100 Hz, 2 channel") as caught:
        StreamDecoder("pcm", 16000).feed(wav)
    assert caught.value.code == 40000009


def test_pcm_that_happens_to_look_like_a_frame_header_stays_pcm():
    """Raw samples starting with an ADTS-like sync word are not mistaken for AAC."""
    data = b"\xff\xf1\x50\x80\x02\x1f\xfc" + bytes(3193)
    out, _ = decode_all("pcm", 16000, [data])
    assert out.size == 1600


@pytest.mark.parametrize(
    "declared,actual,message",
    [
        ("aac", "mp3", "looks like MP3"),
        ("mp3", "aac", "looks like AAC"),
        ("opus", "speex", "looks like Ogg Speex"),
        ("speex", "opus", "looks like Ogg Opus"),
        ("opus", "pcm", "is not recognisable"),
        ("pcm", "opus", "looks like Ogg Opus"),
        ("pcm", "aac", "looks like AAC"),
        ("pcm", "mp3", "looks like MP3"),
    ],
)
def test_a_stream_in_another_format_is_a_decode_error(declared, actual, message):
    """Audio in a different format than Input.Format fails with DECODE_ERROR and says what it looks like."""
    need_speexenc(actual)
    data = encode(speechlike(16000, 0.5), 16000, actual)
    if actual == "pcm":
        data = b"\x01\x02" * 2000
    with pytest.raises(DecodeError, match=message) as caught:
        decode_all(declared, 16000, [f for f in odd_chunks(data, seed=1)])
    assert caught.value.code == 40270003
    assert f"Input.Format is {declared}" in str(caught.value)


@pytest.mark.parametrize("fmt", ["opus", "speex", "aac", "mp3"])
def test_garbage_is_a_decode_error(fmt):
    """Random bytes never decode silently."""
    with pytest.raises(DecodeError):
        decode_all(fmt, 16000, [np.random.default_rng(9).bytes(5000)])


def test_ogg_page_sync_lost_mid_stream():
    """Bytes that break the Ogg page chain fail as a container problem."""
    data = encode(speechlike(16000, 1.0), 16000, "opus")
    decoder = StreamDecoder("opus", 16000)
    decoder.feed(data[:2000])
    with pytest.raises(DecodeError, match="Ogg page sync") as caught:
        decoder.feed(b"garbage!" * 200)
        decoder.feed(data[2000:])
    assert caught.value.code == 40000009


def test_stream_ending_inside_the_ogg_header():
    """A stream cut before its Opus header is complete fails at flush."""
    data = encode(speechlike(16000, 0.5), 16000, "opus")
    decoder = StreamDecoder("opus", 16000)
    assert decoder.feed(data[:40]).size == 0
    with pytest.raises(DecodeError, match="header"):
        decoder.flush()


def test_mp3_with_id3_tag_and_xing_frame_decodes_like_raw_frames():
    """An ID3v2 tag and a LAME Xing/Info frame are skipped; the audio frames decode as usual."""
    pcm = speechlike(16000, 1.0)
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp3", options={"fflags": "+bitexact"}) as out:
        stream = out.add_stream("libmp3lame", rate=16000, layout="mono")
        stream.bit_rate = 32000
        frame = av.AudioFrame.from_ndarray(pcm[None, :], format="s16", layout="mono")
        frame.sample_rate = 16000
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    tagged = buf.getvalue()
    assert tagged[:3] == b"ID3" and sniff(tagged) == "mp3"
    out, _ = decode_all("mp3", 16000, odd_chunks(tagged, seed=3))
    raw, _ = decode_all("mp3", 16000, [encode(pcm, 16000, "mp3")])
    assert out.size == raw.size
    assert aligned(pcm, out, 1600)[0] > 0.94


def test_stream_at_another_rate_is_resampled():
    """A 16 kHz AAC stream declared as 8 kHz comes out at 8 kHz."""
    data = encode(speechlike(16000, 1.0), 16000, "aac")
    out, _ = decode_all("aac", 8000, [data])
    assert 8000 <= out.size <= 8000 + 3 * 512


def test_decoder_lifecycle():
    """No input decodes to nothing; flush is idempotent; feeding after flush is refused."""
    decoder = StreamDecoder("opus", 16000)
    assert decoder.flush().size == 0 and decoder.flush().size == 0
    with pytest.raises(ValueError, match="after flush"):
        decoder.feed(b"x")
    with pytest.raises(ValueError, match="Input.Format"):
        StreamDecoder("wav", 16000)


@pytest.mark.parametrize(
    "fmt,expected", [("opus", "ogg-opus"), ("speex", "ogg-speex"), ("aac", "adts"), ("mp3", "mp3")]
)
def test_sniff_names_each_stream_format(fmt, expected):
    """sniff() recognises the start of each compressed stream format."""
    need_speexenc(fmt)
    assert sniff(encode(speechlike(8000, 0.3), 8000, fmt)[:200]) == expected


def test_sniff_wav_and_unknown():
    """sniff() knows WAV and ID3, and returns None for raw PCM, text and short Ogg heads."""
    assert sniff(b"RIFF\x24\x00\x00\x00WAVEfmt ") == "wav"
    assert sniff(b"ID3\x04\x00\x00\x00\x00\x00\x00") == "mp3"
    assert sniff(b"\x00\x01" * 100) is None
    assert sniff(b'{"header": {}}') is None
    assert sniff(b"OggS\x00\x02") is None
