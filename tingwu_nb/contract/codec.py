"""JSON codec of the realtime protocol: :mod:`tingwu_nb.contract.events` values <-> wire text.

:func:`encode` writes exactly the shapes of the protocol spec (§1.2-1.5, §2.2-2.8):
``{"header": {...}, "payload": {...}}`` with times as integer milliseconds, camelCase
keys inside ``words``/``stash_result``/``translate_result`` and every ``None`` field
left out. :func:`decode` reads tolerantly (spec §9, architecture decision 4):

* unknown keys are ignored and a missing optional key becomes ``None`` (or ``0``/``""``
  for the required numbers and strings, so a sparse event never breaks a client);
* an unknown ``header.name`` becomes :class:`~tingwu_nb.contract.events.UnknownMessage` with the
  whole object in ``raw``;
* ``status_text`` and the older NLS ``status_message`` are both read;
* ``stash_result`` may number its sentence with ``index`` (Tingwu) or ``sentenceId`` (NLS);
* several JSON objects concatenated in one text frame decode to several messages.

Only text that is not JSON, or an object without a ``header`` naming the message, raises
:class:`~tingwu_nb.errors.RemoteProtocolError`. This module does no I/O and keeps no state.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from tingwu_nb.contract import events as ev
from tingwu_nb.errors import RemoteProtocolError

__all__ = ["decode", "encode", "from_object", "split_objects"]

_JSON = json.JSONDecoder()
_WS = " \t\r\n"


# --- encode ------------------------------------------------------------------------


def _ms(value: float) -> int:
    return int(round(value))


def _words(words: tuple[ev.Word, ...]) -> list[dict[str, Any]]:
    return [{"text": w.text, "startTime": _ms(w.start_ms), "endTime": _ms(w.end_ms)} for w in words]


def _drop_none(mapping: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in mapping.items() if value is not None}


def _stash(stash: ev.StashResult | None) -> dict[str, Any] | None:
    if stash is None:
        return None
    return {
        "index": stash.index,
        "beginTime": _ms(stash.begin_time_ms),
        "currentTime": _ms(stash.current_time_ms),
        "text": stash.text,
        "words": _words(stash.words),
    }


def _item(item: ev.TranslatedItem) -> dict[str, Any]:
    if item.partial:
        return {"text": item.text, "index": item.index, "partial": True}
    times = {"beginTime": item.begin_time_ms, "endTime": item.end_time_ms}
    return {"text": item.text, "index": item.index, **{k: _ms(v) for k, v in times.items() if v is not None}}


def _command_header(msg: ev.Command) -> dict[str, Any]:
    return {
        "namespace": msg.namespace,
        "name": msg.name,
        "message_id": msg.message_id,
        "task_id": msg.task_id,
        "appkey": msg.appkey,
    }


def _event_header(msg: ev.Event) -> dict[str, Any]:
    header = {
        "namespace": msg.namespace,
        "name": msg.name,
        "status": msg.status,
        "message_id": msg.message_id,
        "task_id": msg.task_id,
        "status_text": msg.status_text,
    }
    if isinstance(msg, ev.ResultTranslated):
        header["source_message_id"] = msg.source_message_id
    return header


def _no_payload(msg: ev.Message) -> None:
    return None


# One payload writer per message class; ``None`` means "header only" on the wire.
_PAYLOAD_WRITERS: dict[type, Callable[[Any], dict[str, Any] | None]] = {
    ev.StartTranscription: lambda m: dict(m.payload),
    ev.StopTranscription: _no_payload,
    ev.ControlTranscriber: lambda m: dict(m.payload),
    ev.TranscriptionStarted: lambda m: {"session_id": m.session_id},
    ev.SentenceBegin: lambda m: {"index": m.index, "time": _ms(m.time_ms)},
    ev.TranscriptionResultChanged: lambda m: _drop_none(
        {
            "index": m.index,
            "time": _ms(m.time_ms),
            "result": m.result,
            "words": _words(m.words),
            "speaker_id": m.speaker_id,
        }
    ),
    ev.SentenceEnd: lambda m: _drop_none(
        {
            "index": m.index,
            "time": _ms(m.time_ms),
            "begin_time": None if m.begin_time_ms is None else _ms(m.begin_time_ms),
            "result": m.result,
            "confidence": m.confidence,
            "words": _words(m.words),
            "speaker_id": m.speaker_id,
            "stash_result": _stash(m.stash),
        }
    ),
    ev.ResultTranslated: lambda m: _drop_none(
        {
            "speaker_id": m.speaker_id,
            "source_lang": m.source_lang,
            "target_lang": m.target_lang,
            "translate_result": [_item(item) for item in m.items],
        }
    ),
    ev.TranscriptionCompleted: _no_payload,
    ev.TaskFailed: _no_payload,
}


def encode(msg: ev.Message) -> str:
    """Serialise one message to the exact JSON text frame the peer expects.

    Args:
        msg: any command or event. An :class:`~tingwu_nb.contract.events.UnknownMessage` with a
            ``raw`` object is written back verbatim; without one, as a header-only event.

    Returns:
        Compact JSON (UTF-8 characters kept, not escaped). Send it as one WebSocket text frame.
    """
    if isinstance(msg, ev.UnknownMessage):
        return _dumps(dict(msg.raw) if msg.raw else {"header": _event_header(msg)})
    header = _command_header(msg) if isinstance(msg, ev.Command) else _event_header(msg)
    obj: dict[str, Any] = {"header": header}
    payload = _PAYLOAD_WRITERS[type(msg)](msg)
    if payload is not None:
        obj["payload"] = payload
    context = getattr(msg, "context", None)
    if context is not None:
        obj["context"] = dict(context)
    return _dumps(obj)


def _dumps(obj: Mapping[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


# --- decode ------------------------------------------------------------------------


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(round(float(value)))
    except (TypeError, ValueError):
        return default


def _opt_int(value: Any) -> int | None:
    return None if value is None else _int(value)


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _opt_float(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _read_words(value: Any) -> tuple[ev.Word, ...]:
    items = value if isinstance(value, list) else []
    return tuple(
        ev.Word(str(w.get("text", "")), _int(w.get("startTime")), _int(w.get("endTime")))
        for w in items
        if isinstance(w, dict)
    )


def _read_stash(value: Any) -> ev.StashResult | None:
    if not isinstance(value, dict) or not value:
        return None
    return ev.StashResult(
        index=_int(value.get("index", value.get("sentenceId"))),
        begin_time_ms=_int(value.get("beginTime")),
        current_time_ms=_int(value.get("currentTime")),
        text=str(value.get("text", "")),
        words=_read_words(value.get("words")),
    )


def _read_item(item: dict[str, Any]) -> ev.TranslatedItem:
    return ev.TranslatedItem(
        text=str(item.get("text", "")),
        index=_int(item.get("index")),
        begin_time_ms=_opt_int(item.get("beginTime")),
        end_time_ms=_opt_int(item.get("endTime")),
        partial=bool(item.get("partial", False)),
    )


def _header_fields(header: dict[str, Any]) -> dict[str, Any]:
    return {
        "message_id": str(header.get("message_id", "")),
        "task_id": str(header.get("task_id", "")),
        # A missing namespace stays "" so the server can refuse it (spec §8.3).
        "namespace": str(header.get("namespace", "")),
    }


def _command_fields(header: dict[str, Any]) -> dict[str, Any]:
    return {**_header_fields(header), "appkey": str(header.get("appkey", ""))}


def _event_fields(header: dict[str, Any]) -> dict[str, Any]:
    text = header.get("status_text", header.get("status_message", ""))
    # An absent status reads as success: every documented sample carries one.
    return {
        **_header_fields(header),
        "status": _int(header.get("status"), ev.STATUS_OK),
        "status_text": str(text),
    }


def _start(h: dict[str, Any], p: dict[str, Any], obj: dict[str, Any]) -> ev.Message:
    context = obj.get("context")
    return ev.StartTranscription(
        **_command_fields(h), payload=p, context=context if isinstance(context, dict) else None
    )


def _changed(h: dict[str, Any], p: dict[str, Any], obj: dict[str, Any]) -> ev.Message:
    return ev.TranscriptionResultChanged(
        **_event_fields(h),
        index=_int(p.get("index")),
        time_ms=_int(p.get("time")),
        result=str(p.get("result", "")),
        words=_read_words(p.get("words")),
        speaker_id=_opt_str(p.get("speaker_id")),
    )


def _sentence_end(h: dict[str, Any], p: dict[str, Any], obj: dict[str, Any]) -> ev.Message:
    return ev.SentenceEnd(
        **_event_fields(h),
        index=_int(p.get("index")),
        time_ms=_int(p.get("time")),
        result=str(p.get("result", "")),
        begin_time_ms=_opt_int(p.get("begin_time")),
        confidence=_opt_float(p.get("confidence")),
        words=_read_words(p.get("words")),
        speaker_id=_opt_str(p.get("speaker_id")),
        stash=_read_stash(p.get("stash_result")),
    )


def _translated(h: dict[str, Any], p: dict[str, Any], obj: dict[str, Any]) -> ev.Message:
    items = p.get("translate_result")
    return ev.ResultTranslated(
        **_event_fields(h),
        source_message_id=str(h.get("source_message_id", "")),
        source_lang=str(p.get("source_lang", "")),
        target_lang=str(p.get("target_lang", "")),
        items=tuple(_read_item(i) for i in (items if isinstance(items, list) else []) if isinstance(i, dict)),
        speaker_id=_opt_str(p.get("speaker_id")),
    )


_Reader = Callable[[dict[str, Any], dict[str, Any], dict[str, Any]], ev.Message]

# One reader per wire name: (header, payload, whole object) -> message.
_READERS: dict[str, _Reader] = {
    "StartTranscription": _start,
    "StopTranscription": lambda h, p, o: ev.StopTranscription(**_command_fields(h)),
    "ControlTranscriber": lambda h, p, o: ev.ControlTranscriber(**_command_fields(h), payload=p),
    "TranscriptionStarted": lambda h, p, o: ev.TranscriptionStarted(
        **_event_fields(h), session_id=str(p.get("session_id", ""))
    ),
    "SentenceBegin": lambda h, p, o: ev.SentenceBegin(
        **_event_fields(h), index=_int(p.get("index")), time_ms=_int(p.get("time"))
    ),
    "TranscriptionResultChanged": _changed,
    "SentenceEnd": _sentence_end,
    "ResultTranslated": _translated,
    "TranscriptionCompleted": lambda h, p, o: ev.TranscriptionCompleted(**_event_fields(h)),
    "TaskFailed": lambda h, p, o: ev.TaskFailed(**_event_fields(h)),
}


def split_objects(text: str) -> list[Any]:
    """Parse one text frame into its JSON values (one, or several concatenated).

    Raises:
        RemoteProtocolError: the frame is empty or not JSON. Fail the session.
    """
    values, pos, end = [], 0, len(text)
    while True:
        while pos < end and text[pos] in _WS:
            pos += 1
        if pos == end:
            break
        try:
            value, pos = _JSON.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise RemoteProtocolError(f"text frame is not JSON: {exc.msg} at character {exc.pos}") from None
        values.append(value)
    if not values:
        raise RemoteProtocolError("text frame is empty")
    return values


def from_object(obj: Any) -> ev.Message:
    """Turn one parsed JSON value into a message (unknown names -> ``UnknownMessage``).

    Raises:
        RemoteProtocolError: ``obj`` is not an object with a ``header`` that has a ``name``.
    """
    header = obj.get("header") if isinstance(obj, dict) else None
    if not isinstance(header, dict) or not isinstance(header.get("name"), str):
        raise RemoteProtocolError("message has no header with a name")
    name = header["name"]
    reader = _READERS.get(name)
    if reader is None:
        return ev.UnknownMessage(**_event_fields(header), wire_name=name, raw=obj)
    return reader(header, _dict(obj.get("payload")), obj)


def decode(text: str) -> list[ev.Message]:
    """Decode one text frame into the messages it carries, in order.

    Returns:
        Usually one message; several if the peer concatenated JSON objects in one frame.

    Raises:
        RemoteProtocolError: the frame is not JSON, or an object lacks ``header.name``.
    """
    return [from_object(obj) for obj in split_objects(text)]
