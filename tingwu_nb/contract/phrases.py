"""Hot-word lists (Tingwu "phrases", rest §9): the rules a list must follow, shared by both sides.

The client checks a list with :func:`word_weights_problems` before sending it (nothing is sent
when a rule is broken) and the emulator answers the same problems with an error, so both
agree on one set of rules. ``WordWeights`` travels as a JSON *string* holding a map
``{word: weight}`` (:func:`encode_word_weights` / :func:`decode_word_weights`).

Limits, from Tingwu's hot-word guide (help.aliyun.com/zh/tingwu, "热词" overview; the SDK
models in rest §9 carry none): at most :data:`MAX_LISTS` lists per account,
:data:`MAX_WORDS` words per list, :data:`MAX_WORD_CHARS` characters per word, no punctuation or
special characters, integer weights in [:data:`MIN_WEIGHT`, :data:`MAX_WEIGHT`] (> 0 makes a
word more likely, < 0 less, -6 "avoid it", 2 is the usual value). The guide says the cloud
recognises Chinese hot words only; the emulator takes words of any language.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = [
    "MAX_LISTS",
    "MAX_WEIGHT",
    "MAX_WORDS",
    "MAX_WORD_CHARS",
    "MIN_WEIGHT",
    "PHRASES_PATH",
    "decode_word_weights",
    "encode_word_weights",
    "word_weights_problems",
]

PHRASES_PATH = "/openapi/tingwu/v2/resources/phrases"
MAX_LISTS = 10
MAX_WORDS = 300
MAX_WORD_CHARS = 10
MIN_WEIGHT = -6
MAX_WEIGHT = 5


def _word_problem(word: Any) -> str | None:
    if not isinstance(word, str) or not word.strip():
        return "a word is empty"
    if word != word.strip() or "  " in word:
        return f"word {word!r} has leading, trailing or double spaces"
    if len(word) > MAX_WORD_CHARS:
        return f"word {word!r} is longer than {MAX_WORD_CHARS} characters"
    if not all(ch.isalnum() or ch == " " for ch in word):
        return f"word {word!r} contains punctuation or special characters (letters, digits and spaces only)"
    return None


def word_weights_problems(word_weights: Any) -> list[str]:
    """Everything wrong with a ``{word: weight}`` map, one sentence each (``[]`` = valid).

    Checks: a non-empty map of at most :data:`MAX_WORDS` words, each word a non-blank string
    of at most :data:`MAX_WORD_CHARS` letters, digits or single inner spaces, each weight an
    integer (not a bool) in [:data:`MIN_WEIGHT`, :data:`MAX_WEIGHT`].
    """
    if not isinstance(word_weights, Mapping):
        return ["WordWeights must be a map of word -> integer weight"]
    if not word_weights:
        return ["WordWeights has no words (at least one is needed)"]
    problems = []
    if len(word_weights) > MAX_WORDS:
        problems.append(f"WordWeights has {len(word_weights)} words; a list holds at most {MAX_WORDS}")
    for word, weight in word_weights.items():
        problem = _word_problem(word)
        if problem:
            problems.append(problem)
        if not isinstance(weight, int) or isinstance(weight, bool) or not MIN_WEIGHT <= weight <= MAX_WEIGHT:
            problems.append(f"weight of {word!r} is {weight!r}; it must be an integer from {MIN_WEIGHT} to {MAX_WEIGHT}")
    return problems


def encode_word_weights(word_weights: Mapping[str, int]) -> str:
    """The wire form of ``WordWeights``: a compact JSON string, words in the caller's order."""
    return json.dumps(dict(word_weights), ensure_ascii=False, separators=(",", ":"))


def decode_word_weights(value: Any) -> Any:
    """Read ``WordWeights`` from the wire: a JSON string (rest §9) or, tolerated, a map.

    Returns the decoded value *unchecked* (pass it to :func:`word_weights_problems`), or None
    when it is neither a map nor a JSON string.
    """
    if isinstance(value, Mapping):
        return dict(value)
    if not isinstance(value, str):
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None
