"""The ServiceInspection result file as a DataFrame — layout UNCONFIRMED (rest-api §4.9, §10.2).

No real sample exists, so the parser reads every plausible layout: a list of judgements, a
dict holding one under ``Results``/``Items``/``Inspections``/``Contents``/``Dimensions``, or a
dict ``{dimension: judgement}``. Per judgement: the dimension from ``Title``/``Name``/
``Dimension``/``Content``; the score from ``Score`` (a number), else 1.0/0.0 from a boolean
``Passed``/``Hit``/``Result``; the evidence from ``SentenceIds``/``EvidenceSentenceIds``/
``Evidence`` (ids, or objects with ``SentenceId``); the reason from ``Reason``/``Explanation``/
``Comment``/``Detail``. ``evidence_sentence_ids`` explodes to join sentences on ``sentence_id``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from tingwu_nb.results._fields import as_float, as_str, build, get, id_list, payload, records

__all__ = ["INSPECTION_COLUMNS", "inspection_frame"]

INSPECTION_COLUMNS = ("dimension", "score", "passed", "evidence_sentence_ids", "reason")
_WRAPPERS = ("Results", "Items", "Inspections", "Contents", "Dimensions", "ServiceInspection")


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "yes", "pass", "passed", "hit", "1"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "no", "fail", "failed", "miss", "0"):
        return False
    return None


def _evidence(value: Any) -> list[int]:
    if isinstance(value, list) and any(isinstance(v, Mapping) for v in value):
        return id_list([get(v, "SentenceId", "Id") for v in value if isinstance(v, Mapping)])
    return id_list(value)


def _judgements(body: Any) -> list[tuple[Any, Mapping[str, Any]]]:
    items = records(body, *_WRAPPERS)
    if items:
        return [(None, item) for item in items]
    if isinstance(body, Mapping):
        return [(key, value) for key, value in body.items() if isinstance(value, Mapping)]
    return []


def inspection_frame(doc: Mapping[str, Any] | None) -> pd.DataFrame:
    """One row per inspected dimension (``INSPECTION_COLUMNS``; ``passed`` is nullable boolean)."""
    cols: dict[str, list[Any]] = {c: [] for c in INSPECTION_COLUMNS}
    for key, item in _judgements(payload(doc, "ServiceInspection")):
        passed = _flag(get(item, "Passed", "Hit", "Pass", "Result"))
        score = as_float(get(item, "Score"))
        if score != score and passed is not None:  # NaN: no numeric score, use the verdict
            score = 1.0 if passed else 0.0
        cols["dimension"].append(as_str(get(item, "Title", "Name", "Dimension", "Content", default=key)))
        cols["score"].append(score)
        cols["passed"].append(passed)
        cols["evidence_sentence_ids"].append(_evidence(get(item, "SentenceIds", "EvidenceSentenceIds", "Evidence")))
        cols["reason"].append(as_str(get(item, "Reason", "Explanation", "Comment", "Detail")))
    return build(INSPECTION_COLUMNS, {"score": "float64", "passed": "boolean", "evidence_sentence_ids": "list"},
                 cols)
