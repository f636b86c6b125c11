"""Shared fixtures: the sample meeting, one speech engine per run, emulators on loopback."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tingwu_nb.research.metrics import wer  # noqa: F401 - re-exported for the test modules
from tingwu_nb.samples import (  # noqa: F401 - write_wav re-exported for the test modules
    load_sample_meeting,
    sample_meeting_path,
    sample_meeting_truth,
    write_wav,
)


@pytest.fixture(scope="session")
def sample_path() -> Path:
    return sample_meeting_path()


@pytest.fixture(scope="session")
def sample_truth() -> dict:
    return sample_meeting_truth()


@pytest.fixture(scope="session")
def sample_pcm16k() -> np.ndarray:
    return load_sample_meeting(16000)[0]


@pytest.fixture(scope="session")
def engine():
    """One SpeechEngine for the whole run, so models load once."""
    pytest.importorskip("faster_whisper")
    from tingwu_nb.emulator.engine.engine import EngineConfig, SpeechEngine

    return SpeechEngine(EngineConfig())


@pytest.fixture(scope="module")
def emulator(engine) -> Iterator:
    """A running emulator (loopback, default contract choices) shared by a test module."""
    from tingwu_nb.emulator.app import Emulator

    with Emulator(engine=engine) as emu:
        yield emu


def requires(tool: str) -> pytest.MarkDecorator:
    """Skip (with the reason) when a Debian tool is not installed."""
    return pytest.mark.skipif(shutil.which(tool) is None,
                              reason=f"`{tool}` is not installed (apt-get install {'speex' if 'speex' in tool else tool})")


def sample_turns_wav(path: Path, turns: int, pcm16k: np.ndarray, truth: dict) -> Path:
    """The first ``turns`` turns of the sample meeting (plus 0.5 s) as a 16 kHz WAV file."""
    end = int((truth["turns"][turns - 1]["end_s"] + 0.5) * 16000)
    return write_wav(path, pcm16k[:end], 16000)


def espeak_wav(directory: Path, voice: str, *sentences: str, name: str = "speech", ssml: bool | None = None) -> Path:
    """``sentences`` spoken by espeak-ng ``voice`` (1.5 s pause between them), as a 16 kHz mono WAV
    padded with 0.3 s of silence before and 1 s after (sox). ``ssml`` (default: more than one
    sentence) wraps them in SSML. Mark the test ``requires("espeak-ng")`` and ``requires("sox")``."""
    import subprocess

    raw, wav = directory / f"{name}_raw.wav", directory / f"{name}.wav"
    ssml = len(sentences) > 1 if ssml is None else ssml
    text = "<speak>" + "<break time='1500ms'/>".join(sentences) + "</speak>" if ssml else sentences[0]
    subprocess.run(["espeak-ng", "-v", voice, *(["-m"] if ssml else []), "-w", str(raw), text], check=True)
    subprocess.run(["sox", "-G", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(wav), "pad", "0.3", "1.0"],
                   check=True)
    return wav


@pytest.fixture()
def no_cloud(tmp_path, monkeypatch):
    """No cloud configuration at all (env and credential files): the embedded emulator runs."""
    for name in ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_SECURITY_TOKEN",
                 "TINGWU_ENDPOINT", "TINGWU_NB_USE_EMULATOR", "TINGWU_NB_SPEED"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
