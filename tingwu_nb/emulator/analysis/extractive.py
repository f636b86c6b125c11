"""The extractive analysis engine: every post-meeting result without a language model.

Keywords (yake / jieba), TextRank over TF-IDF cosine with MMR de-duplication, TextTiling
chapter boundaries, rules for to-dos, questions and the scene, similarity matching for
inspection, identities and extraction, and deletion-only polishing. Every output quotes or
points at real sentences, so it is grounded by construction (``grounding.py`` checks it).
Deterministic: the same transcript and arguments give the same output.

The per-transcript work (tokens, TF-IDF, TextRank, keyword pool) is computed once and cached
for the last few transcripts, so asking for every feature costs little more than one.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from tingwu_nb.emulator.analysis.base import (
    Chapter,
    ContentItem,
    CustomAnswer,
    EngineStats,
    EngineUnavailable,
    Extraction,
    Identity,
    Judgement,
    KeyInformation,
    MindNode,
    QAPair,
    Sentence,
    Transcript,
    TransType,
)
from tingwu_nb.emulator.analysis.grounding import keyword_checker
from tingwu_nb.emulator.analysis.textmatch import extract, identify, inspect
from tingwu_nb.emulator.analysis.textpolish import polish_sentence
from tingwu_nb.emulator.analysis.textrank import boundaries, mmr, pagerank, tfidf
from tingwu_nb.emulator.analysis.textrules import ACTION_THRESHOLD, action_score, classify, is_question
from tingwu_nb.emulator.analysis.textutil import is_cjk_text, joiner, keywords, terms

__all__ = ["CHAPTERS_PER_HOUR", "ExtractiveEngine"]

#: AutoChapters ChapterGranularity -> chapters per hour (rest-api §2.3.4; Meticulous ~12-15/h).
CHAPTERS_PER_HOUR = {"Coarse": 4, "General": 6, "Meticulous": 13}
#: A recording too short for one chapter by the hourly rate still gets one per this many sentences (≤ 3).
_SHORT_CHAPTER_SENTENCES = {"Coarse": 30, "General": 20, "Meticulous": 15}
KEY_SENTENCE_SHARE = 0.15  # of all sentences, at least 1 ...
MAX_KEY_SENTENCES = 40  # ... and at most this many (a one-hour meeting has ~1000 sentences)
MAX_SUMMARY_SENTENCES = 5
MAX_SPEAKER_SUMMARY_SENTENCES = 3
MAX_QA = 20
KEYWORD_POOL = 60
_KNOWN_LANGS = ("en", "cn", "ja", "ko", "yue")


def _language(t: Transcript) -> str:
    if t.language in _KNOWN_LANGS:
        return t.language
    text = t.text
    if re.search(r"[\uac00-\ud7af]", text):
        return "ko"
    if re.search(r"[\u3040-\u30ff]", text):
        return "ja"
    return "cn" if is_cjk_text(text) else "en"


@dataclass(frozen=True)
class _Doc:
    """What every feature shares for one transcript."""

    sentences: tuple[Sentence, ...]
    lang: str
    x: sparse.csr_matrix  # L2-normalised TF-IDF rows, one per sentence
    rank: np.ndarray  # TextRank centrality per sentence
    pool: tuple[str, ...]  # literal keywords, best first
    occurs: Callable[[str], bool]

    @property
    def sep(self) -> str:
        return joiner(self.lang)

    def texts(self, idx: Sequence[int]) -> str:
        return self.sep.join(self.sentences[i].text.strip() for i in idx)

    def contentful(self, idx: Sequence[int]) -> list[int]:
        """The rows among ``idx`` with enough distinct terms to say something (3 words, 2 for CJK),
        else those with any terms, else all of ``idx`` — so "Thank you, bye." is never a summary."""
        nnz = np.diff(self.x.indptr)
        enough = 2 if self.lang in ("cn", "yue", "ja", "ko") else 3
        return [i for i in idx if nnz[i] >= enough] or [i for i in idx if nnz[i] > 0] or list(idx)

    def central(self, idx: Sequence[int], k: int, local: bool = False, statements: bool = False) -> list[int]:
        """``k`` central, mutually different rows of ``idx`` (MMR over TextRank), in time order.

        ``statements``: leave out questions (for summaries) unless nothing else is left.
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
def _doc(t: Transcript) -> _Doc:
    lang = _language(t)
    x, _ = tfidf([terms(s.text, lang) for s in t.sentences])
    occurs = keyword_checker(t)
    pool = keywords([s.text for s in t.sentences], lang, KEYWORD_POOL, occurs)
    return _Doc(t.sentences, lang, x, pagerank(x), tuple(pool), occurs)


