"""Bounded Whisper decoding: one encoder pass, a token budget, loops cut instead of paid for.

faster-whisper's ``transcribe`` may decode a window many times: up to six temperatures when
the output looks repetitive, and again after every re-seek to the last word. On espeak
Cantonese or Korean a one-second interim could take 27 s. :func:`decode` instead runs, per
30 s window:

1. one encoder pass (the language, when not fixed, is detected from that same output and
   chosen among the allowed ``candidates`` only — never a language nobody asked for — with
   English discounted, see :data:`LID_WEIGHTS`);
2. one greedy ``generate`` at temperature 0 with ``max_length`` = prompt + :func:`token_budget`
   (proportional to the audio, and smaller by the tokens of an optional text prompt such as a
   hot-word list, itself capped at :data:`PROMPT_TOKEN_CAP`), plus at most ``len(options.temperatures) - 1`` retries when
   the hypothesis loops, runs out of budget or compresses too well;
3. the looping tail of the kept hypothesis cut off (:func:`~.textnorm.find_loop`), word
   timings from one alignment pass, and the text normalised for the language (scripts it does
   not write removed, Chinese in Simplified characters, blank words dropped).

This uses faster-whisper 1.2.1's model pieces (``feature_extractor``, ``encode``,
``get_prompt``, ``add_word_timestamps``, ``model.generate``), pinned in ``pyproject.toml``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from tingwu_nb.emulator.engine.textnorm import find_loop, is_blank, keep_scripts, to_simplified

__all__ = [
    "FINAL",
    "INTERIM",
    "LID_WEIGHTS",
    "PROMPT_TOKEN_CAP",
    "DecodeOptions",
    "Decoded",
    "choose_language",
    "decode",
    "encoder_frames",
    "hotword_prompt",
    "normalise",
    "previous_text_tokens",
    "token_budget",
]

SAMPLES_PER_WINDOW = 30 * 16000
#: Whisper's decoder window (prompt + generated tokens) is 448; :func:`token_budget` keeps 8 of
#: them for the start-of-transcript sequence (at most 4 tokens) and a margin.
MAX_GENERATED = 440
#: Most tokens of previous-text prompt (``prompt_text``, e.g. hot words) one decode may carry,
#: ``<|startofprev|>`` included; faster-whisper's ``hotwords`` allows up to 223, but every
#: prompt token is paid on every decode (interims included) and taken from the budget.
PROMPT_TOKEN_CAP = 48
PREPEND = "\"'“¿([{-"
APPEND = "\"'.。,，!！?？:：”)]}、"


@dataclass(frozen=True)
class DecodeOptions:
    """How hard one decode may try.

    ``tokens_per_second`` and ``base_tokens`` set the budget (see :func:`token_budget`);
    ``temperatures`` is the whole fallback ladder (``(0.0,)`` = one pass, never sampled).
    A hypothesis is *degenerate* when it loops, exhausts its budget, or its compression ratio
    exceeds ``compression_ratio_threshold``; only then is the next temperature tried. Silence
    is ``no_speech_prob > no_speech_threshold`` with ``avg_logprob < log_prob_threshold``.

    ``encoder_pad_s=None`` encodes the whole 30 s window (the audio padded, as Whisper was trained);
    a number encodes only the audio plus that many seconds of padding (:func:`encoder_frames`): the
    encoder's cost falls with the frames (tiny.en, one thread: 0.33 s for 30 s, 0.03 s for 10 s),
    but the text may differ from a full-window decode, so only :data:`INTERIM` uses it.
    """

    temperatures: tuple[float, ...] = (0.0,)
    tokens_per_second: float = 12.0
    base_tokens: int = 10
    compression_ratio_threshold: float = 2.4
    log_prob_threshold: float = -1.0
    no_speech_threshold: float = 0.6
    repetition_penalty: float = 1.0
    no_repeat_ngram_size: int = 0
    beam_size: int = 1
    word_timestamps: bool = True
    encoder_pad_s: float | None = None


#: Interim re-decodes: one greedy pass, the encoder run on the audio + 6 s only. Interims are
#: re-decoded every second of an open sentence; on the sample meeting's sentence prefixes (56
#: decodes, tiny.en, one thread) this costs 0.16 s a decode instead of 0.49 s, the text 6.7 % WER
#: away from the full-window decode (whole sentences 8.1 % vs 8.9 % WER against the truth).
INTERIM = DecodeOptions(encoder_pad_s=6.0)
#: Finals: the same single pass (a sampled retry did not help on the sample meeting or on CJK).
FINAL = DecodeOptions()


@dataclass(frozen=True)
class Decoded:
    """The kept hypothesis of one decode and what it cost.

    ``words`` are ``(text, start_s, end_s, probability)`` relative to the audio start;
    ``passes`` counts ``generate`` calls and ``tokens`` the tokens they produced (all passes);
    ``retries`` the passes beyond the first of each window; ``loop_cut`` is true when a
    looping tail was removed; ``silence`` when the model judged the audio to hold no speech
    (text is then empty).
    """

    text: str
    words: tuple[tuple[str, float, float, float], ...]
    avg_logprob: float
    language: str
    passes: int
    tokens: int
    budget: int
    loop_cut: bool = False
    silence: bool = False
    retries: int = 0


def encoder_frames(frames: int, options: DecodeOptions = INTERIM, *, window: int = 3000) -> int:
    """Mel frames (100 per second) given to the encoder for ``frames`` frames of audio: the whole
    ``window`` when ``options.encoder_pad_s`` is None, else the audio plus that padding, rounded up
    to an even count (the encoder halves it) and at most ``window``."""
    if options.encoder_pad_s is None:
        return window
    wanted = frames + max(0, math.ceil(options.encoder_pad_s * 100))
    return min(window, wanted + wanted % 2)


def token_budget(seconds: float, options: DecodeOptions = INTERIM, *, prompt_tokens: int = 0) -> int:
    """Tokens one pass may generate for ``seconds`` of audio.

    At most :data:`MAX_GENERATED` (440) minus ``prompt_tokens``, the previous-text prompt's length
    (``<|startofprev|>`` and the text), so that prompt + budget stays inside Whisper's 448 tokens.
    """
    cap = MAX_GENERATED - max(0, prompt_tokens)
    return int(min(cap, options.base_tokens + math.ceil(options.tokens_per_second * max(0.0, seconds))))


def hotword_prompt(word_weights: Iterable[tuple[str, int]]) -> str | None:
    """The previous-text prompt for a hot-word list (``(word, weight)`` pairs), or None.

    Weights map to inclusion and order, since a prompt can favour a word but has no strength
    knob: words with weight <= 0 are left out (a prompt cannot make a word *less* likely, so
    Tingwu's -6 "avoid this word" is not emulated), the rest are joined with ", " from the
    lowest weight to the highest (ties keep list order). The highest weights sit nearest the
    transcript and survive :func:`previous_text_tokens` cutting a long list to its end.
    """
    ranked = sorted(((w, i, word.strip()) for i, (word, w) in enumerate(word_weights) if w > 0 and word.strip()))
    words = list(dict.fromkeys(word for _, _, word in reversed(ranked)))[::-1]
    return ", ".join(words) or None


def previous_text_tokens(tokenizer: Any, prompt_text: str | None, cap: int = PROMPT_TOKEN_CAP) -> list[int]:
    """``<|startofprev|>`` + the tokens of ``prompt_text``, at most ``cap`` tokens in all.

    As Whisper keeps the most recent previous text, a long prompt keeps its *end*, cut at a word
    start (a token beginning with a space) so that no word is split; ``[]`` for no text.
    """
    text = (prompt_text or "").strip()
    if not text or cap < 2:
        return []
    tokens = tokenizer.encode(" " + text)
    if len(tokens) > cap - 1:
        tokens = tokens[len(tokens) - (cap - 1):]
        while tokens and not tokenizer.decode(tokens[:1]).startswith(" "):
            tokens = tokens[1:]
    return [tokenizer.sot_prev, *tokens] if tokens else []


#: Language-ID weights when several candidates compete. Whisper base calls accented or synthetic
#: speech English far too readily: on espeak Mandarin sentences p(en)/p(zh) reached 14, while
#: on espeak English it was >= 347 (10 sentences measured). English must win by 50x.
LID_WEIGHTS: Mapping[str, float] = MappingProxyType({"en": 1 / 50})


def choose_language(probabilities: Sequence[tuple[str, float]], candidates: Sequence[str],
                    weights: Mapping[str, float] = LID_WEIGHTS) -> tuple[str, float]:
    """The best language among ``candidates`` and its probability (0 if Whisper gave none).

    ``probabilities`` are Whisper's ``(code, p)`` pairs, codes with or without ``<|..|>``;
    each candidate's ``p`` is multiplied by ``weights.get(code, 1)`` before comparing.
    """
    wanted = list(dict.fromkeys(candidates))
    scores = {code.strip("<|>"): p for code, p in probabilities}
    best = max(wanted, key=lambda c: scores.get(c, 0.0) * weights.get(c, 1.0))
    return best, float(scores.get(best, 0.0))


def normalise(text: str, language: str, *, word: bool = False) -> str:
    """Text as the service writes it in ``language`` (Whisper code): foreign scripts removed,
    Chinese in Simplified characters, outer spaces stripped; ``""`` if nothing is left.

    A whole hypothesis (``word=False``) in zh/ja/ko must hold a letter of that language's own
    script; a single word may be Latin (an acronym inside a Chinese sentence).
    """
    text = keep_scripts(text, language, require_native=not word)
    if language == "zh":
        text = to_simplified(text)
    text = text.strip()
    return "" if is_blank(text) else text


def _compression_ratio(text: str) -> float:
    import zlib

    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


@dataclass
class _Attempt:
    tokens: list[int]
    avg_logprob: float
    no_speech_prob: float
    degenerate: bool
    cut: int | None


def _generate(model: Any, encoder_output: Any, prompt: list[int], tokenizer: Any, budget: int,
              temperature: float, options: DecodeOptions) -> _Attempt:
    from faster_whisper.transcribe import get_suppressed_tokens

    kwargs: dict[str, Any] = ({"beam_size": options.beam_size} if temperature == 0 else
                              {"beam_size": 1, "sampling_topk": 0, "sampling_temperature": temperature})
    result = model.model.generate(
        encoder_output, [prompt], max_length=len(prompt) + budget, return_scores=True,
        return_no_speech_prob=True, repetition_penalty=options.repetition_penalty,
        no_repeat_ngram_size=options.no_repeat_ngram_size, suppress_blank=True,
        suppress_tokens=get_suppressed_tokens(tokenizer, [-1]), **kwargs,
    )[0]
    tokens = [t for t in result.sequences_ids[0] if t < tokenizer.eot]
    avg = result.scores[0] * len(result.sequences_ids[0]) / (len(result.sequences_ids[0]) + 1)
    cut = find_loop(tokens)
    ratio = _compression_ratio(tokenizer.decode(tokens))
    degenerate = (cut is not None or len(result.sequences_ids[0]) >= budget
                  or ratio > options.compression_ratio_threshold)
    return _Attempt(tokens, float(avg), float(result.no_speech_prob), degenerate, cut)


def _decode_window(model: Any, audio: np.ndarray, offset_s: float, *, language: str | None,
                   candidates: Sequence[str], task: str, options: DecodeOptions,
                   prompt_text: str | None) -> Decoded:
    from faster_whisper.audio import pad_or_trim
    from faster_whisper.tokenizer import Tokenizer

    features = model.feature_extractor(audio)
    frames = min(features.shape[-1] - 1, model.feature_extractor.nb_max_frames)
    encoder_output = model.encode(pad_or_trim(features[:, :frames], encoder_frames(frames, options)))
    if not model.model.is_multilingual:
        language = "en"
    elif language is None:
        probabilities = model.model.detect_language(encoder_output)[0]
        language, _ = choose_language(probabilities, candidates or [probabilities[0][0].strip("<|>")])
    tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task=task, language=language)
    previous = previous_text_tokens(tokenizer, prompt_text)
    prompt = previous + model.get_prompt(tokenizer, [], without_timestamps=True)
    budget = token_budget(len(audio) / 16000, options, prompt_tokens=len(previous))
    attempts: list[_Attempt] = []
    for temperature in options.temperatures or (0.0,):
        attempts.append(_generate(model, encoder_output, prompt, tokenizer, budget, temperature, options))
        if not attempts[-1].degenerate:
            break
    spent = sum(len(a.tokens) for a in attempts)
    best = max(attempts, key=lambda a: (not a.degenerate, a.avg_logprob))
    if best.no_speech_prob > options.no_speech_threshold and best.avg_logprob < options.log_prob_threshold:
        return Decoded("", (), best.avg_logprob, language, len(attempts), spent, budget, silence=True,
                       retries=len(attempts) - 1)
    tokens = best.tokens[: best.cut] if best.cut is not None else best.tokens
    written = "en" if task == "translate" else language
    text = normalise(tokenizer.decode(tokens), written)
    words: list[tuple[str, float, float, float]] = []
    if options.word_timestamps and text:
        segment = {"seek": 0, "start": 0.0, "end": frames * model.feature_extractor.time_per_frame,
                   "tokens": tokens}
        model.add_word_timestamps([[segment]], tokenizer, encoder_output, frames, PREPEND, APPEND, 0.0)
        for w in segment.get("words") or ():
            word = normalise(w["word"], written, word=True)
            if word:
                words.append((word, offset_s + float(w["start"]), offset_s + float(w["end"]),
                              float(w["probability"])))
    return Decoded(text, tuple(words), best.avg_logprob, language, len(attempts), spent, budget,
                   loop_cut=best.cut is not None, retries=len(attempts) - 1)


def decode(model: Any, audio: np.ndarray, *, language: str | None, candidates: Sequence[str] = (),
           task: str = "transcribe", options: DecodeOptions = INTERIM, prompt_text: str | None = None) -> Decoded:
    """Decode 16 kHz float32 ``audio`` with a ``faster_whisper.WhisperModel``, bounded.

    Args:
        model: a loaded ``WhisperModel``.
        language: Whisper code to decode in, or ``None`` to detect it among ``candidates``
            (all Whisper languages when empty — avoid: espeak Mandarin is detected as Thai).
        task: ``"transcribe"`` or ``"translate"``.
        options: :data:`INTERIM`, :data:`FINAL` or your own :class:`DecodeOptions`.
        prompt_text: previous text shown to the decoder (how faster-whisper's ``hotwords``
            biases it towards words it would otherwise miss), cut by :func:`previous_text_tokens`
            to :data:`PROMPT_TOKEN_CAP` tokens, which the token budget gives up in exchange.

    Returns:
        One :class:`Decoded` covering the whole audio (windows of 30 s are joined).
    """
    parts = [
        _decode_window(model, audio[i:i + SAMPLES_PER_WINDOW], i / 16000, language=language,
                       candidates=candidates, task=task, options=options, prompt_text=prompt_text)
        for i in range(0, max(len(audio), 1), SAMPLES_PER_WINDOW)
        if len(audio[i:i + SAMPLES_PER_WINDOW]) >= 1600 or i == 0
    ]
    if len(parts) == 1:
        return parts[0]
    joiner = "" if parts[0].language in ("zh", "ja") else " "
    spans = [max(len(p.words), 1) for p in parts]
    return Decoded(
        joiner.join(p.text for p in parts if p.text),
        tuple(w for p in parts for w in p.words),
        float(sum(p.avg_logprob * s for p, s in zip(parts, spans)) / sum(spans)),
        parts[0].language,
        sum(p.passes for p in parts), sum(p.tokens for p in parts), sum(p.budget for p in parts),
        any(p.loop_cut for p in parts), all(p.silence for p in parts), sum(p.retries for p in parts),
    )
