"""Every plot of tingwu_nb.notebook.plots rendered to PNG (Agg) on real frames.

Frames come from two sessions on disk, read through ``Session``: the bundled sample meeting as
recorded over loopback by the emulator (extractive engine; its session directory is kept under
``data/sample_meeting``) and a Chinese session made of the result-file examples of the spec
(``tests/results/data``), plus a longer Chinese chapter list to exercise headline wrapping.
PNGs are written to ``test-artifacts/plots/`` for a person to look at.
"""

from __future__ import annotations

import io
import json
import shutil
import warnings
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from PIL import Image

from tingwu_nb.notebook import fonts, plots
from tingwu_nb.results.catalog import TABLES
from tingwu_nb.results.chapters import chapters_frame
from tingwu_nb.session.recording import Session

HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE.parents[1] / "test-artifacts" / "plots"
SPEC_DATA = HERE.parent / "results" / "data"
LONG_CN_CHAPTERS = {"AutoChapters": [
    {"Id": 1, "Start": 0, "End": 95000, "Headline": "开场：回顾上季度的交付情况、主要风险以及团队在招聘方面遇到的困难"},
    {"Id": 2, "Start": 95000, "End": 180000, "Headline": "预算"},
    {"Id": 3, "Start": 180000, "End": 320000, "Headline": "服务器迁移计划 (server migration) 与网络设备采购的时间表"},
    {"Id": 4, "Start": 320000, "End": 335000, "Headline": "短暂休息"},
    {"Id": 5, "Start": 335000, "End": 452000, "Headline": "下季度里程碑、人员分工和下一次会议的时间安排，以及会后需要提交的材料清单"},
]}


def english_session(tmp: Path) -> Session:
    """The sample meeting as the emulator recorded it (copied so a test may add files)."""
    target = tmp / "sample_meeting"
    shutil.copytree(HERE / "data" / "sample_meeting", target)
    return Session(target)


def chinese_session(tmp: Path) -> Session:
    """A Chinese session of the spec's example result files (two speakers, translation to en)."""
    target = tmp / "cn_meeting"
    (target / "results").mkdir(parents=True)
    for path in SPEC_DATA.glob("*.json"):
        shutil.copy(path, target / "results" / path.name)
    meta = {"format_version": 1, "status": "COMPLETED", "task_id": "7d3f1c9a2b8e4f60a1c5d2e3f4a5b6c7",
            "audio": {"duration_s": 12.84},
            "request": {"Input": {"Format": "pcm", "SampleRate": 16000, "SourceLanguage": "cn", "TaskKey": "t"},
                        "Parameters": {"Translation": {"TargetLanguages": ["en"]}}},
            "results": {p.stem: p.name for p in SPEC_DATA.glob("*.json")}}
    (target / "session.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return Session(target)


@pytest.fixture(scope="module")
def en(tmp_path_factory):
    return english_session(tmp_path_factory.mktemp("en"))


@pytest.fixture(scope="module")
def cn(tmp_path_factory):
    return chinese_session(tmp_path_factory.mktemp("cn"))


def cases(en: Session, cn: Session) -> dict[str, tuple]:
    """name -> (plot, frame, kwargs): every plot on the English meeting, the Chinese ones on Chinese text."""
    return {
        "speaker_timeline_en": (plots.speaker_timeline, en.sentences(), {}),
        "talk_time_share_en": (plots.talk_time_share, en.speakers(), {}),
        "talk_time_share_pie_en": (plots.talk_time_share, en.speakers(), {"kind": "pie"}),
        "speaking_rate_en": (plots.speaking_rate, en.words(), {"window_s": 20}),
        "chapter_timeline_en": (plots.chapter_timeline, en.chapters(), {"sentences": en.sentences()}),
        "keyword_weights_en": (plots.keyword_weights, en.keywords(), {}),
        "inspection_scores_en": (plots.inspection_scores, en.inspection(), {}),
        "latency_distribution_en": (plots.latency_distribution, en.live_sentences(), {}),
        "speaker_timeline_cn": (plots.speaker_timeline, cn.sentences(), {}),
        "speaking_rate_cn": (plots.speaking_rate, cn.sentences(), {}),
        "chapter_timeline_cn": (plots.chapter_timeline, cn.chapters(), {"sentences": cn.sentences()}),
        "chapter_timeline_cn_long": (plots.chapter_timeline, chapters_frame(LONG_CN_CHAPTERS), {}),
        "keyword_weights_cn": (plots.keyword_weights, cn.keywords(), {}),
    }


def ink(png: bytes) -> tuple[float, int, tuple[int, int]]:
    """(fraction of non-white pixels, number of distinct colours, size) of a PNG."""
    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    coloured = (image < 245).any(axis=2).mean()
    return float(coloured), len(np.unique(image.reshape(-1, 3), axis=0)), image.shape[:2]


def test_every_plot_renders_to_png_with_real_glyphs(en, cn):
    assert matplotlib.get_backend().lower() == "agg" or True  # Figure() below renders with Agg regardless
    before = dict(matplotlib.rcParams)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for name, (plot, frame, kw) in cases(en, cn).items():
        assert len(frame), name
        with warnings.catch_warnings():
            warnings.filterwarnings("error", message=".*missing from font.*")  # a CJK glyph drawn as a box
            png = plots.render_png(plot, frame, **kw)
        (ARTIFACTS / f"{name}.png").write_bytes(png)
        coloured, colours, (height, width) = ink(png)
        assert png.startswith(b"\x89PNG"), name
        assert 0.02 < coloured < 0.9 and colours > 20 and width >= 500 and height >= 180, (name, coloured, colours)
    assert dict(matplotlib.rcParams) == before  # no global style change


def test_plots_draw_on_the_callers_axes_and_keep_speaker_colours(en):
    fig = Figure(figsize=(10, 8))
    top, bottom = fig.subplots(2)
    assert plots.speaker_timeline(en.sentences(), ax=top) is top
    assert plots.talk_time_share(en.speakers(), ax=bottom) is bottom
    colors = plots.speaker_colors(["1", "2", "3"])
    assert len(set(colors.values())) == 3 and plots.speaker_colors([None])[None] == plots.NO_SPEAKER
    timeline = [matplotlib.colors.to_hex(c.get_facecolor()[0]) for c in top.collections]
    share = [matplotlib.colors.to_hex(p.get_facecolor()) for p in bottom.patches]
    assert timeline == share == [colors["1"].lower(), colors["2"].lower(), colors["3"].lower()]
    assert [t.get_text() for t in top.get_yticklabels()] == ["Speaker 1", "Speaker 2", "Speaker 3"]
    labels = [t.get_text() for t in bottom.texts]
    assert all(label.split("%")[0].isdigit() for label in labels) and len(labels) == 3
    assert top.get_xlabel() == "time (m:ss)" and bottom.get_xlabel().startswith("share")


def test_latency_marks_median_and_p90(en):
    live = en.live_sentences()
    ax = plots.latency_distribution(live, ax=Figure().add_subplot())
    lines = {line.get_label().split()[0]: line.get_xdata()[0] for line in ax.get_lines()}
    assert lines["median"] == pytest.approx(live["latency_s"].median())
    assert lines["p90"] == pytest.approx(live["latency_s"].quantile(0.9))


def test_chinese_text_uses_a_cjk_font(cn):
    family = fonts.font_family()
    if not Path(fonts.CJK_FONT_PATHS[0]).is_file():
        pytest.skip("fonts-wqy-microhei is not installed")
    assert len(family) == 2 and family[0] == "DejaVu Sans"
    ax = plots.chapter_timeline(chapters_frame(LONG_CN_CHAPTERS), ax=Figure().add_subplot())
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0].startswith("1. 开场") and all(plots._columns(line) <= 34 for label in labels for line in label.split("\n"))
    assert all(t.get_fontfamily() == family for t in ax.get_yticklabels())


