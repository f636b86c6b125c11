"""The session directory: everything about one realtime record, written as it happens.

Layout (all text is redacted: no AccessKey secret, STS token, ``mc`` token or URL signature)::

    session.json          parameters, task id, phases with monotonic + wall times, status, errors
    frames.jsonl          one line per audio frame sent: seq, bytes, start_ms, end_ms, mono, wall
    events.jsonl          one line per event received: its wire JSON + mono, wall, audio_sent_ms
    sent.<format>         the exact audio bytes sent, appended frame by frame
    results/<Kind>.json   each result file as downloaded (Transcription, ...)
    results/<name>.mp3    OutputMp3Path, when transcoding was asked for
    sentences.parquet     the sentence table (results.SENTENCE_COLUMNS)
    words.parquet         the word table (results.WORD_COLUMNS)
    <table>.parquet       every other non-empty result table (results.TABLES: paragraphs,
                          speakers, translations, chapters, keywords, ...)

``session.json`` is replaced atomically at each phase. The three append-only files are
buffered and flushed together at most :data:`FLUSH_INTERVAL_S` (1 s, rounded up to the pacing
grid, :data:`~tingwu_nb.client.pacing.ALIGN_S`) after the first record written since the last
flush (a timer on the running event loop, due with every other writer's), at every phase / metadata
change and at close: a crash (or a dead kernel) loses at most the last ~1 s of frames and
events, never a phase or a status. Without a running event loop every record is written
through at once.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from tingwu_nb.client.audio import Frame
from tingwu_nb.client.pacing import ALIGN_S
from tingwu_nb.contract import events as ev
from tingwu_nb.contract.protocol import encode
from tingwu_nb.redaction import redact_mapping, redact_text

__all__ = ["FLUSH_INTERVAL_S", "SessionWriter", "new_session_dir"]

#: Longest a written frame or event stays in memory before it reaches the disk (see module doc).
FLUSH_INTERVAL_S = 1.0
_AUDIO_BUFFER = 1 << 14
_TEXT_BUFFER = 1 << 13
#: Anything in an event's wire JSON that redaction might change (sensitive key names, URLs,
#: ``mc=``-like fragments, JSON escapes); an event without any is written without re-parsing.
_RISKY = re.compile(r"secret|token|passw|signature|url|://|\b(?:mc|sig)\s*[=:]|access_?key|\\", re.IGNORECASE)


def new_session_dir(root: str | os.PathLike, *, wall: Callable[[], float] = time.time) -> Path:
    """A fresh, unique directory under ``root`` named by UTC time (created)."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(wall()))
    root = Path(root)
    for n in range(1000):
        path = root / (stamp if n == 0 else f"{stamp}-{n}")
        try:
            path.mkdir(parents=True)
            return path
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a unique session directory under {root}")


