"""The Summarization result file as typed objects and DataFrames (rest-api §4.5).

Full-text summary (with the UNCONFIRMED ``ParagraphTitle`` and ``@#`` overview/details split),
per-speaker summaries (``speaker_id`` joins the transcript), questions and answers (with the
sentence ids of each; ``qa.explode("answer_sentence_ids")`` joins sentences), and the mind map
as a tree of :class:`MindMapNode`, as a node table and as an edge list.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from tingwu_nb.results._fields import as_str, build, get, id_list, payload, records, seconds

__all__ = [
    "MINDMAP_COLUMNS",
    "MINDMAP_EDGE_COLUMNS",
    "QA_COLUMNS",
    "SPEAKER_SUMMARY_COLUMNS",
    "SUMMARY_COLUMNS",
    "MindMapNode",
    "mindmap_edges_frame",
    "mindmap_frame",
    "mindmap_tree",
    "qa_frame",
    "speaker_summaries_frame",
    "summary_frame",
]

#: One row (none when the file has neither title nor summary). ``overview``/``details`` split
#: ``summary`` at the first ``@#`` (DashScope's separator; without one: overview = summary, details "").
SUMMARY_COLUMNS = ("title", "summary", "overview", "details")
SPEAKER_SUMMARY_COLUMNS = ("speaker_id", "speaker_name", "summary")
#: ``*_sentence_ids`` are lists of ints (explode them to join sentences on ``sentence_id``).
QA_COLUMNS = ("qa_id", "question", "answer", "question_sentence_ids", "answer_sentence_ids")
#: Nodes in pre-order; ``node_id`` counts from 1, ``parent_id`` is <NA> for roots, ``depth`` 0 for roots,
#: ``start_s`` from the UNCONFIRMED ``BeginTime`` (NaN when absent).
MINDMAP_COLUMNS = ("node_id", "parent_id", "depth", "title", "start_s", "child_count")
MINDMAP_EDGE_COLUMNS = ("parent_id", "child_id", "parent_title", "child_title")


def _body(doc: Any) -> Any:
    return payload(doc, "Summarization")


def summary_frame(doc: Mapping[str, Any] | None) -> pd.DataFrame:
    """The recording's title and full-text summary (``SUMMARY_COLUMNS``)."""
    body = _body(doc)
    title, text = as_str(get(body, "ParagraphTitle", "Title")), as_str(get(body, "ParagraphSummary", "Summary"))
    rows = [] if title is None and text is None else [(title, text)]
    cols: dict[str, list[Any]] = {c: [] for c in SUMMARY_COLUMNS}
    for title, text in rows:
        overview, _, details = (text or "").partition("@#")
        cols["title"].append(title)
        cols["summary"].append(text)
        cols["overview"].append(overview.strip() if text is not None else None)
        cols["details"].append(details.strip())
    return build(SUMMARY_COLUMNS, {}, cols)


def speaker_summaries_frame(doc: Mapping[str, Any] | None) -> pd.DataFrame:
    """One row per speaker summary (``SPEAKER_SUMMARY_COLUMNS``), in file order."""
    cols: dict[str, list[Any]] = {c: [] for c in SPEAKER_SUMMARY_COLUMNS}
    for item in records(get(_body(doc), "ConversationalSummary")):
        cols["speaker_id"].append(as_str(get(item, "SpeakerId")))
        cols["speaker_name"].append(as_str(get(item, "SpeakerName")))
        cols["summary"].append(as_str(get(item, "Summary")))
    return build(SPEAKER_SUMMARY_COLUMNS, {}, cols)


def qa_frame(doc: Mapping[str, Any] | None) -> pd.DataFrame:
    """One row per question (``QA_COLUMNS``); ``qa_id`` counts from 1 in file order."""
    cols: dict[str, list[Any]] = {c: [] for c in QA_COLUMNS}
    for n, item in enumerate(records(get(_body(doc), "QuestionsAnsweringSummary")), start=1):
        cols["qa_id"].append(n)
        cols["question"].append(as_str(get(item, "Question")))
        cols["answer"].append(as_str(get(item, "Answer")))
        cols["question_sentence_ids"].append(id_list(get(item, "SentenceIdsOfQuestion")))
        cols["answer_sentence_ids"].append(id_list(get(item, "SentenceIdsOfAnswer")))
    return build(QA_COLUMNS, {"qa_id": "int64", "question_sentence_ids": "list", "answer_sentence_ids": "list"},
                 cols)


@dataclass
class MindMapNode:
    """One mind-map topic: its title, the UNCONFIRMED leaf time (NaN when absent), its children."""

    title: str | None
    start_s: float = math.nan
    children: list[MindMapNode] = field(default_factory=list)


def _node(item: Mapping[str, Any], depth: int) -> MindMapNode:
    children = get(item, "Topic", "Topics", "Children")
    kids = [_node(c, depth + 1) for c in records(children)] if depth < 64 else []
    return MindMapNode(as_str(get(item, "Title")), seconds(get(item, "BeginTime", "Start")), kids)


def mindmap_tree(doc: Mapping[str, Any] | None) -> list[MindMapNode]:
    """The mind map's root topics (a single root object is accepted too)."""
    value = get(_body(doc), "MindMapSummary")
    roots = [value] if isinstance(value, Mapping) else records(value)
    return [_node(root, 0) for root in roots]


def _walk(doc: Any) -> list[tuple[int, int | None, int, MindMapNode]]:
    rows: list[tuple[int, int | None, int, MindMapNode]] = []
    stack = [(None, 0, node) for node in reversed(mindmap_tree(doc))]
    while stack:
        parent, depth, node = stack.pop()
        rows.append((len(rows) + 1, parent, depth, node))
        stack.extend((len(rows), depth + 1, child) for child in reversed(node.children))
    return rows


def mindmap_frame(doc: Mapping[str, Any] | None) -> pd.DataFrame:
    """The mind map as one row per node in pre-order (``MINDMAP_COLUMNS``)."""
    rows = _walk(doc)
    return build(MINDMAP_COLUMNS, {"node_id": "int64", "parent_id": "Int64", "depth": "int64", "start_s": "float64",
                                   "child_count": "int64"}, {
        "node_id": [r[0] for r in rows], "parent_id": [r[1] for r in rows], "depth": [r[2] for r in rows],
        "title": [r[3].title for r in rows], "start_s": [r[3].start_s for r in rows],
        "child_count": [len(r[3].children) for r in rows]})


def mindmap_edges_frame(doc: Mapping[str, Any] | None) -> pd.DataFrame:
    """The mind map as an edge list parent -> child (``MINDMAP_EDGE_COLUMNS``; ids of :func:`mindmap_frame`)."""
    rows = _walk(doc)
    titles = {r[0]: r[3].title for r in rows}
    edges = [(r[1], r[0]) for r in rows if r[1] is not None]
    return build(MINDMAP_EDGE_COLUMNS, {"parent_id": "int64", "child_id": "int64"}, {
        "parent_id": [p for p, _ in edges], "child_id": [c for _, c in edges],
        "parent_title": [titles[p] for p, _ in edges], "child_title": [titles[c] for _, c in edges]})
