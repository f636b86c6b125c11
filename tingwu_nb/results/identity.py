"""The IdentityRecognition result file as a DataFrame — layout UNCONFIRMED (rest-api §4.10).

Read tolerantly: a list of objects (or a dict holding one under ``Identities``/``Results``/
``Speakers``/``Items``), each with ``SpeakerId`` and the identity under ``Identity``/``Role``/
``Name``/``Label``/``Title``; or a dict ``{speaker_id: identity}``. ``speaker_id`` joins the
transcript's frames.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from tingwu_nb.results._fields import as_float, as_str, build, get, payload, records

__all__ = ["IDENTITY_COLUMNS", "identities_frame"]

#: ``confidence`` is NaN unless the file has ``Confidence``/``Score``.
IDENTITY_COLUMNS = ("speaker_id", "identity", "confidence", "reason")


def identities_frame(doc: Mapping[str, Any] | None) -> pd.DataFrame:
    """One row per identified speaker, in file order (``IDENTITY_COLUMNS``)."""
    body = payload(doc, "IdentityRecognition")
    items = records(body, "Identities", "Results", "Speakers", "Items", "IdentityRecognition")
    cols: dict[str, list[Any]] = {c: [] for c in IDENTITY_COLUMNS}
    if not items and isinstance(body, Mapping):
        items = [{"SpeakerId": k, "Identity": v} for k, v in body.items() if isinstance(v, (str, int, float))]
    for item in items:
        cols["speaker_id"].append(as_str(get(item, "SpeakerId", "Speaker")))
        cols["identity"].append(as_str(get(item, "Identity", "Role", "Name", "Label", "Title")))
        cols["confidence"].append(as_float(get(item, "Confidence", "Score")))
        cols["reason"].append(as_str(get(item, "Reason", "Evidence", "Description")))
    return build(IDENTITY_COLUMNS, {"confidence": "float64"}, cols)
