"""Benchmark every Tingwu language through the emulator (prints, never fails).

Part 1 — for each language an espeak-ng clip (two sentences, about 8-12 s) is recorded with
:func:`tingwu_nb.record` at ``pacing.MAX_SPEED`` with interim results (OutputLevel 2):

* RTF: StopTranscription-side wall time of the stream (first frame sent -> TranscriptionCompleted)
  divided by the audio duration;
* stop -> completed: from the last audio frame / StopTranscription to the task's COMPLETED
  status (session phases ``audio_sent`` -> ``task_finished``);
* decode work from :attr:`SpeechEngine.stats`: decodes (interims + finals), decoder passes,
  tokens, tokens per second of decoded audio;
* the first sentence's text.

Part 2 — the pathological case of issue 5: short prefixes (1.0-2.0 s) of CJK sentences, decoded
the old way (faster-whisper ``transcribe`` with its six-temperature fallback and re-seeks, as the
engine did before) and the new way (one bounded pass), wall seconds each.

Run: ``.venv/bin/python benchmarks/bench_languages.py [--languages cn ko] [--no-prefix]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

from tingwu_nb.client.pacing import MAX_SPEED
from tingwu_nb.contract import events as ev
from tingwu_nb.contract.params import RealtimeTaskRequest
from tingwu_nb.emulator.app import Emulator
from tingwu_nb.emulator.engine.engine import SpeechEngine, to_float16k
from tingwu_nb.samples import speak, spoken_clip, write_wav
from tingwu_nb.session.recording import record

ZH = [("cmn-latn-pinyin", "我们今天开会讨论这个项目的进度。"), ("cmn-latn-pinyin", "请大家准备好发言，下个星期五之前完成设计评审。")]
CLIPS = {
    "cn": (ZH, None),
    "yue": ([("yue", "我哋今日开会讨论项目嘅进度。"), ("yue", "请大家准备好发言，呢个问题我哋下个礼拜再倾。")], None),
    "ja": ([("ja", "みなさん、おはようございます。"), ("ja", "きょうは かいぎを はじめましょう。しんちょくを かくにんします。")], None),
    "ko": ([("ko", "오늘 회의를 시작하겠습니다."), ("ko", "프로젝트 진행 상황을 이야기합시다. 감사합니다.")], None),
    "en": ([("en-us", "Good morning everyone, let's start the meeting."),
            ("en-us", "Please send the report before Friday and review the project schedule.")], None),
    "fspk": ([ZH[0], ("en-us", "Please send the report before Friday.")], None),
    "multilingual": ([ZH[0], ("en-us", "Please send the report before Friday.")], ["cn", "en"]),
}


def write_clip(sentences, folder: Path) -> tuple[Path, float]:
    pcm = spoken_clip(sentences)
    return write_wav(folder / "clip.wav", pcm, 16000), len(pcm) / 16000


async def one_language(emu: Emulator, engine: SpeechEngine, language: str, folder: Path) -> dict:
    sentences, hints = CLIPS[language]
    path, seconds = write_clip(sentences, folder)
    request = RealtimeTaskRequest.create(language=language, language_hints=hints or ())
    before = engine.stats
    async with emu.client() as client:
        session = await record(path, request, client=client, speed=MAX_SPEED, out_dir=folder / "s",
                               poll_interval_s=0.1)
    work = engine.stats - before
    phases = json.loads((session.directory / "session.json").read_text())["phases"]
    ends = [e for e in session.events() if isinstance(e, ev.SentenceEnd)]
    return {
        "language": language, "audio_s": seconds, "status": session.status,
        "rtf": (phases["stream_completed"]["mono"] - phases["stream_started"]["mono"]) / seconds,
        "stop_to_completed": phases["task_finished"]["mono"] - phases["audio_sent"]["mono"],
        "sentences": len(ends), "work": work, "text": " | ".join(e.result for e in ends),
    }


def prefix_cases(engine: SpeechEngine, folder: Path) -> None:
    """Old (fallback ladder + re-seeks) vs new (one bounded pass) on short CJK prefixes."""
    model = engine.load("base")
    print("\n| clip | prefix s | old s | old text | new s | new passes/tokens | new text |")
    print("|---|---|---|---|---|---|---|")
    worst_old = worst_new = 0.0
    for language, wlang, (voice, text) in (("yue", "zh", CLIPS["yue"][0][0]), ("ko", "ko", CLIPS["ko"][0][0]),
                                           ("cn", "zh", CLIPS["cn"][0][0]), ("yue", "zh", CLIPS["yue"][0][1])):
        pcm = speak(text, voice)
        for seconds in (1.0, 1.3, 1.6, 2.0):
            x = to_float16k(pcm[: int(seconds * 16000)], 16000)
            t = time.perf_counter()
            segments, _ = model.transcribe(x, language=wlang, beam_size=1, word_timestamps=True, vad_filter=False,
                                           condition_on_previous_text=False)
            old_text = "".join(s.text for s in segments).strip()
            old = time.perf_counter() - t
            t = time.perf_counter()
            rec = engine.recognize(pcm[: int(seconds * 16000)], language=language, interim=True)
            new = time.perf_counter() - t
            worst_old, worst_new = max(worst_old, old), max(worst_new, new)
            print(f"| {language} `{text[:8]}` | {seconds} | {old:.2f} | {old_text[:24]!r} | {new:.2f} | "
                  f"{rec.passes}/{rec.tokens} | {rec.text[:24]!r} |", flush=True)
    print(f"\nworst prefix decode: old {worst_old:.2f} s, new {worst_new:.2f} s")


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--languages", nargs="+", default=list(CLIPS))
    ap.add_argument("--no-prefix", action="store_true", help="skip the old-vs-new short prefix table")
    args = ap.parse_args()
    engine = SpeechEngine()
    engine.warm_up("en")
    engine.warm_up("cn")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        async with Emulator(engine=engine) as emu:
            for language in args.languages:
                folder = Path(tmp) / language
                folder.mkdir()
                rows.append(await one_language(emu, engine, language, folder))
                print(f"  done: {language}", flush=True)
        print(f"\nspeed {MAX_SPEED:g}x, OutputLevel 2 (interims), 16 kHz PCM, espeak-ng clips")
        print("| language | audio s | status | sentences | RTF | stop → completed s | decodes (interim) | passes | "
              "tokens | tokens / decoded s | text |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            w = r["work"]
            print(f"| {r['language']} | {r['audio_s']:.1f} | {r['status']} | {r['sentences']} | {r['rtf']:.2f} | "
                  f"{r['stop_to_completed']:.2f} | {w.decodes} ({w.interim_decodes}) | {w.passes} | {w.tokens} | "
                  f"{w.tokens / max(w.audio_s, 1e-9):.1f} | {r['text'][:60]} |")
        if not args.no_prefix:
            prefix_cases(engine, Path(tmp))


if __name__ == "__main__":
    asyncio.run(main())
