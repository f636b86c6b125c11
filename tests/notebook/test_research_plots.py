"""The experiment plots of tingwu_nb.notebook.research_plots rendered to PNG (Agg) on a hand-made grid.

The grid: 3 recordings × languages {en, cn} × sample rates {16000, 8000} × formats {pcm, opus},
with error rates near the emulator's (English WER ≈ 9 % at 16 kHz, ≈ 34 % at 8 kHz), one failed
run, and 12 sentences of latencies per run. PNGs go to ``test-artifacts/research_plots/``.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from PIL import Image

from tingwu_nb.notebook import research_plots as rp
from tingwu_nb.research.metrics import score

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "research_plots"
BASE = {("en", 16000): 0.09, ("en", 8000): 0.34, ("cn", 16000): 0.06, ("cn", 8000): 0.21}
CN_ALIGNMENT = [("equal", "今", "今"), ("equal", "天", "天"), ("substitute", "开", "召"), ("equal", "会", "会"),
                ("delete", "讨", None), ("equal", "论", "论"), ("insert", None, "一"), ("equal", "下", "下"),
                ("equal", "预", "预"), ("equal", "算", "算"), ("substitute", "和", "或"), ("equal", "招", "招"),
                ("equal", "聘", "聘")]
EN_ALIGNMENT = [("equal", w, w) for w in "good morning everyone let's".split()] + [
    ("substitute", "review", "view"), ("equal", "the", "the"), ("delete", "third", None),
    ("equal", "quarter", "quarter"), ("insert", None, "uh"), ("equal", "budget", "budget")] + [
    ("equal", w, w) for w in "and then the server migration plan for next year".split()] + [
    ("substitute", "Qingdao", "chingdow"), ("equal", "office", "office")]


def grid() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(runs, sentences) in the run-store columns of issue 8."""
    rng = np.random.default_rng(7)
    runs, sentences = [], []
    for rec_i, recording in enumerate(["meeting_a", "meeting_b", "standup"]):
        for (language, rate), base in BASE.items():
            for fmt in ("pcm", "opus"):
                cid = f"{recording}-{language}-{rate}-{fmt}"
                length = (300, 500, 120)[rec_i]  # reference tokens: pooled rates weigh meeting_b most
                errors = round(length * (base + (0.025 if fmt == "opus" else 0) + (rec_i - 1) * 0.02
                                         + rng.normal(0, 0.01)))
                subs, dels = errors // 2, errors // 4
                lat = rng.gamma(6, 0.13, 12) + (0.25 if fmt == "opus" else 0) + (0.1 if language == "cn" else 0)
                failed = recording == "standup" and language == "cn" and rate == 8000 and fmt == "opus"
                runs.append({"condition_id": cid, "recording": recording, "language": language,
                             "language_hints": None, "sample_rate": rate, "format": fmt, "speed": 10.0,
                             "status": "FAILED" if failed else "COMPLETED", "error": "timeout" if failed else None,
                             "metric": "wer" if language == "en" else "cer",
                             "error_rate": np.nan if failed else errors / length, "substitutions": subs,
                             "deletions": dels, "insertions": errors - subs - dels, "hits": length - subs - dels,
                             "reference_length": length, "sentences": 12,
                             "latency_final_median_s": np.nan if failed else float(np.median(lat)),
                             "latency_final_p90_s": np.nan if failed else float(np.quantile(lat, 0.9))})
                if not failed:
                    sentences += [{"condition_id": cid, "sentence_index": i, "start_s": 4.0 * i, "end_s": 4.0 * i + 3,
                                   "first_partial_s": 4.0 * i + 0.6, "final_s": 4.0 * i + 3 + v, "latency_s": v,
                                   "revisions": 2, "chars_changed": 3} for i, v in enumerate(lat)]
    return pd.DataFrame(runs), pd.DataFrame(sentences)


def ink(png: bytes) -> tuple[float, int, tuple[int, int]]:
    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    return float((image < 245).any(axis=2).mean()), len(np.unique(image.reshape(-1, 3), axis=0)), image.shape[:2]


@pytest.fixture(scope="module")
def data():
    runs, sentences = grid()
    return runs, sentences, rp.aggregate(runs), rp.aggregate(runs, by=["language", "sample_rate"])


