"""Live translation: the pairs the emulator serves, refusals naming them, and the speech -> en route over loopback.

The language-model route has its own module (test_emulator_translation_llm.py, skipped when
the model has not been prepared). Here the emulator runs with ``analysis_engine="extractive"``,
so translation is Whisper's speech -> English, computed on the analysis worker.
"""

from __future__ import annotations

import math

import pytest

from tests.conftest import espeak_wav, requires
from tingwu_nb.contract import events as ev
from tingwu_nb.contract.params import RealtimeTaskRequest, Translation
from tingwu_nb.emulator.analysis.translate import (
    llm_translation_targets,
    sentence_language,
    supported_targets,
    unsupported_directions,
)
from tingwu_nb.emulator.contract import ContractChoices, EmulatorConfig
from tingwu_nb.emulator.validate import Validator
from tingwu_nb.errors import ServiceError
from tingwu_nb.results.translation import translations_frame
from tingwu_nb.session.recording import record

# tests/test_languages.py: Debian's espeak reads Hanzi with the cmn-latn-pinyin voice
CHINESE = ("我们今天开会讨论这个项目的进度。", "请大家准备好发言。")


# --- the table and the validator (no model needed: the decision loads nothing) ----------------

def test_llm_table_serves_pairs_with_chinese_or_english_on_one_side():
    assert llm_translation_targets("en") == {"cn", "ja", "ko", "de", "fr", "ru"}
    assert llm_translation_targets("cn") == {"en", "ja", "ko", "de", "fr", "ru"}
    for source in ("yue", "ja", "ko", "de", "fr", "ru"):
        assert llm_translation_targets(source) == {"cn", "en"}
    assert llm_translation_targets("multilingual") == frozenset()
    # without the model only Whisper's speech -> en remains
    assert supported_targets("ja", llm=False) == {"en"} and supported_targets("en", llm=False) == frozenset()


def test_multilingual_targets_must_be_served_from_every_language_it_may_detect():
    # a sentence already in the target passes unchanged, so en and cn work from any mix with the model
    assert supported_targets("multilingual", llm=True) == {"cn", "en"}
    assert supported_targets("multilingual", llm=True, hints=["en", "cn"]) == {"cn", "en", "ja", "ko", "de", "fr", "ru"}
    assert supported_targets("multilingual", llm=True, hints=["ja", "ko"]) == {"cn", "en"}
    assert supported_targets("fspk", llm=False) == {"en"}
    assert unsupported_directions("multilingual", ["ja", "en"], llm=True, hints=["en", "de"]) == ["ja"]


@pytest.mark.parametrize("text, candidates, expected", [
    ("We will finish the review.", ("cn", "en", "ja", "ko"), "en"),
    ("我们今天讨论设计评审。", ("cn", "en", "ja", "ko"), "cn"),
    ("会議をはじめましょう。", ("cn", "en", "ja", "ko"), "ja"),
    ("회의를 시작합시다.", ("cn", "en", "ja", "ko"), "ko"),
    ("Wir sind nicht fertig und das ist gut.", ("en", "de", "fr"), "de"),
    ("Nous avons fini la revue et le test.", ("en", "de", "fr"), "fr"),
    ("Мы закончили обзор.", ("en", "ru"), "ru"),
    ("我们今天讨论。", ("yue", "en"), "yue"),
], ids=["en", "cn", "ja", "ko", "de", "fr", "ru", "yue"])
def test_a_multilingual_sentence_gets_its_language_from_its_script(text, candidates, expected):
    assert sentence_language(text, candidates) == expected


def _body(config: EmulatorConfig, source: str, targets: list[str], hints: list[str] | None = None) -> dict:
    inp = {"SourceLanguage": source, "Format": "pcm", "SampleRate": 16000, "TaskKey": "t"}
    if hints:
        inp["LanguageHints"] = hints
    return {"AppKey": config.app_key, "Input": inp,
            "Parameters": {"TranslationEnabled": True, "Translation": {"TargetLanguages": targets}}}


