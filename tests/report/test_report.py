"""write_report on a real recorded session: the whole transcript, embedded figures, nothing external,
no secret, valid HTML.

One emulator per module (extractive analysis) records the sample meeting over loopback with the
features the extractive engine computes; tests that plant secrets work on a copy of the session
directory with a CustomPrompt result file and a transcript word carrying them.
"""

from __future__ import annotations

import asyncio
import base64
import html
import json
import math
import re
import shutil
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest

from tingwu_nb.contract.params import InspectionContent, RealtimeTaskRequest, ServiceInspection
from tingwu_nb.emulator.app import Emulator
from tingwu_nb.emulator.contract import EmulatorConfig
from tingwu_nb.report.figures import FIGURES, render_figures
from tingwu_nb.report.html import render_html, write_report
from tingwu_nb.session.recording import Session, record

pytestmark = [pytest.mark.network, pytest.mark.slow]

JOIN_URL = "wss://tingwu.example.test/api/ws/v1?mc=JOINCAPABILITY4242"
PRESIGNED = ("https://bucket.oss-cn-beijing.aliyuncs.com/result.json?Expires=1900000000"
             "&OSSAccessKeyId=LTAIPLANTED&Signature=PLANTEDSIGNATURE77")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@pytest.fixture(scope="module")
def emu(engine):
    with Emulator(EmulatorConfig.generate(analysis_engine="extractive"), engine=engine) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def session(emu, sample_path, tmp_path_factory) -> Session:
    request = RealtimeTaskRequest.create(
        language="en", diarization=True, summarization=True, chapters=True, meeting_assistance=True,
        service_inspection_enabled=True, service_inspection=ServiceInspection(
            scene_introduction="A weekly project meeting.", inspection_introduction="Check the etiquette.",
            inspection_contents=(InspectionContent(title="Greeting", content="The host greets everyone."),
                                 InspectionContent(title="Budget", content="The budget is discussed."))))

    async def run():
        async with emu.client() as client:
            return await record(sample_path, request, client=client, speed=math.inf,
                                out_dir=tmp_path_factory.mktemp("sessions"), poll_interval_s=0.2)

    recorded = asyncio.run(run())
    assert recorded.status == "COMPLETED"
    return recorded


@pytest.fixture()
def planted(emu, session, tmp_path) -> tuple[Session, str]:
    """A copy of the session whose results carry the emulator's AccessKey secret, a join URL and a
    presigned URL (as a careless model or a pasted log might)."""
    directory = shutil.copytree(session.directory, tmp_path / "planted")
    secret = next(iter(emu.config.keys.values()))
    doc = {"TaskId": session.task_id, "CustomPrompt": {"Contents": [
        {"Name": "Links", "Result": f"Join: {JOIN_URL}\nFile: {PRESIGNED}\nkey {secret}"}]}}
    (directory / "results" / "CustomPrompt.json").write_text(json.dumps(doc), encoding="utf-8")
    path = directory / "results" / "Transcription.json"
    transcription = json.loads(path.read_text(encoding="utf-8"))
    transcription["Transcription"]["Paragraphs"][0]["Words"][0]["Text"] += f" {secret} "
    path.write_text(json.dumps(transcription), encoding="utf-8")
    copy = Session(directory)
    assert secret in " ".join(copy.sentences()["text"]) and len(copy.custom_prompt()) == 1
    return copy, secret


class Checker(HTMLParser):
    """Collects resource references and checks that every non-void element is closed in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.resources: list[str] = []
        self.images: list[str] = []
        self.text: list[str] = []
        self.doctype = False

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl.lower() == "doctype html"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href", "action", "srcset", "poster", "data") and value is not None:
                self.resources.append(value)
            if name == "style" and value:
                self.resources += re.findall(r"url\(\s*['\"]?([^'\")]+)", value)
        if tag == "img":
            self.images.append(dict(attrs).get("src") or "")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1] == "style":
            self.resources += re.findall(r"url\(\s*['\"]?([^'\")]+)", data)
        self.text.append(data)


def parse(page: str) -> Checker:
    checker = Checker()
    checker.feed(page)
    checker.close()
    return checker


def test_report_holds_the_transcript_results_and_embedded_figures(session, tmp_path):
    path = write_report(session, tmp_path / "out" / "meeting.html")
    page = path.read_text(encoding="utf-8")
    checker = parse(page)
    assert checker.doctype and not checker.errors and not checker.stack, (checker.errors, checker.stack)
    text = " ".join(" ".join(checker.text).split())
    for sentence in session.sentences()["text"]:
        assert " ".join(sentence.split()) in text
    assert session.task_id in text and "COMPLETED" in text
    for heading in ("Speakers", "Transcript", "Chapters", "Summary", "Keywords and actions", "Inspection"):
        assert f"<h2>{heading}</h2>" in page
    assert all(k in text for k in session.keywords()["keyword"])
    assert all(d in text for d in session.inspection()["dimension"])
    assert len(checker.images) == len(FIGURES)  # every plot has data in this session
    for src in checker.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]).startswith(b"\x89PNG\r\n\x1a\n")


def test_report_loads_nothing_from_anywhere(session, tmp_path):
    page = write_report(session, tmp_path / "meeting.html").read_text(encoding="utf-8")
    checker = parse(page)
    assert checker.resources and all(r.startswith("data:") for r in checker.resources), checker.resources
    assert "<script" not in page and "<link" not in page and "@import" not in page


def test_planted_secrets_join_url_and_signature_never_appear(planted, tmp_path, monkeypatch):
    session, secret = planted
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAIconfigured")  # as a user who configured that key
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", secret)
    page = write_report(session, tmp_path / "meeting.html").read_text(encoding="utf-8")
    for leaked in (secret, "JOINCAPABILITY4242", "PLANTEDSIGNATURE77", "LTAIPLANTED"):
        assert leaked not in page, leaked
    assert "mc=" not in page.replace("mc=****", "") and "Signature=****" in page
    assert "<h2>Custom prompt</h2>" in page and "tingwu.example.test/api/ws/v1" in page  # the rest stays readable
    assert parse(page).resources and all(r.startswith("data:") for r in parse(page).resources)


def test_explicit_secrets_are_masked_too(session):
    word = session.sentences()["text"].iloc[0].split()[0]
    assert html.escape(word) not in render_html(session, secrets=[word]).split("<h2>Transcript</h2>", 1)[1]


def test_a_missing_plot_or_empty_table_gives_a_note_not_a_failure(session):
    tables = session.tables()
    figures = render_figures(tables, plots=SimpleNamespace())
    assert [f.png for f in figures] == [None] * len(FIGURES)
    assert all("not available" in f.note for f in figures)
    from tingwu_nb.notebook import plots

    empty = {name: frame.iloc[0:0] for name, frame in tables.items()}
    assert all(f.png is None and "no data" in f.note for f in render_figures(empty, plots=plots))
