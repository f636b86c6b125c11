"""Result files and live events as typed objects and tidy DataFrames, one module per family.

``transcription``: the Transcription file (sentences, words) and the live SentenceEnd events.
Column lists are constants so frames join on ``sentence_id``, ``speaker_id`` and time.
"""

from tingwu_nb.results.transcription import (
    LIVE_SENTENCE_COLUMNS,
    SENTENCE_COLUMNS,
    WORD_COLUMNS,
    join_tokens,
    live_sentences_frame,
    live_transcript_frames,
    sentences_frame,
    words_frame,
)

__all__ = [
    "LIVE_SENTENCE_COLUMNS",
    "SENTENCE_COLUMNS",
    "WORD_COLUMNS",
    "join_tokens",
    "live_sentences_frame",
    "live_transcript_frames",
    "sentences_frame",
    "words_frame",
]
