"""Extractive analysis engine: seconds per feature on the test fixtures and a synthetic 1-hour meeting.

Inputs: the English (54 sentences) and Chinese (22) meetings of ``tests/emulator/analysis/analysis_fixtures.py``,
its seeded ``synthetic_meeting(60)`` (~1000 English sentences, 4 speakers, 12 topics), and a
Chinese hour built the same way here. For each: the shared per-transcript preparation (tokens,
TF-IDF, TextRank, keyword pool; cached, so every feature after it reuses it) is timed cold,
then each feature on that warm preparation (best of ``--repeat``; the per-granularity chapter
cache is cleared before every call, so chapters and the mind map are timed in full), then the sum. Never passes or fails.
Run from the repository root: ``.venv/bin/python benchmarks/bench_extractive.py``.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.emulator.analysis.analysis_fixtures

from tests.emulator.analysis.analysis_fixtures import MEETING_CN, MEETING_EN, synthetic_meeting  # noqa: E402
from tingwu_nb.emulator.analysis import extractive, textdoc  # noqa: E402
from tingwu_nb.emulator.analysis.base import ContentItem, Sentence, Transcript  # noqa: E402

ZH_TOPICS = (
    ("市场预算", "视频广告", "展会"),
    ("云服务费用", "测试服务器", "夜间构建"),
    ("招聘计划", "后端工程师", "外包"),
    ("产品发布", "发布日期", "测试用户"),
    ("客户支持", "工单积压", "响应时间"),
    ("安全审计", "密码策略", "访问日志"),
)
ZH_TEMPLATES = (
    "我觉得{a}需要在{b}之前确认。",
    "{a}现在进展怎么样？",
    "{a}按计划进行，但是{b}晚了两周。",
    "我们需要一起评审{a}和{b}。",
    "我会在周五前更新{a}。",
    "嗯，{b}取决于{a}，所以不能推迟。",
)
ITEMS = [
    ContentItem("Budget discussion", "the team discusses the marketing budget"),
    ContentItem("Refund offer", "the agent offers the customer a refund"),
]


def chinese_hour(seed: int = 7) -> Transcript:
    rng = random.Random(seed)
    out, t = [], 0
    for i in range(1000):
        a, b = rng.sample(ZH_TOPICS[(i // 84) % len(ZH_TOPICS)], 2)
        text = rng.choice(ZH_TEMPLATES).format(a=a, b=b)
        dur = int(1000 * len(text) / 5)
        out.append(Sentence(i + 1, t, t + dur, text, str(rng.randrange(1, 5)), str(i // 5 + 1)))
        t += dur + 300
    return Transcript(tuple(out), "cn")


def features(t: Transcript) -> dict:
    paragraphs = [
        [s.id for s in t.sentences if s.paragraph_id == p]
        for p in dict.fromkeys(s.paragraph_id for s in t.sentences)
    ]
    return {
        "key_information": lambda e: e.key_information(t),
        "actions": lambda e: e.actions(t),
        "classification": lambda e: e.classification(t),
        "chapters(Meticulous)": lambda e: e.chapters(t, "Meticulous"),
        "chapters(Coarse)": lambda e: e.chapters(t, "Coarse"),
        "paragraph_summary": lambda e: e.paragraph_summary(t),
        "conversational_summary": lambda e: e.conversational_summary(t),
        "questions_answering": lambda e: e.questions_answering(t),
        "mindmap": lambda e: e.mindmap(t),
        "polish": lambda e: e.polish(t, paragraphs),
        "inspection(2 items)": lambda e: e.inspection(t, "", "", ITEMS),
        "identities(2 items)": lambda e: e.identities(t, "", ITEMS),
        "extraction(2 items)": lambda e: e.extraction(t, "", ITEMS),
    }


def bench(name: str, t: Transcript, repeat: int) -> None:
    engine = extractive.ExtractiveEngine()
    textdoc.analyse.cache_clear()
    textdoc.chaptering.cache_clear()
    t0 = time.perf_counter()
    textdoc.analyse(t)
    prep = time.perf_counter() - t0
    minutes = (t.sentences[-1].end - t.sentences[0].start) / 60000
    print(f"\n{name}: {len(t.sentences)} sentences, {minutes:.1f} min, {len(t.speakers)} speakers")
    print(
        f"  {'prepare (tokens, TF-IDF, TextRank, keywords)':46s} {prep:7.3f} s  (cold, once per transcript)"
    )
    total = prep
    for label, call in features(t).items():
        best = float("inf")
        for _ in range(repeat):
            textdoc.chaptering.cache_clear()
            t0 = time.perf_counter()
            call(engine)
            best = min(best, time.perf_counter() - t0)
        total += best
        print(f"  {label:46s} {best:7.3f} s")
    print(f"  {'total (prepare + every feature once)':46s} {total:7.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--minutes", type=float, default=60.0)
    args = parser.parse_args()
    t0 = time.perf_counter()
    import jieba  # noqa: F401  (import cost reported apart: it is paid once per process)
    import yake  # noqa: F401

    print(f"import yake + jieba: {time.perf_counter() - t0:.2f} s")
    t0 = time.perf_counter()
    extractive.ExtractiveEngine().key_information(MEETING_CN)
    print(
        f"jieba dictionary load (first Chinese call, cache in the temp dir): {time.perf_counter() - t0:.2f} s"
    )
    bench("English fixture", MEETING_EN, args.repeat)
    bench("Chinese fixture", MEETING_CN, args.repeat)
    bench("synthetic English hour", synthetic_meeting(args.minutes), args.repeat)
    bench("synthetic Chinese hour", chinese_hour(), args.repeat)


if __name__ == "__main__":
    main()