@pytest.mark.parametrize("kind, source, targets, hints, supported", [
    ("llm", "yue", ["cn", "ru"], None, "Supported from yue: cn, en."),
    ("llm", "ja", ["de"], None, "Supported from ja: cn, en."),
    ("llm", "en", ["en"], None, "Supported from en: cn, ja, ko, de, fr, ru."),
    ("llm", "multilingual", ["ja"], ["ko", "en"], "Supported from multilingual with LanguageHints ['ko', 'en']: cn, en, ko."),
    ("extractive", "en", ["cn"], None, "Supported from en: none."),
    ("extractive", "cn", ["en", "ja"], None, "Supported from cn: en."),
], ids=["llm-yue-ru", "llm-ja-de", "llm-en-en", "llm-multilingual-ja", "extractive-en-cn", "extractive-cn-ja"])
def test_an_unserved_pair_is_refused_naming_the_supported_ones(kind, source, targets, hints, supported):
    config = EmulatorConfig.generate(analysis_engine=kind)  # "llm" is decided from the table: nothing loads
    with pytest.raises(ServiceError) as caught:
        Validator(config).start(_body(config, source, targets, hints))
    assert caught.value.code == "Emulator.UnsupportedTranslation"
    assert supported in caught.value.message
    bad = unsupported_directions(source, targets, llm=kind == "llm", hints=hints)
    assert f"cannot translate {source} -> {', '.join(bad)}:" in caught.value.message


@pytest.mark.parametrize("kind, source, targets, hints", [
    ("llm", "en", ["cn", "ja", "ko", "de", "fr", "ru"], None),
    ("llm", "ko", ["cn", "en"], None),
    ("llm", "multilingual", ["en", "ja"], ["en", "cn"]),
    ("extractive", "cn", ["en"], None),
    ("extractive", "multilingual", ["en"], None),
])
def test_served_pairs_are_accepted(kind, source, targets, hints):
    config = EmulatorConfig.generate(analysis_engine=kind)
    Validator(config).start(_body(config, source, targets, hints))


# --- speech -> en over loopback (extractive engine: Whisper translate on the analysis worker) ----

@pytest.fixture(scope="module")
def speech_emulator(engine):
    from tingwu_nb.emulator.app import Emulator

    config = EmulatorConfig.generate(analysis_engine="extractive",  # per-language: the file names its language
                                     choices=ContractChoices(translation_layout="per-language"))
    with Emulator(config, engine=engine) as emu:
        yield emu


@requires("espeak-ng")
@requires("sox")
@pytest.mark.network
@pytest.mark.slow
async def test_chinese_speech_is_translated_into_english_in_order_on_the_analysis_worker(speech_emulator, tmp_path):
    wav = espeak_wav(tmp_path, "cmn-latn-pinyin", *CHINESE, name="cn")  # two sentences, a clear pause
    worker = speech_emulator.app.state.analysis.worker
    before = worker.completed
    request = RealtimeTaskRequest.create(language="cn", translate_to=["en"], output_level=2,
                                         translation=Translation(target_languages=("en",), output_level=2))
    async with speech_emulator.client() as client:
        session = await record(wav, request, client=client, speed=math.inf, out_dir=tmp_path, poll_interval_s=0.2)
    events = session.events()
    ends = [e for e in events if isinstance(e, ev.SentenceEnd)]
    translated = [e for e in events if isinstance(e, ev.ResultTranslated)]
    assert len(ends) >= 2 and len(translated) == len(ends)  # speech route: no partials, one event per sentence
    assert [t.source_message_id for t in translated] == [e.message_id for e in ends]  # in sentence order
    assert [t.items[0].index for t in translated] == [e.index for e in ends]
    for t in translated:
        assert (t.source_lang, t.target_lang, t.items[0].partial) == ("cn", "en", False)
        assert any(c.isascii() and c.isalpha() for c in t.items[0].text)
    assert events.index(translated[-1]) < [type(e) for e in events].index(ev.TranscriptionCompleted)
    assert worker.completed - before >= 1  # computed on the analysis worker
    frame = translations_frame(session.result("Translation"), ["en"], sentences=session.sentences())
    assert list(frame.columns) == ["sentence_id", "start_s", "end_s", "en"]
    assert list(frame["en"]) == [t.items[0].text for t in translated]
    assert list(session.result("Translation")["Translation"]) == ["en"]  # per-language layout


@pytest.mark.network
async def test_unserved_pair_is_refused_over_rest_and_nothing_is_created(speech_emulator):
    before = len(speech_emulator.store)
    async with speech_emulator.client() as client:
        with pytest.raises(ServiceError) as caught:
            await client.create_realtime_task(RealtimeTaskRequest.create(language="en", translate_to=["cn"]))
    assert caught.value.code == "Emulator.UnsupportedTranslation"
    assert "Supported from en: none" in caught.value.message and "English only" in caught.value.message
    assert len(speech_emulator.store) == before