def _title(words: Sequence[str], lang: str, limit: int) -> str:
    """Keywords joined into a short title (``A, B and C`` / ``A、B与C``), at most ``limit`` chars."""
    picked: list[str] = []
    for w in words:
        if len(", ".join([*picked, w])) > limit and picked:
            break
        picked.append(w)
    if not picked:
        return ""
    if is_cjk_text("".join(picked)):
        return picked[0] if len(picked) == 1 else "、".join(picked[:-1]) + "与" + picked[-1]
    text = picked[0] if len(picked) == 1 else ", ".join(picked[:-1]) + " and " + picked[-1]
    return text[0].upper() + text[1:]


def _trim(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip(" ,;:，、") + "…"


class ExtractiveEngine:
    """The :class:`~tingwu_nb.emulator.analysis.base.AnalysisEngine` that needs no model.

    Stateless apart from a small per-transcript cache; safe to share. Custom prompts and
    translation need the model: :meth:`custom_prompt` and :meth:`translate` raise
    :class:`EngineUnavailable` and :meth:`translation_targets` is empty, so the validator
    refuses those features at CreateTask when this engine is configured.
    """

    name = "extractive"

    def __init__(self) -> None:
        self.stats = EngineStats()

    # -- MeetingAssistance -------------------------------------------------------------------
    def key_information(self, t: Transcript, max_keywords: int = 20) -> KeyInformation:
        """≤ ``max_keywords`` (≤ 20) literal keywords and ~15 % of the sentences (≤ 40) as key sentences."""
        if not t.sentences:
            return KeyInformation((), ())
        d = _doc(t)
        n = len(t.sentences)
        k = max(1, min(MAX_KEY_SENTENCES, round(KEY_SENTENCE_SHARE * n)))
        ids = tuple(d.sentences[i].id for i in d.central(range(n), k))
        return KeyInformation(d.pool[: max(0, min(max_keywords, 20))], ids)

    def actions(self, t: Transcript, limit: int = 6) -> list[int]:
        """Ids of the ≤ ``limit`` strongest to-do sentences (``textrules``), in time order."""
        if not t.sentences or limit <= 0:
            return []
        lang = _language(t)
        scored = [(action_score(s, lang), i) for i, s in enumerate(t.sentences)]
        hits = [(sc, i) for sc, i in scored if sc >= ACTION_THRESHOLD]
        rank = _doc(t).rank
        best = sorted(hits, key=lambda p: (-p[0], -round(float(rank[p[1]]), 9), p[1]))[:limit]
        return sorted(t.sentences[i].id for _, i in best)

    def classification(self, t: Transcript) -> dict[str, float]:
        """Interview / Lecture / Meeting scores summing to 1 (heuristics in ``textrules.classify``)."""
        return classify(t.sentences, _language(t))

    # -- AutoChapters ------------------------------------------------------------------------
    def _chapter_count(self, t: Transcript, granularity: str) -> int:
        granularity = granularity if granularity in CHAPTERS_PER_HOUR else "Meticulous"
        n = len(t.sentences)
        hours = max(0, t.sentences[-1].end - t.sentences[0].start) / 3_600_000
        k = max(
            1,
            round(hours * CHAPTERS_PER_HOUR[granularity]),
            min(3, n // _SHORT_CHAPTER_SENTENCES[granularity]),
        )
        return max(1, min(k, n // 3))

    def _segments(self, t: Transcript, granularity: str) -> list[list[int]]:
        d = _doc(t)
        n = len(t.sentences)
        pauses = [0] + [max(0, b.start - a.end) for a, b in zip(t.sentences, t.sentences[1:])]
        starts = boundaries(d.x, self._chapter_count(t, granularity), pauses)
        return [list(range(a, b)) for a, b in zip(starts, [*starts[1:], n])]

    def _chapter_keywords(self, d: _Doc, segments: Sequence[Sequence[int]]) -> list[list[str]]:
        """Per segment, up to 3 pool keywords: frequent in it, rare in the others, high in the pool."""
        folded = ["\n".join(d.sentences[i].text.casefold() for i in seg) for seg in segments]
        counts = {
            w: [
                len(re.findall(r"(?<!\w)" + re.escape(w.casefold()) + r"(?!\w)", f))
                if not is_cjk_text(w)
                else f.count(w.casefold())
                for f in folded
            ]
            for w in d.pool
        }
        out = []
        for c in range(len(segments)):
            score = {
                w: cs[c]
                * math.log((1 + len(segments)) / sum(1 for v in cs if v))
                / (1 + d.pool.index(w) / 10)
                for w, cs in counts.items()
                if cs[c]
            }
            out.append(sorted(score, key=lambda w: (-round(score[w], 9), d.pool.index(w)))[:3])
        return out

    def chapters(self, t: Transcript, granularity: str = "Meticulous") -> list[Chapter]:
        """Chapters tiling the transcript; ~4/6/13 per hour for Coarse/General/Meticulous, 1-3 if short.

        Headline: the chapter's distinctive keywords (or its central sentence, trimmed); summary:
        its one or two most central sentences.
        """
        if not t.sentences:
            return []
        d = _doc(t)
        segments = self._segments(t, granularity)
        out = []
        for n, (seg, words) in enumerate(zip(segments, self._chapter_keywords(d, segments)), 1):
            central = d.central(seg, 1 if len(seg) < 6 else 2, local=True, statements=True)
            limit = 16 if d.sep == "" else 40
            said = [d.sentences[i].text for i in central + seg if d.sentences[i].text.strip()]
            headline = _title(words, d.lang, limit) or _trim(said[0] if said else f"Chapter {n}", limit)
            out.append(
                Chapter(tuple(d.sentences[i].id for i in seg), headline, _trim(d.texts(central), 1000))
            )
        return out

    # -- Summarization -----------------------------------------------------------------------
    def paragraph_summary(self, t: Transcript) -> tuple[str, str]:
        """(title from the top keywords, ≤ 5 central sentences in time order); empty strings if empty."""
        if not t.sentences:
            return "", ""
        d = _doc(t)
        n = len(t.sentences)
        central = d.central(range(n), min(MAX_SUMMARY_SENTENCES, max(1, round(n / 10))), statements=True)
        title = _title(d.pool[:3], d.lang, 16 if d.sep == "" else 48) or _trim(d.texts(central[:1]), 40)
        return title, _trim(d.texts(central), 1000)

    def conversational_summary(self, t: Transcript) -> dict[str, str]:
        """Every speaker's ≤ 3 most central, mutually different sentences, in time order."""
        if not t.sentences:
            return {}
        d = _doc(t)
        out = {}
        for spk in t.speakers:
            idx = [i for i, s in enumerate(t.sentences) if s.speaker == spk]
            k = min(MAX_SPEAKER_SUMMARY_SENTENCES, max(1, round(len(idx) / 8)))
            out[spk] = _trim(d.texts(d.central(idx, k, statements=True)), 1000)
        return out

    def questions_answering(self, t: Transcript) -> list[QAPair]:
        """Questions paired with the reply that follows, ≤ 20 (the most central), in time order.

        A question (``textrules.is_question``; up to two in a row by the asker) is answered by the
        next speaker's consecutive sentences (≤ 3, stopping at a question), or by the asker's next
        sentence when nobody else speaks next.
        """
        s, n = t.sentences, len(t.sentences)
        if not n:
            return []
        d = _doc(t)
        pairs: list[tuple[list[int], list[int]]] = []
        i = 0
        while i < n:
            if not is_question(s[i].text, d.lang):
                i += 1
                continue
            q = [i]
            while (
                q[-1] + 1 < n
                and len(q) < 2
                and s[q[-1] + 1].speaker == s[i].speaker
                and is_question(s[q[-1] + 1].text, d.lang)
            ):
                q.append(q[-1] + 1)
            j = q[-1] + 1
            a: list[int] = []
            while j < n and len(a) < 3 and not is_question(s[j].text, d.lang) and s[j].text.strip():
                if a and s[j].speaker != s[a[0]].speaker:
                    break
                a.append(j)
                if s[j].speaker == s[i].speaker:
                    break  # nobody else answered: the asker's next sentence
                j += 1
            if a:
                pairs.append((q, a))
            i = (a[-1] if a else q[-1]) + 1
        if len(pairs) > MAX_QA:
            keep = sorted(pairs, key=lambda p: (-round(float(d.rank[p[0] + p[1]].mean()), 9), p[0][0]))[
                :MAX_QA
            ]
            pairs = sorted(keep, key=lambda p: p[0][0])
        return [
            QAPair(d.texts(q), tuple(s[k].id for k in q), d.texts(a), tuple(s[k].id for k in a))
            for q, a in pairs
        ]

    def mindmap(self, t: Transcript) -> MindNode:
        """Root (the paragraph title) -> chapters (headline) -> their keywords, with start times."""
        if not t.sentences:
            return MindNode("")
        d = _doc(t)
        title, _ = self.paragraph_summary(t)
        chapters = self.chapters(t, "Meticulous")
        segments = self._segments(t, "Meticulous")
        nodes = []
        for ch, seg, words in zip(chapters, segments, self._chapter_keywords(d, segments)):
            leaves = []
            for w in words:
                first = next(
                    (i for i in seg if keyword_checker(Transcript((d.sentences[i],), d.lang))(w)), seg[0]
                )
                leaves.append(MindNode(w, (), d.sentences[first].start))
            said = [i for i in d.central(seg, 1) + list(seg) if d.sentences[i].text.strip()]
            if not leaves and said:
                leaves.append(MindNode(_trim(d.sentences[said[0]].text, 40), (), d.sentences[said[0]].start))
            nodes.append(MindNode(ch.headline, tuple(leaves), d.sentences[seg[0]].start))
        return MindNode(title or chapters[0].headline, tuple(nodes), d.sentences[0].start)

    # -- TextPolish --------------------------------------------------------------------------
    def polish(self, t: Transcript, paragraphs: Sequence[Sequence[int]]) -> list[str]:
        """One polished text per paragraph (fillers and stutters removed; ``textpolish``).

        Unknown ids are skipped; a paragraph that was nothing but fillers keeps its raw text.
        """
        by_id = t.by_id()
        lang = _language(t)
        out = []
        for ids in paragraphs:
            raw = [by_id[i].text for i in ids if i in by_id]
            polished = joiner(lang).join(p for p in (polish_sentence(r, lang) for r in raw) if p)
            out.append(polished or joiner(lang).join(r.strip() for r in raw))
        return out

    # -- ServiceInspection, IdentityRecognition, ContentExtraction ---------------------------
    def inspection(
        self, t: Transcript, scene: str, intro: str, contents: Sequence[ContentItem]
    ) -> list[Judgement]:
        """One judgement per item by similarity of Title + Content to the sentences (``textmatch``)."""
        return inspect(t.sentences, _language(t), contents)

    def identities(self, t: Transcript, scene: str, contents: Sequence[ContentItem]) -> list[Identity]:
        """Per speaker, the requested identity they introduce or sound like most (``textmatch``)."""
        return identify(t.sentences, _language(t), t.speakers, contents)

    def extraction(self, t: Transcript, scene: str, contents: Sequence[ContentItem]) -> list[Extraction]:
        """Per item, the best-matching sentence(s) as value with their ids (``textmatch``)."""
        lang = _language(t)
        return extract(t.sentences, lang, contents, joiner(lang))

    # -- needs a model -----------------------------------------------------------------------
    def custom_prompt(self, t: Transcript, name: str, prompt: str, trans_type: TransType) -> CustomAnswer:
        raise EngineUnavailable(
            "custom prompts need the language-model engine (the extractive engine has none)"
        )

    def translation_targets(self, source: str) -> frozenset[str]:
        return frozenset()

    def translate(self, texts: Sequence[str], source: str, target: str) -> list[str]:
        raise EngineUnavailable(f"translation {source}->{target} needs the language-model engine")
