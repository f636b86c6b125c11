"""Post-processing time per feature: the emulator's analysis pipeline on the fixture and on one hour.

Runs ``pipeline.plan`` + ``pipeline.run_analysis`` (the code the emulator runs after a record
stops, on the same one-thread analysis worker) with every feature switched on, for:

* the committed English fixture (the sample meeting's 12 turns, 54 s);
* a seeded synthetic one-hour meeting (``tests/emulator/analysis/analysis_fixtures.synthetic_meeting(60)``,
  ~1000 sentences, 4 speakers).

Prints seconds per feature and engine (``--engine llm`` and/or ``extractive``), the model's
token counts and the parts that fell back. Never passes or fails. Recognition time is not
included (see bench_e2e.py). Run: ``.venv/bin/python benchmarks/bench_postprocess.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.emulator.analysis.analysis_fixtures

from tests.emulator.analysis.analysis_fixtures import synthetic_meeting  # noqa: E402
from tingwu_nb.emulator.analysis.base import Sentence, Transcript  # noqa: E402
from tingwu_nb.emulator.analysis.pipeline import plan, run_analysis  # noqa: E402
from tingwu_nb.emulator.analysis.service import AnalysisService  # noqa: E402
from tingwu_nb.emulator.contract import ContractChoices  # noqa: E402
from tingwu_nb.samples import sample_meeting_truth  # noqa: E402

PARAMS = {
    "Transcription": {"DiarizationEnabled": True},
    "AutoChaptersEnabled": True, "AutoChapters": {"ChapterGranularity": "General"},
    "MeetingAssistanceEnabled": True,
    "SummarizationEnabled": True,
    "Summarization": {"Types": ["Paragraph", "Conversational", "QuestionsAnswering", "MindMap"]},
    "TextPolishEnabled": True,
    "ServiceInspectionEnabled": True,
    "ServiceInspection": {"SceneIntroduction": "A project meeting.", "InspectionIntroduction": "Meeting conduct.",
                          "InspectionContents": [{"Title": "Budget", "Content": "The budget is discussed."},
                                                 {"Title": "Deadline", "Content": "A date is promised."}]},
    "IdentityRecognitionEnabled": True,
    "IdentityRecognition": {"SceneIntroduction": "A project team.",
                            "IdentityContents": [{"Name": "Host", "Description": "opens the meeting"},
                                                 {"Name": "Engineer", "Description": "talks about servers"}]},
    "ContentExtractionEnabled": True,
    "ContentExtraction": {"SceneIntroduction": "A project meeting.",
                          "ExtractionContents": [{"Title": "Next meeting", "Content": "when they meet again"}]},
    "CustomPromptEnabled": True,
    "CustomPrompt": {"Contents": [{"Name": "actions", "Prompt": "List the action items.\n{Transcription}"}]},
}


def fixture() -> Transcript:
    turns = sample_meeting_truth()["turns"]
    return Transcript(tuple(Sentence(n, int(t["start_s"] * 1000), int(t["end_s"] * 1000), t["text"], t["speaker"])
                            for n, t in enumerate(turns, start=1)), "en")


def paragraphs(t: Transcript) -> list[list[int]]:
    out: list[list[int]] = []
    for n, s in enumerate(t.sentences):
        if n == 0 or s.speaker != t.sentences[n - 1].speaker:
            out.append([])
        out[-1].append(s.id)
    return out


async def run(t: Transcript, service: AnalysisService, params: dict) -> dict:
    features = plan("bench", params, t, paragraphs(t), ContractChoices())
    record = SimpleNamespace(task_id="bench", results={}, analysis_report={})
    await run_analysis(record, features, service, t)
    return record.analysis_report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--engine", action="append", choices=("llm", "extractive"))
    ap.add_argument("--minutes", type=float, default=60.0)
    args = ap.parse_args()
    for kind in args.engine or ["llm", "extractive"]:  # custom prompts need the model
        service = AnalysisService(kind)
        started = time.perf_counter()
        service.engine()
        print(f"== engine {kind}: loaded in {time.perf_counter() - started:.1f} s")
        for name, t in (("fixture (54 s, 12 sentences)", fixture()),
                        (f"synthetic {args.minutes:g} min ({len(synthetic_meeting(args.minutes).sentences)} sentences)",
                         synthetic_meeting(args.minutes))):
            stats = service.engine().stats
            before = (stats.generated_tokens, stats.prompt_tokens)
            started = time.perf_counter()
            params = PARAMS if kind == "llm" else {k: v for k, v in PARAMS.items() if "CustomPrompt" not in k}
            report = asyncio.run(run(t, service, params))
            total = time.perf_counter() - started
            print(f"-- {name}: {total:.1f} s in all; generated {stats.generated_tokens - before[0]} tokens, "
                  f"read {stats.prompt_tokens - before[1]}")
            for key, entry in report.items():
                fell = f"  fallback: {', '.join(entry['fallbacks'])}" if entry["fallbacks"] else ""
                print(f"   {key:20s} {entry['seconds']:8.2f} s  {entry['engine']}{fell}")
        service.close()


if __name__ == "__main__":
    main()
