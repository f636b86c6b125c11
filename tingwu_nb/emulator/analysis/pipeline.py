"""Which post-meeting results a task gets, in what order, computed on the one analysis worker.

:func:`run_analysis` is awaited by ``postprocess`` after the Transcription is set. For each
enabled feature (rest §2.3) in :data:`FEATURE_ORDER` — quick extractive-style results first,
free generation last — it runs the engine calls on the emulator's
:class:`~tingwu_nb.emulator.analysis.worker.AnalysisWorker` (never on the decode threads, so
live recognition of other tasks goes on), builds the document (``documents.py``) and sets
``record.results[<Kind>]``, which the REST side shows at once while the task is still ONGOING.

Failures: a call that raises on the language model is retried on the extractive engine for that
call only (reported as a fallback). When the extractive engine fails too, that feature gets no
result, the other features still run, and at the end :class:`AnalysisFailed` is raised, so the
task ends FAILED with ``ErrorCode`` ``choices.postprocess_error_code`` and an ``ErrorMessage``
naming the features. ``record.analysis_report`` gets ``{feature: {"seconds", "engine",
"fallbacks"}}`` (seconds of engine work on the worker; the parts whose answer came from the
extractive engine after the model failed or gave an unusable answer) and one INFO line is
logged per task.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tingwu_nb.emulator.analysis import documents as docs
from tingwu_nb.emulator.analysis.base import ContentItem, Transcript

__all__ = ["FEATURE_ORDER", "AnalysisFailed", "Feature", "plan", "run_analysis", "transcript_language"]

log = logging.getLogger("tingwu_nb.emulator.analysis")

#: Result keys in the order they are computed (and appear under GetTaskInfo's Result).
FEATURE_ORDER = ("MeetingAssistance", "AutoChapters", "Summarization", "IdentityRecognition", "ContentExtraction",
                 "ServiceInspection", "TextPolish", "CustomPrompt")
_LANGUAGE = {"cn": "cn", "en": "en", "yue": "yue", "ja": "ja", "ko": "ko", "fspk": "cn"}
_SCRIPTS = (("ja", re.compile(r"[\u3040-\u30ff]")), ("ko", re.compile(r"[\uac00-\ud7af]")),
            ("cn", re.compile(r"[\u3400-\u9fff]")), ("en", re.compile(r"[A-Za-z]")))

Call = Callable[[Any], Any]


class AnalysisFailed(RuntimeError):
    """Some features failed on every engine (``.features``); the others' results were set."""

    def __init__(self, failures: Mapping[str, str]) -> None:
        self.features = tuple(failures)
        super().__init__("Post-processing failed for " + "; ".join(f"{k} ({v})" for k, v in failures.items()))


@dataclass(frozen=True)
class Feature:
    """One result file to make: named engine ``calls`` (None: empty content), then ``build``."""

    key: str
    calls: Mapping[str, Call | None]
    build: Callable[[Mapping[str, Any]], dict[str, Any]]


def transcript_language(task_language: str, texts: Sequence[str], detected: Sequence[str] = ()) -> str:
    """The Tingwu code an engine should assume: the task's; for ``multilingual`` the language
    detected for most sentences (``detected``, when the stream recorded one per sentence), else
    the script most of the text is written in (kana -> ja, hangul -> ko, han -> cn, else en)."""
    if task_language in _LANGUAGE:
        return _LANGUAGE[task_language]
    known = [_LANGUAGE[d] for d in detected if d in _LANGUAGE]
    if known:
        return max(dict.fromkeys(known), key=known.count)
    counts = {code: sum(len(pattern.findall(x)) for x in texts) for code, pattern in _SCRIPTS}
    if counts["ja"]:
        return "ja"
    return max(counts, key=lambda code: counts[code]) if any(counts.values()) else "en"


def _items(values: Any, title: str, content: str, identity: str | None = None) -> list[ContentItem]:
    return [ContentItem(title=str(v.get(title, "")), content=str(v.get(content) or ""),
                        identity=(str(v[identity]) if identity and v.get(identity) else None))
            for v in (values or []) if isinstance(v, Mapping)]


def plan(task_id: str, params: Mapping[str, Any], t: Transcript, paragraphs: Sequence[Sequence[int]],
         choices: Any) -> list[Feature]:
    """The features ``params`` switch on, in :data:`FEATURE_ORDER`, with their engine calls.

    ``paragraphs`` are the Transcription's paragraphs as sentence-id lists (TextPolish polishes
    each). ``choices`` is the emulator's ContractChoices (minimums, omissions, layouts).
    """
    size, minimum = len(t.text), dict(choices.minimum_chars)
    diarized = bool((params.get("Transcription") or {}).get("DiarizationEnabled"))

    def parts(wanted: Sequence[str], calls: Mapping[str, Call]) -> dict[str, Call | None]:
        got: dict[str, Call | None] = {}
        for name in wanted:
            short = size < minimum.get(name, 0) or (name == "Conversational" and not diarized)
            if not short:
                got[name] = calls[name]
            elif choices.below_minimum == "empty":
                got[name] = None
        return got

    makers = {"MeetingAssistance": _assistance, "AutoChapters": _chapters, "Summarization": _summarization,
              "IdentityRecognition": _identities, "ContentExtraction": _extraction,
              "ServiceInspection": _inspection, "TextPolish": _polish, "CustomPrompt": _custom}
    return [makers[key](task_id, params, t, parts, choices, paragraphs) for key in FEATURE_ORDER
            if params.get(f"{key}Enabled") is True]


