"""Live translation of one realtime stream: ResultTranslated events computed on the analysis worker.

The WebSocket handler (:mod:`tingwu_nb.emulator.realtime`) hands every SentenceEnd it has sent to
:meth:`LiveTranslation.final` and, at ``Translation.OutputLevel`` 2, every
TranscriptionResultChanged to :meth:`LiveTranslation.interim`; neither waits.

* **Finals** queue up and one consumer task translates them in order on the analysis worker
  (``await worker.run``: never skipped, never on the decode threads), up to :data:`MAX_BATCH`
  pending sentences per job, one job per target (the batch's events for the first target go out
  before the second is computed). For each sentence it sends one ResultTranslated per target
  (``source_message_id`` = the SentenceEnd's ``message_id``; one item with the sentence's index
  and times) and stores the texts in the record's sentence for the Translation file. Per target
  the event for sentence n goes out before the one for n+1.
* **Partials** (optional) translate the interim text only when nothing else is waiting: no final
  queued or being translated, no other partial in flight, and room on the worker
  (``try_submit``); otherwise the interim is skipped and counted in :attr:`LiveTranslation.skipped`.
  A partial is dropped (:attr:`LiveTranslation.superseded`) when its sentence has been finalised
  meanwhile, so a partial never follows the final translation of its own sentence; one still
  waiting for the worker then is not generated at all, but one already generating delays the
  next final by that generation (seconds). Partials need ``Transcription.OutputLevel`` 2 too
  (they translate TranscriptionResultChanged events), and only the text route has them.
* **Stop**: the handler awaits :meth:`LiveTranslation.drain` before TranscriptionCompleted, so
  every final's translation is sent first; the wait is bounded by :data:`DRAIN_TIMEOUT_S`
  (sentences not translated by then get no event and no text in the Translation file, with a
  warning logged).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from tingwu_nb.contract import events as ev
from tingwu_nb.emulator.analysis.translate import Translator
from tingwu_nb.emulator.store import TaskRecord

__all__ = ["DRAIN_TIMEOUT_S", "MAX_BATCH", "LiveTranslation", "live_translation"]

log = logging.getLogger("tingwu_nb.emulator.realtime")

#: Most final sentences translated by one job on the analysis worker.
MAX_BATCH = 8
#: After StopTranscription, the longest wait for pending translations before TranscriptionCompleted.
DRAIN_TIMEOUT_S = 600.0

Send = Callable[[list[ev.ResultTranslated]], Awaitable[None]]


def live_translation(record: TaskRecord, speech_engine: Any, analysis: Any, send: Send, *,
                     on_error: Callable[[BaseException], Awaitable[None]], interim_sent: bool) -> LiveTranslation | None:
    """The live translation of a stream of ``record``, or ``None`` when the task asks for none.

    The text route (language model) when ``analysis`` (the AnalysisService) uses the model,
    else the speech route (Whisper, into English). ``interim_sent``: the stream sends
    TranscriptionResultChanged (Transcription.OutputLevel 2); partials also need
    Translation.OutputLevel 2.
    """
    params = record.parameters or {}
    options = params.get("Translation") or {}
    targets = options.get("TargetLanguages") or []
    if not params.get("TranslationEnabled") or not targets:
        return None
    translator = Translator(source=record.language, targets=targets, hints=record.input.get("LanguageHints"),
                            text_engine=analysis.engine if analysis.uses_llm else None,
                            speech_engine=speech_engine, sample_rate=record.sample_rate)
    return LiveTranslation(translator, analysis.worker, send, on_error=on_error,
                           partials=interim_sent and options.get("OutputLevel") == 2)


@dataclass
class _Pending:
    end: ev.SentenceEnd
    sentence: dict[str, Any]  # the record's sentence dict; its "translations" is filled in
    audio: np.ndarray | None


class LiveTranslation:
    """The translation side of one stream; call :meth:`aclose` when the stream ends.

    Args:
        translator: does the blocking work (:class:`~tingwu_nb.emulator.analysis.translate.Translator`).
        worker: the emulator's :class:`~tingwu_nb.emulator.analysis.worker.AnalysisWorker`.
        send: sends a list of events (stamping and flushing them) from the event loop.
        on_error: called with the exception when translating a final raises; the consumer stops.
        partials: translate interims (Translation.OutputLevel 2, text route only).
    """

    def __init__(self, translator: Translator, worker: Any, send: Send, *,
                 on_error: Callable[[BaseException], Awaitable[None]], partials: bool = False) -> None:
        self.translator = translator
        self.worker = worker
        self._send = send
        self._on_error = on_error
        self.partials = partials and translator.uses_text
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._consumer: asyncio.Task[None] | None = None
        self._partial: asyncio.Task[None] | None = None
        self._busy = False
        self._last_final = -1  # index of the last SentenceEnd handed to final()
        self.finals = 0  # final sentences translated and sent
        self.sent_partials = 0
        self.skipped = 0  # interims not translated because the worker was busy
        self.superseded = 0  # partial translations dropped because their sentence ended first

    @property
    def targets(self) -> tuple[str, ...]:
        return self.translator.targets

    def final(self, end: ev.SentenceEnd, sentence: dict[str, Any], audio: np.ndarray | None) -> None:
        """Queue the translation of a SentenceEnd already sent (``end`` carries its message_id)."""
        self._last_final = max(self._last_final, end.index)
        self._queue.put_nowait(_Pending(end, sentence, audio if not self.translator.uses_text else None))
        if self._consumer is None:
            self._consumer = asyncio.create_task(self._consume())

    def interim(self, changed: ev.TranscriptionResultChanged) -> None:
        """Translate an interim result if the worker is idle; otherwise count it as skipped."""
        if not self.partials or not changed.result:
            return
        idle = not self._busy and self._queue.empty() and (self._partial is None or self._partial.done())
        future = self.worker.try_submit(self._translate_partial, changed.index, changed.result) if idle else None
        if future is None:
            self.skipped += 1
            return
        self._partial = asyncio.create_task(self._send_partial(changed, asyncio.wrap_future(future)))

    async def drain(self, timeout_s: float = DRAIN_TIMEOUT_S) -> None:
        """Wait until every queued final has been translated and sent (at most ``timeout_s``)."""
        if self._consumer is None:
            return
        try:
            await asyncio.wait_for(self._queue.join(), timeout=timeout_s)
        except asyncio.TimeoutError:
            log.warning("live translation: %d sentences still untranslated after %g s; they get no translation",
                        self._queue.qsize() + self._busy, timeout_s)
        if self._partial is not None and not self._partial.done():
            self._partial.cancel()

    async def aclose(self) -> None:
        """Stop the consumer and any partial (a job already on the worker finishes unseen)."""
        log.info("live translation: %d finals sent; partials: %d sent, %d skipped (worker busy), %d superseded",
                 self.finals, self.sent_partials, self.skipped, self.superseded)
        tasks = [t for t in (self._consumer, self._partial) if t is not None and not t.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _consume(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            self._busy = True
            texts, audio = [p.sentence["text"] for p in batch], [p.audio for p in batch]
            for target in self.targets:  # one job per target: the first language goes out sooner
                try:
                    results = await self.worker.run(self.translator.translate, texts, audio, (target,))
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - reported to the stream (TaskFailed), then stop
                    self._busy = False
                    while not self._queue.empty():  # nothing more will be translated: release drain()
                        batch.append(self._queue.get_nowait())
                    for _ in batch:
                        self._queue.task_done()
                    await self._on_error(exc)
                    return
                for pending, translations in zip(batch, results):
                    pending.sentence.setdefault("translations", {})[target] = translations[target]
                await self._send([self._event(p, target, r[target]) for p, r in zip(batch, results)])
            self.finals += len(batch)
            self._busy = False
            for _ in batch:
                self._queue.task_done()

    def _event(self, pending: _Pending, target: str, text: str) -> ev.ResultTranslated:
        end, sentence = pending.end, pending.sentence
        return ev.ResultTranslated(
            source_message_id=end.message_id, source_lang=self.translator.language_of(sentence["text"]),
            target_lang=target, speaker_id=end.speaker_id,
            items=(ev.TranslatedItem(text=text, index=end.index, begin_time_ms=sentence["start_ms"],
                                     end_time_ms=sentence["end_ms"]),))

    def _translate_partial(self, index: int, text: str) -> list[dict[str, str]] | None:
        """On the worker: ``None`` without generating when the sentence ended while the job waited."""
        return None if index <= self._last_final else self.translator.translate([text])

    async def _send_partial(self, changed: ev.TranscriptionResultChanged,
                            result: Awaitable[list[dict[str, str]] | None]) -> None:
        try:
            translations = await result
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - partials are optional: a failed one is just not sent
            log.debug("live translation: partial failed", exc_info=True)
            return
        if translations is None or changed.index <= self._last_final:
            self.superseded += 1  # its sentence ended meanwhile: the final translation supersedes it
            return
        source = self.translator.language_of(changed.result)
        await self._send([ev.ResultTranslated(
            source_message_id=changed.message_id, source_lang=source, target_lang=target,
            items=(ev.TranslatedItem(text=translations[0].get(target, ""), index=changed.index, partial=True),),
        ) for target in self.targets])
        self.sent_partials += 1
