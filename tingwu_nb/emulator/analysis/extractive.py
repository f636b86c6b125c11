"""The extractive analysis engine: every post-meeting result without a language model.

Keywords (yake / jieba), TextRank over TF-IDF cosine with MMR de-duplication, TextTiling
chapter boundaries, rules for to-dos, questions and the scene, similarity matching for
inspection, identities and extraction, and deletion-only polishing. Every output quotes or
points at real sentences, so it is grounded by construction (``grounding.py`` checks it).
Deterministic: the same transcript and arguments give the same output.

The per-transcript work (tokens, TF-IDF, TextRank, keyword pool, chapter segments) is computed
once and cached in ``textdoc``, so asking for every feature costs little more than one.
"""

from __future__ import annotations

from collections.abc import Sequence

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
    Transcript,
    TransType,
)
from tingwu_nb.emulator.analysis.textdoc import analyse, chaptering, language_of, title, trim
from tingwu_nb.emulator.analysis.textmatch import extract, identify, inspect
from tingwu_nb.emulator.analysis.textpolish import polish_sentence
from tingwu_nb.emulator.analysis.textrules import ACTION_THRESHOLD, action_score, classify, is_question
from tingwu_nb.emulator.analysis.textutil import joiner

__all__ = ["ExtractiveEngine"]

KEY_SENTENCE_SHARE = 0.15  # of all sentences, at least 1 ...
MAX_KEY_SENTENCES = 40  # ... and at most this many (a one-hour meeting has ~1000 sentences)
MAX_SUMMARY_SENTENCES = 5
MAX_SPEAKER_SUMMARY_SENTENCES = 3
MAX_QA = 20


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
        d = analyse(t)
        n = len(t.sentences)
        k = max(1, min(MAX_KEY_SENTENCES, round(KEY_SENTENCE_SHARE * n)))
        ids = tuple(d.sentences[i].id for i in d.central(range(n), k))
        return KeyInformation(d.pool[: max(0, min(max_keywords, 20))], ids)

    def actions(self, t: Transcript, limit: int = 6) -> list[int]:
        """Ids of the ≤ ``limit`` strongest to-do sentences (``textrules``), in time order."""
        if not t.sentences or limit <= 0:
            return []
        lang = language_of(t)
        scored = [(action_score(s, lang), i) for i, s in enumerate(t.sentences)]
        hits = [(sc, i) for sc, i in scored if sc >= ACTION_THRESHOLD]
        rank = analyse(t).rank
        best = sorted(hits, key=lambda p: (-p[0], -round(float(rank[p[1]]), 9), p[1]))[:limit]
        return sorted(t.sentences[i].id for _, i in best)

    def classification(self, t: Transcript) -> dict[str, float]:
        """Interview / Lecture / Meeting scores summing to 1 (heuristics in ``textrules.classify``)."""
        return classify(t.sentences, language_of(t))

    # -- AutoChapters ------------------------------------------------------------------------
    def chapters(self, t: Transcript, granularity: str = "Meticulous") -> list[Chapter]:
        """Chapters tiling the transcript; ~4/6/13 per hour for Coarse/General/Meticulous, 1-3 if short.

        Headline: the chapter's distinctive keywords (or its central sentence, trimmed); summary:
        its one or two most central sentences.
        """
        if not t.sentences:
            return []
        d = analyse(t)
        segments, keywords = chaptering(t, granularity)
        limit = 16 if d.sep == "" else 40
        out = []
        for n, (seg, words) in enumerate(zip(segments, keywords), 1):
            central = d.central(seg, 1 if len(seg) < 6 else 2, local=True, statements=True)
            said = [d.sentences[i].text for i in central + list(seg) if d.sentences[i].text.strip()]
            headline = title(words, limit, d.lang) or trim(said[0] if said else f"Chapter {n}", limit)
            ids = tuple(d.sentences[i].id for i in seg)
            out.append(Chapter(ids, headline, trim(d.texts(central), 1000)))
        return out

    # -- Summarization -----------------------------------------------------------------------
    def paragraph_summary(self, t: Transcript) -> tuple[str, str]:
        """(title from the top keywords, ≤ 5 central sentences in time order); empty strings if empty."""
        if not t.sentences:
            return "", ""
        d = analyse(t)
        n = len(t.sentences)
        central = d.central(range(n), min(MAX_SUMMARY_SENTENCES, max(1, round(n / 10))), statements=True)
        heading = title(d.pool[:3], 16 if d.sep == "" else 48, d.lang) or trim(d.texts(central[:1]), 40)
        return heading, trim(d.texts(central), 1000)

    def conversational_summary(self, t: Transcript) -> dict[str, str]:
        """Every speaker's ≤ 3 most central, mutually different sentences, in time order."""
        if not t.sentences:
            return {}
        d = analyse(t)
        out = {}
        for spk in t.speakers:
            idx = [i for i, s in enumerate(t.sentences) if s.speaker == spk]
            k = min(MAX_SPEAKER_SUMMARY_SENTENCES, max(1, round(len(idx) / 8)))
            out[spk] = trim(d.texts(d.central(idx, k, statements=True)), 1000)
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
        d = analyse(t)
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
        d = analyse(t)
        root, _ = self.paragraph_summary(t)
        chapters = self.chapters(t, "Meticulous")
        segments, keywords = chaptering(t, "Meticulous")
        nodes = []
        for ch, seg, words in zip(chapters, segments, keywords):
            leaves = []
            for w in words:
                first = next((i for i in d.hits(w) if i >= seg[0]), seg[0])
                leaves.append(MindNode(w, (), d.sentences[first].start))
            said = [i for i in d.central(seg, 1) + list(seg) if d.sentences[i].text.strip()]
            if not leaves and said:
                leaves.append(MindNode(trim(d.sentences[said[0]].text, 40), (), d.sentences[said[0]].start))
            nodes.append(MindNode(ch.headline, tuple(leaves), d.sentences[seg[0]].start))
        return MindNode(root or chapters[0].headline, tuple(nodes), d.sentences[0].start)

    # -- TextPolish --------------------------------------------------------------------------
    def polish(self, t: Transcript, paragraphs: Sequence[Sequence[int]]) -> list[str]:
        """One polished text per paragraph (fillers and stutters removed; ``textpolish``).

        Unknown ids are skipped; a paragraph that was nothing but fillers keeps its raw text.
        """
        by_id = t.by_id()
        lang = language_of(t)
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
        """One judgement per item by similarity of Title + Content to the sentences (``textmatch``).

        ``scene`` and ``intro`` are not used: without a model nothing reads free instructions.
        """
        return inspect(t.sentences, language_of(t), contents)

    def identities(self, t: Transcript, scene: str, contents: Sequence[ContentItem]) -> list[Identity]:
        """Per speaker, the requested identity they introduce or sound like most (``textmatch``)."""
        return identify(t.sentences, language_of(t), t.speakers, contents)

    def extraction(self, t: Transcript, scene: str, contents: Sequence[ContentItem]) -> list[Extraction]:
        """Per item, the best-matching sentence(s) as value with their ids (``textmatch``)."""
        lang = language_of(t)
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
