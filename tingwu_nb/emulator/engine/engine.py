"""Offline speech recognition for the emulator: faster-whisper on verified local weights.

:class:`SpeechEngine` turns one utterance (already segmented by the caller, see
:mod:`tingwu_nb.emulator.engine.recognizer`) into text with word timings. Models load lazily, once per
name, under a lock; they always come from a local directory returned by
:func:`tingwu_nb.emulator.engine.models.model_path` with ``HF_HUB_OFFLINE=1`` set, so nothing is ever
downloaded.

English uses ``tiny.en`` by default (as accurate as ``base`` on the sample meeting and 2-3x
faster; numbers on :class:`EngineConfig`); every other Tingwu language, and speech->English
translation, uses the multilingual ``base``.

Every decode is bounded (:mod:`tingwu_nb.emulator.engine.decoding`: one greedy pass, a token budget
proportional to the audio, loops cut) and its text normalised (the language's scripts only,
Chinese in Simplified). :attr:`SpeechEngine.stats` counts the work done.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import astuple, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from tingwu_nb.contract.params import whisper_language  # the one Tingwu -> Whisper code map
from tingwu_nb.emulator.engine.decoding import FINAL, INTERIM, Decoded, DecodeOptions, decode, hotword_prompt
from tingwu_nb.emulator.engine.models import MODELS, model_path
from tingwu_nb.errors import ModelError, ParameterError

__all__ = [
    "DEFAULT_CANDIDATES",
    "DecodeGate",
    "DecodeStats",
    "EngineConfig",
    "Recognition",
    "RecognizedWord",
    "SpeechEngine",
    "to_float16k",
    "whisper_language",
]

#: ``multilingual`` without LanguageHints decides among the Tingwu languages base can write.
DEFAULT_CANDIDATES = ("zh", "en", "ja", "ko")


@dataclass(frozen=True)
class EngineConfig:
    """How the engine decodes.

    ``english_model`` is ``tiny.en``, chosen by ``benchmarks/bench_engine.py`` (54 s sample
    meeting streamed in 100 ms chunks, int8, 2 threads, greedy): at 16 kHz tiny.en WER 9.7 %
    vs base 10.5 % (espeak's voices trip both about equally; the bar is 15 %), RTF 0.13 vs 0.33
    and finalisation latency 0.56 s vs 1.46 s mean. At 8 kHz neither meets 15 % (tiny.en 24.2 %,
    base 26.6 %), so 8 kHz English stays on ``english_model`` as well. (With the bounded
    one-pass decoder both reach 9.7 % at RTF 0.07 / 0.12, finalisation 0.32 / 0.51 s.)

    ``interim`` and ``final`` are the :class:`~tingwu_nb.emulator.engine.decoding.DecodeOptions` of
    interim re-decodes and of finals; both default to one pass at temperature 0 (a sampled
    retry changed nothing on the sample meeting and only traded one espeak-CJK error for another).
    ``beam_size`` applies to both (it replaces their own ``beam_size``).

    ``num_workers`` decodes run in parallel (CTranslate2 ``inter_threads``: that many model
    replicas sharing the weights), each on ``cpu_threads`` threads; ``decode_slots`` (default
    ``num_workers``) is how many decodes the :class:`DecodeGate` lets in at once. Measured with
    ``benchmarks/bench_emulator_capacity.py`` on two cores (8 concurrent 1x sessions, p95
    end-of-speech -> SentenceEnd, OutputLevel 1 / 2): 1 worker x 2 threads without the gate
    4.75 / 5.45 s (decodes from all streams interleaved in one CTranslate2 queue, 0.8-1.1 cores
    busy); with the gate 2.62 / 2.32 s; 2 workers x 1 thread 1.50 / 1.82 s.

    ``model_dir`` replaces the packaged weights with a user directory for every language
    (verified only when the model name is a known one); ``cache_dir`` is where the split
    ``base`` model is assembled (default ``$TINGWU_NB_CACHE`` or ``~/.cache/tingwu_nb/models``).
    """

    english_model: str = "tiny.en"
    other_model: str = "base"
    compute_type: str = "int8"
    cpu_threads: int = 1
    num_workers: int = 2
    decode_slots: int | None = None
    beam_size: int = 1
    model_dir: Path | None = None
    cache_dir: Path | None = None
    interim: DecodeOptions = INTERIM
    final: DecodeOptions = FINAL


class DecodeGate:
    """At most ``slots`` decodes at a time, finals first, interims shed when the decoder is busy.

    A final waits for a free slot, in arrival order. An interim takes a free slot only while no
    final waits; otherwise it waits (at most ``slots`` interims wait) until a slot frees or a
    final starts waiting, and gives up then, as it does at once when ``slots`` interims already
    wait. A given-up interim is *skipped*: its text would be stale anyway, the next one comes
    ``interim_interval_ms`` later. With one stream at a time nothing ever waits, so a single
    stream's results never depend on the gate.

    Call :meth:`acquire` before a decode and, if it returned True, :meth:`release` after it.
    """

    def __init__(self, slots: int = 1) -> None:
        if slots < 1:
            raise ParameterError("slots", "must be at least 1", slots)
        self.slots = slots
        self.busy = 0
        self.skipped = 0
        self.finals_waiting: list[object] = []  # arrival order
        self.interims_waiting = 0
        self._cond = threading.Condition()

    def __repr__(self) -> str:
        return (f"<DecodeGate busy={self.busy}/{self.slots} finals_waiting={len(self.finals_waiting)} "
                f"interims_waiting={self.interims_waiting} skipped={self.skipped}>")

    def acquire(self, *, interim: bool) -> bool:
        """Take a slot (blocking for a final); False = this interim is skipped, do not decode."""
        with self._cond:
            if not interim:
                me = object()
                self.finals_waiting.append(me)
                self._cond.notify_all()  # waiting interims give up
                try:
                    while self.busy >= self.slots or self.finals_waiting[0] is not me:
                        self._cond.wait()
                finally:
                    self.finals_waiting.remove(me)
                    self._cond.notify_all()
                self.busy += 1
                return True
            if self.busy < self.slots and not self.finals_waiting:
                self.busy += 1
                return True
            if self.finals_waiting or self.interims_waiting >= self.slots:
                self.skipped += 1
                return False
            self.interims_waiting += 1
            try:
                while self.busy >= self.slots and not self.finals_waiting:
                    self._cond.wait()
            finally:
                self.interims_waiting -= 1
            if self.finals_waiting:
                self.skipped += 1
                return False
            self.busy += 1
            return True

    def release(self) -> None:
        """Free the slot taken by :meth:`acquire`."""
        with self._cond:
            self.busy -= 1
            self._cond.notify_all()


@dataclass(frozen=True)
class DecodeStats:
    """Decode work of one engine: calls, decoder passes, generated tokens, audio seconds decoded.

    ``retries`` counts passes beyond the first per 30 s window (temperature fallback).
    ``final_s`` / ``interim_s`` are wall seconds spent decoding finals / interims (summed over
    threads, so they exceed the span when decodes overlap). ``interims_skipped`` counts interims
    the :class:`DecodeGate` shed (not in ``decodes``); ``final_wait_s`` the seconds finals waited
    for a decode slot.
    Subtract two snapshots of :attr:`SpeechEngine.stats` to measure a span.
    """

    decodes: int = 0
    interim_decodes: int = 0
    passes: int = 0
    tokens: int = 0
    audio_s: float = 0.0
    loop_cuts: int = 0
    retries: int = 0
    final_s: float = 0.0
    interim_s: float = 0.0
    interims_skipped: int = 0
    final_wait_s: float = 0.0

    def __sub__(self, other: DecodeStats) -> DecodeStats:
        return DecodeStats(*(a - b for a, b in zip(astuple(self), astuple(other))))


@dataclass(frozen=True)
class RecognizedWord:
    """One word, times in seconds from the start of the audio given to ``recognize``."""

    text: str
    start_s: float
    end_s: float
    probability: float


@dataclass(frozen=True)
class Recognition:
    """The decoded text of one utterance; ``language`` is Whisper's code (``en``, ``zh``...).

    ``passes`` and ``tokens`` are the decoder calls and generated tokens it cost.
    """

    text: str
    words: tuple[RecognizedWord, ...]
    avg_logprob: float
    language: str
    passes: int = 0
    tokens: int = 0

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
    :class:`~tingwu_nb.emulator.engine.recognizer.StreamingRecognizer`. Call :meth:`warm_up` at
    start-up to pay the model load (and sha256 check) before the first stream arrives.
    """

    def __init__(self, config: EngineConfig = EngineConfig()) -> None:  # noqa: B008 (frozen value)
        self.config = config
        self._options = {kind: replace(options, beam_size=config.beam_size)  # keyed by ``interim``
                         for kind, options in ((True, config.interim), (False, config.final))}
        self._models: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._stats = DecodeStats()
        self._stats_lock = threading.Lock()
        self.gate = DecodeGate(config.decode_slots or config.num_workers)

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
                        cpu_threads=self.config.cpu_threads, num_workers=self.config.num_workers,
                        local_files_only=True,
                    )
                except (RuntimeError, ValueError, OSError) as exc:
                    raise ModelError(f"could not load speech model {name!r} from {path}: {exc}") from exc
                self._models[name] = model
        return model

    def candidates(self, language: str, hints: Sequence[str] | None = None) -> tuple[str, ...]:
        """Whisper languages a sentence in Tingwu ``language`` may be decoded in, most likely first.

        ``cn``/``yue`` -> ``zh`` (base has no Cantonese token), ``fspk`` -> ``zh``/``en``,
        ``multilingual`` -> its ``LanguageHints`` (``cn``/``yue`` -> ``zh``; unknown hints are
        ignored) or, without hints, :data:`DEFAULT_CANDIDATES`. One entry = no detection.
        """
        code = language.lower()
        if code == "fspk":
            return ("zh", "en")
        fixed = whisper_language(code)
        if fixed is not None:
            return (fixed,)
        mapped: list[str] = []
        for hint in hints or ():
            try:
                w = whisper_language(str(hint))
            except ParameterError:
                continue
            if w is not None and w not in mapped:
                mapped.append(w)
        return tuple(mapped) or DEFAULT_CANDIDATES

    def recognize(
        self,
        audio: np.ndarray,
        *,
        language: str,
        sample_rate: int = 16000,
        task: str = "transcribe",
        hints: Sequence[str] | None = None,
        interim: bool = False,
        hotwords: Sequence[tuple[str, int]] = (),
    ) -> Recognition:
        """Decode one utterance, with bounded work (see :mod:`tingwu_nb.emulator.engine.decoding`).

        Args:
            audio: mono float32 in [-1, 1] or int16 at ``sample_rate`` (8 kHz is upsampled).
            language: Tingwu code (cn, en, yue, ja, ko, fspk, multilingual).
            sample_rate: rate of ``audio`` in Hz.
            task: ``"transcribe"`` or ``"translate"`` (speech -> English).
            hints: ``Input.LanguageHints`` (used with ``multilingual`` only).
            interim: a re-decode of an open sentence (``config.interim`` options) rather than
                a final (``config.final``).
            hotwords: a hot-word list as ``(word, weight)`` pairs (Tingwu weights -6..5), shown
                to the decoder as previous text (:func:`~tingwu_nb.emulator.engine.decoding.hotword_prompt`
                says how weights map); it costs its tokens from the decode's budget.

        Returns:
            The text (normalised: right script, Chinese in Simplified, never blank) and its
            non-blank words, word times in seconds relative to the start of ``audio``.
        """
        if task not in ("transcribe", "translate"):
            raise ParameterError("task", "must be 'transcribe' or 'translate'", task)
        name = self.model_name_for(language, sample_rate, task)
        candidates = self.candidates(language, hints)
        x = to_float16k(audio, sample_rate)
        model = self.load(name)
        if name in MODELS and MODELS[name].languages == "en":
            candidates = ("en",)
        if x.size < 1600:  # < 0.1 s: nothing Whisper can use
            return Recognition("", (), 0.0, candidates[0])
        queued = time.perf_counter()
        if not self.gate.acquire(interim=bool(interim)):
            with self._stats_lock:
                self._stats = replace(self._stats, interims_skipped=self._stats.interims_skipped + 1)
            return Recognition("", (), 0.0, candidates[0])
        began = time.perf_counter()
        try:
            out = decode(model, x, language=candidates[0] if len(candidates) == 1 else None,
                         candidates=candidates, task=task, options=self._options[bool(interim)],
                         prompt_text=hotword_prompt(hotwords))
        finally:
            self.gate.release()
        self._count(out, x.size / 16000, interim, time.perf_counter() - began, began - queued)
        words = tuple(RecognizedWord(t, s, e, p) for t, s, e, p in out.words)
        return Recognition(out.text, words, out.avg_logprob, out.language, out.passes, out.tokens)

    def _count(self, out: Decoded, seconds: float, interim: bool, took_s: float, waited_s: float) -> None:
        with self._stats_lock:
            s = self._stats
            self._stats = DecodeStats(
                s.decodes + 1, s.interim_decodes + int(interim), s.passes + out.passes,
                s.tokens + out.tokens, s.audio_s + seconds, s.loop_cuts + int(out.loop_cut),
                s.retries + out.retries, s.final_s + (0.0 if interim else took_s),
                s.interim_s + (took_s if interim else 0.0), s.interims_skipped,
                s.final_wait_s + (0.0 if interim else waited_s),
            )

    @property
    def stats(self) -> DecodeStats:
        """Totals over every decode of this engine so far (subtract two snapshots for a span)."""
        with self._stats_lock:
            return self._stats

    def warm_up(self, language: str = "en") -> None:
        """Load (and verify) the model for ``language`` and run one short decode."""
        self.recognize(np.zeros(16000, dtype=np.float32), language=language)
