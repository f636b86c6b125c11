"""Every result table in one list: its name, the result file it reads and its columns.

:data:`TABLES` drives ``Session`` accessors, the JSON bundle and the benchmark, so a new
table is added in one place. ``parse(doc)`` takes the parsed JSON of ``results/<kind>.json``
(None when the file is absent: an empty frame with the documented columns comes back).
The translation table's language columns follow ``TRANSLATION_BASE_COLUMNS`` (see
:func:`~tingwu_nb.results.translation.translations_frame`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from tingwu_nb.results import (
    assistance,
    chapters,
    custom_prompt,
    extraction,
    identity,
    inspection,
    polish,
    slides,
    speakers,
    summaries,
    transcription,
    translation,
)

__all__ = ["TABLES", "Table", "all_frames"]


@dataclass(frozen=True)
class Table:
    """One result table: ``name``, the result file ``kind``, ``parse(doc)`` and its ``columns``."""

    name: str
    kind: str
    parse: Callable[[Mapping[str, Any] | None], pd.DataFrame]
    columns: tuple[str, ...]


TABLES: dict[str, Table] = {t.name: t for t in (
    Table("sentences", "Transcription", transcription.sentences_frame, transcription.SENTENCE_COLUMNS),
    Table("words", "Transcription", transcription.words_frame, transcription.WORD_COLUMNS),
    Table("paragraphs", "Transcription", transcription.paragraphs_frame, transcription.PARAGRAPH_COLUMNS),
    Table("speakers", "Transcription", speakers.speakers_frame, speakers.SPEAKER_COLUMNS),
    Table("translations", "Translation", translation.translations_frame, translation.TRANSLATION_BASE_COLUMNS),
    Table("chapters", "AutoChapters", chapters.chapters_frame, chapters.CHAPTER_COLUMNS),
    Table("keywords", "MeetingAssistance", assistance.keywords_frame, assistance.KEYWORD_COLUMNS),
    Table("key_sentences", "MeetingAssistance", assistance.key_sentences_frame, assistance.KEY_SENTENCE_COLUMNS),
    Table("actions", "MeetingAssistance", assistance.actions_frame, assistance.ACTION_COLUMNS),
    Table("classifications", "MeetingAssistance", assistance.classifications_frame,
          assistance.CLASSIFICATION_COLUMNS),
    Table("summary", "Summarization", summaries.summary_frame, summaries.SUMMARY_COLUMNS),
    Table("speaker_summaries", "Summarization", summaries.speaker_summaries_frame,
          summaries.SPEAKER_SUMMARY_COLUMNS),
    Table("qa", "Summarization", summaries.qa_frame, summaries.QA_COLUMNS),
    Table("mindmap", "Summarization", summaries.mindmap_frame, summaries.MINDMAP_COLUMNS),
    Table("mindmap_edges", "Summarization", summaries.mindmap_edges_frame, summaries.MINDMAP_EDGE_COLUMNS),
    Table("polished", "TextPolish", polish.polished_frame, polish.POLISH_COLUMNS),
    Table("inspection", "ServiceInspection", inspection.inspection_frame, inspection.INSPECTION_COLUMNS),
    Table("custom_prompt", "CustomPrompt", custom_prompt.custom_prompt_frame, custom_prompt.CUSTOM_PROMPT_COLUMNS),
    Table("identities", "IdentityRecognition", identity.identities_frame, identity.IDENTITY_COLUMNS),
    Table("extractions", "ContentExtraction", extraction.extractions_frame, extraction.EXTRACTION_COLUMNS),
    Table("slides", "PptExtraction", slides.slides_frame, slides.SLIDE_COLUMNS),
)}


def all_frames(results: Mapping[str, Any], languages: Sequence[str] | None = None) -> dict[str, pd.DataFrame]:
    """Every table of :data:`TABLES` from parsed result files ``{kind: document}``, by table name.

    Each file is read once: the Transcription is parsed once for sentences, words, paragraphs
    and speakers, and translations are aligned to those sentences (``languages``: the task's
    target languages, naming the columns). A kind missing from ``results`` gives empty frames.
    """
    transcript = transcription.parse_transcription(results.get("Transcription"))
    sentences = transcript.sentences()
    out = {"sentences": sentences, "words": transcript.words(), "paragraphs": transcript.paragraphs_frame(),
           "speakers": speakers.speaker_stats(sentences),
           "translations": translation.translations_frame(results.get("Translation"), languages, sentences=sentences)}
    for name, table in TABLES.items():
        if name not in out:
            out[name] = table.parse(results.get(table.kind))
    return out
