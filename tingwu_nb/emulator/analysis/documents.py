"""Result files from analysis-engine outputs: the JSON documents of rest-api §4.3–§4.10.

Pure functions, no I/O: each takes the :class:`~tingwu_nb.emulator.analysis.base.Transcript`
the engine worked on plus the engine's outputs and returns ``{"TaskId": ..., "<Kind>": ...}``
with PascalCase keys and times in ms, as the cloud's files are. Sentence ids that are not in the
transcript are dropped and keywords that do not occur in the text are dropped, so a document
never cites what was not said. The UNCONFIRMED layouts (ServiceInspection, IdentityRecognition,
ContentExtraction, MindMap ``BeginTime``, ``ParagraphTitle``) follow
:class:`~tingwu_nb.emulator.contract.ContractChoices`; the caller passes the choice.

Features with sub-results (MeetingAssistance, Summarization) take ``parts``: a mapping from the
request's type name to the engine output. A type absent from ``parts`` is not written; a type
present with the value ``None`` is written with empty content (below the features page's
minimum length, or a type not requested when the choice is "empty").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tingwu_nb.emulator.analysis.base import (
    Chapter,
    ContentItem,
    CustomAnswer,
    Extraction,
    Identity,
    Judgement,
    KeyInformation,
    MindNode,
    QAPair,
    Sentence,
    Transcript,
)

__all__ = [
    "MAX_MINDMAP_DEPTH",
    "chapters_document",
    "custom_prompt_document",
    "extraction_document",
    "identity_document",
    "inspection_document",
    "meeting_assistance_document",
    "speaker_name",
    "summarization_document",
    "text_polish_document",
    "transcript_of",
]

MAX_MINDMAP_DEPTH = 4  # rest §4.5 / §5.6
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


def transcript_of(transcription: Mapping[str, Any], sentences: Sequence[Mapping[str, Any]],
                  language: str) -> Transcript:
    """The engine's input for a Transcription document (rest §4.1) and the stream's final sentences.

    ``sentences`` are the emulator's sentence dicts (``text``, ``start_ms``, ``end_ms``) in the
    order the document numbers them: sentence ``n`` (from 0) has ``SentenceId`` ``n + 1``. Its
    speaker, paragraph and times are read from the document's words (as a client reads them),
    the text from the sentence.
    """
    where: dict[int, list[Any]] = {}
    for paragraph in transcription["Transcription"]["Paragraphs"]:
        for word in paragraph["Words"]:
            sid, start, end = int(word["SentenceId"]), int(word["Start"]), int(word["End"])
            got = where.setdefault(sid, [str(paragraph["SpeakerId"]), str(paragraph["ParagraphId"]), start, end])
            got[2], got[3] = min(got[2], start), max(got[3], end)
    out = []
    for sentence_id, s in enumerate(sentences, start=1):
        speaker, paragraph_id, start, end = where.get(sentence_id, ("1", "", s["start_ms"], s["end_ms"]))
        out.append(Sentence(id=sentence_id, start=int(start), end=int(end), text=str(s["text"]).strip(),
                            speaker=speaker, paragraph_id=paragraph_id))
    return Transcript(sentences=tuple(out), language=language)


def _ids(ids: Iterable[int], t: Transcript) -> list[int]:
    known = {s.id for s in t.sentences}
    return list(dict.fromkeys(int(i) for i in ids if int(i) in known))


def _occurs(word: str, folded_text: str) -> bool:
    needle = " ".join(word.casefold().split())
    if not needle:
        return False
    if _CJK.search(needle):
        return needle.replace(" ", "") in folded_text.replace(" ", "")
    return re.search(r"(?<!\w)" + re.escape(needle) + r"(?!\w)", folded_text) is not None


def _item(n: int, s: Sentence) -> dict[str, Any]:
    return {"Id": n, "SentenceId": s.id, "Start": s.start, "End": s.end, "Text": s.text}


def chapters_document(task_id: str, t: Transcript, chapters: Sequence[Chapter]) -> dict[str, Any]:
    """AutoChapters (rest §4.3): ``Start``/``End`` of the first/last sentence of each chapter."""
    by_id = t.by_id()
    items = []
    for chapter in chapters:
        ids = _ids(chapter.sentence_ids, t)
        if not ids:
            continue
        items.append({"Id": len(items) + 1, "Start": by_id[min(ids)].start, "End": by_id[max(ids)].end,
                      "Headline": chapter.headline.strip(), "Summary": chapter.summary.strip()})
    return {"TaskId": task_id, "AutoChapters": items}


def meeting_assistance_document(task_id: str, t: Transcript, parts: Mapping[str, Any]) -> dict[str, Any]:
    """MeetingAssistance (rest §4.4) from ``parts``: ``KeyInformation`` (a :class:`KeyInformation`),
    ``Actions`` (sentence ids) and ``Classifications`` (scene -> score), each optional."""
    body: dict[str, Any] = {}
    by_id = t.by_id()
    if "KeyInformation" in parts:
        info: KeyInformation | None = parts["KeyInformation"]
        folded = " ".join(t.text.casefold().split())
        words = [w.strip() for w in (info.keywords if info else ()) if _occurs(w, folded)]
        body["Keywords"] = list(dict.fromkeys(words))
        body["KeySentences"] = [_item(n, by_id[i]) for n, i in enumerate(_ids(info.key_sentence_ids if info else (),
                                                                                t), 1)]
    if "Actions" in parts:
        body["Actions"] = [_item(n, by_id[i]) for n, i in enumerate(_ids(parts["Actions"] or (), t), 1)]
    if "Classifications" in parts:
        body["Classifications"] = {str(k): round(float(v), 4) for k, v in (parts["Classifications"] or {}).items()}
    return {"TaskId": task_id, "MeetingAssistance": body}


def speaker_name(speaker_id: str, language: str) -> str:
    """The cloud's default speaker label: ``发言人1`` for Chinese, ``Speaker 1`` otherwise."""
    return f"发言人{speaker_id}" if language in ("cn", "yue") else f"Speaker {speaker_id}"


