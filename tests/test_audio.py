"""Client audio: probe/load of common files, refusals, the five stream encoders, framing, pacing."""

from __future__ import annotations

import math
import shutil
import struct
import subprocess
from pathlib import Path

import av
import numpy as np
import pytest

from tingwu_nb.client.audio import (
    FORMATS,
    AudioInfo,
    Frame,
    PacingReport,
    encode,
    load_pcm,
    mpeg_header,
    paced,
    probe,
    stream_frames,
)
from tingwu_nb.errors import AudioError, EncoderUnavailable

# ---------------------------------------------------------------- shared helpers (also used by
# tests/emulator/test_codecs.py)


def speechlike(sample_rate: int, seconds: float = 2.0, seed: int = 0) -> np.ndarray:
    """A tone + speech-like test signal: gliding harmonics in syllable-shaped bursts, plus noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(sample_rate * seconds)) / sample_rate
    f0 = 140 + 40 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 12) if k * 220 < sample_rate / 2)
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * 3.1 * t)
    signal = 0.5 * voiced * envelope + 0.3 * np.sin(2 * np.pi * 440 * t) + 0.02 * rng.standard_normal(t.size)
    return (signal / np.abs(signal).max() * 12000).astype(np.int16)


def aligned(source: np.ndarray, decoded: np.ndarray, max_lag: int) -> tuple[float, int, float]:
    """Best (correlation, lag, SNR dB) of ``decoded`` delayed by 0..max_lag samples against ``source``."""
    a, b = source.astype(float), decoded.astype(float)
    n = min(a.size, b.size - max_lag)
    best = (-2.0, 0)
    for lag in range(max_lag + 1):
        y = b[lag : lag + n]
        c = float(a[:n] @ y / math.sqrt((a[:n] @ a[:n]) * (y @ y) + 1e-9))
        best = max(best, (c, lag))
    err = a[:n] - b[best[1] : best[1] + n]
    snr = 10 * math.log10((a[:n] @ a[:n]) / max(err @ err, 1e-9))
    return best[0], best[1], snr


def spectral_similarity(source: np.ndarray, decoded: np.ndarray, sample_rate: int) -> float:
    """Correlation of the two signals' dB spectrograms (32 ms frames, 50 dB range): robust to phase."""
    n = int(0.032 * sample_rate)
    window = np.hanning(n)

    def db(x: np.ndarray) -> np.ndarray:
        frames = np.lib.stride_tricks.sliding_window_view(x.astype(float), n)[:: n // 2] * window
        power = 10 * np.log10(np.abs(np.fft.rfft(frames, axis=1)) ** 2 + 1e-3)
        return np.maximum(power, power.max() - 50)

    m = min(source.size, decoded.size)
    return float(np.corrcoef(db(source[:m]).ravel(), db(decoded[:m]).ravel())[0, 1])


def espeak_pcm(directory: Path, sample_rate: int) -> np.ndarray:
    """English speech from espeak-ng, loaded with load_pcm; skips the test if espeak-ng is missing."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng); needed for the speech fixture")
    wav = directory / "speech.wav"
    if not wav.exists():
        text = "Please send the quarterly report to the finance team before Friday afternoon."
        subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(wav), text], check=True, capture_output=True)
    return load_pcm(wav, sample_rate=sample_rate)


def write_audio(
    path: Path, pcm: np.ndarray, rate: int, fmt: str, codec: str, sample_fmt: str, **opts
) -> Path:
    """Write float samples in [-1, 1] shaped (channels, n) with PyAV."""
    layout = "mono" if pcm.shape[0] == 1 else "stereo"
    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=rate, layout=layout, **opts)
        if sample_fmt.startswith("s16"):
            data = (pcm * 32000).astype(np.int16)
        elif sample_fmt.startswith("s32"):
            data = (pcm * 2**31 * 0.9).astype(np.int32)
        else:
            data = pcm.astype(np.float32)
        packed = not sample_fmt.endswith("p")
        frame = av.AudioFrame.from_ndarray(
            data.T.reshape(1, -1) if packed else data, format=sample_fmt, layout=layout
        )
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def tone(rate: int, seconds: float, freqs: tuple[float, ...]) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return np.stack([0.5 * np.sin(2 * np.pi * f * t) for f in freqs])


# ---------------------------------------------------------------- probe / load_pcm

# (name, suffix, rate, channels, writer) ; writer(path, samples) -> path ; tolerance in seconds
CONTAINERS = {
    "wav-s16": (".wav", 16000, 1, lambda p, x: write_audio(p, x, 16000, "wav", "pcm_s16le", "s16"), 0.001),
    "wav-s24": (".wav", 48000, 1, lambda p, x: write_audio(p, x, 48000, "wav", "pcm_s24le", "s32"), 0.001),
    "wav-f32": (".wav", 22050, 1, lambda p, x: write_audio(p, x, 22050, "wav", "pcm_f32le", "flt"), 0.001),
    "wav-stereo-44k": (
        ".wav",
        44100,
        2,
        lambda p, x: write_audio(p, x, 44100, "wav", "pcm_s16le", "s16"),
        0.001,
    ),
    "flac": (".flac", 44100, 2, lambda p, x: write_audio(p, x, 44100, "flac", "flac", "s16"), 0.001),
    "mp3": (
        ".mp3",
        44100,
        2,
        lambda p, x: write_audio(p, x, 44100, "mp3", "libmp3lame", "fltp"),
        1152 / 44100,
    ),
    # PyAV writes no edit list, so the AAC priming and padding stay in the decoded m4a audio
    "m4a": (".m4a", 44100, 2, lambda p, x: write_audio(p, x, 44100, "ipod", "aac", "fltp"), 3 * 1024 / 44100),
    "ogg-opus": (
        ".opus",
        48000,
        1,
        lambda p, x: write_audio(p, x, 48000, "ogg", "libopus", "s16"),
        960 / 48000,
    ),
    "ogg-vorbis": (".ogg", 44100, 2, None, 2048 / 44100),
}


@pytest.fixture(params=sorted(CONTAINERS))
def audio_file(request, tmp_path):
    """A 1.5 s file with 440 Hz on the left/mono channel and 1000 Hz on the right, in each container."""
    suffix, rate, channels, writer, tol = CONTAINERS[request.param]
    path = tmp_path / f"sample{suffix}"
    samples = tone(rate, 1.5, (440.0, 1000.0)[:channels])
    if writer is None:  # FFmpeg has no vorbis encoder worth using; sox has libvorbis
        if shutil.which("sox") is None:
            pytest.skip("sox is not installed (apt-get install sox); needed to write Ogg Vorbis")
        cmd = ["sox", "-n", "-r", str(rate), "-c", str(channels), str(path), "synth", "1.5", "sine", "440"]
        subprocess.run(
            [*cmd, "sine", "1000"][: len(cmd) + 2 * (channels - 1)], check=True, capture_output=True
        )
    else:
        writer(path, samples)
    return request.param, path, rate, channels, tol


def test_probe_reports_rate_channels_and_duration(audio_file):
    """probe() names the rate and channel count and gets the duration within one codec frame."""
    name, path, rate, channels, tol = audio_file
    info = probe(path)
    assert isinstance(info, AudioInfo)
    assert (info.sample_rate, info.channels) == (rate, channels)
    assert info.duration_s == pytest.approx(1.5, abs=tol + 1e-3), name
    assert info.source == str(path) and info.container and info.codec and info.sample_format


@pytest.mark.parametrize("target", [16000, 8000])
def test_load_pcm_gives_int16_mono_at_the_target_rate(audio_file, target):
    """load_pcm() decodes, downmixes and resamples every container to int16 mono at 8/16 kHz."""
    name, path, _, channels, tol = audio_file
    pcm = load_pcm(path, sample_rate=target)
    assert pcm.dtype == np.int16 and pcm.ndim == 1
    assert abs(pcm.size - 1.5 * target) <= (tol + 0.001) * target, name
    middle = pcm[target // 4 : -target // 4]
    spectrum = np.abs(np.fft.rfft(middle.astype(float)))
    hz = np.fft.rfftfreq(middle.size, 1 / target)
    assert spectrum[np.abs(hz - 440) < 5].max() > 0.5 * spectrum.max()
    if channels == 2:  # the right channel's 1000 Hz survives the downmix
        assert spectrum[np.abs(hz - 1000) < 5].max() > 0.5 * spectrum.max()
    else:
        assert spectrum[np.abs(hz - 1000) < 5].max() < 0.01 * spectrum.max()


def test_load_pcm_accepts_bytes_and_matches_the_file(tmp_path):
    """load_pcm(bytes) decodes the same samples as load_pcm(path)."""
    path = write_audio(tmp_path / "a.wav", tone(16000, 0.5, (440.0,)), 16000, "wav", "pcm_s16le", "s16")
    assert np.array_equal(load_pcm(path.read_bytes()), load_pcm(path))
    assert probe(path.read_bytes()).source == "<bytes>"


def test_load_pcm_refuses_unsupported_rates(tmp_path):
    """load_pcm() accepts only Tingwu's 8000/16000 Hz targets."""
    path = write_audio(tmp_path / "a.wav", tone(16000, 0.5, (440.0,)), 16000, "wav", "pcm_s16le", "s16")
    with pytest.raises(ValueError, match="8000 or 16000"):
        load_pcm(path, sample_rate=44100)


def _video_only(path: Path) -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=5)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for i in range(3):
            frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), i * 40, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def _silent_wav(path: Path) -> Path:
    fmt = struct.pack("<4sIHHIIHH", b"fmt ", 16, 1, 1, 16000, 32000, 2, 16)
    path.write_bytes(b"RIFF" + struct.pack("<I", 4 + len(fmt) + 8) + b"WAVE" + fmt + b"data" + bytes(4))
    return path


