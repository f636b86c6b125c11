"""The extractive analysis engine on an English and a Chinese meeting: grounded, deterministic,
and finding what a reader finds (actions, Q&A pairs, present/absent inspection dimensions)."""

from __future__ import annotations

import re

import pytest

from tests.emulator.analysis.analysis_fixtures import (
    CN_ACTIONS,
    CN_QA,
    EN_ACTIONS,
    EN_QA,
    MEETING_CN,
    MEETING_EN,
    synthetic_meeting,
    transcript,
)
from tingwu_nb.emulator.analysis import textdoc
from tingwu_nb.emulator.analysis.base import ContentItem, EngineUnavailable, Sentence, Transcript
from tingwu_nb.emulator.analysis.extractive import ExtractiveEngine
from tingwu_nb.emulator.analysis.grounding import (
    keyword_occurs,
    validate_actions,
    validate_chapters,
    validate_classification,
    validate_extractions,
    validate_identities,
    validate_judgements,
    validate_key_information,
    validate_mindmap,
    validate_polish,
    validate_qa,
)
from tingwu_nb.samples import sample_meeting_truth

ENGINE = ExtractiveEngine()
INSPECT = [
    ContentItem("Budget discussion", "The team discusses the marketing budget and what it costs"),
    ContentItem(
        "Refund offer", "The agent apologises and offers the customer a refund for the faulty device"
    ),
]
PEOPLE = [
    ContentItem(
        "Project manager", "leads the meeting, moves through the topics and summarises the decisions"
    ),
    ContentItem("Finance", "reports the budget numbers, dollars spent and costs"),
    ContentItem("Engineer", "runs the test servers, builds the product and hires backend engineers"),
]
EXTRACT = [
    ContentItem("Launch date", "when the product launch is planned"),
    ContentItem("Office lease", "the rent of the new office lease contract"),
]


def everything(t: Transcript, engine: ExtractiveEngine = ENGINE) -> dict:
    paragraphs = [
        [s.id for s in t.sentences if s.paragraph_id == p]
        for p in dict.fromkeys(s.paragraph_id for s in t.sentences)
    ]
    return {
        "key": engine.key_information(t),
        "actions": engine.actions(t),
        "class": engine.classification(t),
        "chapters": {g: engine.chapters(t, g) for g in ("Coarse", "General", "Meticulous")},
        "paragraph": engine.paragraph_summary(t),
        "speakers": engine.conversational_summary(t),
        "qa": engine.questions_answering(t),
        "mindmap": engine.mindmap(t),
        "polish": engine.polish(t, paragraphs),
        "paragraphs": paragraphs,
        "inspection": engine.inspection(t, "meeting", "check the meeting", INSPECT),
        "identities": engine.identities(t, "meeting", PEOPLE),
        "extraction": engine.extraction(t, "meeting", EXTRACT),
    }


@pytest.mark.parametrize("t", [MEETING_EN, MEETING_CN], ids=["en", "cn"])
def test_every_output_is_grounded(t):
    out = everything(t)
    problems = validate_key_information(out["key"], t) + validate_actions(out["actions"], t)
    problems += validate_classification(out["class"]) + validate_qa(out["qa"], t)
    for chapters in out["chapters"].values():
        problems += validate_chapters(chapters, t)
    problems += validate_mindmap(out["mindmap"], t) + validate_polish(out["polish"], out["paragraphs"], t)
    problems += validate_judgements(out["inspection"], t, INSPECT)
    problems += validate_identities(out["identities"], t, PEOPLE) + validate_extractions(
        out["extraction"], t, EXTRACT
    )
    assert problems == []
    n = len(t.sentences)
    assert 5 <= len(out["key"].keywords) <= 20
    assert max(1, round(0.1 * n)) <= len(out["key"].key_sentence_ids) <= round(0.2 * n)
    title, summary = out["paragraph"]
    assert title and summary and len(summary) < len(t.text) / 2
    assert set(out["speakers"]) == set(t.speakers)
    assert all(s and len(s) < len(t.text) / 3 for s in out["speakers"].values())