def _assistance(task_id: str, params: Mapping[str, Any], t: Transcript, parts: Any, choices: Any,
                paragraphs: Any) -> Feature:
    types = (params.get("MeetingAssistance") or {}).get("Types") or ["Actions", "KeyInformation"]
    extra = params.get("ExtraParams") or {}
    top = extra.get("MaxKeywords") if isinstance(extra.get("MaxKeywords"), int) else 20
    calls = parts([n for n in ("KeyInformation", "Actions") if n in types],
                  {"KeyInformation": lambda e: e.key_information(t, max_keywords=max(1, min(20, top))),
                   "Actions": lambda e: e.actions(t, limit=6)})
    if choices.assistance_unrequested == "empty":
        calls.update({n: None for n in ("KeyInformation", "Actions") if n not in types})
    calls["Classifications"] = lambda e: e.classification(t)
    return Feature("MeetingAssistance", calls, lambda got: docs.meeting_assistance_document(task_id, t, got))


def _chapters(task_id: str, params: Mapping[str, Any], t: Transcript, parts: Any, choices: Any,
              paragraphs: Any) -> Feature:
    granularity = (params.get("AutoChapters") or {}).get("ChapterGranularity") or "Meticulous"
    calls = parts(["AutoChapters"], {"AutoChapters": lambda e: e.chapters(t, granularity)})
    return Feature("AutoChapters", calls, lambda got: docs.chapters_document(task_id, t, got.get("AutoChapters") or []))


def _summarization(task_id: str, params: Mapping[str, Any], t: Transcript, parts: Any, choices: Any,
                   paragraphs: Any) -> Feature:
    every = ("Paragraph", "Conversational", "QuestionsAnswering", "MindMap")
    types = (params.get("Summarization") or {}).get("Types") or every
    calls = parts([n for n in every if n in types], {
        "Paragraph": lambda e: e.paragraph_summary(t), "Conversational": lambda e: e.conversational_summary(t),
        "QuestionsAnswering": lambda e: e.questions_answering(t), "MindMap": lambda e: e.mindmap(t)})
    return Feature("Summarization", calls, lambda got: docs.summarization_document(
        task_id, t, got, paragraph_title=choices.summary_paragraph_title,
        mindmap_leaf_times=choices.mindmap_leaf_begin_time))


def _identities(task_id: str, params: Mapping[str, Any], t: Transcript, parts: Any, choices: Any,
                paragraphs: Any) -> Feature:
    ir = params.get("IdentityRecognition") or {}
    who, scene = _items(ir.get("IdentityContents"), "Name", "Description"), str(ir.get("SceneIntroduction") or "")
    return Feature("IdentityRecognition", {"Identities": lambda e: e.identities(t, scene, who)},
                   lambda got: docs.identity_document(task_id, t, got["Identities"]))


def _extraction(task_id: str, params: Mapping[str, Any], t: Transcript, parts: Any, choices: Any,
                paragraphs: Any) -> Feature:
    ce = params.get("ContentExtraction") or {}
    what = _items(ce.get("ExtractionContents"), "Title", "Content", "Identity")
    scene = str(ce.get("SceneIntroduction") or "")
    return Feature("ContentExtraction", {"Extractions": lambda e: e.extraction(t, scene, what)},
                   lambda got: docs.extraction_document(task_id, t, what, got["Extractions"]))


def _inspection(task_id: str, params: Mapping[str, Any], t: Transcript, parts: Any, choices: Any,
                paragraphs: Any) -> Feature:
    si = params.get("ServiceInspection") or {}
    checks = _items(si.get("InspectionContents"), "Title", "Content")
    scene, intro = str(si.get("SceneIntroduction") or ""), str(si.get("InspectionIntroduction") or "")
    return Feature("ServiceInspection", {"Judgements": lambda e: e.inspection(t, scene, intro, checks)},
                   lambda got: docs.inspection_document(task_id, t, checks, got["Judgements"],
                                                        layout=choices.inspection_layout))


def _polish(task_id: str, params: Mapping[str, Any], t: Transcript, parts: Any, choices: Any,
            paragraphs: Sequence[Sequence[int]]) -> Feature:
    return Feature("TextPolish", {"Polish": lambda e: e.polish(t, paragraphs)},
                   lambda got: docs.text_polish_document(task_id, t, paragraphs, got["Polish"]))