def _corrupt_flac(path: Path) -> Path:
    data = bytearray(write_audio(path, tone(16000, 1.0, (440.0,)), 16000, "flac", "flac", "s16").read_bytes())
    data[100:] = np.random.default_rng(3).bytes(len(data) - 100)  # keep the STREAMINFO header only
    path.write_bytes(bytes(data))
    return path


REFUSALS = {
    "missing": (lambda p: p / "nope.wav", "file not found"),
    "empty": (lambda p: _write(p / "e.wav", b""), "file is empty (0 bytes)"),
    "text": (lambda p: _write(p / "notes.txt", b"Meeting notes\nnothing to hear here\n"), "plain text"),
    "json": (lambda p: _write(p / "r.json", b'{"Code": "0", "Data": []}'), "JSON text"),
    "png": (lambda p: _write(p / "img.png", b"\x89PNG\r\n\x1a\n" + bytes(200)), "PNG image"),
    "truncated-wav": (
        lambda p: _write(
            p / "t.wav",
            write_audio(
                p / "w.wav", tone(16000, 0.2, (440.0,)), 16000, "wav", "pcm_s16le", "s16"
            ).read_bytes()[:30],
        ),
        "truncated or corrupt",
    ),
    "garbage": (
        lambda p: _write(p / "g.mp3", b"\x00\x13" + np.random.default_rng(5).bytes(4000)),
        "not a recognised",
    ),
    "video-only": (
        lambda p: _video_only(p / "v.mkv"),
        "no audio stream found: the file has only video stream(s)",
    ),
    "zero-length": (lambda p: _silent_wav(p / "z.wav"), "zero length"),
    "corrupt-frames": (lambda p: _corrupt_flac(p / "c.flac"), "no decodable audio"),
}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_probe_and_load_refuse_non_audio_with_a_reason(case, tmp_path):
    """Missing, empty, text, JSON, PNG, truncated, garbage, video-only and zero-length input are refused."""
    make, reason = REFUSALS[case]
    path = make(tmp_path)
    for call in (probe, load_pcm):
        with pytest.raises(AudioError) as caught:
            call(path)
        assert caught.value.source == str(path)
        assert reason in caught.value.reason, caught.value.reason
        assert caught.value.reason  # never blank