def test_aggregate_averages_recordings_and_bootstraps_an_interval(data):
    runs, _, agg, by_two = data
    assert len(agg) == 8 and len(by_two) == 4
    row = agg[(agg.language == "en") & (agg.sample_rate == 8000) & (agg.format == "pcm")].iloc[0]
    cell_runs = runs[(runs.language == "en") & (runs.sample_rate == 8000) & (runs.format == "pcm")]
    errors = cell_runs[["substitutions", "deletions", "insertions"]].sum(axis=1)
    pooled = errors.sum() / cell_runs["reference_length"].sum()  # a corpus WER, not the mean of rates
    assert row.error_rate == pytest.approx(pooled) and pooled != pytest.approx(cell_runs["error_rate"].mean())
    assert row.recordings == 3 and row.failed == 0
    assert row.error_rate_low < row.error_rate < row.error_rate_high
    values = cell_runs["error_rate"]
    assert values.min() <= row.error_rate_low and row.error_rate_high <= values.max()  # pooled resamples
    assert row.condition == "en · 8 kHz · pcm" and row.scored_by == "WER"
    failed = agg[(agg.language == "cn") & (agg.sample_rate == 8000) & (agg.format == "opus")].iloc[0]
    assert failed.recordings == 2 and failed.failed == 1
    # by [language, sample_rate]: each recording's pcm and opus rows averaged first, then over recordings
    cell = by_two[(by_two.language == "en") & (by_two.sample_rate == 16000)].iloc[0]
    both = runs[(runs.language == "en") & (runs.sample_rate == 16000)]
    pooled = both[["substitutions", "deletions", "insertions"]].sum().sum() / both["reference_length"].sum()
    assert cell.error_rate == pytest.approx(pooled) and cell.recordings == 3
    # without counts: the mean over recordings of each recording's mean rate
    plain = rp.aggregate(runs.drop(columns=["substitutions"]), by=["language", "sample_rate"])
    per_rec = both.groupby("recording")["error_rate"].mean()
    assert plain.set_index(["language", "sample_rate"]).loc[("en", 16000), "error_rate"] == pytest.approx(per_rec.mean())
    lat = runs[(runs.language == "en") & (runs.sample_rate == 16000)].groupby("recording")[rp.LATENCY].mean()
    assert cell[rp.LATENCY] == pytest.approx(lat.mean()) and cell[f"{rp.LATENCY}_low"] <= lat.mean()
    one = rp.aggregate(runs[runs.recording == "meeting_a"], by="language")
    assert list(one.condition) == ["cn", "en"]  # one recording, no segments: no interval, never a zero-width one
    assert one[["error_rate_low", "error_rate_high", f"{rp.LATENCY}_low", f"{rp.LATENCY}_high"]].isna().all().all()
    assert (one.error_rate_n == 1).all() and (one.error_rate_unit == "recordings").all()
    assert (row.error_rate_n, row.error_rate_unit) == (3, "recordings")
    empty = rp.aggregate(runs.iloc[0:0])
    assert empty.empty and {"condition", "error_rate_low", "error_rate_high"} <= set(empty.columns)
    assert rp.aggregate(runs, seed=0).equals(agg)  # a fixed seed gives the same intervals


def test_condition_labels():
    assert rp.condition_label({"language": "cn", "sample_rate": 8000, "format": "opus"}) == "cn · 8 kHz · opus"
    assert rp.condition_label({"language": "multilingual", "language_hints": ["cn", "en"], "speed": float("inf")}) \
        == "multilingual · hints cn, en · max"
    assert rp.condition_label({"language_hints": None, "speed": 2}) == "2×"


def cases(data) -> dict[str, tuple]:
    runs, sentences, agg, by_two = data
    return {
        "metric_by_condition": (rp.metric_by_condition, agg, {}),
        "language_rate_heatmap": (rp.language_rate_heatmap, by_two, {}),
        "language_format_heatmap": (rp.language_rate_heatmap, rp.aggregate(runs, by=["language", "format"]),
                                    {"cols": "format"}),
        "latency_cdf": (rp.latency_cdf, rp.label_sentences(sentences, runs, by=["language", "sample_rate"]), {}),
        "accuracy_vs_latency": (rp.accuracy_vs_latency, agg, {}),
        "alignment_cn": (rp.alignment_view, CN_ALIGNMENT, {}),
        "alignment_en": (rp.alignment_view, EN_ALIGNMENT, {}),
        "alignment_scored_en": (rp.alignment_view, score("Good morning, everyone. Let's review the third-quarter "
                                "budget.", "good morning everyone lets view the quarter uh budget", "en"), {}),
    }


