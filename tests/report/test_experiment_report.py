"""The experiment report (HTML and Markdown) of a real 2-cell grid run against the emulator.

A 3-turn clip of the sample meeting streams at 16 kHz and 8 kHz (pcm, max speed); a secret, a
join URL with its ``mc`` token and a presigned URL signature are planted in the run table's
parameters and in a session's files: none may reach either report.
"""

from __future__ import annotations

import base64
import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import sample_turns_wav
from tingwu_nb.research.grid import Grid, Recording, Reference
from tingwu_nb.research.runner import run_grid_sync
from tingwu_nb.research.store import RunStore

pytest.importorskip("matplotlib")

SECRET = "PlantedSecretXyz0123456789abcdef"
MC = "PlantedJoinToken987"
SIG = "PlantedSignatureAbC%2Bdef"
PLANT = (f"key {SECRET} join wss://tingwu.example.com/ws?mc={MC} "
         f"file https://bucket.oss.aliyuncs.com/r.json?Expires=1&OSSAccessKeyId=id&Signature={SIG}")


def build_store(emulator, base: Path, pcm16k, truth) -> tuple[RunStore, Grid]:
    """Run a 2-cell grid (3 turns, 16/8 kHz pcm, speed 8) into ``base/store`` and plant secrets."""
    from tingwu_nb.report.experiment import save_references

    wav = sample_turns_wav(base / "turns.wav", 3, pcm16k, truth)
    turns = truth["turns"][:3]
    reference = Reference.from_segments((t["start_s"], t["end_s"], t["text"]) for t in turns)
    grid = Grid([Recording("meeting", wav, reference)], languages=["en"], sample_rates=[16000, 8000],
                formats=["pcm"], speed=8)  # "max" (10x) can trip the emulator's limit under load
    store = RunStore(base / "store")
    with ThreadPoolExecutor(1) as pool:  # own thread: callers may own an event loop (playwright)
        runs = pool.submit(run_grid_sync, grid, store, client_factory=emulator.client, concurrency=2,
                           progress=False).result()
    assert runs["status"].tolist() == ["ok", "ok"], runs["error"].tolist()
    save_references(grid, store)
    for row in runs.to_dict("records"):  # plant in the parameters (as a careless grid would)
        params = json.loads(row["params_json"]) | {"access_key_secret": SECRET, "note": PLANT}
        mine = f"condition_id == {row['condition_id']!r}"
        store.add(row | {"params_json": json.dumps(params)},
                  {"sentences": store.sentences().query(mine), "segments": store.segments().query(mine),
                   "ready": store.ready().query(mine)})
    row = runs.iloc[0].to_dict()
    meta_path = Path(row["session_dir"]) / "session.json"  # and in a session's files
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["endpoint"] = f"https://tingwu.cn-beijing.aliyuncs.com/?mc={MC}&Signature={SIG}"
    meta["note"] = PLANT
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    return store, grid


@pytest.fixture(scope="module")
def built(emulator, sample_pcm16k, sample_truth, tmp_path_factory):
    base = tmp_path_factory.mktemp("experiment")
    return build_store(emulator, base, sample_pcm16k, sample_truth) + (base,)


def assert_clean(text: str) -> None:
    for planted in (SECRET, MC, SIG):
        assert planted not in text, f"{planted} leaked into the report"


def test_html_report_has_summary_paired_figures_provenance_and_no_secret(built, emulator) -> None:
    from tingwu_nb.report.experiment import experiment_summary, write_experiment_report

    store, grid, base = built
    path = write_experiment_report(store, base / "out" / "study.html", secrets=[SECRET], emulator=emulator)
    html = path.read_text(encoding="utf-8")
    assert_clean(html)
    summary = experiment_summary(store)
    assert sorted(summary["sample_rate"]) == [8000, 16000] and (summary["n"] == 3).all()
    assert (summary["error_rate_low"] <= summary["error_rate"]).all()
    assert (summary["error_rate"] <= summary["error_rate_high"]).all()
    for heading in ("Summary", "Paired comparison: 8 kHz − 16 kHz", "Partial-result stability",
                    "Stop → each result ready", "Figures", "Parameters", "Provenance"):
        assert f"<h2>{heading}</h2>" in html
    text = html.replace("\u00a0", " ")
    assert "en · 16 kHz · pcm" in text and "en · 8 kHz · pcm" in text
    assert "****" in html  # the planted parameters are there, masked
    assert re.search(r"<td>\d+\.\d % \[\d+\.\d–\d+\.\d %\]</td>", html), "error rates in % with the interval"
    assert "n (sentences)" in html and "same speed" in html
    paired = re.search(r"<h2>Paired comparison.*?</table>", html, re.S).group(0)
    assert "{" not in paired and "en · pcm" in paired.replace("\u00a0", " ")  # no raw JSON in the label
    assert html.count(grid.recordings[0].sha256) == 1  # one fingerprint per audio
    for fact in ("tiny.en", "speech model (en)", "analysis engine", "tingwu_nb", grid.recordings[0].sha256):
        assert fact in html, fact
    images = re.findall(r"src='data:image/png;base64,([^']+)'", html)
    # by condition, heatmap, latency CDF, accuracy vs latency, revisions, result ready, worst alignment
    assert len(images) == 7
    assert all(base64.b64decode(i).startswith(b"\x89PNG") for i in images)
    assert "Worst sentence" in html
    assert not re.search(r"""(src|href)\s*=\s*["']?https?:""", html, re.I)
    assert "@import" not in html and "url(http" not in html


