"""Live translation over loopback, and what the emulator refuses (with a clear message) instead of faking."""

from __future__ import annotations

import math

import pytest

from tests.conftest import espeak_wav, requires
from tingwu_nb.contract import events as ev
from tingwu_nb.contract.params import RealtimeTaskRequest, Transcoding
from tingwu_nb.errors import ServiceError
from tingwu_nb.session.recording import record

pytestmark = [pytest.mark.network, pytest.mark.slow]

JAPANESE = "みなさん、おはようございます。かいぎをはじめましょう。"  # kana: espeak cannot read kanji


@requires("espeak-ng")
@requires("sox")
async def test_japanese_speech_is_translated_into_english_live_and_in_the_result(emulator, tmp_path):
    """ja → en: each SentenceEnd is followed by a ResultTranslated citing it; a Translation file exists."""
    wav = espeak_wav(tmp_path, "ja", JAPANESE, name="ja")
    request = RealtimeTaskRequest.create(language="ja", translate_to=["en"], output_level=1)
    async with emulator.client() as client:
        session = await record(wav, request, client=client, speed=math.inf, out_dir=tmp_path, poll_interval_s=0.2)
    events = session.events()
    ends = {e.message_id: e for e in events if isinstance(e, ev.SentenceEnd)}
    translated = [e for e in events if isinstance(e, ev.ResultTranslated)]
    assert ends and len(translated) == len(ends)
    for event in translated:
        assert event.source_message_id in ends
        assert (event.source_lang, event.target_lang) == ("ja", "en")
        assert event.items[0].index == ends[event.source_message_id].index
        assert any(c.isascii() and c.isalpha() for c in event.items[0].text)  # real English text came out
    doc = session.result("Translation")
    sentences = [s for p in doc["Translation"]["Paragraphs"] for s in p["Sentences"]]
    assert [s["Text"] for s in sentences] == [e.items[0].text for e in translated]


@pytest.mark.parametrize("create, code, words", [
    ({"language": "yue", "translate_to": ["ru"]}, "Emulator.UnsupportedTranslation", "Supported from yue: "),
    ({"multiple_streams_enabled": True}, "Emulator.Unsupported", "multi-stream"),
    ({"transcoding": Transcoding(spectrum_enabled=True)}, "Emulator.Unsupported", "SpectrumEnabled"),
], ids=["yue-to-ru", "multi-stream", "spectrum"])
async def test_what_the_emulator_cannot_compute_is_refused_at_create_task(emulator, create, code, words):
    """No offline model for it: CreateTask fails with a code and a message that say so (nothing streams)."""
    before = len(emulator.store)
    async with emulator.client() as client:
        with pytest.raises(ServiceError) as caught:
            await client.create_realtime_task(RealtimeTaskRequest.create(**create))
    assert caught.value.code == code and words in caught.value.message and caught.value.request_id
    assert len(emulator.store) == before