@pytest.mark.parametrize("t", [MEETING_EN, MEETING_CN], ids=["en", "cn"])
def test_same_input_same_output_even_recomputed(t):
    first = everything(t)
    textdoc.analyse.cache_clear()
    textdoc.chaptering.cache_clear()
    assert everything(t, ExtractiveEngine()) == first


def test_keywords_are_phrases_from_the_meeting_without_near_duplicates():
    words = ENGINE.key_information(MEETING_EN, max_keywords=10).keywords
    assert len(words) == 10 and all(keyword_occurs(w, MEETING_EN) for w in words)
    assert {"marketing budget", "video ads", "test servers"} <= {w.casefold() for w in words}
    folded = [w.casefold() for w in words]
    assert not any(a != b and re.search(rf"\b{re.escape(a)}\b", b) for a in folded for b in folded)
    assert ENGINE.key_information(MEETING_EN, max_keywords=0).keywords == ()
    assert {"预算", "测试环境", "服务器"} <= set(ENGINE.key_information(MEETING_CN).keywords)


def test_actions_are_the_commitments_and_requests():
    assert ENGINE.actions(MEETING_EN, limit=20) == list(EN_ACTIONS)
    six = ENGINE.actions(MEETING_EN)
    assert len(six) == 6 and set(six) <= set(EN_ACTIONS) and six == sorted(six)
    assert ENGINE.actions(MEETING_CN) == list(CN_ACTIONS)


@pytest.mark.parametrize(("t", "expected"), [(MEETING_EN, EN_QA), (MEETING_CN, CN_QA)], ids=["en", "cn"])
def test_questions_are_paired_with_their_answers(t, expected):
    pairs = ENGINE.questions_answering(t)
    found = {(q, a) for p in pairs for q in p.question_ids for a in p.answer_ids}
    assert set(expected) <= found
    by_id = t.by_id()
    for p in pairs:
        assert p.question == " ".join(by_id[i].text for i in p.question_ids) or t.language == "cn"


def test_classification_follows_the_shape_of_the_conversation():
    assert max(ENGINE.classification(MEETING_EN).items(), key=lambda kv: kv[1])[0] == "Meeting"
    lecture = transcript(
        [("1", f"Today we look at chapter {i} of the course on thermodynamics.") for i in range(20)],
        "en",
        15.0,
    )
    assert max(ENGINE.classification(lecture).items(), key=lambda kv: kv[1])[0] == "Lecture"
    rows = []
    for i in range(8):
        rows += [
            ("1", f"What did you learn in your job number {i}?"),
            ("2", f"In job {i} I learned to lead a team."),
        ]
    interview = ENGINE.classification(transcript(rows, "en", 15.0))
    assert max(interview.items(), key=lambda kv: kv[1])[0] == "Interview"
    assert validate_classification(interview) == []


def test_chapter_count_follows_granularity_on_an_hour():
    hour = synthetic_meeting(60)
    counts = {g: len(ENGINE.chapters(hour, g)) for g in ("Coarse", "General", "Meticulous")}
    assert 3 <= counts["Coarse"] <= 5 and 5 <= counts["General"] <= 8 and 11 <= counts["Meticulous"] <= 16
    for g in counts:
        assert validate_chapters(ENGINE.chapters(hour, g), hour) == []
    assert 1 <= len(ENGINE.chapters(MEETING_EN)) <= 3 and len(ENGINE.chapters(MEETING_CN)) == 1
    # the topic boundary between the opening chapters falls at a topic change of the generator
    starts = [c.sentence_ids[0] for c in ENGINE.chapters(hour, "Meticulous")]
    per_topic = len(hour.sentences) // 12
    assert sum(1 for s in starts[1:] if (s - 1) % per_topic == 0) >= len(starts) // 2


