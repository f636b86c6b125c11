"""The AutoChapters result file as a DataFrame (rest-api §4.3).

Chapters join the transcript on time: a sentence belongs to the chapter whose
``[start_s, end_s]`` holds its start (``pd.merge_asof(sentences, chapters, on="start_s")``
after sorting both by ``start_s``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from tingwu_nb.results._fields import as_int, as_str, build, get, payload, records, seconds

__all__ = ["CHAPTER_COLUMNS", "chapters_frame"]

#: One row per chapter, in file order. ``chapter_id`` is the file's ``Id`` (its position from 1 if absent).
CHAPTER_COLUMNS = ("chapter_id", "start_s", "end_s", "headline", "summary")
_DTYPES = {"chapter_id": "int64", "start_s": "float64", "end_s": "float64"}


def chapters_frame(doc: Mapping[str, Any] | None) -> pd.DataFrame:
    """One row per chapter of an AutoChapters document (``CHAPTER_COLUMNS``)."""
    cols: dict[str, list[Any]] = {c: [] for c in CHAPTER_COLUMNS}
    for n, item in enumerate(records(payload(doc, "AutoChapters"), "Chapters", "AutoChapters"), start=1):
        number = as_int(get(item, "Id"))
        cols["chapter_id"].append(n if number is None else number)
        cols["start_s"].append(seconds(get(item, "Start")))
        cols["end_s"].append(seconds(get(item, "End")))
        cols["headline"].append(as_str(get(item, "Headline", "Title")))
        cols["summary"].append(as_str(get(item, "Summary")))
    return build(CHAPTER_COLUMNS, _DTYPES, cols)
