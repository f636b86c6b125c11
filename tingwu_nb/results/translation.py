"""The Translation result file as one table aligned to sentences — layout UNCONFIRMED (rest-api §4.2).

Columns: ``sentence_id, start_s, end_s`` then ONE COLUMN PER TARGET LANGUAGE (the exports'
bilingual SRT/VTT rely on this shape). Every layout seen or plausible is read:

* ``Translation.Paragraphs[].Sentences[]`` — one target; the file does not name it, so pass
  ``languages=["en"]`` (the task's ``TargetLanguages``) or the column is ``"translation"``;
* ``Translation.<lang>.Paragraphs[].Sentences[]`` — several targets (the emulator's
  ``translation_layout="per-language"``);
* ``Translation[] = {Language|TargetLanguage, Paragraphs}`` and ``Sentences`` without paragraphs.

PascalCase or camelCase. With ``sentences=`` (a sentences frame) the rows are exactly those
sentences, in their order, with their times; untranslated cells are None.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from tingwu_nb.results._fields import as_int, as_str, build, get, payload, records, seconds

__all__ = ["DEFAULT_TRANSLATION_COLUMN", "TRANSLATION_BASE_COLUMNS", "translation_languages", "translations_frame"]

#: The columns before the language columns.
TRANSLATION_BASE_COLUMNS = ("sentence_id", "start_s", "end_s")
#: The column name for a one-target file when the caller does not name the language.
DEFAULT_TRANSLATION_COLUMN = "translation"
_DTYPES = {"sentence_id": "int64", "start_s": "float64", "end_s": "float64"}
_Rows = dict[int, tuple[float, float, str | None]]


def _sentences(block: Any) -> _Rows:
    out: _Rows = {}
    paragraphs = records(block, "Paragraphs")
    items = [s for p in paragraphs for s in records(get(p, "Sentences"))] if paragraphs else \
        records(block, "Sentences")
    try:  # fast path: every sentence complete, in the PascalCase spelling
        rows = [(s["SentenceId"], s["Start"] / 1000.0, s["End"] / 1000.0, s["Text"]) for s in items]
        if all(type(r[0]) is int and type(r[3]) is str for r in rows):
            return {r[0]: r[1:] for r in rows}
    except (KeyError, TypeError):
        pass
    for item in items:
        sid = as_int(get(item, "SentenceId", "Id"))
        if sid is not None:
            out[sid] = (seconds(get(item, "Start")), seconds(get(item, "End")), as_str(get(item, "Text")))
    return out


def _is_block(value: Any) -> bool:
    return bool(records(value, "Paragraphs") or records(value, "Sentences"))


def _by_language(body: Any, default: str) -> dict[str, _Rows]:
    if isinstance(body, Mapping) and _is_block(body):
        lang = as_str(get(body, "TargetLanguage", "Language", "Lang")) or default
        return {lang: _sentences(body)}
    if isinstance(body, Mapping):
        return {str(k): _sentences(v) for k, v in body.items() if _is_block(v)}
    out: dict[str, _Rows] = {}
    blocks = records(body)
    if blocks and all(get(b, "Sentences") is not None for b in blocks) and not any(
            get(b, "TargetLanguage", "Language", "Lang") for b in blocks):
        return {default: _sentences({"Paragraphs": blocks})}  # a bare list of paragraphs
    for block in blocks:
        lang = as_str(get(block, "TargetLanguage", "Language", "Lang")) or default
        out.setdefault(lang, {}).update(_sentences(block))
    return out


def translation_languages(doc: Mapping[str, Any] | None) -> list[str]:
    """The languages a Translation file names (empty for the one-target layout)."""
    return [lang for lang in _by_language(payload(doc, "Translation"), "") if lang]


def translations_frame(doc: Mapping[str, Any] | None, languages: Sequence[str] | None = None, *,
                       sentences: pd.DataFrame | None = None) -> pd.DataFrame:
    """Translations, one row per sentence, one column per language (``TRANSLATION_BASE_COLUMNS`` + languages).

    Args:
        doc: the Translation result document (wrapper optional).
        languages: the task's target languages, in the column order wanted; for the one-target
            layout the first names the column. Languages in the file but not listed follow.
        sentences: a sentences frame to align to (its ids, order and times); otherwise the rows
            are the translated sentence ids, ascending, with the file's times.
    """
    wanted = [str(lang) for lang in (languages or [])]
    found = _by_language(payload(doc, "Translation"), wanted[0] if wanted else DEFAULT_TRANSLATION_COLUMN)
    langs = wanted + [lang for lang in found if lang not in wanted and lang not in TRANSLATION_BASE_COLUMNS]
    if sentences is not None:
        ids = [int(i) for i in sentences["sentence_id"]]
        starts, ends = list(sentences["start_s"]), list(sentences["end_s"])
    else:
        ids = sorted({sid for rows in found.values() for sid in rows})
        first = {}
        for rows in found.values():
            for sid, row in rows.items():
                first.setdefault(sid, row)
        starts, ends = [first[i][0] for i in ids], [first[i][1] for i in ids]
    cols: dict[str, Any] = {"sentence_id": ids, "start_s": starts, "end_s": ends}
    for lang in langs:
        rows = found.get(lang, {})
        cols[lang] = [rows[i][2] if i in rows else None for i in ids]
    return build((*TRANSLATION_BASE_COLUMNS, *langs), _DTYPES, cols)