def _custom(task_id: str, params: Mapping[str, Any], t: Transcript, parts: Any, choices: Any,
            paragraphs: Any) -> Feature:
    contents = [c for c in (params.get("CustomPrompt") or {}).get("Contents") or [] if isinstance(c, Mapping)]
    calls = {f"Prompt{n}": (lambda e, c=c: e.custom_prompt(t, str(c["Name"]), str(c["Prompt"]),
                                                             c.get("TransType") or "default"))
             for n, c in enumerate(contents, 1)}
    names = list(calls)
    return Feature("CustomPrompt", calls, lambda got: docs.custom_prompt_document(task_id, [got[k] for k in names]))


class _Runner:
    """Engine calls on the worker thread, with the extractive fallback; timings per feature."""

    def __init__(self, service: Any) -> None:
        self.service = service
        self._extractive: Any = None

    def fallback(self) -> Any:
        if self._extractive is None:
            from tingwu_nb.emulator.analysis.extractive import ExtractiveEngine

            self._extractive = ExtractiveEngine()
        return self._extractive

    def prefetch(self, t: Transcript, parts: frozenset[str], report: dict[str, Any]) -> None:
        """Runs on the worker: let the engine batch its questions; a failure only costs the batch."""
        engine = self.service.engine()
        if not hasattr(engine, "prefetch"):
            return
        started = time.perf_counter()
        try:
            engine.prefetch(t, parts)
        except Exception as exc:  # noqa: BLE001 - the features ask again one by one
            log.warning("prefetch on the %s engine failed (%s)", engine.name, type(exc).__name__)
        report["prefetch"] = {"seconds": round(time.perf_counter() - started, 4), "engine": engine.name,
                              "fallbacks": []}

    def call(self, feature: str, part: str, fn: Call) -> tuple[Any, str, float, bool]:
        """Runs on the worker: ``(output, engine name, seconds, fell back)``.

        "Fell back": the model's call raised (the extractive engine answered instead), or the
        engine itself replaced an unusable model answer (its ``stats.fallbacks`` grew).
        """
        engine = self.service.engine()
        started = time.perf_counter()
        before = sum(engine.stats.fallbacks.values())
        try:
            out = fn(engine)
            return out, engine.name, time.perf_counter() - started, sum(engine.stats.fallbacks.values()) > before
        except Exception as exc:
            if engine.name == "extractive":
                raise
            log.warning("%s/%s: the %s engine failed (%s); using the extractive result", feature, part,
                        engine.name, type(exc).__name__)
        backup = self.fallback()
        return fn(backup), backup.name, time.perf_counter() - started, True


async def run_analysis(record: Any, features: Sequence[Feature], service: Any, t: Transcript | None = None) -> None:
    """Compute ``features`` for ``record`` one call at a time on ``service.worker``.

    Sets ``record.results[feature.key]`` as each is ready and ``record.analysis_report``. With
    ``t``, an engine that has ``prefetch(t, parts)`` (the language model) is first given every
    part the features will ask for, so it can answer the questions about the whole transcript
    in one batch (one reading of the transcript, batched decoding); its seconds are reported
    under ``"prefetch"``.

    Raises:
        AnalysisFailed: some features failed on every engine (their results are missing).
    """
    runner = _Runner(service)
    failures: dict[str, str] = {}
    if t is not None and features:
        wanted = frozenset(part for f in features for part, fn in f.calls.items() if fn is not None)
        await service.worker.run(runner.prefetch, t, wanted, record.analysis_report)
    for feature in features:
        entry: dict[str, Any] = {"seconds": 0.0, "engine": None, "fallbacks": []}
        record.analysis_report[feature.key] = entry
        got: dict[str, Any] = {}
        try:
            for part, fn in feature.calls.items():
                if fn is None:
                    got[part] = None
                    continue
                got[part], used, seconds, fell = await service.worker.run(runner.call, feature.key, part, fn)
                entry["seconds"] += seconds
                engines = {entry["engine"], used} - {None}
                entry["engine"] = "+".join(sorted(engines))
                if fell:
                    entry["fallbacks"].append(part)
            started = time.perf_counter()
            document = await service.worker.run(feature.build, got)  # big for a long meeting: off the loop
            entry["seconds"] = round(entry["seconds"] + time.perf_counter() - started, 4)
        except Exception as exc:  # noqa: BLE001 - one feature's failure must not stop the others
            log.error("%s for task %s failed: %s", feature.key, record.task_id, type(exc).__name__)
            failures[feature.key] = f"{type(exc).__name__}: {str(exc)[:200]}"
            entry["error"] = failures[feature.key]
            continue
        record.results[feature.key] = document
    if features:
        log.info("analysis of task %s: %s", record.task_id, ", ".join(
            f"{k} {v['seconds']:.2f}s {v['engine'] or '-'}" + (f" (fallback: {'/'.join(v['fallbacks'])})"
                                                                  if v["fallbacks"] else "")
            for k, v in record.analysis_report.items()))
    if failures:
        raise AnalysisFailed(failures)
