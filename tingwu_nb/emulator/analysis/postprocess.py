"""Post-meeting processing after ``operation=stop``: the result files of a realtime record.

Runs while the task is ONGOING in phase ``postprocessing`` and fills ``record.files`` /
``record.results`` progressively (the mp3 first, then the Transcription), exactly as the
REST side exposes them (spec rest-api §3: keys appear as they become ready). The mp3 is encoded
chunk by chunk into a nameless file on disk (``transcode.py``), never held in memory. With an
analysis service, the post-meeting results follow, one by one (``pipeline.py``).

The Transcription file (spec rest-api §4.1) is built from the final sentences the stream
produced, so the live SentenceEnd events and the file agree sentence for sentence. With
diarization on, speakers are re-clustered over the whole recording, which is more accurate
than the provisional live labels.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from tingwu_nb.emulator.analysis.documents import transcript_of
from tingwu_nb.emulator.analysis.pipeline import plan, run_analysis, transcript_language
from tingwu_nb.emulator.analysis.transcode import MP3_BITRATE, encode_mp3
from tingwu_nb.emulator.engine.diarize import diarize
from tingwu_nb.emulator.store import TaskRecord

__all__ = ["MP3_BITRATE", "build_transcription", "build_translation", "postprocess"]


def _token_text(word: str, is_last: bool, sentence_text: str) -> str:
    word = word.strip()
    if is_last and sentence_text and sentence_text[-1] in ".?!。？！," and not word.endswith(sentence_text[-1]):
        word += sentence_text[-1]
    return word


def build_transcription(
    task_id: str,
    sentences: Sequence[dict[str, Any]],
    speakers: Sequence[str | None],
    *,
    duration_ms: int,
    paragraph_base: int | None = None,
) -> dict[str, Any]:
    """The ``{"TaskId", "Transcription"}`` document for ``sentences`` (dicts from the stream).

    Paragraphs group consecutive sentences of one speaker; word ids step by 10 and
    SentenceIds are global from 1, as in the official samples.
    """
    base = paragraph_base if paragraph_base is not None else int(time.time() * 1000) * 1_000_000
    paragraphs: list[dict[str, Any]] = []
    word_id = 0
    for sentence_id, (sentence, speaker) in enumerate(zip(sentences, speakers), start=1):
        speaker = speaker or "1"
        if not paragraphs or paragraphs[-1]["SpeakerId"] != speaker:
            paragraphs.append({"ParagraphId": str(base + sentence_id * 500_000),
                               "SpeakerId": speaker, "Words": []})
        words = sentence["words"] or [(sentence["text"], sentence["start_ms"], sentence["end_ms"])]
        for n, (text, start, end) in enumerate(words):
            word_id += 10
            paragraphs[-1]["Words"].append({
                "Id": word_id, "SentenceId": sentence_id, "Start": int(start), "End": int(end),
                "Text": _token_text(text, n == len(words) - 1, sentence["text"]),
            })
    return {
        "TaskId": task_id,
        "Transcription": {
            "AudioInfo": {"Duration": int(duration_ms)},
            "Paragraphs": paragraphs,
            "AudioSegments": [[int(s["start_ms"]), int(s["end_ms"])] for s in sentences],
        },
    }


def _speakers(record: TaskRecord, sentences: Sequence[dict[str, Any]], audio: np.ndarray) -> list[str | None]:
    options = (record.parameters or {}).get("Transcription") or {}
    if not options.get("DiarizationEnabled") or not sentences:
        return [None] * len(sentences)
    spans = [(s["start_ms"], s["end_ms"]) for s in sentences]
    count = (options.get("Diarization") or {}).get("SpeakerCount") or None
    return list(diarize(audio, spans, sample_rate=record.sample_rate, speaker_count=count))


def build_translation(task_id: str, transcription: dict[str, Any], sentences: Sequence[dict[str, Any]],
                      *, layout: str = "paragraphs") -> dict[str, Any]:
    """The ``{"TaskId", "Translation"}`` document mirroring the transcription's paragraphs.

    ``layout`` is the contract choice: ``"paragraphs"`` (one target: Translation.Paragraphs[]
    .Sentences[]) or ``"per-language"`` (Translation.<lang>.Paragraphs[]; always used for several
    targets); rest-api §4.2. Languages appear in the order the sentences' ``translations`` name
    them (the task's TargetLanguages order). A sentence the live translation never reached (the
    stream ended first) is left out of its language, so the client's frame shows None there.
    """
    languages = list(dict.fromkeys(lang for s in sentences for lang in (s.get("translations") or {})))
    by_language = {}
    for lang in languages:
        paragraphs = []
        for paragraph in transcription["Transcription"]["Paragraphs"]:
            ids = sorted({w["SentenceId"] for w in paragraph["Words"]})
            items = [{"SentenceId": i, "Start": int(sentences[i - 1]["start_ms"]),
                      "End": int(sentences[i - 1]["end_ms"]), "Text": sentences[i - 1]["translations"][lang]}
                     for i in ids if lang in (sentences[i - 1].get("translations") or {})]
            if items:
                paragraphs.append({"ParagraphId": paragraph["ParagraphId"], "Sentences": items})
        by_language[lang] = {"Paragraphs": paragraphs}
    if layout == "paragraphs" and len(by_language) == 1:
        return {"TaskId": task_id, "Translation": next(iter(by_language.values()))}
    return {"TaskId": task_id, "Translation": by_language}


def paragraph_sentence_ids(transcription: dict[str, Any]) -> list[list[int]]:
    """The sentence ids of each paragraph of a Transcription document, in order."""
    return [list(dict.fromkeys(w["SentenceId"] for w in p["Words"])) for p in transcription["Transcription"]["Paragraphs"]]


def _documents(record: TaskRecord, sentences: list[dict[str, Any]], audio: np.ndarray, translation_layout: str,
               analysis: bool, choices: Any) -> tuple[dict[str, Any], dict[str, Any] | None, Any, list[Any]]:
    """Runs on a worker thread: speakers, the Transcription, the Translation and the analysis plan.

    Returns ``(transcription, translation or None, transcript or None, features)``.
    """
    params = record.parameters or {}
    speakers = _speakers(record, sentences, audio)
    duration_ms = int(len(audio) * 1000 / record.sample_rate)
    transcription = build_transcription(record.task_id, sentences, speakers, duration_ms=duration_ms)
    translation = None
    if params.get("TranslationEnabled"):
        translation = build_translation(record.task_id, transcription, sentences, layout=translation_layout)
    t, features = None, []
    if analysis:
        texts, detected = [s["text"] for s in sentences], [s.get("language") for s in sentences]
        t = transcript_of(transcription, sentences, transcript_language(record.language, texts, detected))
        features = plan(record.task_id, params, t, paragraph_sentence_ids(transcription), choices)
    return transcription, translation, t, features


async def postprocess(record: TaskRecord, *, translation_layout: str = "paragraphs", analysis: Any = None,
                      choices: Any = None, spool_dir: str | None = None) -> None:
    """Fill ``record.files`` and ``record.results`` for a stopped realtime record.

    ``analysis`` (an :class:`~tingwu_nb.emulator.analysis.service.AnalysisService`) and
    ``choices`` (the ContractChoices) turn on the post-meeting results the task asked for; the
    awaiting caller marks the task COMPLETED when this returns, FAILED when it raises
    (:class:`~tingwu_nb.emulator.analysis.pipeline.AnalysisFailed` after the other results).
    Every step that grows with the recording (mp3, diarization, building the documents) runs on
    a worker thread over the spooled audio, so the event loop keeps answering meanwhile. The mp3
    goes to a nameless file in ``spool_dir`` (None: the system temp dir) kept in ``record.files``;
    :meth:`~tingwu_nb.emulator.store.TaskStore.close` deletes it.
    """
    delay = getattr(getattr(record.faults, "plan", None), "postprocess_delay_s", 0.0)
    if delay:
        await asyncio.sleep(delay)  # injected fault (emulator/faults.py): post-processing starts late
    params = record.parameters or {}
    audio = record.pcm.samples()  # mapped from the spool file, not read into memory
    if ((params.get("Transcoding") or {}).get("TargetAudioFormat") or "").lower() == "mp3" and len(audio):
        mp3 = await asyncio.to_thread(encode_mp3, audio, record.sample_rate, directory=spool_dir, bitrate=MP3_BITRATE)
        name = f"{record.task_id}.mp3"
        record.files[name] = mp3
        record.output_mp3 = name
    wanted = analysis is not None and choices is not None
    transcription, translation, t, features = await asyncio.to_thread(
        _documents, record, list(record.sentences), audio, translation_layout, wanted, choices)
    del audio
    record.results["Transcription"] = transcription
    if translation is not None:
        record.results["Translation"] = translation
    if wanted:
        await run_analysis(record, features, analysis, t)
