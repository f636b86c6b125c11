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

__all__ = ["LLM_STRONG_LANGUAGES", "LLM_TEXT_LANGUAGES", "SentenceTranslator", "llm_translation_targets",
           "unsupported_directions"]

#: Languages the offline language model translates text between (TARGET_LANGUAGES plus yue as a source).
LLM_TEXT_LANGUAGES = frozenset({"cn", "en", "ja", "ko", "de", "fr", "ru", "yue"})
#: The model's strong languages (offline-engine, last section: zh->en very good, en->zh fair,
#: ja/de weak): a pair is served only when one side is one of these.
LLM_STRONG_LANGUAGES = frozenset({"cn", "en"})
_TARGETS = ("cn", "en", "ja", "ko", "de", "fr", "ru")  # contract TARGET_LANGUAGES, in its order


def llm_translation_targets(source: str) -> frozenset[str]:
    """Targets the language-model engine translates text into from ``source`` (static; loads nothing).

    ``source`` is a sentence's language as a Tingwu code (``cn``, ``en``, ``yue``, ``ja``, ``ko``,
    ``de``, ``fr``, ``ru``). A pair is served when one side is Chinese or English, the model's
    strong languages, and the target differs from the source: from ``en`` or ``cn`` every other
    target, from ``yue``/``ja``/``ko``/``de``/``fr``/``ru`` only ``cn`` and ``en``. Unknown sources
    get the empty set. ``LLMEngine.translation_targets`` returns this table.
    """
    if source not in LLM_TEXT_LANGUAGES:
        return frozenset()
    if source in LLM_STRONG_LANGUAGES:
        return frozenset(t for t in _TARGETS if t != source)
    return LLM_STRONG_LANGUAGES


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