def test_refusing_empty_bytes():
    """Empty in-memory audio is refused as such."""
    with pytest.raises(AudioError, match="empty"):
        probe(b"")


# ---------------------------------------------------------------- encode


@pytest.mark.parametrize("rate", [16000, 8000])
@pytest.mark.parametrize("fmt", FORMATS)
def test_encode_round_trips_through_ffmpeg(fmt, rate):
    """Every stream format decodes back (with FFmpeg's own demuxers) to the source audio."""
    if fmt == "speex" and shutil.which("speexenc") is None:
        pytest.skip("speexenc is not installed (apt-get install speex)")
    pcm = speechlike(rate, 2.0)
    data = encode(pcm, rate, fmt)
    if fmt == "pcm":
        assert data == pcm.astype("<i2").tobytes()
        return
    info = probe(data)
    assert (info.sample_rate, info.channels) == (48000 if fmt == "opus" else rate, 1)
    assert info.duration_s == pytest.approx(2.0, abs=0.25)  # includes codec priming and padding
    decoded = load_pcm(data, sample_rate=rate)
    corr, lag, _ = aligned(pcm, decoded, 1600)
    if fmt == "speex":  # CELP keeps the spectrum, not the waveform, of this synthetic signal
        assert spectral_similarity(pcm, decoded[lag:], rate) > 0.8
    else:
        assert corr > 0.94


