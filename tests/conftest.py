"""Shared fixtures: the sample meeting, one speech engine per run, emulators on loopback."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

DATA = Path(str(resources.files("tingwu_nb") / "data"))
SAMPLE = DATA / "sample_meeting_en.flac"


@pytest.fixture(scope="session")
def sample_path() -> Path:
    return SAMPLE


@pytest.fixture(scope="session")
def sample_truth() -> dict:
    return json.loads((DATA / "sample_meeting_en.json").read_text())


@pytest.fixture(scope="session")
def sample_pcm16k() -> np.ndarray:
    from tingwu_nb.audio import load_pcm

    return load_pcm(SAMPLE, sample_rate=16000)


@pytest.fixture(scope="session")
def engine():
    """One SpeechEngine for the whole run, so models load once."""
    pytest.importorskip("faster_whisper")
    from tingwu_nb.emulator.engine import EngineConfig, SpeechEngine

    return SpeechEngine(EngineConfig())


@pytest.fixture(scope="module")
def emulator(engine) -> Iterator:
    """A running emulator (loopback, default contract choices) shared by a test module."""
    from tingwu_nb.emulator.app import Emulator

    with Emulator(engine=engine) as emu:
        yield emu


def normalise(text: str) -> str:
    """Lower-case words without punctuation, for WER."""
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split())


def wer(reference: str, hypothesis: str) -> float:
    import jiwer

    return jiwer.wer(normalise(reference), normalise(hypothesis))


def requires(tool: str) -> pytest.MarkDecorator:
    """Skip (with the reason) when a Debian tool is not installed."""
    return pytest.mark.skipif(shutil.which(tool) is None,
                              reason=f"`{tool}` is not installed (apt-get install {'speex' if 'speex' in tool else tool})")
