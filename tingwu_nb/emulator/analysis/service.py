"""The emulator's analysis service: the chosen analysis engine plus the one analysis worker.

Created once per emulator app (``app.state.analysis``) and shared by the post-meeting pipeline
and live translation. The engine is built lazily on first use, in the worker's thread, so the
emulator starts fast and a task that needs no analysis never loads the language model.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from tingwu_nb.emulator.analysis.worker import AnalysisWorker
from tingwu_nb.errors import ModelError

__all__ = ["AnalysisService", "llm_available"]

log = logging.getLogger("tingwu_nb.emulator.analysis")


def llm_available() -> bool:
    """True when the offline language model has been prepared (a cheap check, nothing loaded)."""
    from tingwu_nb.emulator.analysis.llm_weights import prepared_model_dir

    return prepared_model_dir() is not None


class AnalysisService:
    """Engine selection (``"auto"``, ``"llm"``, ``"extractive"``) and the bounded worker.

    Call :meth:`close` when the emulator stops.
    """

    def __init__(self, kind: str = "auto", *, max_pending: int = 64) -> None:
        if kind not in ("auto", "llm", "extractive"):
            raise ValueError(f"analysis engine must be 'auto', 'llm' or 'extractive', not {kind!r}")
        self.kind = kind
        self.worker = AnalysisWorker(max_pending)
        self._engine: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"AnalysisService(kind={self.kind!r}, engine={getattr(self._engine, 'name', None)!r}, {self.worker!r})"

    @property
    def uses_llm(self) -> bool:
        """Whether the engine is (or will be) the language model; cheap, loads nothing."""
        if self.kind == "extractive":
            return False
        return self.kind == "llm" or llm_available()

    def engine(self) -> Any:
        """The engine, built on first call (blocking: call it from the worker thread).

        Raises:
            ModelError: ``kind="llm"`` and the model is not prepared or fails verification.
        """
        with self._lock:
            if self._engine is None:
                self._engine = self._build()
            return self._engine

    def _build(self) -> Any:
        from tingwu_nb.emulator.analysis.extractive import ExtractiveEngine

        if not self.uses_llm:
            log.info("analysis engine: extractive")
            return ExtractiveEngine()
        from tingwu_nb.emulator.analysis.llm_engine import load_llm_engine

        try:
            engine = load_llm_engine()
        except ModelError:
            if self.kind == "llm":
                raise
            log.warning("analysis engine: the language model failed to load; using the extractive engine",
                        exc_info=True)
            return ExtractiveEngine()
        log.info("analysis engine: %s", engine.name)
        return engine

    def close(self) -> None:
        self.worker.close()
