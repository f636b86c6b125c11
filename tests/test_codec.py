"""The JSON codec: exact wire shapes out, tolerant reading in (spec §1-2, §9)."""

from __future__ import annotations

import json
import random

import pytest

from tingwu_nb.contract import events as ev
from tingwu_nb.contract.codec import decode, encode, from_object, split_objects
from tingwu_nb.errors import RemoteProtocolError

TASK = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
OK = {"status": 20000000, "status_text": "Gateway:SUCCESS:Success."}
WORDS = (ev.Word("今天", 480, 800), ev.Word("的", 800, 950), ev.Word("会议", 950, 1300))

# --- the spec's sample JSON, verbatim ------------------------------------------------

START_1_3 = """{"header":{"message_id":"8f0c1d2e3b4a59687766554433221100","task_id":"0a1b2c3d4e5f60718293a4b5c6d7e8f9",
           "namespace":"SpeechTranscriber","name":"StartTranscription","appkey":"default"},
 "payload":{},
 "context":{"sdk":{"name":"nls-python-sdk","version":"0.0.1","language":"python"}}}"""

STARTED_2_2 = """{"header":{"namespace":"SpeechTranscriber","name":"TranscriptionStarted","status":20000000,
           "message_id":"3c2f0e9a1b7d4c5e8f6a0b1c2d3e4f50","task_id":"0a1b2c3d4e5f60718293a4b5c6d7e8f9",
           "status_text":"Gateway:SUCCESS:Success."},
 "payload":{"session_id":"9e8d7c6b5a4f30211203f4e5d6c7b8a9"}}"""

BEGIN_2_3 = """{"header":{"namespace":"SpeechTranscriber","name":"SentenceBegin","status":20000000,
           "message_id":"5a6b7c8d9e0f11223344556677889900","task_id":"0a1b2c3d4e5f60718293a4b5c6d7e8f9",
           "status_text":"Gateway:SUCCESS:Success."},
 "payload":{"index":0,"time":0}}"""

CHANGED_2_4 = """{"header":{"namespace":"SpeechTranscriber","name":"TranscriptionResultChanged","status":20000000,
           "message_id":"6b7c8d9e0f1122334455667788990011","task_id":"0a1b2c3d4e5f60718293a4b5c6d7e8f9",
           "status_text":"Gateway:SUCCESS:Success."},
 "payload":{"index":0,"time":1620,"result":"今天的会议",
            "words":[{"text":"今天","startTime":480,"endTime":800},
                     {"text":"的","startTime":800,"endTime":950},
                     {"text":"会议","startTime":950,"endTime":1300}]}}"""

END_2_5 = """{"header":{"namespace":"SpeechTranscriber","name":"SentenceEnd","status":20000000,
           "message_id":"7c8d9e0f112233445566778899001122","task_id":"0a1b2c3d4e5f60718293a4b5c6d7e8f9",
           "status_text":"Gateway:SUCCESS:Success."},
 "payload":{"index":0,"time":2100,"begin_time":0,"result":"今天的会议开始。","confidence":0.93,
            "words":[{"text":"今天","startTime":480,"endTime":800},
                     {"text":"的","startTime":800,"endTime":950},
                     {"text":"会议","startTime":950,"endTime":1300},
                     {"text":"开始","startTime":1300,"endTime":1700}],
            "speaker_id":"1",
            "stash_result":{"index":1,"beginTime":1700,"currentTime":2100,"text":"首先",
                            "words":[{"text":"首先","startTime":1750,"endTime":2050}]}}}"""

TRANSLATED_2_6 = """{"header":{"namespace":"SpeechTranscriber","name":"ResultTranslated","status":20000000,
           "message_id":"8d9e0f11223344556677889900112233","task_id":"0a1b2c3d4e5f60718293a4b5c6d7e8f9",
           "status_text":"Gateway:SUCCESS:Success.","source_message_id":"7c8d9e0f112233445566778899001122"},
 "payload":{"speaker_id":"1","source_lang":"cn","target_lang":"en",
            "translate_result":[{"text":"Today's meeting begins.","index":0,"beginTime":0,"endTime":2100},
                                {"text":"First","index":1,"partial":true}]}}"""

