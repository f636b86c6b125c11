"""One documented, language-aware text normalisation applied to reference and hypothesis alike.

:func:`normalize` runs these steps, in order:

1. **Width** — Unicode NFKC: full-width Latin letters, digits and punctuation become their
   half-width forms ("ＡＢＣ１２３，" -> "ABC123,"), compatibility ligatures are split.
2. **Traditional -> Simplified** for Chinese-bearing languages (``cn``, ``yue``, ``fspk``,
   ``multilingual``) with OpenCC ``t2s``. OpenCC ships in the ``emulator`` extra, not in the core
   dependencies (a C++ extension; only recognition research needs it), so it is imported lazily:
   without it this step is a no-op and one :class:`RuntimeWarning` says so — install
   ``tingwu-nb[emulator]`` (or ``pip install opencc``) for a fair comparison of Cantonese and
   Traditional-script references.
3. **Case** — ``str.casefold`` (language independent; "Straße" == "strasse").
4. **Numbers** — digits are kept as written, never spelled out ("25" stays "25", "twenty five"
   stays words): spell-out rules are language-specific and would hide real recognition
   differences. Only the formatting is unified: thousands separators between digits are
   dropped ("1,000" -> "1000") and decimal points between digits are kept ("3.5").
5. **Punctuation and symbols** — every Unicode punctuation (P*) and symbol (S*) character,
   ASCII and CJK ("，。、！？「」…") alike, becomes a space; an apostrophe inside a Latin word
   is kept and written as ASCII ("don't" == "don’t", the typographic form common in SRT files).
6. **Spaces** — runs of whitespace collapse to one space; spaces between two CJK characters
   (Han, kana, Hangul) are removed, so "今天 天气" == "今天天气". Spaces between CJK and Latin
   are kept; :func:`tokens` splits there anyway.

The caller then scores with :func:`tingwu_nb.research.metrics.score`, which tokenises the
normalised text with :func:`tokens` (characters for CJK, words for Latin script).
"""

from __future__ import annotations

import re
import threading
import unicodedata
import warnings
from collections.abc import Callable

__all__ = ["CHINESE_LANGUAGES", "is_cjk", "normalize", "tokens"]

#: Languages whose text is converted Traditional -> Simplified.
CHINESE_LANGUAGES = frozenset({"cn", "yue", "fspk", "multilingual"})

_CJK_RANGES = (
    (0x3040, 0x30FF),    # Hiragana, Katakana
    (0x3400, 0x4DBF),    # CJK Extension A
    (0x4E00, 0x9FFF),    # CJK Unified Ideographs
    (0xF900, 0xFAFF),    # CJK Compatibility Ideographs
    (0x1100, 0x11FF),    # Hangul Jamo
    (0x3130, 0x318F),    # Hangul Compatibility Jamo
    (0xAC00, 0xD7AF),    # Hangul Syllables
    (0x20000, 0x2FA1F),  # CJK Extensions B.. and Compatibility Supplement
)
_CJK_CLASS = "".join(f"\\U{lo:08x}-\\U{hi:08x}" for lo, hi in _CJK_RANGES)
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_DECIMAL = re.compile(r"(?<=\d)\.(?=\d)")
_CJK_SPACE = re.compile(f"(?<=[{_CJK_CLASS}])\\s+(?=[{_CJK_CLASS}])")
_TOKEN = re.compile(f"[{_CJK_CLASS}]|[^\\s{_CJK_CLASS}]+")
_DOT = "\u2024"  # placeholder for a protected decimal point (a symbol NFKC already removed)

_converter: Callable[[str], str] | None = None
_converter_lock = threading.Lock()
_warned = False


def is_cjk(char: str) -> bool:
    """True for one Han, kana or Hangul character (scored character by character)."""
    code = ord(char)
    return any(lo <= code <= hi for lo, hi in _CJK_RANGES)


def _to_simplified(text: str) -> str:
    """OpenCC ``t2s`` when installed, else ``text`` unchanged and one warning per process."""
    global _converter, _warned
    with _converter_lock:
        if _converter is None:
            try:
                import opencc  # lazy: the emulator extra
            except ImportError:
                if not _warned:
                    _warned = True
                    warnings.warn("opencc is not installed: Traditional Chinese is NOT converted to Simplified "
                                  "before scoring; install tingwu-nb[emulator] or `pip install opencc`",
                                  RuntimeWarning, stacklevel=3)
                return text
            _converter = opencc.OpenCC("t2s").convert
    return _converter(text)


#: Apostrophes kept inside a Latin word (all written as ASCII "'"): ASCII, right single quotation
#: mark (typographic, common in SRT), modifier letter apostrophe, prime.
_APOSTROPHES = frozenset("'\u2019\u02bc\u2032")


def _strip_punct(text: str) -> str:
    out = []
    n = len(text)
    for i, ch in enumerate(text):
        cat = unicodedata.category(ch)
        if ch in _APOSTROPHES and 0 < i < n - 1 and text[i - 1].isalpha() and text[i + 1].isalpha():
            out.append("'")  # don't, don’t, l'homme: one apostrophe whatever the typography
        elif cat[0] in "PS" and ch != _DOT:
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def normalize(text: str, language: str = "en") -> str:
    """``text`` normalised for scoring in ``language`` (a SourceLanguage code: cn, en, yue, ...).

    Apply it to the reference and the hypothesis with the same ``language``, then compare
    (or let :func:`tingwu_nb.research.metrics.score` do both). Steps: see the module docstring.
    """
    text = unicodedata.normalize("NFKC", text or "")
    if language in CHINESE_LANGUAGES:
        text = _to_simplified(text)
    text = text.casefold()
    text = _THOUSANDS.sub("", text)
    text = _DECIMAL.sub(_DOT, text)
    text = _strip_punct(text).replace(_DOT, ".")
    text = " ".join(text.split())
    return _CJK_SPACE.sub("", text)


def tokens(text: str, unit: str = "mixed") -> list[str]:
    """Scoring units of already-normalised ``text``.

    ``unit="word"``: whitespace-separated words (WER). ``unit="char"``: every non-space
    character (CER). ``unit="mixed"``: each CJK character alone plus each run of other
    non-space characters as one word, so "我们用kubernetes部署" -> 我 们 用 kubernetes 部 署 (MER).
    """
    if unit == "word":
        return text.split()
    if unit == "char":
        return [c for c in text if not c.isspace()]
    if unit == "mixed":
        return _TOKEN.findall(text)
    raise ValueError(f"unit must be 'word', 'char' or 'mixed', not {unit!r}")