def test_mp3_is_raw_frames_without_id3_or_xing():
    """mp3 output starts with an MPEG frame header, carries no ID3 tag and no Xing/Info frame."""
    data = encode(speechlike(16000, 1.0), 16000, "mp3", bitrate=128000)
    assert b"ID3" not in data[:10] and b"TAG" != data[-128:-125]
    length, samples, rate = mpeg_header(data)
    assert (samples, rate) == (576, 16000)
    assert b"Xing" not in data[:length] and b"Info" not in data[:length]
    assert data[2] >> 4 == 12  # MPEG-2 layer III bitrate index 12 = 128 kb/s


def test_encode_rejects_bad_input():
    """Unknown formats and non-int16 or multi-channel arrays are refused."""
    with pytest.raises(ValueError, match="unknown stream format"):
        encode(np.zeros(160, np.int16), 16000, "wav")
    with pytest.raises(ValueError, match="int16"):
        encode(np.zeros(160, np.float32), 16000, "pcm")
    with pytest.raises(ValueError, match="1-D"):
        encode(np.zeros((2, 160), np.int16), 16000, "pcm")


def test_speex_without_speexenc_says_how_to_install(monkeypatch, tmp_path):
    """With no speexenc on PATH, speex encoding raises EncoderUnavailable naming the apt package."""
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(EncoderUnavailable) as caught:
        encode(speechlike(16000, 0.5), 16000, "speex")
    assert caught.value.tool == "speexenc"
    assert "apt-get install speex" in caught.value.reason


# ---------------------------------------------------------------- stream_frames


@pytest.mark.parametrize("rate,size", [(16000, 3200), (8000, 1600)])
def test_pcm_frames_are_exactly_100_ms(rate, size):
    """pcm frames are 3200 bytes (16 kHz) / 1600 bytes (8 kHz); only the last may be shorter."""
    pcm = speechlike(rate, 1.234)
    frames = stream_frames(pcm, rate, "pcm")
    assert [len(f.data) for f in frames[:-1]] == [size] * (len(frames) - 1)
    assert 0 < len(frames[-1].data) <= size
    assert [(f.start_ms, f.end_ms) for f in frames[:3]] == [(0, 100), (100, 200), (200, 300)]
    assert frames[-1].end_ms == 1234
    assert b"".join(f.data for f in frames) == pcm.tobytes()