COMPLETED_2_7 = """{"header":{"namespace":"SpeechTranscriber","name":"TranscriptionCompleted","status":20000000,
           "message_id":"9e0f1122334455667788990011223344","task_id":"0a1b2c3d4e5f60718293a4b5c6d7e8f9",
           "status_text":"Gateway:SUCCESS:Success."}}"""

FAILED_2_8 = """{"header":{"namespace":"Default","name":"TaskFailed","status":40000004,
           "message_id":"0f112233445566778899001122334455","task_id":"0a1b2c3d4e5f60718293a4b5c6d7e8f9",
           "status_text":"Gateway:IDLE_TIMEOUT:Websocket session is idle for too long time, the last directive is 'StartTranscription'!"}}"""

SPEC_SAMPLES = [
    (
        START_1_3,
        ev.StartTranscription(
            message_id="8f0c1d2e3b4a59687766554433221100",
            task_id=TASK,
            payload={},
            context={"sdk": {"name": "nls-python-sdk", "version": "0.0.1", "language": "python"}},
        ),
    ),
    (
        STARTED_2_2,
        ev.TranscriptionStarted(
            message_id="3c2f0e9a1b7d4c5e8f6a0b1c2d3e4f50",
            task_id=TASK,
            session_id="9e8d7c6b5a4f30211203f4e5d6c7b8a9",
        ),
    ),
    (
        BEGIN_2_3,
        ev.SentenceBegin(message_id="5a6b7c8d9e0f11223344556677889900", task_id=TASK, index=0, time_ms=0),
    ),
    (
        CHANGED_2_4,
        ev.TranscriptionResultChanged(
            message_id="6b7c8d9e0f1122334455667788990011",
            task_id=TASK,
            index=0,
            time_ms=1620,
            result="今天的会议",
            words=WORDS,
        ),
    ),
    (
        END_2_5,
        ev.SentenceEnd(
            message_id="7c8d9e0f112233445566778899001122",
            task_id=TASK,
            index=0,
            time_ms=2100,
            begin_time_ms=0,
            result="今天的会议开始。",
            confidence=0.93,
            words=(*WORDS, ev.Word("开始", 1300, 1700)),
            speaker_id="1",
            stash=ev.StashResult(
                index=1,
                begin_time_ms=1700,
                current_time_ms=2100,
                text="首先",
                words=(ev.Word("首先", 1750, 2050),),
            ),
        ),
    ),
    (
        TRANSLATED_2_6,
        ev.ResultTranslated(
            message_id="8d9e0f11223344556677889900112233",
            task_id=TASK,
            source_message_id="7c8d9e0f112233445566778899001122",
            speaker_id="1",
            source_lang="cn",
            target_lang="en",
            items=(
                ev.TranslatedItem("Today's meeting begins.", 0, 0, 2100),
                ev.TranslatedItem("First", 1, partial=True),
            ),
        ),
    ),
    (COMPLETED_2_7, ev.TranscriptionCompleted(message_id="9e0f1122334455667788990011223344", task_id=TASK)),
    (
        FAILED_2_8,
        ev.TaskFailed(
            namespace="Default",
            message_id="0f112233445566778899001122334455",
            task_id=TASK,
            status=40000004,
            status_text="Gateway:IDLE_TIMEOUT:Websocket session is idle for too long time, "
            "the last directive is 'StartTranscription'!",
        ),
    ),
]


@pytest.mark.parametrize(("text", "expected"), SPEC_SAMPLES, ids=[m.name for _, m in SPEC_SAMPLES])
def test_decodes_spec_sample_verbatim(text: str, expected: ev.Message) -> None:
    """Each sample JSON of spec §1.3 and §2.2-2.8 decodes to the matching dataclass."""
    assert decode(text) == [expected]