def test_markdown_report_and_session_markdown(built, emulator) -> None:
    from tingwu_nb.report.experiment import write_experiment_markdown
    from tingwu_nb.report.markdown import write_session_markdown
    from tingwu_nb.session.recording import Session

    store, _grid, base = built
    path = write_experiment_markdown(store, base / "md" / "study.md", secrets=[SECRET], emulator=emulator)
    text = path.read_text(encoding="utf-8")
    assert_clean(text)
    assert "## Paired comparison: 8 kHz − 16 kHz" in text
    assert "| condition | metric | error rate [95 % CI] | n (sentences) |" in text
    pngs = sorted(p.name for p in (base / "md" / "study_figures").glob("*.png"))
    assert len(pngs) == 7 and all(f"study_figures/{p}" in text for p in pngs)
    assert "## Partial-result stability" in text
    assert "| condition | n (sentences) | revisions / sentence | rewritten chars / sentence |" in text
    assert "same speed (these runs: 8×)" in text
    assert "## Stop → each result ready" in text and "| Transcription |" in text

    session = Session(store.runs().iloc[0]["session_dir"])  # the one with planted files
    md = write_session_markdown(session, base / "md" / "session.md", secrets=[SECRET], emulator=emulator)
    text = md.read_text(encoding="utf-8")
    assert_clean(text)
    sentences = session.sentences()
    assert len(sentences) and all(" ".join(str(t).split()) in text for t in sentences["text"])
    assert re.search(r"- `\d\d:\d\d(\.\d)?–\d\d:\d\d(\.\d)?` \*\*Speaker", text), "transcript lines need timecodes"
    assert "## Provenance" in text and "tiny.en" in text and "tingwu_nb" in text

    from tingwu_nb.report.html import write_report

    page = write_report(session, base / "md" / "session.html", secrets=[SECRET]).read_text(encoding="utf-8")
    assert_clean(page)
    assert "<h2>Provenance</h2>" in page and session.meta["audio"]["source"] not in page
    assert Path(session.meta["audio"]["source"]).name in page  # the file name with its sha256


def test_stability_and_result_ready_per_condition(built) -> None:
    """Partial stability and stop -> ready aggregate the store's own sentence and ready rows."""
    from tingwu_nb.report.experiment import experiment_ready, experiment_stability

    store, _grid, _base = built
    stability = experiment_stability(store)
    sentences = store.sentences()
    assert sorted(stability["condition"]) == ["en · 16 kHz · pcm", "en · 8 kHz · pcm"]
    for row in stability.itertuples():
        mine = sentences[sentences["condition_id"].isin(
            store.runs().query(f"sample_rate == {row.sample_rate}")["condition_id"])]
        assert row.sentences == len(mine)
        assert row.revisions_per_sentence == pytest.approx(mine["revisions"].mean())
        assert row.revisions_per_sentence_low <= row.revisions_per_sentence <= row.revisions_per_sentence_high
        assert row.chars_changed_per_sentence == pytest.approx(mine["chars_changed"].mean())
    ready = experiment_ready(store)
    assert set(ready["result"]) == {"Transcription"} and (ready["cells"] == 1).all()
    raw = store.ready().set_index("condition_id")["stop_to_ready_s"]
    runs = store.runs().set_index("condition_id")
    for cid, seconds in raw.items():
        assert 0 <= seconds <= runs.loc[cid, "stop_to_task_finished_s"]


def test_a_folder_that_is_not_a_run_store_is_refused(tmp_path: Path) -> None:
    from tingwu_nb.report.experiment import write_experiment_report

    with pytest.raises(FileNotFoundError, match="not a run store"):
        write_experiment_report(tmp_path, tmp_path / "x.html")


def test_speakers_section_and_speaker_error_of_a_diarised_grid(emulator, sample_pcm16k, sample_truth, tmp_path):
    """A grid with diarization and a speaker-labelled reference: the summary shows the speaker error,
    the Speakers section each reference speaker, and references.json keeps the labels."""
    from tingwu_nb.report.experiment import experiment_speakers, save_references, write_experiment_markdown

    turns = sample_truth["turns"][:4]
    wav = sample_turns_wav(tmp_path / "turns.wav", 4, sample_pcm16k, sample_truth)
    reference = Reference.from_segments((t["start_s"], t["end_s"], t["text"], t["speaker"]) for t in turns)
    grid = Grid([Recording("meeting", wav, reference)], languages=["en"], sample_rates=[16000], formats=["pcm"],
                params=[{"speaker_count": 3}], speed=8)
    store = RunStore(tmp_path / "store")
    with ThreadPoolExecutor(1) as pool:
        runs = pool.submit(run_grid_sync, grid, store, client_factory=emulator.client, progress=False).result()
    assert runs["status"].tolist() == ["ok"], runs["error"].tolist()
    save_references(grid, store)
    saved = json.loads((store.root / "references.json").read_text(encoding="utf-8"))["meeting"]
    assert [row[3] for row in saved] == [t["speaker"] for t in turns]
    speakers = experiment_speakers(store)
    assert sorted(speakers["speaker"]) == sorted({t["speaker"] for t in turns})
    assert (speakers["condition"] == "en · 16 kHz · pcm").all()
    text = write_experiment_markdown(store, tmp_path / "study.md").read_text(encoding="utf-8")
    assert "## Speakers" in text and "| condition | speaker | mapped to | error rate |" in text
    assert "speaker error" in text.split("## Summary")[1].split("##")[0]
