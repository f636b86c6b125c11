"""The TextPolish result file as a DataFrame (rest-api §4.6).

One row per polished paragraph. ``paragraph_id`` joins the paragraphs frame (hence
``speaker_id``); ``sentence_ids`` (a list) explodes to join sentences on ``sentence_id``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from tingwu_nb.results._fields import as_str, build, get, id_list, payload, records, seconds

__all__ = ["POLISH_COLUMNS", "polished_frame"]

POLISH_COLUMNS = ("polish_index", "paragraph_id", "start_s", "end_s", "text", "sentence_ids",
                  "first_sentence_id", "last_sentence_id")
_DTYPES = {"polish_index": "int64", "start_s": "float64", "end_s": "float64", "sentence_ids": "list",
           "first_sentence_id": "Int64", "last_sentence_id": "Int64"}


def polished_frame(doc: Mapping[str, Any] | None) -> pd.DataFrame:
    """One row per polished paragraph, in file order (``POLISH_COLUMNS``)."""
    cols: dict[str, list[Any]] = {c: [] for c in POLISH_COLUMNS}
    for n, item in enumerate(records(payload(doc, "TextPolish"), "Paragraphs", "TextPolish")):
        ids = id_list(get(item, "SentenceIds"))
        cols["polish_index"].append(n)
        cols["paragraph_id"].append(as_str(get(item, "ParagraphId")))
        cols["start_s"].append(seconds(get(item, "Start")))
        cols["end_s"].append(seconds(get(item, "End")))
        cols["text"].append(as_str(get(item, "FormalParagraphText", "Text")))
        cols["sentence_ids"].append(ids)
        cols["first_sentence_id"].append(min(ids) if ids else None)
        cols["last_sentence_id"].append(max(ids) if ids else None)
    return build(POLISH_COLUMNS, _DTYPES, cols)
