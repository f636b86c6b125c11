"""StreamingRecognizer: VAD-endpointed sentences of the sample meeting, fed in 100 ms chunks."""

from __future__ import annotations

import jiwer
import numpy as np
import pytest
from scipy.signal import resample_poly

from tingwu_nb.emulator.engine.engine import SpeechEngine
from tingwu_nb.emulator.engine.recognizer import Final, Interim, SpeechStart, StreamingRecognizer
from tingwu_nb.errors import ParameterError
from tingwu_nb.research.metrics import normalize_text as norm
from tingwu_nb.samples import load_sample_meeting as load_sample

pytestmark = pytest.mark.slow





def stream(rec: StreamingRecognizer, pcm: np.ndarray, chunk: int) -> list:
    events = []
    for i in range(0, len(pcm), chunk):
        events.extend(rec.feed(pcm[i:i + chunk]))
    events.extend(rec.finish())
    return events


def to_8k(pcm: np.ndarray) -> np.ndarray:
    return np.clip(np.round(resample_poly(pcm.astype(np.float64), 1, 2)), -32768, 32767).astype(np.int16)


@pytest.fixture(scope="module")
def engine() -> SpeechEngine:
    return SpeechEngine()


@pytest.fixture(scope="module")
def sample() -> tuple[np.ndarray, dict]:
    return load_sample()


def _check_meeting(events: list, truth: dict, max_wer: float) -> float:
    finals = [e for e in events if isinstance(e, Final)]
    starts = [e for e in events if isinstance(e, SpeechStart)]
    turns = truth["turns"]
    assert len(finals) == len(turns) == 12
    assert [f.index for f in finals] == list(range(12))
    assert [s.index for s in starts] == list(range(12))
    for s, f, t in zip(starts, finals, turns, strict=True):
        assert events.index(s) < events.index(f)
        assert s.start_ms == f.start_ms
        assert abs(f.start_ms - t["start_s"] * 1000) <= 500
        assert abs(f.end_ms - t["end_s"] * 1000) <= 500
        assert all(f.start_ms <= w.start_ms <= w.end_ms <= f.end_ms for w in f.words)
        assert 0 < f.confidence <= 1
    wer = jiwer.wer(norm(" ".join(t["text"] for t in turns)), norm(" ".join(f.text for f in finals)))
    print(f"WER {wer:.3f}")
    assert wer <= max_wer
    return wer


def test_meeting_16k_in_100ms_chunks(engine, sample):
    """12 Finals, indexes 0..11, spans within 0.5 s of truth, WER <= 15 %, segments() match."""
    pcm, truth = sample
    rec = StreamingRecognizer(engine)
    events = stream(rec, pcm, 1600)
    _check_meeting(events, truth, 0.15)
    assert rec.segments() == [(f.start_ms, f.end_ms) for f in events if isinstance(f, Final)]
    assert rec.audio_ms == len(pcm) * 1000 // 16000
    assert not any(isinstance(e, Interim) for e in events)


def test_meeting_8k(engine, sample):
    """8 kHz input gives the same 12 sentences; WER is higher (measured ~26 %) but bounded."""
    pcm, truth = sample
    rec = StreamingRecognizer(engine, sample_rate=8000)
    _check_meeting(stream(rec, to_8k(pcm), 800), truth, 0.35)
    assert rec.audio_ms == len(to_8k(pcm)) * 1000 // 8000


def test_interims_precede_their_final(engine, sample):
    """interim=True emits Interims for the open sentence, each before that sentence's Final."""
    pcm, truth = sample
    part = pcm[: int(16.0 * 16000)]  # first three turns
    events = stream(StreamingRecognizer(engine, interim=True, interim_interval_ms=1000), part, 1600)
    finals = {e.index: events.index(e) for e in events if isinstance(e, Final)}
    interims = [e for e in events if isinstance(e, Interim)]
    assert len(finals) == 3
    assert len(interims) >= 6
    for e in interims:
        assert events.index(e) < finals[e.index]
        assert e.text
    times = [e.time_ms for e in interims]
    assert times == sorted(times)
    assert {e.index for e in interims} == {0, 1, 2}


def test_silence_yields_no_events(engine):
    """Ten seconds of low noise produce no events at 16 or 8 kHz, also on finish()."""
    rng = np.random.default_rng(1)
    for rate in (16000, 8000):
        rec = StreamingRecognizer(engine, sample_rate=rate, interim=True)
        noise = rng.normal(0, 30, rate * 10).astype(np.int16)
        assert stream(rec, noise, rate // 10) == []
        assert rec.segments() == [] and rec.audio_ms == 10000


def test_chunk_size_does_not_change_finals(engine, sample):
    """Odd chunk sizes give exactly the same Finals as 100 ms chunks (VAD state is kept)."""
    pcm, _ = sample
    part = pcm[: int(10.5 * 16000)]
    a = [e for e in stream(StreamingRecognizer(engine), part, 1600) if isinstance(e, Final)]
    b = [e for e in stream(StreamingRecognizer(engine), part, 593) if isinstance(e, Final)]
    assert a == b and len(a) == 2


def test_long_sentence_is_cut(engine, sample):
    """max_sentence_ms splits a long turn into several Finals no longer than the limit."""
    pcm, truth = sample
    turn = truth["turns"][0]
    part = pcm[: int((turn["end_s"] + 1.0) * 16000)]
    finals = [e for e in stream(StreamingRecognizer(engine, max_sentence_ms=2000), part, 1600)
              if isinstance(e, Final)]
    assert len(finals) >= 2
    assert [f.index for f in finals] == list(range(len(finals)))
    assert all(f.end_ms - f.start_ms <= 2000 + 32 for f in finals)
    assert all(a.end_ms <= b.start_ms for a, b in zip(finals, finals[1:]))  # noqa: B905
    words = norm(" ".join(f.text for f in finals)).split()
    assert {"morning", "joining", "project", "meeting"} <= set(words)


def test_energy_vad_fallback(engine, sample):
    """vad='energy' is a working documented fallback on clean audio."""
    pcm, truth = sample
    part = pcm[: int(16.0 * 16000)]
    finals = [e for e in stream(StreamingRecognizer(engine, vad="energy"), part, 1600) if isinstance(e, Final)]
    assert len(finals) == 3
    assert "budget" in norm(finals[1].text)


def test_bad_parameters_are_refused(engine):
    """Unsupported sample rates and VAD names raise ParameterError."""
    with pytest.raises(ParameterError):
        StreamingRecognizer(engine, sample_rate=44100)
    with pytest.raises(ParameterError):
        StreamingRecognizer(engine, vad="webrtc")
