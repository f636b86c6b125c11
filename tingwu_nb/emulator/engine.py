"""Offline speech recognition for the emulator: faster-whisper on verified local weights.

:class:`SpeechEngine` turns one utterance (already segmented by the caller, see
:mod:`tingwu_nb.emulator.recognizer`) into text with word timings. Models load lazily, once per
name, under a lock; they always come from a local directory returned by
:func:`tingwu_nb.emulator.models.model_path` with ``HF_HUB_OFFLINE=1`` set, so nothing is ever
downloaded.

English uses ``tiny.en`` by default (as accurate as ``base`` on the sample meeting and 2-3x
faster; numbers on :class:`EngineConfig`); every other Tingwu language, and speech->English
translation, uses the multilingual ``base``.
"""

from __future__ import annotations

import math
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tingwu_nb.emulator.models import MODELS, model_path
from tingwu_nb.errors import ModelError, ParameterError
from tingwu_nb.params import whisper_language  # the one Tingwu -> Whisper code map

__all__ = [
    "EngineConfig",
    "Recognition",
    "RecognizedWord",
    "SpeechEngine",
    "to_float16k",
    "whisper_language",
]

@dataclass(frozen=True)
class EngineConfig:
    """How the engine decodes.

    ``english_model`` is ``tiny.en``, chosen by ``benchmarks/bench_engine.py`` (54 s sample
    meeting streamed in 100 ms chunks, int8, 2 threads, greedy): at 16 kHz tiny.en WER 9.7 %
    vs base 10.5 % (espeak's voices trip both about equally; the bar is 15 %), RTF 0.13 vs 0.33
    and finalisation latency 0.56 s vs 1.46 s mean. At 8 kHz neither meets 15 % (tiny.en 24.2 %,
    base 26.6 %), so 8 kHz English stays on ``english_model`` as well.

    ``model_dir`` replaces the packaged weights with a user directory for every language
    (verified only when the model name is a known one); ``cache_dir`` is where the split
    ``base`` model is assembled (default ``$TINGWU_NB_CACHE`` or ``~/.cache/tingwu_nb/models``).
    """

    english_model: str = "tiny.en"
    other_model: str = "base"
    compute_type: str = "int8"
    cpu_threads: int = 2
    beam_size: int = 1
    model_dir: Path | None = None
    cache_dir: Path | None = None


@dataclass(frozen=True)
class RecognizedWord:
    """One word, times in seconds from the start of the audio given to ``recognize``."""

    text: str
    start_s: float
    end_s: float
    probability: float


@dataclass(frozen=True)
class Recognition:
    """The decoded text of one utterance; ``language`` is Whisper's code (``en``, ``zh``...)."""

    text: str
    words: tuple[RecognizedWord, ...]
    avg_logprob: float
    language: str

    @property
    def confidence(self) -> float:
        """Mean word probability in [0, 1] (``exp(avg_logprob)`` when there are no words)."""
        if self.words:
            return float(min(1.0, max(0.0, sum(w.probability for w in self.words) / len(self.words))))
        return float(min(1.0, max(0.0, math.exp(self.avg_logprob)))) if self.text else 0.0


