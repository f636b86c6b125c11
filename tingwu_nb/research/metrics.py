"""Accuracy measures: WER, CER and a mixed-script error rate, with counts and alignments.

:func:`score` is the research entry point: it normalises both texts with
:func:`tingwu_nb.research.normalize.normalize` for the recording's SourceLanguage, splits them
into scoring units and aligns them with one Levenshtein alignment (jiwer), giving a
:class:`Score` with S/D/I/hits and the token alignment. The unit follows the language:

* ``wer`` — words, for space-delimited languages (en, de, fr, ru, es, ...);
* ``cer`` — characters without spaces, for cn, yue, ja, ko;
* ``mer`` (mixed error rate) — for fspk and multilingual, and any other code: every CJK
  character is one token and every run of other non-space characters (a Latin word, a number)
  is one token, and one edit distance runs over that mixed sequence. On pure CJK text it
  equals CER, on pure Latin text WER; "我们用Kubernetes部署" has 6 tokens, and a misrecognised
  "Kubernetes" costs one substitution, not ten.

Error rate = (S + D + I) / reference tokens. An empty reference scores 0.0 against an empty
hypothesis and 1.0 (every token wrong, capped) against a non-empty one, so means stay finite;
corpus-level rates should sum errors and lengths (:func:`tingwu_nb.research.stats.corpus_error_rate`).

:func:`speaker_scores` adds per-speaker accuracy and speaker-attribution error for diarised
output. The older :func:`wer`, :func:`cer` and :func:`normalize_text` (language-blind, used by
tests and the package API) are kept unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from tingwu_nb.research.normalize import normalize, tokens

__all__ = ["METRIC_BY_LANGUAGE", "Score", "SpeakerScores", "cer", "metric_for", "normalize_text", "score",
           "speaker_scores", "wer"]

_PUNCT = re.compile(r"[^\w\s']|_", re.UNICODE)

#: Scoring metric per SourceLanguage; anything not listed is scored with ``mer``.
METRIC_BY_LANGUAGE = {
    "en": "wer", "de": "wer", "fr": "wer", "ru": "wer", "es": "wer", "it": "wer", "pt": "wer",
    "cn": "cer", "yue": "cer", "ja": "cer", "ko": "cer",
    "fspk": "mer", "multilingual": "mer",
}
_UNIT = {"wer": "word", "cer": "char", "mer": "mixed"}

#: One aligned token pair: ``(op, ref, hyp)`` with op in equal|substitute|delete|insert.
Alignment = tuple[str, "str | None", "str | None"]


def normalize_text(text: str) -> str:
    """Lower-case ``text`` without punctuation, single-spaced."""
    return " ".join(_PUNCT.sub(" ", text.lower()).split())


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate of ``hypothesis`` against ``reference`` after normalisation."""
    import jiwer

    return float(jiwer.wer(normalize_text(reference), normalize_text(hypothesis)))


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate, ignoring spaces (the right measure for CJK text)."""
    import jiwer

    strip = lambda t: normalize_text(t).replace(" ", "")  # noqa: E731
    return float(jiwer.cer(strip(reference), strip(hypothesis)))


@dataclass(frozen=True)
class Score:
    """One reference/hypothesis comparison; sum the counts across sentences for a corpus rate."""

    metric: str
    error_rate: float
    substitutions: int
    deletions: int
    insertions: int
    hits: int
    reference_length: int
    alignment: list[Alignment] = field(default_factory=list, repr=False)

    @property
    def errors(self) -> int:
        """S + D + I."""
        return self.substitutions + self.deletions + self.insertions

    def row(self) -> dict:
        """The run-table columns of this score (``metric`` .. ``reference_length``), no alignment."""
        return {"metric": self.metric, "error_rate": self.error_rate, "substitutions": self.substitutions,
                "deletions": self.deletions, "insertions": self.insertions, "hits": self.hits,
                "reference_length": self.reference_length}


def metric_for(language: str) -> str:
    """``"wer"``, ``"cer"`` or ``"mer"`` for a SourceLanguage code (see the module docstring)."""
    return METRIC_BY_LANGUAGE.get(language, "mer")


def align_tokens(ref: Sequence[str], hyp: Sequence[str], metric: str = "mer") -> Score:
    """Align two token lists (one Levenshtein alignment via jiwer) into a :class:`Score`."""
    ref, hyp = list(ref), list(hyp)
    if not ref:
        alignment = [("insert", None, h) for h in hyp]
        return Score(metric, 1.0 if hyp else 0.0, 0, 0, len(hyp), 0, 0, alignment)
    if not hyp:
        alignment = [("delete", r, None) for r in ref]
        return Score(metric, 1.0, 0, len(ref), 0, 0, len(ref), alignment)
    import jiwer

    out = jiwer.process_words(" ".join(ref), " ".join(hyp))
    alignment: list[Alignment] = []
    for chunk in out.alignments[0]:
        rs, hs = ref[chunk.ref_start_idx:chunk.ref_end_idx], hyp[chunk.hyp_start_idx:chunk.hyp_end_idx]
        if chunk.type == "insert":
            alignment.extend(("insert", None, h) for h in hs)
        elif chunk.type == "delete":
            alignment.extend(("delete", r, None) for r in rs)
        else:
            alignment.extend((chunk.type, r, h) for r, h in zip(rs, hs))
    errors = out.substitutions + out.deletions + out.insertions
    return Score(metric, errors / len(ref), out.substitutions, out.deletions, out.insertions, out.hits,
                 len(ref), alignment)


def score(reference: str, hypothesis: str, language: str = "en") -> Score:
    """Normalise both texts for ``language``, tokenise by its metric, align and count.

    Keep the :class:`Score` per sentence or recording; aggregate with
    :func:`tingwu_nb.research.stats.corpus_error_rate` (summed errors / summed lengths, with CI).
    """
    metric = metric_for(language)
    unit = _UNIT[metric]
    return align_tokens(tokens(normalize(reference, language), unit),
                        tokens(normalize(hypothesis, language), unit), metric)


# --- speakers ------------------------------------------------------------------------------

#: A diarised segment: ``(speaker, start_s, end_s, text)``.
Segment = tuple[str, float, float, str]


@dataclass(frozen=True)
class SpeakerScores:
    """Per-speaker accuracy and speaker attribution of one diarised transcript.

    ``per_speaker``: one row per reference speaker (``speaker`` + :meth:`Score.row` columns).
    ``attribution_error``: share of time-attributed reference tokens whose hypothesis speaker,
    after ``mapping`` (hypothesis label -> reference label, best one-to-one), is not theirs.
    ``coverage``: share of reference tokens that some hypothesis segment overlaps at all (the
    rest are left out of ``attribution_error`` — they are deletions, counted by the scores).
    """

    per_speaker: pd.DataFrame
    attribution_error: float
    mapping: dict[str, str]
    coverage: float
    attributed_tokens: int


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def _best_mapping(counts: dict[tuple[str, str], int], refs: list[str], hyps: list[str]) -> dict[str, str]:
    """Hypothesis -> reference speaker maximising agreeing tokens (Hungarian, else greedy)."""
    try:
        import numpy as np
        from scipy.optimize import linear_sum_assignment
    except ImportError:
        mapping: dict[str, str] = {}
        for (r, h), _ in sorted(counts.items(), key=lambda kv: -kv[1]):
            if h not in mapping and r not in mapping.values():
                mapping[h] = r
        return mapping
    gain = np.array([[counts.get((r, h), 0) for h in hyps] for r in refs], dtype=float)
    rows, cols = linear_sum_assignment(-gain)
    return {hyps[c]: refs[r] for r, c in zip(rows, cols)}


def speaker_scores(ref_segments: Sequence[Segment], hyp_segments: Sequence[Segment],
                   language: str = "en") -> SpeakerScores:
    """Per reference speaker error rate and speaker-attribution error.

    Per speaker: each hypothesis segment is given whole to the reference speaker it overlaps
    most in time (none if it overlaps nobody); that speaker's concatenated reference text is
    scored with :func:`score` against the concatenated hypothesis text given to them.

    Attribution: reference tokens are spread evenly over their segment; a token's hypothesis
    speaker is the one whose segment covers its time (most overlap of the token's slot).
    Hypothesis labels are mapped one-to-one onto reference labels to maximise agreement, so
    swapped labels cost nothing. Plot or tabulate ``per_speaker``; report ``attribution_error``
    with ``coverage``.
    """
    unit = _UNIT[metric_for(language)]
    refs = sorted({s[0] for s in ref_segments})
    hyps = sorted({s[0] for s in hyp_segments})
    given: dict[str, list[str]] = {r: [] for r in refs}
    for _, h0, h1, h_text in sorted(hyp_segments, key=lambda s: s[1]):
        best, most = None, 0.0
        for r_spk, r0, r1, _ in ref_segments:
            ov = _overlap(h0, h1, r0, r1)
            if ov > most:
                best, most = r_spk, ov
        if best is not None:
            given[best].append(h_text)
    rows = []
    for r in refs:
        ref_text = " ".join(t for s, _, _, t in sorted(ref_segments, key=lambda s: s[1]) if s == r)
        rows.append({"speaker": r, **score(ref_text, " ".join(given[r]), language).row()})
    per_speaker = pd.DataFrame(rows, columns=["speaker", "metric", "error_rate", "substitutions", "deletions",
                                              "insertions", "hits", "reference_length"])

    labelled: list[tuple[str, str]] = []  # (reference speaker, hypothesis speaker) per attributed token
    total = 0
    for r_spk, r0, r1, r_text in ref_segments:
        toks = tokens(normalize(r_text, language), unit)
        total += len(toks)
        step = (r1 - r0) / len(toks) if toks else 0.0
        for i in range(len(toks)):
            t0, t1 = r0 + i * step, r0 + (i + 1) * step
            best, most = None, 0.0
            for h_spk, h0, h1, _ in hyp_segments:
                ov = _overlap(t0, t1, h0, h1) if t1 > t0 else float(h0 <= t0 <= h1)
                if ov > most:
                    best, most = h_spk, ov
            if best is not None:
                labelled.append((r_spk, best))
    counts: dict[tuple[str, str], int] = {}
    for pair in labelled:
        counts[pair] = counts.get(pair, 0) + 1
    mapping = _best_mapping(counts, refs, hyps) if labelled else {}
    wrong = sum(mapping.get(h) != r for r, h in labelled)
    return SpeakerScores(per_speaker, wrong / len(labelled) if labelled else 0.0, mapping,
                         len(labelled) / total if total else 0.0, len(labelled))
