"""Offline translation for the emulator: speech -> English with Whisper's ``translate`` task.

The only neural translation that ships offline is Whisper's (spec offline-engine §6): it turns
speech in any supported language into English text. Other directions (into cn, ja, ko, de,
fr, ru) are refused at CreateTask with a clear message rather than answered with a poor word
gloss. Each final sentence is translated from its own audio right after its SentenceEnd.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

__all__ = ["SentenceTranslator", "unsupported_directions"]


def unsupported_directions(source: str, targets: Iterable[str]) -> list[str]:
    """Targets the emulator cannot produce from ``source`` (everything but speech -> en)."""
    return [t for t in targets if t != "en" or source == "en"]


class SentenceTranslator:
    """Translates one sentence's audio into every target language (English only).

    Args:
        engine: the emulator's SpeechEngine (base model, ``task="translate"``).
        source_lang: the task's Tingwu SourceLanguage.
        targets: Translation.TargetLanguages; must pass :func:`unsupported_directions`.
        sample_rate: rate of the int16 audio handed to :meth:`translate`.
    """

    def __init__(self, engine: Any, *, source_lang: str, targets: Sequence[str], sample_rate: int) -> None:
        bad = unsupported_directions(source_lang, targets)
        if bad:
            raise ValueError(f"cannot translate {source_lang} into {', '.join(bad)} offline")
        self.engine = engine
        self.source_lang = source_lang
        self.targets = tuple(targets)
        self.sample_rate = sample_rate

    def translate(self, audio: np.ndarray) -> dict[str, str]:
        """Target language -> translated text of ``audio`` (blocking; call in a thread)."""
        if not len(audio):
            return {t: "" for t in self.targets}
        result = self.engine.recognize(audio, language=self.source_lang, sample_rate=self.sample_rate,
                                       task="translate")
        return {t: result.text.strip() for t in self.targets}