@pytest.mark.parametrize(("text", "expected"), SPEC_SAMPLES, ids=[m.name for _, m in SPEC_SAMPLES])
def test_encodes_spec_sample_exactly(text: str, expected: ev.Message) -> None:
    """Encoding the decoded sample gives back the sample's JSON value, header keys in the same order."""
    wire, ours = json.loads(text), json.loads(encode(expected))
    assert ours == wire
    assert list(ours["header"]) == list(wire["header"]) or expected.name == "StartTranscription"


# --- encode: exact shapes -------------------------------------------------------------


def test_command_header_keys_and_order() -> None:
    """Commands carry namespace, name, message_id, task_id, appkey in that order."""
    msg = ev.StopTranscription(message_id="a" * 32, task_id=TASK)
    obj = json.loads(encode(msg))
    assert list(obj["header"]) == ["namespace", "name", "message_id", "task_id", "appkey"]
    assert obj["header"]["appkey"] == "default"


def test_stop_has_no_payload() -> None:
    """StopTranscription is header only, as the official SDKs send it."""
    assert list(json.loads(encode(ev.StopTranscription(message_id="a" * 32, task_id=TASK)))) == ["header"]


def test_start_always_has_payload_and_context_only_when_set() -> None:
    """StartTranscription sends ``payload: {}`` and omits ``context`` when it is None."""
    obj = json.loads(encode(ev.StartTranscription(message_id="a" * 32, task_id=TASK)))
    assert obj["payload"] == {} and "context" not in obj
    obj = json.loads(encode(ev.StartTranscription(payload={"format": "pcm"}, context={"sdk": {}})))
    assert obj["payload"] == {"format": "pcm"} and obj["context"] == {"sdk": {}}


def test_event_header_keys_and_order() -> None:
    """Events carry namespace, name, status, message_id, task_id, status_text in that order."""
    obj = json.loads(encode(ev.SentenceBegin(index=3, time_ms=10)))
    assert list(obj["header"]) == ["namespace", "name", "status", "message_id", "task_id", "status_text"]


def test_only_result_translated_carries_source_message_id() -> None:
    """``source_message_id`` is a header key of ResultTranslated and of no other event."""
    assert "source_message_id" in json.loads(encode(ev.ResultTranslated(source_message_id="x")))["header"]
    assert (
        "source_message_id" not in json.loads(encode(ev.SentenceEnd(index=0, time_ms=0, result="")))["header"]
    )


def test_completed_and_failed_are_header_only() -> None:
    """TranscriptionCompleted and TaskFailed have no payload on the wire."""
    for msg in (ev.TranscriptionCompleted(), ev.TaskFailed(status=40000004, status_text="x")):
        assert list(json.loads(encode(msg))) == ["header"]


def test_times_are_integer_milliseconds() -> None:
    """Float millisecond values go out as JSON integers everywhere."""
    msg = ev.SentenceEnd(
        index=1,
        time_ms=2100.4,  # type: ignore[arg-type]
        begin_time_ms=99.6,  # type: ignore[arg-type]
        result="x",
        words=(ev.Word("x", 10.2, 20.7),),  # type: ignore[arg-type]
        stash=ev.StashResult(index=2, begin_time_ms=1.5, current_time_ms=2.4, text="y"),  # type: ignore[arg-type]
    )
    payload = json.loads(encode(msg))["payload"]
    assert (payload["time"], payload["begin_time"]) == (2100, 100)
    assert payload["words"] == [{"text": "x", "startTime": 10, "endTime": 21}]
    assert (payload["stash_result"]["beginTime"], payload["stash_result"]["currentTime"]) == (2, 2)
    assert all(type(v) is int for v in (payload["time"], payload["begin_time"]))


def test_none_fields_are_omitted() -> None:
    """SentenceEnd without begin_time, confidence, speaker_id or stash leaves those keys out."""
    payload = json.loads(encode(ev.SentenceEnd(index=0, time_ms=5, result="a")))["payload"]
    assert payload == {"index": 0, "time": 5, "result": "a", "words": []}
    payload = json.loads(encode(ev.ResultTranslated(target_lang="en")))["payload"]
    assert "speaker_id" not in payload


