"""Bootstrap confidence intervals and paired comparisons, seeded and deterministic (numpy).

Every aggregate in a comparison carries a percentile-bootstrap interval: resample the units
(sentences or recordings) with replacement ``n`` times, recompute the statistic, take the
``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles. The same ``seed`` gives the same
interval. Error rates over a corpus are ratios of sums (:func:`corpus_error_rate`), never
means of per-sentence rates, so long sentences weigh more, as in the usual WER/CER.

Typical use: ``summarize(per_recording_latency)`` for a table cell with its interval;
``corpus_error_rate(scores)`` for a condition's error rate; ``paired_bootstrap(errs_16k, errs_8k,
weights=lengths)`` to ask whether two conditions on the same audio differ.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["bootstrap_ci", "corpus_error_rate", "paired_bootstrap", "summarize"]

Statistic = Callable[..., Any]


def _as_array(values: Sequence[float] | np.ndarray) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"expected a 1-d sequence of numbers, got shape {arr.shape}")
    return arr


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
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    low, high = np.quantile(stats, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def bootstrap_ci(values: Sequence[float] | np.ndarray, statistic: Statistic = np.mean, n: int = 2000,
                 seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval ``(low, high)`` of ``statistic(values)``.

    Empty input gives ``(nan, nan)``; one value gives ``(v, v)`` (no spread can be estimated —
    report ``n`` next to it). Print or plot the interval next to the point estimate.
    """
    arr = _as_array(values)
    if arr.size == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, arr.size, size=(n, arr.size))
    return _quantiles(_resampled(statistic, arr[idx]), level)


def summarize(values: Sequence[float] | np.ndarray, statistic: Statistic = np.mean, **kw: Any) -> dict[str, Any]:
    """``{"mean", "low", "high", "n"}`` for a table cell (``mean`` is ``statistic``; NaNs dropped).

    ``kw`` goes to :func:`bootstrap_ci` (``n``, ``seed``, ``level``).
    """
    arr = _as_array(values)
    arr = arr[~np.isnan(arr)]
    low, high = bootstrap_ci(arr, statistic, **kw)
    point = float(statistic(arr)) if arr.size else float("nan")
    return {"mean": point, "low": low, "high": high, "n": int(arr.size)}


def corpus_error_rate(errors: Sequence[float] | Sequence[Any], lengths: Sequence[float] | None = None, *,
                      n: int = 2000, seed: int = 0, level: float = 0.95) -> dict[str, Any]:
    """Corpus error rate sum(errors) / sum(lengths) with a bootstrap interval over the units.

    Pass per-sentence (or per-recording) error counts and reference lengths, or a list of
    :class:`tingwu_nb.research.metrics.Score` alone. Returns ``{"error_rate", "low", "high", "n",
    "errors", "reference_length"}``; put it in the run table or a plot with error bars.
    """
    if lengths is None:
        errs = _as_array([s.errors for s in errors])
        lens = _as_array([s.reference_length for s in errors])
    else:
        errs, lens = _as_array(errors), _as_array(lengths)
    if errs.shape != lens.shape:
        raise ValueError("errors and lengths must have the same length")
    total = float(lens.sum())
    rate = float(errs.sum()) / total if total else float("nan")
    if errs.size == 0:
        low = high = float("nan")
    else:
        rng = np.random.default_rng(seed)
        idx = rng.integers(0, errs.size, size=(n, errs.size))
        with np.errstate(invalid="ignore", divide="ignore"):
            stats = errs[idx].sum(axis=1) / lens[idx].sum(axis=1)
        low, high = _quantiles(stats[np.isfinite(stats)], level)
    return {"error_rate": rate, "low": low, "high": high, "n": int(errs.size), "errors": float(errs.sum()),
            "reference_length": total}


def paired_bootstrap(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray,
                     statistic: Statistic = np.mean, n: int = 2000, seed: int = 0, level: float = 0.95, *,
                     weights: Sequence[float] | None = None) -> dict[str, float]:
    """Paired comparison of two conditions measured on the same units (same sentences/recordings).

    ``a[i]`` and ``b[i]`` must come from the same unit; units are resampled together. The
    statistic is ``statistic(a) - statistic(b)``, or with ``weights`` (reference lengths, ``a``
    and ``b`` being error counts) the difference of corpus error rates ``sum(a)/sum(w) -
    sum(b)/sum(w)``. Returns ``{"diff", "low", "high", "p_value"}``: ``p_value`` is two-sided,
    twice the share of resampled differences on the other side of zero (capped at 1). A CI
    excluding 0 (p < 1 - level) means the conditions differ; report diff with its interval.
    """
    x, y = _as_array(a), _as_array(b)
    if x.shape != y.shape:
        raise ValueError("a and b must be paired: same length")
    if x.size == 0:
        return {"diff": float("nan"), "low": float("nan"), "high": float("nan"), "p_value": float("nan")}
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(n, x.size))
    if weights is not None:
        w = _as_array(weights)
        if w.shape != x.shape:
            raise ValueError("weights must have the same length as a and b")
        diff = float((x.sum() - y.sum()) / w.sum())
        with np.errstate(invalid="ignore", divide="ignore"):
            diffs = (x[idx].sum(axis=1) - y[idx].sum(axis=1)) / w[idx].sum(axis=1)
        diffs = diffs[np.isfinite(diffs)]
    else:
        diff = float(statistic(x) - statistic(y))
        diffs = _resampled(statistic, x[idx]) - _resampled(statistic, y[idx])
    low, high = _quantiles(diffs, level)
    if np.all(diffs == 0):
        p = 1.0
    else:
        p = min(1.0, 2 * min(float(np.mean(diffs <= 0)), float(np.mean(diffs >= 0))))
    return {"diff": diff, "low": low, "high": high, "p_value": p}
