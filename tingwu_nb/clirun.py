"""How the ``tingwu-nb`` command ends: signals, one-line errors and exit codes.

:func:`run_guarded` runs a command coroutine with SIGINT / SIGTERM turned into a cancellation
of that coroutine (on every Python from 3.10), so :func:`tingwu_nb.record` gets to stop the
stream and the task; a second Ctrl-C while it does so only says it is still stopping (the
stop is bounded). Whatever ends the command is printed as one line on stderr, and the exit
code says what kind of ending it was (table in :mod:`tingwu_nb.cli`).
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import traceback
import warnings
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from tingwu_nb.errors import (
    AudioError,
    AudioWarning,
    ConfigError,
    ModelError,
    ParameterError,
    ServiceError,
    TaskFailedError,
    TingwuError,
    TingwuTimeoutError,
    TransportError,
)

__all__ = ["EXIT", "exit_code_for", "one_line", "run_guarded"]

EXIT = {"ok": 0, "task_failed": 1, "refused": 2, "service": 3, "unreachable": 4, "internal": 5,
        "SIGINT": 130, "SIGTERM": 143}
_SAID = {"SIGINT": "interrupted (Ctrl-C)", "SIGTERM": "terminated (SIGTERM)"}
# the next step, for messages that do not already say one (checked in order)
_HINTS = (
    (ParameterError, "see tingwu-nb transcribe --help"),
    (AudioError, "choose a readable audio file (wav, flac, mp3, m4a, ogg, ...)"),
    (TaskFailedError, "the session directory holds what arrived"),
    (ServiceError, "nothing was created; fix what it names, or quote the request id to Alibaba Cloud support"),
    (TingwuTimeoutError, "the service is slow or stuck; try again later"),
)


class Interrupted(Exception):
    """The command was stopped by ``signame`` (SIGINT or SIGTERM)."""

    def __init__(self, signame: str) -> None:
        self.signame = signame
        super().__init__(_SAID[signame])


def exit_code_for(exc: BaseException) -> int:
    """The documented exit code for what ended the command."""
    if isinstance(exc, Interrupted):
        return EXIT[exc.signame]
    if isinstance(exc, KeyboardInterrupt):
        return EXIT["SIGINT"]
    if isinstance(exc, (ConfigError, AudioError, ModelError)):
        return EXIT["refused"]
    if isinstance(exc, (TransportError, TingwuTimeoutError)):
        return EXIT["unreachable"]
    if isinstance(exc, TingwuError):
        return EXIT["service"]
    return EXIT["internal"]


def one_line(exc: BaseException, *, debug: bool = False, session_dir: Any = None) -> str:
    """``tingwu-nb: <kind>: <cause> — <next step>``, plus where the session is and what became
    of its task. With ``debug`` the traceback comes first (on the same stream)."""
    if isinstance(exc, (Interrupted, KeyboardInterrupt)):
        text = f"tingwu-nb: {exc or _SAID['SIGINT']}"
    elif isinstance(exc, TingwuError):
        text = f"tingwu-nb: {type(exc).__name__}: {exc}"
        hint = next((h for cls, h in _HINTS if isinstance(exc, cls)), None)
        if hint and " — " not in str(exc) and not (session_dir and isinstance(exc, ServiceError)):
            text += f" — {hint}"
    else:
        text = (f"tingwu-nb: internal error: {type(exc).__name__}: {exc} — run again with --debug and "
                "report the traceback")
    if session_dir is not None:
        text += f" — {_session_note(Path(session_dir))}"
    elif isinstance(exc, (Interrupted, KeyboardInterrupt)):
        text += " — no task was created"
    text = " ".join(text.split())  # one line, whatever the message held
    if debug:
        text = "".join(traceback.format_exception(exc)).rstrip() + "\n" + text
    return text


def _session_note(directory: Path) -> str:
    try:
        meta = json.loads((directory / "session.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return f"session directory {directory}"
    stop = (meta.get("cleanup") or {}).get("task_stop", "")
    task = meta.get("task_id") or "?"
    if stop.startswith("FAILED"):
        return (f"task {task} may still be running; stop it with tingwu_nb.recover({str(directory)!r}) "
                f"(session in {directory})")
    return f"task {task} stopped; session ({meta.get('status', 'unknown')}) in {directory}"


def _show_warning(message: Any, category: type, *_: Any, **__: Any) -> None:
    print(f"tingwu-nb: warning: {message}", file=sys.stderr, flush=True)


def run_guarded(command: Callable[[Any], Awaitable[int]], args: Any, *, debug: bool = False) -> int:
    """Run ``await command(args)`` under :func:`asyncio.run` and return the exit code.

    Prints one line on stderr for any error or interruption; audio warnings print as
    ``tingwu-nb: warning: ...`` lines.
    """
    previous = warnings.showwarning
    warnings.showwarning = lambda m, c, *a, **k: (_show_warning(m, c) if issubclass(c, AudioWarning)
                                                  else previous(m, c, *a, **k))
    try:
        return asyncio.run(_guarded(command, args))
    except BaseException as exc:  # noqa: BLE001 - every ending becomes one line and a code
        if isinstance(exc, SystemExit):
            raise
        print(one_line(exc, debug=debug, session_dir=getattr(exc, "session_dir", None)), file=sys.stderr)
        return exit_code_for(exc)
    finally:
        warnings.showwarning = previous


async def _guarded(command: Callable[[Any], Awaitable[int]], args: Any) -> int:
    """``command(args)`` with SIGINT/SIGTERM cancelling it; the cancellation comes back as Interrupted."""
    loop = asyncio.get_running_loop()
    me = asyncio.current_task()
    received: list[str] = []

    def on_signal(signame: str) -> None:
        if received:
            print("  … still stopping the task (this takes a few seconds at most)", flush=True)
            return
        received.append(signame)
        me.cancel(_SAID[signame])

    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(sig) is signal.SIG_IGN:  # started as ignoring it (nohup, `cmd &`): keep that
            continue
        try:
            loop.add_signal_handler(sig, on_signal, sig.name)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):  # Windows, or not the main thread
            pass
    try:
        return await command(args)
    except asyncio.CancelledError as exc:
        if not received:
            raise
        interrupted = Interrupted(received[0])
        interrupted.session_dir = getattr(exc, "session_dir", None)
        raise interrupted from None
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
