"""Live translation through the offline language model, over loopback (skipped when the model is not prepared).

One emulator with ``analysis_engine="llm"`` for the module; each generation costs seconds, so the
clips are two short espeak sentences and every test asks for few targets.
"""

from __future__ import annotations

import asyncio
import math

import pytest

from tests.conftest import espeak_wav, requires
from tingwu_nb.contract import events as ev
from tingwu_nb.contract.params import RealtimeTaskRequest, Translation
from tingwu_nb.emulator.analysis.service import llm_available
from tingwu_nb.emulator.contract import EmulatorConfig
from tingwu_nb.errors import ServiceError
from tingwu_nb.session.recording import record

pytestmark = [
    pytest.mark.network, pytest.mark.slow,
    pytest.mark.skipif(not llm_available(), reason="the offline language model is not prepared (tingwu-nb prepare-models)"),
]

ENGLISH = ("We will finish the design review before Friday.", "Please send the test report tomorrow.")
CHINESE = ("我们今天开会讨论这个项目的进度。", "请大家准备好发言。")  # espeak: cmn-latn-pinyin reads Hanzi


def _cjk(text: str) -> bool:
    return any("\u3040" <= c <= "\u30ff" or "\u4e00" <= c <= "\u9fff" for c in text)


def _speech(tmp_path, voice: str, sentences: tuple[str, ...]):
    return espeak_wav(tmp_path, voice, *sentences, ssml=True)


@pytest.fixture(scope="module")
def llm_emulator(engine):
    from tingwu_nb.emulator.app import Emulator

    with Emulator(EmulatorConfig.generate(analysis_engine="llm"), engine=engine) as emu:
        yield emu


def _by_target(events) -> dict[str, list[ev.ResultTranslated]]:
    out: dict[str, list[ev.ResultTranslated]] = {}
    for e in events:
        if isinstance(e, ev.ResultTranslated) and not e.items[0].partial:
            out.setdefault(e.target_lang, []).append(e)
    return out


@requires("espeak-ng")
@requires("sox")
async def test_english_speech_is_translated_into_chinese_and_japanese_aligned_to_its_sentences(llm_emulator, tmp_path):
    wav = _speech(tmp_path, "en-us", ENGLISH)
    request = RealtimeTaskRequest.create(language="en", translate_to=["cn", "ja"], output_level=1)
    async with llm_emulator.client() as client:
        session = await record(wav, request, client=client, speed=math.inf, out_dir=tmp_path, poll_interval_s=0.2)
    events = session.events()
    ends = [e for e in events if isinstance(e, ev.SentenceEnd)]
    by_target = _by_target(events)
    assert len(ends) == 2 and set(by_target) == {"cn", "ja"}
    for translated in by_target.values():  # one event per sentence and target, in sentence order
        assert [t.source_message_id for t in translated] == [e.message_id for e in ends]
        assert [t.items[0].index for t in translated] == [e.index for e in ends]
        assert all(t.source_lang == "en" and _cjk(t.items[0].text) for t in translated), translated
    completed = [type(e) for e in events].index(ev.TranscriptionCompleted)
    assert max(events.index(t) for ts in by_target.values() for t in ts) < completed

    frame = session.translations()  # the Translation file: one column per target, aligned to the sentences
    assert list(frame.columns) == ["sentence_id", "start_s", "end_s", "cn", "ja"]
    assert list(frame["sentence_id"]) == list(session.sentences()["sentence_id"])
    for target in ("cn", "ja"):
        assert list(frame[target]) == [t.items[0].text for t in by_target[target]]

    # determinism and the text route: the engine gives the same text for the recognised sentence
    engine = llm_emulator.app.state.analysis.engine()
    assert engine.translate([ends[0].result], "en", "cn") == [by_target["cn"][0].items[0].text]


@requires("espeak-ng")
@requires("sox")
async def test_chinese_speech_is_translated_into_english_text(llm_emulator, tmp_path):
    wav = _speech(tmp_path, "cmn-latn-pinyin", CHINESE)
    request = RealtimeTaskRequest.create(language="cn", translate_to=["en"], output_level=1)
    async with llm_emulator.client() as client:
        session = await record(wav, request, client=client, speed=math.inf, out_dir=tmp_path, poll_interval_s=0.2)
    ends = [e for e in session.events() if isinstance(e, ev.SentenceEnd)]
    translated = _by_target(session.events())["en"]
    assert ends and [t.source_message_id for t in translated] == [e.message_id for e in ends]
    for t in translated:
        text = t.items[0].text
        assert text and not _cjk(text) and sum(c.isascii() and c.isalpha() for c in text) >= 5, text
    assert list(session.translations()["en"]) == [t.items[0].text for t in translated]


@requires("espeak-ng")
@requires("sox")
async def test_partial_translations_cite_interim_results_and_never_follow_their_final(llm_emulator, tmp_path):
    """Translation.OutputLevel 2: partials (if the worker had room) come before their sentence's final."""
    wav = _speech(tmp_path, "en-us", ENGLISH)
    request = RealtimeTaskRequest.create(language="en", translate_to=["cn"], output_level=2,
                                         translation=Translation(target_languages=("cn",), output_level=2))
    async with llm_emulator.client() as client:
        session = await record(wav, request, client=client, speed=1.0, out_dir=tmp_path, poll_interval_s=0.2)
    events = session.events()
    changed = {e.message_id: e for e in events if isinstance(e, ev.TranscriptionResultChanged)}
    finals = _by_target(events)["cn"]
    partials = [e for e in events if isinstance(e, ev.ResultTranslated) and e.items[0].partial]
    assert changed and len(finals) == len([e for e in events if isinstance(e, ev.SentenceEnd)])
    for p in partials:
        item = p.items[0]
        assert p.source_message_id in changed and item.index == changed[p.source_message_id].index
        assert item.begin_time_ms is None and item.end_time_ms is None
        final = next(f for f in finals if f.items[0].index == item.index)
        assert events.index(p) < events.index(final)
    assert len(partials) <= len(changed)  # at most one per interim; the rest were skipped (worker busy)


