"""The load-test speech engine: energy-segmented sentences labelled "[speech N.N s]", no model loaded.

Unit tests drive :class:`LoadTestRecognizer` with synthetic noise bursts (known onsets/lengths);
the end-to-end tests run a real emulator (``EmulatorConfig(speech_engine="loadtest")``) over
loopback with ``record()``, and a fresh interpreter checks that no model runtime is imported.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tests.conftest import write_wav
from tingwu_nb.cli import _parser
from tingwu_nb.contract import events as ev
from tingwu_nb.contract.params import RealtimeTaskRequest
from tingwu_nb.emulator.app import Emulator
from tingwu_nb.emulator.contract import EmulatorConfig
from tingwu_nb.emulator.engine.loadtest import LoadTestEngine, LoadTestRecognizer, speech_label
from tingwu_nb.emulator.engine.recognizer import Final, Interim, SpeechStart
from tingwu_nb.session.recording import record

LABEL = re.compile(r"^\[speech \d+\.\d s\]$")
PAD_MS = 300  # the recogniser's pad around speech (StreamingRecognizer.pad_ms)
BURSTS = [(1.0, 2.4), (4.9, 1.0), (7.4, 3.1)]  # (onset s, length s) of speech-like noise


def bursts_pcm(rate: int = 16000, bursts=BURSTS, total_s: float = 11.5, seed: int = 0) -> np.ndarray:
    """Silence with loud noise bursts at ``bursts`` ((onset s, length s)); int16 mono."""
    rng = np.random.default_rng(seed)
    pcm = np.zeros(int(total_s * rate), dtype=np.int16)
    for onset, length in bursts:
        a, n = int(onset * rate), int(length * rate)
        pcm[a:a + n] = (rng.standard_normal(n) * 3000).astype(np.int16)
    return pcm


def run(recognizer: LoadTestRecognizer, pcm: np.ndarray, chunk: int) -> list:
    events = []
    for i in range(0, len(pcm), chunk):
        events += recognizer.feed(pcm[i:i + chunk])
    return events + recognizer.finish()


@pytest.mark.parametrize("rate", [16000, 8000])
def test_recognizer_segments_by_energy_and_labels_each_sentence(rate):
    """One Final per burst, spanning the burst plus the pad, text = its length, no words."""
    engine = LoadTestEngine()
    events = run(LoadTestRecognizer(engine, language="en", sample_rate=rate, interim=True), bursts_pcm(rate), rate // 10)
    finals = [e for e in events if isinstance(e, Final)]
    assert [f.index for f in finals] == [0, 1, 2]
    for final, (onset, length) in zip(finals, BURSTS):
        assert abs(final.start_ms - (onset * 1000 - PAD_MS)) <= 64
        assert abs(final.end_ms - ((onset + length) * 1000 + PAD_MS)) <= 64
        assert final.text == speech_label((final.end_ms - final.start_ms) / 1000) and LABEL.match(final.text)
        assert final.words == () and final.confidence == 0.0
    starts = [e for e in events if isinstance(e, SpeechStart)]
    assert [s.start_ms for s in starts] == [f.start_ms for f in finals]
    interims = [e for e in events if isinstance(e, Interim)]
    assert interims and all(LABEL.match(i.text) and i.words == () for i in interims)
    for i in interims:  # the label measures the open sentence up to the interim's time
        final = finals[i.index]
        assert final.start_ms < i.time_ms <= final.end_ms
        assert i.text == speech_label((i.time_ms - final.start_ms) / 1000)
    assert engine.decodes == len(finals) + len(interims)


def test_recognizer_without_interim_and_long_sentences_cut():
    """interim=False gives no Interim; continuous sound is cut at max_sentence_ms like the real engine."""
    rate = 16000
    pcm = bursts_pcm(rate, bursts=[(0.5, 20.0)], total_s=22.0)
    events = run(LoadTestRecognizer(language="en", sample_rate=rate, max_sentence_ms=8000), pcm, 16000)
    assert not [e for e in events if isinstance(e, Interim)]
    finals = [e for e in events if isinstance(e, Final)]
    assert len(finals) == 3 and all(f.end_ms - f.start_ms <= 8000 + 32 for f in finals)
    assert all(a.end_ms == b.start_ms for a, b in zip(finals, finals[1:]))  # contiguous pieces
    assert all(LABEL.match(f.text) for f in finals)


def test_cli_and_config_select_the_engine():
    """``tingwu-nb emulator --speech-engine loadtest`` parses; the default stays whisper."""
    assert _parser().parse_args(["emulator", "--speech-engine", "loadtest"]).speech_engine == "loadtest"
    assert _parser().parse_args(["emulator"]).speech_engine == "whisper"
    assert EmulatorConfig.generate().speech_engine == "whisper"


@pytest.fixture(scope="module")
def loadtest_emulator():
    config = EmulatorConfig.generate(speech_engine="loadtest", analysis_engine="extractive")
    with Emulator(config) as emu:
        yield emu


async def test_record_on_a_loadtest_emulator(loadtest_emulator, tmp_path):
    """Live SentenceBegin/interim/SentenceEnd and the Transcription file carry the labelled sentences."""
    wav = write_wav(tmp_path / "bursts.wav", bursts_pcm(), 16000)
    seen: list = []
    async with loadtest_emulator.client() as client:
        session = await record(wav, RealtimeTaskRequest.create(output_level=2), client=client, speed=math.inf,
                               out_dir=tmp_path / "s", on_event=seen.append, poll_interval_s=0.1)
    assert session.status == "COMPLETED"
    assert isinstance(loadtest_emulator.engine, LoadTestEngine) and loadtest_emulator.engine.decodes > 0
    ends = [e for e in seen if isinstance(e, ev.SentenceEnd)]
    assert len(ends) == len(BURSTS) and all(LABEL.match(e.result) and not e.words for e in ends)
    assert len([e for e in seen if isinstance(e, ev.SentenceBegin)]) == len(BURSTS)
    changed = [e for e in seen if isinstance(e, ev.TranscriptionResultChanged)]
    assert changed and all(LABEL.match(e.result) for e in changed)
    sentences = session.sentences()
    assert list(sentences["text"]) == [e.result for e in ends]
    for (_, row), (onset, length) in zip(sentences.iterrows(), BURSTS):
        assert abs(row["start_s"] - (onset - PAD_MS / 1000)) <= 0.07
        assert abs(row["end_s"] - (onset + length + PAD_MS / 1000)) <= 0.07
        assert row["text"] == speech_label(round(row["end_s"] - row["start_s"], 3))
    # post-processing writes a sentence without words as one word holding its text: the label
    assert list(session.words()["text"]) == list(sentences["text"])


def test_a_passed_whisper_engine_is_replaced():
    """speech_engine="loadtest" wins over an engine object passed in (which is never used)."""
    sentinel = object()
    emu = Emulator(EmulatorConfig.generate(speech_engine="loadtest", analysis_engine="extractive"), engine=sentinel)
    assert isinstance(emu.engine, LoadTestEngine)


_NO_MODEL_SCRIPT = textwrap.dedent("""
    import asyncio, json, math, resource, sys
    from tingwu_nb.contract.params import RealtimeTaskRequest
    from tingwu_nb.emulator.app import Emulator
    from tingwu_nb.emulator.contract import EmulatorConfig
    from tingwu_nb.session.recording import record

    config = EmulatorConfig.generate(speech_engine="loadtest", analysis_engine="extractive")

    async def main(emu):
        async with emu.client() as client:
            s = await record(sys.argv[1], RealtimeTaskRequest.create(output_level=2), client=client,
                             speed=math.inf, out_dir=sys.argv[2], poll_interval_s=0.1)
        return s.status, len(s.sentences())

    with Emulator(config) as emu:
        status, n = asyncio.run(main(emu))
    heavy = ("faster_whisper", "ctranslate2", "onnxruntime", "torch")
    print(json.dumps({"status": status, "sentences": n, "loaded": [m for m in heavy if m in sys.modules],
                      "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
""")


def test_loadtest_emulator_loads_no_model(tmp_path):
    """A fresh process serving a loadtest record never imports a model runtime (no Whisper, no silero)."""
    wav = write_wav(tmp_path / "bursts.wav", bursts_pcm(), 16000)
    out = subprocess.run([sys.executable, "-c", _NO_MODEL_SCRIPT, str(wav), str(tmp_path / "s")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    facts = json.loads(out.stdout.strip().splitlines()[-1])
    print("loadtest emulator + client process:", facts)
    assert facts["status"] == "COMPLETED" and facts["sentences"] == len(BURSTS)
    assert facts["loaded"] == []