def test_mindmap_is_title_chapters_keywords():
    root = ENGINE.mindmap(MEETING_EN)
    assert root.title == ENGINE.paragraph_summary(MEETING_EN)[0]
    assert [c.title for c in root.children] == [c.headline for c in ENGINE.chapters(MEETING_EN)]
    leaves = [leaf for c in root.children for leaf in c.children]
    assert leaves and all(leaf.begin_ms is not None and not leaf.children for leaf in leaves)


def test_polish_removes_fillers_and_keeps_every_word():
    t = Transcript(
        (
            Sentence(1, 0, 3000, "um, so we, uh, we need to to finish the the report", "1"),
            Sentence(2, 3000, 5000, "Uh, i mean, i think it is due on friday", "1"),
            Sentence(3, 5000, 6000, "Um.", "2"),
        ),
        "en",
    )
    first, filler_only = ENGINE.polish(t, [[1, 2], [3]])
    assert not re.search(r"\b(um|uh|I mean)\b", first, re.IGNORECASE)
    assert "we need to finish the report" in first and "I" in first.split() and first.endswith(".")
    source = {w.casefold() for s in t.sentences for w in re.findall(r"\w+", s.text)}
    assert {w.casefold() for w in re.findall(r"\w+", first)} <= source  # nothing invented
    assert filler_only == "Um."
    cn = ENGINE.polish(MEETING_CN, [[3, 9]])[0]
    assert "嗯" not in cn and "呃" not in cn and "那个那个" not in cn and "后端接口" in cn


def test_inspection_finds_a_present_dimension_and_fails_an_absent_one():
    budget, refund = ENGINE.inspection(MEETING_EN, "planning meeting", "check the meeting", INSPECT)
    by_id = MEETING_EN.by_id()
    assert budget.passed and budget.score >= 0.5 and budget.evidence_ids
    assert all("budget" in by_id[i].text.casefold() for i in budget.evidence_ids)
    assert f"Sentence {budget.evidence_ids[0]}" in budget.reason or "Sentence" in budget.reason
    assert not refund.passed and refund.score < 0.5 and refund.evidence_ids == ()


def test_identities_by_introduction_and_by_what_is_said():
    ids = {i.speaker_id: i.identity for i in ENGINE.identities(MEETING_EN, "meeting", PEOPLE)}
    assert ids == {"1": "Project manager", "2": "Finance", "3": "Engineer"}
    t = transcript(
        [
            ("1", "Hello, I'm the product owner for the billing service."),
            ("2", "Hi, nice to meet you."),
            ("2", "I am a customer with a question about invoices."),
        ],
        "en",
        15.0,
    )
    asked = [ContentItem("customer", "asks about their bill"), ContentItem("product owner", "")]
    got = ENGINE.identities(t, "call", asked)
    assert [(i.speaker_id, i.identity, i.evidence_ids) for i in got] == [
        ("1", "product owner", (1,)),
        ("2", "customer", (3,)),
    ]
    cn = ENGINE.identities(
        transcript([("1", "大家好，我是产品经理小李。"), ("2", "我负责测试。")], "cn", 4.5),
        "",
        [ContentItem("产品经理", ""), ContentItem("测试工程师", "负责测试")],
    )
    assert [i.identity for i in cn] == ["产品经理", "测试工程师"]


def test_extraction_returns_the_stating_sentence_or_nothing():
    launch, lease = ENGINE.extraction(MEETING_EN, "meeting", EXTRACT)
    assert launch.evidence_ids == (30,) and "fifteenth of October" in launch.value
    assert lease.value == "" and lease.evidence_ids == ()


def test_model_only_features_are_refused():
    with pytest.raises(EngineUnavailable):
        ENGINE.custom_prompt(MEETING_EN, "x", "Summarise {Transcription}", "default")
    with pytest.raises(EngineUnavailable):
        ENGINE.translate(["hello"], "en", "cn")
    assert ENGINE.translation_targets("en") == frozenset()
    assert ENGINE.name == "extractive" and ENGINE.stats.calls == 0


