"""The PptExtraction result file as a DataFrame (rest-api §4.7; offline video tasks only).

The slide images' presigned links are capabilities (architecture §4.7), so the frame keeps
only the image's file name, never the signed URL: fetch images from the raw file if needed.
Slides join the transcript on time (``pd.merge_asof`` on ``start_s``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import pandas as pd

from tingwu_nb.results._fields import as_int, as_str, build, get, payload, records, seconds

__all__ = ["SLIDE_COLUMNS", "slides_frame"]

SLIDE_COLUMNS = ("slide_id", "start_s", "end_s", "summary", "image_name")


def _name(url: Any) -> str | None:
    text = as_str(url)
    return None if not text else urlsplit(text).path.rsplit("/", 1)[-1] or None


def slides_frame(doc: Mapping[str, Any] | None) -> pd.DataFrame:
    """One row per key frame (slide), in file order (``SLIDE_COLUMNS``)."""
    cols: dict[str, list[Any]] = {c: [] for c in SLIDE_COLUMNS}
    for n, item in enumerate(records(payload(doc, "PptExtraction"), "KeyFrameList"), start=1):
        number = as_int(get(item, "Id"))
        cols["slide_id"].append(n if number is None else number)
        cols["start_s"].append(seconds(get(item, "Start")))
        cols["end_s"].append(seconds(get(item, "End")))
        cols["summary"].append(as_str(get(item, "Summary")))
        cols["image_name"].append(_name(get(item, "FileUrl")))
    return build(SLIDE_COLUMNS, {"slide_id": "int64", "start_s": "float64", "end_s": "float64"}, cols)
