"""SpeechEngine: real faster-whisper decoding of the committed English sample meeting."""

from __future__ import annotations

import threading

import jiwer
import numpy as np
import pytest
from scipy.signal import resample_poly

from tingwu_nb.emulator.engine.engine import EngineConfig, SpeechEngine, whisper_language
from tingwu_nb.errors import ParameterError
from tingwu_nb.research.metrics import normalize_text as norm
from tingwu_nb.samples import load_sample_meeting as load_sample

pytestmark = pytest.mark.slow





@pytest.fixture(scope="module")
def engine() -> SpeechEngine:
    return SpeechEngine()


@pytest.fixture(scope="module")
def first_turn() -> tuple[np.ndarray, dict]:
    pcm, truth = load_sample()
    turn = truth["turns"][0]
    a, b = int((turn["start_s"] - 0.3) * 16000), int((turn["end_s"] + 0.3) * 16000)
    return pcm[a:b], turn


def test_first_turn_words(engine, first_turn):
    """The first turn is recognised word for word with times inside the clip."""
    audio, turn = first_turn
    rec = engine.recognize(audio, language="en")
    assert norm(rec.text) == norm(turn["text"])
    assert [norm(w.text) for w in rec.words] == norm(turn["text"]).split()
    assert rec.language == "en"
    duration = len(audio) / 16000
    starts = [w.start_s for w in rec.words]
    assert starts == sorted(starts)
    assert all(0 <= w.start_s <= w.end_s <= duration + 0.05 for w in rec.words)
    assert all(0 <= w.probability <= 1 for w in rec.words)
    assert rec.avg_logprob < 0 and 0.5 < rec.confidence <= 1


def test_float_and_int16_input_agree(engine, first_turn):
    """float32 in [-1, 1] and int16 of the same audio decode to the same text."""
    audio, _ = first_turn
    as_float = audio.astype(np.float32) / 32768.0
    assert engine.recognize(as_float, language="en").text == engine.recognize(audio, language="en").text


def test_8khz_input_is_upsampled(engine, first_turn):
    """8 kHz audio is upsampled to 16 kHz and still recognised (WER <= 25 % on this turn)."""
    audio, turn = first_turn
    narrow = np.round(resample_poly(audio.astype(np.float64), 1, 2)).astype(np.int16)
    rec = engine.recognize(narrow, language="en", sample_rate=8000)
    assert jiwer.wer(norm(turn["text"]), norm(rec.text)) <= 0.25
    assert rec.words[-1].end_s <= len(narrow) / 8000 + 0.05


def test_multilingual_autodetects_english(engine, first_turn):
    """language='multilingual' uses the base model with language detection (English found)."""
    audio, turn = first_turn
    rec = engine.recognize(audio, language="multilingual")
    assert rec.language == "en"
    assert jiwer.wer(norm(turn["text"]), norm(rec.text)) <= 0.2


def test_tiny_clip_gives_empty_result(engine):
    """Audio shorter than 0.1 s returns an empty recognition without decoding."""
    rec = engine.recognize(np.zeros(800, dtype=np.int16), language="en")
    assert rec.text == "" and rec.words == () and rec.confidence == 0.0


def test_language_codes_map_to_whisper():
    """Tingwu codes map to Whisper codes; yue is never passed through; unknown codes are refused."""
    assert whisper_language("cn") == "zh"
    assert whisper_language("yue") == "zh"
    assert whisper_language("fspk") == "zh"
    assert whisper_language("en") == "en"
    assert whisper_language("ja") == "ja" and whisper_language("ko") == "ko"
    assert whisper_language("multilingual") is None
    with pytest.raises(ParameterError):
        whisper_language("klingon")


def test_model_routing():
    """English goes to english_model; other languages and translation go to other_model."""
    eng = SpeechEngine(EngineConfig(english_model="tiny.en", other_model="base"))
    assert eng.model_name_for("en") == "tiny.en"
    assert eng.model_name_for("en", 8000) == "tiny.en"
    for lang in ("cn", "yue", "ja", "ko", "fspk", "multilingual"):
        assert eng.model_name_for(lang) == "base"
    assert eng.model_name_for("en", task="translate") == "base"


def test_models_load_once_across_threads():
    """Concurrent first use loads one model object per name, cached afterwards."""
    eng = SpeechEngine()
    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(eng.load("tiny.en"))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 4 and all(m is got[0] for m in got)
    assert eng.load("tiny.en") is got[0]


def test_bad_task_is_refused(engine, first_turn):
    """An unknown task raises ParameterError before any decoding."""
    with pytest.raises(ParameterError):
        engine.recognize(first_turn[0], language="en", task="summarise")
