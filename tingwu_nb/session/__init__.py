"""The realtime lifecycle and what it leaves on disk.

``recording`` (:func:`record`, :class:`Session`), ``lifecycle`` (the steps and their clean-up:
no task is ever left running), ``recorder`` (the session directory, written as it happens),
``recovery`` (:func:`recover` a record whose process died), ``connect`` (the cloud, or the
embedded emulator).
"""

from tingwu_nb.session.connect import connect
from tingwu_nb.session.recording import Session, parse_speed, record, record_sync, run_sync
from tingwu_nb.session.recovery import recover

__all__ = ["Session", "connect", "parse_speed", "record", "record_sync", "recover", "run_sync"]
