"""The CustomPrompt result file as a DataFrame (rest-api §4.8)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from tingwu_nb.results._fields import as_str, build, get, payload, records

__all__ = ["CUSTOM_PROMPT_COLUMNS", "custom_prompt_frame"]

#: One row per prompt content; ``name`` echoes ``Contents[].Name``, ``result`` is the model's text
#: (often Markdown, sometimes JSON as a string), ``truncated`` True when the input was cut.
CUSTOM_PROMPT_COLUMNS = ("name", "result", "truncated")


def custom_prompt_frame(doc: Mapping[str, Any] | None) -> pd.DataFrame:
    """One row per answered prompt, in file order (``CUSTOM_PROMPT_COLUMNS``)."""
    cols: dict[str, list[Any]] = {c: [] for c in CUSTOM_PROMPT_COLUMNS}
    for item in records(payload(doc, "CustomPrompt"), "Contents", "Results"):
        truncated = get(item, "Truncated", default=False)
        cols["name"].append(as_str(get(item, "Name")))
        cols["result"].append(as_str(get(item, "Result", "Content", "Text")))
        cols["truncated"].append(truncated is True or str(truncated).lower() == "true")
    return build(CUSTOM_PROMPT_COLUMNS, {"truncated": "bool"}, cols)
