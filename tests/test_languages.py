"""Every language of the contract completes through the emulator, in its script, with bounded work.

espeak-ng clips are generated in the test (Mandarin with the ``cmn-latn-pinyin`` voice: Debian's
1.51 ``cmn`` voice reads tone digits in English). espeak's CJK speech is poor, so CJK checks prove
real computation and the right script, not accuracy. Decode work is asserted on counts the
engine keeps (passes, tokens, decoded audio), never on wall time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import requires, wer, write_wav
from tingwu_nb.client.pacing import MAX_SPEED
from tingwu_nb.contract import events as ev
from tingwu_nb.contract.params import RealtimeTaskRequest
from tingwu_nb.emulator.engine.decoding import (
    INTERIM,
    DecodeOptions,
    choose_language,
    normalise,
    token_budget,
)
from tingwu_nb.emulator.engine.engine import DEFAULT_CANDIDATES, SpeechEngine
from tingwu_nb.emulator.engine.recognizer import Final, SpeechStart, StreamingRecognizer
from tingwu_nb.emulator.engine.textnorm import find_loop, is_blank, keep_scripts, scripts_in, to_simplified
from tingwu_nb.samples import speak, spoken_clip
from tingwu_nb.session.recording import record

ZH = ("cmn-latn-pinyin", "我们今天开会讨论这个项目的进度。请大家准备好发言。")
EN = ("en-us", "Please send the report before Friday.")
ZH_SHORT = ("cmn-latn-pinyin", "我们今天开会讨论这个项目的进度。")  # Whisper's LID: p(en) = 14 x p(zh)
#: language -> (espeak sentences, scripts that must appear, scripts allowed, LanguageHints)
MATRIX = {
    "cn": ([ZH], {"han"}, {"han", "latin"}, None),
    "yue": ([("yue", "我哋今日开会讨论项目嘅进度。请大家准备好发言。")], {"han"}, {"han", "latin"}, None),
    "ja": ([("ja", "みなさん、おはようございます。きょうは かいぎを はじめましょう。")], {"kana"},
           {"kana", "han", "latin"}, None),
    "ko": ([("ko", "오늘 회의를 시작하겠습니다. 프로젝트 진행 상황을 이야기합시다.")], {"hangul"},
           {"hangul", "latin"}, None),
    "en": ([("en-us", "Good morning everyone. Let's start the meeting and review the project schedule.")],
           {"latin"}, {"latin"}, None),
    "fspk": ([ZH_SHORT, EN], {"han", "latin"}, {"han", "latin"}, None),
    "multilingual": ([ZH_SHORT, EN], {"han", "latin"}, {"han", "latin"}, ["cn", "en"]),
}


def clip(sentences, folder: Path) -> tuple[Path, float]:
    """The sentences one after the other with 1.2 s of silence around each; (WAV path, seconds)."""
    pcm = spoken_clip(sentences)
    return write_wav(folder / "clip.wav", pcm, 16000), len(pcm) / 16000


@requires("espeak-ng")
@pytest.mark.network
@pytest.mark.slow
@pytest.mark.parametrize("language", list(MATRIX))
async def test_language_completes_in_its_script_with_bounded_work(language, emulator, engine, tmp_path):
    """Streamed at MAX_SPEED with interim results: COMPLETED, non-blank sentences and words in
    the language's scripts (Chinese Simplified), one decoder pass per decode, tokens in budget."""
    sentences, required, allowed, hints = MATRIX[language]
    path, seconds = clip(sentences, tmp_path)
    request = RealtimeTaskRequest.create(language=language, language_hints=hints or ())
    before = engine.stats
    async with emulator.client() as client:
        session = await record(path, request, client=client, speed=MAX_SPEED, out_dir=tmp_path / "s",
                               poll_interval_s=0.2)
    work = engine.stats - before
    assert session.status == "COMPLETED"
    ends = [e for e in session.events() if isinstance(e, ev.SentenceEnd)]
    assert ends, f"{language}: no sentence"
    texts = [e.result for e in ends] + list(session.sentences()["text"])
    words = [w.text for e in ends for w in e.words] + list(session.words()["text"])
    assert not any(is_blank(t) for t in texts + words), (texts, words)
    found = set().union(*map(scripts_in, texts))
    assert required <= found <= allowed, f"{language}: scripts {found} in {texts}"
    if "han" in found and language != "ja":
        assert all(to_simplified(t) == t for t in texts), texts
    if language == "en":
        assert wer(sentences[0][1], " ".join(e.result for e in ends)) <= 0.3
    # Bounded work: one greedy pass per decode (no fallback), tokens within the audio budget,
    # and the re-decoded audio (interims + finals) a small multiple of the stream audio.
    assert work.decodes >= len(ends) and work.passes == work.decodes and work.retries == 0
    assert work.tokens <= INTERIM.tokens_per_second * work.audio_s + INTERIM.base_tokens * work.decodes
    assert work.audio_s <= 6 * seconds, work


