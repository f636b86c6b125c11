"""A session directory read back: :class:`Session`, the tables and results a record left on disk.

``record()`` (:mod:`tingwu_nb.session.recording`) writes the directory as it happens; a
``Session`` opens it again at any time — while it is being written, after a crash, or years
later — and gives the live events, the gaps table, the frames sent, every result as a
DataFrame and the raw result documents.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from tingwu_nb.contract import events as ev
from tingwu_nb.contract.codec import from_object
from tingwu_nb.results.catalog import TABLES, all_frames
from tingwu_nb.results.speakers import speaker_stats
from tingwu_nb.results.transcription import (
    live_sentences_frame,
    live_transcript_frames,
    sentences_frame,
    words_frame,
)
from tingwu_nb.results.translation import translations_frame
from tingwu_nb.session.collect import target_languages

__all__ = ["Session"]


class Session:
    """A realtime record on disk: read its tables, events and result files.

    Open one with ``Session(path)``; :func:`record` returns one for the session it wrote.
    """

    def __init__(self, directory: str | os.PathLike) -> None:
        self.directory = Path(directory)
        meta_path = self.directory / "session.json"
        if not meta_path.exists():
            raise FileNotFoundError(f"{self.directory} is not a session directory (no session.json)")
        self.meta: dict[str, Any] = json.loads(meta_path.read_text(encoding="utf-8"))

    def __repr__(self) -> str:
        return f"<Session {self.task_id} {self.status} at {self.directory}>"

    @property
    def task_id(self) -> str | None:
        return self.meta.get("task_id")

    @property
    def status(self) -> str:
        return self.meta.get("status", "unknown")

    def result(self, kind: str) -> dict[str, Any] | None:
        """A downloaded result file (``"Transcription"``, ...) or None if there is none."""
        path = self.directory / "results" / f"{kind}.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

    @property
    def transcription(self) -> dict[str, Any] | None:
        return self.result("Transcription")

    def events(self) -> list[ev.Message]:
        """Every event received live, decoded again, stamped with its receive times."""
        out = []
        lines = (self.directory / "events.jsonl").read_text(encoding="utf-8").splitlines()
        for n, line in enumerate(lines):
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                if n == len(lines) - 1:
                    break  # the line being written when the process died
                raise
            out.append(_stamp(from_object(row["message"]), row))
        return out

    def gaps(self) -> pd.DataFrame:
        """One row per dropped connection and its replay (see :mod:`tingwu_nb.session.gaps`),
        with ``sentences_affected`` (indexes of the sentences recognised from replayed audio);
        empty when the stream never dropped."""
        from tingwu_nb.session.gaps import affected_sentences, read_gaps

        gaps = read_gaps(self.directory)
        spans = [(e.index, e.begin_time_ms, e.time_ms) for e in self.events() if isinstance(e, ev.SentenceEnd)] \
            if len(gaps) else []
        gaps["sentences_affected"] = affected_sentences(gaps, spans) if len(gaps) else []
        return gaps

    def frames(self) -> pd.DataFrame:
        """One row per audio frame sent (seq, bytes, start_ms, end_ms, mono, wall)."""
        return pd.read_json(self.directory / "frames.jsonl", lines=True)

    @property
    def provisional(self) -> bool:
        """True when the tables hold live sentences the service never confirmed (see recover)."""
        return bool(self.meta.get("provisional")) and self.transcription is None

    def sentences(self) -> pd.DataFrame:
        """Final sentences from the Transcription file (``results.SENTENCE_COLUMNS``).

        A :attr:`provisional` session (recovered after its service died) gives the live
        sentences instead, in the same columns.
        """
        if self.provisional:
            return live_transcript_frames(self.events())[0]
        doc = self.transcription
        return sentences_frame(doc) if doc is not None else sentences_frame({})

    def words(self) -> pd.DataFrame:
        """Words from the Transcription file (``results.WORD_COLUMNS``); live words if provisional."""
        if self.provisional:
            return live_transcript_frames(self.events())[1]
        doc = self.transcription
        return words_frame(doc) if doc is not None else words_frame({})

    def live_sentences(self) -> pd.DataFrame:
        """SentenceEnd events as received live, with latency (``results.LIVE_SENTENCE_COLUMNS``)."""
        frames = self.frames() if (self.directory / "frames.jsonl").stat().st_size else pd.DataFrame()
        sent = list(zip(frames["end_ms"], frames["mono"])) if len(frames) else []
        return live_sentences_frame(self.events(), sent)

    def table(self, name: str) -> pd.DataFrame:
        """Any table of ``results.TABLES`` by name, parsed from ``results/<Kind>.json``.

        A missing file (feature not requested, or not produced) gives an empty frame with the
        table's documented columns. Prefer the named methods below; ``translations`` needs them.
        """
        if name == "translations":
            return self.translations()
        if name in ("sentences", "words", "speakers"):
            return getattr(self, name)()
        spec = TABLES[name]
        return spec.parse(self.result(spec.kind))

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table by name (``results.TABLES``), each result file read and parsed once.

        What an export of the whole session writes; the same frames as the named methods.
        """
        docs = {kind: self.result(kind) for kind in dict.fromkeys(t.kind for t in TABLES.values())}
        languages = self.target_languages()
        frames = all_frames(docs, languages)
        if docs["Transcription"] is None and self.meta.get("provisional"):  # self.provisional, file already read
            sentences, words = live_transcript_frames(self.events())
            frames.update(sentences=sentences, words=words, speakers=speaker_stats(sentences),
                          translations=translations_frame(docs["Translation"], languages, sentences=sentences))
        return frames

    def target_languages(self) -> list[str]:
        """The translation targets this session asked for (``Parameters.Translation.TargetLanguages``)."""
        return target_languages(self.meta)

    def paragraphs(self) -> pd.DataFrame:
        """Speaker paragraphs of the Transcription file (``results.PARAGRAPH_COLUMNS``)."""
        return self.table("paragraphs")

    def speakers(self) -> pd.DataFrame:
        """Talk time, turns, rate and longest monologue per speaker (``results.SPEAKER_COLUMNS``)."""
        return speaker_stats(self.sentences())

    def translations(self) -> pd.DataFrame:
        """Translations aligned to :meth:`sentences`: ``sentence_id, start_s, end_s`` + one column per target."""
        return translations_frame(self.result("Translation"), self.target_languages(), sentences=self.sentences())

    def chapters(self) -> pd.DataFrame:
        """AutoChapters (``results.CHAPTER_COLUMNS``)."""
        return self.table("chapters")

    def keywords(self) -> pd.DataFrame:
        """MeetingAssistance keywords (``results.KEYWORD_COLUMNS``)."""
        return self.table("keywords")

    def key_sentences(self) -> pd.DataFrame:
        """MeetingAssistance key sentences (``results.KEY_SENTENCE_COLUMNS``)."""
        return self.table("key_sentences")

    def actions(self) -> pd.DataFrame:
        """MeetingAssistance action items (``results.ACTION_COLUMNS``)."""
        return self.table("actions")

    def classifications(self) -> pd.DataFrame:
        """MeetingAssistance scene scores (``results.CLASSIFICATION_COLUMNS``)."""
        return self.table("classifications")

    def summary(self) -> pd.DataFrame:
        """Title and full-text summary (``results.SUMMARY_COLUMNS``)."""
        return self.table("summary")

    def speaker_summaries(self) -> pd.DataFrame:
        """Summary per speaker (``results.SPEAKER_SUMMARY_COLUMNS``)."""
        return self.table("speaker_summaries")

    def qa(self) -> pd.DataFrame:
        """Questions and answers with their sentence ids (``results.QA_COLUMNS``)."""
        return self.table("qa")

    def mindmap(self) -> pd.DataFrame:
        """Mind-map nodes in pre-order (``results.MINDMAP_COLUMNS``)."""
        return self.table("mindmap")

    def mindmap_edges(self) -> pd.DataFrame:
        """Mind-map edge list (``results.MINDMAP_EDGE_COLUMNS``)."""
        return self.table("mindmap_edges")

    def polished(self) -> pd.DataFrame:
        """TextPolish paragraphs (``results.POLISH_COLUMNS``)."""
        return self.table("polished")

    def inspection(self) -> pd.DataFrame:
        """ServiceInspection, one row per dimension (``results.INSPECTION_COLUMNS``)."""
        return self.table("inspection")

    def custom_prompt(self) -> pd.DataFrame:
        """CustomPrompt answers (``results.CUSTOM_PROMPT_COLUMNS``)."""
        return self.table("custom_prompt")

    def identities(self) -> pd.DataFrame:
        """IdentityRecognition per speaker (``results.IDENTITY_COLUMNS``)."""
        return self.table("identities")

    def extractions(self) -> pd.DataFrame:
        """ContentExtraction fields (``results.EXTRACTION_COLUMNS``)."""
        return self.table("extractions")

    def _repr_html_(self) -> str:
        """Jupyter's view: id, status, duration, result tables, first sentences in full (redacted)."""
        from tingwu_nb.session.overview import session_html

        return session_html(self)


def _stamp(message: ev.Message, row: dict[str, Any]) -> ev.Message:
    return replace(message, received_at=row.get("mono"), received_wall=row.get("wall"),
                               audio_sent_ms=row.get("audio_sent_ms"))
