"""The live session view: the transcript appears while audio streams, and the kernel stays free.

:class:`LiveView` (ipywidgets, root class ``tingwu-live``) shows greyed interim text
(``tingwu-interim``) turning into final sentences (``tingwu-final``) coloured by speaker, their
translations underneath, each sentence's latency, a progress bar of the audio sent, a Stop
button (``tingwu-stop``), post-processing progress per result and a status line
(``tingwu-status``) that ends with the task status. It renders from a
:class:`~tingwu_nb.notebook.live_state.LiveState`: at most ``max_rows`` sentence widgets (older
ones are summarised), only changed widgets are touched, at most ``1 / min_interval_s`` times a
second. :class:`TextView` prints the final sentences instead where widgets cannot show.

    view = LiveView()
    task = view.start("meeting.wav", request)   # returns at once; other cells run meanwhile
    session = await task                          # or press Stop, then await it

:func:`record` is what ``tingwu_nb.record`` is: the session recording with this view shown
when it runs in a Jupyter kernel, and quiet in scripts.
"""

from __future__ import annotations

import asyncio
import html
import os
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from tingwu_nb.contract import events as ev
from tingwu_nb.contract.params import RealtimeTaskRequest
from tingwu_nb.notebook.live_state import LiveState, SentenceRow, expected_results, speaker_color
from tingwu_nb.session import recording

__all__ = ["LiveView", "TextView", "in_kernel", "record", "widgets_available"]

FINAL_STYLE = "margin:1px 0;line-height:1.35"
INTERIM_STYLE = "color:#8a8a8a;font-style:italic"


def in_kernel() -> bool:
    """True inside a Jupyter kernel (IPython with a kernel attached), False in scripts and terminal IPython."""
    ipython_mod = sys.modules.get("IPython")
    if ipython_mod is None:
        return False
    shell = ipython_mod.get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def widgets_available() -> bool:
    """True when ipywidgets imports and the kernel can open comms (a frontend may render them)."""
    try:
        import comm  # noqa: F401
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return in_kernel()


