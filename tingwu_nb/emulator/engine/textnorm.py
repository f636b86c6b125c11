"""Pure text guards for recognised speech: scripts, Traditional -> Simplified, loops, blanks.

Nothing here touches a model. :mod:`tingwu_nb.emulator.engine.decoding` applies these to every
hypothesis, and the language tests use :func:`scripts_in` to check the output:

* :func:`to_simplified` — Tingwu writes Chinese (``cn``, ``yue``, ``fspk``, multilingual
  Chinese) in Simplified characters; Whisper base often answers in Traditional. Converted
  with OpenCC's ``t2s`` profile (the ``opencc`` package).
* :func:`keep_scripts` — drops letters of any script the decode language does not write (Thai
  or Cyrillic noise in a Chinese sentence, Han in Korean...), and a whole Chinese, Japanese or
  Korean hypothesis without a letter of that language's own script. Digits and punctuation stay.
* :func:`find_loop` — where a token sequence starts looping (a unit repeated back to back),
  so the caller can cut the hypothesis there instead of paying for more decoding.
* :func:`is_blank` — true for text with no letter or digit at all (what must never become a
  sentence or a word).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Sequence

__all__ = [
    "ALLOWED_SCRIPTS",
    "NATIVE_SCRIPTS",
    "find_loop",
    "is_blank",
    "keep_scripts",
    "script_of",
    "scripts_in",
    "to_simplified",
]

#: Scripts each Whisper decode language may write (``latin`` covers acronyms and code-switching).
ALLOWED_SCRIPTS: dict[str, frozenset[str]] = {
    "zh": frozenset({"han", "latin"}),
    "ja": frozenset({"kana", "han", "latin"}),
    "ko": frozenset({"hangul", "latin"}),
    "en": frozenset({"latin"}),
    "de": frozenset({"latin"}),
    "fr": frozenset({"latin"}),
    "ru": frozenset({"cyrillic", "latin"}),
}

#: Scripts of which a hypothesis must hold at least one letter to count as that language at all
#: (Latin in a Chinese sentence is an acronym or code-switch; an all-Latin "Korean" sentence is
#: Whisper answering in English).
NATIVE_SCRIPTS: dict[str, frozenset[str]] = {
    "zh": frozenset({"han"}),
    "ja": frozenset({"kana", "han"}),
    "ko": frozenset({"hangul"}),
}

_RANGES: tuple[tuple[int, int, str], ...] = (
    (0x0041, 0x005A, "latin"), (0x0061, 0x007A, "latin"), (0x00C0, 0x024F, "latin"),
    (0x1E00, 0x1EFF, "latin"), (0xFF21, 0xFF3A, "latin"), (0xFF41, 0xFF5A, "latin"),
    (0x0400, 0x052F, "cyrillic"),
    (0x3040, 0x30FF, "kana"), (0x31F0, 0x31FF, "kana"), (0xFF66, 0xFF9F, "kana"),
    (0x1100, 0x11FF, "hangul"), (0x3130, 0x318F, "hangul"), (0xA960, 0xA97F, "hangul"),
    (0xAC00, 0xD7AF, "hangul"), (0xD7B0, 0xD7FF, "hangul"),
    (0x3400, 0x4DBF, "han"), (0x4E00, 0x9FFF, "han"), (0xF900, 0xFAFF, "han"),
    (0x20000, 0x3134F, "han"), (0x3005, 0x3007, "han"),
)


def script_of(ch: str) -> str | None:
    """The script of one character: ``latin``, ``han``, ``kana``, ``hangul``, ``cyrillic``,
    ``other`` (any other letter, e.g. Thai), or ``None`` for digits, punctuation and spaces."""
    code = ord(ch)
    for lo, hi, name in _RANGES:
        if lo <= code <= hi:
            return None if code == 0x30FB else name  # the katakana middle dot is punctuation
    cat = unicodedata.category(ch)
    return "other" if cat[0] == "L" or cat in ("Mn", "Mc") and code > 0x02FF else None


def scripts_in(text: str) -> set[str]:
    """Every script that has at least one character in ``text``."""
    return {s for s in map(script_of, text) if s is not None}


def keep_scripts(text: str, language: str, *, require_native: bool = True) -> str:
    """``text`` without the letters of scripts ``language`` (a Whisper code) does not write.

    With ``require_native`` (for a whole hypothesis, not for one of its words) the result is
    ``""`` when ``language`` has native scripts (:data:`NATIVE_SCRIPTS`) and ``text`` has none.
    Unknown languages keep everything. Runs of spaces left behind collapse to one.
    """
    allowed = ALLOWED_SCRIPTS.get(language)
    if allowed is None:
        return text
    native = NATIVE_SCRIPTS.get(language)
    if require_native and native is not None and not native & scripts_in(text):
        return ""
    kept = "".join(ch for ch in text if (s := script_of(ch)) is None or s in allowed)
    return re.sub(" {2,}", " ", kept).strip() if kept != text else text


def is_blank(text: str) -> bool:
    """True when ``text`` has no letter and no digit (empty, spaces, lone punctuation)."""
    return not any(ch.isalnum() for ch in text)


_opencc_lock = threading.Lock()
_opencc: object | None = None


def to_simplified(text: str) -> str:
    """``text`` with Traditional Chinese characters converted to Simplified (OpenCC ``t2s``).

    Text without Han characters is returned unchanged without loading OpenCC.
    """
    if not any(script_of(ch) == "han" for ch in text):
        return text
    global _opencc
    with _opencc_lock:  # the binding's converter is not documented as thread-safe
        if _opencc is None:
            import opencc

            _opencc = opencc.OpenCC("t2s")
        return _opencc.convert(text)  # type: ignore[attr-defined]


def find_loop(tokens: Sequence[int], *, max_period: int = 24, min_single: int = 6, min_repeats: int = 3) -> int | None:
    """Index at which ``tokens`` should be cut because a unit repeats back to back, or None.

    A unit of ``p`` tokens counts as a loop when it occurs ``min_repeats`` times in a row
    (``min_single`` times for a single token, so "哈哈哈" or "no, no, no" survive). The cut
    keeps the first occurrence of the unit: ``tokens[:cut]`` is the hypothesis without the loop.
    The earliest loop of any period wins.
    """
    n = len(tokens)
    best: int | None = None
    for p in range(1, min(max_period, n // 2) + 1):
        need = (min_single if p == 1 else min_repeats) - 1  # repeats after the first occurrence
        run = 0
        for i in range(n - p):
            if tokens[i] == tokens[i + p]:
                run += 1
                if run >= need * p:
                    start = i - run + 1
                    cut = start + p
                    if best is None or cut < best:
                        best = cut
                    break
            else:
                run = 0
    return best
