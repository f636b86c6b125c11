"""Tolerant field access and column-wise frame construction shared by the result parsers.

Result files use PascalCase keys (``SentenceId``); the DashScope sibling and some unconfirmed
layouts use camelCase (``sentenceId``). :func:`get` reads either. Values of the wrong type become
the column's missing value (None, NaN or ``<NA>``), never an exception. :func:`build` makes a
DataFrame from one plain list per column with the documented dtypes, so an empty document gives
an empty frame with the right columns and dtypes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["as_float", "as_int", "as_str", "build", "get", "id_list", "payload", "records", "seconds"]


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def get(obj: Any, *names: str, default: Any = None) -> Any:
    """The first of ``names`` with a value in ``obj`` (each tried as written, then camelCase).

    The tolerance rule of :func:`~tingwu_nb.client.taskinfo.pick` (which the results layer may
    not import), except that a key holding null counts as absent and ``obj`` may be anything
    (not a mapping: ``default``).
    """
    if not isinstance(obj, Mapping):
        return default
    for name in names:
        value = obj.get(name)
        if value is None:
            value = obj.get(_camel(name))
        if value is not None:
            return value
    return default


def payload(doc: Any, kind: str) -> Any:
    """The payload of a result file: ``doc[kind]`` (either spelling), or ``doc`` itself when the
    wrapper is absent (DashScope layout); None for a missing document."""
    if doc is None:
        return None
    if isinstance(doc, Mapping):
        value = get(doc, kind)
        if value is not None:
            return value
        if "TaskId" in doc or "taskId" in doc:  # a wrapper whose payload is absent
            return None
    return doc


def records(value: Any, *wrappers: str) -> list[Mapping[str, Any]]:
    """The list of objects in ``value``: a list, or a dict holding one under a ``wrappers`` key.

    Items that are not objects are dropped; anything else gives ``[]``.
    """
    if isinstance(value, Mapping):
        value = get(value, *wrappers) if wrappers else None
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, Mapping)]


def as_float(value: Any) -> float:
    """A float, or NaN when missing or not a number."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def seconds(value: Any) -> float:
    """Milliseconds (number or numeric string) -> float seconds; NaN when missing or invalid."""
    return as_float(value) / 1000.0


def as_int(value: Any) -> Any:
    """An integer id, or None when missing or not integral (``"7"`` -> 7, True -> None)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if number.is_integer() else None


def as_str(value: Any) -> str | None:
    return None if value is None else str(value)


def id_list(value: Any) -> list[int]:
    """Sentence ids as a list of ints: from a list, one number, or ``"1,2"``; bad items dropped."""
    if value is None:
        return []
    if isinstance(value, str):
        value = value.replace(";", ",").split(",")
    elif not isinstance(value, (list, tuple)):
        value = [value]
    out = []
    for item in value:
        number = as_int(item.strip() if isinstance(item, str) else item)
        if number is not None:
            out.append(number)
    return out


def _objects(values: Sequence[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):  # element-wise: lists must stay lists, not become 2-D
        out[i] = value
    return out


def _column(values: Any, dtype: str) -> Any:
    if dtype in ("float64", "int64", "bool"):
        if isinstance(values, np.ndarray) and values.dtype == dtype:
            return values
        try:
            return np.asarray(values, dtype=dtype)
        except (TypeError, ValueError):
            if dtype != "float64":
                raise
            return np.asarray([as_float(v) for v in values], dtype="float64")
    if dtype in ("Int64", "boolean"):
        return values if isinstance(values, pd.api.extensions.ExtensionArray) else pd.array(list(values), dtype=dtype)
    if isinstance(values, np.ndarray) and values.dtype == object:
        column = values
    else:
        column = _objects(values)  # element-wise: lists must stay lists, not become 2-D
    return pd.Series(column, dtype=object, copy=False)  # explicit: pandas 3 would infer "str", None -> NaN


def build(columns: Sequence[str], dtypes: Mapping[str, str], data: Mapping[str, Iterable[Any]]) -> pd.DataFrame:
    """A frame with exactly ``columns`` (in order) from one list or array per column.

    ``dtypes`` maps a column to ``float64``, ``int64``, ``bool``, ``Int64`` / ``boolean``
    (nullable), ``list`` (an object column of Python lists) or ``object`` (the default:
    strings / None). Columns are made in their final dtype (no ``astype`` pass).
    """
    cols = {}
    for name in columns:
        values = data[name]
        if not isinstance(values, (list, np.ndarray, pd.api.extensions.ExtensionArray)):
            values = list(values)
        cols[name] = _column(values, dtypes.get(name, "object"))
    return pd.DataFrame(cols)
