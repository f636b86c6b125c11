"""How the language model sees and is asked about a transcript: digest, cached answers, batching.

The transcript is shown as numbered lines after the system message; when it is longer than
``context_tokens`` only its key sentences (extractive TextRank) plus evenly spaced ones are shown,
which bounds every prompt whatever the meeting's length. Answers are cached per transcript, so a
question asked by two features (the mind map reuses the summary) is generated once, and
:meth:`TranscriptQuestions.prefetch` can answer a whole feature set's questions in one batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tingwu_nb.emulator.analysis import prompts
from tingwu_nb.emulator.analysis.base import Sentence, Transcript
from tingwu_nb.emulator.analysis.llm import Generation, LanguageModel

__all__ = ["BATCH_CONTEXT_TOKENS", "CUSTOM_TOKENS", "MAX_MODEL_ITEMS", "MINDMAP_TOKENS", "QA_TOKENS", "SHORT_TOKENS",
           "SUMMARY_TOKENS", "TranscriptQuestions"]

SUMMARY_TOKENS = 100
SHORT_TOKENS = 70
QA_TOKENS = 160
MINDMAP_TOKENS = 110
CUSTOM_TOKENS = 400
#: At most this many chapters, speakers, inspection or extraction items per task are answered by
#: the model (one batch each); the rest keep the extractive answer. With the transcript digest
#: and the polish budget this bounds post-processing whatever the meeting's length.
MAX_MODEL_ITEMS = 24
#: :meth:`TranscriptQuestions.prefetch` batches only when the transcript prompt is at most this long.
BATCH_CONTEXT_TOKENS = 800


class TranscriptQuestions:
    """Questions about one transcript at a time, for :class:`~.llm_engine.LLMEngine`.

    Args:
        model: the loaded language model.
        fallback: the extractive engine (its key sentences make the digest of long transcripts).
        context_tokens: most transcript tokens in one prompt.
    """

    def __init__(self, model: LanguageModel, fallback: Any, *, context_tokens: int = 1800) -> None:
        self.model = model
        self.fallback = fallback
        self.context_tokens = context_tokens
        self._answers: dict[tuple[Transcript, str, int], Generation] = {}
        self._prefix: tuple[Transcript | None, str] = (None, "")

    def digest(self, t: Transcript, budget: int | None = None) -> tuple[Sentence, ...]:
        """The sentences shown to the model: all of them, or key sentences within ``budget`` tokens."""
        budget = budget or self.context_tokens
        costs = [self.model.count_tokens(prompts.transcript_line(s) + "\n") for s in t.sentences]
        if sum(costs) <= budget:
            return t.sentences
        order = list(self.fallback.key_information(t).key_sentence_ids)  # type: ignore[attr-defined]
        keyed = set(order)
        stride = max(1, len(t.sentences) // 40)
        order += [s.id for s in t.sentences[::stride] if s.id not in keyed]
        cost = dict(zip((s.id for s in t.sentences), costs))
        chosen, used = set(), 0
        for sid in order:
            if used + cost[sid] <= budget:
                chosen.add(sid)
                used += cost[sid]
        return tuple(s for s in t.sentences if s.id in chosen)

    def prefix(self, t: Transcript) -> str:
        """The shared prompt start for ``t`` (digest tokenised once per transcript, not per question)."""
        if self._prefix[0] is not t:
            self._prefix = (t, self.model.prefix(prompts.SYSTEM, prompts.transcript_block(self.digest(t))))
        return self._prefix[1]

    def gens(self, t: Transcript, questions: Sequence[str], max_tokens: Sequence[int]) -> list[Generation]:
        """Answers about the whole transcript, from the prefetched batch when it has them."""
        if self._answers and next(iter(self._answers))[0] is not t:
            self._answers = {}
        todo = [(q, cap) for q, cap in zip(questions, max_tokens) if (t, q, cap) not in self._answers]
        if todo:
            gens = self.model.ask(self.prefix(t), [q for q, _ in todo], max_tokens=[c for _, c in todo],
                                  repetition_penalty=1.1)
            self._answers.update({(t, q, cap): g for (q, cap), g in zip(todo, gens)})
        return [self._answers[(t, q, cap)] for q, cap in zip(questions, max_tokens)]

    def ask(self, t: Transcript, questions: Sequence[str], max_tokens: int) -> list[str]:
        return [g.text for g in self.gens(t, questions, [max_tokens] * len(questions))]

    def questions(self, t: Transcript, part: str) -> list[tuple[str, int]]:
        """The whole-transcript questions a result part asks (what :meth:`prefetch` batches)."""
        lang = t.language
        return {
            "KeyInformation": [(prompts.keywords(lang, 8), SHORT_TOKENS)],
            "Classifications": [(prompts.scene(), 8)],
            "Paragraph": [(prompts.summary(lang), SUMMARY_TOKENS)],
            "Conversational": [(prompts.speaker_summary(lang, s), SHORT_TOKENS) for s in t.speakers[:MAX_MODEL_ITEMS]],
            "QuestionsAnswering": [(prompts.questions(lang), QA_TOKENS)],
            "MindMap": [(prompts.summary(lang), SUMMARY_TOKENS), (prompts.mindmap(lang), MINDMAP_TOKENS)],
        }.get(part, [])

    def prefetch(self, t: Transcript, parts: frozenset[str]) -> None:
        """Answer every whole-transcript question of ``parts`` in one batch (one prompt reading).

        The feature methods then find their answers ready; parts without such questions
        (chapters, polish, inspection, ...) are unaffected. Only for a short context (at most
        ``BATCH_CONTEXT_TOKENS``): measured on 2 cores, batching the 9 questions of MeetingAssistance
        + Summarization took 29 s instead of 41 s on the 54 s sample meeting (~400-token context),
        but 196 s instead of 96 s on an hour (1800-token digest), where every batch member
        attends over the long context until the longest answer ends.
        """
        if not t.sentences or self.model.count_tokens(self.prefix(t)) > BATCH_CONTEXT_TOKENS:
            return
        wanted = dict.fromkeys(q for part in sorted(parts) for q in self.questions(t, part))
        if wanted:
            self.gens(t, [q for q, _ in wanted], [cap for _, cap in wanted])
