"""How the experiment report shows its tables: values with intervals in one column, the notes.

Display only: the DataFrame functions of :mod:`tingwu_nb.report.experiment` keep their numeric
columns; these turn them into what a reader sees ("12.3 % [4.5–20.1 %]", "no interval" when
fewer than two units were resampled).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import pandas as pd

from tingwu_nb.notebook import research_plots as rp

__all__ = ["paired_display", "ready_display", "speakers_display", "stability_display", "summary_display",
           "with_interval"]

_STABILITY_NOTE = ("Interim results (OutputLevel 2) per final sentence and characters of already displayed text "
                   "that were later rewritten, each a mean over sentences with its {level:g} % bootstrap interval; "
                   "n counts final sentences. Conditions streamed with OutputLevel 1 have no interim results (0). "
                   "These numbers depend on the sending speed and on load: the emulator skips interim decodes "
                   "when it falls behind (faster than real time, several sessions at once), so compare "
                   "stability only between conditions streamed at the same speed ({speeds}).")
_READY_NOTE = ("Seconds from StopTranscription until GetTaskInfo (or a callback) first listed each result file: "
               "median, fastest and slowest cell. Each is an upper bound by at most the poll interval.")
_SUMMARY_NOTE = ("Error rate (WER for English, CER otherwise) in percent with its {level:g} % bootstrap interval; "
                 "n counts reference sentences, the unit resampled. Cells: grid cells (streamed sessions) in the "
                 "row; failed: cells without a result. Latency: median seconds from the end of a sentence's audio "
                 "to its final result over the row's sentences, with its interval over sentences. "
                 "First interim (when shown): median seconds from the start of a sentence's audio to its first "
                 "interim result. Speaker error (when shown): share of reference speech attributed to the wrong "
                 "speaker. \"no interval\": fewer than two units to resample (e.g. one recording, or one "
                 "reference sentence).")
_PAIRED_NOTE = ("Difference of error rates, in percentage points, on the same reference sentences (paired "
                "bootstrap over sentences; n counts them); an interval excluding 0 means the sample rate matters.")
_SPEAKERS_NOTE = ("Conditions with diarization and a speaker-labelled reference: each reference speaker's error "
                  "rate over their own sentences, and the recognised speaker they were mapped to (one-to-one, "
                  "most shared speech). The run table's speaker_attribution_error is the share of reference "
                  "speech attributed to the wrong speaker.")
_NO_INTERVAL = "no interval"


def _finite(value: Any) -> bool:
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def with_interval(value: Any, low: Any, high: Any, fmt: str = "{:.2f}", unit: str = "", units: Any = None) -> str:
    """``value [low–high]`` for display, e.g. "12.3 % [4.5–20.1 %]" (``fmt`` "{:.1f}", ``unit`` " %",
    values already scaled); "—" for a missing value; "<value> (no interval)" when the interval is
    missing, or when ``units`` (how many units were resampled) is below 2. Signed formats
    ("{:+.1f}") separate the bounds with a comma."""
    if not _finite(value):
        return "—"
    text = fmt.format(float(value))
    if not (_finite(low) and _finite(high)) or (_finite(units) and float(units) < 2):
        return f"{text}{unit} ({_NO_INTERVAL})"
    sep = ", " if "+" in fmt else "–"
    return f"{text}{unit} [{fmt.format(float(low))}{sep}{fmt.format(float(high))}{unit}]"


def _scaled(frame: pd.DataFrame, column: str, factor: float) -> tuple[Any, Any, Any]:
    return tuple(frame[c] * factor if c in frame else pd.Series(math.nan, index=frame.index)
                 for c in (column, f"{column}_low", f"{column}_high"))


def _interval_column(frame: pd.DataFrame, column: str, *, factor: float = 1.0, fmt: str = "{:.2f}",
                     unit: str = "", units: str | None = None) -> list[str]:
    values, lows, highs = _scaled(frame, column, factor)
    counts = frame[units] if units in frame else [None] * len(frame)
    return [with_interval(v, lo, hi, fmt, unit, k) for v, lo, hi, k in zip(values, lows, highs, counts)]


def _keep(labels: Iterable[Any]) -> list[str]:
    """Condition labels that wrap only between factors ("8 kHz" stays on one line)."""
    return [str(label).replace(" kHz", "\u00a0kHz") for label in labels]


def summary_display(summary: pd.DataFrame) -> pd.DataFrame:
    """:func:`experiment_summary` as the report shows it: error rate in % with its interval in one
    column, n named as sentences, median latency in seconds (with its interval when the summary
    has ``latency_final_median_s_low/high``)."""
    level = summary.attrs.get("level", 0.95) * 100
    out = pd.DataFrame({
        "condition": _keep(summary["condition"]),
        "metric": [str(m).upper() if isinstance(m, str) and m else "—" for m in summary["metric"]],
        f"error rate [{level:g} % CI]": _interval_column(summary, "error_rate", factor=100, fmt="{:.1f}", unit=" %",
                                                          units="n"),
        "n (sentences)": summary["n"], "cells": summary["cells"].fillna(0).astype(int),
        "failed": summary["failed"].fillna(0).astype(int),
        "median latency": _interval_column(summary, "latency_final_median_s", unit=" s",
                                           units="latency_final_median_s_n"),
    })
    for column, title, show in (("latency_first_partial_median_s", "first interim", lambda v: f"{v:.2f} s"),
                                ("speaker_attribution_error", "speaker error", lambda v: f"{v * 100:.1f} %")):
        if column in summary and summary[column].notna().any():
            out[title] = [show(v) if _finite(v) else "—" for v in summary[column]]
    return out


def stability_display(stability: pd.DataFrame) -> pd.DataFrame:
    """:func:`experiment_stability` for display: value and interval in one column each."""
    return pd.DataFrame({
        "condition": _keep(stability["condition"]), "n (sentences)": stability["sentences"],
        "revisions / sentence": _interval_column(stability, "revisions_per_sentence", units="sentences"),
        "rewritten chars / sentence": _interval_column(stability, "chars_changed_per_sentence", fmt="{:.1f}",
                                                       units="sentences"),
    })


def paired_display(paired: pd.DataFrame) -> pd.DataFrame:
    """:func:`paired_sample_rates` for display: the difference in percentage points with its interval."""
    diffs = [with_interval(d * 100, lo * 100, hi * 100, "{:+.1f}", " pts")
             for d, lo, hi in zip(paired["diff"], paired["low"], paired["high"])]
    p_values = ["—" if not _finite(p) else "< 0.001" if p < 0.001 else f"{p:.3f}" for p in paired["p_value"]]
    return pd.DataFrame({"condition": _keep(paired["condition"]), "8 kHz − 16 kHz": diffs, "p": p_values})


def ready_display(ready: pd.DataFrame) -> pd.DataFrame:
    """:func:`experiment_ready` for display (seconds)."""
    return pd.DataFrame({"condition": _keep(ready["condition"]), "result": ready["result"],
                         "median s": ready["median_s"], "fastest s": ready["min_s"], "slowest s": ready["max_s"],
                         "cells": ready["cells"], "poll s": ready["resolution_s"]})


def _speeds(runs: pd.DataFrame) -> str:
    speeds = sorted({float(v) for v in runs["speed"].dropna()})
    labels = [rp.condition_label({"speed": v}) for v in speeds]
    return "these runs: " + (", ".join(labels) if labels else "unknown")


def speakers_display(speakers: pd.DataFrame) -> pd.DataFrame:
    """Per reference speaker error rates (:func:`~tingwu_nb.report.experiment.experiment_speakers`):
    the speaker, the hypothesis speaker it was mapped to, the error rate in % and the length."""
    return pd.DataFrame({"condition": _keep(speakers["condition"]), "speaker": speakers["speaker"],
                         "mapped to": speakers["hyp_speaker"].fillna("—"),
                         "error rate": [f"{v * 100:.1f} %" if _finite(v) else "—" for v in speakers["error_rate"]],
                         "reference length": speakers["reference_length"]})