def test_every_plot_renders_to_png_with_real_glyphs(data):
    before = dict(matplotlib.rcParams)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for name, (plot, frame, kw) in cases(data).items():
        with warnings.catch_warnings():
            warnings.filterwarnings("error", message=".*missing from font.*")  # a glyph drawn as a box
            png = rp.render_png(plot, frame, **kw)
        (ARTIFACTS / f"{name}.png").write_bytes(png)
        coloured, colours, (height, width) = ink(png)
        assert png.startswith(b"\x89PNG"), name
        assert 0.02 < coloured < 0.9 and colours > 20 and width >= 400 and height >= 150, (name, coloured, colours)
    assert dict(matplotlib.rcParams) == before  # no global style change


def test_metric_by_condition_sorts_best_first_with_intervals(data):
    agg = data[2]
    ax = rp.metric_by_condition(agg, ax=Figure(figsize=(9, 5)).add_subplot())
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == list(agg.sort_values("error_rate")["condition"]) and labels[0] == "cn · 16 kHz · pcm"
    best = agg.sort_values("error_rate").iloc[0]
    assert ax.texts[0].get_text().startswith(f"{best.error_rate * 100:.1f} %  [{best.error_rate_low * 100:.1f}–")
    assert ax.get_xlabel() == "error rate (CER/WER, %) — 95 % bootstrap interval"
    assert [t.get_text().split("  ")[-1] for t in ax.texts if "failed" in t.get_text()] == ["recordings=2, 1 failed"]
    narrow = rp.metric_by_condition(rp.aggregate(data[0], level=0.8), ax=Figure().add_subplot())
    assert narrow.get_xlabel().endswith("— 80 % bootstrap interval")
    colors = rp.condition_colors(agg["condition"])
    scatter = [to_hex(c) for c in ax.collections[-1].get_facecolors()]
    assert scatter == [colors[c].lower() for c in labels]


