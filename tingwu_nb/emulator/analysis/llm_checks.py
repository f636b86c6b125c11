"""Parsing and plausibility checks for the language model's answers (pure functions).

``llm_engine`` accepts an answer only when it parses and passes these checks together with
``grounding.py``; otherwise it uses the extractive result. The checks are deliberately cheap and
conservative: right script for the language, words taken from the transcript, no copied
transcript, no repetition loop.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from tingwu_nb.emulator.analysis.base import MindNode, QAPair, Transcript

__all__ = ["KEYWORD_STOPWORDS", "copies_transcript", "grounded_words", "ids_in", "is_loop", "label_value", "node_titles", "parse_outline", "script_ok",
           "supported_qa", "whole_sentences"]

_SCRIPTS = {
    "cn": r"[\u4e00-\u9fff]", "yue": r"[\u4e00-\u9fff]", "ja": r"[\u3040-\u30ff\u4e00-\u9fff]",
    "ko": r"[\uac00-\ud7af]", "ru": r"[\u0400-\u04ff]", "en": r"[A-Za-z]", "de": r"[A-Za-zÄÖÜäöüß]",
    "fr": r"[A-Za-zÀ-ÿ]",
}
_LATIN = ("en", "de", "fr")
_FOREIGN_FOR_LATIN = r"[\u4e00-\u9fff\u3040-\u30ff\uac00-\ud7af\u0400-\u04ff]"
_STOP = frozenset("the a an and or of to in on for with at by from is are was were be been this that it as we "
                  "they he she you i our their his her its will would should can could not no yes".split())


def label_value(text: str, label: str) -> str | None:
    """The value after ``label:`` on its line (case-insensitive; ``**Label:**`` tolerated), or None."""
    m = re.search(rf"^[\s*#-]*{re.escape(label)}\s*\**\s*[:：]\s*\**\s*(.+)$", text, re.IGNORECASE | re.MULTILINE)
    return m.group(1).strip() if m else None


def ids_in(text: str) -> tuple[int, ...]:
    """Sentence ids written as numbers in ``text`` (``"3, 7"``, ``"[3][7]"``), in order, unique."""
    return tuple(dict.fromkeys(int(n) for n in re.findall(r"\d+", text)))


def script_ok(text: str, language: str) -> bool:
    """Whether ``text`` is written in the script of ``language`` (and, for Latin, not mostly CJK)."""
    pattern = _SCRIPTS.get(language)
    if pattern is None or not text.strip():
        return bool(text.strip())
    own = len(re.findall(pattern, text))
    if language in _LATIN:
        return own > 0 and len(re.findall(_FOREIGN_FOR_LATIN, text)) <= own * 0.05
    letters = len(re.findall(r"\w", text))
    return own >= max(1, 0.3 * letters)


def _units(text: str, language: str) -> list[str]:
    if language in ("cn", "yue", "ja"):
        return re.findall(r"[\u3040-\u30ff\u4e00-\u9fff]", text)
    return [w for w in re.findall(r"\w+", text.lower()) if w not in _STOP and len(w) > 2]


def grounded_words(text: str, t: Transcript, *, share: float = 0.5) -> bool:
    """At least ``share`` of the content words (Han/kana characters for CJK) occur in the transcript."""
    units = _units(text, t.language)
    if not units:
        return False
    known = set(_units(t.text, t.language))
    return sum(u in known for u in units) >= share * len(units)


def copies_transcript(text: str, t: Transcript, *, longest: int = 60) -> bool:
    """Whether ``text`` contains a transcript sentence of ``longest``+ characters verbatim."""
    folded = " ".join(text.lower().split())
    return any(len(s.text) >= longest and " ".join(s.text.lower().split()) in folded for s in t.sentences)


def whole_sentences(text: str) -> str:
    """``text`` without a trailing unfinished sentence (for answers cut by the token limit)."""
    ends = [m.end() for m in re.finditer(r"[.!?。！？](?=\s|$)", text)]
    return text[:ends[-1]].strip() if ends else text.strip()


def is_loop(text: str, *, min_repeats: int = 3) -> bool:
    """Whether a line or a phrase of 3+ words repeats ``min_repeats`` times back to back."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if any(lines[i:i + min_repeats] == [lines[i]] * min_repeats for i in range(len(lines))):
        return True
    return re.search(r"(\b(?:\w+\W+){3,8}?)\1{" + str(min_repeats - 1) + ",}", text + " ") is not None


def parse_outline(text: str, *, max_depth: int = 3) -> tuple[MindNode, ...]:
    """``- topic`` / ``  - point`` lines as mind-map nodes (depth by indentation, at most ``max_depth``)."""
    roots: list[tuple[str, list]] = []
    stack: list[tuple[int, list]] = [(-1, roots)]
    for line in text.splitlines():
        m = re.match(r"^(\s*)(?:[-*•]|\d+[.)]|\[\d+\])\s*(.+)$", line)
        if not m:
            continue
        indent, title = len(m.group(1).replace("\t", "  ")), m.group(2).strip().strip("*").strip()
        while stack and stack[-1][0] >= indent:
            stack.pop()
        if len(stack) > max_depth:
            continue
        children: list = []
        stack[-1][1].append((title, children))
        stack.append((indent, children))

    def build(items: list) -> tuple[MindNode, ...]:
        return tuple(MindNode(title, build(children)) for title, children in items if title)

    return build(roots)


KEYWORD_STOPWORDS = frozenset("the a an and or of to in on for with we i you it this that is are be good morning thanks "
                  "thank you great everyone".split())


def node_titles(node: MindNode) -> list[str]:
    return [node.title] + [x for child in node.children for x in node_titles(child)]


def supported_qa(qa: QAPair, t: Transcript) -> bool:
    """The question is phrased as one, and its words and the answer's come from the sentences they cite."""
    if not qa.question.rstrip().endswith(("?", "？")):
        return False
    by_id = t.by_id()

    def cited(ids: Sequence[int]) -> Transcript:
        return Transcript(tuple(by_id[i] for i in ids if i in by_id), t.language)

    return (grounded_words(qa.question, cited(qa.question_ids), share=0.4)
            and grounded_words(qa.answer, cited(qa.answer_ids), share=0.4))
