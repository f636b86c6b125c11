"""What the extractive features share for one transcript, computed once and cached.

:func:`analyse` gives a :class:`Doc`: the language, TF-IDF rows, TextRank centrality, the pool of
literal keywords and where each keyword occurs. :func:`chaptering` gives the chapter segments
and their keywords for one granularity. Both are cached for the last few transcripts (keyed by
the frozen :class:`Transcript` itself), so asking for every feature costs little more than one
and the mind map reuses the chapters.
"""

from __future__ import annotations

import bisect
import functools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from tingwu_nb.emulator.analysis.base import Sentence, Transcript
from tingwu_nb.emulator.analysis.grounding import keyword_checker
from tingwu_nb.emulator.analysis.textrank import boundaries, mmr, pagerank, tfidf
from tingwu_nb.emulator.analysis.textrules import is_question
from tingwu_nb.emulator.analysis.textutil import is_cjk_text, joiner, keywords, terms

__all__ = [
    "CHAPTERS_PER_HOUR",
    "Doc",
    "analyse",
    "chapter_count",
    "chaptering",
    "language_of",
    "title",
    "trim",
]

#: AutoChapters ChapterGranularity -> chapters per hour (rest-api §2.3.4; Meticulous ~12-15/h).
CHAPTERS_PER_HOUR = {"Coarse": 4, "General": 6, "Meticulous": 13}
#: A recording too short for one chapter by the hourly rate still gets one per this many sentences (≤ 3).
SHORT_CHAPTER_SENTENCES = {"Coarse": 30, "General": 20, "Meticulous": 15}
KEYWORD_POOL = 60
_KNOWN_LANGS = ("en", "cn", "ja", "ko", "yue")


def language_of(t: Transcript) -> str:
    """``t.language`` if it is a Tingwu code, else guessed from the script (ko, ja, cn or en)."""
    if t.language in _KNOWN_LANGS:
        return t.language
    text = t.text
    if re.search(r"[\uac00-\ud7af]", text):
        return "ko"
    if re.search(r"[\u3040-\u30ff]", text):
        return "ja"
    return "cn" if is_cjk_text(text) else "en"


def _edge(text: str, i: int) -> bool:
    """True if position ``i`` is outside ``text`` or not a word character (regex ``\\W``)."""
    return i < 0 or i >= len(text) or not (text[i].isalnum() or text[i] == "_")


@dataclass(frozen=True, eq=False)
class Doc:
    """The shared analysis of one transcript (see the module docstring)."""

    sentences: tuple[Sentence, ...]
    lang: str
    x: sparse.csr_matrix  # L2-normalised TF-IDF rows, one per sentence
    rank: np.ndarray  # TextRank centrality per sentence
    pool: tuple[str, ...]  # literal keywords, best first
    occurs: Callable[[str], bool]
    _folded: str = ""
    _offsets: tuple[int, ...] = ()
    _hits: dict[str, list[int]] = field(default_factory=dict)

    @property
    def sep(self) -> str:
        return joiner(self.lang)

    def texts(self, idx: Sequence[int]) -> str:
        return self.sep.join(self.sentences[i].text.strip() for i in idx)

    def hits(self, word: str) -> list[int]:
        """Row of every occurrence of ``word`` (whole words for Latin script), in order."""
        if word not in self._hits:
            needle, text, rows = word.casefold(), self._folded, []
            whole = not is_cjk_text(word)
            at = text.find(needle) if needle else -1
            while at >= 0:
                end = at + len(needle)
                if not whole or (_edge(text, at - 1) and _edge(text, end)):
                    rows.append(bisect.bisect_right(self._offsets, at) - 1)
                at = text.find(needle, at + 1)
            self._hits[word] = rows
        return self._hits[word]

    def contentful(self, idx: Sequence[int]) -> list[int]:
        """The rows among ``idx`` with enough distinct terms to say something (3 words, 2 for CJK),
        else those with any terms, else all of ``idx`` — so "Thank you, bye." is never a summary."""
        nnz = np.diff(self.x.indptr)
        enough = 2 if self.lang in ("cn", "yue", "ja", "ko") else 3
        return [i for i in idx if nnz[i] >= enough] or [i for i in idx if nnz[i] > 0] or list(idx)

    def central(self, idx: Sequence[int], k: int, local: bool = False, statements: bool = False) -> list[int]:
        """``k`` central, mutually different rows of ``idx`` (MMR over TextRank), in time order.

        ``local``: centrality within ``idx`` rather than the whole transcript. ``statements``:
        leave out questions (for summaries) unless nothing else is left.
        """
        idx = self.contentful(idx)
        if statements:
            idx = [i for i in idx if not is_question(self.sentences[i].text, self.lang)] or idx
        if local and len(idx) > 2:
            scores = np.zeros(len(self.sentences))
            scores[idx] = pagerank(self.x[idx])
        else:
            scores = self.rank
        return sorted(mmr(self.x, scores, k, candidates=idx))


