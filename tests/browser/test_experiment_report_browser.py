"""The experiment report opened offline in headless Chromium: tables, decoded figures, no fetch.

A real 2-cell grid (16/8 kHz) is run against the emulator (tests/report/test_experiment_report.py
builds it, secrets planted), written as HTML, and opened via ``file://`` with every http(s)
request aborted and logged. At 1200 px the page must not scroll sideways (no table wider than
the page). Screenshots: ``test-artifacts/browser/experiment_*.png``.
"""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import PAGE_MS, offline_page, shot
from tests.browser.test_report_browser import FIGURES_DECODED_JS
from tests.report.test_experiment_report import SECRET, assert_clean, build_store


@pytest.fixture(scope="module")
def report(emulator, sample_pcm16k, sample_truth, tmp_path_factory):
    from tingwu_nb.report.experiment import write_experiment_report

    base = tmp_path_factory.mktemp("experiment_browser")
    store, _grid = build_store(emulator, base, sample_pcm16k, sample_truth)
    return write_experiment_report(store, base / "report" / "study.html", secrets=[SECRET], emulator=emulator)


def test_experiment_report_renders_offline(report, browser):
    with offline_page(browser, report) as page:
        page.set_viewport_size({"width": 1200, "height": 900})
        page.wait_for_function(FIGURES_DECODED_JS, timeout=PAGE_MS, polling=200)
        shot(page, "experiment_1_full")
        width = page.evaluate("() => [document.scrollingElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], f"the page scrolls sideways at 1200 px: {width}"
        overflowing = page.eval_on_selector_all(
            "table", "ts => ts.filter(t => t.scrollWidth > t.parentElement.clientWidth + 1).map(t => t.innerText.slice(0, 60))")
        assert overflowing == [], f"tables wider than the page: {overflowing}"
        headings = page.locator("h2").all_inner_texts()
        assert headings[:4] == ["Summary", "Paired comparison: 8 kHz − 16 kHz", "Partial-result stability",
                                "Stop → each result ready"], headings
        summary = page.locator("table").first.inner_text().replace("\xa0", " ")
        assert "en · 16 kHz · pcm" in summary and "en · 8 kHz · pcm" in summary
        assert re.search(r"\d+\.\d % \[\d+\.\d–\d+\.\d %\]", summary), summary  # error rate in %, interval
        assert "n (sentences)" in summary
        stability = page.locator("section", has_text="Partial-result stability")
        assert "same speed" in stability.locator(".note").inner_text()
        assert page.locator("figure img").count() == 7
        sizes = page.eval_on_selector_all("figure img", "imgs => imgs.map(i => [i.naturalWidth, i.naturalHeight])")
        assert all(w > 100 and h > 50 for w, h in sizes), sizes
        assert_clean(page.content())
        page.locator("figure img").first.scroll_into_view_if_needed()
        shot(page, "experiment_2_figures", full_page=False)
