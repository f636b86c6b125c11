"""Accuracy measures with one normalisation: word error rate and character error rate (jiwer).

Normalisation lower-cases, drops punctuation (ASCII and CJK) and collapses whitespace, so
"Good morning, everyone." and "good morning everyone" compare equal. Use :func:`wer` for
space-delimited languages and :func:`cer` for Chinese, Japanese and Korean.
"""

from __future__ import annotations

import re

__all__ = ["cer", "normalize_text", "wer"]

_PUNCT = re.compile(r"[^\w\s']|_", re.UNICODE)


def normalize_text(text: str) -> str:
    """Lower-case ``text`` without punctuation, single-spaced."""
    return " ".join(_PUNCT.sub(" ", text.lower()).split())


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate of ``hypothesis`` against ``reference`` after normalisation."""
    import jiwer

    return float(jiwer.wer(normalize_text(reference), normalize_text(hypothesis)))


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate, ignoring spaces (the right measure for CJK text)."""
    import jiwer

    strip = lambda t: normalize_text(t).replace(" ", "")  # noqa: E731
    return float(jiwer.cer(strip(reference), strip(hypothesis)))
