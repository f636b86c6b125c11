"""The analysis-engine interface: what the emulator computes from a finished transcript.

One :class:`AnalysisEngine` protocol, two implementations chosen in ``EmulatorConfig``:
the extractive engine (``extractive.py``: keywords, TextRank, rules; always available) and the
language-model engine (``llm_engine.py``: Qwen2.5-Coder-1.5B via CTranslate2, falling back to
the extractive answer whenever the model's output fails validation).

Every output refers to the transcript by ``Sentence.id`` (Tingwu's global ``SentenceId``, from 1),
so ``grounding.py`` can check it; the result-file writers (``documents.py``) turn outputs into the
JSON of rest-api §4. Engines are synchronous and deterministic for the same transcript and
arguments; the caller runs them on the analysis worker, never on the event loop.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

__all__ = [
    "AnalysisEngine",
    "Chapter",
    "ContentItem",
    "CustomAnswer",
    "EngineStats",
    "EngineUnavailable",
    "Extraction",
    "Identity",
    "Judgement",
    "KeyInformation",
    "MindNode",
    "QAPair",
    "Sentence",
    "Transcript",
]

TransType = Literal["default", "chat", "sentence-chat"]


class EngineUnavailable(RuntimeError):
    """This engine cannot compute the asked result (e.g. a custom prompt without a model).

    The validator refuses such features at CreateTask, so a running task never sees this.
    """


@dataclass(frozen=True)
class Sentence:
    """One final sentence of the transcript (times in ms from the start of the audio)."""

    id: int
    start: int
    end: int
    text: str
    speaker: str = "1"
    paragraph_id: str = ""


@dataclass(frozen=True)
class Transcript:
    """The finished transcript an engine works on.

    ``language`` is the recognised language as a Tingwu code (``cn``, ``en``, ``ja``, ``ko``,
    ``yue``); for multilingual tasks the dominant detected one.
    """

    sentences: tuple[Sentence, ...]
    language: str = "en"

    @property
    def text(self) -> str:
        """The whole transcript as plain text, sentences joined as the script writes them."""
        sep = "" if self.language in ("cn", "ja", "yue") else " "
        return sep.join(s.text for s in self.sentences)

    @property
    def speakers(self) -> tuple[str, ...]:
        """Speaker ids in order of first appearance."""
        return tuple(dict.fromkeys(s.speaker for s in self.sentences))

    def by_id(self) -> Mapping[int, Sentence]:
        return {s.id: s for s in self.sentences}

    def render(self, trans_type: TransType = "default") -> str:
        """``{Transcription}`` as CustomPrompt renders it (rest-api §2.3.8 TransType)."""
        if trans_type == "chat":
            return "\n".join(f"Speaker {s.speaker}: {s.text}" for s in self.sentences)
        if trans_type == "sentence-chat":
            return "\n".join(f"[{s.id}] Speaker {s.speaker}: {s.text}" for s in self.sentences)
        return self.text


@dataclass(frozen=True)
class Chapter:
    """A span of consecutive sentences; chapters tile the timeline in order."""

    sentence_ids: tuple[int, ...]
    headline: str
    summary: str


@dataclass(frozen=True)
class KeyInformation:
    """MeetingAssistance KeyInformation: keywords that occur in the text and key sentences."""

    keywords: tuple[str, ...]
    key_sentence_ids: tuple[int, ...]


@dataclass(frozen=True)
class QAPair:
    question: str
    question_ids: tuple[int, ...]
    answer: str
    answer_ids: tuple[int, ...]


@dataclass(frozen=True)
class MindNode:
    """A mind-map node; depth of the whole tree ≤ 4 (rest-api §4.5)."""

    title: str
    children: tuple[MindNode, ...] = ()
    begin_ms: int | None = None


@dataclass(frozen=True)
class ContentItem:
    """One ``{Title, Content}`` (inspection) or ``{Name, Description}`` (identity) request item."""

    title: str
    content: str = ""
    identity: str | None = None


@dataclass(frozen=True)
class Judgement:
    """ServiceInspection: one verdict per inspection content, with evidence sentence ids."""

    title: str
    passed: bool
    score: float
    evidence_ids: tuple[int, ...]
    reason: str


@dataclass(frozen=True)
class Identity:
    """IdentityRecognition: which requested identity a speaker has (``None``: none fits)."""

    speaker_id: str
    identity: str | None
    evidence_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class Extraction:
    """ContentExtraction: the answer to one extraction item, with its evidence sentence ids."""

    title: str
    value: str
    evidence_ids: tuple[int, ...] = ()
    identity: str | None = None


@dataclass(frozen=True)
class CustomAnswer:
    name: str
    result: str
    truncated: bool = False


@dataclass
class EngineStats:
    """Work done by an engine (counted, never timed): model calls, tokens, fallbacks used."""

    calls: int = 0
    prompt_tokens: int = 0
    generated_tokens: int = 0
    fallbacks: dict[str, int] = field(default_factory=dict)

    def fell_back(self, feature: str) -> None:
        self.fallbacks[feature] = self.fallbacks.get(feature, 0) + 1


class AnalysisEngine(Protocol):
    """What the emulator asks of an analysis engine (both implementations provide all of it)."""

    name: str
    stats: EngineStats

    def chapters(self, t: Transcript, granularity: str = "Meticulous") -> list[Chapter]: ...
    def key_information(self, t: Transcript, max_keywords: int = 20) -> KeyInformation: ...
    def actions(self, t: Transcript, limit: int = 6) -> list[int]: ...
    def classification(self, t: Transcript) -> dict[str, float]: ...
    def paragraph_summary(self, t: Transcript) -> tuple[str, str]: ...
    def conversational_summary(self, t: Transcript) -> dict[str, str]: ...
    def questions_answering(self, t: Transcript) -> list[QAPair]: ...
    def mindmap(self, t: Transcript) -> MindNode: ...
    def polish(self, t: Transcript, paragraphs: Sequence[Sequence[int]]) -> list[str]: ...
    def inspection(self, t: Transcript, scene: str, intro: str, contents: Sequence[ContentItem]) -> list[Judgement]: ...
    def identities(self, t: Transcript, scene: str, contents: Sequence[ContentItem]) -> list[Identity]: ...
    def extraction(self, t: Transcript, scene: str, contents: Sequence[ContentItem]) -> list[Extraction]: ...
    def custom_prompt(self, t: Transcript, name: str, prompt: str, trans_type: TransType) -> CustomAnswer: ...
    def translation_targets(self, source: str) -> frozenset[str]: ...
    def translate(self, texts: Sequence[str], source: str, target: str) -> list[str]: ...
