"""Every UNCONFIRMED choice the emulator makes, in one place, and its configuration.

The specs (the project's ``shared/spec/`` folder) mark what no primary source pins down as
UNCONFIRMED. Clients must tolerate either reading; the emulator picks one, listed
here with the spec section it settles, and a test or a user can switch it::

    config = EmulatorConfig.generate(choices=ContractChoices(throttle_status=429))

Section references: ``rest §x`` = ``tingwu-rest-api.md``, ``rt §x`` =
``tingwu-realtime-protocol.md``.

Not a choice: the join URL answers a handshake that repeats ``Sec-WebSocket-Key`` /
``-Version`` (the official NLS SDK's) from the FIRST key, as the cloud must (``handshake.py``).
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal
from urllib.parse import urlsplit

from tingwu_nb.client.pacing import MAX_SPEED
from tingwu_nb.client.ratelimit import DEFAULT_QPS
from tingwu_nb.emulator.faults import FaultPlan

__all__ = ["ContractChoices", "EmulatorConfig", "host_of"]

_ALNUM = string.ascii_letters + string.digits


def _random_alnum(n: int) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(n))


@dataclass(frozen=True)
class ContractChoices:
    """The emulator's answer to each UNCONFIRMED point of the contract."""

    # ---- REST (read by emulator/rest.py) --------------------------------------
    # rest §1.1 / §10.10: help-center examples say "success", the API reference "Success.".
    success_message: str = "success"
    # rest §1.1: official examples use both upper-case dashed GUIDs and lower-case UUIDs;
    # callbacks use 32 hex. One of "uuid-upper", "uuid-lower", "hex32".
    request_id_style: Literal["uuid-upper", "uuid-lower", "hex32"] = "uuid-upper"
    # rest §5.1 / §10.5: gateway error bodies carry HostId and Recommend besides Code/Message/RequestId.
    error_body_extras: bool = True
    # rest §5.3 / §10.5: Throttling.User is HTTP 400 in most Alibaba products, 429 in some.
    throttle_status: int = 400
    # rest §5.1: tea-openapi honours x-acs-retry-after; whether Tingwu sends it is unknown (seconds).
    throttle_retry_after_s: float | None = None
    # rest §3 / §10.6: unknown TaskId -> HTTP 200 with TaskStatus "INVALID" ("invalid"),
    # or an HTTP error ("error", using unknown_task_status/code below).
    unknown_task: Literal["invalid", "error"] = "invalid"
    unknown_task_status: int = 404
    unknown_task_code: str = "BRK.InvalidTaskId"  # invented code; message "Invalid task id."
    # rest §2.4 / §10.4: whether the stop response echoes TaskKey; whether start includes TaskStatus.
    stop_includes_task_key: bool = True
    start_includes_task_status: bool = True
    # rest §2.4: stopping a task that is not streaming. Not documented at all; the emulator
    # answers with this error (set repeat_stop_idempotent=True to answer success instead).
    repeat_stop_idempotent: bool = False
    repeat_stop_status: int = 400
    repeat_stop_code: str = "BRK.InvalidTaskStatus"  # invented; message "Task is not ongoing."
    # rest §2 query "type"/"operation" and bodies that are not JSON objects; no documented code.
    invalid_parameter_code: str = "InvalidParameter"
    # rest §9: phrases API errors, none documented (emulator/phrases.py). An unknown PhraseId, in the
    # phrases APIs and as CreateTask's Parameters.Transcription.PhraseId; an 11th list per account.
    unknown_phrase_status: int = 400
    unknown_phrase_code: str = "BRK.InvalidPhraseId"  # invented; message "Invalid phrase id."
    phrase_quota_code: str = "BRK.PhraseQuotaExceeded"  # invented
    # rest §6.4 step 6: x-acs-action that does not match the route; no documented code.
    action_mismatch_status: int = 400
    action_mismatch_code: str = "InvalidAction.Mismatch"
    # rest §3: presigned result links live 30 days; each GetTaskInfo returns fresh ones.
    result_url_ttl_s: float = 30 * 24 * 3600.0
    # rest §3: result links may be plain http in examples.
    result_url_scheme: Literal["request", "http", "https"] = "request"
    # rest §3: a FAILED task shows no Result (True would expose what was produced before failing).
    failed_task_shows_results: bool = False
    # rest §3 / §5.4: ErrorCode when post-processing raises without a code of its own.
    postprocess_error_code: str = "TSC.PostProcessFailed"  # invented
    # rest §2.4: time between post-processing finishing and COMPLETED (small so tests are quick).
    postprocess_delay_s: float = 0.5
    # rest §4.2 / §10.1: Translation file layout. "paragraphs" = Translation.Paragraphs[].Sentences[]
    # for a single target; "per-language" = Translation.{<lang>: {Paragraphs: [...]}}.
    translation_layout: Literal["paragraphs", "per-language"] = "paragraphs"
    # rest §3: a realtime task never stopped is force-ended after 24 h; the resulting status is unknown.
    max_record_s: float = 24 * 3600.0
    # rest §2.2: languages valid only at 16 kHz (cn/en also accept 8 kHz).
    languages_16k_only: frozenset[str] = frozenset({"ja", "yue", "ko", "multilingual"})

    # ---- Realtime WebSocket (read by the WebSocket handler) ------------------------
    # rt §2.3: Tingwu samples index the first sentence 0; NLS docs say 1.
    sentence_index_base: int = 0
    # rt §2.3 / §2.9: SentenceBegin is also emitted with OutputLevel 1 (final results only).
    sentence_begin_at_level1: bool = True
    # rt §2.5: fields present in NLS events but absent from Tingwu sample JSON.
    emit_begin_time: bool = True
    emit_confidence: bool = True
    emit_speaker_id: bool = True
    # rt §1.3: NLS keys in the StartTranscription payload. Tingwu takes the audio settings from
    # CreateTask (format/sample_rate in the payload are ignored); ``max_sentence_silence``
    # (200–6000 ms) is honoured for sentence cutting when True. Audio sent before
    # TranscriptionStarted is dropped, as the official SDKs never send it (rt §1.4).
    honour_max_sentence_silence: bool = True
    # rt §2.5: "stash_result" is never emitted: the recogniser finalises a sentence at a VAD
    # endpoint, so no text of the next sentence has been heard yet (clients must not need it).
    # rt §5.3: no data or command for this long -> TaskFailed 40000004 IDLE_TIMEOUT.
    idle_timeout_s: float = 10.0
    # rt §5.3: WebSocket ping frames do NOT reset the idle timer: uvicorn answers pings below
    # the ASGI app, so only audio and commands count (the stricter reading; not switchable).
    # rt §5.2: fastest accepted audio rate as a multiple of real time (None = accept any rate).
    # The cloud's limit is UNCONFIRMED ("real-time or near-real-time"); the emulator accepts up
    # to tingwu_nb.client.pacing.MAX_SPEED (10x), the speed the toolkit's "max" sends at. Measured from
    # TranscriptionStarted as a leaky bucket (emulator/runtime.py SpeedGuard) that lets audio run
    # ``max_speed_burst_s`` ahead of the limit and banks as much credit while the client is
    # slower. Exceeding it: TaskFailed 40000000 "Gateway:CLIENT_ERROR:Audio is sent faster than
    # 10x real time!" and the socket closes. rt §3 documents no code for over-speed; the generic
    # client error is the closest (41040201 GET_CLIENT_DATA_TIMEOUT means audio *not* continuous).
    max_speed_factor: float | None = MAX_SPEED
    max_speed_burst_s: float = 5.0
    # Credit banked while audio arrives slower than the limit. It must cover the emulator's own
    # event-loop stalls on a loaded machine: frames the client paced at 10x but that the server
    # reads in one batch after a 2 s stall are 20 s "ahead" (a grid at max speed under heavy load
    # failed that way with the credit equal to the burst). 30 s absorbs 3 s stalls at 10x; a
    # client that paused cannot then send more than 35 s of audio back to back.
    max_speed_credit_s: float = 30.0
    # rt §2.8: close code the server uses right after TaskFailed.
    close_code_after_failure: int = 1000
    # rt §5.4: a second connection to the same task after the first one closed.
    allow_sequential_reconnect: bool = True
    # rt §5.4: sentence times continue from where the previous connection ended.
    time_continues_across_reconnect: bool = True
    # rt §5.4 (UNCONFIRMED): what a connection that ends without TranscriptionCompleted (a
    # dropped socket) leaves in the record. "last_final": audio after the last SentenceEnd that
    # was sent is discarded (never finalised), so the next connection continues sentence times
    # from the end of that sentence, and a client that replays its unconfirmed audio from there
    # gets one continuous timeline (tingwu_nb.client.resilient). "received": every received
    # sample is kept and times continue after it (a replaying client must re-base them).
    reconnect_resume: Literal["last_final", "received"] = "last_final"
    # rt §1.1 / §8: unknown mc token -> "http403" (refuse the upgrade) or "taskfailed" (accept,
    # send TaskFailed 40000001 ACCESS_DENIED, close). A stopped task or a second concurrent
    # stream is always refused with HTTP 403.
    unknown_mc: Literal["http403", "taskfailed"] = "http403"

    # ---- Progressive callbacks (rest §5.7 / §10.7; read by emulator/callbacks.py) ----------
    # Sent only for tasks started with Input.ProgressiveCallbacksEnabled=true, and only when
    # EmulatorConfig.callback_url is set (the AppKey's console setting). Body: the GetTaskInfo
    # response envelope {Code, Message, RequestId, Data} (documented), one message each time a
    # Result key becomes ready (TaskStatus ONGOING, partial Result) and one when the task ends
    # (COMPLETED, or FAILED with ErrorCode/ErrorMessage). Headers: Content-Type only; no
    # signature (none is documented). Messages of one task go out in order, one at a time, so
    # the last one delivered is the terminal one; each message has its own retry schedule.
    # rest §5.7: the callback RequestId example is 32 hex without dashes.
    callback_request_id_style: Literal["uuid-upper", "uuid-lower", "hex32"] = "hex32"
    # rest §5.7: the receiver must answer within 5 s, or the delivery counts as failed.
    callback_timeout_s: float = 5.0
    # rest §5.7: "one retry after 5 s, then every 5 minutes, at most 3 retries in total": the
    # emulator reads the 5-s retry as one of the 3 (delays before retry 1, 2, 3). The other
    # reading is (5.0, 300.0, 300.0, 300.0); tests use short delays.
    callback_retry_delays_s: tuple[float, ...] = (5.0, 300.0, 300.0)
    # rest §10.7: which answer counts as delivered is undocumented: any 2xx ("2xx") or only 200.
    callback_accept: Literal["2xx", "200"] = "2xx"

    # ---- Post-meeting results (read by emulator/analysis/pipeline.py and documents.py) -----
    # rest §4.4: whether MeetingAssistance keys of Types not requested are omitted ("omit") or
    # written empty ("empty"). Classifications (scene) is always written: it is part of the output.
    assistance_unrequested: Literal["omit", "empty"] = "omit"
    # rest §5.6 features page: below the minimum transcript length (characters of the text,
    # spaces included: chapters, full summary, speaker summary and mind map 250, Q&A 300,
    # keywords and key sentences 200) the part is written with empty content ("empty": [] or "")
    # or left out of its document ("omit"). Nothing is ever invented for a short recording. The
    # same rule covers Conversational without diarization (nothing to summarise per speaker).
    below_minimum: Literal["empty", "omit"] = "empty"
    minimum_chars: tuple[tuple[str, int], ...] = (
        ("AutoChapters", 250), ("Paragraph", 250), ("Conversational", 250), ("MindMap", 250),
        ("QuestionsAnswering", 300), ("KeyInformation", 200))
    # rest §2.3.6: Summarization enabled with no Types. "refuse" (the SDK calls Types required)
    # or "all" (every type; Conversational only with diarization).
    summarization_without_types: Literal["refuse", "all"] = "refuse"
    # rest §4.5 / §10.3: Summarization.ParagraphTitle (seen in live parsers, in no doc) is written.
    summary_paragraph_title: bool = True
    # rest §4.5 / §10.3: MindMapSummary leaves carry BeginTime (ms; DashScope's beginTime).
    mindmap_leaf_begin_time: bool = True
    # rest §4.9 / §10.2 — INVENTED layout, no sample exists: {"ServiceInspection": [{"Title",
    # "Content", "Passed", "Score", "SentenceIds", "Reason"}]}, one item per InspectionContents
    # entry in request order ("list"), or {"ServiceInspection": {Title: item}} ("by-title").
    inspection_layout: Literal["list", "by-title"] = "list"
    # rest §4.10 / §10.2 — INVENTED layouts (fixed): {"IdentityRecognition": [{"SpeakerId",
    # "Identity" (a requested Name, or null), "SentenceIds"}]}, one item per speaker; and
    # {"ContentExtraction": [{"Title", "Value" ("" when not found), "SentenceIds", "Identity"
    # (only when tied to one)}]}, one item per ExtractionContents entry in request order.
    # rest §2.3.11: PptExtraction needs an offline video; a realtime task gives no output. "ignore"
    # accepts the switch and writes no PptExtraction result (as the cloud); "refuse" answers
    # Emulator.Unsupported at CreateTask.
    ppt_extraction_realtime: Literal["ignore", "refuse"] = "ignore"

    def with_(self, **changes: Any) -> ContractChoices:
        """Return a copy with ``changes`` applied (``dataclasses.replace``)."""
        return replace(self, **changes)


