"""The load-test speech engine: sentences found by energy, labelled with their length, no words.

For measuring a client and its transport without paying for recognition
(``EmulatorConfig(speech_engine="loadtest")``, ``tingwu-nb emulator --speech-engine loadtest``).
Nothing is recognised and no model is loaded (no Whisper, no silero, no onnxruntime import):

* sentences are segmented by :class:`~tingwu_nb.emulator.engine.recognizer.StreamingRecognizer`
  with its energy VAD (:class:`~tingwu_nb.emulator.engine.recognizer.EnergyVad`: 32 ms windows
  above -40 dBFS RMS are speech),
  so SentenceBegin / SentenceEnd times, ``max_sentence_silence`` and the 15 s sentence cut behave
  as with the real engine;
* every Final's text is the label ``"[speech 2.4 s]"`` — the sentence's length in seconds with
  one decimal (``"[speech {seconds:.1f} s]"``, see :func:`speech_label`); interim results
  (OutputLevel 2, one per second of an open sentence) carry the same label for the audio of the
  sentence so far; ``words`` is always empty and ``confidence`` 0.0 (nothing was recognised);
* speech translation on such a task gets the same labels; post-processing works on them
  (the Transcription file lists the labelled sentences).

The labels are real measurements of the audio, never invented words: a caller can check the
sentence count and times, not the text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tingwu_nb.emulator.engine.recognizer import StreamingRecognizer

__all__ = ["LoadTestEngine", "LoadTestRecognition", "LoadTestRecognizer", "speech_label"]


def speech_label(seconds: float) -> str:
    """The text of a load-test result spanning ``seconds`` of audio: ``"[speech 2.4 s]"``."""
    return f"[speech {seconds:.1f} s]"


class LoadTestRecognition:
    """What :meth:`LoadTestEngine.recognize` returns: the fields the recogniser reads of a
    :class:`~tingwu_nb.emulator.engine.engine.Recognition` (label text, no words, confidence 0)."""

    __slots__ = ("language", "text")

    words: tuple = ()
    confidence = 0.0
    avg_logprob = float("-inf")
    passes = 0
    tokens = 0

    def __init__(self, text: str, language: str) -> None:
        self.text = text
        self.language = language

    def __repr__(self) -> str:
        return f"LoadTestRecognition({self.text!r})"


class LoadTestEngine:
    """Stands in for :class:`~tingwu_nb.emulator.engine.engine.SpeechEngine` on a load-test
    emulator: ``recognize`` labels the audio with its length, loads nothing and counts calls.

    Pass it wherever the emulator takes an engine; :class:`LoadTestRecognizer` is the streaming
    recogniser the emulator builds for it.
    """

    name = "loadtest"

    def __init__(self) -> None:
        self.decodes = 0  # recognize() calls (finals and interims)
        self.audio_s = 0.0  # audio seconds labelled

    def __repr__(self) -> str:
        return f"LoadTestEngine(decodes={self.decodes}, audio_s={self.audio_s:.1f})"

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
    ) -> LoadTestRecognition:
        """Label ``audio`` (mono, at ``sample_rate``) with its length; the other arguments are
        accepted for :class:`SpeechEngine` compatibility and ignored. Audio under 0.1 s gets no
        text (like the real engine, whose recogniser then emits no Final)."""
        seconds = len(audio) / sample_rate
        self.decodes += 1
        self.audio_s += seconds
        return LoadTestRecognition(speech_label(seconds) if seconds >= 0.1 else "", language)

    def warm_up(self, language: str = "en") -> None:
        """Nothing to load (kept for :class:`SpeechEngine` compatibility)."""


class LoadTestRecognizer(StreamingRecognizer):
    """:class:`StreamingRecognizer` with the energy VAD and a :class:`LoadTestEngine`: the same
    interface (``feed(pcm, skip_interim=...)``, ``finish()``, ``segments()``) and events
    (SpeechStart / Interim / Final), with labelled texts and no words.

    ``engine`` must be a :class:`LoadTestEngine` (one is made if ``None``); ``hotwords`` and
    ``language_hints`` are accepted and have no effect.
    """

    def __init__(self, engine: LoadTestEngine | None = None, **options: Any) -> None:
        engine = engine if engine is not None else LoadTestEngine()
        options["vad"] = "energy"
        super().__init__(engine, **options)  # type: ignore[arg-type]  # duck-typed SpeechEngine
