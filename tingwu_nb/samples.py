"""The bundled sample recordings, for demos, notebooks, tests and benchmarks.

``sample_meeting_en``: 54 s, 16 kHz mono, three English espeak-ng voices in twelve turns,
with exact turn boundaries, speakers and text (made by ``scripts/make_sample_meeting.py``).

:func:`speak` and :func:`spoken_clip` make more speech on the spot with Debian's
``espeak-ng`` (any of its voices: ``en-us``, ``cmn-latn-pinyin``, ``yue``, ``ja``, ``ko``...).
espeak's English is recognised well; its Chinese, Japanese and Korean are poor speech, good
for proving that real recognition happens in the right script, not for accuracy.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["load_sample_meeting", "sample_meeting_path", "sample_meeting_truth", "speak", "spoken_clip", "write_wav"]


def sample_meeting_path() -> Path:
    """Path of the bundled English three-speaker sample meeting (FLAC)."""
    return Path(str(resources.files("tingwu_nb") / "data" / "sample_meeting_en.flac"))


def sample_meeting_truth() -> dict[str, Any]:
    """Ground truth: ``turns`` (speaker, text, start_s, end_s), ``duration_s``, ``language``."""
    return json.loads(sample_meeting_path().with_suffix(".json").read_text(encoding="utf-8"))


def load_sample_meeting(sample_rate: int = 16000) -> tuple[np.ndarray, dict[str, Any]]:
    """The sample meeting as int16 mono PCM at ``sample_rate`` (16000 or 8000) and its truth."""
    from tingwu_nb.client.audio import load_pcm

    return load_pcm(sample_meeting_path(), sample_rate=sample_rate), sample_meeting_truth()


def speak(text: str, voice: str = "en-us", *, sample_rate: int = 16000, words_per_minute: int | None = None
          ) -> np.ndarray:
    """``text`` spoken by espeak-ng ``voice``, as int16 mono PCM at ``sample_rate``.

    Raises:
        FileNotFoundError: ``espeak-ng`` is not installed (``apt-get install espeak-ng``);
            tests skip on it with that reason.
    """
    from tingwu_nb.client.audio import load_pcm

    if shutil.which("espeak-ng") is None:
        raise FileNotFoundError("espeak-ng is not installed (apt-get install espeak-ng)")
    rate = ["-s", str(words_per_minute)] if words_per_minute else []
    with tempfile.TemporaryDirectory(prefix="tingwu-speak-") as tmp:
        wav = Path(tmp) / "speech.wav"
        subprocess.run(["espeak-ng", "-v", voice, *rate, "-w", str(wav), text], check=True, capture_output=True)
        return load_pcm(wav, sample_rate=sample_rate)


def spoken_clip(sentences: Iterable[tuple[str, str]], *, gap_s: float = 1.2, sample_rate: int = 16000,
                words_per_minute: int | None = None) -> np.ndarray:
    """``(voice, text)`` sentences one after the other, with ``gap_s`` of silence around each."""
    gap = np.zeros(int(gap_s * sample_rate), dtype=np.int16)
    parts = [gap]
    for voice, text in sentences:
        parts += [speak(text, voice, sample_rate=sample_rate, words_per_minute=words_per_minute), gap]
    return np.concatenate(parts)


def write_wav(path: str | Path, pcm: np.ndarray, rate: int) -> Path:
    """Write int16 mono ``pcm`` as a WAV file at ``rate`` Hz and return its path."""
    path = Path(path)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.asarray(pcm).astype("<i2").tobytes())
    return path