def test_stash_and_translate_item_shapes() -> None:
    """Stash and translation items use the camelCase keys of the Tingwu samples."""
    stash = ev.StashResult(index=4, begin_time_ms=1, current_time_ms=2, text="t", words=(ev.Word("t", 1, 2),))
    payload = json.loads(encode(ev.SentenceEnd(index=3, time_ms=2, result="r", stash=stash)))["payload"]
    assert payload["stash_result"] == {
        "index": 4,
        "beginTime": 1,
        "currentTime": 2,
        "text": "t",
        "words": [{"text": "t", "startTime": 1, "endTime": 2}],
    }
    items = (ev.TranslatedItem("A", 0, 0, 10), ev.TranslatedItem("B", 1, partial=True))
    payload = json.loads(encode(ev.ResultTranslated(items=items)))["payload"]
    assert payload["translate_result"] == [
        {"text": "A", "index": 0, "beginTime": 0, "endTime": 10},
        {"text": "B", "index": 1, "partial": True},
    ]


def test_non_ascii_text_is_not_escaped() -> None:
    """Chinese text is written as UTF-8 characters, not \\u escapes."""
    assert "今天" in encode(ev.SentenceBegin(index=0, time_ms=0, status_text="今天"))


def test_unknown_message_encodes_its_raw_object() -> None:
    """An UnknownMessage with ``raw`` is written back verbatim; without it, as a header-only event."""
    raw = {"header": {"name": "Pong", "namespace": "X"}, "payload": {"k": 1}}
    assert json.loads(encode(ev.UnknownMessage(wire_name="Pong", raw=raw))) == raw
    assert json.loads(encode(ev.UnknownMessage(wire_name="Pong")))["header"]["name"] == "Pong"


# --- decode: tolerance ---------------------------------------------------------------


def _event_json(name: str, payload: dict | None = None, **header: object) -> dict:
    obj: dict = {
        "header": {"namespace": "SpeechTranscriber", "name": name, "message_id": "m", "task_id": TASK}
    }
    obj["header"].update(header)
    if payload is not None:
        obj["payload"] = payload
    return obj


def test_reads_status_message_as_status_text() -> None:
    """The older NLS key ``status_message`` fills ``status_text``."""
    text = json.dumps(_event_json("TaskFailed", status=40000002, status_message="GATEWAY|MESSAGE_INVALID|x"))
    (msg,) = decode(text)
    assert isinstance(msg, ev.TaskFailed)
    assert (msg.status, msg.status_text) == (40000002, "GATEWAY|MESSAGE_INVALID|x")


def test_status_text_wins_over_status_message() -> None:
    """When both keys are present, ``status_text`` is used."""
    (msg,) = decode(json.dumps(_event_json("TaskFailed", status_text="a", status_message="b")))
    assert msg.status_text == "a"


def test_ignores_unknown_keys_everywhere() -> None:
    """Unknown keys in the object, header, payload, words, stash and items are ignored."""
    obj = json.loads(END_2_5)
    obj["extra"] = 1
    obj["header"]["trace"] = "x"
    obj["payload"]["emo_tag"] = "happy"
    obj["payload"]["words"][0]["fixed"] = True
    obj["payload"]["stash_result"]["fixedText"] = "?"
    assert decode(json.dumps(obj)) == decode(END_2_5)
    obj = json.loads(TRANSLATED_2_6)
    obj["payload"]["translate_result"][0]["score"] = 0.5
    assert decode(json.dumps(obj)) == decode(TRANSLATED_2_6)


def test_unknown_name_becomes_unknown_message() -> None:
    """An unknown ``header.name`` decodes to UnknownMessage with the whole object kept."""
    obj = _event_json("Pong", {"anything": [1, 2]}, status=20000000)
    (msg,) = decode(json.dumps(obj))
    assert isinstance(msg, ev.UnknownMessage)
    assert (msg.name, msg.raw, msg.task_id) == ("Pong", obj, TASK)


