"""How the experiment report shows numbers (no emulator): intervals in one column, percentages,
readable parameters, provenance with one fingerprint per audio and engine rows from a description."""

from __future__ import annotations

import math

import pandas as pd

from tingwu_nb.report.experiment import (
    paired_display,
    readable_params,
    stability_display,
    summary_display,
    with_interval,
)
from tingwu_nb.report.provenance import provenance, provenance_rows


def test_with_interval_formats_value_and_interval_in_one_cell() -> None:
    assert with_interval(1.25, 0.5, 2.0) == "1.25 [0.50–2.00]"
    assert with_interval(12.34, 4.5, 20.06, "{:.1f}", " %") == "12.3 % [4.5–20.1 %]"
    assert with_interval(3.2, -1.0, 7.5, "{:+.1f}", " pts") == "+3.2 pts [-1.0, +7.5 pts]"
    assert with_interval(0.4, math.nan, math.nan) == "0.40 (no interval)"
    assert with_interval(0.4, 0.4, 0.4, units=1) == "0.40 (no interval)"  # one unit resampled
    assert with_interval(0.0, 0.0, 0.0, units=3) == "0.00 [0.00–0.00]"  # three sentences, all 0: a real interval
    assert with_interval(math.nan, 0.1, 0.2) == "—"


def test_summary_table_shows_percentages_sentences_and_latency_interval() -> None:
    summary = pd.DataFrame({"condition": ["en · 8 kHz · pcm", "ja · 16 kHz · pcm"], "metric": ["wer", None],
                            "error_rate": [0.25, math.nan], "error_rate_low": [0.0, math.nan],
                            "error_rate_high": [0.583, math.nan], "n": [3, 0], "cells": [1, 1], "failed": [0, 1],
                            "recordings": [2, 0], "latency_final_median_s": [1.96, math.nan],
                            "latency_final_median_s_low": [1.5, math.nan],
                            "latency_final_median_s_high": [2.5, math.nan]})
    summary.attrs["level"] = 0.9
    shown = summary_display(summary)
    assert list(shown.columns) == ["condition", "metric", "error rate [90 % CI]", "n (sentences)", "cells", "failed",
                                   "median latency"]
    assert shown.iloc[0].tolist()[1:] == ["WER", "25.0 % [0.0–58.3 %]", 3, 1, 0, "1.96 s [1.50–2.50 s]"]
    assert shown.iloc[1].tolist()[1:] == ["—", "—", 0, 1, 1, "—"]
    assert shown["condition"].iloc[0] == "en · 8\u00a0kHz · pcm"  # wraps between factors only


def test_stability_and_paired_tables_are_narrow_and_readable() -> None:
    stability = pd.DataFrame({"condition": ["en · 16 kHz · pcm"], "sentences": [5], "revisions_per_sentence": [1.25],
                              "revisions_per_sentence_low": [0.5], "revisions_per_sentence_high": [2.0],
                              "chars_changed_per_sentence": [4.0], "chars_changed_per_sentence_low": [1.0],
                              "chars_changed_per_sentence_high": [8.0]})
    shown = stability_display(stability)
    assert shown.columns.tolist() == ["condition", "n (sentences)", "revisions / sentence",
                                      "rewritten chars / sentence"]
    assert shown.iloc[0].tolist()[1:] == [5, "1.25 [0.50–2.00]", "4.0 [1.0–8.0]"]
    paired = paired_display(pd.DataFrame({"condition": ["en · pcm"], "diff": [0.05], "low": [-0.01],
                                          "high": [0.12], "p_value": [0.0004]}))
    assert paired.iloc[0].tolist() == ["en · pcm", "+5.0 pts [-1.0, +12.0 pts]", "< 0.001"]


def test_extra_parameters_read_as_key_value_with_secrets_masked() -> None:
    text = readable_params({"diarization": True, "phrase_id": "abc", "targets": ["en", "ja"],
                            "access_key_secret": "s3cr3tvalue"})
    assert text == 'access_key_secret=**** diarization=true phrase_id=abc targets=["en", "ja"]'
    assert "{" not in readable_params({"diarization": True})


def test_provenance_lists_each_audio_once_and_takes_an_engine_description(tmp_path) -> None:
    audio = tmp_path / "turns.wav"
    audio.write_bytes(b"RIFF fake audio")
    import hashlib

    sha = hashlib.sha256(audio.read_bytes()).hexdigest()

    class FakeSession:
        meta = {"endpoint": "http://127.0.0.1:9/", "audio": {"source": str(audio)}}

    runs = pd.DataFrame({"endpoint_kind": ["emulator", "emulator"], "recording": ["meeting", "meeting"],
                         "audio_sha256": [sha, sha]})
    prov = provenance(sessions=[FakeSession()], runs=runs,
                      emulator={"speech model (en)": "tiny.en", "analysis engine": "extractive"})
    assert prov["audio"] == {"meeting · turns.wav": sha}
    assert prov["engine"] == {"speech model (en)": "tiny.en", "analysis engine": "extractive"}
    rows = provenance_rows(prov)
    assert sum(sha in value for _, _, value in rows) == 1
