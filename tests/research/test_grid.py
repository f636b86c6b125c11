"""The experiment grid: cache keys, YAML parsing, and a real 2 × 2 grid over the emulator."""

from __future__ import annotations

import asyncio
import json
import math
import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import sample_turns_wav, write_wav
from tingwu_nb.client.pacing import MAX_SPEED
from tingwu_nb.research.grid import Condition, Grid, Recording, Reference, canonical_params
from tingwu_nb.research.runner import plan, run_grid
from tingwu_nb.research.store import RunStore, cache_key

SHA = "0" * 64


def _srt(turns: list[dict]) -> str:
    def ts(s: float) -> str:
        ms = round(s * 1000)
        return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"

    return "\n".join(f"{i}\n{ts(t['start_s'])} --> {ts(t['end_s'])}\n{t['text']}\n"
                     for i, t in enumerate(turns, 1))


def test_cache_key_ignores_parameter_order_and_depends_on_endpoint_kind(tmp_path: Path) -> None:
    rec = Recording("r", tmp_path / "r.wav", Reference.from_text("x"))
    a = Grid([rec], params=[{"diarization": True, "output_level": 1}]).conditions()[0]
    b = Grid([rec], params=[{"output_level": 1, "diarization": True}]).conditions()[0]
    assert a == b and a.params_json == b.params_json
    assert canonical_params({"b": [1, 2], "a": {"y": 1, "x": 2}}) == canonical_params({"a": {"x": 2, "y": 1},
                                                                                        "b": [1, 2]})
    assert cache_key(SHA, a.params_json, "emulator") == cache_key(SHA, b.params_json, "emulator")
    assert cache_key(SHA, a.params_json, "emulator") != cache_key(SHA, a.params_json, "cloud")
    assert cache_key(SHA, a.params_json, "emulator") != cache_key("1" * 64, a.params_json, "emulator")
    c = Condition(rec, "en", 8000, "pcm")
    assert cache_key(SHA, c.params_json, "emulator") != cache_key(SHA, a.params_json, "emulator")
    # the sending speed is part of the key ("max" is the fastest accepted speed)
    assert cache_key(SHA, a.params_json, "emulator", 1.0) != cache_key(SHA, a.params_json, "emulator", 10.0)
    assert cache_key(SHA, a.params_json, "emulator", math.inf) == cache_key(SHA, a.params_json, "emulator", MAX_SPEED)


