"""Bootstrap intervals and paired comparisons: deterministic, sensible widths, right decisions."""

from __future__ import annotations

import numpy as np
import pytest

from tingwu_nb.research.metrics import score
from tingwu_nb.research.stats import bootstrap_ci, corpus_error_rate, paired_bootstrap, summarize


def test_ci_contains_the_mean_is_seeded_and_narrows_with_n():
    rng = np.random.default_rng(1)
    small, large = rng.normal(0.2, 0.05, 20), rng.normal(0.2, 0.05, 2000)
    low, high = bootstrap_ci(small)
    assert low < small.mean() < high
    assert bootstrap_ci(small) == (low, high)  # same seed, same interval
    assert bootstrap_ci(small, seed=1) != (low, high)
    l2, h2 = bootstrap_ci(large)
    assert l2 < large.mean() < h2
    assert (h2 - l2) < (high - low) / 5  # ~sqrt(100) = 10x narrower in theory
    assert bootstrap_ci(small, level=0.5)[1] - bootstrap_ci(small, level=0.5)[0] < high - low


def test_other_statistics_and_edge_cases():
    values = [1.0, 2.0, 3.0, 100.0]
    low, high = bootstrap_ci(values, statistic=np.median)
    assert 1.0 <= low <= high <= 100.0
    assert bootstrap_ci([5.0]) == (5.0, 5.0)
    assert all(np.isnan(bootstrap_ci([])))
    with pytest.raises(ValueError):
        bootstrap_ci(values, level=1.5)


def test_summarize_drops_nans():
    out = summarize([0.1, 0.2, float("nan"), 0.3])
    assert out["n"] == 3 and out["mean"] == pytest.approx(0.2)
    assert out["low"] <= 0.2 <= out["high"]


def test_paired_bootstrap_detects_a_clear_difference_and_not_a_null_one():
    rng = np.random.default_rng(7)
    base = rng.uniform(0.05, 0.4, 40)
    worse = base + 0.1 + rng.normal(0, 0.02, 40)
    clear = paired_bootstrap(worse, base)
    assert clear["diff"] == pytest.approx(np.mean(worse - base))
    assert clear["low"] > 0 and clear["p_value"] < 0.01
    noise = base + rng.normal(0, 0.02, 40)
    null = paired_bootstrap(noise, base)
    assert null["low"] < 0 < null["high"] and null["p_value"] > 0.05
    assert paired_bootstrap(base, base)["p_value"] == 1.0
    with pytest.raises(ValueError):
        paired_bootstrap([1, 2], [1])


def test_corpus_error_rate_is_a_ratio_of_sums_with_an_interval():
    scores = [score("a b c d", "a b c d", "en"), score("a b", "x y", "en"), score("今天天气很好", "今天天汽很好", "cn")]
    out = corpus_error_rate(scores)
    assert out["errors"] == 3 and out["reference_length"] == 12
    assert out["error_rate"] == pytest.approx(3 / 12)  # not the mean of rates (0, 1, 1/6)
    assert out["low"] <= out["error_rate"] <= out["high"] and out["n"] == 3
    assert corpus_error_rate([0, 2, 1], [4, 2, 6]) == out


def test_paired_corpus_rates_with_weights():
    lengths = np.full(30, 10.0)
    a = np.full(30, 3.0)  # 30 % errors
    b = np.array([1.0, 2.0] * 15)  # 15 %
    out = paired_bootstrap(a, b, weights=lengths)
    assert out["diff"] == pytest.approx(0.15) and out["low"] > 0 and out["p_value"] < 0.01
