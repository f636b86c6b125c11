"""The emulator's WebSocket join URL: the server role of the realtime protocol, driven for real.

One :class:`StreamHandler` per connection. A receive loop feeds text and binary frames to
:class:`tingwu_nb.contract.server_session.ServerSession` (which validates commands and ids), enforces the
idle timeout, decodes the task's stream format and enforces the sending speed limit
(:class:`~tingwu_nb.emulator.runtime.SpeedGuard`), and spools the audio to the task's file
(``TaskRecord.pcm``). A worker reads it back and feeds it to the streaming recogniser in chunks of at most :data:`FEED_CHUNK_MS` on the app's decode threads
(:class:`~tingwu_nb.emulator.runtime.StreamRuntime`) and sends the SentenceBegin /
TranscriptionResultChanged / SentenceEnd events after each chunk, so finals keep flowing
while audio arrives faster than it is recognised; while such a backlog exists, interim
re-decodes are skipped. Every choice the spec leaves open is read from
:class:`~tingwu_nb.emulator.contract.ContractChoices`. Translation runs on the analysis worker
(:mod:`~tingwu_nb.emulator.realtime_translation`), finishing before TranscriptionCompleted.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from starlette.websockets import WebSocket, WebSocketDisconnect

from tingwu_nb.contract import events as ev
from tingwu_nb.contract.server_session import ServerSession
from tingwu_nb.emulator.contract import ContractChoices
from tingwu_nb.emulator.engine.codecs import DecodeError, StreamDecoder
from tingwu_nb.emulator.engine.diarize import OnlineDiarizer
from tingwu_nb.emulator.engine.loadtest import LoadTestRecognizer
from tingwu_nb.emulator.engine.recognizer import Final, Interim, SpeechStart, StreamingRecognizer
from tingwu_nb.emulator.faults import DROP_CLOSE_CODE, FaultState
from tingwu_nb.emulator.outbox import Outbox
from tingwu_nb.emulator.realtime_translation import live_translation
from tingwu_nb.emulator.runtime import (
    SHUTDOWN_STATUS,
    SHUTDOWN_TEXT,
    ShuttingDown,
    SpeedGuard,
    StreamRuntime,
)
from tingwu_nb.emulator.store import TaskRecord

__all__ = ["FEED_CHUNK_MS", "StreamHandler"]


_STOP = object()
#: rt §3 / §5.2: no code is documented for audio sent too fast; the generic client error is the
#: closest (41040201 is for audio *not* sent continuously). See ContractChoices.max_speed_factor.
TOO_FAST_STATUS = 40000000
TOO_FAST_TEXT = "Gateway:CLIENT_ERROR:Audio is sent faster than {limit:g}x real time!"
IDLE_TEXT = "Gateway:IDLE_TIMEOUT:Websocket session is idle for too long time, the last directive is '{}'!"
#: TaskFailed when recognising, diarizing or translating raises (rt §3: the server-error class).
RECOGNITION_FAILED_STATUS = 50000000
RECOGNITION_FAILED_TEXT = "Realtime:SERVER_ERROR:Recognition failed: {}"
#: Most stream audio given to the recogniser in one call: finals of a backlog go out every chunk.
FEED_CHUNK_MS = 1000


def _transcription_options(record: TaskRecord) -> dict[str, Any]:
    return dict((record.parameters or {}).get("Transcription") or {})


class StreamHandler:
    """Serves one WebSocket connection for one task record."""

    def __init__(
        self,
        ws: WebSocket,
        record: TaskRecord,
        *,
        engine: Any,
        choices: ContractChoices,
        runtime: StreamRuntime,
        analysis: Any,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ws = ws
        self.record = record
        self.engine = engine
        self.choices = choices
        self.runtime = runtime
        self.clock = clock
        self.decoder = StreamDecoder(record.format, record.sample_rate)
        self.guard: SpeedGuard | None = None  # set at StartTranscription
        self.session = ServerSession()
        self.queue: asyncio.Queue = asyncio.Queue()
        options = _transcription_options(record)
        self.level = int(options.get("OutputLevel") or 1)
        if options.get("DiarizationEnabled") and record.live_diarizer is None:
            record.live_diarizer = OnlineDiarizer(
                sample_rate=record.sample_rate,
                speaker_count=(options.get("Diarization") or {}).get("SpeakerCount") or None)
        self.diarizer = record.live_diarizer if options.get("DiarizationEnabled") else None
        self.translation = live_translation(record, engine, analysis, self._send_translated,
                                            on_error=self._translation_failed, interim_sent=self.level >= 2)
        # Sequential reconnects continue indexes (and optionally time) where the last stream stopped.
        self.pcm_offset = len(record.pcm) // 2  # samples received by earlier streams
        continues = choices.time_continues_across_reconnect
        self.time_offset_ms = self.pcm_offset * 1000 // record.sample_rate if continues else 0
        self.index_offset = len(record.sentences)
        self.recognizer: StreamingRecognizer | None = None
        self.faults: FaultState = record.faults if record.faults is not None else FaultState()
        # writes the events (delayed/reordered/stalled by the plan); counts sentences whose SentenceEnd went out
        self.outbox = Outbox(self._send_text, self.faults.plan, sent_upto=len(record.sentences), rng=self.faults.rng())
        self._dropped = False
        self._receiver: asyncio.Task | None = None
        self._abort_reason: tuple[int, str] | None = None
        self._done = asyncio.Event()

    # --- the two loops ---------------------------------------------------------------

    async def run(self) -> None:
        """Accept, serve until completion/failure/disconnect/:meth:`abort`, then close."""
        await self.ws.accept()
        self.record.stream_active = True
        self.runtime.add(self)
        worker = asyncio.create_task(self._work())
        self._receiver = asyncio.create_task(self._receive_loop(worker))
        try:
            await asyncio.wait([self._receiver])
            if self._receiver.cancelled() and self._abort_reason is not None:
                await self._fail(*self._abort_reason)
            else:
                self._receiver.result()
        finally:
            self.record.stream_active = False
            self.runtime.discard(self)
            if not worker.done():
                worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)
            if self.translation is not None:
                await self.translation.aclose()
            await self.outbox.drain()  # delayed or held events go out before the close
            if not self.session.finished and self.choices.reconnect_resume == "last_final" \
                    and self.choices.time_continues_across_reconnect:
                self.record.rewind(self.outbox.sent_upto)  # the next connection resumes there
            if self.record.phase == "done":  # stopped and post-processed while this stream lingered
                await self.record.release_audio_off_loop()
            await self._close(DROP_CLOSE_CODE if self._dropped else None)
            await self.outbox.aclose()
            self._done.set()

    async def abort(self, status: int, text: str) -> None:
        """End the stream now with TaskFailed ``status``/``text`` (emulator shutdown); returns when closed."""
        self._abort_reason = (status, text)
        if self._receiver is not None:
            self._receiver.cancel()
            await self._done.wait()

    async def _receive_loop(self, worker: asyncio.Task) -> None:
        while not self.session.finished:
            try:
                message = await asyncio.wait_for(self.ws.receive(), timeout=self.choices.idle_timeout_s)
            except asyncio.TimeoutError:
                await self._fail(40000004, IDLE_TEXT.format(self.session.last_directive or "None"))
                return
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") is not None:
                if await self._on_text(message["text"]):
                    if not self.session.finished:
                        await worker  # Stop: drain every final, then TranscriptionCompleted
                        await self._linger()
                    return
            elif message.get("bytes") is not None:
                if await self._on_audio(message["bytes"]):
                    return

    async def _on_text(self, text: str) -> bool:
        """Handle commands; True once StopTranscription arrived (or the stream failed on it)."""
        commands = self.session.receive_text(text)
        await self._flush()
        for command in commands:
            if isinstance(command, ev.StartTranscription):
                self._make_recognizer(command.payload)
                self.guard = SpeedGuard(self.choices.max_speed_factor, self.choices.max_speed_burst_s * 1000,
                                        now=self.clock(), credit_ms=self.choices.max_speed_credit_s * 1000)
                self.session.started()
                await self._flush()
            elif isinstance(command, ev.StopTranscription):
                try:
                    self._queue_pcm(self.decoder.flush())
                except DecodeError as exc:
                    await self._decode_failed(exc)
                    return True
                self.queue.put_nowait(_STOP)
                return True
        return False

    async def _on_audio(self, data: bytes) -> bool:
        """Decode one binary frame, check the sending speed, queue the PCM; True ends the stream."""
        data = self.session.receive_audio(data)
        await self._flush()
        if not data:
            return False
        try:
            pcm = self.decoder.feed(data)
        except DecodeError as exc:
            await self._decode_failed(exc)
            return True
        if len(pcm) and self.guard is not None:
            if not self.guard.add(len(pcm) * 1000 / self.record.sample_rate, self.clock()):
                limit = self.choices.max_speed_factor
                await self._fail(TOO_FAST_STATUS, TOO_FAST_TEXT.format(limit=limit))
                return True
        self._queue_pcm(pcm)
        rate = self.record.sample_rate
        if self.faults.drop_due(len(self.record.pcm) / 2 / rate, (len(self.record.pcm) // 2 - self.pcm_offset) / rate):
            self._dropped = True  # injected fault: end abruptly, like a network failure
            return True
        if failed := self.faults.task_failed_due(len(self.record.pcm) / 2 / rate):
            await self._fail(*failed)  # injected TaskFailed with the plan's status and text
            return True
        if stall := self.faults.stall_due(len(self.record.pcm) / 2 / rate):
            await self.outbox.stall(stall)  # injected stall: nothing read or sent meanwhile
        return False

    def _queue_pcm(self, pcm: np.ndarray) -> None:
        """Spool the samples and tell the worker how many arrived (the queue holds counts, not
        audio: a client far ahead of recognition costs disk, not memory)."""
        if len(pcm):
            self.record.pcm.extend(pcm.astype("<i2").tobytes())
            self.queue.put_nowait(len(pcm))

    async def _decode_failed(self, exc: DecodeError) -> None:
        code = getattr(exc, "code", 40270003)
        kind = "DECODE_ERROR" if code == 40270003 else "CLIENT_ERROR"
        await self._fail(code, f"Realtime:{kind}:{exc}")

    async def _work(self) -> None:
        """Recognise queued PCM in chunks of at most FEED_CHUNK_MS, sending events after each.

        Ends with TranscriptionCompleted after StopTranscription, or TaskFailed 50000000 when
        the emulator shuts down or recognition raises (the receive loop then sees the close).
        """
        chunk = FEED_CHUNK_MS * self.record.sample_rate // 1000
        fed, backlog = self.pcm_offset, 0  # spool position of the next sample to feed; samples waiting
        stop = False
        try:
            while True:
                items = [] if backlog or stop else [await self.queue.get()]
                while not self.queue.empty():
                    items.append(self.queue.get_nowait())
                for item in items:
                    if item is _STOP:
                        stop = True
                    else:
                        backlog += item
                if backlog:
                    take = min(chunk, backlog)
                    pcm = np.frombuffer(self.record.pcm[fed * 2:(fed + take) * 2], dtype="<i2")
                    fed, backlog = fed + take, backlog - take
                    behind = bool(backlog) or not self.queue.empty()
                    await self._emit(await self.runtime.run(self.recognizer.feed, pcm, skip_interim=behind))
                elif stop:
                    await self._emit(await self.runtime.run(self.recognizer.finish))
                    if self.translation is not None:
                        await self.translation.drain()
                        if self.session.finished:  # translating failed the stream
                            return
                    self.session.complete()
                    await self._flush()
                    return
        except ShuttingDown:
            await self._fail(SHUTDOWN_STATUS, SHUTDOWN_TEXT)
        except Exception as exc:  # noqa: BLE001 - a failed decode ends the stream as the protocol says
            await self._fail(RECOGNITION_FAILED_STATUS, RECOGNITION_FAILED_TEXT.format(exc))

    # --- recognition -> events ----------------------------------------------------------

    def _make_recognizer(self, payload: Any) -> None:
        silence = 800
        wanted = payload.get("max_sentence_silence") if payload else None
        if self.choices.honour_max_sentence_silence and isinstance(wanted, int):
            silence = min(6000, max(200, wanted))
        loadtest = getattr(self.engine, "name", None) == "loadtest"  # EmulatorConfig.speech_engine
        self.recognizer = (LoadTestRecognizer if loadtest else StreamingRecognizer)(
            self.engine,
            language=self.record.language,
            sample_rate=self.record.sample_rate,
            interim=self.level >= 2,
            max_sentence_silence_ms=silence,
            language_hints=self.record.input.get("LanguageHints"),  # used with multilingual only
            hotwords=self.record.hotwords,  # Transcription.PhraseId, resolved at CreateTask
        )

    async def _emit(self, outputs: list) -> None:
        for out in outputs:
            index = self.choices.sentence_index_base + self.index_offset + out.index
            if isinstance(out, SpeechStart):
                if self.level >= 2 or self.choices.sentence_begin_at_level1:
                    self.session.send(ev.SentenceBegin(index=index, time_ms=self._t(out.start_ms)))
            elif isinstance(out, Interim):
                if self.level >= 2:
                    changed = self.session.send(ev.TranscriptionResultChanged(
                        index=index, time_ms=self._t(out.time_ms), result=out.text, words=self._shift(out.words)))
                    if self.translation is not None:
                        self.translation.interim(changed)
            elif isinstance(out, Final):
                speech = self.translation is not None and not self.translation.translator.uses_text
                segment = self._segment(out) if self.diarizer is not None or speech else None
                end = self._final(out, index, segment)
                if self.translation is not None:  # sent from the analysis worker after this SentenceEnd
                    self.translation.final(end, self.record.sentences[-1], segment)
        await self._flush()

    def _final(self, out: Final, index: int, segment: np.ndarray | None) -> ev.SentenceEnd:
        speaker = self.diarizer.add(segment) if self.diarizer is not None else None
        start_ms, end_ms = self._t(out.start_ms), self._t(out.end_ms)
        c = self.choices
        event = ev.SentenceEnd(
            index=index,
            time_ms=end_ms,
            result=out.text,
            begin_time_ms=start_ms if c.emit_begin_time else None,
            confidence=round(out.confidence, 3) if c.emit_confidence else None,
            words=self._shift(out.words),
            speaker_id=speaker if c.emit_speaker_id else None,
        )
        event = self.session.send(event)  # stamped with its message_id (ResultTranslated cites it)
        self.record.sentences.append({
            "index": index,
            "start_ms": start_ms,
            "end_ms": end_ms,
            "text": out.text,
            "words": [(w.text, w.start_ms, w.end_ms) for w in event.words],
            "speaker_id": speaker,
            "confidence": out.confidence,
            "translations": {},
        })
        return event

    async def _send_translated(self, events: list[ev.ResultTranslated]) -> None:
        """Send ResultTranslated events from LiveTranslation (dropped once the stream has ended)."""
        if self.session.finished:
            return
        for event in events:
            self.session.send(event)
        await self._flush()

    async def _translation_failed(self, exc: BaseException) -> None:
        await self._fail(RECOGNITION_FAILED_STATUS, RECOGNITION_FAILED_TEXT.format(exc))

    def _segment(self, out: Final) -> np.ndarray:
        """The int16 audio of a final sentence, cut from what this stream received."""
        rate = self.record.sample_rate
        start = self.pcm_offset + out.start_ms * rate // 1000
        end = self.pcm_offset + out.end_ms * rate // 1000
        return np.frombuffer(self.record.pcm[start * 2:end * 2], dtype="<i2")  # a copy: pcm keeps growing

    def _t(self, ms: int) -> int:
        return int(ms) + self.time_offset_ms

    def _shift(self, words: tuple) -> tuple:
        return tuple(ev.Word(w.text, self._t(w.start_ms), self._t(w.end_ms)) for w in words)

    # --- failure, pacing, closing -------------------------------------------------------

    async def _fail(self, status: int, text: str) -> None:
        """Send TaskFailed and close the socket (rt §8.8), even if the client keeps it open."""
        if not self.session.finished:
            self.session.fail(status, text)
        await self._flush()
        await self.outbox.drain()
        await self._close()

    async def _flush(self) -> None:
        await self.outbox.send(self.session.data_to_send(), len(self.record.sentences))

    async def _send_text(self, text: str) -> bool:
        try:
            await self.ws.send_text(text)
        except (WebSocketDisconnect, RuntimeError, OSError):
            return False
        return True

    async def _linger(self) -> None:
        """After TranscriptionCompleted the client closes; wait briefly for it."""
        try:
            await asyncio.wait_for(self._until_disconnect(), timeout=5.0)
        except (asyncio.TimeoutError, WebSocketDisconnect, RuntimeError, OSError):
            pass

    async def _until_disconnect(self) -> None:
        while (await self.ws.receive())["type"] != "websocket.disconnect":
            pass

    async def _close(self, code: int | None = None) -> None:
        try:
            await self.ws.close(code=code or self.choices.close_code_after_failure)
        except (RuntimeError, WebSocketDisconnect, OSError):
            pass  # already closed by the client
