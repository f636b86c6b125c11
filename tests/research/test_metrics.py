"""Normalisation and scoring against hand-computed cases, English and CJK, and speaker scores."""

from __future__ import annotations

import pytest

from tingwu_nb.research.metrics import cer, metric_for, normalize_text, score, speaker_scores, wer
from tingwu_nb.research.normalize import normalize, tokens


def test_english_substitution_and_insertion_with_alignment():
    s = score("The cat sat.", "the cat sit on", "en")
    assert (s.metric, s.substitutions, s.deletions, s.insertions, s.hits, s.reference_length) == ("wer", 1, 0, 1, 2, 3)
    assert s.error_rate == pytest.approx(2 / 3)
    # two optimal alignments exist (sat->sit + on inserted, or sit inserted + sat->on): check consistency
    assert [r for _, r, _ in s.alignment if r is not None] == ["the", "cat", "sat"]
    assert [h for _, _, h in s.alignment if h is not None] == ["the", "cat", "sit", "on"]
    assert sorted(op for op, _, _ in s.alignment) == ["equal", "equal", "insert", "substitute"]
    unique = score("the cat sat", "the bat sat down", "en").alignment
    assert unique == [("equal", "the", "the"), ("substitute", "cat", "bat"), ("equal", "sat", "sat"),
                      ("insert", None, "down")]


def test_english_deletion():
    s = score("good morning everyone", "good everyone", "en")
    assert (s.substitutions, s.deletions, s.insertions, s.hits) == (0, 1, 0, 2)
    assert ("delete", "morning", None) in s.alignment


def test_chinese_character_error_rate():
    s = score("今天天气很好", "今天天汽很好吗", "cn")
    assert (s.metric, s.substitutions, s.deletions, s.insertions, s.hits, s.reference_length) == ("cer", 1, 0, 1, 5, 6)
    assert s.error_rate == pytest.approx(2 / 6)
    assert ("substitute", "气", "汽") in s.alignment and ("insert", None, "吗") in s.alignment


def test_cjk_punctuation_spaces_and_width_are_ignored():
    assert score("今天，天气 很好！", "今天天气很好", "cn").error_rate == 0
    assert score("ＨＥＬＬＯ，ｗｏｒｌｄ１２３！", "hello world123", "en").error_rate == 0
    assert normalize("「東京」は　晴れ。", "ja") == "東京は晴れ"


def test_traditional_and_simplified_compare_equal_for_chinese():
    pytest.importorskip("opencc")
    assert normalize("今天天氣很好，說話", "cn") == "今天天气很好说话"
    assert score("我們開會", "我们开会", "yue").error_rate == 0
    assert normalize("天氣", "ja") == "天氣"  # Japanese kanji are left alone


def test_mixed_script_is_one_token_per_latin_word_and_cjk_character():
    assert tokens(normalize("我们用Kubernetes部署", "fspk")) == ["我", "们", "用", "kubernetes", "部", "署"]
    s = score("我们用Kubernetes部署", "我们用 kubernetes 部署", "fspk")
    assert (s.metric, s.error_rate, s.reference_length) == ("mer", 0.0, 6)
    wrong = score("我们用Kubernetes部署", "我们用cooper netis部署", "multilingual")
    assert (wrong.substitutions, wrong.insertions, wrong.reference_length) == (1, 1, 6)


def test_numbers_are_kept_as_written_and_formatting_unified():
    assert normalize("It costs 1,000 dollars or 3.5%.", "en") == "it costs 1000 dollars or 3.5"
    assert score("I have 25 cats", "I have twenty five cats", "en").error_rate == pytest.approx(2 / 4)
    assert normalize("Don't stop", "en") == "don't stop"


def test_metric_per_language_and_empty_texts():
    assert [metric_for(x) for x in ("en", "cn", "yue", "ja", "ko", "fspk", "multilingual")] == \
        ["wer", "cer", "cer", "cer", "cer", "mer", "mer"]
    assert score("", "", "en").error_rate == 0.0
    assert score("", "extra words", "en").insertions == 2
    gone = score("a b c", "", "en")
    assert (gone.deletions, gone.error_rate) == (3, 1.0)