@pytest.mark.parametrize("rate", [16000, 8000])
@pytest.mark.parametrize("fmt", FORMATS)
def test_stream_frames_cover_the_stream_in_about_frame_ms_steps(fmt, rate):
    """Frames are never empty, are contiguous in time, average ~frame_ms and rebuild the encoded stream."""
    if fmt == "speex" and shutil.which("speexenc") is None:
        pytest.skip("speexenc is not installed (apt-get install speex)")
    pcm = speechlike(rate, 3.0)
    frames = stream_frames(pcm, rate, fmt)
    assert all(isinstance(f, Frame) and f.data for f in frames)
    assert frames[0].start_ms == 0
    assert all(a.end_ms == b.start_ms for a, b in zip(frames, frames[1:]))
    assert all(f.end_ms > f.start_ms for f in frames)
    assert frames[-1].end_ms == pytest.approx(3000, abs=200)
    assert 70 <= frames[-1].end_ms / len(frames) <= 130
    assert b"".join(f.data for f in frames) == encode(pcm, rate, fmt)


def test_stream_frames_other_frame_sizes_and_refusals():
    """frame_ms sets the pcm chunk size; nonsense sizes and empty audio are handled."""
    pcm = speechlike(16000, 0.5)
    assert {len(f.data) for f in stream_frames(pcm, 16000, "pcm", frame_ms=20)} == {640}
    assert 10 <= len(stream_frames(pcm, 16000, "opus", frame_ms=40)) <= 15
    assert stream_frames(np.zeros(0, np.int16), 16000, "opus") == []
    with pytest.raises(ValueError, match="frame_ms"):
        stream_frames(pcm, 16000, "pcm", frame_ms=0)


# ---------------------------------------------------------------- paced


class FakeTime:
    """A clock that only moves when slept on (plus an optional cost per frame sent)."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _frames(n: int, ms: int = 100) -> list[Frame]:
    return [Frame(b"x", i * ms, (i + 1) * ms) for i in range(n)]


@pytest.mark.parametrize("speed", [1.0, 4.0])
async def test_paced_follows_the_absolute_schedule(speed):
    """Frame i is yielded at start_ms_i / speed after the first frame."""
    fake, report = FakeTime(), PacingReport()
    times = [
        fake.now
        async for _ in paced(_frames(10), speed=speed, clock=fake.clock, sleep=fake.sleep, report=report)
    ]
    assert times == pytest.approx([100.0 + i * 0.1 / speed for i in range(10)])
    assert (report.frames, report.audio_s, report.max_lag_s, report.mean_lag_s) == (
        10,
        pytest.approx(1.0),
        0,
        0,
    )
    assert report.wall_s == pytest.approx(0.9 / speed)


async def test_paced_infinite_speed_never_sleeps():
    """speed=math.inf sends everything at once."""
    fake, report = FakeTime(), PacingReport()
    out = [
        f async for f in paced(_frames(5), speed=math.inf, clock=fake.clock, sleep=fake.sleep, report=report)
    ]
    assert len(out) == 5 and fake.sleeps == [] and report.frames == 5 and report.wall_s == 0


async def test_paced_catches_up_without_drift_and_reports_lag():
    """A slow consumer makes frames late; the schedule stays absolute and the lag is reported."""
    fake, report = FakeTime(), PacingReport()
    times = []
    async for frame in paced(_frames(6), speed=1.0, clock=fake.clock, sleep=fake.sleep, report=report):
        times.append(fake.now)
        if frame.start_ms == 100:
            fake.now += 0.35  # this send stalls for 350 ms
    assert times == pytest.approx([100.0, 100.1, 100.45, 100.45, 100.45, 100.5])
    assert report.max_lag_s == pytest.approx(0.25)
    assert report.mean_lag_s == pytest.approx((0.25 + 0.15 + 0.05) / 6)
    assert report.wall_s == pytest.approx(0.5)


async def test_paced_refuses_non_positive_speed():
    """speed <= 0 is a ValueError."""
    with pytest.raises(ValueError, match="speed"):
        async for _ in paced(_frames(1), speed=0):
            pass


def test_frame_repr_is_short():
    """A Frame's repr shows its size and span, not its bytes."""
    assert repr(Frame(b"\x00" * 3200, 0, 100)) == "Frame(3200 bytes, 0-100 ms)"
