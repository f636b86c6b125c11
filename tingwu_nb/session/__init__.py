"""The realtime lifecycle and what it leaves on disk.

``recording`` (:func:`record`, :class:`Session`), ``lifecycle`` (the steps and their clean-up:
no task is ever left running), ``recorder`` (the session directory, written as it happens),
``recovery`` (:func:`recover` a record whose process died), ``connect`` (the cloud, or the
embedded emulator).

Importing a submodule (``tingwu_nb.session.lifecycle``, the streaming path) runs this file, so
it stays light: only :func:`connect` (stdlib only) loads here, the other names on first use
(PEP 562) — :class:`Session` brings pandas with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

# Eager on purpose: it also keeps ``tingwu_nb.session.connect`` the function, not the submodule.
from tingwu_nb.lazy import lazy_names
from tingwu_nb.session.connect import connect

if TYPE_CHECKING:  # the same names, for type checkers and IDEs
    from tingwu_nb.session.recording import Session, parse_speed, record, record_sync, run_sync
    from tingwu_nb.session.recovery import recover

_LAZY: dict[str, str] = {
    "Session": "tingwu_nb.session.recording",
    "parse_speed": "tingwu_nb.session.recording",
    "record": "tingwu_nb.session.recording",
    "record_sync": "tingwu_nb.session.recording",
    "run_sync": "tingwu_nb.session.recording",
    "recover": "tingwu_nb.session.recovery",
}


__getattr__, __dir__ = lazy_names(__name__, globals(), _LAZY)


__all__ = ["Session", "connect", "parse_speed", "record", "record_sync", "recover", "run_sync"]
