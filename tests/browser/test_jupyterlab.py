"""notebooks/02_live_session.ipynb run in JupyterLab, driven by headless Chromium, asserted from the DOM.

The form must render with its inputs, the live view must gain final sentences while audio streams
(before COMPLETED), and Stop must drain every final and reach COMPLETED. The notebook streams the
sample at ``TINGWU_NB_SPEED``, pinned to real time here (``LAB_ENV``), so Stop comes mid-recording. Screenshots are saved to ``test-artifacts/browser/live_*.png``.
"""

from __future__ import annotations

from tests.browser.conftest import PAGE_MS, REPO, copy_into, open_notebook, run_all_cells, shot

LIVE_NOTEBOOK = REPO / "notebooks" / "02_live_session.ipynb"
#: the kernel's environment (read by the lab fixture): real-time pacing, so Stop comes mid-recording
LAB_ENV = {"TINGWU_NB_SPEED": "1"}
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


def test_live_session_notebook_renders_streams_and_stops(lab, page):
    """Run all cells; form visible with inputs; finals grow before COMPLETED; Stop drains and completes."""
    name = copy_into(lab, LIVE_NOTEBOOK)
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
    # the next cell shows session.sentences(): the result holds exactly the finals the view showed
    table = page.locator(".jp-CodeCell", has_text="session = await task").locator("table.tingwu-table, table.dataframe").first
    table.wait_for(state="attached", timeout=STREAM_MS)
    table.scroll_into_view_if_needed()
    shot(page, "live_5_sentences")
    assert table.locator("tbody tr").count() == done["finals"], "finals shown live != sentences in the result"
