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
    rows = re.findall(r"en · (16|8) kHz · pcm\s+WER\s+[\d.]+ % \[\s*[\d.]+,\s*[\d.]+\]\s+n=3 cells=1 failed=0", out.out)
    assert sorted(rows) == ["16", "8"], out.out
    assert "8 kHz − 16 kHz" in out.out
    assert emulator.credentials.access_key_secret not in out.out + out.err

    assert main(["report", str(store)]) == 0
    html = Path(capsys.readouterr().out.strip())
    assert html == store / "report.html" and "data:image/png;base64," in html.read_text(encoding="utf-8")
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