@requires("espeak-ng")
@requires("sox")
async def test_multilingual_sentences_are_translated_from_their_detected_language(llm_emulator, tmp_path):
    """English speech in a multilingual task: source_lang en, en passes through unchanged, cn is generated."""
    wav = _speech(tmp_path, "en-us", ENGLISH[:1])
    request = RealtimeTaskRequest.create(language="multilingual", language_hints=["en", "cn"],
                                         translate_to=["en", "cn"], output_level=1)
    async with llm_emulator.client() as client:
        session = await record(wav, request, client=client, speed=math.inf, out_dir=tmp_path, poll_interval_s=0.2)
    ends = [e for e in session.events() if isinstance(e, ev.SentenceEnd)]
    by_target = _by_target(session.events())
    assert len(ends) == 1 and {t: len(v) for t, v in by_target.items()} == {"en": 1, "cn": 1}
    assert by_target["en"][0].source_lang == by_target["cn"][0].source_lang == "en"
    assert by_target["en"][0].items[0].text == ends[0].result.strip()
    assert _cjk(by_target["cn"][0].items[0].text)


async def test_a_pair_the_model_does_not_serve_is_refused_naming_the_served_ones(llm_emulator):
    async with llm_emulator.client() as client:
        with pytest.raises(ServiceError) as caught:
            await client.create_realtime_task(RealtimeTaskRequest.create(language="yue", translate_to=["ru"]))
    assert caught.value.code == "Emulator.UnsupportedTranslation"
    assert "cannot translate yue -> ru" in caught.value.message and "Supported from yue: cn, en." in caught.value.message


async def test_live_translation_batches_finals_in_order_and_drops_partials_their_final_overtook():
    """LiveTranslation on the real worker and model, driven event by event (counts, not times)."""
    from tingwu_nb.emulator.analysis.service import AnalysisService
    from tingwu_nb.emulator.analysis.translate import Translator
    from tingwu_nb.emulator.realtime_translation import LiveTranslation

    service = AnalysisService("llm")
    sent: list[ev.ResultTranslated] = []
    failures: list[BaseException] = []

    async def send(events):
        sent.extend(events)

    async def on_error(exc):
        failures.append(exc)

    translator = Translator(source="en", targets=["cn"], text_engine=service.engine, speech_engine=None,
                            sample_rate=16000)
    live = LiveTranslation(translator, service.worker, send, on_error=on_error, partials=True)
    texts = ["We will finish the design review", "We will finish the design review before Friday.",
             "Please send the test report tomorrow.", "Thank you.", "Goodbye."]

    def changed(index: int, text: str) -> ev.TranscriptionResultChanged:
        return ev.TranscriptionResultChanged(index=index, time_ms=1000, result=text, message_id=f"c{index}{len(text)}")

    def final(index: int, text: str) -> tuple[ev.SentenceEnd, dict]:
        end = ev.SentenceEnd(index=index, time_ms=1000 * index + 900, result=text, message_id=f"e{index}")
        return end, {"text": text, "start_ms": 1000 * index, "end_ms": 1000 * index + 900}

    async def settled(count: int) -> None:
        for _ in range(2000):  # the partial's task runs once the worker is done; bounded by iterations
            if live.sent_partials + live.superseded >= count:
                return
            await service.worker.run(int)  # FIFO: every earlier job has finished
            await asyncio.sleep(0)
    try:
        first = changed(0, texts[0])
        live.interim(first)  # worker idle: translated as a partial
        await settled(1)
        assert live.sent_partials == 1 and sent[0].source_message_id == first.message_id
        assert sent[0].items[0].partial and sent[0].items[0].index == 0 and _cjk(sent[0].items[0].text)

        live.interim(changed(0, texts[1]))  # submitted (idle) ...
        live.final(*final(0, texts[1]), None)  # ... but its sentence ends first: the partial is dropped
        live.interim(changed(1, "Please send"))  # a final is queued: skipped
        await live.drain()
        await settled(2)
        assert (live.sent_partials, live.superseded, live.skipped) == (1, 1, 1)
        assert [e.source_message_id for e in sent[1:]] == ["e0"] and not sent[1].items[0].partial

        before = service.worker.completed
        sentences = [final(i, t) for i, t in enumerate(texts[2:], start=1)]
        for end, sentence in sentences:
            live.final(end, sentence, None)
        await live.drain()
        assert service.worker.completed - before == 1  # three finals queued together: one engine job
        assert [e.source_message_id for e in sent[2:]] == ["e1", "e2", "e3"]
        assert all(s["translations"]["cn"] == e.items[0].text for (_, s), e in zip(sentences, sent[2:]))
        assert not failures and live.finals == 4
    finally:
        await live.aclose()
        service.close()