def _mind(node: MindNode, depth: int, leaf_times: bool) -> dict[str, Any]:
    children = [_mind(c, depth + 1, leaf_times) for c in node.children] if depth < MAX_MINDMAP_DEPTH else []
    out: dict[str, Any] = {"Title": node.title.strip(), "Topic": children}
    if leaf_times and not children and node.begin_ms is not None:
        out["BeginTime"] = int(node.begin_ms)
    return out


def summarization_document(task_id: str, t: Transcript, parts: Mapping[str, Any], *,
                           paragraph_title: bool = True, mindmap_leaf_times: bool = True) -> dict[str, Any]:
    """Summarization (rest §4.5) from ``parts`` keyed by the request's Types.

    ``Paragraph``: ``(title, summary)``; ``Conversational``: speaker id -> summary (speakers in
    order of first appearance); ``QuestionsAnswering``: :class:`QAPair` list; ``MindMap``: the
    root :class:`MindNode` (written as a one-root list, depth cut at 4). ``paragraph_title``
    writes the UNCONFIRMED ``ParagraphTitle``; ``mindmap_leaf_times`` the UNCONFIRMED leaf
    ``BeginTime``.
    """
    body: dict[str, Any] = {}
    if "Paragraph" in parts:
        title, summary = parts["Paragraph"] or ("", "")
        if paragraph_title:
            body["ParagraphTitle"] = title.strip()
        body["ParagraphSummary"] = summary.strip()
    if "Conversational" in parts:
        by_speaker: Mapping[str, str] = parts["Conversational"] or {}
        body["ConversationalSummary"] = [
            {"SpeakerId": sp, "SpeakerName": speaker_name(sp, t.language), "Summary": by_speaker[sp].strip()}
            for sp in t.speakers if by_speaker.get(sp, "").strip()]
    if "QuestionsAnswering" in parts:
        pairs: Sequence[QAPair] = parts["QuestionsAnswering"] or ()
        body["QuestionsAnsweringSummary"] = [
            {"Question": qa.question.strip(), "SentenceIdsOfQuestion": _ids(qa.question_ids, t),
             "Answer": qa.answer.strip(), "SentenceIdsOfAnswer": _ids(qa.answer_ids, t)}
            for qa in pairs if _ids(qa.question_ids, t) and _ids(qa.answer_ids, t)]
    if "MindMap" in parts:
        root: MindNode | None = parts["MindMap"]
        body["MindMapSummary"] = [_mind(root, 1, mindmap_leaf_times)] if root is not None else []
    return {"TaskId": task_id, "Summarization": body}


