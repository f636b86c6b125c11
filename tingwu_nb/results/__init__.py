"""Result files and live events as typed objects and tidy DataFrames, one module per result family.

``transcription`` (sentences, words, paragraphs; live SentenceEnds), ``speakers`` (talk time,
turns, rate, longest monologue), ``translation`` (one column per language), ``chapters``,
``assistance`` (keywords, key sentences, actions, classifications), ``summaries`` (summary,
speaker summaries, Q&A, mind map), ``polish``, ``inspection``, ``custom_prompt``, ``identity``,
``extraction``, ``slides``; ``catalog.TABLES`` lists every table with its file and columns; ``all_frames`` parses each file once.
Column lists are constants so frames join on ``sentence_id``, ``speaker_id`` and time.
"""

from tingwu_nb.results.assistance import (
    ACTION_COLUMNS,
    CLASSIFICATION_COLUMNS,
    KEY_SENTENCE_COLUMNS,
    KEYWORD_COLUMNS,
    actions_frame,
    classifications_frame,
    key_sentences_frame,
    keywords_frame,
)
from tingwu_nb.results.catalog import TABLES, Table, all_frames
from tingwu_nb.results.chapters import CHAPTER_COLUMNS, chapters_frame
from tingwu_nb.results.custom_prompt import CUSTOM_PROMPT_COLUMNS, custom_prompt_frame
from tingwu_nb.results.extraction import EXTRACTION_COLUMNS, extractions_frame
from tingwu_nb.results.identity import IDENTITY_COLUMNS, identities_frame
from tingwu_nb.results.inspection import INSPECTION_COLUMNS, inspection_frame
from tingwu_nb.results.polish import POLISH_COLUMNS, polished_frame
from tingwu_nb.results.slides import SLIDE_COLUMNS, slides_frame
from tingwu_nb.results.speakers import SPEAKER_COLUMNS, speaker_stats, speakers_frame
from tingwu_nb.results.summaries import (
    MINDMAP_COLUMNS,
    MINDMAP_EDGE_COLUMNS,
    QA_COLUMNS,
    SPEAKER_SUMMARY_COLUMNS,
    SUMMARY_COLUMNS,
    MindMapNode,
    mindmap_edges_frame,
    mindmap_frame,
    mindmap_tree,
    qa_frame,
    speaker_summaries_frame,
    summary_frame,
)
from tingwu_nb.results.transcription import (
    LIVE_SENTENCE_COLUMNS,
    PARAGRAPH_COLUMNS,
    SENTENCE_COLUMNS,
    WORD_COLUMNS,
    Transcript,
    join_tokens,
    live_sentences_frame,
    live_transcript_frames,
    paragraphs_frame,
    parse_transcription,
    sentences_frame,
    transcript_frames,
    words_frame,
)
from tingwu_nb.results.translation import (
    DEFAULT_TRANSLATION_COLUMN,
    TRANSLATION_BASE_COLUMNS,
    translation_languages,
    translations_frame,
)

__all__ = [
    "ACTION_COLUMNS", "CHAPTER_COLUMNS", "CLASSIFICATION_COLUMNS", "CUSTOM_PROMPT_COLUMNS",
    "DEFAULT_TRANSLATION_COLUMN", "EXTRACTION_COLUMNS", "IDENTITY_COLUMNS", "INSPECTION_COLUMNS",
    "KEYWORD_COLUMNS", "KEY_SENTENCE_COLUMNS", "LIVE_SENTENCE_COLUMNS", "MINDMAP_COLUMNS",
    "MINDMAP_EDGE_COLUMNS", "PARAGRAPH_COLUMNS", "POLISH_COLUMNS", "QA_COLUMNS", "SENTENCE_COLUMNS", "SLIDE_COLUMNS",
    "SPEAKER_COLUMNS", "SPEAKER_SUMMARY_COLUMNS", "SUMMARY_COLUMNS", "TABLES", "TRANSLATION_BASE_COLUMNS",
    "WORD_COLUMNS", "MindMapNode", "Table", "Transcript", "actions_frame", "all_frames", "chapters_frame",
    "classifications_frame", "custom_prompt_frame", "extractions_frame", "identities_frame",
    "inspection_frame", "join_tokens", "key_sentences_frame", "keywords_frame", "live_sentences_frame",
    "live_transcript_frames", "mindmap_edges_frame", "mindmap_frame", "mindmap_tree", "paragraphs_frame",
    "parse_transcription", "polished_frame", "qa_frame", "sentences_frame", "slides_frame", "speaker_stats",
    "speaker_summaries_frame", "speakers_frame", "summary_frame", "transcript_frames",
    "translation_languages", "translations_frame", "words_frame",
]
