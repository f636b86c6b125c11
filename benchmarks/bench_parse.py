"""Parse benchmark: a synthetic 24-hour meeting, every result file, into every frame.

Generates in memory (seeded) a meeting of ``--words`` words (≈ 200 000 over 24 h), 4 speakers,
and every result file the toolkit parses (Transcription, Translation in the per-language layout
with two targets, AutoChapters, MeetingAssistance, Summarization, TextPolish, CustomPrompt,
ServiceInspection, IdentityRecognition, ContentExtraction, PptExtraction), serialised to JSON
text as downloaded. Then, in the same process:

* ours: ``json.loads`` of each file once, then every table of ``tingwu_nb.results.TABLES`` one by
  one (each function on its own), and all at once with ``results.all_frames``;
* baseline: ``json.loads`` of each file once, then ``pandas.json_normalize`` per table (plus
  the pandas ``groupby`` that sentences, paragraphs and speakers need, and a pivot for the
  one-column-per-language translations).

Prints per-frame seconds (best of ``--repeat``), the ratio, the totals with and without the
shared ``json.loads`` time, and peak traced memory (tracemalloc, a separate run: tracing slows
code down, so times come from untraced runs). Never passes or fails.
Run: ``.venv/bin/python benchmarks/bench_parse.py`` (``--words 20000`` for a quick look).
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import pandas as pd

from tingwu_nb.results import TABLES, all_frames, translations_frame

SPEAKERS = ("1", "2", "3", "4")
VOCAB = ("we", "the", "budget", "project", "review", "quarter", "team", "plan", "report", "next", "week",
         "deliver", "risk", "hiring", "milestone", "customer", "release", "agreed", "think", "should")


def synthetic_meeting(n_words: int, seed: int = 1) -> dict[str, str]:
    """``{Kind: JSON text}`` for a 24-hour, 4-speaker meeting of ``n_words`` words."""
    rng = random.Random(seed)
    ms_per_word = 24 * 3600 * 1000 // n_words
    paragraphs, sentences, t, word_id, sid = [], [], 0, 0, 0
    while word_id < n_words * 10:
        speaker = rng.choice(SPEAKERS)
        paragraph = {"ParagraphId": str(1714000000000500000 + len(paragraphs)), "SpeakerId": speaker, "Words": []}
        for _ in range(rng.randint(1, 5)):
            sid += 1
            start = t
            for n in range(rng.randint(4, 16)):
                word_id += 10
                text = rng.choice(VOCAB) + ("." if n == 3 else "")
                paragraph["Words"].append({"Id": word_id, "SentenceId": sid, "Start": t,
                                           "End": t + ms_per_word - 40, "Text": text})
                t += ms_per_word
            sentences.append((sid, start, t - 40, paragraph["ParagraphId"]))
        paragraphs.append(paragraph)
    docs: dict[str, Any] = {"Transcription": {"AudioInfo": {"Duration": t}, "Paragraphs": paragraphs,
                                              "AudioSegments": [[s[1], s[2]] for s in sentences]}}
    by_paragraph: dict[str, list] = {}
    for s, b, e, pid in sentences:
        by_paragraph.setdefault(pid, []).append((s, b, e))
    docs["Translation"] = {lang: {"Paragraphs": [{"ParagraphId": pid, "Sentences": [
        {"SentenceId": s, "Start": b, "End": e, "Text": f"[{lang}] sentence {s}"} for s, b, e in rows]}
        for pid, rows in by_paragraph.items()]} for lang in ("en", "ja")}
    step = max(1, len(sentences) // 96)
    docs["AutoChapters"] = [{"Id": i + 1, "Start": sentences[k][1], "End": sentences[min(k + step, len(sentences)) - 1][2],
                             "Headline": f"chapter {i + 1}", "Summary": "summary " * 40}
                            for i, k in enumerate(range(0, len(sentences), step))]
    picks = rng.sample(sentences, 60)
    docs["MeetingAssistance"] = {
        "Keywords": list(VOCAB), "Classifications": {"Interview": 0.1, "Lecture": 0.2, "Meeting": 0.7},
        "KeySentences": [{"Id": i, "SentenceId": s, "Start": b, "End": e, "Text": "key"} for i, (s, b, e, _) in
                         enumerate(picks[:50], 1)],
        "Actions": [{"Id": i, "SentenceId": s, "Start": b, "End": e, "Text": "do it"} for i, (s, b, e, _) in
                    enumerate(picks[50:56], 1)]}

    def topic(depth: int) -> dict[str, Any]:
        return {"Title": f"topic {depth}", "Topic": [topic(depth + 1) for _ in range(4)] if depth < 3 else []}

    docs["Summarization"] = {
        "ParagraphTitle": "24 hours", "ParagraphSummary": "overview@#- a\n- b",
        "ConversationalSummary": [{"SpeakerId": s, "SpeakerName": f"Speaker {s}", "Summary": "said things"}
                                  for s in SPEAKERS],
        "QuestionsAnsweringSummary": [{"Question": "q?", "SentenceIdsOfQuestion": [s], "Answer": "a",
                                       "SentenceIdsOfAnswer": [s + 1, s + 2]} for s, *_ in picks[:40]],
        "MindMapSummary": [topic(0)]}
    docs["TextPolish"] = [{"FormalParagraphText": "polished text", "ParagraphId": p["ParagraphId"],
                           "SentenceIds": sorted({w["SentenceId"] for w in p["Words"]}),
                           "Start": p["Words"][0]["Start"], "End": p["Words"][-1]["End"]} for p in paragraphs]
    docs["CustomPrompt"] = [{"Name": f"prompt {i}", "Result": "## answer\n- x", "Truncated": True} for i in range(3)]
    docs["ServiceInspection"] = [{"Title": f"dimension {i}", "Score": 0.5, "SentenceIds": [picks[i][0]],
                                  "Reason": "because"} for i in range(10)]
    docs["IdentityRecognition"] = [{"SpeakerId": s, "Identity": "host" if s == "1" else "guest"} for s in SPEAKERS]
    docs["ContentExtraction"] = [{"Key": f"field {i}", "Value": "v", "SentenceIds": [picks[i][0]]} for i in range(10)]
    docs["PptExtraction"] = {"KeyFrameList": [{"Id": i, "Start": c["Start"], "End": c["End"], "Summary": "slide",
                                               "FileUrl": f"https://x/{i}.png?Expires=1&Signature=s"}
                                              for i, c in enumerate(docs["AutoChapters"], 1)]}
    return {kind: json.dumps({"TaskId": "bench", kind: body}, ensure_ascii=False) for kind, body in docs.items()}


def _normalize_words(doc: dict) -> pd.DataFrame:
    return pd.json_normalize(doc["Transcription"]["Paragraphs"], record_path="Words", meta=["ParagraphId", "SpeakerId"])


def _baseline_sentences(doc: dict) -> pd.DataFrame:
    return _normalize_words(doc).groupby("SentenceId").agg(
        speaker=("SpeakerId", "first"), start=("Start", "min"), end=("End", "max"),
        text=("Text", " ".join), words=("Id", "size")).reset_index()


def _baseline_translations(doc: dict) -> pd.DataFrame:
    parts = [pd.json_normalize(block["Paragraphs"], record_path="Sentences").assign(lang=lang)
             for lang, block in doc["Translation"].items()]
    return pd.concat(parts).pivot_table(index=["SentenceId", "Start", "End"], columns="lang", values="Text",
                                        aggfunc="first").reset_index()


def _baseline_mindmap(doc: dict) -> pd.DataFrame:
    return pd.json_normalize(doc["Summarization"]["MindMapSummary"], record_path=["Topic", "Topic"])


BASELINE: dict[str, Callable[[dict], pd.DataFrame]] = {
    "sentences": _baseline_sentences,
    "words": _normalize_words,
    "paragraphs": lambda d: _normalize_words(d).groupby("ParagraphId").agg(
        start=("Start", "min"), end=("End", "max"), text=("Text", " ".join)).reset_index(),
    "speakers": lambda d: _baseline_sentences(d).assign(span=lambda f: f.end - f.start).groupby("speaker").agg(
        talk=("span", "sum"), sentences=("SentenceId", "size"), words=("words", "sum")).reset_index(),
    "translations": _baseline_translations,
    "chapters": lambda d: pd.json_normalize(d["AutoChapters"]),
    "keywords": lambda d: pd.json_normalize([{"keyword": k} for k in d["MeetingAssistance"]["Keywords"]]),
    "key_sentences": lambda d: pd.json_normalize(d["MeetingAssistance"]["KeySentences"]),
    "actions": lambda d: pd.json_normalize(d["MeetingAssistance"]["Actions"]),
    "classifications": lambda d: pd.json_normalize(d["MeetingAssistance"]["Classifications"]),
    "summary": lambda d: pd.json_normalize(d["Summarization"]),
    "speaker_summaries": lambda d: pd.json_normalize(d["Summarization"]["ConversationalSummary"]),
    "qa": lambda d: pd.json_normalize(d["Summarization"]["QuestionsAnsweringSummary"]),
    "mindmap": _baseline_mindmap,
    "mindmap_edges": _baseline_mindmap,
    "polished": lambda d: pd.json_normalize(d["TextPolish"]),
    "inspection": lambda d: pd.json_normalize(d["ServiceInspection"]),
    "custom_prompt": lambda d: pd.json_normalize(d["CustomPrompt"]),
    "identities": lambda d: pd.json_normalize(d["IdentityRecognition"]),
    "extractions": lambda d: pd.json_normalize(d["ContentExtraction"]),
    "slides": lambda d: pd.json_normalize(d["PptExtraction"]["KeyFrameList"]),
}


def ours(name: str) -> Callable[[dict], pd.DataFrame]:
    if name == "translations":
        return lambda doc: translations_frame(doc, ["en", "ja"])
    return TABLES[name].parse


def best_of(repeat: int, fn: Callable[[], Any]) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def peak_mb(fn: Callable[[], Any]) -> float:
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    texts = synthetic_meeting(args.words)
    docs = {kind: json.loads(text) for kind, text in texts.items()}
    n_words = sum(len(p["Words"]) for p in docs["Transcription"]["Transcription"]["Paragraphs"])
    size_mb = sum(len(t.encode()) for t in texts.values()) / 2**20
    print(f"synthetic meeting: {n_words} words, {len(SPEAKERS)} speakers, {len(texts)} result files, {size_mb:.1f} MB JSON")
    loads = best_of(args.repeat, lambda: [json.loads(t) for t in texts.values()])
    print(f"json.loads of every file (shared by both): {loads:.3f} s\n")
    print(f"{'frame':<18}{'rows':>8}{'ours s':>10}{'baseline s':>12}{'ratio':>8}")
    total_ours = total_base = 0.0
    for name, table in TABLES.items():
        doc = docs[table.kind]
        frame = ours(name)(doc)
        assert tuple(frame.columns[:len(table.columns)]) == table.columns
        t_ours = best_of(args.repeat, lambda name=name, doc=doc: ours(name)(doc))
        t_base = best_of(args.repeat, lambda name=name, doc=doc: BASELINE[name](doc))
        total_ours, total_base = total_ours + t_ours, total_base + t_base
        print(f"{name:<18}{len(frame):>8}{t_ours:>10.4f}{t_base:>12.4f}{t_base / t_ours:>7.1f}x")
    print(f"\nevery frame, parsed dicts -> frames: ours {total_ours:.3f} s, baseline {total_base:.3f} s, "
          f"{total_base / total_ours:.1f}x")
    print(f"every frame from JSON text (+ json.loads once per file): ours {total_ours + loads:.3f} s, "
          f"baseline {total_base + loads:.3f} s, {(total_base + loads) / (total_ours + loads):.1f}x")
    t_all = best_of(args.repeat, lambda: all_frames(docs, ["en", "ja"]))
    print(f"every frame with results.all_frames (Transcription parsed once): {t_all:.3f} s, "
          f"{total_base / t_all:.1f}x the baseline; from JSON text {(total_base + loads) / (t_all + loads):.1f}x")

    def all_ours() -> dict:
        return all_frames({k: json.loads(t) for k, t in texts.items()}, ["en", "ja"])

    def all_base() -> list:
        loaded = {k: json.loads(t) for k, t in texts.items()}
        return [BASELINE[n](loaded[t.kind]) for n, t in TABLES.items()]

    docs.clear()  # free the parsed documents before the memory runs
    print(f"peak traced memory, JSON text -> every frame: ours {peak_mb(all_ours):.0f} MB, "
          f"baseline {peak_mb(all_base):.0f} MB (JSON text itself {size_mb:.0f} MB, not counted)")


if __name__ == "__main__":
    main()