def text_polish_document(task_id: str, t: Transcript, paragraphs: Sequence[Sequence[int]],
                         texts: Sequence[str]) -> dict[str, Any]:
    """TextPolish (rest §4.6): one item per paragraph (its sentence ids) with its polished text."""
    by_id = t.by_id()
    items = []
    for ids, text in zip(paragraphs, texts):
        ids = _ids(ids, t)
        if not ids:
            continue
        first, last = by_id[ids[0]], by_id[ids[-1]]
        items.append({"FormalParagraphText": text.strip(), "SentenceIds": ids, "ParagraphId": first.paragraph_id,
                      "Start": first.start, "End": last.end})
    return {"TaskId": task_id, "TextPolish": items}


def inspection_document(task_id: str, t: Transcript, contents: Sequence[ContentItem],
                        judgements: Sequence[Judgement], *, layout: str = "list") -> dict[str, Any]:
    """ServiceInspection — invented layout (rest §4.9 UNCONFIRMED, ``ContractChoices.inspection_layout``).

    One judgement per requested content, in request order: ``{"Title", "Content", "Passed",
    "Score", "SentenceIds", "Reason"}``. ``layout="list"`` writes them as a list,
    ``"by-title"`` as ``{Title: item}``. A content the engine did not judge gets
    ``Passed``/``Score`` null and an explaining ``Reason``.
    """
    by_title = {j.title: j for j in judgements}
    rows = []
    for n, item in enumerate(contents):
        j = by_title.get(item.title) or (judgements[n] if len(judgements) == len(contents) else None)
        row: dict[str, Any] = {"Title": item.title, "Content": item.content}
        if j is None:
            row.update({"Passed": None, "Score": None, "SentenceIds": [], "Reason": "not judged"})
        else:
            row.update({"Passed": bool(j.passed), "Score": round(float(j.score), 4),
                        "SentenceIds": _ids(j.evidence_ids, t), "Reason": j.reason.strip()})
        rows.append(row)
    if layout == "by-title":
        return {"TaskId": task_id, "ServiceInspection": {r["Title"]: r for r in rows}}
    return {"TaskId": task_id, "ServiceInspection": rows}


def identity_document(task_id: str, t: Transcript, identities: Sequence[Identity]) -> dict[str, Any]:
    """IdentityRecognition — invented layout (rest §4.10 UNCONFIRMED): one item per speaker,
    ``{"SpeakerId", "Identity", "SentenceIds"}``; ``Identity`` is null when no requested identity fits."""
    seen = {i.speaker_id: i for i in identities}
    order = [sp for sp in t.speakers if sp in seen] + [sp for sp in seen if sp not in t.speakers]
    return {"TaskId": task_id, "IdentityRecognition": [
        {"SpeakerId": sp, "Identity": seen[sp].identity, "SentenceIds": _ids(seen[sp].evidence_ids, t)}
        for sp in order]}


def extraction_document(task_id: str, t: Transcript, contents: Sequence[ContentItem],
                        extractions: Sequence[Extraction]) -> dict[str, Any]:
    """ContentExtraction — invented layout (rest §4.10 UNCONFIRMED): one item per requested content,
    ``{"Title", "Value", "SentenceIds"}`` plus ``"Identity"`` when the request tied it to one;
    ``Value`` is ``""`` when nothing was found."""
    by_title = {e.title: e for e in extractions}
    rows = []
    for item in contents:
        e = by_title.get(item.title)
        row: dict[str, Any] = {"Title": item.title, "Value": e.value.strip() if e else "",
                               "SentenceIds": _ids(e.evidence_ids, t) if e else []}
        identity = (e.identity if e else None) or item.identity
        if identity:
            row["Identity"] = identity
        rows.append(row)
    return {"TaskId": task_id, "ContentExtraction": rows}


def custom_prompt_document(task_id: str, answers: Sequence[CustomAnswer]) -> dict[str, Any]:
    """CustomPrompt (rest §4.8): ``[{"Name", "Result", "Truncated"}]`` in request order."""
    return {"TaskId": task_id, "CustomPrompt": [
        {"Name": a.name, "Result": a.result, "Truncated": bool(a.truncated)} for a in answers]}
