"""SessionWriter buffering: frames and events reach the disk within the flush interval, at every
phase and at close; frame lines stay exactly what json.dumps wrote before."""

from __future__ import annotations

import asyncio
import json

from tingwu_nb.client.audio import Frame
from tingwu_nb.contract import events as ev
from tingwu_nb.session.recorder import FLUSH_INTERVAL_S, SessionWriter

FRAME = Frame(b"\x01\x02" * 1600, 100, 200)


def _lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_frame_lines_match_json_dumps(tmp_path):
    """The hand-formatted frame line is byte-identical to json.dumps of the same record."""
    writer = SessionWriter(tmp_path, fmt="pcm")
    writer.frame(FRAME, 12.345678901234, 1764460000.123456)
    writer.frame(Frame(b"x", 200, 201), 13, 1764460001)  # ints from a fake clock
    writer.close()
    expected = [{"seq": 1, "bytes": 3200, "start_ms": 100, "end_ms": 200, "mono": 12.345678901234,
                 "wall": 1764460000.123456},
                {"seq": 2, "bytes": 1, "start_ms": 200, "end_ms": 201, "mono": 13.0, "wall": 1764460001.0}]
    text = (tmp_path / "frames.jsonl").read_text(encoding="utf-8")
    assert text.splitlines()[0] == json.dumps(expected[0])
    assert _lines(tmp_path / "frames.jsonl") == expected
    assert (tmp_path / "sent.pcm").read_bytes() == FRAME.data + b"x"


def test_without_an_event_loop_every_record_is_written_through(tmp_path):
    writer = SessionWriter(tmp_path, fmt="pcm")
    writer.frame(FRAME, 1.0, 2.0)
    assert len(_lines(tmp_path / "frames.jsonl")) == 1
    assert (tmp_path / "sent.pcm").stat().st_size == 3200
    writer.close()


async def test_buffered_records_reach_the_disk_by_the_timer_at_phases_and_at_close(tmp_path):
    """In a loop nothing waits longer than flush_interval_s; a phase flushes what led to it."""
    assert FLUSH_INTERVAL_S <= 1.0
    writer = SessionWriter(tmp_path / "a", fmt="pcm", flush_interval_s=0.05)
    for k in range(30):
        writer.frame(Frame(b"\0" * 320, 10 * k, 10 * (k + 1)), float(k), float(k))
    writer.event(ev.SentenceEnd(index=1, time_ms=300, result="hello", received_at=1.0, received_wall=2.0,
                                audio_sent_ms=300))
    for _ in range(200):  # the timer alone, no further call on the writer
        if len(_lines(tmp_path / "a" / "frames.jsonl")) == 30 and (tmp_path / "a" / "events.jsonl").stat().st_size:
            break
        await asyncio.sleep(0.05)
    assert len(_lines(tmp_path / "a" / "frames.jsonl")) == 30
    assert (tmp_path / "a" / "sent.pcm").stat().st_size == 30 * 320
    assert _lines(tmp_path / "a" / "events.jsonl")[0]["message"]["payload"]["result"] == "hello"

    slow = SessionWriter(tmp_path / "b", fmt="pcm", flush_interval_s=3600)
    slow.frame(FRAME, 1.0, 2.0)
    slow.phase("audio_sent")
    assert len(_lines(tmp_path / "b" / "frames.jsonl")) == 1
    slow.frame(FRAME, 3.0, 4.0)
    slow.close()
    assert len(_lines(tmp_path / "b" / "frames.jsonl")) == 2
    assert (tmp_path / "b" / "sent.pcm").stat().st_size == 2 * 3200
    writer.close()


def test_event_lines_keep_their_fields_and_stay_redacted(tmp_path):
    """A plain event is logged as its wire JSON; one carrying a URL, a token-like fragment or a
    secret takes the redacting path and none of them reaches the disk."""
    from tingwu_nb.contract.codec import encode

    secret = "S3cr3tAccessKeyValue"
    writer = SessionWriter(tmp_path, fmt="pcm", secrets=[secret])
    plain = ev.SentenceEnd(index=2, time_ms=900, result="会议开始 hello", begin_time_ms=100,
                           received_at=5.5, received_wall=1764460000.5, audio_sent_ms=1000)
    leaky = ev.TaskFailed(status=40000000, status_text=f"see https://x.example/a?mc=tok123&Signature=abc {secret} "
                                                        "mc=loose999", received_at=6.0, received_wall=7.0,
                          audio_sent_ms=1100)
    writer.event(plain)
    writer.event(leaky)
    writer.close()
    text = (tmp_path / "events.jsonl").read_text(encoding="utf-8")
    first, second = _lines(tmp_path / "events.jsonl")
    assert first == {"seq": 1, "name": "SentenceEnd", "mono": 5.5, "wall": 1764460000.5, "audio_sent_ms": 1000,
                     "message": json.loads(encode(plain))}
    assert second["seq"] == 2 and second["name"] == "TaskFailed" and second["message"]["header"]["status"] == 40000000
    for leaked in ("tok123", "Signature=abc", secret, "loose999"):
        assert leaked not in text, leaked
    assert "会议开始" in text  # UTF-8 kept, as before
