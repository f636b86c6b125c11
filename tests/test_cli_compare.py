"""`tingwu-nb compare` and `tingwu-nb report`, run in-process against the emulator fixture."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import sample_turns_wav
from tingwu_nb.cli import main


@pytest.fixture
def cloud_env(emulator, monkeypatch, tmp_path):
    """Credentials of the emulator fixture, as a user would configure a cloud account."""
    for name in ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_SECURITY_TOKEN",
                 "TINGWU_APP_KEY", "TINGWU_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", emulator.credentials.access_key_id)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", emulator.credentials.access_key_secret)
    return ["--endpoint", emulator.endpoint, "--app-key", emulator.app_key]


def test_compare_then_report_the_store_and_a_session(cloud_env, emulator, tmp_path, capsys, sample_pcm16k,
                                                     sample_truth):
    sample_turns_wav(tmp_path / "turns.wav", 3, sample_pcm16k, sample_truth)
    def ts(s: float) -> str:
        return f"00:00:{s:06.3f}".replace(".", ",")

    srt = "".join(f"{i}\n{ts(t['start_s'])} --> {ts(t['end_s'])}\n{t['text']}\n\n"
                  for i, t in enumerate(sample_truth["turns"][:3], 1))
    (tmp_path / "turns.srt").write_text(srt, encoding="utf-8")
    (tmp_path / "grid.yaml").write_text("recordings:\n  - {name: meeting, audio: turns.wav, reference: turns.srt}\n"
                                        "languages: [en]\nsample_rates: [16000, 8000]\nformats: [pcm]\nspeed: 8\n")
    store = tmp_path / "store"
    code = main(["compare", str(tmp_path / "grid.yaml"), "--store", str(store), "--concurrency", "2", *cloud_env])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert (store / "runs.parquet").exists() and f"Run store: {store}" in out.out
    rows = re.findall(r"en · (16|8) kHz · pcm\s+WER\s+[\d.]+ % \[[\d.]+–[\d.]+ %\]\s+3 sentences, 1 cell, "
                      r"0 failed", out.out)
    assert sorted(rows) == ["16", "8"], out.out
    assert "8 kHz − 16 kHz" in out.out
    assert emulator.credentials.access_key_secret not in out.out + out.err

    assert main(["report", str(store)]) == 0
    html = Path(capsys.readouterr().out.strip())
    assert html == store / "report.html" and "data:image/png;base64," in html.read_text(encoding="utf-8")
    page = html.read_text(encoding="utf-8")  # no emulator object here: the embedded defaults are described
    assert "<td>speech model (en)</td><td>tiny.en</td>" in page and "analysis engine" in page
    sha = __import__("pandas").read_parquet(store / "runs.parquet")["audio_sha256"].iloc[0]
    assert page.count(sha) == 1 and "meeting · turns.wav" in page
    assert main(["report", str(store), "--markdown", "--out", str(tmp_path / "r" / "study.md")]) == 0
    assert (tmp_path / "r" / "study.md").exists() and (tmp_path / "r" / "study_figures").is_dir()
    capsys.readouterr()

    session_dir = next((store / "sessions").iterdir())
    assert main(["report", str(session_dir), "--out", str(tmp_path / "s.html")]) == 0
    assert Path(capsys.readouterr().out.strip()).read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert main(["report", str(session_dir), "--markdown"]) == 0
    assert "## Transcript" in Path(capsys.readouterr().out.strip()).read_text(encoding="utf-8")


def test_bad_yaml_and_a_wrong_folder_are_one_line_and_exit_2(tmp_path, capsys):
    (tmp_path / "grid.yaml").write_text("recordings: [ {name: x, audio: \n", encoding="utf-8")
    assert main(["compare", str(tmp_path / "grid.yaml"), "--store", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("tingwu-nb: ParameterError: GRID: cannot read grid"), err
    assert not (tmp_path / "s").exists()
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "neither a session directory" in err


def test_an_impossible_cell_is_named_and_skipped_and_the_rest_runs(cloud_env, tmp_path, capsys, sample_pcm16k,
                                                                   sample_truth):
    sample_turns_wav(tmp_path / "turns.wav", 3, sample_pcm16k, sample_truth)
    grid = tmp_path / "grid.yaml"
    grid.write_text("recordings:\n  - {name: meeting, audio: turns.wav, text: the reference}\n"
                    "languages: [en, ja]\nsample_rates: [8000]\nformats: [pcm]\nspeed: 8\n")
    store = tmp_path / "store"
    code = main(["compare", str(grid), "--store", str(store), *cloud_env])
    out = capsys.readouterr()
    assert code == 0, out.err
    skipped = [line for line in out.err.splitlines() if "skipping cell" in line]
    assert skipped == [f"tingwu-nb: skipping cell 'meeting ja 8k pcm' of {grid}: Input.SampleRate: 8000 Hz is only "
                       "available for cn and en; got ja. Use 16000."], out.err
    assert "Running 1 of 2 cells" in out.out
    import pandas as pd

    runs = pd.read_parquet(store / "runs.parquet").set_index("language")
    assert runs.loc["en", "status"] == "ok"
    assert runs.loc["ja", "status"] == "error" and "8000 Hz is only available" in runs.loc["ja", "error"]
    assert pd.isna(runs.loc["ja", "session_dir"]) or not runs.loc["ja", "session_dir"]  # an error row, never streamed
    assert re.search(r"ja · 8 kHz · pcm\s+\? —  0 sentences, 1 cell, 1 failed", out.out), out.out


def test_a_grid_where_nothing_can_run_exits_2_naming_every_cell(tmp_path, capsys):
    (tmp_path / "a.wav").write_bytes(b"")
    grid = tmp_path / "grid.yaml"
    grid.write_text("recordings:\n  - {name: a, audio: a.wav, text: x}\n  - {name: gone, audio: missing.wav, "
                    "text: y}\nlanguages: [ja]\nsample_rates: [8000]\n")
    assert main(["compare", str(grid), "--store", str(tmp_path / "s")]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert (f"tingwu-nb: skipping cell 'a ja 8k pcm' of {grid}: Input.SampleRate: 8000 Hz is only available for cn "
            "and en; got ja. Use 16000.") in lines, lines
    assert any(line.startswith("tingwu-nb: skipping cell 'gone ja 8k pcm'") and "cannot read audio" in line
               and "missing.wav" in line for line in lines), lines
    assert len(lines) == 3 and lines[-1].startswith(f"tingwu-nb: ParameterError: GRID: no cell of grid {grid} can run")
    assert not (tmp_path / "s").exists()


def test_a_malformed_grid_names_the_file_not_the_transcribe_help(tmp_path, capsys):
    grid = tmp_path / "grid.yaml"
    grid.write_text("recordings: []\n", encoding="utf-8")
    assert main(["compare", str(grid)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"cannot read grid {grid}" in err and "a grid needs at least one recording" in err
    assert "transcribe --help" not in err, err