class _Base:
    """What both views share: the state, the stop event, the hooks given to record()."""

    def __init__(self, *, max_rows: int = 200) -> None:
        self.state = LiveState(max_rows=max_rows)
        self.stop_event = asyncio.Event()
        self.task: asyncio.Task | None = None
        self.session: recording.Session | None = None

    def hooks(self, request: RealtimeTaskRequest | None, **user: Any) -> dict[str, Any]:
        """``on_event`` / ``on_progress`` / ``stop_event`` for :func:`tingwu_nb.session.recording.record`,
        calling the caller's own ``on_event`` / ``on_progress`` too (a given ``stop_event`` is used)."""
        wire = (request or RealtimeTaskRequest.create()).to_wire()
        self.state.results = dict.fromkeys(expected_results(wire), False)
        if user.get("stop_event") is not None:
            self.stop_event = user["stop_event"]
        return {"on_event": _chain(self.on_event, user.get("on_event")),
                "on_progress": _chain(self.on_progress, user.get("on_progress")), "stop_event": self.stop_event}

    def on_event(self, event: ev.Event) -> None:
        self.state.event(event)
        self.changed()

    def on_progress(self, kind: str, value: Any) -> None:
        if kind == "audio":
            self.state.audio_ready(value)
        elif kind == "frame":
            self.state.frame_sent(*value)
        elif kind == "task":
            self.state.task_update(value.status, list(value.result_urls))
        elif kind == "gap":
            self.state.reconnected(value.replayed_s)
        self.changed()

    def stop(self) -> None:
        """Request a graceful stop: sending ends, every final is drained, results are fetched.

        Then await :attr:`task` (or the ``record`` call) for the Session.
        """
        if not self.stop_event.is_set():
            self.stop_event.set()
            self.state.stopping()
            self.changed()

    def changed(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def flush(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    async def run(self, source: Any, request: RealtimeTaskRequest | None = None, **kwargs: Any) -> recording.Session:
        """Record ``source`` with this view attached (kwargs as :func:`tingwu_nb.session.recording.record`)."""
        try:
            hooks = self.hooks(request, **{k: kwargs.pop(k, None) for k in ("on_event", "on_progress", "stop_event")})
            self.session = await recording.record(source, request, **kwargs, **hooks)
        except BaseException as exc:
            status = "cancelled" if isinstance(exc, (asyncio.CancelledError, KeyboardInterrupt)) else "FAILED"
            self.state.finished(status, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
            self.flush()
            raise
        self.state.finished(self.session.status)
        self.flush()
        return self.session

    def start(self, source: Any, request: RealtimeTaskRequest | None = None, **kwargs: Any) -> asyncio.Task:
        """Start :meth:`run` as a task on the running (kernel) loop and return it at once.

        Other cells run while it streams; ``await`` the task (kept as :attr:`task`) for the Session.
        """
        self.task = asyncio.get_running_loop().create_task(self.run(source, request, **kwargs))
        return self.task


def _chain(mine: Callable[..., None], theirs: Callable[..., None] | None) -> Callable[..., None]:
    if theirs is None:
        return mine

    def both(*args: Any) -> None:
        mine(*args)
        theirs(*args)

    return both


class LiveView(_Base):
    """The widget view; display it (it displays itself) and feed it through :meth:`start` / :meth:`run`.

    ``max_rows`` sentence widgets at most; ``min_interval_s`` between two renders.
    """

    def __init__(self, *, max_rows: int = 200, min_interval_s: float = 0.1) -> None:
        import ipywidgets as w

        super().__init__(max_rows=max_rows)
        self.min_interval_s = min_interval_s
        self.renders = 0  # how many times the widgets were updated (throttling makes it small)
        self._pending: asyncio.TimerHandle | None = None
        self._rows: dict[int, Any] = {}  # seq -> HTML widget, in display order
        self.progress = w.FloatProgress(value=0.0, min=0.0, max=1.0, description="audio",
                                        layout=w.Layout(width="320px"))
        self.elapsed = w.HTML("0:00.0")
        self.stop_button = w.Button(description="Stop", button_style="warning", icon="stop",
                                    tooltip="stop sending audio; finals are drained and results fetched")
        self.stop_button.add_class("tingwu-stop")
        self.stop_button.on_click(lambda _button: self.stop())
        self.earlier = w.HTML("")
        self.rows = w.VBox([], layout=w.Layout(max_height="420px", overflow="auto"))
        self.interim = w.HTML("")
        self.interim.add_class("tingwu-interim")
        self.results = w.HTML("")
        self.status = w.HTML("preparing audio")
        self.status.add_class("tingwu-status")
        self.widget = w.VBox([w.HBox([self.progress, self.elapsed, self.stop_button]), self.earlier, self.rows,
                              self.interim, self.results, self.status])
        self.widget.add_class("tingwu-live")
        self._w = w
        self.flush()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def changed(self) -> None:
        """Schedule a render (at most one per ``min_interval_s``); renders now when no loop runs."""
        if self._pending is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        self._pending = loop.call_later(self.min_interval_s, self.flush)

    def flush(self) -> None:
        """Render what changed since the last render (call it directly after feeding events by hand)."""
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        state, changes = self.state, self.state.take_changes()
        if not changes.any:
            return
        self.renders += 1
        for row in changes.updated:
            if row.seq in self._rows:
                self._rows[row.seq].value = self._row_html(row)
        if changes.added:
            for row in changes.added:
                widget = self._w.HTML(self._row_html(row))
                widget.add_class("tingwu-final")
                self._rows[row.seq] = widget
            kept = {row.seq for row in state.rows}
            for seq in [s for s in self._rows if s not in kept]:
                self._rows.pop(seq).close()
            self.rows.children = tuple(self._rows.values())
            self.earlier.value = f"<i>… {state.earlier} earlier sentences</i>" if state.earlier else ""
        if changes.interim:
            self.interim.value = self._interim_html()
        if changes.progress:
            self.progress.value = state.progress
            total = f" / {state.total_ms / 1000:.1f} s" if state.total_ms else ""
            self.elapsed.value = f"&nbsp;{state.sent_ms / 1000:.1f} s sent{total}, heard {state.heard_ms / 1000:.1f} s"
        if changes.results:
            self.results.value = "post-processing: " + " · ".join(
                f"{key} {'✓' if done else '…'}" for key, done in state.results.items())
        self.status.value = html.escape(state.status_line())
        self.stop_button.disabled = self.stop_event.is_set() or state.phase == "done"

    def _row_html(self, row: SentenceRow) -> str:
        color = speaker_color(row.speaker_id, self.state.colors)
        who = f"<b style='color:{color}'>{html.escape(row.speaker_id)}</b> " if row.speaker_id else ""
        latency = f" <small style='color:#888'>({row.latency_s:.2f} s)</small>" if row.latency_s is not None else ""
        lines = [f"<div style='{FINAL_STYLE}'><small style='color:#888'>{row.start_s:6.1f}s</small> {who}"
                 f"<span style='border-left:3px solid {color};padding-left:4px'>{html.escape(row.text)}</span>"
                 f"{latency}</div>"]
        lines += [f"<div style='margin-left:5em;color:#555'>↳ <small>{html.escape(lang)}</small> {html.escape(text)}"
                  f"</div>" for lang, text in sorted(row.translations.items())]
        return "".join(lines)

    def _interim_html(self) -> str:
        interim = self.state.interim
        if interim is None:
            return ""
        extra = "".join(f"<div style='margin-left:5em'>↳ {html.escape(t)}</div>"
                        for _, t in sorted(interim.translations.items()))
        return f"<div style='{INTERIM_STYLE}'>… {html.escape(interim.text)}{extra}</div>"


class TextView(_Base):
    """Prints each final sentence (and the end status) where widgets cannot be shown."""

    def __init__(self, *, max_rows: int = 200, file: Any = None) -> None:
        super().__init__(max_rows=max_rows)
        self.file = file

    def changed(self) -> None:
        self.flush()

    def flush(self) -> None:
        changes = self.state.take_changes()
        for row in changes.added:
            who = f"{row.speaker_id}: " if row.speaker_id else ""
            print(f"[{row.start_s:7.1f}s] {who}{row.text}", file=self.file or sys.stdout)
        if changes.status and self.state.phase == "done":
            print(self.state.status_line(), file=self.file or sys.stdout)


def record(source: str | os.PathLike | bytes, request: RealtimeTaskRequest | None = None, *,
           view: bool | None = None, **kwargs: Any) -> Coroutine[Any, Any, recording.Session]:
    """:func:`tingwu_nb.session.recording.record`, showing the live view in a notebook; await the result.

    ``view=None`` (default): a :class:`LiveView` inside a Jupyter kernel with widgets, a
    :class:`TextView` in a kernel without them, nothing in scripts; ``True`` forces a view,
    ``False`` none. The view is displayed at once (under the calling cell), then the returned
    coroutine records. To keep the kernel free while it streams, run it as a task:
    ``task = asyncio.create_task(tingwu_nb.record(...))``, then ``session = await task``.
    """
    if view is None:
        view = in_kernel()
    if not view:
        return recording.record(source, request, **kwargs)
    shown: _Base = LiveView() if widgets_available() else TextView()
    if isinstance(shown, LiveView):
        from IPython.display import display

        display(shown)
    return shown.run(source, request, **kwargs)
