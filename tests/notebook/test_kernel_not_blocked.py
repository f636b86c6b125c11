"""A cell runs while a session streams: the recording is a task on the kernel's loop (ipykernel 7).

A real kernel (nbclient) records three sentences of the sample meeting at 1× speed through the
test's emulator (over loopback), started by ``tingwu_nb.record`` as a task; the next cell runs
and finishes while frames are still being sent, then the task is awaited.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import sample_turns_wav

nbclient = pytest.importorskip("nbclient")
nbformat = pytest.importorskip("nbformat")
pytest.importorskip("ipywidgets")

pytestmark = [pytest.mark.network, pytest.mark.slow]

CELLS = [
    """\
import asyncio, json, os, time
import tingwu_nb
from tingwu_nb.client.tasks import TingwuClient

env = os.environ
client = TingwuClient(endpoint=env["LIVE_TEST_ENDPOINT"], app_key=env["LIVE_TEST_APP_KEY"],
                      credentials=tingwu_nb.Credentials(env["LIVE_TEST_KEY_ID"], env["LIVE_TEST_KEY_SECRET"]))
frames_sent = []
task = asyncio.create_task(tingwu_nb.record(
    env["LIVE_TEST_CLIP"], tingwu_nb.RealtimeTaskRequest.create(language="en"), client=client, speed=1.0,
    out_dir="sessions", poll_interval_s=0.2,
    on_progress=lambda kind, value: kind == "frame" and frames_sent.append(value)))""",
    """\
while not frames_sent and not task.done():  # wait (without blocking) until audio flows
    await asyncio.sleep(0.05)""",
    """\
ran_at, two = time.monotonic(), 1 + 1
print(json.dumps({"two": two, "done": task.done(), "frames_so_far": len(frames_sent)}))""",
    """\
session = await task
await client.aclose()
frames = session.frames()
print(json.dumps({"status": session.status, "ran_at": ran_at, "first_sent": float(frames["mono"].iloc[0]),
                  "last_sent": float(frames["mono"].iloc[-1]), "frames": len(frames)}))""",
]


def test_a_cell_runs_while_a_session_streams(emulator, sample_pcm16k, sample_truth, tmp_path, monkeypatch):
    clip = sample_turns_wav(tmp_path / "clip3.wav", 3, sample_pcm16k, sample_truth)
    creds = emulator.credentials
    for name, value in (("ENDPOINT", emulator.endpoint), ("APP_KEY", emulator.app_key), ("CLIP", str(clip)),
                        ("KEY_ID", creds.access_key_id), ("KEY_SECRET", creds.access_key_secret)):
        monkeypatch.setenv(f"LIVE_TEST_{name}", value)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code) for code in CELLS])
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()

    shown = nb.cells[0].outputs  # tingwu_nb.record displayed the live view as a widget
    assert any("application/vnd.jupyter.widget-view+json" in out.get("data", {}) for out in shown)
    during = json.loads(nb.cells[2].outputs[0]["text"])
    assert during["two"] == 2 and during["done"] is False and during["frames_so_far"] >= 1
    after = json.loads(nb.cells[3].outputs[0]["text"])
    assert after["status"] == "COMPLETED"
    # the cell ran after streaming had started and before the last frame was sent: audio kept flowing
    assert after["first_sent"] <= after["ran_at"] < after["last_sent"]
    assert during["frames_so_far"] < after["frames"]