def to_float16k(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Return mono float32 audio in [-1, 1] at 16 kHz (int16 is scaled, 8 kHz upsampled x2)."""
    x = np.asarray(audio)
    if x.ndim != 1:
        raise ParameterError("audio", f"expected mono 1-D audio, got shape {x.shape}")
    if x.dtype == np.int16:
        x = x.astype(np.float32) / 32768.0
    else:
        x = np.clip(x.astype(np.float32, copy=False), -1.0, 1.0)
    if sample_rate == 16000 or x.size == 0:
        return x
    if sample_rate <= 0:
        raise ParameterError("sample_rate", "must be positive", sample_rate)
    from scipy.signal import resample_poly

    g = math.gcd(16000, sample_rate)
    return resample_poly(x, 16000 // g, sample_rate // g).astype(np.float32)


class SpeechEngine:
    """Whisper recogniser shared by every stream of the emulator (thread-safe).

    Create one per process and pass it to each
    :class:`~tingwu_nb.emulator.recognizer.StreamingRecognizer`. Call :meth:`warm_up` at
    start-up to pay the model load (and sha256 check) before the first stream arrives.
    """

    def __init__(self, config: EngineConfig = EngineConfig()) -> None:  # noqa: B008 (frozen value)
        self.config = config
        self._models: dict[str, Any] = {}
        self._lock = threading.Lock()

    def model_name_for(self, language: str, sample_rate: int = 16000, task: str = "transcribe") -> str:
        """Name of the model that decodes ``language`` (a Tingwu code) at ``sample_rate``.

        English goes to ``english_model`` at 16 and 8 kHz (at 8 kHz base was not more accurate
        on the sample meeting: 26.6 % vs tiny.en 24.2 % WER); everything else, and ``task="translate"`` (an English-only model
        cannot translate), goes to ``other_model``.
        """
        whisper_language(language)  # validates the code
        if task == "transcribe" and language.lower() == "en":
            return self.config.english_model
        return self.config.other_model

    def load(self, name: str) -> Any:
        """Return the loaded ``WhisperModel`` ``name``, loading and verifying it on first use."""
        model = self._models.get(name)
        if model is not None:
            return model
        with self._lock:
            model = self._models.get(name)
            if model is None:
                os.environ["HF_HUB_OFFLINE"] = "1"
                path = model_path(name, cache_dir=self.config.cache_dir, model_dir=self.config.model_dir)
                from faster_whisper import WhisperModel

                try:
                    model = WhisperModel(
                        str(path), device="cpu", compute_type=self.config.compute_type,
                        cpu_threads=self.config.cpu_threads, local_files_only=True,
                    )
                except (RuntimeError, ValueError, OSError) as exc:
                    raise ModelError(f"could not load speech model {name!r} from {path}: {exc}") from exc
                self._models[name] = model
        return model

    def recognize(
        self,
        audio: np.ndarray,
        *,
        language: str,
        sample_rate: int = 16000,
        task: str = "transcribe",
    ) -> Recognition:
        """Decode one utterance.

        Args:
            audio: mono float32 in [-1, 1] or int16 at ``sample_rate`` (8 kHz is upsampled).
            language: Tingwu code (cn, en, yue, ja, ko, fspk, multilingual).
            sample_rate: rate of ``audio`` in Hz.
            task: ``"transcribe"`` or ``"translate"`` (speech -> English).

        Returns:
            The text and words, word times in seconds relative to the start of ``audio``.
        """
        if task not in ("transcribe", "translate"):
            raise ParameterError("task", "must be 'transcribe' or 'translate'", task)
        name = self.model_name_for(language, sample_rate, task)
        wlang = whisper_language(language)
        x = to_float16k(audio, sample_rate)
        model = self.load(name)
        if name in MODELS and MODELS[name].languages == "en":
            wlang = "en"
        if x.size < 1600:  # < 0.1 s: nothing Whisper can use
            return Recognition("", (), 0.0, wlang or "")
        segments, info = model.transcribe(
            x, language=wlang, task=task, beam_size=self.config.beam_size, word_timestamps=True,
            vad_filter=False, condition_on_previous_text=False,
        )
        texts: list[str] = []
        words: list[RecognizedWord] = []
        logprob_sum = 0.0
        weight = 0.0
        for seg in segments:
            texts.append(seg.text)
            span = max(seg.end - seg.start, 1e-3)
            logprob_sum += seg.avg_logprob * span
            weight += span
            for w in seg.words or ():
                text = w.word.strip()
                if text:
                    words.append(RecognizedWord(text, float(w.start), float(w.end), float(w.probability)))
        text = "".join(texts).strip()
        avg = logprob_sum / weight if weight else 0.0
        return Recognition(text, tuple(words), float(avg), info.language or (wlang or ""))

    def warm_up(self, language: str = "en") -> None:
        """Load (and verify) the model for ``language`` and run one short decode."""
        self.recognize(np.zeros(16000, dtype=np.float32), language=language)
