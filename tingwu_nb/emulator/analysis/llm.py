"""The offline language model at run time: chat-formatted greedy generation with CTranslate2.

:class:`LanguageModel` wraps a ``ctranslate2.Generator`` (int8) and the tokenizer prepared by
:mod:`llm_weights`. Generation is greedy (top-1), so the same prompt gives the same text. A batch
can share a *static prefix* (the system message and the transcript): CTranslate2 reads it once
and caches its state, so asking eight questions about one transcript costs one prompt reading.

Blocking; call it from the analysis worker (``worker.py``), never from the event loop.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tingwu_nb.emulator.analysis.base import EngineStats

__all__ = ["Generation", "LanguageModel"]

_IM_START, _IM_END = "<|im_start|>", "<|im_end|>"


@dataclass(frozen=True)
class Generation:
    """One answer: its text, the tokens read and written, and whether ``max_tokens`` cut it."""

    text: str
    prompt_tokens: int
    generated_tokens: int
    hit_limit: bool


class LanguageModel:
    """Qwen2.5 chat generation on CPU (CTranslate2 int8, greedy).

    Args:
        model_dir: a directory prepared by :func:`llm_weights.prepare_llm`.
        threads: CPU threads for one generation (``intra_threads``).
    """

    def __init__(self, model_dir: Path, *, threads: int = 2) -> None:
        import ctranslate2
        from tokenizers import Tokenizer

        self.model_dir = Path(model_dir)
        self._generator = ctranslate2.Generator(str(self.model_dir), device="cpu", compute_type="int8",
                                                inter_threads=1, intra_threads=threads)
        self._tokenizer = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
        self._lock = threading.Lock()
        self.stats = EngineStats()

    def __repr__(self) -> str:
        return f"LanguageModel({self.model_dir.name!r}, calls={self.stats.calls})"

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def truncate(self, text: str, max_tokens: int) -> tuple[str, bool]:
        """``text`` cut to at most ``max_tokens`` tokens (at a token boundary), and whether it was cut."""
        ids = self._tokenizer.encode(text, add_special_tokens=False).ids
        if len(ids) <= max_tokens:
            return text, False
        return self._tokenizer.decode(ids[:max_tokens]), True

    def _tokens(self, text: str) -> list[str]:
        return [self._tokenizer.id_to_token(i) for i in self._tokenizer.encode(text, add_special_tokens=False).ids]

    @staticmethod
    def prefix(system: str, context: str = "") -> str:
        """The shared start of a chat: the system message and the start of the user turn."""
        return f"{_IM_START}system\n{system}{_IM_END}\n{_IM_START}user\n{context}"

    @staticmethod
    def suffix(question: str) -> str:
        """The end of the user turn after the shared prefix, up to the assistant's answer."""
        return f"{question}{_IM_END}\n{_IM_START}assistant\n"

    def chat(self, system: str, user: str, *, max_tokens: int) -> Generation:
        """Answer one user message."""
        return self.ask(self.prefix(system), [user], max_tokens=[max_tokens])[0]

    def ask(self, prefix: str, questions: Sequence[str], *, max_tokens: Sequence[int],
            repetition_penalty: float = 1.0) -> list[Generation]:
        """Answer each question after the same ``prefix`` (from :meth:`prefix`), as one batch.

        ``prefix`` is read once and its state is reused for every question.
        """
        if not questions:
            return []
        static = self._tokens(prefix)
        starts = [self._tokens(self.suffix(q)) for q in questions]
        limit = max(max_tokens)
        with self._lock:
            results = self._generator.generate_batch(
                starts, static_prompt=static, max_length=limit, sampling_topk=1, beam_size=1,
                include_prompt_in_result=False, end_token=_IM_END, repetition_penalty=repetition_penalty,
                no_repeat_ngram_size=0,
            )
        out = []
        for start, cap, result in zip(starts, max_tokens, results):
            ids = list(result.sequences_ids[0])
            hit = len(ids) >= cap
            ids = ids[:cap]
            text = self._tokenizer.decode(ids, skip_special_tokens=True).strip()
            out.append(Generation(text, len(static) + len(start), len(ids), hit))
            self.stats.calls += 1
            self.stats.prompt_tokens += len(start)
            self.stats.generated_tokens += len(ids)
        self.stats.prompt_tokens += len(static)
        return out

    def close(self) -> None:
        self._generator = None  # type: ignore[assignment]

    def __getstate__(self) -> Any:
        raise TypeError("LanguageModel cannot be pickled")
