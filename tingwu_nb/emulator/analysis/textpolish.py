"""TextPolish without a model: remove fillers and stutters, tidy spacing and punctuation.

Only deletions and case/punctuation fixes — no word is ever added, so a polished paragraph
cannot say anything its sentences did not.
"""

from __future__ import annotations

import re

__all__ = ["polish_sentence"]

_EN_FILLER = re.compile(
    r"(?:^|(?<=[\s,.;!?]))(?:u+m+|u+h+|e+r+m*|a+h+|h+m+|m+h*m+)(?=[\s,.;!?]|$)(?:\s*,)?", re.IGNORECASE
)
_EN_PHRASE_FILLER = re.compile(
    r"(?:^|,)\s*(?:you know|I mean|like|sort of|kind of)\s*(?:,|(?=[.?!]|$))", re.IGNORECASE
)
_EN_LEADING = re.compile(r"^\s*(?:so|well|okay|ok|right)\s*,\s*(?=\w)", re.IGNORECASE)
_EN_REPEAT = re.compile(r"\b(\w+(?:\s+\w+)?)(?:[\s,]+\1\b)+", re.IGNORECASE)
_ZH_FILLER = re.compile(r"[嗯呃额唔]+[，,、]?|(?:^|(?<=[，,。]))[啊哦诶]+[，,、]?|(?<=[，,])[啊]+(?=[，,。])")
_ZH_REPEAT = re.compile(r"(那个|这个|就是|然后|我们|你们|他们|所以|但是|因为|我觉得)(?:[，,、]?\1)+")
_ZH_STUTTER = re.compile(r"([我你他她它这那就])\1+(?![们个])")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


def _polish_en(text: str) -> str:
    text = re.sub(r",\s*(?:you know|I mean)\?$", ".", text, flags=re.IGNORECASE)
    text = _EN_LEADING.sub("", text)
    text = _EN_FILLER.sub(" ", text)
    text = _EN_PHRASE_FILLER.sub(" ", text)
    text = _EN_LEADING.sub("", text)
    text = _EN_REPEAT.sub(r"\1", text)
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"\s+([,.;:!?])", r"\1", text)
    text = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text)
    text = re.sub(r"^[\s,;:.]+", "", text).strip()
    text = re.sub(r",\s*([.?!])", r"\1", text)
    text = re.sub(r"\bi\b", "I", text)
    text = re.sub(r"([,;:])(?=\w)", r"\1 ", text)
    if text:
        text = text[0].upper() + text[1:]
        if text[-1] not in ".?!…\"'":
            text += "."
    return text


def _polish_cjk(text: str) -> str:
    text = _ZH_FILLER.sub("", text)
    text = _ZH_REPEAT.sub(r"\1", text)
    text = _ZH_STUTTER.sub(r"\1", text)
    text = re.sub(r"(?<=[\u3400-\u9fff])\s+(?=[\u3400-\u9fff])", "", text)
    text = re.sub(r"([，,、])(?:[，,、])+", r"\1", text)
    text = re.sub(r"^[\s，,、。]+", "", text).strip()
    text = re.sub(r"[，,、]+([。？！?!])$", r"\1", text)
    text = re.sub(r"[，,、]+$", "", text)
    if text and text[-1] not in "。？！?!…":
        text += "。"
    return text


def polish_sentence(text: str, lang: str) -> str:
    """``text`` without fillers, stutters and immediate repetitions, spaced and punctuated.

    English: um/uh/er/ah/hmm, "you know"/"I mean" set off by commas, a leading "so,"/"well,",
    repeated words or word pairs ("the the", "I think I think"); a capital first letter, "I",
    and a final full stop. Chinese/Japanese/Korean: 嗯/呃/额, 啊/哦 as interjections, repeated
    那个/这个/就是…, stuttered 我我我; a final 。. Returns "" when nothing but fillers was said.
    """
    if lang in ("cn", "yue", "ja") or (
        lang != "ko" and _CJK.search(text) and not re.search(r"[A-Za-z]{3}", text)
    ):
        return _polish_cjk(text)
    out = _polish_en(text)
    return "" if re.fullmatch(r"[\s.,!?]*", out) else out
