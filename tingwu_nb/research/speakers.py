"""Per-speaker accuracy and speaker-attribution error of one grid condition.

    fields, table = speaker_measures(recording.reference, session.sentences(), "en",
                                     diarized=True, condition_id=cid)

The reference must carry speaker labels (:attr:`tingwu_nb.research.grid.Reference.has_speakers`:
SRT/VTT speaker prefixes, a Transcription's SpeakerId, ``speaker:`` in YAML segments) and the
hypothesis is the session's final sentences with their ``speaker_id``. Scoring is
:func:`tingwu_nb.research.metrics.speaker_scores`: each reference speaker's text against the
hypothesis sentences that overlap them most in time, and the share of time-attributed reference
tokens whose (best one-to-one mapped) hypothesis speaker is wrong.

A session without diarization still labels every sentence (speaker ``"1"``), which would make
the attribution error "the share of everyone but the main speaker"; so conditions are scored only
when diarization was requested (``diarized``) or the hypothesis names at least two speakers.
The runner puts ``fields`` (:data:`SPEAKER_FIELDS`) into the run row and ``table``
(:data:`SPEAKER_COLUMNS`) into the run store's ``speakers`` table.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from tingwu_nb.research.grid import Reference
from tingwu_nb.research.metrics import Segment, speaker_scores

__all__ = ["SPEAKER_COLUMNS", "SPEAKER_FIELDS", "diarization_requested", "hypothesis_segments", "speaker_measures"]

#: The run store's ``speakers`` table: one row per reference speaker of a scored condition.
#: ``hyp_speaker`` is the hypothesis label mapped onto that speaker (None when none was).
SPEAKER_COLUMNS = ("condition_id", "speaker", "hyp_speaker", "metric", "error_rate", "substitutions", "deletions",
                   "insertions", "hits", "reference_length")
#: Run-row fields: attribution error in [0, 1], the share of reference tokens some hypothesis
#: sentence covers in time, and the number of distinct reference / hypothesis speakers.
SPEAKER_FIELDS = ("speaker_attribution_error", "speaker_coverage", "speakers_ref", "speakers_hyp")


def diarization_requested(params: Mapping[str, Any]) -> bool:
    """True when a condition's request keywords turn diarization on (``diarization`` or ``speaker_count``)."""
    return bool(params.get("diarization")) or params.get("speaker_count") is not None


def hypothesis_segments(sentences: pd.DataFrame) -> list[Segment]:
    """``(speaker, start_s, end_s, text)`` of every sentence with a speaker id (``results.SENTENCE_COLUMNS``)."""
    out = []
    for speaker, start, end, text in zip(sentences.get("speaker_id", []), sentences.get("start_s", []),
                                         sentences.get("end_s", []), sentences.get("text", [])):
        if speaker is None or (isinstance(speaker, float) and math.isnan(speaker)) or not str(speaker).strip():
            continue
        out.append((str(speaker).strip(), float(start), float(end), str(text)))
    return out


def _empty() -> tuple[dict[str, Any], pd.DataFrame]:
    return {f: math.nan for f in SPEAKER_FIELDS}, pd.DataFrame(columns=list(SPEAKER_COLUMNS))


def speaker_measures(reference: Reference, sentences: pd.DataFrame, language: str, *, diarized: bool,
                     condition_id: str | None = None) -> tuple[dict[str, Any], pd.DataFrame]:
    """Run-row fields (:data:`SPEAKER_FIELDS`) and per-speaker rows (:data:`SPEAKER_COLUMNS`).

    Args:
        reference: the recording's reference; without speaker labels nothing is scored.
        sentences: the session's final sentences (``Session.sentences()``).
        language: the condition's SourceLanguage (picks WER/CER/MER).
        diarized: whether the condition asked for diarization (:func:`diarization_requested`).
        condition_id: copied into every row.
    Not scored (NaN fields, empty table): no reference speakers, no hypothesis speaker ids, or a
    single hypothesis speaker without diarization requested. Store both with ``RunStore.add``.
    """
    if not reference.has_speakers:
        return _empty()
    hyp = hypothesis_segments(sentences)
    hyp_speakers = {h[0] for h in hyp}
    if not hyp or (not diarized and len(hyp_speakers) < 2):
        return _empty()
    ref = reference.speaker_segments()
    scores = speaker_scores(ref, hyp, language)
    mapped = {r: h for h, r in scores.mapping.items()}
    table = scores.per_speaker.assign(condition_id=condition_id,
                                      hyp_speaker=[mapped.get(s) for s in scores.per_speaker["speaker"]])
    fields = {"speaker_attribution_error": float(scores.attribution_error) if scores.attributed_tokens else math.nan,
              "speaker_coverage": float(scores.coverage), "speakers_ref": len({r[0] for r in ref}),
              "speakers_hyp": len(hyp_speakers)}
    return fields, table[list(SPEAKER_COLUMNS)].astype({"condition_id": "object", "hyp_speaker": "object"})
