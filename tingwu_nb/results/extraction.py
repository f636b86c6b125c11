"""The ContentExtraction result file as a DataFrame — layout UNCONFIRMED (rest-api §4.10).

Read tolerantly: a list of objects (or a dict holding one under ``Contents``/``Results``/
``Items``/``Extractions``/``Fields``), each with a field name under ``Key``/``Name``/``Title``/
``Field`` and its value under ``Value``/``Content``/``Result``/``Text``/``Answer``; or a dict
``{field: value}``. Values that are not strings are kept as JSON text. ``sentence_ids`` (from
``SentenceIds``, a list) explodes to join sentences on ``sentence_id``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pandas as pd

from tingwu_nb.results._fields import as_str, build, get, id_list, payload, records

__all__ = ["EXTRACTION_COLUMNS", "extractions_frame"]

EXTRACTION_COLUMNS = ("name", "value", "sentence_ids")


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def extractions_frame(doc: Mapping[str, Any] | None) -> pd.DataFrame:
    """One row per extracted field, in file order (``EXTRACTION_COLUMNS``)."""
    body = payload(doc, "ContentExtraction")
    items = records(body, "Contents", "Results", "Items", "Extractions", "Fields", "ContentExtraction")
    cols: dict[str, list[Any]] = {c: [] for c in EXTRACTION_COLUMNS}
    if not items and isinstance(body, Mapping):
        items = [{"Key": k, "Value": v} for k, v in body.items()]
    for item in items:
        cols["name"].append(as_str(get(item, "Key", "Name", "Title", "Field")))
        cols["value"].append(_text(get(item, "Value", "Content", "Result", "Text", "Answer")))
        cols["sentence_ids"].append(id_list(get(item, "SentenceIds")))
    return build(EXTRACTION_COLUMNS, {"sentence_ids": "list"}, cols)
