"""The MeetingAssistance result file as DataFrames (rest-api §4.4).

Keywords, key sentences, actions and scene classifications. Key sentences and actions carry
``sentence_id`` (join with the sentences frame for ``speaker_id``); keys of types that were not
requested may be absent or empty (UNCONFIRMED) — either gives an empty frame. Zero times are
kept as 0.0 (the DashScope sample has ``Start = End = 0`` on actions).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from tingwu_nb.results._fields import as_float, as_int, as_str, build, get, payload, records, seconds

__all__ = [
    "ACTION_COLUMNS",
    "CLASSIFICATION_COLUMNS",
    "KEYWORD_COLUMNS",
    "KEY_SENTENCE_COLUMNS",
    "actions_frame",
    "classifications_frame",
    "key_sentences_frame",
    "keywords_frame",
]

#: One row per keyword in file order; ``rank`` counts from 1, ``score`` is NaN unless the file has one.
KEYWORD_COLUMNS = ("rank", "keyword", "score")
KEY_SENTENCE_COLUMNS = ("key_sentence_id", "sentence_id", "start_s", "end_s", "text")
ACTION_COLUMNS = ("action_id", "sentence_id", "start_s", "end_s", "text")
#: One row per scene (``Interview``, ``Lecture``, ``Meeting``...), in file order.
CLASSIFICATION_COLUMNS = ("scene", "score")
_ITEM_DTYPES = {"sentence_id": "Int64", "start_s": "float64", "end_s": "float64"}


def _assistance(doc: Any) -> Any:
    return payload(doc, "MeetingAssistance")


def keywords_frame(doc: Mapping[str, Any] | None) -> pd.DataFrame:
    """Keywords (``KEYWORD_COLUMNS``): plain strings, or objects with ``Word``/``Keyword``/``Text``."""
    words = get(_assistance(doc), "Keywords")
    cols: dict[str, list[Any]] = {c: [] for c in KEYWORD_COLUMNS}
    for item in words if isinstance(words, list) else []:
        if isinstance(item, Mapping):
            word, score = get(item, "Word", "Keyword", "Text", "Name"), as_float(get(item, "Score", "Weight"))
        else:
            word, score = item, float("nan")
        if word is None or not str(word).strip():
            continue
        cols["rank"].append(len(cols["rank"]) + 1)
        cols["keyword"].append(str(word).strip())
        cols["score"].append(score)
    return build(KEYWORD_COLUMNS, {"rank": "int64", "score": "float64"}, cols)


def _items(doc: Any, key: str, columns: tuple[str, ...]) -> pd.DataFrame:
    cols: dict[str, list[Any]] = {c: [] for c in columns}
    for n, item in enumerate(records(get(_assistance(doc), key)), start=1):
        number = as_int(get(item, "Id"))
        cols[columns[0]].append(n if number is None else number)
        cols["sentence_id"].append(as_int(get(item, "SentenceId")))
        cols["start_s"].append(seconds(get(item, "Start")))
        cols["end_s"].append(seconds(get(item, "End")))
        cols["text"].append(as_str(get(item, "Text")))
    return build(columns, {columns[0]: "int64", **_ITEM_DTYPES}, cols)


def key_sentences_frame(doc: Mapping[str, Any] | None) -> pd.DataFrame:
    """Key sentences (``KEY_SENTENCE_COLUMNS``); ``sentence_id`` is nullable (``Int64``)."""
    return _items(doc, "KeySentences", KEY_SENTENCE_COLUMNS)


def actions_frame(doc: Mapping[str, Any] | None) -> pd.DataFrame:
    """Action items / to-dos (``ACTION_COLUMNS``); ``sentence_id`` is nullable (``Int64``)."""
    return _items(doc, "Actions", ACTION_COLUMNS)


def classifications_frame(doc: Mapping[str, Any] | None) -> pd.DataFrame:
    """Scene scores (``CLASSIFICATION_COLUMNS``): from ``{"Meeting": 0.7, ...}`` or a list of
    ``{Name/Scene/Type, Score}`` objects; a score that is not a number is NaN, an object or list
    under a scene key (an unknown field) is skipped."""
    value = get(_assistance(doc), "Classifications")
    pairs: list[tuple[Any, Any]] = []
    if isinstance(value, Mapping):
        pairs = list(value.items())
    elif isinstance(value, list):
        pairs = [(get(i, "Scene", "Name", "Type", "Label"), get(i, "Score", "Probability")) for i in records(value)]
    scenes = [(str(k), as_float(v)) for k, v in pairs if k is not None and not isinstance(v, (Mapping, list))]
    return build(CLASSIFICATION_COLUMNS, {"score": "float64"},
                 {"scene": [s for s, _ in scenes], "score": [v for _, v in scenes]})
