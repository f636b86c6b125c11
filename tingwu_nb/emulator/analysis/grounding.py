"""Grounding checks: does an engine's output refer to the transcript it was computed from?

Style: every ``validate_*`` / ``check_*`` function is pure and returns a **list of problems**
(short English sentences); an empty list means the output is well-formed and grounded. A caller
that wants an exception instead passes the list to :func:`require`, which raises
:class:`GroundingError` (``.feature``, ``.problems``) when it is not empty. The language-model
engine calls these to decide whether to accept a model answer or fall back to the extractive one;
tests call them on both engines.

What "grounded" means here (issue 6 item 1): every sentence id names a real ``Sentence.id``;
keywords occur literally in the text (case-insensitively for Latin script, with whitespace
normalised); chapters tile the sentence list in order; Q&A answers come after their questions;
judgements, identities and extractions answer exactly the requested items with real evidence.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence

from tingwu_nb.emulator.analysis.base import (
    Chapter,
    ContentItem,
    Extraction,
    Identity,
    Judgement,
    KeyInformation,
    MindNode,
    QAPair,
    Transcript,
)
from tingwu_nb.errors import TingwuError

__all__ = [
    "CLASSIFICATION_KEYS",
    "GroundingError",
    "check_ids",
    "keyword_checker",
    "keyword_occurs",
    "require",
    "validate_actions",
    "validate_chapters",
    "validate_classification",
    "validate_extractions",
    "validate_identities",
    "validate_judgements",
    "validate_key_information",
    "validate_mindmap",
    "validate_polish",
    "validate_qa",
]

CLASSIFICATION_KEYS = ("Interview", "Lecture", "Meeting")
MAX_KEYWORDS = 20
MAX_MINDMAP_DEPTH = 4


class GroundingError(TingwuError, ValueError):
    """An engine output is not grounded in its transcript (``.feature``, ``.problems``).

    The LLM engine catches it and uses the extractive result instead.
    """

    def __init__(self, feature: str, problems: Sequence[str]) -> None:
        self.feature = feature
        self.problems = tuple(problems)
        super().__init__(f"{feature}: " + "; ".join(self.problems))


def require(feature: str, problems: Sequence[str]) -> None:
    """Raise :class:`GroundingError` for ``feature`` if ``problems`` is not empty."""
    if problems:
        raise GroundingError(feature, problems)


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"\s+", " ", text).strip()


def _has_cjk(text: str) -> bool:
    return any(
        "\u3040" <= ch <= "\u30ff" or "\u3400" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af" for ch in text
    )


def keyword_checker(transcript: Transcript) -> Callable[[str], bool]:
    """A fast :func:`keyword_occurs` for many words: the transcript is folded once."""
    folded = "\n".join(_fold(s.text) for s in transcript.sentences)
    packed = folded.replace(" ", "")

    def occurs(word: str) -> bool:
        needle = _fold(word)
        if not needle:
            return False
        if _has_cjk(needle):
            return needle.replace(" ", "") in packed
        return re.search(r"(?<!\w)" + re.escape(needle) + r"(?!\w)", folded) is not None

    return occurs


def keyword_occurs(word: str, transcript: Transcript) -> bool:
    """True if ``word`` occurs literally within one sentence of ``transcript``.

    Latin keywords must match whole words (``budget`` does not occur in ``budgetary``), case- and
    width-insensitively; keywords with CJK characters match as substrings, ignoring spaces.
    """
    return keyword_checker(transcript)(word)


def check_ids(
    ids: Iterable[int], transcript: Transcript, *, what: str = "sentence id", ordered: bool = False
) -> list[str]:
    """Problems with ``ids``: unknown ids, duplicates and (with ``ordered``) ids out of order."""
    known = {s.id for s in transcript.sentences}
    ids = list(ids)
    problems = [f"{what} {i!r} is not a sentence of the transcript" for i in ids if i not in known]
    if len(set(ids)) != len(ids):
        problems.append(f"{what}s repeat: {ids}")
    if ordered and ids != sorted(ids):
        problems.append(f"{what}s are not in time order: {ids}")
    return problems


def validate_key_information(
    info: KeyInformation, transcript: Transcript, max_keywords: int = MAX_KEYWORDS
) -> list[str]:
    """Keywords occur, are unique and at most ``max_keywords``; key sentences real and ordered."""
    problems = []
    if len(info.keywords) > max_keywords:
        problems.append(f"{len(info.keywords)} keywords, at most {max_keywords} allowed")
    folded = [_fold(k) for k in info.keywords]
    if len(set(folded)) != len(folded):
        problems.append(f"keywords repeat: {list(info.keywords)}")
    occurs = keyword_checker(transcript)
    problems += [f"keyword {k!r} does not occur in the text" for k in info.keywords if not occurs(k)]
    problems += check_ids(info.key_sentence_ids, transcript, what="key sentence id", ordered=True)
    return problems


def validate_actions(ids: Sequence[int], transcript: Transcript, limit: int = 6) -> list[str]:
    """Action sentence ids are real, in time order, and at most ``limit``."""
    problems = check_ids(ids, transcript, what="action sentence id", ordered=True)
    if len(ids) > limit:
        problems.append(f"{len(ids)} actions, at most {limit} allowed")
    return problems


def validate_classification(scores: Mapping[str, float]) -> list[str]:
    """Exactly Interview, Lecture and Meeting, each in [0, 1], summing to 1 (± 0.01)."""
    if set(scores) != set(CLASSIFICATION_KEYS):
        return [f"classification keys {sorted(scores)} are not {list(CLASSIFICATION_KEYS)}"]
    values = list(scores.values())
    problems = [f"{k} score {v!r} is not in [0, 1]" for k, v in scores.items() if not 0.0 <= v <= 1.0]
    if not problems and not math.isclose(sum(values), 1.0, abs_tol=0.01):
        problems.append(f"classification scores sum to {sum(values):.3f}, not 1")
    return problems


def validate_chapters(chapters: Sequence[Chapter], transcript: Transcript) -> list[str]:
    """Chapters are non-empty, have a headline, and together tile the sentence list in order."""
    if not transcript.sentences:
        return []
    if not chapters:
        return ["no chapters for a non-empty transcript"]
    problems = []
    for n, ch in enumerate(chapters, 1):
        if not ch.sentence_ids:
            problems.append(f"chapter {n} has no sentences")
        if not ch.headline.strip():
            problems.append(f"chapter {n} has no headline")
    tiled = [i for ch in chapters for i in ch.sentence_ids]
    expected = [s.id for s in transcript.sentences]
    if tiled != expected:
        problems.append(
            "chapters do not tile the transcript: every sentence must be in exactly one "
            "chapter, chapters contiguous and in order"
        )
    return problems


def validate_qa(pairs: Sequence[QAPair], transcript: Transcript) -> list[str]:
    """Each pair has text, real question and answer ids, and its answer after its question."""
    problems = []
    for n, qa in enumerate(pairs, 1):
        if not qa.question.strip() or not qa.answer.strip():
            problems.append(f"Q&A {n} has an empty question or answer")
        if not qa.question_ids or not qa.answer_ids:
            problems.append(f"Q&A {n} lacks question or answer sentence ids")
            continue
        problems += check_ids(qa.question_ids, transcript, what=f"Q&A {n} question id")
        problems += check_ids(qa.answer_ids, transcript, what=f"Q&A {n} answer id")
        if min(qa.answer_ids) <= max(qa.question_ids):
            problems.append(
                f"Q&A {n}: answer ids {list(qa.answer_ids)} do not follow question ids "
                f"{list(qa.question_ids)}"
            )
    return problems


def validate_mindmap(root: MindNode, transcript: Transcript) -> list[str]:
    """Titles are non-empty, depth ≤ 4, and every ``begin_ms`` lies within the recording."""
    end = max((s.end for s in transcript.sentences), default=0)
    if not transcript.sentences and not root.children:
        return []  # an empty transcript has an empty mind map
    problems: list[str] = []

    def walk(node: MindNode, depth: int) -> None:
        if depth > MAX_MINDMAP_DEPTH:
            problems.append(f"mind map deeper than {MAX_MINDMAP_DEPTH} levels at {node.title!r}")
            return
        if not node.title.strip():
            problems.append(f"an empty mind-map title at depth {depth}")
        if node.begin_ms is not None and not 0 <= node.begin_ms <= end:
            problems.append(f"mind-map node {node.title!r} begins at {node.begin_ms} ms, outside 0..{end}")
        for child in node.children:
            walk(child, depth + 1)

    walk(root, 1)
    return problems


def validate_polish(
    texts: Sequence[str], paragraphs: Sequence[Sequence[int]], transcript: Transcript
) -> list[str]:
    """One text per paragraph, each non-empty when its paragraph has text; paragraph ids real."""
    problems = []
    if len(texts) != len(paragraphs):
        problems.append(f"{len(texts)} polished texts for {len(paragraphs)} paragraphs")
    by_id = transcript.by_id()
    for n, (text, ids) in enumerate(zip(texts, paragraphs), 1):
        problems += check_ids(ids, transcript, what=f"paragraph {n} sentence id")
        if any(by_id[i].text.strip() for i in ids if i in by_id) and not text.strip():
            problems.append(f"paragraph {n} polished to an empty text")
    return problems


def _check_items(kind: str, titles: Sequence[str], contents: Sequence[ContentItem]) -> list[str]:
    wanted = [c.title for c in contents]
    if list(titles) != wanted:
        return [f"{kind} answer {list(titles)}, not one per requested item {wanted} in order"]
    return []


def validate_judgements(
    judgements: Sequence[Judgement], transcript: Transcript, contents: Sequence[ContentItem]
) -> list[str]:
    """One judgement per content item in order; score in [0, 1]; evidence real; a pass has evidence."""
    problems = _check_items("inspection", [j.title for j in judgements], contents)
    for j in judgements:
        if not 0.0 <= j.score <= 1.0:
            problems.append(f"judgement {j.title!r} score {j.score!r} is not in [0, 1]")
        if j.passed and not j.evidence_ids:
            problems.append(f"judgement {j.title!r} passed without evidence")
        if not j.reason.strip():
            problems.append(f"judgement {j.title!r} gives no reason")
        problems += check_ids(j.evidence_ids, transcript, what=f"{j.title!r} evidence id")
    return problems


def validate_identities(
    identities: Sequence[Identity], transcript: Transcript, contents: Sequence[ContentItem]
) -> list[str]:
    """One answer per speaker; identities are requested names or None; evidence is the speaker's."""
    problems = []
    speakers = transcript.speakers
    if [i.speaker_id for i in identities] != list(speakers):
        problems.append(
            f"identities for speakers {[i.speaker_id for i in identities]}, expected {list(speakers)}"
        )
    names = {c.title for c in contents}
    by_id = transcript.by_id()
    for ident in identities:
        if ident.identity is not None and ident.identity not in names:
            problems.append(f"speaker {ident.speaker_id}: {ident.identity!r} is not a requested identity")
        problems += check_ids(ident.evidence_ids, transcript, what=f"speaker {ident.speaker_id} evidence id")
        if any(i in by_id and by_id[i].speaker != ident.speaker_id for i in ident.evidence_ids):
            problems.append(f"speaker {ident.speaker_id}: evidence spoken by someone else")
    return problems


def validate_extractions(
    extractions: Sequence[Extraction], transcript: Transcript, contents: Sequence[ContentItem]
) -> list[str]:
    """One extraction per item in order; evidence real; a non-empty value has evidence."""
    problems = _check_items("extraction", [e.title for e in extractions], contents)
    for e in extractions:
        if e.value.strip() and not e.evidence_ids:
            problems.append(f"extraction {e.title!r} has a value but no evidence")
        problems += check_ids(e.evidence_ids, transcript, what=f"{e.title!r} evidence id")
    return problems
