"""Matching requested items against what was said: ServiceInspection, IdentityRecognition,
ContentExtraction without a model.

Each request item (``Title`` + ``Content``, or ``Name`` + ``Description``) is a query in the
same TF-IDF space as the sentences (stemmed words for Latin script, words plus characters and
character bigrams for CJK, so that short requests still match); a query word that is never
said keeps its weight and lowers every similarity, so an item that is absent does not pass.
Thresholds are on that cosine similarity and are fixed (documented below).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from tingwu_nb.emulator.analysis.base import ContentItem, Extraction, Identity, Judgement, Sentence
from tingwu_nb.emulator.analysis.textrank import tfidf
from tingwu_nb.emulator.analysis.textrules import is_question
from tingwu_nb.emulator.analysis.textutil import CJK_LANGS, char_terms, terms

__all__ = ["EXTRACT_THRESHOLD", "IDENTITY_THRESHOLD", "PASS_THRESHOLD", "extract", "identify", "inspect"]

#: ServiceInspection passes an item when its best sentence has at least this cosine similarity;
#: ``score = min(1, similarity / (2 * PASS_THRESHOLD))``, so a pass is exactly ``score >= 0.5``.
PASS_THRESHOLD = 0.2
#: A speaker takes an identity by similarity from this cosine up (a self-introduction scores 1).
IDENTITY_THRESHOLD = 0.15
#: A ContentExtraction answer needs at least this similarity; otherwise the value is "".
#: Questions count half: they ask for the value rather than state it.
EXTRACT_THRESHOLD = 0.2
_EN_INTRO = re.compile(
    r"\b(?:I'm|I am|my name is|this is|speaking as|as the|as your|I work as|I'm here as)\s+(.{2,60})",
    re.IGNORECASE,
)
_ZH_INTRO = re.compile(r"(?:我是|我叫|本人是|作为|我担任|我负责)(.{1,16})")


def _vectors(sentences: Sequence[Sentence], lang: str, queries: Sequence[str]):
    tok = char_terms if lang in CJK_LANGS else terms
    return tfidf([tok(s.text, lang) for s in sentences], [tok(text, lang) for text in queries])


def _similarities(sentences: Sequence[Sentence], lang: str, queries: Sequence[str]) -> np.ndarray:
    """Cosine similarity, one row per query, one column per sentence."""
    x, q = _vectors(sentences, lang, queries)
    if x.shape[0] == 0 or q.shape[0] == 0:
        return np.zeros((len(queries), len(sentences)))
    return np.round(np.asarray((q @ x.T).todense()), 9)


def _clip(text: str, limit: int = 80) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _best(row: np.ndarray, floor: float, keep: int) -> list[int]:
    """Indices of up to ``keep`` best columns with similarity ≥ ``floor``, best first (ties: earliest)."""
    order = sorted(range(len(row)), key=lambda i: (-row[i], i))
    return [i for i in order[:keep] if row[i] >= floor and row[i] > 0]


def inspect(sentences: Sequence[Sentence], lang: str, contents: Sequence[ContentItem]) -> list[Judgement]:
    """One judgement per item, in order: evidence = up to 3 sentences most like Title + Content."""
    sims = _similarities(sentences, lang, [f"{c.title} {c.content}" for c in contents])
    out = []
    for c, row in zip(contents, sims):
        if not sentences:
            out.append(Judgement(c.title, False, 0.0, (), "The transcript is empty."))
            continue
        top = _best(row, 0.0, 1)
        best = float(row[top[0]]) if top else 0.0
        score = round(min(1.0, best / (2 * PASS_THRESHOLD)), 3)
        if best >= PASS_THRESHOLD:
            picks = _best(row, max(PASS_THRESHOLD, 0.6 * best), 3)
            ids = tuple(sorted(sentences[i].id for i in picks))
            s = sentences[picks[0]]
            reason = f"Sentence {s.id} matches {c.title!r} (similarity {best:.2f} ≥ {PASS_THRESHOLD}): “{_clip(s.text)}”"
            out.append(Judgement(c.title, True, score, ids, reason))
        elif top:
            s = sentences[top[0]]
            reason = (
                f"No sentence matches {c.title!r}: the closest, sentence {s.id}, has similarity "
                f"{best:.2f} < {PASS_THRESHOLD}."
            )
            out.append(Judgement(c.title, False, score, (), reason))
        else:
            out.append(Judgement(c.title, False, 0.0, (), f"Nothing said shares a word with {c.title!r}."))
    return out


def _introduces(text: str, item: ContentItem) -> bool:
    name = item.title.strip().casefold()
    if not name:
        return False
    m = _ZH_INTRO.search(text) or _EN_INTRO.search(text)
    return m is not None and name in m.group(1).casefold()


def identify(
    sentences: Sequence[Sentence], lang: str, speakers: Sequence[str], contents: Sequence[ContentItem]
) -> list[Identity]:
    """Which requested identity each speaker has (or ``None``), one per speaker in order.

    A speaker who introduces themselves ("I'm the project manager", "我是产品经理") with an
    item's name takes it (score 1); otherwise a (speaker, item) pair scores the cosine similarity
    of Name + Description to everything the speaker said (the sum of their sentence vectors),
    with the speaker's two sentences most like the item as evidence. Pairs are assigned
    greedily, best first, each speaker and each identity once; a pair scoring below
    ``IDENTITY_THRESHOLD`` (or without a sentence sharing a word with the item) is not assigned.
    """
    x, q = _vectors(sentences, lang, [f"{c.title} {c.content}" for c in contents])
    scored: list[tuple[float, int, int, tuple[int, ...]]] = []
    for si, spk in enumerate(speakers):
        cols = [i for i, s in enumerate(sentences) if s.speaker == spk]
        profile = np.asarray(x[cols].sum(axis=0)).ravel() if cols else np.zeros(x.shape[1])
        norm = float(np.linalg.norm(profile)) or 1.0
        for ci, item in enumerate(contents):
            intro = [sentences[i].id for i in cols if _introduces(sentences[i].text, item)]
            if intro:
                scored.append((1.0, si, ci, tuple(intro[:2])))
                continue
            query = q[ci].toarray().ravel()
            score = round(float(query @ profile) / norm, 9)
            row = np.zeros(len(sentences))
            row[cols] = np.round(np.asarray(x[cols] @ query).ravel(), 9) if cols else 0
            picks = _best(row, 1e-9, 2)
            if score >= IDENTITY_THRESHOLD and picks:
                scored.append((score, si, ci, tuple(sorted(sentences[i].id for i in picks))))
    taken_s: dict[int, Identity] = {}
    taken_c: set[int] = set()
    for _score, si, ci, ids in sorted(scored, key=lambda p: (-p[0], p[1], p[2])):
        if si in taken_s or ci in taken_c:
            continue
        taken_s[si] = Identity(speakers[si], contents[ci].title, ids)
        taken_c.add(ci)
    return [taken_s.get(si, Identity(spk, None, ())) for si, spk in enumerate(speakers)]


def extract(
    sentences: Sequence[Sentence], lang: str, contents: Sequence[ContentItem], sep: str = " "
) -> list[Extraction]:
    """Per item, the sentence most like Title + Content as its value (and a second one within 85 %
    of its similarity), in time order; an empty value when nothing reaches ``EXTRACT_THRESHOLD``."""
    sims = _similarities(sentences, lang, [f"{c.title} {c.content}" for c in contents])
    asks = np.array([0.5 if is_question(s.text, lang) else 1.0 for s in sentences])
    out = []
    for c, row in zip(contents, sims):
        row = np.round(row * asks, 9)
        top = _best(row, EXTRACT_THRESHOLD, 1)
        if not top:
            out.append(Extraction(c.title, "", (), c.identity))
            continue
        picks = sorted(_best(row, max(EXTRACT_THRESHOLD, 0.85 * float(row[top[0]])), 2))
        value = sep.join(sentences[i].text.strip() for i in picks)
        out.append(Extraction(c.title, value, tuple(sentences[i].id for i in picks), c.identity))
    return out