def test_concatenated_objects_decode_to_several_messages() -> None:
    """Several JSON objects in one frame (with or without whitespace) give several messages in order."""
    for sep in ("", "\n", " \r\n\t"):
        messages = decode(BEGIN_2_3 + sep + CHANGED_2_4 + sep + END_2_5 + sep)
        assert [m.name for m in messages] == ["SentenceBegin", "TranscriptionResultChanged", "SentenceEnd"]


def test_missing_begin_time_is_none() -> None:
    """A SentenceEnd without ``begin_time`` (Tingwu samples) decodes with ``begin_time_ms=None``."""
    obj = json.loads(END_2_5)
    del obj["payload"]["begin_time"]
    (msg,) = decode(json.dumps(obj))
    assert msg.begin_time_ms is None and msg.result == "今天的会议开始。"


def test_stash_sentence_id_is_read_as_index() -> None:
    """NLS stash key ``sentenceId`` numbers the stash like Tingwu's ``index``."""
    stash = {"sentenceId": 7, "beginTime": 1, "currentTime": 2, "text": "x"}
    (msg,) = decode(
        json.dumps(_event_json("SentenceEnd", {"index": 6, "time": 2, "result": "r", "stash_result": stash}))
    )
    assert msg.stash == ev.StashResult(index=7, begin_time_ms=1, current_time_ms=2, text="x")


def test_sparse_payload_gets_defaults() -> None:
    """Missing payload, status and status_text read as zeros, empty strings and success."""
    (msg,) = decode(json.dumps(_event_json("SentenceEnd")))
    assert msg == ev.SentenceEnd(message_id="m", task_id=TASK, index=0, time_ms=0, result="", status_text="")


def test_speaker_id_number_reads_as_string() -> None:
    """A numeric ``speaker_id`` is read as its string form."""
    (msg,) = decode(
        json.dumps(_event_json("SentenceEnd", {"index": 0, "time": 1, "result": "", "speaker_id": 2}))
    )
    assert msg.speaker_id == "2"


@pytest.mark.parametrize("text", ["not json", "{", "", "   ", '{"header":{"name":"X"}} trailing'])
def test_non_json_raises_remote_protocol_error(text: str) -> None:
    """Text that is not (only) JSON objects raises RemoteProtocolError."""
    with pytest.raises(RemoteProtocolError):
        decode(text)


@pytest.mark.parametrize(
    "text", ['{"payload":{}}', "[1,2]", "42", '{"header":"x"}', '{"header":{"task_id":"a"}}']
)
def test_missing_header_raises_remote_protocol_error(text: str) -> None:
    """A value without a header object naming the message raises RemoteProtocolError."""
    with pytest.raises(RemoteProtocolError, match="header"):
        decode(text)


def test_split_and_from_object_compose_to_decode() -> None:
    """``decode`` is ``from_object`` over ``split_objects`` (the server uses the two stages)."""
    text = STARTED_2_2 + BEGIN_2_3
    assert [from_object(o) for o in split_objects(text)] == decode(text)


# --- round trip, property-style ------------------------------------------------------

TEXTS = ["", "a", "今天的会议开始。", 'quote " and \\ and\nnewline', "emoji 🎤", "Today's meeting"]


def _words(rng: random.Random) -> tuple[ev.Word, ...]:
    start = rng.randrange(0, 10**7)
    return tuple(
        ev.Word(rng.choice(TEXTS), start + i * 100, start + i * 100 + 90) for i in range(rng.randrange(4))
    )


def _maybe(rng: random.Random, value: object) -> object:
    return value if rng.random() < 0.5 else None


def _header(rng: random.Random) -> dict:
    return {"message_id": f"{rng.getrandbits(128):032x}", "task_id": f"{rng.getrandbits(128):032x}"}


def _event_header(rng: random.Random) -> dict:
    status = rng.choice([20000000, 40000004, 40010005])
    return {
        **_header(rng),
        "status": status,
        "status_text": rng.choice(TEXTS),
        "namespace": rng.choice(["SpeechTranscriber", "Default"]),
    }