@dataclass
class EmulatorConfig:
    """Who may call the emulator and how it behaves.

    ``keys`` maps AccessKey id -> secret; ``sts_tokens`` maps an STS AccessKey id ->
    its security token (that key's secret is in ``keys`` too). ``url_signing_key``
    signs result URLs and is random per instance. The repr shows key ids only.
    """

    app_key: str
    keys: Mapping[str, str] = field(repr=False)
    sts_tokens: Mapping[str, str] = field(default_factory=dict, repr=False)
    choices: ContractChoices = field(default_factory=ContractChoices)
    qps: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_QPS))  # rest §5.5
    verify_signatures: bool = True
    # What the emulator does not compute (Transcoding.SpectrumEnabled; PptExtraction with
    # choices.ppt_extraction_realtime="refuse") is refused at CreateTask (Emulator.Unsupported)
    # so nobody mistakes a missing result for an empty one; False accepts and ignores it. Every
    # other post-meeting feature is computed (emulator/analysis/pipeline.py); CustomPrompt needs
    # the language model and is refused with the extractive engine whatever this says. Transcription knobs that only tune recognition (Model,
    # DisfluencyEnabled, ProfanityFilterEnabled, AudioEventDetectionEnabled) are accepted and
    # ignored either way; PhraseId biases recognition (emulator/phrases.py).
    refuse_unsupported_features: bool = True
    # Which analysis engine computes the post-meeting results and text translation
    # (emulator/analysis/service.py): "auto" = the offline language model when it has been
    # prepared (`tingwu-nb prepare-models`), else the extractive engine; "llm" = the model or
    # refuse to start; "extractive" = never load the model (fast, no custom prompts).
    analysis_engine: Literal["auto", "llm", "extractive"] = "auto"
    # Which speech engine recognises the streams: "whisper" (emulator/engine/engine.py, models
    # loaded on first use) or "loadtest" (emulator/engine/loadtest.py: sentences found by energy,
    # texts "[speech 2.4 s]", no words, no model loaded) for load-testing a client cheaply.
    speech_engine: Literal["whisper", "loadtest"] = "whisper"
    # At most this many analysis jobs wait for the one analysis thread (AnalysisWorker).
    analysis_max_pending: int = 64
    # where each task's received audio is spooled (emulator/spool.py, nameless temporary files);
    # None: the system temp dir. Audio is never kept in memory (a day of 16 kHz pcm is 2.7 GB).
    spool_dir: str | None = None
    # faults injected into every task (emulator/faults.py); Emulator.inject overrides one task's
    faults: FaultPlan = field(default_factory=FaultPlan)
    url_signing_key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    # rest §5.7: the HTTP callback URL of this AppKey (in the cloud a console setting, not an API
    # parameter). None: ProgressiveCallbacksEnabled is accepted and nothing is sent. It may be set
    # on a running emulator (read at each message). It is a capability (e.g. the ``token`` of a
    # tingwu_nb.client.callbacks.CallbackReceiver): the repr and the emulator's logs show its host only.
    callback_url: str | None = field(default=None, repr=False)

    @classmethod
    def generate(cls, *, with_sts: bool = False, **overrides: Any) -> EmulatorConfig:
        """Make a config with fresh random AppKey and AccessKey (and STS key if asked).

        Keys are generated at run time and never stored in source.
        """
        keys = {"LTAI" + _random_alnum(16): _random_alnum(30)}
        tokens = {}
        if with_sts:
            sts_id = "STS." + _random_alnum(24)
            keys[sts_id] = _random_alnum(40)
            tokens[sts_id] = _random_alnum(64)
        values: dict[str, Any] = {"app_key": _random_alnum(16), "keys": keys, "sts_tokens": tokens}
        values.update(overrides)
        return cls(**values)

    def credentials(self, access_key_id: str | None = None) -> Any:
        """Return ``tingwu_nb.config.Credentials`` for one configured key (default: the first).

        An STS key comes with its security token.
        """
        from tingwu_nb.config import Credentials

        key_id = access_key_id or next(k for k in self.keys if k not in self.sts_tokens)
        return Credentials(
            access_key_id=key_id,
            access_key_secret=self.keys[key_id],
            security_token=self.sts_tokens.get(key_id),
            source="emulator",
        )

    def __repr__(self) -> str:
        return (
            f"EmulatorConfig(app_key={self.app_key!r}, key_ids={sorted(self.keys)!r}, "
            f"sts_key_ids={sorted(self.sts_tokens)!r}, qps={dict(self.qps)!r}, "
            f"verify_signatures={self.verify_signatures!r}, callback={host_of(self.callback_url)!r}, "
            f"choices={self.choices!r})"
        )


def host_of(url: str | None) -> str | None:
    """``scheme://host:port`` of ``url`` (no user info, path or query), or None."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port
    except ValueError:
        return "<invalid URL>"
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")
