"""The bundled sample recordings, for demos, notebooks, tests and benchmarks.

``sample_meeting_en``: 54 s, 16 kHz mono, three English espeak-ng voices in twelve turns,
with exact turn boundaries, speakers and text (made by ``scripts/make_sample_meeting.py``).
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["load_sample_meeting", "sample_meeting_path", "sample_meeting_truth"]


def sample_meeting_path() -> Path:
    """Path of the bundled English three-speaker sample meeting (FLAC)."""
    return Path(str(resources.files("tingwu_nb") / "data" / "sample_meeting_en.flac"))


def sample_meeting_truth() -> dict[str, Any]:
    """Ground truth: ``turns`` (speaker, text, start_s, end_s), ``duration_s``, ``language``."""
    return json.loads(sample_meeting_path().with_suffix(".json").read_text(encoding="utf-8"))


def load_sample_meeting(sample_rate: int = 16000) -> tuple[np.ndarray, dict[str, Any]]:
    """The sample meeting as int16 mono PCM at ``sample_rate`` (16000 or 8000) and its truth."""
    from .audio import load_pcm

    return load_pcm(sample_meeting_path(), sample_rate=sample_rate), sample_meeting_truth()
