"""Bootstrap intervals and paired comparisons: deterministic, sensible widths, right decisions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tingwu_nb.research.metrics import score
from tingwu_nb.research.stats import bootstrap_ci, corpus_error_rate, paired_bootstrap, summarize
from tingwu_nb.research.store import RunStore


def nan(*values: float) -> bool:
    return all(np.isnan(v) for v in values)


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
    assert all(np.isnan(bootstrap_ci([5.0])))  # one unit: no interval, never a zero-width one
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


def test_fewer_than_two_units_give_no_interval_and_no_p_value():
    one = corpus_error_rate([2], [10])
    assert one["error_rate"] == pytest.approx(0.2) and nan(one["low"], one["high"]) and one["n"] == 1
    # one sentence with words + one empty (length 0) sentence: still one scored unit
    assert nan(corpus_error_rate([1, 2], [10, 0])["low"])
    assert summarize([5.0]) == pytest.approx({"mean": 5.0, "low": np.nan, "high": np.nan, "n": 1}, nan_ok=True)
    paired = paired_bootstrap([3.0], [1.0], weights=[10.0])
    assert paired["diff"] == pytest.approx(0.2) and nan(paired["low"], paired["high"], paired["p_value"])
    unweighted = paired_bootstrap([0.3], [0.1])
    assert unweighted["diff"] == pytest.approx(0.2) and nan(unweighted["p_value"])


def test_zero_reference_length_never_crashes():
    for errors, lengths in (([0, 0], [0, 0]), ([3], [0]), ([], [])):
        out = corpus_error_rate(errors, lengths)
        assert nan(out["error_rate"], out["low"], out["high"]), (errors, lengths)
    assert nan(*paired_bootstrap([1.0, 2.0], [0.0, 1.0], weights=[0.0, 0.0]).values())
    punctuation = score("…！", "hello", "en")  # a punctuation-only reference has length 0
    assert punctuation.reference_length == 0 and nan(corpus_error_rate([punctuation])["error_rate"])


def test_two_units_give_the_hand_computed_interval():
    # units (errors, length) = (0, 2) and (2, 2): a resample is {0, 0} -> 0, mixed -> 0.5, {2, 2} -> 1
    # with probabilities 1/4, 1/2, 1/4, so the 95 % percentile interval is [0, 1]
    out = corpus_error_rate([0, 2], [2, 2])
    assert out["error_rate"] == 0.5 and (out["low"], out["high"]) == (0.0, 1.0)
    paired = paired_bootstrap([0.0, 2.0], [0.0, 0.0], weights=[2.0, 2.0])
    assert paired["diff"] == 0.5 and (paired["low"], paired["high"]) == (0.0, 1.0)
    assert 0.4 < paired["p_value"] < 0.6  # 2 x P(diff <= 0) = 2 x 1/4
    # different lengths on each side (pooled groups with unequal cells): 2/20 - 4/10, the same in every resample
    uneven = paired_bootstrap([1.0, 1.0], [2.0, 2.0], weights=[10.0, 10.0], weights_b=[5.0, 5.0])
    assert uneven["diff"] == pytest.approx(-0.3) and uneven["low"] == pytest.approx(-0.3) == uneven["high"]
    assert uneven["p_value"] == 0.0


def test_clusters_resample_copies_of_a_sentence_together():
    values = np.array([0.1, 0.4, 0.2, 0.9, 0.3, 0.5, 0.7])
    copies, keys = np.repeat(values, 2), np.repeat(np.arange(len(values)), 2)  # each sentence in two cells
    for statistic in (np.mean, np.median):
        clustered = bootstrap_ci(copies, statistic, clusters=keys)
        assert clustered == pytest.approx(bootstrap_ci(values, statistic))  # as wide as the 7 distinct sentences
    naive = bootstrap_ci(copies)  # 14 "independent" units: too narrow
    assert naive[1] - naive[0] < 0.85 * (bootstrap_ci(values)[1] - bootstrap_ci(values)[0])
    assert nan(*bootstrap_ci(copies[:2], clusters=["s0", "s0"]))  # one cluster: no interval
    with pytest.raises(ValueError):
        bootstrap_ci(values, clusters=[0, 1])


def _store(tmp_path, cells: dict[tuple[str, int, str], list[tuple[float, float]]]) -> tuple[RunStore, dict]:
    """A run store of hand-made cells: (recording, sample_rate, format) -> [(errors, length)] per sentence."""
    store, ids = RunStore(tmp_path / "store"), {}
    for (recording, rate, fmt), sentences in cells.items():
        cid = ids[(recording, rate, fmt)] = f"{recording}-{rate}-{fmt}"
        segments = pd.DataFrame([{"segment_index": i, "start_s": 2.0 * i, "end_s": 2.0 * i + 1, "errors": e,
                                  "reference_length": n} for i, (e, n) in enumerate(sentences)])
        store.add({"condition_id": cid, "recording": recording, "language": "en", "sample_rate": rate,
                   "format": fmt, "status": "ok", "metric": "wer"}, {"segments": segments})
    return store, ids


def test_store_summary_counts_a_sentence_streamed_twice_as_one_unit(tmp_path):
    # the real grid's shape (one recording, pcm and opus copies give the same errors per sentence)
    s16 = [(0, 11), (0, 13), (0, 12), (1, 13), (3, 12)]
    s8 = [(0, 11), (2, 13), (7, 12), (1, 13), (4, 12)]
    store, ids = _store(tmp_path, {("meeting", 16000, "pcm"): s16, ("meeting", 16000, "opus"): s16,
                                   ("meeting", 8000, "pcm"): s8, ("meeting", 8000, "opus"): s8})
    pooled = store.summary(by=("sample_rate",)).set_index("sample_rate")
    cells = store.summary(by=("sample_rate", "format")).set_index(["sample_rate", "format"])
    assert list(pooled.columns) == ["metric", "error_rate", "ci_low", "ci_high", "segments", "cells"]
    assert pooled.loc[8000, "error_rate"] == pytest.approx(14 / 61) and pooled.loc[16000, "error_rate"] == 4 / 61
    assert (pooled["segments"] == 5).all() and (pooled["cells"] == 2).all()
    for rate in (8000, 16000):  # identical copies: the pooled interval is that of one cell, no narrower
        assert pooled.loc[rate, ["ci_low", "ci_high"]].tolist() == pytest.approx(
            cells.loc[(rate, "pcm"), ["ci_low", "ci_high"]].tolist())
    naive = corpus_error_rate([e for e, _ in s8 * 2], [n for _, n in s8 * 2])  # 10 "independent" sentences
    assert naive["high"] - naive["low"] < pooled.loc[8000, "ci_high"] - pooled.loc[8000, "ci_low"]
    one = store.paired(ids[("meeting", 8000, "pcm")], ids[("meeting", 16000, "pcm")])
    assert one["diff"] == pytest.approx(10 / 61) and one["low"] <= one["diff"] <= one["high"]
    both = store.paired([ids[("meeting", 8000, "pcm")], ids[("meeting", 8000, "opus")]],
                        [ids[("meeting", 16000, "pcm")], ids[("meeting", 16000, "opus")]])
    assert both == pytest.approx(one)  # the copies are one unit, not twice the evidence
    uneven = store.paired([ids[("meeting", 8000, "pcm")], ids[("meeting", 8000, "opus")]],
                          ids[("meeting", 16000, "pcm")])  # two cells against one: rates, not sums
    assert uneven["diff"] == pytest.approx(10 / 61)


def test_store_one_sentence_or_empty_reference_gives_no_interval(tmp_path):
    store, ids = _store(tmp_path, {("plain", 16000, "pcm"): [(3, 40)], ("plain", 8000, "pcm"): [(9, 40)],
                                   ("silent", 16000, "pcm"): [(0, 0), (2, 0)]})
    summary = store.summary(by=("recording", "sample_rate")).set_index(["recording", "sample_rate"])
    plain = summary.loc[("plain", 16000)]
    assert plain["error_rate"] == pytest.approx(3 / 40) and nan(plain["ci_low"], plain["ci_high"])
    assert plain["segments"] == 1
    silent = summary.loc[("silent", 16000)]
    assert nan(silent["error_rate"], silent["ci_low"], silent["ci_high"]) and silent["segments"] == 2
    paired = store.paired(ids[("plain", 8000, "pcm")], ids[("plain", 16000, "pcm")])
    assert paired["diff"] == pytest.approx(6 / 40) and nan(paired["low"], paired["high"], paired["p_value"])
    with pytest.raises(ValueError, match="same reference sentences"):
        store.paired(ids[("plain", 16000, "pcm")], ids[("silent", 16000, "pcm")])
