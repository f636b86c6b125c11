"""Bootstrap confidence intervals and paired comparisons, seeded and deterministic (numpy).

Every aggregate in a comparison carries a percentile-bootstrap interval: resample the units
(sentences or recordings) with replacement ``n`` times, recompute the statistic, take the
``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles. The same ``seed`` gives the same
interval. Error rates over a corpus are ratios of sums (:func:`corpus_error_rate`), never
means of per-sentence rates, so long sentences weigh more, as in the usual WER/CER.

No interval with one unit: fewer than two units (one recording, or a plain-text reference that
is a single segment) give a NaN interval and a NaN ``p_value``, never a zero-width interval
presented as evidence; give timed references (SRT or a Tingwu-shaped result) so sentences are
the units. Copies of the same sentence (the same recording streamed as pcm and opus) are ONE
unit: sum their errors and lengths per sentence before calling :func:`corpus_error_rate`, or pass
``clusters`` to :func:`bootstrap_ci`.

Typical use: ``summarize(per_recording_latency)`` for a table cell with its interval;
``corpus_error_rate(scores)`` for a condition's error rate; ``paired_bootstrap(errs_16k, errs_8k,
weights=lengths)`` to ask whether two conditions on the same audio differ.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["MIN_UNITS", "bootstrap_ci", "corpus_error_rate", "paired_bootstrap", "summarize"]

Statistic = Callable[..., Any]
#: Fewer units than this give a NaN interval (no spread can be estimated from one unit).
MIN_UNITS = 2
_NAN = float("nan")


def _as_array(values: Sequence[float] | np.ndarray) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"expected a 1-d sequence of numbers, got shape {arr.shape}")
    return arr


def _check_level(level: float) -> None:
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")


def _resampled(statistic: Statistic, samples: np.ndarray) -> np.ndarray:
    """``statistic`` of each row of ``samples`` (vectorised when it takes ``axis``)."""
    try:
        out = np.asarray(statistic(samples, axis=1), dtype=float)
        if out.shape == (samples.shape[0],):
            return out
    except TypeError:
        pass
    return np.array([statistic(row) for row in samples], dtype=float)


def _quantiles(stats: np.ndarray, level: float) -> tuple[float, float]:
    _check_level(level)
    stats = stats[np.isfinite(stats)]
    if not stats.size:
        return _NAN, _NAN
    low, high = np.quantile(stats, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def bootstrap_ci(values: Sequence[float] | np.ndarray, statistic: Statistic = np.mean, n: int = 2000,
                 seed: int = 0, level: float = 0.95, *, clusters: Sequence[Any] | None = None) -> tuple[float, float]:
    """Percentile bootstrap interval ``(low, high)`` of ``statistic(values)``.

    ``clusters`` (one key per value, e.g. ``(recording, sentence_index)``) resamples whole
    clusters instead of values: the copies of one sentence in several cells move together, so a
    pooled group is not narrower than its distinct sentences allow.

    No interval with one unit: empty input, or fewer than two units (values, or clusters when
    given), gives ``(nan, nan)``, never a zero-width interval; give timed references so that
    sentences are the units. Print or plot the interval next to the point estimate.
    """
    _check_level(level)
    arr = _as_array(values)
    if clusters is None:
        if arr.size < MIN_UNITS:
            return _NAN, _NAN
        rng = np.random.default_rng(seed)
        idx = rng.integers(0, arr.size, size=(n, arr.size))
        return _quantiles(_resampled(statistic, arr[idx]), level)
    codes, _ = pd.factorize(pd.Series(list(clusters), dtype=object))
    if len(codes) != arr.size:
        raise ValueError("clusters must have one key per value")
    k = int(codes.max()) + 1 if len(codes) else 0
    if k < MIN_UNITS:
        return _NAN, _NAN
    rng = np.random.default_rng(seed)
    picks = np.apply_along_axis(np.bincount, 1, rng.integers(0, k, size=(n, k)), minlength=k)  # (n, k) counts
    stats = np.array([statistic(np.repeat(arr, row[codes])) for row in picks], dtype=float)
    return _quantiles(stats, level)


def summarize(values: Sequence[float] | np.ndarray, statistic: Statistic = np.mean, **kw: Any) -> dict[str, Any]:
    """``{"mean", "low", "high", "n"}`` for a table cell (``mean`` is ``statistic``; NaNs dropped).

    ``kw`` goes to :func:`bootstrap_ci` (``n``, ``seed``, ``level``); with one value the interval
    is NaN (no interval with one unit).
    """
    arr = _as_array(values)
    arr = arr[~np.isnan(arr)]
    low, high = bootstrap_ci(arr, statistic, **kw)
    point = float(statistic(arr)) if arr.size else _NAN
    return {"mean": point, "low": low, "high": high, "n": int(arr.size)}


def corpus_error_rate(errors: Sequence[float] | Sequence[Any], lengths: Sequence[float] | None = None, *,
                      n: int = 2000, seed: int = 0, level: float = 0.95) -> dict[str, Any]:
    """Corpus error rate sum(errors) / sum(lengths) with a bootstrap interval over the units.

    Pass per-sentence (or per-recording) error counts and reference lengths, or a list of
    :class:`tingwu_nb.research.metrics.Score` alone. Returns ``{"error_rate", "low", "high", "n",
    "errors", "reference_length"}``; put it in the run table or a plot with error bars.

    One unit per reference sentence: sum the copies of a sentence (several cells of a pooled
    group) first. No interval with one unit: fewer than two units with a reference length > 0 give
    ``low = high = nan``; give timed references. A total reference length of 0 (empty or
    punctuation-only reference) gives ``error_rate = nan`` and a NaN interval, never an error.
    """
    _check_level(level)
    if lengths is None:
        errs = _as_array([s.errors for s in errors])
        lens = _as_array([s.reference_length for s in errors])
    else:
        errs, lens = _as_array(errors), _as_array(lengths)
    if errs.shape != lens.shape:
        raise ValueError("errors and lengths must have the same length")
    total = float(lens.sum())
    rate = float(errs.sum()) / total if total > 0 else _NAN
    low = high = _NAN
    if total > 0 and int(np.count_nonzero(lens > 0)) >= MIN_UNITS:
        rng = np.random.default_rng(seed)
        idx = rng.integers(0, errs.size, size=(n, errs.size))
        with np.errstate(invalid="ignore", divide="ignore"):
            stats = errs[idx].sum(axis=1) / lens[idx].sum(axis=1)
        low, high = _quantiles(stats, level)
    return {"error_rate": rate, "low": low, "high": high, "n": int(errs.size), "errors": float(errs.sum()),
            "reference_length": total}


def paired_bootstrap(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray,
                     statistic: Statistic = np.mean, n: int = 2000, seed: int = 0, level: float = 0.95, *,
                     weights: Sequence[float] | None = None,
                     weights_b: Sequence[float] | None = None) -> dict[str, float]:
    """Paired comparison of two conditions measured on the same units (same sentences/recordings).

    ``a[i]`` and ``b[i]`` must come from the same unit; units are resampled together. The
    statistic is ``statistic(a) - statistic(b)``, or with ``weights`` (reference lengths, ``a``
    and ``b`` being error counts) the difference of corpus error rates ``sum(a)/sum(w) -
    sum(b)/sum(w)`` (``weights_b`` when ``b``'s lengths differ, e.g. a pooled group with fewer
    cells). Returns ``{"diff", "low", "high", "p_value"}``: ``p_value`` is two-sided,
    twice the share of resampled differences on the other side of zero (capped at 1). A CI
    excluding 0 (p < 1 - level) means the conditions differ; report diff with its interval.

    No interval with one unit: fewer than two units (with a reference length > 0 when weighted)
    give ``low = high = p_value = nan`` — ``diff`` is still the point estimate, but it is no
    evidence; give timed references. A zero total reference length gives all NaN.
    """
    _check_level(level)
    x, y = _as_array(a), _as_array(b)
    if x.shape != y.shape:
        raise ValueError("a and b must be paired: same length")
    nothing = {"diff": _NAN, "low": _NAN, "high": _NAN, "p_value": _NAN}
    if x.size == 0:
        return nothing
    if weights is not None:
        w = _as_array(weights)
        wb = w if weights_b is None else _as_array(weights_b)
        if w.shape != x.shape or wb.shape != x.shape:
            raise ValueError("weights must have the same length as a and b")
        if w.sum() <= 0 or wb.sum() <= 0:
            return nothing
        diff = float(x.sum() / w.sum() - y.sum() / wb.sum())
        units = int(np.count_nonzero((w > 0) | (wb > 0)))
    else:
        if weights_b is not None:
            raise ValueError("weights_b needs weights")
        diff = float(statistic(x) - statistic(y))
        units = x.size
    if units < MIN_UNITS:
        return {**nothing, "diff": diff}
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(n, x.size))
    if weights is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            diffs = x[idx].sum(axis=1) / w[idx].sum(axis=1) - y[idx].sum(axis=1) / wb[idx].sum(axis=1)
    else:
        diffs = _resampled(statistic, x[idx]) - _resampled(statistic, y[idx])
    diffs = diffs[np.isfinite(diffs)]
    if not diffs.size:
        return {**nothing, "diff": diff}
    low, high = _quantiles(diffs, level)
    if np.all(diffs == 0):
        p = 1.0
    else:
        p = min(1.0, 2 * min(float(np.mean(diffs <= 0)), float(np.mean(diffs >= 0))))
    return {"diff": diff, "low": low, "high": high, "p_value": p}