def test_legacy_functions_unchanged():
    assert normalize_text("Good morning, everyone.") == "good morning everyone"
    assert wer("good morning everyone", "good morning") == pytest.approx(1 / 3)
    assert cer("今天天气", "今天天汽") == pytest.approx(1 / 4)


REF = [("A", 0.0, 2.0, "hello there friend"), ("B", 2.0, 4.0, "good morning to you"),
       ("A", 4.0, 6.0, "how are you")]


def test_swapped_speaker_labels_cost_nothing():
    hyp = [("spk2", 0.0, 2.0, "hello there friend"), ("spk1", 2.0, 4.0, "good morning to you"),
           ("spk2", 4.0, 6.0, "how are you")]
    out = speaker_scores(REF, hyp, "en")
    assert out.mapping == {"spk2": "A", "spk1": "B"}
    assert out.attribution_error == 0.0 and out.coverage == 1.0
    assert out.per_speaker["error_rate"].tolist() == [0.0, 0.0]


def test_one_mislabelled_segment_gives_its_share_and_per_speaker_errors():
    hyp = [("x", 0.0, 2.0, "hello there friend"), ("y", 2.0, 4.0, "good morning to you"),
           ("y", 4.0, 6.0, "how are you")]  # the last A segment attributed to B's label
    out = speaker_scores(REF, hyp, "en")
    # 10 reference words; mapping keeps x->A, y->B (4+3 tokens agree vs 3); the last 3 words are wrong
    assert out.mapping == {"x": "A", "y": "B"}
    assert out.attribution_error == pytest.approx(3 / 10)
    a = out.per_speaker.set_index("speaker").loc["A"]
    assert (a["reference_length"], a["error_rate"]) == (6, 0.0)  # text follows time, not labels


def test_per_speaker_error_rate_counts_hypothesis_text_by_time():
    hyp = [("s1", 0.0, 2.0, "hello there"), ("s2", 2.1, 3.9, "good morning to you"), ("s1", 4.0, 6.0, "how are you")]
    per = speaker_scores(REF, hyp, "en").per_speaker.set_index("speaker")
    assert per.loc["A", "deletions"] == 1 and per.loc["A", "error_rate"] == pytest.approx(1 / 6)
    assert per.loc["B", "error_rate"] == 0.0


def test_without_opencc_traditional_is_kept_and_one_warning_says_so(monkeypatch):
    import sys

    from tingwu_nb.research import normalize as mod

    monkeypatch.setitem(sys.modules, "opencc", None)  # import opencc -> ImportError
    monkeypatch.setattr(mod, "_converter", None)
    monkeypatch.setattr(mod, "_warned", False)
    with pytest.warns(RuntimeWarning, match="opencc is not installed"):
        assert normalize("天氣", "cn") == "天氣"
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert normalize("天氣", "yue") == "天氣"  # warned once per process only


def test_cjk_speakers_one_hypothesis_label_for_two_reference_speakers():
    ref = [("A", 0.0, 2.0, "今天开会"), ("B", 2.0, 4.0, "好的")]
    hyp = [("1", 0.0, 2.0, "今天开会。"), ("1", 2.0, 4.0, "好得")]  # no diarization: one label for both
    out = speaker_scores(ref, hyp, "cn")
    # 6 reference characters; "1" maps onto A (4 agree vs 2), so B's 2 characters are misattributed
    assert out.mapping == {"1": "A"} and out.attribution_error == pytest.approx(2 / 6)
    per = out.per_speaker.set_index("speaker")
    assert per.loc["A", "error_rate"] == 0.0 and per.loc["B", "metric"] == "cer"
    assert (per.loc["B", "substitutions"], per.loc["B", "error_rate"]) == (1, 0.5)  # 的 -> 得
