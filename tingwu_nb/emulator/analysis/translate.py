"""Offline translation for the emulator: which pairs it serves, and translating final sentences.

Two routes (spec offline-engine §6 and its last section):

* **text** — the offline language model (``LLMEngine.translate``) translates the recognised
  sentence text. Its pairs are the static table :func:`llm_translation_targets`: one side must
  be Chinese or English, the model's strong languages (zh->en very good, en->zh fair, ja/de
  weak), so ``en``/``cn`` go into every other target and ``yue``/``ja``/``ko``/``de``/``fr``/``ru``
  into ``cn`` and ``en`` only;
* **speech** — without the model (``analysis_engine="extractive"`` or the model not prepared),
  Whisper's ``task="translate"`` turns a sentence's *audio* into English: any source but ``en``
  -> ``en``.

A pair neither route serves is refused at CreateTask (:func:`unsupported_message` names the
pairs that are served). For ``multilingual``/``fspk`` the source of each sentence is its
detected language (:func:`sentence_language`), so a target must be served from every language
the task may detect; a sentence already in the target language is passed through unchanged.
:class:`Translator` does the blocking work for a batch of final sentences; the caller runs it on
the analysis worker (:mod:`tingwu_nb.emulator.realtime_translation`). Decoding is greedy, so the
same text gives the same translation.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from tingwu_nb.contract.params import LANGUAGE_HINTS, TARGET_LANGUAGES
from tingwu_nb.emulator.engine.textnorm import script_of

__all__ = [
    "LLM_STRONG_LANGUAGES",
    "LLM_TEXT_LANGUAGES",
    "Translator",
    "detectable_languages",
    "llm_translation_targets",
    "sentence_language",
    "supported_targets",
    "unsupported_directions",
    "unsupported_message",
]

log = logging.getLogger("tingwu_nb.emulator.analysis")

#: Languages the offline language model translates text between (TARGET_LANGUAGES plus yue as a source).
LLM_TEXT_LANGUAGES = frozenset({"cn", "en", "ja", "ko", "de", "fr", "ru", "yue"})
#: The model's strong languages (offline-engine, last section: zh->en very good, en->zh fair,
#: ja/de weak): a pair is served only when one side is one of these.
LLM_STRONG_LANGUAGES = frozenset({"cn", "en"})
_TARGETS = ("cn", "en", "ja", "ko", "de", "fr", "ru")  # contract TARGET_LANGUAGES, in its order
#: Languages a multilingual sentence is decoded in without LanguageHints (the speech engine's
#: DEFAULT_CANDIDATES zh/en/ja/ko as Tingwu codes).
_MULTILINGUAL_DEFAULT = ("cn", "en", "ja", "ko")
_SPACED_STOPWORDS = {
    "en": {"the", "and", "is", "are", "we", "to", "of", "will", "this", "that", "you", "it", "before"},
    "de": {"der", "die", "das", "und", "ist", "wir", "nicht", "ich", "ein", "eine", "zu", "mit", "vor"},
    "fr": {"le", "la", "les", "et", "est", "nous", "je", "pas", "des", "une", "un", "avant", "que"},
}


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


def detectable_languages(source: str, hints: Sequence[str] | None = None) -> tuple[str, ...]:
    """The languages a sentence of a task in ``source`` may be in (Tingwu codes).

    ``fspk``: cn and en; ``multilingual``: its ``LanguageHints`` or, without hints, cn/en/ja/ko
    (what the speech engine decides among); any other source: itself.
    """
    if source == "fspk":
        return ("cn", "en")
    if source == "multilingual":
        known = tuple(dict.fromkeys(h for h in hints or () if h in LANGUAGE_HINTS))
        return known or _MULTILINGUAL_DEFAULT
    return (source,)


def supported_targets(source: str, *, llm: bool, hints: Sequence[str] | None = None) -> frozenset[str]:
    """The TargetLanguages a task in ``source`` may ask for (``llm``: the language model is the engine).

    For ``multilingual``/``fspk``, a target must be served from every language the task may
    detect (a sentence already in the target language counts as served: it passes unchanged).
    """
    languages = detectable_languages(source, hints)
    if source in ("multilingual", "fspk"):
        served = [(llm_translation_targets(lang) if llm else frozenset({"en"})) | {lang} for lang in languages]
        return frozenset.intersection(*served) & frozenset(TARGET_LANGUAGES)
    if llm:
        return llm_translation_targets(source)
    return frozenset() if source == "en" else frozenset({"en"})


def unsupported_directions(source: str, targets: Iterable[str], *, llm: bool = False,
                           hints: Sequence[str] | None = None) -> list[str]:
    """The ``targets`` the emulator cannot produce from ``source``, in the order given."""
    served = supported_targets(source, llm=llm, hints=hints)
    return [t for t in targets if t not in served]


def unsupported_message(source: str, bad: Sequence[str], *, llm: bool, hints: Sequence[str] | None = None) -> str:
    """The Emulator.UnsupportedTranslation message: what was refused and the pairs served from ``source``."""
    served = supported_targets(source, llm=llm, hints=hints)
    names = ", ".join(t for t in _TARGETS if t in served) or "none"
    route = ("the offline language model translates text when Chinese or English is one side of the pair"
             if llm else
             "without the offline language model (analysis_engine='extractive', or the model not prepared: "
             "`tingwu-nb prepare-models`) the emulator translates speech into English only (Whisper translate)")
    scope = f" with LanguageHints {list(hints)}" if source == "multilingual" and hints else ""
    return (f"The emulator cannot translate {source} -> {', '.join(bad)}: {route}. "
            f"Supported from {source}{scope}: {names}. The cloud supports more pairs.")


def sentence_language(text: str, candidates: Sequence[str]) -> str:
    """The language of one recognised sentence among ``candidates`` (Tingwu codes), by script.

    Kana -> ja, Hangul -> ko, Han -> cn (yue when only yue is a candidate, ja when only ja is),
    Cyrillic -> ru, Latin -> en/de/fr by a few function words. Falls back to the first candidate.
    """
    counts: dict[str, int] = {}
    for ch in text:
        script = script_of(ch)
        if script is not None:
            counts[script] = counts.get(script, 0) + 1
    wanted = [("kana", ("ja",)), ("hangul", ("ko",)), ("han", ("cn", "yue", "ja")), ("cyrillic", ("ru",)),
              ("latin", ("en", "de", "fr"))]
    for script, langs in sorted(wanted, key=lambda w: -counts.get(w[0], 0)):
        if not counts.get(script):
            break
        if script == "kana" and "ja" not in candidates:
            continue
        options = [lang for lang in langs if lang in candidates]
        if script == "latin" and len(options) > 1:
            words = re.findall(r"[^\W\d_]+", text.lower())
            return max(options, key=lambda lang: sum(w in _SPACED_STOPWORDS[lang] for w in words))
        if options:
            return options[0]
    return candidates[0]


class Translator:
    """Translates final sentences into every target (blocking; run it on the analysis worker).

    Args:
        source: the task's SourceLanguage.
        targets: Translation.TargetLanguages, already checked by :func:`unsupported_directions`.
        hints: Input.LanguageHints (multilingual only).
        text_engine: returns the analysis engine (``AnalysisService.engine``) for the text route;
            ``None`` selects the speech route (Whisper, English only).
        speech_engine: the emulator's SpeechEngine (speech route, and ``en`` when the analysis
            engine turns out unable to serve a pair, e.g. the model failed to load).
        sample_rate: rate of the int16 sentence audio.
    """

    def __init__(self, *, source: str, targets: Sequence[str], hints: Sequence[str] | None = None,
                 text_engine: Callable[[], Any] | None, speech_engine: Any, sample_rate: int) -> None:
        self.source = source
        self.targets = tuple(targets)
        self.hints = tuple(hints or ())
        self.candidates = detectable_languages(source, self.hints)
        self.text_engine = text_engine
        self.speech_engine = speech_engine
        self.sample_rate = sample_rate

    @property
    def uses_text(self) -> bool:
        """True when sentences are translated from their text (the language-model route)."""
        return self.text_engine is not None

    def language_of(self, text: str) -> str:
        """The source language of one sentence (the task's, or the detected one for multilingual/fspk)."""
        return self.candidates[0] if len(self.candidates) == 1 else sentence_language(text, self.candidates)

    def translate(self, texts: Sequence[str], audio: Sequence[np.ndarray | None] = (),
                  targets: Sequence[str] | None = None) -> list[dict[str, str]]:
        """Target -> translation for each sentence, in order (one engine call per language pair).

        ``audio`` (the sentences' int16 samples) is needed by the speech route only; ``targets``
        (default: all of the task's) lets a caller send one language before computing the next.
        """
        audio = list(audio) or [None] * len(texts)
        out: list[dict[str, str]] = [{} for _ in texts]
        langs = [self.language_of(t) for t in texts]
        engine = self.text_engine() if self.text_engine is not None else None
        for target in self.targets if targets is None else targets:
            for lang in dict.fromkeys(langs):
                rows = [i for i, lg in enumerate(langs) if lg == lang]
                if lang == target:
                    results = [texts[i] for i in rows]
                elif engine is not None and target in engine.translation_targets(lang):
                    results = engine.translate([texts[i] for i in rows], lang, target)
                elif target == "en":
                    results = [self._speech_to_english(audio[i]) for i in rows]
                else:
                    log.warning("translation engine %s cannot translate %s -> %s; sentences left untranslated",
                                getattr(engine, "name", None), lang, target)
                    results = [""] * len(rows)
                for i, text in zip(rows, results):
                    out[i][target] = text.strip()
        return out

    def _speech_to_english(self, audio: np.ndarray | None) -> str:
        if audio is None or not len(audio):
            return ""
        result = self.speech_engine.recognize(audio, language=self.source, sample_rate=self.sample_rate,
                                              hints=self.hints or None, task="translate")
        return result.text