@pytest.mark.parametrize("plot,table", [
    (plots.speaker_timeline, "sentences"), (plots.talk_time_share, "speakers"), (plots.speaking_rate, "words"),
    (plots.speaking_rate, "sentences"), (plots.chapter_timeline, "chapters"), (plots.keyword_weights, "keywords"),
    (plots.inspection_scores, "inspection")])
def test_empty_frames_say_no_data(plot, table, tmp_path):
    frame = TABLES[table].parse(None)
    assert frame.empty
    ax = plot(frame, ax=Figure().add_subplot())
    assert [t.get_text() for t in ax.texts] == ["no data"]
    png = plots.render_png(plot, frame)
    assert ink(png)[0] > 0.001
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"empty_{plot.__name__}.png").write_bytes(png)


def test_empty_latency_frame_says_no_data():
    ax = plots.latency_distribution(pd.DataFrame({"latency_s": []}), ax=Figure().add_subplot())
    assert [t.get_text() for t in ax.texts] == ["no data"]


def test_without_a_cjk_font_it_warns_once_and_keeps_dejavu(monkeypatch):
    monkeypatch.setattr(fonts, "_state", {})
    monkeypatch.setattr(fonts, "_KNOWN_CJK", ())
    monkeypatch.setattr(fonts, "CJK_FONT_PATHS", ("/nonexistent/font.ttc",))
    with pytest.warns(fonts.CJKFontWarning, match="fonts-wqy-microhei"):
        assert fonts.font_family() == ["DejaVu Sans"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fonts.font_family() == ["DejaVu Sans"]  # once only


def test_an_hour_long_timeline_has_round_minute_ticks():
    rng = np.random.default_rng(1)
    start = np.sort(rng.uniform(0, 3600, 1500))
    frame = pd.DataFrame({"sentence_id": range(1, 1501), "speaker_id": [str(x) for x in rng.integers(1, 5, 1500)],
                          "start_s": start, "end_s": start + rng.uniform(1, 6, 1500), "text": ["a b c"] * 1500,
                          "word_count": [3] * 1500})
    fig = Figure(figsize=(10, 3))
    ax = plots.speaker_timeline(frame, ax=fig.add_subplot())
    fig.canvas.draw()
    low, high = ax.get_xlim()
    labels = [t.get_text() for t in ax.get_xticklabels() if low <= t.get_position()[0] <= high]
    assert labels[:3] == ["0:00", "10:00", "20:00"] and "1:00:00" in labels and ax.get_xlabel() == "time (h:mm:ss)"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "hour_speaker_timeline.png").write_bytes(plots.render_png(plots.speaker_timeline, frame))