@requires("espeak-ng")
@pytest.mark.slow
def test_pathological_short_prefix_is_one_bounded_pass(engine):
    """The first 1.3 s of a Cantonese sentence (the case that looped and fell back for 27 s):
    one pass, tokens within budget, and whatever it says is not a loop."""
    pcm = speak(*reversed(MATRIX["yue"][0][0]))
    for language in ("yue", "ko", "cn"):
        before = engine.stats
        rec = engine.recognize(pcm[: int(1.3 * 16000)], language=language, interim=True)
        work = engine.stats - before
        assert work.passes == 1 and work.tokens <= token_budget(1.3)
        assert rec.tokens == work.tokens and rec.passes == 1
        assert not is_blank(rec.text) or rec.words == ()


@requires("espeak-ng")
@pytest.mark.slow
def test_noise_sentence_emits_no_final_and_its_index_is_reused(engine):
    """A loud noise burst opens a sentence (energy VAD) that decodes to nothing: no Final, and
    the speech that follows is sentence 0 again."""
    rng = np.random.default_rng(0)
    noise = np.clip(rng.normal(0, 3000, 16000), -32768, 32767).astype(np.int16)
    gap = np.zeros(16000, dtype=np.int16)
    speech = speak(*reversed(ZH))
    rec = StreamingRecognizer(engine, language="cn", vad="energy")
    events = []
    for part in (gap, noise, gap, speech, gap):
        for i in range(0, len(part), 1600):
            events += rec.feed(part[i:i + 1600])
    events += rec.finish()
    starts = [e for e in events if isinstance(e, SpeechStart)]
    finals = [e for e in events if isinstance(e, Final)]
    assert len(starts) == 2 and [s.index for s in starts] == [0, 0]
    assert len(finals) == 1 and finals[0].index == 0 and finals[0].text
    assert finals[0].start_ms >= 2500  # the speech (from 3.0 s, minus the 300 ms pad), not the noise


def test_candidate_languages_follow_language_and_hints():
    """cn/yue decode as zh, fspk among zh/en, multilingual among its hints or the Tingwu set."""
    engine = SpeechEngine()
    assert engine.candidates("cn") == ("zh",) and engine.candidates("yue") == ("zh",)
    assert engine.candidates("fspk") == ("zh", "en")
    assert engine.candidates("multilingual", ["cn", "en", "yue"]) == ("zh", "en")
    assert engine.candidates("multilingual", ["ko"]) == ("ko",)
    assert engine.candidates("multilingual", None) == DEFAULT_CANDIDATES
    assert engine.candidates("ja", ["en"]) == ("ja",)  # hints only matter for multilingual


def test_choose_language_never_leaves_the_candidates_and_discounts_english():
    """espeak Mandarin scores Thai first, English second; zh wins among zh/en unless English
    dominates by 50x (as it does on real English)."""
    probs = [("<|th|>", 0.9), ("<|en|>", 0.4), ("<|zh|>", 0.03)]
    assert choose_language(probs, ["zh", "en"]) == ("zh", 0.03)
    assert choose_language(probs, ["en", "ko"]) == ("en", 0.4)  # no competitor scored
    assert choose_language(probs, ["ko"]) == ("ko", 0.0)
    assert choose_language([("<|en|>", 0.9), ("<|zh|>", 0.001)], ["zh", "en"]) == ("en", 0.9)


def test_find_loop_cuts_repeated_units_and_keeps_normal_text():
    assert find_loop([5, 6, 7, 7, 7, 7, 7, 7, 7, 7]) == 3  # one token x8 -> keep one
    assert find_loop([1, 2, 3, 1, 2, 3, 1, 2, 3, 9]) == 3  # a 3-token unit x3 -> keep one
    assert find_loop([9, 1, 2, 1, 2, 8]) is None  # twice is speech ("no, no")
    assert find_loop([4, 4, 4, 4, 4]) is None  # a single token x5 ("哈哈哈哈哈") survives
    assert find_loop([]) is None and find_loop([3]) is None


def test_scripts_and_normalisation():
    """Foreign scripts are removed, Chinese is Simplified, blank text becomes empty."""
    assert scripts_in("我們ไทยabc한カナ。1") == {"han", "other", "latin", "hangul", "kana"}
    assert keep_scripts("我们 ไทย abc", "zh") == "我们 abc"
    assert to_simplified("我們個發這會開") == "我们个发这会开"
    assert normalise("我們開會", "zh") == "我们开会"
    assert normalise("気持ち", "ja") == "気持ち"  # Japanese kanji are never "simplified"
    assert normalise(" ，。", "zh") == "" and normalise("สวัสดี", "zh") == ""
    assert normalise("or we'll see you", "ko") == ""  # Whisper answering a Korean decode in English
    assert normalise("AI", "zh", word=True) == "AI" and normalise("用AI开会", "zh") == "用AI开会"
    assert is_blank(" 、") and not is_blank("1")


def test_token_budget_grows_with_audio_and_is_capped():
    opts = DecodeOptions(tokens_per_second=12, base_tokens=10)
    assert token_budget(0, opts) == 10 and token_budget(1.3, opts) == 26
    assert token_budget(10, opts) == 130 and token_budget(100, opts) == 440