@functools.lru_cache(maxsize=4)
def analyse(t: Transcript) -> Doc:
    """The cached :class:`Doc` of ``t``."""
    lang = language_of(t)
    x, _ = tfidf([terms(s.text, lang) for s in t.sentences])
    occurs = keyword_checker(t)
    pool = keywords([s.text for s in t.sentences], lang, KEYWORD_POOL, occurs)
    folded = [s.text.casefold() for s in t.sentences]
    offsets = tuple(np.cumsum([0] + [len(f) + 1 for f in folded[:-1]]).tolist()) if folded else ()
    return Doc(t.sentences, lang, x, pagerank(x), tuple(pool), occurs, "\n".join(folded), offsets)


def chapter_count(t: Transcript, granularity: str) -> int:
    """Chapters for ``t``: the hourly rate of ``granularity``, 1-3 for a short recording, ≥ 3 sentences each."""
    granularity = granularity if granularity in CHAPTERS_PER_HOUR else "Meticulous"
    n = len(t.sentences)
    hours = max(0, t.sentences[-1].end - t.sentences[0].start) / 3_600_000
    k = max(
        1, round(hours * CHAPTERS_PER_HOUR[granularity]), min(3, n // SHORT_CHAPTER_SENTENCES[granularity])
    )
    return max(1, min(k, n // 3))


def _chapter_keywords(d: Doc, segments: Sequence[Sequence[int]]) -> list[list[str]]:
    """Per segment, up to 3 pool keywords: frequent in it, rare in the others, high in the pool."""
    starts = [seg[0] for seg in segments]
    counts = {}
    for w in d.pool:
        per = [0] * len(segments)
        for row in d.hits(w):
            per[bisect.bisect_right(starts, row) - 1] += 1
        counts[w] = per
    out = []
    for c in range(len(segments)):
        score = {
            w: cs[c] * math.log((1 + len(segments)) / sum(1 for v in cs if v)) / (1 + i / 10)
            for i, (w, cs) in enumerate(counts.items())
            if cs[c]
        }
        out.append(sorted(score, key=lambda w: (-round(score[w], 9), d.pool.index(w)))[:3])
    return out


@functools.lru_cache(maxsize=8)
def chaptering(
    t: Transcript, granularity: str
) -> tuple[tuple[tuple[int, ...], ...], tuple[tuple[str, ...], ...]]:
    """(segments as row tuples tiling ``t``, each segment's keywords) for ``granularity``."""
    d = analyse(t)
    n = len(t.sentences)
    pauses = [0] + [max(0, b.start - a.end) for a, b in zip(t.sentences, t.sentences[1:])]
    starts = boundaries(d.x, chapter_count(t, granularity), pauses)
    segments = [tuple(range(a, b)) for a, b in zip(starts, [*starts[1:], n])]
    return tuple(segments), tuple(tuple(w) for w in _chapter_keywords(d, segments))


def title(words: Sequence[str], limit: int, lang: str = "en") -> str:
    """Keywords joined into a short title, about ``limit`` chars at most: ``A, B and C`` (Latin
    script and Korean), ``A、B与C`` (Chinese), ``A・B・C`` (Japanese)."""
    picked: list[str] = []
    for w in words:
        if len(", ".join([*picked, w])) > limit and picked:
            break
        picked.append(w)
    if len(picked) <= 1:
        return picked[0] if picked else ""
    if lang == "ja":
        return "・".join(picked)
    if lang in ("cn", "yue") and is_cjk_text("".join(picked)):
        return "、".join(picked[:-1]) + "与" + picked[-1]
    text = ", ".join(picked[:-1]) + (", " if lang == "ko" else " and ") + picked[-1]
    return text[0].upper() + text[1:]


def trim(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis."""
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip(" ,;:，、") + "…"