@pytest.mark.parametrize(
    "t",
    [
        Transcript((), "en"),
        Transcript((Sentence(1, 0, 500, "Hi."),), "en"),
        Transcript((Sentence(1, 0, 500, ""), Sentence(2, 500, 900, "嗯")), "cn"),
        Transcript(
            (
                Sentence(1, 0, 900, "안녕하세요 회의를 시작하겠습니다"),
                Sentence(2, 900, 1800, "예산은 얼마입니까?", "2"),
            ),
            "ko",
        ),
        Transcript((Sentence(1, 0, 900, "会議を始めます。予算について話します。"),), "ja"),
    ],
    ids=["empty", "one", "fillers", "ko", "ja"],
)
def test_tiny_transcripts_do_not_crash(t):
    out = everything(t)
    chapters = out["chapters"]["Meticulous"]
    assert len(chapters) == (1 if t.sentences else 0)
    assert validate_chapters(chapters, t) == [] and validate_key_information(out["key"], t) == []
    assert validate_qa(out["qa"], t) == [] and validate_mindmap(out["mindmap"], t) == []
    assert validate_classification(out["class"]) == []


def test_the_sample_meeting_script_is_grounded():
    truth = sample_meeting_truth()
    t = Transcript(
        tuple(
            Sentence(i, int(turn["start_s"] * 1000), int(turn["end_s"] * 1000), turn["text"], turn["speaker"])
            for i, turn in enumerate(truth["turns"], 1)
        ),
        "en",
    )
    key = ENGINE.key_information(t)
    assert validate_key_information(key, t) == [] and "budget" in " ".join(key.keywords).casefold()
    assert (
        validate_chapters(ENGINE.chapters(t), t) == [] and validate_qa(ENGINE.questions_answering(t), t) == []
    )
    by_id = t.by_id()
    assert any("I will send" in by_id[i].text for i in ENGINE.actions(t))


JA = [
    "皆さん、おはようございます。今日は予算について話します。",
    "マーケティング予算は四万ドルです。",
    "動画広告の予算は足りますか？",
    "いいえ、動画広告には一万五千ドルが必要です。",
    "金曜日までに予算案を送ります。",
]
KO = [
    "안녕하세요 오늘은 예산에 대해 이야기하겠습니다.",
    "마케팅 예산은 사만 달러입니다.",
    "동영상 광고 예산이 충분합니까?",
    "아니요, 동영상 광고에는 만오천 달러가 필요합니다.",
    "금요일까지 예산안을 보내겠습니다.",
]


@pytest.mark.parametrize(("rows", "lang"), [(JA, "ja"), (KO, "ko")], ids=["ja", "ko"])
def test_japanese_and_korean_keywords_actions_and_questions(rows, lang):
    t = transcript([(str(i % 2 + 1), text) for i, text in enumerate(rows)], lang, 5.0)
    key = ENGINE.key_information(t)
    assert validate_key_information(key, t) == [] and any("予算" in k or "예산" in k for k in key.keywords)
    assert not any(k.endswith(("니다", "겠")) for k in key.keywords)  # Korean verb forms are not keywords
    assert 5 in ENGINE.actions(t)
    assert [(p.question_ids, p.answer_ids) for p in ENGINE.questions_answering(t)] == [((3,), (4,))]


def test_same_output_whatever_the_hash_seed(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    script = tmp_path / "digest.py"
    script.write_text(
        "import hashlib\n"
        "from tests.emulator.analysis.analysis_fixtures import MEETING_CN, MEETING_EN\n"
        "from tests.emulator.analysis.test_analysis_extractive import everything\n"
        "print(hashlib.sha256(repr([everything(MEETING_EN), everything(MEETING_CN)]).encode()).hexdigest())\n"
    )
    root = Path(__file__).resolve().parents[3]
    digests = {
        subprocess.run(
            [sys.executable, str(script)],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed, "PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        ).stdout
        for seed in ("1", "2")
    }
    assert len(digests) == 1 and len(digests.pop().strip()) == 64
