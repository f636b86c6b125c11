"""Nothing a notebook displays reveals a capability: TaskInfo, its raw body, URLs, result links.

Jupyter renders an object through IPython's ``DisplayFormatter`` (every mime type it offers);
these tests render with that same formatter, so what they check is what a cell would show.
"""

from __future__ import annotations

import json
import math
import pathlib

import pytest

from tingwu_nb.client.taskinfo import TaskInfo
from tingwu_nb.redaction import RedactedMapping, SecretText, secret_text

IPython = pytest.importorskip("IPython")
from IPython.core.formatters import DisplayFormatter  # noqa: E402

SIGNATURE = "kT9x0QmYsecretSIG"
TOKEN = "mcTOKENqq81zz"
BODY = {
    "RequestId": "3C4E8A51-0000-4C2A-9B6E-1F2A3B4C5D6E",
    "Code": "0",
    "Data": {
        "TaskId": "f0a1b2c3d4",
        "TaskStatus": "COMPLETED",
        "MeetingJoinUrl": f"wss://tingwu-realtime-cn-beijing.aliyuncs.com/api/ws/v1?mc={TOKEN}",
        "OutputMp3Path": f"https://prod.oss-cn-beijing.aliyuncs.com/t/a.mp3?Expires=1&OSSAccessKeyId=STS.x&Signature={SIGNATURE}",
        "Result": {
            "Transcription": f"http://127.0.0.1:8765/results/t/Transcription.json?Expires=9&Signature={SIGNATURE}",
        },
        "Extra": [{"Url": f"https://h/x?security-token={TOKEN}"}],
    },
}


def _shown(obj: object) -> str:
    """Everything Jupyter would render for ``obj`` (all mime types), as one string."""
    bundle, _ = DisplayFormatter().format(obj)
    return json.dumps(bundle, default=str)


@pytest.mark.parametrize("get", [
    lambda t: t,
    lambda t: t.raw,
    lambda t: t.raw["Data"],
    lambda t: t.raw["Data"]["Result"],
    lambda t: t.raw["Data"]["Result"]["Transcription"],
    lambda t: t.raw["Data"]["Extra"],
    lambda t: t.result_urls,
    lambda t: t.meeting_join_url,
    lambda t: t.output_mp3_path,
    lambda t: [t, t.raw],
], ids=["taskinfo", "raw", "data", "result", "result-url", "list", "result_urls", "join-url", "mp3", "nested"])
def test_no_display_shows_a_token_or_signature(get):
    shown = _shown(get(TaskInfo.from_response(BODY)))
    assert SIGNATURE not in shown and TOKEN not in shown
    assert "****" in shown


def test_values_still_work_for_code():
    """Reading a value gives the working URL: downloads and json.dumps of unredacted() are intact."""
    info = TaskInfo.from_response(BODY)
    url = info.result_urls["Transcription"]
    assert url == BODY["Data"]["Result"]["Transcription"] and str(url).endswith(SIGNATURE)
    assert f"{info.meeting_join_url}".endswith(TOKEN)
    assert info.raw == BODY and json.loads(json.dumps(info.raw.unredacted())) == BODY
    assert dict(info.result_urls) == BODY["Data"]["Result"]
    assert info.raw["Data"]["Extra"][0]["Url"].endswith(TOKEN)


def test_secret_text_only_wraps_what_redaction_changes():
    assert type(secret_text("plain text")) is str
    assert type(secret_text("https://h/x?Expires=3")) is str
    wrapped = secret_text(f"https://h/x?Signature={SIGNATURE}")
    assert isinstance(wrapped, SecretText) and SIGNATURE not in repr(wrapped)
    assert secret_text(None) is None
    assert RedactedMapping({}) == {} and len(RedactedMapping({"a": 1})) == 1


def test_no_machine_path_in_docstrings():
    """Docstrings describe the project, not the machine it was written on."""
    root = pathlib.Path(__file__).resolve().parents[1] / "tingwu_nb"
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.py")
                 if any(s in p.read_text(encoding="utf-8") for s in ("/work/", "/home/", "/root/", "/Users/"))]
    assert offenders == []


@pytest.mark.network
async def test_library_debug_logs_show_no_join_token_or_url_signature(emulator, sample_path, tmp_path, caplog):
    """With every logger at DEBUG, httpx / websockets / uvicorn lines hold no capability."""
    import logging
    from urllib.parse import parse_qs, urlsplit

    from tingwu_nb.client.audio import load_pcm, stream_frames
    from tingwu_nb.client.stream import RealtimeStream, stream_frames_to
    from tingwu_nb.contract.params import RealtimeTaskRequest

    caplog.set_level(logging.DEBUG)
    pcm = load_pcm(sample_path, sample_rate=16000)[: 16000 * 5]
    async with emulator.client() as client:
        task = await client.create_realtime_task(RealtimeTaskRequest.create(output_level=1))
        async with RealtimeStream(task.meeting_join_url) as stream:
            await stream_frames_to(stream, stream_frames(pcm, 16000, "pcm"), speed=math.inf)
            await stream.stop()
        await client.stop_realtime_task(task.task_id)
        final = await client.wait_for_task(task.task_id, poll_interval_s=0.2, timeout_s=60)
        url = final.result_urls["Transcription"]
        assert (await client.fetch_json(url))["Transcription"]
    token = parse_qs(urlsplit(str(task.meeting_join_url)).query)["mc"][0]
    signature = parse_qs(urlsplit(str(url)).query)["Signature"][0]
    assert any("HTTP Request" in r.getMessage() for r in caplog.records)  # httpx did log its requests
    assert token not in caplog.text and signature not in caplog.text
