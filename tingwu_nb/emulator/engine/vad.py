"""Voice activity for the streaming recogniser: scores of 32 ms windows, and 8 kHz upsampling.

:class:`SileroVad` runs faster-whisper's bundled silero v6 ONNX model window by window with its
state carried between calls (chunk sizes never change the scores); :class:`EnergyVad` is the
model-free fallback (and the load-test engine's). Both score 512-sample float32 windows at
16 kHz; :class:`Upsample2x` brings 8 kHz audio there with kept filter state.
"""

from __future__ import annotations

import functools
import os
from typing import Any, Protocol

import numpy as np

__all__ = ["CONTEXT", "WINDOW", "WINDOW_MS", "EnergyVad", "SileroVad", "Upsample2x", "Vad"]

WINDOW = 512  # samples at 16 kHz = 32 ms, silero v6's native window
CONTEXT = 64
WINDOW_MS = 32


class Vad(Protocol):
    """Scores consecutive 512-sample float32 windows at 16 kHz with a speech probability."""

    def __call__(self, windows: np.ndarray) -> np.ndarray: ...


@functools.lru_cache(maxsize=1)
def _silero_session() -> Any:
    """One shared ONNX session (``run`` is thread-safe; each stream keeps its own state)."""
    import onnxruntime
    from faster_whisper.utils import get_assets_path

    opts = onnxruntime.SessionOptions()
    opts.inter_op_num_threads = 1
    opts.intra_op_num_threads = 1
    opts.log_severity_level = 4
    path = os.path.join(get_assets_path(), "silero_vad_v6.onnx")
    return onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"], sess_options=opts)


class SileroVad:
    """Silero v6 (faster-whisper's bundled ONNX) run window by window with carried state."""

    def __init__(self) -> None:
        self._session = _silero_session()
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(CONTEXT, dtype=np.float32)

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        """Return one probability per row of ``windows`` (shape ``(n, 512)``)."""
        if len(windows) == 0:
            return np.zeros(0, dtype=np.float32)
        ctx = np.concatenate([self._context[None, :], windows[:-1, -CONTEXT:]], axis=0)
        batch = np.concatenate([ctx, windows], axis=1).astype(np.float32)
        probs, self._h, self._c = self._session.run(None, {"input": batch, "h": self._h, "c": self._c})
        self._context = windows[-1, -CONTEXT:].copy()
        return np.asarray(probs, dtype=np.float32).reshape(-1)


class EnergyVad:
    """Fallback: probability 1 above ``threshold_db`` dBFS RMS, 0 below (no model, no state)."""

    def __init__(self, threshold_db: float = -40.0) -> None:
        self.threshold_db = threshold_db

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        """Return 1.0 for loud windows and 0.0 for quiet ones."""
        rms = np.sqrt(np.mean(np.square(windows, dtype=np.float64), axis=1) + 1e-12)
        return (20 * np.log10(rms) > self.threshold_db).astype(np.float32)


class Upsample2x:
    """Streaming 8 kHz -> 16 kHz interpolator (zero-stuffing + FIR low-pass with kept state)."""

    def __init__(self) -> None:
        from scipy.signal import firwin

        self._taps = (firwin(63, 0.5) * 2).astype(np.float64)
        self._zi = np.zeros(len(self._taps) - 1)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        from scipy.signal import lfilter

        up = np.zeros(2 * len(x))
        up[::2] = x
        y, self._zi = lfilter(self._taps, 1.0, up, zi=self._zi)
        return y.astype(np.float32)
