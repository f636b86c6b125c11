"""Rich display (Session._repr_html_, show, summary HTML) and the explorer built headless.

The sessions are the emulator's sample-meeting record and the spec's Chinese examples (see
test_plots); the explorer's widget tree is walked and its titles, HTML and images asserted.
"""

from __future__ import annotations

import html
import json

import ipywidgets as widgets
import pytest

from tests.notebook.test_plots import chinese_session, english_session
from tests.test_audio import tone, write_audio
from tingwu_nb.notebook.display import HTMLView, frame_html, mindmap_html, show
from tingwu_nb.notebook.explorer import EXPLORER_CLASS, explore
from tingwu_nb.notebook.plots import speaker_colors
from tingwu_nb.session.recording import Session

JOIN_URL = "wss://tingwu.cn-beijing.aliyuncs.com/api/ws/v1?mc=SECRETTOKEN123"
SIGNED = "https://bucket.oss-cn-beijing.aliyuncs.com/a.json?Expires=1&OSSAccessKeyId=AK1&Signature=SIGxyz"
LONG = ("This sentence is deliberately much longer than fifty characters, so any display that cuts "
        "text at fifty characters loses its ending: THE-END")


@pytest.fixture
def en(tmp_path):
    return english_session(tmp_path)


@pytest.fixture
def cn(tmp_path):
    return chinese_session(tmp_path)


def tabs_of(root: widgets.Widget) -> dict[str, widgets.Widget]:
    tab = next(c for c in root.children if isinstance(c, widgets.Tab))
    return dict(zip(tab.titles, tab.children))


def texts(widget: widgets.Widget) -> str:
    """All HTML values under ``widget``."""
    own = widget.value if isinstance(widget, widgets.HTML) else ""
    return own + "".join(texts(c) for c in getattr(widget, "children", ()))


def find(widget: widgets.Widget, kind: type) -> list[widgets.Widget]:
    own = [widget] if isinstance(widget, kind) else []
    return own + [w for c in getattr(widget, "children", ()) for w in find(c, kind)]


def with_long_sentence(session: Session) -> Session:
    """Put a long sentence, a join URL and a signed link into the session's Transcription file."""
    path = session.directory / "results" / "Transcription.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    words = doc["Transcription"]["Paragraphs"][0]["Words"]
    words[0]["Text"] = f"{LONG} see {JOIN_URL} and {SIGNED}"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return Session(session.directory)


def test_session_repr_html_is_a_compact_full_text_overview(en):
    session = with_long_sentence(en)
    page = session._repr_html_()
    assert session.task_id in page and "COMPLETED" in page and "54.0 s" in page
    assert "chapters" in page and "inspection" in page and "translations" not in page  # tables that exist
    assert "THE-END" in page and "first 10 of 12 sentences" in page
    assert "SECRETTOKEN123" not in page and "SIGxyz" not in page and "mc=****" in page


def test_show_keeps_full_text_limits_rows_and_colours_speakers(en):
    session = with_long_sentence(en)
    view = show(session.sentences(), max_rows=5)
    assert isinstance(view, HTMLView) and view._repr_html_() == view.html
    assert "THE-END" in view.html and "white-space: pre-wrap" in view.html
    assert view.html.count("<tr>") == 6 and "5 of 12 rows shown (7 more" in view.html
    assert speaker_colors(["2"])["2"] in view.html
    assert "SECRETTOKEN123" not in view.html and "SIGxyz" not in view.html
    assert show(session.sentences(), max_rows=None).html.count("<tr>") == 13
    qa = session.qa()
    cell = frame_html(qa, style=False)
    assert "<style>" not in cell and ", ".join(map(str, qa["answer_sentence_ids"][0])) in cell
    empty = frame_html(session.custom_prompt())
    assert "no rows" in empty


def test_mindmap_html_nests_lists(en):
    from tingwu_nb.results.summaries import mindmap_tree

    tree = mindmap_tree(en.result("Summarization"))
    markup = mindmap_html(tree)
    assert tree and markup.count("<ul") == 1 + sum(1 for n in en.mindmap().itertuples() if n.child_count)
    assert all(str(title) in markup for title in en.mindmap()["title"] if "&" not in str(title))


def test_explorer_shows_every_result_of_the_sample_meeting(en, tmp_path):
    write_audio(en.directory / "results" / f"{en.task_id}.mp3", tone(16000, 1.0, (440.0,)) * 0.3,
                16000, "mp3", "libmp3lame", "fltp")
    root = explore(en)
    assert EXPLORER_CLASS in root._dom_classes
    tabs = tabs_of(root)
    assert list(tabs) == ["Sentences", "Speakers", "Chapters", "Keywords & actions", "Summary", "Inspection",
                          "Other tables", "Plots", "Audio"]  # no translation, no custom prompt in this task
    sentences = en.sentences()
    assert all(html.escape(text) in texts(tabs["Sentences"]) for text in sentences["text"])
    assert "Identities" in texts(tabs["Speakers"]) and "talk_time_s" in texts(tabs["Speakers"])
    assert html.escape(en.chapters()["headline"][0]) in texts(tabs["Chapters"])
    assert all(k in texts(tabs["Keywords & actions"]) for k in ("Keywords", "Actions", "Key sentences", "Scene"))
    summary = texts(tabs["Summary"])
    assert html.escape(en.summary()["title"][0]) in summary and "Mind map" in summary and "Questions and answers" in summary
    assert "Greeting" in texts(tabs["Inspection"]) and "Polished" in texts(tabs["Other tables"])
    images = find(tabs["Plots"], widgets.Image)
    titles = texts(tabs["Plots"])
    assert len(images) == 7 and all(i.value[:4] == b"\x89PNG" and len(i.value) > 5000 for i in images)
    assert "Sentence latency" in titles and "Who spoke when" in titles
    (audio,) = find(tabs["Audio"], widgets.Audio)
    assert audio.format == "mp3" and audio.value[:3] in (b"ID3", b"\xff\xfb") and not audio.autoplay
    assert root.children[0].value.count(html.escape(en.summary()["title"][0])) == 1


def test_explorer_of_a_chinese_task_has_translation_and_custom_prompt_tabs(cn):
    root = explore(cn, figures=False)
    tabs = tabs_of(root)
    assert "Translations" in tabs and "Custom prompt" in tabs and "Plots" not in tabs and "Audio" not in tabs
    assert "Inspection" not in tabs
    translation = texts(tabs["Translations"])
    assert "Hello everyone, let&#x27;s start the meeting." in translation and "大家好" in translation
    assert "预算月底确认" in texts(tabs["Custom prompt"]) and "季度项目复盘会" in texts(tabs["Summary"])


def test_explorer_of_a_bare_session_is_not_an_error(tmp_path):
    (tmp_path / "session.json").write_text(json.dumps({"status": "FAILED", "task_id": None}), encoding="utf-8")
    root = explore(Session(tmp_path))
    assert tabs_of(root) == {} and "FAILED" in root.children[0].value
