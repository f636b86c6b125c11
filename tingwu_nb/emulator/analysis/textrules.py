"""Rules over sentences: action items, questions, and the scene (Interview / Lecture / Meeting).

Rules, not models, because they measured better for to-dos (offline-engine.md §7 and the last
section: the rules found all 10 actions with their owners), and they are kept in use with the
language-model engine too.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from tingwu_nb.emulator.analysis.base import Sentence

__all__ = ["action_score", "classify", "is_question"]

_DAYS = (
    r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|tomorrow|tonight|this week|next week|"
    r"next month|the end of (?:the )?(?:day|week|month|quarter)|end of (?:the )?(?:day|week|month|quarter)|eod|noon)"
)
#: (pattern, weight): a sentence's action score is the sum of the weights of the rules it matches.
EN_ACTION_RULES: tuple[tuple[re.Pattern[str], float], ...] = tuple(
    (re.compile(p, re.IGNORECASE), w)
    for p, w in (
        (r"\baction items?\b|\bto-?dos?\b|\bfollow[- ]up\b|\bnext steps?\b", 3.0),
        (r"\bI(?:'ll| will| am going to|'m going to| can take| take care of)\b", 2.0),
        (
            r"\b(?:you|he|she|they|\w+) (?:will|needs? to|should|has to|have to) (?:send|prepare|draft|share|"
            r"update|review|book|write|check|call|email|schedule|finish|submit|set up|organi[sz]e)\b",
            2.0,
        ),
        (r"\bby " + _DAYS + r"\b|\bbefore " + _DAYS + r"\b|\bdeadline\b|\bdue\b", 2.0),
        (r"\bwe (?:need to|should|must|have to|will|'ll)\b|\bwe'll\b|\blet'?s\b|\bplease\b", 1.0),
        (
            r"\b(?:please|can you|could you|would you) (?:\w+ )?(?:send|prepare|draft|share|update|review|book|"
            r"write|check|call|email|schedule|finish|submit|set up|organi[sz]e|take|ask|make|look)\b",
            2.0,
        ),
        (r"\bmake sure\b|\bresponsible for\b|\bin charge of\b|\bassign", 1.0),
    )
)
#: phrases that look like a commitment but are not ("let's see", "I will say").
EN_NOT_ACTION = re.compile(
    r"\blet'?s (?:see|say|be honest|face it)\b|\bI(?:'ll| will) (?:say|admit|be honest)\b", re.IGNORECASE
)
ZH_ACTION_RULES: tuple[tuple[re.Pattern[str], float], ...] = tuple(
    (re.compile(p), w)
    for p, w in (
        (r"待办|行动项|跟进|负责", 3.0),
        (r"我(?:会|来|负责|去)|(?:你|他|她)(?:来|负责|去)", 2.0),
        (
            r"(?:周[一二三四五六日天末]|下周|明天|月底|本周|今天|季度末)(?:之?前|以前)|要在.{1,12}(?:之前|以前)|截止",
            2.0,
        ),
        (r"需要|请|计划|必须|安排|务必|尽快", 1.0),
    )
)
#: Japanese and Korean: deadlines ("までに", "까지"), requests and first-person commitments.
JA_ACTION_RULES: tuple[tuple[re.Pattern[str], float], ...] = tuple(
    (re.compile(p), w)
    for p, w in (
        (r"までに|締め切り|期限|担当", 2.0),
        (r"お願いします|してください|ください|しておきます|やります|送ります|対応します|確認します", 2.0),
        (r"必要があります|しましょう|予定です", 1.0),
    )
)
KO_ACTION_RULES: tuple[tuple[re.Pattern[str], float], ...] = tuple(
    (re.compile(p), w)
    for p, w in (
        (r"까지|마감|담당", 2.0),
        (r"겠습니다|해 주세요|주세요|부탁", 2.0),
        (r"해야 합니다|합시다|예정입니다", 1.0),
    )
)
ACTION_THRESHOLD = 2.0

EN_QUESTION_START = re.compile(
    r"^(?:what|why|how|when|where|who|whom|whose|which|do|does|did|is|are|was|were|can|could|would|"
    r"should|will|shall|have|has|may|might|any)\b",
    re.IGNORECASE,
)
ZH_QUESTION = re.compile(
    r"[吗呢么嘛][？?。.!！]?$|什么|怎么|为什么|哪|多少|几[个点天号时]|是否|是不是|能不能|有没有|要不要|对不对"
)


def action_score(sentence: Sentence, lang: str) -> float:
    """How strongly ``sentence`` reads as a to-do (0: not at all); ``ACTION_THRESHOLD`` makes it one.

    A question counts only when it asks someone to do something ("can you send…").
    """
    text = sentence.text.strip()
    if len(text) < 5:
        return 0.0
    rules = {"cn": ZH_ACTION_RULES, "yue": ZH_ACTION_RULES, "ja": JA_ACTION_RULES, "ko": KO_ACTION_RULES}
    if lang in rules:
        return sum(w for p, w in rules[lang] if p.search(text))
    if EN_NOT_ACTION.search(text):
        return 0.0
    score = sum(w for p, w in EN_ACTION_RULES if p.search(text))
    if text.endswith("?") and not re.search(r"\b(?:can|could|would) you\b", text, re.IGNORECASE):
        score /= 2
    return score


def is_question(text: str, lang: str) -> bool:
    """A question: ends with ?/？, or starts with an interrogative (English), or ends with 吗/呢 or
    contains 什么/怎么/… (Chinese). Too-short utterances ("Right?", "OK?") are not questions."""
    text = text.strip()
    if lang in ("cn", "yue", "ja", "ko"):
        body = re.sub(r"[\s，。？！,.?!]", "", text)
        return len(body) >= 4 and (text.endswith(("?", "？")) or ZH_QUESTION.search(text) is not None)
    words = text.split()
    if len(words) < 3:
        return False
    return text.endswith("?") or (EN_QUESTION_START.match(text) is not None and not text.endswith("!"))


def classify(sentences: Sequence[Sentence], lang: str) -> dict[str, float]:
    """Scene scores ``{"Interview", "Lecture", "Meeting"}`` summing to 1 (2 decimals).

    Features: the speakers with ≥ 5 % of the text (``k``), the top speaker's share of the text
    (monologue share), turn-taking rate (speaker changes per sentence), question ratio, and how
    much the questions come from one side. Heuristics, each raw score starting at 0.1:

    * Lecture  += 2·(share − 0.5)⁺ + 0.6·[k = 1] + 0.3·(0.3 − turn rate)⁺
    * Interview += [k = 2]·(0.4 + 2·question ratio + asymmetry) + 0.2·[k = 3]
    * Meeting  += 0.35·min(k − 1, 4) + 0.5·turn rate·[k ≥ 3] + 0.2·(1 − share)
    """
    if not sentences:
        return {"Interview": 0.0, "Lecture": 0.0, "Meeting": 1.0}
    size = Counter()
    for s in sentences:
        size[s.speaker] += len(s.text) or 1
    total = sum(size.values())
    k = sum(1 for v in size.values() if v >= 0.05 * total)
    share = max(size.values()) / total
    n = len(sentences)
    turns = sum(1 for a, b in zip(sentences, sentences[1:]) if a.speaker != b.speaker) / max(1, n - 1)
    asked = Counter(s.speaker for s in sentences if is_question(s.text, lang))
    q_ratio = sum(asked.values()) / n
    asym = max(asked.values()) / sum(asked.values()) if asked else 0.0
    lecture = 0.1 + 2 * max(0.0, share - 0.5) + 0.6 * (k == 1) + 0.3 * max(0.0, 0.3 - turns)
    interview = 0.1 + (k == 2) * (0.4 + 2 * q_ratio + asym) + 0.2 * (k == 3)
    meeting = 0.1 + 0.35 * min(k - 1, 4) + 0.5 * turns * (k >= 3) + 0.2 * (1 - share)
    raw = {"Interview": interview, "Lecture": lecture, "Meeting": meeting}
    norm = sum(raw.values())
    out = {key: round(v / norm, 2) for key, v in raw.items()}
    top = max(out, key=lambda key: (out[key], key))
    out[top] = round(1.0 - sum(v for key, v in out.items() if key != top), 2)
    return out
