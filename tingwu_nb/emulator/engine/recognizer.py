"""Pseudo-real-time sentence recognition: incremental VAD endpointing + Whisper per sentence.

:class:`StreamingRecognizer` is fed int16 PCM in chunks of any size. It scores 32 ms windows
with the silero v6 ONNX model that ships inside faster-whisper (``faster_whisper/assets``),
keeping the LSTM state and the 64-sample context between calls, and turns the scores into
sentences:

* a sentence opens when ``min_speech_ms`` of speech has accumulated after a window scored
  >= ``threshold`` -> :class:`SpeechStart` (its ``start_ms`` is the speech onset minus a pad);
* with ``interim=True`` the open sentence is re-decoded every ``interim_interval_ms`` of
  stream audio -> :class:`Interim`;
* it closes when ``max_sentence_silence_ms`` of silence (scores < ``threshold - 0.15``) follow
  speech, or it reaches ``max_sentence_ms`` (cut at the last pause when there is one) ->
  :class:`Final`, decoded by :class:`~tingwu_nb.emulator.engine.engine.SpeechEngine` inside the
  ``feed`` call that detected the end. A sentence whose decode has no text emits no Final
  (the next sentence reuses its index).

Interims are cheap single-pass decodes and finals the engine's final options (both bounded,
see :mod:`tingwu_nb.emulator.engine.decoding`); ``language_hints`` (``Input.LanguageHints``) limit
the languages a ``multilingual`` sentence may be decoded in; ``hotwords`` (a ``PhraseId`` list's
``(word, weight)`` pairs) bias every decode towards those words.

All times are milliseconds of stream audio, whatever the sample rate (8 kHz audio is upsampled
to 16 kHz for the VAD with a streaming FIR; the engine upsamples each sentence itself).
``vad="energy"`` selects a documented fallback that thresholds window energy (dBFS) instead of
silero; it is only meant for environments without onnxruntime.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tingwu_nb.contract.events import Word
from tingwu_nb.emulator.engine.engine import SpeechEngine
from tingwu_nb.emulator.engine.vad import WINDOW, WINDOW_MS, EnergyVad, SileroVad, Upsample2x, Vad
from tingwu_nb.errors import ParameterError

__all__ = [
    "EnergyVad",
    "Final",
    "Interim",
    "RecognizerEvent",
    "SileroVad",
    "SpeechStart",
    "StreamingRecognizer",
]



@dataclass(frozen=True)
class SpeechStart:
    """A sentence opened; ``index`` counts from 0, ``start_ms`` is its onset."""

    index: int
    start_ms: int


@dataclass(frozen=True)
class Interim:
    """Unstable text of the open sentence after ``time_ms`` of stream audio."""

    index: int
    time_ms: int
    text: str
    words: tuple[Word, ...]


@dataclass(frozen=True)
class Final:
    """The fixed text of sentence ``index`` spanning ``start_ms``..``end_ms``."""

    index: int
    start_ms: int
    end_ms: int
    text: str
    words: tuple[Word, ...]
    confidence: float


RecognizerEvent = SpeechStart | Interim | Final


class StreamingRecognizer:
    """Turns a PCM stream into SpeechStart / Interim / Final events, sentence by sentence.

    Feed audio with :meth:`feed` as it arrives and send the returned events on; call
    :meth:`finish` at end of stream. :meth:`segments` gives the spans of every Final for
    diarization (keep the stream audio yourself and cut it with these spans).
    """

    def __init__(
        self,
        engine: SpeechEngine,
        *,
        language: str = "en",
        sample_rate: int = 16000,
        interim: bool = False,
        interim_interval_ms: int = 1000,
        max_sentence_silence_ms: int = 800,
        max_sentence_ms: int = 15000,
        vad: str = "silero",
        threshold: float = 0.5,
        min_speech_ms: int = 96,
        pad_ms: int = 300,
        language_hints: Sequence[str] | None = None,
        hotwords: Sequence[tuple[str, int]] = (),
    ) -> None:
        if sample_rate not in (8000, 16000):
            raise ParameterError("Input.SampleRate", "must be 8000 or 16000", sample_rate)
        if vad not in ("silero", "energy"):
            raise ParameterError("vad", "must be 'silero' or 'energy'", vad)
        self.engine = engine
        self.language = language
        self.language_hints = tuple(language_hints or ())
        self.hotwords = tuple(hotwords)  # (word, weight) pairs biasing every decode (PhraseId)
        self.sample_rate = sample_rate
        self.interim = interim
        self.interim_interval_ms = max(WINDOW_MS, int(interim_interval_ms))
        self.max_sentence_silence_ms = max(WINDOW_MS, int(max_sentence_silence_ms))
        self.max_sentence_ms = max(1000, int(max_sentence_ms))
        self.threshold = threshold
        self.neg_threshold = max(threshold - 0.15, 0.01)
        self.min_speech_ms = min_speech_ms
        self.pad_ms = pad_ms
        self._vad_kind = vad
        self._vad: Vad = SileroVad() if vad == "silero" else EnergyVad()
        self._up = Upsample2x() if sample_rate == 8000 else None
        self._pending = np.zeros(0, dtype=np.float32)  # 16 kHz samples not yet scored
        self._origin_ms = 0  # where the VAD's window grid (and its state) starts: 0, then each Final's end
        self._windows = 0  # windows scored since the origin
        self._reanchored = False
        self._samples = 0  # native samples fed
        self._buf = np.zeros(0, dtype=np.int16)  # native audio from _buf_start on
        self._buf_start = 0
        self._index = 0
        self._segments: list[tuple[int, int]] = []
        self._reset_sentence()

    # -- public API -----------------------------------------------------------------------

    @property
    def audio_ms(self) -> int:
        """Milliseconds of stream audio fed so far."""
        return self._samples * 1000 // self.sample_rate

    def segments(self) -> list[tuple[int, int]]:
        """``(start_ms, end_ms)`` of every Final emitted so far, in order."""
        return list(self._segments)

    def feed(self, pcm: np.ndarray, *, skip_interim: bool = False) -> list[RecognizerEvent]:
        """Add int16 mono PCM (any length) and return the events it completes, in order.

        ``skip_interim=True`` skips the interim re-decode this call would make (a caller that is
        behind real time passes it: the text would be stale at once); finals are unaffected.
        """
        x = np.asarray(pcm)
        if x.ndim != 1:
            raise ParameterError("audio", f"expected mono 1-D PCM, got shape {x.shape}")
        if x.dtype != np.int16:
            x = np.clip(np.round(x * 32768.0) if x.dtype.kind == "f" else x, -32768, 32767).astype(np.int16)
        if x.size == 0:
            return []
        self._buf = np.concatenate([self._buf, x])
        self._samples += x.size
        f = x.astype(np.float32) / 32768.0
        self._pending = np.concatenate([self._pending, self._up(f) if self._up else f])
        events: list[RecognizerEvent] = []
        self._score(events)
        if self.interim and not skip_interim and self._open and self._temp_end is None:
            now = self.audio_ms
            if now - self._last_interim_ms >= self.interim_interval_ms:
                self._last_interim_ms = now
                events.extend(self._interim(now))
        self._trim()
        return events

    def _score(self, events: list[RecognizerEvent]) -> None:
        """Score every whole window pending; after a Final the VAD restarts at its end
        (:meth:`_reanchor`), so the windows after it are scored again from there."""
        while (n := len(self._pending) // WINDOW):
            windows = self._pending[: n * WINDOW].reshape(n, WINDOW)
            self._pending = self._pending[n * WINDOW:]
            for p in self._vad(windows):
                self._step(float(p), events)
                if self._reanchored:
                    self._reanchored = False
                    break

    def _reanchor(self, at_ms: int) -> None:
        """Restart the VAD (fresh state, window grid) at ``at_ms``, the end of the Final just emitted,
        and queue the audio from there again. What follows a Final is then a function of the audio
        after it alone: a new connection that resumes at that point (the emulator's
        ``reconnect_resume="last_final"``) recognises exactly what one unbroken stream would."""
        self._vad = SileroVad() if self._vad_kind == "silero" else EnergyVad()
        self._up = Upsample2x() if self.sample_rate == 8000 else None
        start = max(0, self._ms_to_sample(at_ms) - self._buf_start)
        f = self._buf[start:].astype(np.float32) / 32768.0  # every sample fed since, not whole ms only
        self._pending = self._up(f) if self._up else f
        self._origin_ms, self._windows = at_ms, 0
        self._reanchored = True

    def _grid_ms(self) -> int:
        """Stream time of the next window to score."""
        return self._origin_ms + self._windows * WINDOW_MS

    def finish(self) -> list[RecognizerEvent]:
        """End of stream: score the remainder, close the open sentence; nothing if only silence."""
        events: list[RecognizerEvent] = []
        if len(self._pending):
            tail = np.zeros((1, WINDOW), dtype=np.float32)
            tail[0, : len(self._pending)] = self._pending
            self._pending = np.zeros(0, dtype=np.float32)
            self._step(float(self._vad(tail)[0]), events)
        if self._triggered and not self._open and self._speech_windows * WINDOW_MS >= self.min_speech_ms // 2:
            self._open_sentence(events)
        if self._open:
            end = self._temp_end if self._temp_end is not None else self._grid_ms()
            self._finalise(min(end + self.pad_ms, self.audio_ms), events)
        self._reset_sentence()
        return events

    # -- internals --------------------------------------------------------------------------

    def _reset_sentence(self) -> None:
        self._triggered = False  # VAD saw speech (sentence may not be confirmed yet)
        self._open = False  # SpeechStart emitted
        self._onset_ms = 0
        self._start_ms = 0
        self._speech_windows = 0
        self._temp_end: int | None = None  # ms where the current silence run began
        self._last_pause: int | None = None  # ms inside the latest >= 96 ms pause of this sentence
        self._last_interim_ms = 0

    def _step(self, p: float, events: list[RecognizerEvent]) -> None:
        t = self._grid_ms()  # start of this window, ms
        self._windows += 1
        if not self._triggered:
            if p >= self.threshold:
                self._triggered = True
                self._onset_ms = t
                self._speech_windows = 1
                self._temp_end = None
                self._last_pause = None
            return
        if p >= self.threshold:
            self._speech_windows += 1
            if self._temp_end is not None:
                if t - self._temp_end >= 3 * WINDOW_MS:
                    self._last_pause = (self._temp_end + t) // 2
                self._temp_end = None
            if not self._open and self._speech_windows * WINDOW_MS >= self.min_speech_ms:
                self._open_sentence(events)
        elif p < self.neg_threshold:
            if self._temp_end is None:
                self._temp_end = t
            silence = t + WINDOW_MS - self._temp_end
            if silence >= self.max_sentence_silence_ms or (not self._open and silence >= 3 * WINDOW_MS):
                if self._open:
                    self._finalise(self._temp_end + self.pad_ms, events)
                self._reset_sentence()
                return
        if self._open and t + WINDOW_MS - self._start_ms >= self.max_sentence_ms:
            self._cut(t + WINDOW_MS, events)

    def _open_sentence(self, events: list[RecognizerEvent]) -> None:
        prev_end = self._segments[-1][1] if self._segments else 0
        self._start_ms = max(prev_end, self._onset_ms - self.pad_ms, 0)
        self._open = True
        self._last_interim_ms = self.audio_ms
        events.append(SpeechStart(self._index, self._start_ms))

    def _cut(self, now_ms: int, events: list[RecognizerEvent]) -> None:
        """Close an over-long sentence at its last pause (or now) and open the next one there."""
        cut = self._temp_end if self._temp_end is not None else self._last_pause
        if cut is None or cut <= self._start_ms + 1000:
            cut = now_ms
        in_silence = self._temp_end is not None
        self._finalise(cut, events)
        self._reset_sentence()
        if not in_silence:
            self._triggered = True
            self._onset_ms = cut
            self._speech_windows = max(1, (now_ms - cut) // WINDOW_MS)
            self._open_sentence(events)
            self._start_ms = cut

    def _ms_to_sample(self, ms: int) -> int:
        return ms * self.sample_rate // 1000

    def _slice(self, start_ms: int, end_ms: int) -> np.ndarray:
        a = max(0, self._ms_to_sample(start_ms) - self._buf_start)
        b = max(a, self._ms_to_sample(end_ms) - self._buf_start)
        return self._buf[a:b]

    def _decode(self, start_ms: int, end_ms: int, *, interim: bool) -> tuple[str, tuple[Word, ...], float]:
        audio = self._slice(start_ms, end_ms)
        rec = self.engine.recognize(audio, language=self.language, sample_rate=self.sample_rate,
                                    hints=self.language_hints, interim=interim, hotwords=self.hotwords)
        words = []
        for w in rec.words:
            ws = min(end_ms, start_ms + int(round(w.start_s * 1000)))
            we = min(end_ms, max(ws, start_ms + int(round(w.end_s * 1000))))
            words.append(Word(w.text, ws, we))
        return rec.text, tuple(words), rec.confidence

    def _interim(self, now_ms: int) -> list[RecognizerEvent]:
        text, words, _ = self._decode(self._start_ms, now_ms, interim=True)
        return [Interim(self._index, now_ms, text, words)] if text else []

    def _finalise(self, end_ms: int, events: list[RecognizerEvent]) -> None:
        """Decode the closing sentence and append its Final, unless it holds no text.

        A sentence without text (silence or noise the VAD let through) emits nothing and its
        index is reused by the next sentence, so every Final has text and indexes stay dense.
        """
        end_ms = max(self._start_ms + WINDOW_MS, min(end_ms, self.audio_ms))
        text, words, confidence = self._decode(self._start_ms, end_ms, interim=False)
        if not text:  # the engine never returns blank text: empty = silence or noise
            return
        events.append(Final(self._index, self._start_ms, end_ms, text, words, confidence))
        self._segments.append((self._start_ms, end_ms))
        self._index += 1
        self._reanchor(end_ms)

    def _trim(self) -> None:
        """Drop buffered audio that no open or future sentence can reach."""
        if self._open:
            keep_from = self._start_ms
        elif self._triggered:
            keep_from = self._onset_ms - self.pad_ms
        else:
            keep_from = self._grid_ms() - self.pad_ms - 2 * WINDOW_MS
        drop = self._ms_to_sample(max(0, keep_from)) - self._buf_start
        if drop > 0:
            self._buf = self._buf[drop:]
            self._buf_start += drop
