"""notebooks/02_live_session.ipynb run in JupyterLab, driven by headless Chromium, asserted from the DOM.

The form must render with its inputs, the live view must gain final sentences while audio streams
(before COMPLETED), and Stop must drain every final and reach COMPLETED. Screenshots are saved
to ``test-artifacts/browser/live_*.png``. Until the real notebook exists, a scratch notebook with the
same CSS classes stands in for it (so the browser mechanics are proven either way).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser.conftest import PAGE_MS, REPO, copy_into, open_notebook, run_all_cells, shot

LIVE_NOTEBOOK = REPO / "notebooks" / "02_live_session.ipynb"
STREAM_MS = 240_000  # bounded waits for the kernel's emulator (model load + paced audio) on shared cores

STATE_JS = """() => {
  const status = document.querySelector('.tingwu-status');
  return {finals: document.querySelectorAll('.tingwu-final').length,
          status: status ? status.textContent.trim() : null};
}"""
GREW_WHILE_STREAMING_JS = """(before) => {
  const status = document.querySelector('.tingwu-status');
  const text = status ? status.textContent.trim() : '';
  return document.querySelectorAll('.tingwu-final').length > before && !text.endsWith('COMPLETED');
}"""
COMPLETED_JS = """() => {
  const status = document.querySelector('.tingwu-status');
  return !!status && status.textContent.trim().endsWith('COMPLETED');
}"""

SCRATCH_CELLS = [
    """import asyncio
import ipywidgets as widgets
form = widgets.VBox([widgets.Dropdown(options=['en', 'cn'], description='language'),
                     widgets.IntText(value=16000, description='sample_rate'),
                     widgets.Checkbox(value=True, description='diarization')])
form.add_class('tingwu-form')
form""",
    """status = widgets.Label('Status: ONGOING'); status.add_class('tingwu-status')
rows = widgets.VBox(); interim = widgets.HTML('<i>...</i>'); interim.add_class('tingwu-interim')
stop = widgets.Button(description='Stop'); stop.add_class('tingwu-stop')
live = widgets.VBox([status, rows, interim, stop]); live.add_class('tingwu-live')
stopped = asyncio.Event(); stop.on_click(lambda _: stopped.set())

def final(i):
    row = widgets.HTML(f'<b>S{i % 2}</b> sentence {i}'); row.add_class('tingwu-final'); return row

async def stream():
    i = 0
    while not stopped.is_set():
        await asyncio.sleep(0.5); rows.children += (final(i),); i += 1
    rows.children += (final(i),)  # drain what was in flight
    status.value = 'Status: POSTPROCESSING'; await asyncio.sleep(1); status.value = 'Status: COMPLETED'

task = asyncio.ensure_future(stream())
live""",
]


def scratch_notebook(directory: Path) -> Path:
    """A stand-in with the shared CSS classes (only while the real notebook has not landed)."""
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src in SCRATCH_CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = directory / "scratch_live.ipynb"
    nbformat.write(nb, path)
    return path


def test_live_session_notebook_renders_streams_and_stops(lab, page, tmp_path):
    """Run all cells; form visible with inputs; finals grow before COMPLETED; Stop drains and completes."""
    source = LIVE_NOTEBOOK if LIVE_NOTEBOOK.exists() and not os.environ.get("TINGWU_BROWSER_SCRATCH") \
        else scratch_notebook(tmp_path)
    name = copy_into(lab, source)
    open_notebook(page, lab, name)
    shot(page, "live_1_opened")
    run_all_cells(page)

    form = page.locator(".tingwu-form").first
    form.wait_for(state="visible", timeout=PAGE_MS)
    visible_inputs = form.evaluate("f => [...f.querySelectorAll('input, select, textarea')]"
                                   ".filter(e => e.offsetParent !== null).length")
    assert visible_inputs >= 3, f"the parameter form shows {visible_inputs} inputs"
    form.scroll_into_view_if_needed()
    shot(page, "live_2_form")

    page.locator(".tingwu-live").first.wait_for(state="visible", timeout=STREAM_MS)
    page.wait_for_function("() => document.querySelectorAll('.tingwu-final').length > 0",
                           timeout=STREAM_MS, polling=200)
    first = page.evaluate(STATE_JS)
    assert first["status"] is not None and not first["status"].endswith("COMPLETED"), first
    page.wait_for_function(GREW_WHILE_STREAMING_JS, arg=first["finals"], timeout=STREAM_MS, polling=200)
    page.locator(".tingwu-live").first.scroll_into_view_if_needed()
    shot(page, "live_3_streaming")

    at_stop = page.evaluate(STATE_JS)
    assert not at_stop["status"].endswith("COMPLETED"), f"finished before Stop could be clicked: {at_stop}"
    page.locator(".tingwu-stop").first.click()
    page.wait_for_function(COMPLETED_JS, timeout=STREAM_MS, polling=250)
    done = page.evaluate(STATE_JS)
    page.locator(".tingwu-live").first.scroll_into_view_if_needed()
    shot(page, "live_4_completed")
    assert done["finals"] >= at_stop["finals"] > first["finals"], (first, at_stop, done)
    if source == LIVE_NOTEBOOK:  # its next cell shows session.sentences(): the view lost no final
        table = page.locator(".jp-CodeCell", has_text="session = await task").locator("table.dataframe").first
        table.wait_for(state="attached", timeout=STREAM_MS)
        table.scroll_into_view_if_needed()
        shot(page, "live_5_sentences")
        assert table.locator("tbody tr").count() == done["finals"], "finals shown live != sentences in the result"