def _stash(rng: random.Random) -> ev.StashResult:
    return ev.StashResult(
        index=rng.randrange(500),
        begin_time_ms=rng.randrange(10**6),
        current_time_ms=rng.randrange(10**6),
        text=rng.choice(TEXTS),
        words=_words(rng),
    )


def _item(rng: random.Random) -> ev.TranslatedItem:
    if rng.random() < 0.3:
        return ev.TranslatedItem(rng.choice(TEXTS), rng.randrange(200), partial=True)
    return ev.TranslatedItem(
        rng.choice(TEXTS), rng.randrange(200), rng.randrange(10**6), rng.randrange(10**6)
    )


FACTORIES = {
    ev.StartTranscription: lambda r: ev.StartTranscription(
        **_header(r),
        appkey=r.choice(["default", "", "abc"]),
        payload=r.choice([{}, {"format": "pcm", "sample_rate": 16000, "enable_words": True}]),
        context=_maybe(r, {"sdk": {"name": "tingwu-nb", "version": "0.1.0"}}),
    ),
    ev.StopTranscription: lambda r: ev.StopTranscription(**_header(r), appkey=r.choice(["default", "k"])),
    ev.ControlTranscriber: lambda r: ev.ControlTranscriber(
        **_header(r), payload={"max_sentence_silence": 600}
    ),
    ev.TranscriptionStarted: lambda r: ev.TranscriptionStarted(
        **_event_header(r), session_id=r.choice(["", "s" * 32])
    ),
    ev.SentenceBegin: lambda r: ev.SentenceBegin(
        **_event_header(r), index=r.randrange(10**4), time_ms=r.randrange(10**8)
    ),
    ev.TranscriptionResultChanged: lambda r: ev.TranscriptionResultChanged(
        **_event_header(r),
        index=r.randrange(100),
        time_ms=r.randrange(10**8),
        result=r.choice(TEXTS),
        words=_words(r),
        speaker_id=_maybe(r, r.choice(["1", "spk-2", ""])),
    ),
    ev.SentenceEnd: lambda r: ev.SentenceEnd(
        **_event_header(r),
        index=r.randrange(100),
        time_ms=r.randrange(10**8),
        result=r.choice(TEXTS),
        begin_time_ms=_maybe(r, r.randrange(10**8)),
        confidence=_maybe(r, r.choice([0.0, 0.93, 1.0, r.random()])),
        words=_words(r),
        speaker_id=_maybe(r, "1"),
        stash=_maybe(r, _stash(r)),
    ),
    ev.ResultTranslated: lambda r: ev.ResultTranslated(
        **_event_header(r),
        source_message_id=f"{r.getrandbits(128):032x}",
        source_lang=r.choice(["cn", "en", ""]),
        target_lang=r.choice(["en", "ja", ""]),
        items=tuple(_item(r) for _ in range(r.randrange(4))),
        speaker_id=_maybe(r, "3"),
    ),
    ev.TranscriptionCompleted: lambda r: ev.TranscriptionCompleted(**_event_header(r)),
    ev.TaskFailed: lambda r: ev.TaskFailed(**_event_header(r)),
    ev.UnknownMessage: lambda r: from_object(
        {"header": {"name": r.choice(["Pong", "Future"]), **_event_header(r)}, "payload": {"x": r.random()}}
    ),
}


def test_factories_cover_every_message_class() -> None:
    """The round-trip generators cover every concrete message class of events.py."""
    concrete = {getattr(ev, n) for n in ev.__all__ if isinstance(getattr(ev, n), type)}
    concrete -= {ev.Message, ev.Command, ev.Event, ev.Word, ev.StashResult, ev.TranslatedItem}
    assert set(FACTORIES) == concrete


@pytest.mark.parametrize("cls", list(FACTORIES), ids=lambda c: c.__name__)
@pytest.mark.parametrize("seed", range(12))
def test_round_trip(cls: type, seed: int) -> None:
    """decode(encode(m)) == [m] for generated values of every message type."""
    msg = FACTORIES[cls](random.Random(f"{cls.__name__}-{seed}"))
    assert type(msg) is cls
    assert decode(encode(msg)) == [msg]