class SessionWriter:
    """Appends one session to its directory.

    Metadata (``update``, ``phase``, ``mark``), results and blobs are written through at once;
    frames and events are buffered for at most ``flush_interval_s`` (see the module doc).
    Call :meth:`close` when the session ends (it flushes); :meth:`flush` forces the buffers out.

    Args:
        directory: an existing, empty directory (see :func:`new_session_dir`).
        fmt: the stream format (names ``sent.<fmt>``).
        secrets: strings that must never reach the disk (secret, token, join URL...).
        clock / wall: seams for monotonic and epoch time.
        flush_interval_s: bound on how long a frame or event waits in memory (0: write through).
    """

    def __init__(
        self,
        directory: str | os.PathLike,
        *,
        fmt: str,
        secrets: Iterable[str] = (),
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        flush_interval_s: float = FLUSH_INTERVAL_S,
    ) -> None:
        self.directory = Path(directory)
        (self.directory / "results").mkdir(parents=True, exist_ok=True)
        self._secrets = [s for s in secrets if s]
        self._clock = clock
        self._wall = wall
        self.meta: dict[str, Any] = {"format_version": 1, "phases": {}, "status": "created"}
        # small buffers: a second of 16 kHz pcm is 32 kB, so the audio reaches the disk about
        # every 0.5 s (and at the latest at the flush timer) while 200 streams hold ~5 MB
        self._frames = open(self.directory / "frames.jsonl", "a", encoding="utf-8", buffering=_TEXT_BUFFER)  # noqa: SIM115
        self._events = open(self.directory / "events.jsonl", "a", encoding="utf-8", buffering=_TEXT_BUFFER)  # noqa: SIM115
        self._audio = open(self.directory / f"sent.{fmt}", "ab", buffering=_AUDIO_BUFFER)  # noqa: SIM115
        self._frame_seq = 0
        self._event_seq = 0
        self.flush_interval_s = flush_interval_s
        self._pending: asyncio.TimerHandle | None = None
        self._dirty = False

    @classmethod
    def reopen(cls, directory: str | os.PathLike, *, secrets: Iterable[str] = ()) -> SessionWriter:
        """Continue writing an existing session directory (after a crash), keeping its metadata."""
        directory = Path(directory)
        meta = json.loads((directory / "session.json").read_text(encoding="utf-8"))
        fmt = ((meta.get("request") or {}).get("Input") or {}).get("Format", "pcm")
        writer = cls(directory, fmt=fmt, secrets=secrets)
        writer.meta = meta
        return writer

    def add_secret(self, value: str | None) -> None:
        """Never write ``value`` (e.g. the join URL once CreateTask returned it)."""
        if value:
            self._secrets.append(value)

    # --- metadata ----------------------------------------------------------------------

    def update(self, **fields: Any) -> None:
        """Merge ``fields`` into session.json (redacted) and rewrite it atomically."""
        self.meta.update(fields)
        self._write_meta()

    def phase(self, name: str) -> None:
        """Record that phase ``name`` happened now (monotonic and wall time)."""
        self.meta["phases"][name] = {"mono": self._clock(), "wall": self._wall()}
        self._write_meta()

    def mark(self, section: str, names: Iterable[str]) -> None:
        """Stamp each of ``names`` under ``session.json[section]`` with now (monotonic and wall
        time), keeping the first stamp of a name already there."""
        stamp = {"mono": self._clock(), "wall": self._wall()}
        marks = self.meta.setdefault(section, {})
        for name in names:
            marks.setdefault(name, dict(stamp))
        self._write_meta()

    def _write_meta(self) -> None:
        self.flush()  # frames and events before the phase they led to
        path = self.directory / "session.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(self._redact_json(self.meta, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)

    # --- streams of records -----------------------------------------------------------------

    def frame(self, frame: Frame, mono: float, wall: float) -> None:
        """Log one audio frame that was just sent (use as RealtimeStream ``on_frame``)."""
        self._frame_seq += 1
        self._audio.write(frame.data)
        # numbers only, nothing to redact: formatted as json.dumps would, without its cost per frame
        self._frames.write(f'{{"seq": {self._frame_seq}, "bytes": {len(frame.data)}, "start_ms": {int(frame.start_ms)}, '
                           f'"end_ms": {int(frame.end_ms)}, "mono": {float(mono)!r}, "wall": {float(wall)!r}}}\n')
        if not self._dirty:
            self._written()

    def event(self, event: ev.Event) -> None:
        """Log one received event (use as RealtimeStream ``on_event``)."""
        self._event_seq += 1
        text = encode(event)
        if _RISKY.search(text) or any(secret in text for secret in self._secrets):
            text = self._redact_json(json.loads(text))  # the general path: keys, URLs, loose tokens, secrets
        # else: nothing in the wire text that redaction could change (see _RISKY): keep it as it is
        head = json.dumps({"seq": self._event_seq, "name": event.name, "mono": event.received_at,
                           "wall": event.received_wall, "audio_sent_ms": event.audio_sent_ms})
        self._events.write(f'{head[:-1]}, "message": {text}}}\n')
        if not self._dirty:
            self._written()

    def result(self, kind: str, document: Mapping[str, Any]) -> Path:
        """Store a downloaded result file as ``results/<kind>.json``."""
        path = self.directory / "results" / f"{kind}.json"
        path.write_text(self._redact_json(document, indent=1) + "\n", encoding="utf-8")
        return path

    def blob(self, name: str, data: bytes) -> Path:
        """Store a downloaded binary result (e.g. the mp3) under ``results/``."""
        path = self.blob_path(name)
        path.write_bytes(data)
        return path

    def blob_path(self, name: str) -> Path:
        """Where :meth:`blob` stores ``name`` (under ``results/``): stream a big download there
        yourself (e.g. ``TingwuClient.fetch_file``, which writes ``<path>.part`` and renames it once
        whole) instead of passing its bytes to :meth:`blob`."""
        return self.directory / "results" / Path(name).name

    def flush(self) -> None:
        """Write every buffered frame and event to the disk now."""
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        if self._dirty:
            self._dirty = False
            for handle in (self._audio, self._frames, self._events):
                if not handle.closed:
                    handle.flush()

    def close(self) -> None:
        """Flush and close the append-only files; session.json stays as last written."""
        self.flush()
        for handle in (self._frames, self._events, self._audio):
            handle.close()

    # --- helpers -----------------------------------------------------------------------------

    def _written(self) -> None:
        """The first record since the last flush: flush within ``flush_interval_s``."""
        self._dirty = True
        if self.flush_interval_s <= 0:
            self.flush()
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop to run the timer: write through
            self.flush()
            return
        # on the pacing grid: every writer of the process (and the frames' own wake-ups) flushes
        # in the same loop iteration instead of one timer per session at scattered times
        self._pending = loop.call_at(math.ceil((loop.time() + self.flush_interval_s) / ALIGN_S) * ALIGN_S, self.flush)

    def _redact_json(self, obj: Any, indent: int | None = None) -> str:
        text = json.dumps(redact_mapping(obj), ensure_ascii=False, indent=indent, default=str)
        return redact_text(text, self._secrets) if self._secrets else text