def test_heatmap_cells_carry_value_and_interval(data):
    runs, _, _, by_two = data
    fig = Figure(figsize=(6, 4), layout="constrained")
    ax = rp.language_rate_heatmap(by_two, ax=fig.add_subplot())
    cells = [t.get_text() for t in ax.texts]
    en8 = by_two[(by_two.language == "en") & (by_two.sample_rate == 8000)].iloc[0]
    assert f"{en8.error_rate * 100:.1f} %\n[{en8.error_rate_low * 100:.1f}–{en8.error_rate_high * 100:.1f} %]" in cells
    assert [t.get_text() for t in ax.get_xticklabels()] == ["16 kHz", "8 kHz"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["cn", "en"]
    assert fig.axes[1].get_ylabel() == "error rate (CER/WER, %)"  # the colour bar
    partial = by_two[~((by_two.language == "cn") & (by_two.sample_rate == 8000))]
    assert "–" in [t.get_text() for t in rp.language_rate_heatmap(partial, ax=Figure().add_subplot()).texts]
    with pytest.raises(ValueError, match="aggregate"):
        rp.language_rate_heatmap(data[2], ax=Figure().add_subplot())  # 8 rows for 4 cells


def test_latency_cdf_marks_each_median(data):
    runs, sentences, _, _ = data
    labelled = rp.label_sentences(sentences, runs, by=["language", "format"])
    ax = rp.latency_cdf(labelled, ax=Figure().add_subplot())
    medians = {line.get_gid().removeprefix("median "): line.get_xdata()[0] for line in ax.get_lines()
               if (line.get_gid() or "").startswith("median ")}
    expected = labelled.groupby("condition")["latency_s"].median()
    assert medians == pytest.approx(expected.to_dict()) and len(medians) == 4
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[0].startswith("cn · opus  (median ") and legend[0].endswith("n=60)")  # 5 runs × 12
    unlabelled = rp.latency_cdf(sentences, ax=Figure().add_subplot())  # falls back to condition_id
    assert len(unlabelled.get_legend().get_texts()) == sentences["condition_id"].nunique()


def test_accuracy_vs_latency_labels_every_condition(data):
    agg = data[2]
    ax = rp.accuracy_vs_latency(agg, ax=Figure().add_subplot())
    # 8 conditions: keyed by colour in a legend, no text next to the points (they overlapped)
    assert not ax.texts and sorted(t.get_text() for t in ax.get_legend().get_texts()) == sorted(agg["condition"])
    colors = rp.condition_colors(agg["condition"])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(agg["condition"])  # one per point
    assert [to_hex(c[0].get_color()) for c in ax.containers] == [colors[c].lower() for c in agg["condition"]]
    few = rp.accuracy_vs_latency(agg.iloc[:3], ax=Figure().add_subplot())  # up to 3: labelled in place
    assert sorted(t.get_text() for t in few.texts) == sorted(agg["condition"][:3]) and few.get_legend() is None
    assert rp._natural_size(rp.accuracy_vs_latency, agg)[0] > rp._natural_size(rp.accuracy_vs_latency, agg.iloc[:3])[0]
    assert len(ax.containers) == 8 and all(c.has_xerr and c.has_yerr for c in ax.containers)
    assert ax.get_xlabel().startswith("median latency") and ax.get_ylim()[0] == 0
    no_ci = agg.drop(columns=["error_rate_low", "error_rate_high"])
    assert not any(c.has_yerr for c in rp.accuracy_vs_latency(no_ci, ax=Figure().add_subplot()).containers)


def test_alignment_view_colours_tokens_by_op():
    ax = rp.alignment_view(CN_ALIGNMENT, ax=Figure(figsize=(10, 2)).add_subplot())
    assert ax.get_title(loc="left") == "Alignment: 2 substitutions, 1 deletion, 1 insertion"
    texts = [t.get_text() for t in ax.texts]
    assert texts[:6] == ["今", "天", "开", "会", "讨", "论"] and "召" in texts and "一" in texts
    fills = {to_hex(p.get_facecolor()) for p in ax.patches}
    assert {rp.OP_COLORS[op][0].lower() for op in rp.OP_COLORS} <= fills
    assert [t.get_text() for t in ax.get_yticklabels()] == ["reference", "hypothesis"]
    assert all("WenQuanYi" in " ".join(t.get_fontfamily()) or len(t.get_fontfamily()) == 1 for t in ax.texts)
    long = rp.alignment_view(EN_ALIGNMENT, ax=Figure().add_subplot())
    assert len(long.get_yticklabels()) == 6  # 31 tokens wrapped onto three line pairs
    frame = pd.DataFrame(CN_ALIGNMENT, columns=["op", "ref", "hyp"]).replace({"substitute": "sub"})
    assert [t.get_text() for t in rp.alignment_view(frame, ax=Figure().add_subplot()).texts] == texts
    real = score("今天开会讨论预算和招聘", "今天开会预算问题和招聘人", "cn")  # a Score straight from metrics
    view = rp.alignment_view(real, ax=Figure().add_subplot())
    assert view.get_title(loc="left").startswith(f"Alignment: {real.substitutions} substitution")
    assert len(view.patches) == 2 * len(real.alignment) and real.deletions + real.insertions > 0
    with pytest.raises(ValueError, match="unknown alignment op"):
        rp.alignment_view([("swap", "a", "b")], ax=Figure().add_subplot())


@pytest.mark.parametrize("plot", [rp.metric_by_condition, rp.language_rate_heatmap, rp.accuracy_vs_latency,
                                  rp.latency_cdf, rp.alignment_view])
def test_empty_frames_say_no_data(plot, data):
    runs, sentences, _, _ = data
    frame = {rp.latency_cdf: sentences.iloc[0:0], rp.alignment_view: []}.get(plot, rp.aggregate(runs.iloc[0:0]))
    ax = plot(frame, ax=Figure().add_subplot())
    assert [t.get_text() for t in ax.texts] == ["no data"]
    png = rp.render_png(plot, frame)
    assert ink(png)[0] > 0.001
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"empty_{plot.__name__}.png").write_bytes(png)


# A real run store's shape (tingwu-nb compare on the English meeting: one recording, 16/8 kHz × pcm/opus,
# 5 timed reference sentences): errors per reference sentence and final latency per sentence.
REAL_ERRORS = {16000: [0, 0, 0, 1, 3], 8000: [0, 2, 7, 1, 4]}
REAL_LENGTHS = [11, 13, 12, 13, 12]
REAL_LATENCY = {(16000, "pcm"): [2.34, 2.75, 3.16, 3.60, 4.01], (16000, "opus"): [2.14, 2.59, 3.00, 3.45, 3.82],
                (8000, "pcm"): [1.26, 1.50, 1.68, 1.85, 1.98], (8000, "opus"): [1.27, 1.54, 1.70, 1.88, 1.99]}


@pytest.fixture(scope="module")
def one_recording() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    runs, segments, sentences = [], [], []
    for (rate, fmt), latency in REAL_LATENCY.items():
        cid, errors = f"meeting-{rate}-{fmt}", REAL_ERRORS[rate]
        runs.append({"condition_id": cid, "recording": "meeting", "language": "en", "language_hints": None,
                     "sample_rate": rate, "format": fmt, "status": "ok", "metric": "wer",
                     "error_rate": sum(errors) / 61, "substitutions": sum(errors), "deletions": 0, "insertions": 0,
                     "reference_length": 61, rp.LATENCY: float(np.median(latency))})
        segments += [{"condition_id": cid, "segment_index": i, "errors": e, "reference_length": n}
                     for i, (e, n) in enumerate(zip(errors, REAL_LENGTHS))]
        sentences += [{"condition_id": cid, "sentence_index": i, "latency_s": v} for i, v in enumerate(latency)]
    return pd.DataFrame(runs), pd.DataFrame(segments), pd.DataFrame(sentences)


