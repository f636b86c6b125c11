"""Grounding checks (emulator/analysis/grounding.py): each accepts grounded output and names the fault."""

from __future__ import annotations

import pytest

from tingwu_nb.emulator.analysis.base import (
    Chapter,
    ContentItem,
    Extraction,
    Identity,
    Judgement,
    KeyInformation,
    MindNode,
    QAPair,
    Sentence,
    Transcript,
)
from tingwu_nb.emulator.analysis.grounding import (
    GroundingError,
    check_ids,
    keyword_occurs,
    require,
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

EN = Transcript(
    (
        Sentence(1, 0, 2000, "Good morning, let's review the Marketing budget.", "1"),
        Sentence(2, 2100, 4000, "What is the deadline for the report?", "2"),
        Sentence(3, 4100, 6000, "The report is due on Friday.", "1"),
        Sentence(4, 6100, 8000, "I will send the slides tomorrow.", "3"),
    ),
    "en",
)
CN = Transcript(
    (
        Sentence(1, 0, 1000, "本季度预算需要在月底前确认。"),
        Sentence(2, 1000, 2000, "王工 周五前提交招聘需求。"),
    ),
    "cn",
)


def test_keyword_occurs_whole_words_case_insensitive_and_cjk_substrings():
    assert keyword_occurs("marketing BUDGET", EN)
    assert keyword_occurs("Friday", EN)
    assert not keyword_occurs("budg", EN)  # not a whole word
    assert not keyword_occurs("marketing report", EN)  # words exist but not together
    assert not keyword_occurs("", EN)
    assert keyword_occurs("预算", CN) and keyword_occurs("王工周五", CN)
    assert not keyword_occurs("里程碑", CN)


def test_check_ids_names_unknown_repeated_and_unordered_ids():
    assert check_ids([1, 3, 4], EN, ordered=True) == []
    problems = check_ids([3, 9, 3], EN, ordered=True)
    assert any("9" in p for p in problems) and any("repeat" in p for p in problems)
    assert any("order" in p for p in problems)


def test_key_information_and_actions():
    assert validate_key_information(KeyInformation(("budget", "report"), (1, 3)), EN) == []
    bad = validate_key_information(KeyInformation(("budget", "Budget", "salary"), (3, 1)), EN, max_keywords=2)
    assert len(bad) == 4  # too many, repeated, 'salary' absent, ids out of order
    assert validate_actions([4], EN) == []
    assert validate_actions([1, 2, 3, 4], EN, limit=3) == ["4 actions, at most 3 allowed"]


def test_classification_scores_must_be_the_three_scenes_summing_to_one():
    assert validate_classification({"Interview": 0.1, "Lecture": 0.2, "Meeting": 0.7}) == []
    assert validate_classification({"Interview": 0.5, "Lecture": 0.2, "Meeting": 0.7})
    assert validate_classification({"Meeting": 1.0})


def test_chapters_must_tile_the_transcript():
    good = [Chapter((1, 2), "Budget", "…"), Chapter((3, 4), "Report", "…")]
    assert validate_chapters(good, EN) == []
    assert validate_chapters([Chapter((1, 2), "A", ""), Chapter((4,), "B", "")], EN)  # 3 missing
    assert validate_chapters([Chapter((3, 4), "A", ""), Chapter((1, 2), "B", "")], EN)  # out of order
    assert validate_chapters([Chapter((1, 2, 3, 4), " ", "")], EN) == ["chapter 1 has no headline"]
    assert validate_chapters([], EN) and validate_chapters([], Transcript(())) == []


def test_qa_answer_must_follow_question():
    ok = QAPair("What is the deadline?", (2,), "Friday.", (3,))
    assert validate_qa([ok], EN) == []
    assert validate_qa([QAPair("What is the deadline?", (3,), "…", (2,))], EN)
    assert validate_qa([QAPair("Q", (2,), "A", (7,))], EN)


def test_mindmap_depth_and_times():
    leaf = MindNode("Friday", (), 4100)
    assert validate_mindmap(MindNode("Review", (MindNode("Report", (leaf,), 2100),)), EN) == []
    deep = MindNode("1", (MindNode("2", (MindNode("3", (MindNode("4", (MindNode("5"),)),)),)),))
    assert any("deeper" in p for p in validate_mindmap(deep, EN))
    assert validate_mindmap(MindNode("x", (MindNode("late", (), 99_000),)), EN)


def test_polish_one_text_per_paragraph():
    assert validate_polish(["A.", "B."], [[1, 2], [3, 4]], EN) == []
    assert validate_polish(["A."], [[1, 2], [3, 4]], EN)
    assert validate_polish(["", "B."], [[1, 2], [3, 4]], EN)


def test_judgements_identities_extractions():
    items = [ContentItem("Greeting", "greets"), ContentItem("Refund", "offers a refund")]
    good = [Judgement("Greeting", True, 0.8, (1,), "sentence 1"), Judgement("Refund", False, 0.1, (), "none")]
    assert validate_judgements(good, EN, items) == []
    assert validate_judgements(good[:1], EN, items)  # one per item
    assert validate_judgements([good[0], Judgement("Refund", True, 1.5, (), "x")], EN, items)
    people = [ContentItem("Manager", "runs the meeting"), ContentItem("Engineer", "")]
    ids = [Identity("1", "Manager", (1, 3)), Identity("2", None), Identity("3", "Engineer", (4,))]
    assert validate_identities(ids, EN, people) == []
    assert validate_identities(
        [Identity("1", "CEO", (2,)), *ids[1:]], EN, people
    )  # not asked; 2 is speaker 2's
    ex = [Extraction("Greeting", "Good morning", (1,)), Extraction("Refund", "")]
    assert validate_extractions(ex, EN, items) == []
    assert validate_extractions([Extraction("Greeting", "x"), ex[1]], EN, items)


def test_require_raises_with_the_problems():
    require("chapters", [])
    with pytest.raises(GroundingError) as info:
        require("chapters", validate_chapters([], EN))
    assert info.value.feature == "chapters" and info.value.problems
    assert isinstance(info.value, ValueError)
