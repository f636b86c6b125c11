"""The language-model analysis engine: Qwen2.5-Coder-1.5B answers, checked, with extractive fallback.

Each method asks the model (prompts in ``prompts.py``), parses its line-format answer, and checks
it with ``grounding.py`` and a few plausibility rules (right script, no copied transcript, no
loop). An answer that fails is replaced by the :class:`ExtractiveEngine` result for that item and
counted in ``stats.fallbacks``. Actions and key sentences stay extractive (rules measured better:
the model invents owners). Questions about one transcript share one cached prompt prefix and run
as a batch. Transcripts longer than ``context_tokens`` are represented by their key sentences.

Get the shared instance with :func:`load_llm_engine`; call it on the analysis worker.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from tingwu_nb.emulator.analysis import grounding, prompts
from tingwu_nb.emulator.analysis.base import (
    Chapter,
    ContentItem,
    CustomAnswer,
    EngineStats,
    Extraction,
    Identity,
    Judgement,
    KeyInformation,
    MindNode,
    QAPair,
    Transcript,
    TransType,
)
from tingwu_nb.emulator.analysis.llm import LanguageModel
from tingwu_nb.emulator.analysis.llm_checks import (
    KEYWORD_STOPWORDS,
    copies_transcript,
    grounded_words,
    ids_in,
    is_loop,
    label_value,
    node_titles,
    parse_outline,
    script_ok,
    supported_qa,
    whole_sentences,
)
from tingwu_nb.emulator.analysis.llm_context import (
    CUSTOM_TOKENS,
    MAX_MODEL_ITEMS,
    MINDMAP_TOKENS,
    QA_TOKENS,
    SHORT_TOKENS,
    SUMMARY_TOKENS,
    TranscriptQuestions,
)
from tingwu_nb.emulator.analysis.textpolish import polish_sentence
from tingwu_nb.emulator.analysis.translate import llm_translation_targets

__all__ = ["LLMEngine", "load_llm_engine"]

class LLMEngine:
    """Analysis with the offline language model; see the module docstring.

    Args:
        model: the loaded :class:`LanguageModel`.
        fallback: the extractive engine used for rejected answers (built if omitted).
        context_tokens: most transcript tokens shown to the model at once.
        polish_tokens: most paragraph tokens polished by the model per task; the rest are
            polished by rules (keeps a long meeting's post-processing within minutes).
        custom_prompt_tokens: the transcript budget of a CustomPrompt (``Truncated`` beyond it).
    """

    name = "llm"

    def __init__(self, model: LanguageModel, fallback: object | None = None, *, context_tokens: int = 1800,
                 polish_tokens: int = 1200, custom_prompt_tokens: int = 3000) -> None:
        if fallback is None:
            from tingwu_nb.emulator.analysis.extractive import ExtractiveEngine

            fallback = ExtractiveEngine()
        self.model = model
        self.fallback = fallback
        self.stats: EngineStats = model.stats
        self.polish_tokens = polish_tokens
        self.custom_prompt_tokens = custom_prompt_tokens
        self._summaries: dict[Transcript, tuple[str, str]] = {}
        self.context = TranscriptQuestions(model, fallback, context_tokens=context_tokens)

    def __repr__(self) -> str:
        return f"LLMEngine({self.model!r}, fallbacks={self.stats.fallbacks})"

    def prefetch(self, t: Transcript, parts: frozenset[str]) -> None:
        """Answer the whole-transcript questions of ``parts`` in one batch (see ``TranscriptQuestions``)."""
        self.context.prefetch(t, parts)

    def _fell_back(self, feature: str) -> None:
        self.stats.fell_back(feature)

    # -- features -------------------------------------------------------------------------------

    def chapters(self, t: Transcript, granularity: str = "Meticulous") -> list[Chapter]:
        base = self.fallback.chapters(t, granularity)  # type: ignore[attr-defined]
        if not base:
            return base
        by_id = t.by_id()
        asks = [prompts.chapter(t.language, self.context.digest(Transcript(tuple(by_id[i] for i in c.sentence_ids),
                                                                    t.language), 400))
                for c in base[:MAX_MODEL_ITEMS]]
        gens = self.model.ask(self.model.prefix(prompts.SYSTEM), asks, max_tokens=[SHORT_TOKENS] * len(asks),
                              repetition_penalty=1.1)
        out = []
        for chapter, gen in zip(base, gens):
            headline, summary = label_value(gen.text, "Headline"), label_value(gen.text, "Summary")
            summary = whole_sentences(summary) if summary and gen.hit_limit else summary
            if (headline and summary and len(headline) <= 120 and script_ok(headline + summary, t.language)
                    and not is_loop(summary)):
                out.append(replace(chapter, headline=headline.strip(" .\"'"), summary=summary))
            else:
                self._fell_back("chapters")
                out.append(chapter)
        return out + base[len(out):]

    def key_information(self, t: Transcript, max_keywords: int = 20) -> KeyInformation:
        base = self.fallback.key_information(t, max_keywords)  # type: ignore[attr-defined]
        if not t.sentences:
            return base
        answer = self.context.ask(t, [prompts.keywords(t.language, 8)], SHORT_TOKENS)[0]
        occurs = grounding.keyword_checker(t)
        words: list[str] = []
        for item in re.split(r"[,，、;；\n]", answer):
            word = re.sub(r"^\s*(?:[-*•]|\d+[.)])\s*", "", item).strip(" .。\"'")
            if (word and len(word.split()) <= 4 and word.lower() not in KEYWORD_STOPWORDS and occurs(word)
                    and word.lower() not in {w.lower() for w in words}):
                words.append(word)
        if len(words) < 3:
            self._fell_back("keywords")
            return base
        for word in base.keywords:
            if len(words) >= max_keywords:
                break
            if word.lower() not in {w.lower() for w in words}:
                words.append(word)
        return KeyInformation(tuple(words[:max_keywords]), base.key_sentence_ids)

    def actions(self, t: Transcript, limit: int = 6) -> list[int]:
        return self.fallback.actions(t, limit)  # type: ignore[attr-defined]

    def classification(self, t: Transcript) -> dict[str, float]:
        base = self.fallback.classification(t)  # type: ignore[attr-defined]
        if not t.sentences:
            return base
        answer = self.context.ask(t, [prompts.scene()], 8)[0].lower()
        picked = [k for k in base if k.lower() in answer]
        if len(picked) != 1:
            self._fell_back("classification")
            return base
        return {k: round(0.5 * v + (0.5 if k == picked[0] else 0.0), 4) for k, v in base.items()}

    def paragraph_summary(self, t: Transcript) -> tuple[str, str]:
        if t not in self._summaries:  # the mind map's root reuses the title
            self._summaries = {t: self._paragraph_summary(t)}
        return self._summaries[t]

    def _paragraph_summary(self, t: Transcript) -> tuple[str, str]:
        if not t.sentences:
            return self.fallback.paragraph_summary(t)  # type: ignore[attr-defined]
        answer = self.context.gens(t, [prompts.summary(t.language)], [SUMMARY_TOKENS])[0]
        title, summary = label_value(answer.text, "Title"), label_value(answer.text, "Summary")
        summary = whole_sentences(summary) if summary and answer.hit_limit else summary
        if (title and summary and script_ok(title + summary, t.language) and grounded_words(summary, t)
                and not is_loop(summary)):
            return title.strip(" .\"'*"), summary
        self._fell_back("summary")
        return self.fallback.paragraph_summary(t)  # type: ignore[attr-defined]

    def conversational_summary(self, t: Transcript) -> dict[str, str]:
        base = self.fallback.conversational_summary(t)  # type: ignore[attr-defined]
        speakers = t.speakers[:MAX_MODEL_ITEMS]
        if not speakers:
            return base
        answers = self.context.ask(t, [prompts.speaker_summary(t.language, s) for s in speakers], SHORT_TOKENS)
        out = dict(base)
        for speaker, answer in zip(speakers, answers):
            if answer and script_ok(answer, t.language) and not copies_transcript(answer, t) and not is_loop(answer):
                out[speaker] = answer
            else:
                self._fell_back("conversational_summary")
                out[speaker] = base.get(speaker, "")
        return out

    def questions_answering(self, t: Transcript) -> list[QAPair]:
        if not t.sentences:
            return []
        answer = self.context.ask(t, [prompts.questions(t.language)], QA_TOKENS)[0]
        pairs, question = [], None
        for line in answer.splitlines():
            m = re.match(r"\s*([QA])\s*\[([\d,\s]*)\]\s*:\s*(.+)", line)
            if not m:
                continue
            if m.group(1) == "Q":
                question = (m.group(3).strip(), ids_in(m.group(2)))
            elif question is not None:
                qa = QAPair(question[0], question[1], m.group(3).strip(), ids_in(m.group(2)))
                if not grounding.validate_qa([qa], t) and supported_qa(qa, t):
                    pairs.append(qa)
                question = None
        if not pairs:
            base = self.fallback.questions_answering(t)  # type: ignore[attr-defined]
            if base:
                self._fell_back("questions_answering")
            return base
        return pairs

    def mindmap(self, t: Transcript) -> MindNode:
        if not t.sentences:
            return self.fallback.mindmap(t)  # type: ignore[attr-defined]
        title, _ = self.paragraph_summary(t)
        answer = self.context.ask(t, [prompts.mindmap(t.language)], MINDMAP_TOKENS)[0]
        topics = parse_outline(answer)
        root = MindNode(title or "Meeting", topics, t.sentences[0].start)
        titles = " ".join(node_titles(root))
        if (len(topics) < 2 or grounding.validate_mindmap(root, t) or not script_ok(answer, t.language)
                or not grounded_words(titles, t, share=0.6)):
            self._fell_back("mindmap")
            return self.fallback.mindmap(t)  # type: ignore[attr-defined]
        return root

    def polish(self, t: Transcript, paragraphs: Sequence[Sequence[int]]) -> list[str]:
        base = self.fallback.polish(t, paragraphs)  # type: ignore[attr-defined]
        by_id = t.by_id()
        sep = "" if t.language in ("cn", "ja", "yue") else " "
        texts = [sep.join(by_id[i].text for i in ids if i in by_id) for ids in paragraphs]
        chosen, used = [], 0
        for n, text in enumerate(texts):
            cost = self.model.count_tokens(text)
            if text and used + cost <= self.polish_tokens:
                chosen.append(n)
                used += cost
        caps = [min(512, int(self.model.count_tokens(texts[n]) * 1.4) + 16) for n in chosen]
        out = list(base)
        if chosen:
            gens = self.model.ask(self.model.prefix(prompts.SYSTEM), [prompts.polish(t.language, texts[n])
                                                                        for n in chosen], max_tokens=caps)
            for n, gen in zip(chosen, gens):
                ratio = len(gen.text) / max(1, len(texts[n]))
                if (0.5 <= ratio <= 1.4 and not gen.hit_limit and script_ok(gen.text, t.language)
                        and grounded_words(gen.text, t, share=0.8)):
                    out[n] = polish_sentence(gen.text, t.language)  # the rules catch fillers the model kept
                else:
                    self._fell_back("polish")
        return out

    def inspection(self, t: Transcript, scene: str, intro: str, contents: Sequence[ContentItem]) -> list[Judgement]:
        base = self.fallback.inspection(t, scene, intro, contents)  # type: ignore[attr-defined]
        if not contents or not t.sentences:
            return base
        answers = self.context.ask(t, [prompts.inspection(scene, intro, c) for c in contents[:MAX_MODEL_ITEMS]], SHORT_TOKENS)
        known = {s.id for s in t.sentences}
        out = []
        for item, answer, fb in zip(contents, answers, base):
            verdict = (label_value(answer, "Verdict") or "").lower()
            evidence = tuple(i for i in ids_in(label_value(answer, "Evidence") or "") if i in known)
            reason = label_value(answer, "Reason") or ""
            passed = verdict.startswith("yes")
            if not passed and not reason:
                reason = "No sentence shows it."
            # A "No" against strong word overlap (extractive score >= 0.5) is the model missing it.
            if verdict[:2] not in ("ye", "no") or not reason or (passed and not evidence) or (
                    not passed and fb.passed and fb.score >= 0.5):
                self._fell_back("inspection")
                out.append(fb)
                continue
            score = round(0.7 * (1.0 if passed else 0.0) + 0.3 * fb.score, 4)
            out.append(Judgement(item.title, passed, score, evidence if passed else evidence or fb.evidence_ids,
                                 reason))
        return out + list(base[len(out):])

    def identities(self, t: Transcript, scene: str, contents: Sequence[ContentItem]) -> list[Identity]:
        base = self.fallback.identities(t, scene, contents)  # type: ignore[attr-defined]
        if not contents or not t.sentences:
            return base
        answer = self.context.ask(t, [prompts.identities(scene, contents, t.speakers)], SHORT_TOKENS)[0]
        names = {c.title.lower(): c.title for c in contents}
        base_by = {i.speaker_id: i for i in base}
        out = []
        for speaker in t.speakers:
            said = (label_value(answer, f"Speaker {speaker}") or "").strip(" .\"'")
            fb = base_by.get(speaker, Identity(speaker, None))
            if said.lower() in names:
                name = names[said.lower()]
                evidence = fb.evidence_ids if fb.identity == name else tuple(
                    s.id for s in t.sentences if s.speaker == speaker)[:3]
                out.append(Identity(speaker, name, evidence))
            elif said.lower() == "none":
                out.append(Identity(speaker, None, ()))
            else:
                self._fell_back("identities")
                out.append(fb)
        return out

    def extraction(self, t: Transcript, scene: str, contents: Sequence[ContentItem]) -> list[Extraction]:
        base = self.fallback.extraction(t, scene, contents)  # type: ignore[attr-defined]
        if not contents or not t.sentences:
            return base
        answers = self.context.ask(t, [prompts.extraction(scene, c) for c in contents[:MAX_MODEL_ITEMS]], SHORT_TOKENS)
        known = {s.id for s in t.sentences}
        out = []
        for item, answer, fb in zip(contents, answers, base):
            value = (label_value(answer, "Value") or "").strip()
            evidence = tuple(i for i in ids_in(label_value(answer, "Evidence") or "") if i in known)
            if value and value.lower().strip(".") != "none" and evidence:
                out.append(Extraction(item.title, value, evidence, item.identity))
            else:
                self._fell_back("extraction")
                out.append(fb)
        return out + list(base[len(out):])

    def custom_prompt(self, t: Transcript, name: str, prompt: str, trans_type: TransType) -> CustomAnswer:
        text, truncated = self.model.truncate(t.render(trans_type), self.custom_prompt_tokens)
        user = prompt.replace("{Transcription}", text)
        system = "You are a helpful assistant."
        gen = self.model.chat(system, user, max_tokens=CUSTOM_TOKENS)
        if not gen.text or is_loop(gen.text):
            self._fell_back("custom_prompt")  # one retry, discouraging repetition
            gen = self.model.ask(self.model.prefix(system), [user], max_tokens=[CUSTOM_TOKENS],
                                 repetition_penalty=1.2)[0]
        return CustomAnswer(name, gen.text, truncated)

    def translation_targets(self, source: str) -> frozenset[str]:
        return llm_translation_targets(source)

    def translate(self, texts: Sequence[str], source: str, target: str) -> list[str]:
        if target not in self.translation_targets(source):
            from tingwu_nb.emulator.analysis.base import EngineUnavailable

            raise EngineUnavailable(f"no {source} -> {target} translation; supported: "
                                    f"{', '.join(sorted(self.translation_targets(source)))}")
        todo = [n for n, text in enumerate(texts) if text.strip()]
        out = ["" for _ in texts]
        prefix = self.model.prefix("You are a professional translator.")
        caps = [min(400, 2 * self.model.count_tokens(texts[n]) + 16) for n in todo]
        gens = self.model.ask(prefix, [prompts.translation(source, target, texts[n]) for n in todo], max_tokens=caps)
        retry = []
        for n, gen in zip(todo, gens):
            out[n] = gen.text
            if not script_ok(gen.text, target) or gen.hit_limit:
                retry.append(n)
        if retry:
            self._fell_back("translate")
            caps = [min(400, 2 * self.model.count_tokens(texts[n]) + 16) for n in retry]
            gens = self.model.ask(prefix, [prompts.translation_strict(source, target, texts[n]) for n in retry],
                                  max_tokens=caps, repetition_penalty=1.1)
            for n, gen in zip(retry, gens):
                if script_ok(gen.text, target):
                    out[n] = gen.text
        return [o.strip().split("\n\n")[0].strip() for o in out]


_lock = threading.Lock()
_instance: LLMEngine | None = None


def load_llm_engine(cache_dir: Path | None = None) -> LLMEngine:
    """The process-wide :class:`LLMEngine` (loaded on first call: ~2–5 s, ~2–3 GB of memory).

    Raises:
        ModelNotPrepared: run ``tingwu-nb prepare-models`` first.
    """
    global _instance
    from tingwu_nb.emulator.analysis.llm_weights import LLM_NAME, _target, prepared_model_dir
    from tingwu_nb.errors import ModelNotPrepared

    with _lock:
        if _instance is None:
            model_dir = prepared_model_dir(cache_dir)
            if model_dir is None:
                raise ModelNotPrepared(LLM_NAME, _target(cache_dir).parent)
            _instance = LLMEngine(LanguageModel(model_dir))
        return _instance
