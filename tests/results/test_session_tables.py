"""Session reads every table from its results/ folder; a missing file is an empty, typed frame."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd

from tingwu_nb import results as r
from tingwu_nb.emulator.analysis.postprocess import build_translation
from tingwu_nb.session.recording import Session

DATA = Path(__file__).parent / "data"


def make_session(tmp_path: Path, targets: list[str]) -> Path:
    directory = tmp_path / "s1"
    (directory / "results").mkdir(parents=True)
    request = {"Input": {"Format": "pcm"}, "Parameters": {"Translation": {"TargetLanguages": targets}}}
    (directory / "session.json").write_text(json.dumps({"task_id": "t1", "status": "completed", "request": request}))
    for path in DATA.glob("*.json"):
        shutil.copy(path, directory / "results" / path.name)
    return directory


def test_every_named_table_of_a_session(tmp_path):
    session = Session(make_session(tmp_path, ["en"]))
    for name, table in r.TABLES.items():
        frame = getattr(session, name)() if hasattr(session, name) else session.table(name)
        assert tuple(frame.columns[:len(table.columns)]) == table.columns, name
        assert session.table(name).equals(frame), name
        assert frame.empty != (DATA / f"{table.kind}.json").exists(), name  # the spec has no example of some
    translations = session.translations()
    assert list(translations.columns) == ["sentence_id", "start_s", "end_s", "en"]
    assert translations["sentence_id"].tolist() == session.sentences()["sentence_id"].tolist()
    assert translations["en"].tolist() == ["Hello everyone, let's start the meeting.", None]
    assert session.speakers()["speaker_id"].tolist() == ["1", "2"]
    every = session.tables()
    assert set(every) == set(r.TABLES)
    for name, frame in every.items():
        assert frame.equals(session.table(name)), name


def test_missing_result_files_give_empty_frames(tmp_path):
    directory = make_session(tmp_path, [])
    for path in (directory / "results").glob("*.json"):
        if path.name != "Transcription.json":
            path.unlink()
    session = Session(directory)
    assert session.chapters().empty and tuple(session.chapters().columns) == r.CHAPTER_COLUMNS
    assert session.inspection().empty and session.identities().empty and session.extractions().empty
    assert list(session.translations().columns) == list(r.TRANSLATION_BASE_COLUMNS)
    assert session.translations()["sentence_id"].tolist() == [1, 2]  # aligned, nothing translated


def test_session_translations_per_language_layout(tmp_path):
    directory = make_session(tmp_path, ["fr", "en"])
    transcription = json.loads((DATA / "Transcription.json").read_text(encoding="utf-8"))
    sentences = [{"start_ms": 1200, "end_ms": 2300, "translations": {"en": "Hi, let's start.", "fr": "Salut."}},
                 {"start_ms": 2900, "end_ms": 3600, "translations": {"en": "OK.", "fr": "D'accord."}}]
    doc = build_translation("t1", transcription, sentences, layout="per-language")
    (directory / "results" / "Translation.json").write_text(json.dumps(doc), encoding="utf-8")
    frame = Session(directory).translations()
    assert frame.values.tolist() == [[1, 1.2, 2.3, "Salut.", "Hi, let's start."], [2, 2.9, 3.6, "D'accord.", "OK."]]
    assert list(frame.columns) == ["sentence_id", "start_s", "end_s", "fr", "en"]


def test_every_table_round_trips_through_parquet(tmp_path):
    session = Session(make_session(tmp_path, ["en"]))
    empty = r.all_frames({})
    for name, frame in session.tables().items():
        for variant in (frame, empty[name]):
            path = tmp_path / f"{name}.parquet"
            variant.to_parquet(path, index=False)
            back = pd.read_parquet(path)
            assert list(back.columns) == list(variant.columns) and len(back) == len(variant), name
            list_columns = [c for c in variant.columns if variant[c].map(lambda v: isinstance(v, list)).any()]
            for column in list_columns:
                assert [list(v) for v in back[column]] == variant[column].tolist(), (name, column)


class _CountingSession(Session):
    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.reads: dict[str, int] = {}

    def result(self, kind: str):
        self.reads[kind] = self.reads.get(kind, 0) + 1
        return super().result(kind)


def test_tables_reads_each_result_file_once(tmp_path):
    session = _CountingSession(make_session(tmp_path, ["en"]))
    session.tables()
    assert session.reads == {kind: 1 for kind in {t.kind for t in r.TABLES.values()}}


def test_provisional_tables_come_from_the_live_sentences_reading_each_file_once(tmp_path):
    from tingwu_nb.contract import events as ev
    from tingwu_nb.contract.codec import encode

    directory = make_session(tmp_path, ["en"])
    (directory / "results" / "Transcription.json").unlink()
    meta = json.loads((directory / "session.json").read_text())
    (directory / "session.json").write_text(json.dumps({**meta, "provisional": True}))
    said = [ev.SentenceEnd(index=1, time_ms=1500, begin_time_ms=0, result="hello there", speaker_id="1"),
            ev.SentenceEnd(index=2, time_ms=3000, begin_time_ms=1600, result="fine thanks", speaker_id="2")]
    (directory / "events.jsonl").write_text("".join(
        json.dumps({"message": json.loads(encode(m)), "mono": 1.0, "wall": 1.0}) + "\n" for m in said))
    session = _CountingSession(directory)
    every = session.tables()
    assert session.reads == {kind: 1 for kind in {t.kind for t in r.TABLES.values()}}
    assert every["sentences"]["text"].tolist() == ["hello there", "fine thanks"]
    assert every["speakers"]["speaker_id"].tolist() == ["1", "2"]
    assert every["translations"]["sentence_id"].tolist() == every["sentences"]["sentence_id"].tolist()
    assert every["translations"].equals(session.translations())