def test_aggregate_over_sentences_of_one_recording(one_recording):
    runs, segments, sentences = one_recording
    agg = rp.aggregate(runs, segments=segments, sentences=sentences).set_index(["sample_rate", "format"])
    row = agg.loc[(8000, "pcm")]
    assert row.error_rate == pytest.approx(14 / 61) and row.error_rate_low < row.error_rate < row.error_rate_high
    assert (row.error_rate_n, row.error_rate_unit, row.recordings) == (5, "sentences", 1)
    assert row[rp.LATENCY] == pytest.approx(1.68)  # the median of the 5 sentences
    assert row[f"{rp.LATENCY}_low"] < 1.68 < row[f"{rp.LATENCY}_high"] and row[f"{rp.LATENCY}_n"] == 5
    # the 95 % interval of the rate over 5 sentences lies within the per-sentence extremes
    assert 0 <= row.error_rate_low and row.error_rate_high <= 7 / 12
    # pooled over formats: the pcm and opus copies of a sentence are one unit -> as wide as one cell
    pooled = rp.aggregate(runs, by="sample_rate", segments=segments, sentences=sentences).set_index("sample_rate")
    assert pooled.loc[8000, "error_rate_n"] == 5
    assert pooled.loc[8000, ["error_rate_low", "error_rate_high"]].tolist() == pytest.approx(
        [row.error_rate_low, row.error_rate_high])
    # without the tables: one recording is one unit -> no interval (not zero-width)
    bare = rp.aggregate(runs, by="sample_rate")
    assert bare[["error_rate_low", "error_rate_high", f"{rp.LATENCY}_low"]].isna().all().all()


def test_plots_draw_missing_intervals_as_no_interval(one_recording):
    runs, segments, sentences = one_recording
    bare, timed = rp.aggregate(runs), rp.aggregate(runs, segments=segments, sentences=sentences)
    ax = rp.metric_by_condition(bare, ax=Figure().add_subplot())
    assert all(t.get_text().endswith("no interval  recordings=1") for t in ax.texts)
    assert not ax.containers and "bootstrap interval" not in ax.get_xlabel()  # no bars, no level claimed
    ax = rp.metric_by_condition(timed, ax=Figure().add_subplot())
    assert all(t.get_text().endswith("%]  n=5 sentences") for t in ax.texts) and len(ax.containers) == 1
    mixed = pd.concat([timed.iloc[:2], bare.iloc[2:]], ignore_index=True)
    ax = rp.metric_by_condition(mixed, ax=Figure().add_subplot())
    assert sum("no interval" in t.get_text() for t in ax.texts) == 2 and len(ax.containers) == 1
    heat = rp.language_rate_heatmap(rp.aggregate(runs, by=["language", "sample_rate"]), ax=Figure().add_subplot())
    assert [t.get_text() for t in heat.texts] == ["6.6 %\nno interval", "23.0 %\nno interval"]
    heat = rp.language_rate_heatmap(rp.aggregate(runs, by=["language", "sample_rate"], segments=segments),
                                    ax=Figure().add_subplot())
    assert all("[" in t.get_text() and "no interval" not in t.get_text() for t in heat.texts)
    scatter = rp.accuracy_vs_latency(bare, ax=Figure().add_subplot())
    assert not any(c.has_xerr or c.has_yerr for c in scatter.containers) and len(scatter.containers) == 4
    assert any(t.get_text().startswith("no interval") for t in scatter.texts)
    scatter = rp.accuracy_vs_latency(timed, ax=Figure().add_subplot())
    assert all(c.has_xerr and c.has_yerr for c in scatter.containers) and not scatter.texts
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for name, plot, frame in (("one_recording_no_interval", rp.metric_by_condition, bare),
                              ("one_recording_sentences", rp.metric_by_condition, timed),
                              ("one_recording_scatter", rp.accuracy_vs_latency, timed),
                              ("one_recording_scatter_no_interval", rp.accuracy_vs_latency, bare)):
        png = rp.render_png(plot, frame)
        (ARTIFACTS / f"{name}.png").write_bytes(png)
        assert 0.02 < ink(png)[0] < 0.9, name