def test_yaml_grid_with_text_srt_and_transcription_references(tmp_path: Path, sample_truth: dict) -> None:
    write_wav(tmp_path / "a.wav", np.zeros(1600, np.int16), 16000)
    (tmp_path / "a.srt").write_text(_srt(sample_truth["turns"][:2]), encoding="utf-8")
    doc = {"Transcription": {"Paragraphs": [{"ParagraphId": "1", "SpeakerId": "1", "Words": [
        {"Id": 1, "SentenceId": 1, "Start": 500, "End": 900, "Text": "你好"},
        {"Id": 2, "SentenceId": 2, "Start": 1000, "End": 1400, "Text": "世界"}]}]}}
    (tmp_path / "c.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "grid.yaml").write_text("""
recordings:
  - {name: srt, audio: a.wav, reference: a.srt}
  - {audio: a.wav, text: "Hello   there"}
  - {name: tingwu, audio: a.wav, reference: c.json}
languages: [en, {language: multilingual, hints: [en, cn]}]
sample_rates: [16000, 8000]
formats: [pcm, opus]
params: [{}, {diarization: true}]
speed: 4
""", encoding="utf-8")
    grid = Grid.from_yaml(tmp_path / "grid.yaml")
    cells = grid.conditions()
    assert len(cells) == 3 * 2 * 2 * 2 * 2 and grid.speed == 4
    srt, text, tingwu = grid.recordings
    assert text.name == "a" and text.reference.text == "Hello there" and text.reference.segments == ()
    assert srt.reference.segments[1] == (sample_truth["turns"][1]["start_s"], sample_truth["turns"][1]["end_s"],
                                         sample_truth["turns"][1]["text"])
    assert [s[2] for s in tingwu.reference.segments] == ["你好", "世界"] and tingwu.reference.segments[0][0] == 0.5
    multi = next(c for c in cells if c.language == "multilingual" and c.extra)
    assert multi.params == {"language": "multilingual", "language_hints": ["en", "cn"], "sample_rate": 16000,
                            "format": "pcm", "diarization": True}
    assert multi.request().parameters is not None  # a valid CreateTask request
    assert srt.sha256 == text.sha256 and len({c.params_json for c in cells}) == len(cells) // 3


@pytest.mark.network
@pytest.mark.slow
async def test_grid_runs_caches_resumes_and_8k_is_no_better(
        emulator, tmp_path: Path, sample_pcm16k: np.ndarray, sample_truth: dict) -> None:
    turns = sample_truth["turns"][:5]
    sample_turns_wav(tmp_path / "clip.wav", 5, sample_pcm16k, sample_truth)
    (tmp_path / "clip.srt").write_text(_srt(turns), encoding="utf-8")
    grid = Grid.from_dict({"recordings": [{"name": "clip", "audio": "clip.wav", "reference": "clip.srt"}],
                           "sample_rates": [16000, 8000], "formats": ["pcm", "opus"], "speed": "max"},
                          base=tmp_path)
    store = RunStore(tmp_path / "store")
    audio_s = turns[-1]["end_s"] + 0.5
    async with emulator.client() as client:
        # 1. interrupted: cancel as soon as one cell is in the store (the second is streaming)
        created = len(emulator.store)
        task = asyncio.create_task(run_grid(grid, store, client=client, concurrency=1, progress=False))
        def second_streaming() -> bool:
            tasks = list(emulator.store)[created:]
            return len(store.runs()) == 1 and len(tasks) == 2 and tasks[1].stream_active

        while not second_streaming() and not task.done():
            await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        finished = store.finished()
        assert len(finished) == 1 and len(store.runs()) == 1  # the cancelled cell is not cached
        streamed_first = len(emulator.store) - created
        assert streamed_first == 2
        interrupted = list(emulator.store)[-1]
        assert interrupted.stopped_at is not None  # record() stopped the task it was streaming
        assert len(list(store.sessions_dir.iterdir())) == 2  # its session dir stays, marked cancelled
        # 2. resume: only the missing cells are streamed
        created = len(emulator.store)
        started = time.monotonic()
        runs = await run_grid(grid, store, client=client, concurrency=2, progress=True)
        resume_wall = time.monotonic() - started
        assert len(emulator.store) - created == 4 - len(finished)
        assert list(runs["status"]) == ["ok"] * 4, runs["error"].tolist()
        assert set(runs["condition_id"]) >= finished and runs["endpoint_kind"].eq("emulator").all()
        # 3. repeated: nothing streamed again, same table
        created = len(emulator.store)
        again = await run_grid(grid, store, client=client, concurrency=2, progress=False)
        assert len(emulator.store) == created
        assert again["condition_id"].tolist() == runs["condition_id"].tolist()
        # at another speed nothing is cached: latency and partials depend on it
        assert len(plan(grid, store, "emulator", 5.0)[1]) == 4 and not plan(grid, store, "emulator", math.inf)[1]
        assert runs["speed"].eq(MAX_SPEED).all()  # "max" is stored as the speed really used
        # benchmark (printed, never asserted): a fresh store runs all 4 cells
        started = time.monotonic()
        fresh = await run_grid(grid, RunStore(tmp_path / "fresh"), client=client, concurrency=2, progress=False)
        fresh_wall = time.monotonic() - started
        assert fresh["status"].eq("ok").all()
    assert (runs["sentences"] > 0).all() and (runs["reference_length"] > 40).all()
    assert all(Path(d).is_dir() for d in runs["session_dir"])
    latency = store.sentences()
    assert set(latency["condition_id"]) == set(runs["condition_id"]) and latency["latency_s"].notna().any()
    assert (runs["latency_final_median_s"] > 0).all() and (runs["stop_to_completed_s"] > 0).all()
    summary = store.summary(by=("sample_rate",)).set_index("sample_rate")
    ideal = 4 * audio_s / (MAX_SPEED * 2)  # total audio / (speed x concurrency)
    print(f"\ngrid: 4 cells x {audio_s:.1f} s audio; first run created {streamed_first} tasks before the cancel; "
          f"resume of {4 - len(finished)} cells {resume_wall:.1f} s; fresh 4-cell grid {fresh_wall:.1f} s "
          f"vs ideal {ideal:.1f} s")
    print(runs[["sample_rate", "format", "error_rate", "latency_final_median_s", "stop_to_completed_s",
                "wall_s"]].to_string())
    print(summary.to_string())
    assert (summary["segments"] == len(turns)).all() and (summary["cells"] == 2).all()  # pcm+opus copies: 1 unit
    assert (summary["ci_low"] <= summary["error_rate"]).all() and (summary["error_rate"] <= summary["ci_high"]).all()
    assert summary.loc[8000, "error_rate"] >= summary.loc[16000, "error_rate"]
    pcm = runs[runs["format"] == "pcm"].set_index("sample_rate")["condition_id"]
    paired = store.paired(pcm[8000], pcm[16000])
    print(f"8k - 16k (pcm), paired over sentences: {paired}")
    assert paired["low"] <= paired["diff"] <= paired["high"] and paired["diff"] >= 0


@pytest.mark.network
@pytest.mark.slow
async def test_a_failing_cell_is_recorded_and_the_grid_goes_on(
        emulator, tmp_path: Path, sample_pcm16k: np.ndarray, sample_truth: dict) -> None:
    sample_turns_wav(tmp_path / "one.wav", 1, sample_pcm16k, sample_truth)
    grid = Grid.from_dict({"recordings": [{"audio": "one.wav", "text": sample_truth["turns"][0]["text"]}],
                           "languages": ["ja", "en"], "sample_rates": [8000]}, base=tmp_path)
    store = RunStore(tmp_path / "store")
    async with emulator.client() as client:
        runs = await run_grid(grid, store, client=client, progress=False)
        assert runs["language"].tolist() == ["ja", "en"] and runs["status"].tolist() == ["error", "ok"]
        assert "ParameterError" in runs.loc[0, "error"] and "8000" in runs.loc[0, "error"]
        assert runs.loc[1, "sentences"] >= 1 and runs.loc[1, "error_rate"] < 0.5
        created = len(emulator.store)
        again = await run_grid(grid, store, client=client, progress=False)  # errors are retried, ok is cached
    assert len(emulator.store) == created and again["status"].tolist() == ["error", "ok"]
    assert len(store.runs()) == 2
    with pytest.raises(ValueError):
        store.paired(runs.loc[0, "condition_id"], runs.loc[1, "condition_id"])
