"""The demo report (tingwu_nb.report.html.write_report) opened offline in headless Chromium.

A short recording of the sample meeting (embedded emulator, extractive analysis) is written as a
report, opened via ``file://`` with every http(s) request aborted and every request logged; the
transcript and the embedded figures (``data:`` PNGs that decode) must render, and nothing may
have been fetched. Screenshots: ``test-artifacts/browser/report_*.png``.
"""

from __future__ import annotations

import asyncio
import math
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.browser.conftest import PAGE_MS, offline_page, shot
from tests.conftest import sample_turns_wav

FIGURES_DECODED_JS = """() => {
  const imgs = [...document.querySelectorAll('figure img')];
  return imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0 && i.naturalHeight > 0);
}"""


@pytest.fixture(scope="module")
def report_path(engine, sample_pcm16k, sample_truth, tmp_path_factory):
    """The first turns of the sample meeting recorded with analysis features, written as a report."""
    html = pytest.importorskip("tingwu_nb.report.html", reason="report module not available")
    pytest.importorskip("tingwu_nb.notebook.plots", reason="plots module (the report's figures) not available")
    from tingwu_nb import RealtimeTaskRequest, record
    from tingwu_nb.emulator.app import Emulator
    from tingwu_nb.emulator.contract import EmulatorConfig

    base = tmp_path_factory.mktemp("report")
    wav = sample_turns_wav(base / "turns.wav", 7, sample_pcm16k, sample_truth)
    request = RealtimeTaskRequest.create(language="en", diarization=True, summarization=True, chapters=True,
                                         meeting_assistance=True, text_polish=True)

    async def run(emulator):
        async with emulator.client() as client:
            return await record(wav, request, client=client, speed=math.inf, out_dir=base, poll_interval_s=0.2)

    with Emulator(EmulatorConfig.generate(analysis_engine="extractive"), engine=engine) as emulator:
        with ThreadPoolExecutor(1) as pool:  # own thread: playwright's sync API owns this one's loop
            session = pool.submit(asyncio.run, run(emulator)).result()
    assert session.status == "COMPLETED"
    return html.write_report(session, base / "report" / "meeting.html"), session


def test_report_renders_transcript_and_figures_offline(report_path, browser):
    """Opened from disk with the network cut: transcript and decoded figures, no request attempted."""
    path, session = report_path
    with offline_page(browser, path) as page:
        page.wait_for_function(FIGURES_DECODED_JS, timeout=PAGE_MS, polling=200)
        shot(page, "report_1_full")

        transcript = page.locator(".tx").first
        assert transcript.is_visible()
        shown = " ".join(transcript.inner_text().split())
        texts = [" ".join(str(t).split()) for t in session.sentences()["text"]]
        assert texts and all(t in shown for t in texts), "a transcript sentence is missing from the report"

        imgs = page.locator("figure img")
        sources = [imgs.nth(i).get_attribute("src") for i in range(imgs.count())]
        assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
        imgs.first.scroll_into_view_if_needed()
        shot(page, "report_2_figures", full_page=False)
