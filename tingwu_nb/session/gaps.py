"""The session's gaps table: every dropped connection and its replay (``gaps.jsonl``).

One JSON line per :class:`~tingwu_nb.client.replay.Gap`, appended and flushed when the replay
has been sent, so a crash right after a reconnect still leaves the line. Read it with
:func:`read_gaps` (``Session.gaps()``): one row per drop with ``dropped_wall`` (epoch s),
``audio_sent_ms`` (stream audio sent when the drop was noticed), ``resume_ms`` (replay start:
the end of the last finalised sentence), ``replayed_s``, ``lost_s`` (0 unless the replay bound
was exceeded), ``reconnect_s``, ``attempts``, ``open_sentence`` (the sentence that was being
recognised, re-recognised after the replay) and ``reason``. :meth:`Session.gaps` adds
``sentences_affected``: the indexes of the sentences recognised (again) from replayed audio
(:func:`affected_sentences`).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING

from tingwu_nb.client.replay import Gap

if TYPE_CHECKING:  # pandas loads only when the table is read: the streaming path stays light
    import pandas as pd

__all__ = ["GAP_COLUMNS", "GAPS_FILE", "affected_sentences", "append_gap", "read_gaps"]

GAPS_FILE = "gaps.jsonl"
GAP_COLUMNS = tuple(f.name for f in dataclasses.fields(Gap))


def append_gap(directory: Path, gap: Gap) -> None:
    """Append ``gap`` to ``directory/gaps.jsonl`` (flushed; the reason carries no capability)."""
    with open(Path(directory) / GAPS_FILE, "a", encoding="utf-8") as out:
        out.write(json.dumps(dataclasses.asdict(gap), ensure_ascii=False) + "\n")


def read_gaps(directory: Path) -> pd.DataFrame:
    """The gaps table of a session directory (``GAP_COLUMNS``; empty when nothing dropped)."""
    import pandas as pd

    path = Path(directory) / GAPS_FILE
    if not path.exists() or not path.stat().st_size:
        return pd.DataFrame(columns=list(GAP_COLUMNS))
    return pd.read_json(path, lines=True)[list(GAP_COLUMNS)]


def affected_sentences(gaps: pd.DataFrame, spans: list[tuple[int, int, int]]) -> list[list[int]]:
    """For each row of ``gaps``, the indexes of the sentences whose audio overlaps what was
    replayed (``resume_ms`` to ``audio_sent_ms``), given the final sentences as
    ``(index, begin_ms, end_ms)`` on the stitched timeline (e.g. the live SentenceEnd events):
    the sentences the service recognised again after the reconnect."""
    out = []
    for resume, sent in zip(gaps["resume_ms"], gaps["audio_sent_ms"]):
        out.append(sorted(i for i, begin, end in spans if end > resume and begin < max(sent, resume + 1)))
    return out
