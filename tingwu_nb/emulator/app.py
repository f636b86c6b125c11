"""The emulator as one ASGI app and as a running loopback service.

``create_app`` assembles the REST routes (CreateTask, GetTaskInfo, signed result files)
and the WebSocket join URL on one Starlette app. :class:`Emulator` serves that app with
uvicorn on ``127.0.0.1`` in a background thread, so it works the same from a script, a
CLI, a test or a Jupyter kernel (whose own loop it never blocks)::

    with Emulator() as emu:
        client = emu.client()          # a TingwuClient signed with the emulator's test keys
        ...

Any client that speaks Tingwu's contract can use ``emu.endpoint`` with ``emu.app_key``
and ``emu.credentials``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import socket
import threading
import time
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute

from tingwu_nb.config import Credentials
from tingwu_nb.emulator.analysis.postprocess import postprocess
from tingwu_nb.emulator.analysis.service import AnalysisService, llm_available
from tingwu_nb.emulator.callbacks import CallbackSender
from tingwu_nb.emulator.contract import EmulatorConfig
from tingwu_nb.emulator.faults import FaultPlan, FaultState
from tingwu_nb.emulator.handshake import FirstKeyWebSocketProtocol
from tingwu_nb.emulator.realtime_route import websocket_endpoint
from tingwu_nb.emulator.rest import rest_routes
from tingwu_nb.emulator.runtime import StreamRuntime
from tingwu_nb.emulator.store import TaskStore
from tingwu_nb.errors import ModelError
from tingwu_nb.redaction import redact_logs

__all__ = ["Emulator", "create_app"]

_log = logging.getLogger("tingwu_nb.emulator")


def _default_engine() -> Any:
    from tingwu_nb.emulator.engine.engine import EngineConfig, SpeechEngine

    return SpeechEngine(EngineConfig())


def create_app(config: EmulatorConfig, *, engine: Any = None, store: TaskStore | None = None) -> Starlette:
    """A Starlette app serving the whole Tingwu contract for ``config``.

    ``engine`` is a :class:`~tingwu_nb.emulator.engine.engine.SpeechEngine` (built lazily by
    default). The store is exposed as ``app.state.store`` for inspection; ``app.state.streams``
    is the :class:`~tingwu_nb.emulator.runtime.StreamRuntime` (decode threads, live streams)
    and ``app.state.callbacks`` the :class:`~tingwu_nb.emulator.callbacks.CallbackSender`,
    which whoever serves the app must close on shutdown, as :meth:`Emulator.stop` does;
    ``app.state.analysis`` is the :class:`~tingwu_nb.emulator.analysis.service.AnalysisService`
    (``config.analysis_engine`` and the one analysis worker), to be closed on shutdown too.
    """
    store = store if store is not None else TaskStore(config.spool_dir)
    if config.speech_engine == "loadtest" and getattr(engine, "name", None) != "loadtest":
        from tingwu_nb.emulator.engine.loadtest import LoadTestEngine

        engine = LoadTestEngine()  # a Whisper engine passed in is not used (nor loaded)
    engine = engine if engine is not None else _default_engine()
    streams = StreamRuntime()
    analysis = AnalysisService(config.analysis_engine, max_pending=config.analysis_max_pending)
    ws = functools.partial(websocket_endpoint, store=store, engine=engine, choices=config.choices, runtime=streams,
                           analysis=analysis, faults=config.faults)
    finish = functools.partial(postprocess, translation_layout=config.choices.translation_layout,
                               analysis=analysis, choices=config.choices, spool_dir=config.spool_dir)
    callbacks = CallbackSender(config)  # posts to config.callback_url (rest §5.7)
    routes = [*rest_routes(store, config, postprocess=finish, callbacks=callbacks), WebSocketRoute("/api/ws/v1", ws)]
    app = Starlette(routes=routes)
    app.state.store = store
    app.state.streams = streams
    app.state.engine = engine
    app.state.config = config
    app.state.callbacks = callbacks
    app.state.analysis = analysis
    return app


class Emulator:
    """A running emulator on a loopback port (background thread with its own event loop).

    Args:
        config: keys, AppKey and contract choices; ``EmulatorConfig.generate()`` by default.
        host: interface to bind; loopback unless you really mean to expose it.
        port: 0 picks a free port.
        engine: a shared SpeechEngine (so several emulators reuse loaded models).
    """

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        engine: Any = None,
    ) -> None:
        self.config = config or EmulatorConfig.generate()
        self.host = host
        self.app = create_app(self.config, engine=engine)
        self._requested_port = port
        self.port: int | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        state = f"{self.endpoint}" if self.port else "stopped"
        return f"<Emulator {state} app_key={self.config.app_key!r}>"

    # --- facts a client needs ----------------------------------------------------------

    @property
    def endpoint(self) -> str:
        """Base URL for TingwuClient, e.g. ``http://127.0.0.1:54321``."""
        if self.port is None:
            raise RuntimeError("the emulator is not running; call start() first")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def app_key(self) -> str:
        return self.config.app_key

    @property
    def credentials(self) -> Credentials:
        """The emulator's first test AccessKey pair (local, generated per instance)."""
        return self.config.credentials()

    @property
    def store(self) -> TaskStore:
        return self.app.state.store

    @property
    def engine(self) -> Any:
        return self.app.state.engine

    def analysis_report(self, task_id: str) -> dict[str, dict[str, Any]]:
        """Post-processing per Result key of a task: ``{"seconds", "engine", "fallbacks"}``.

        ``seconds`` is the engine work on the analysis worker; ``engine`` the engine that
        answered (``"extractive"``, the model's name, or both joined by ``+``); ``fallbacks``
        the parts answered by the extractive engine after the model failed. Empty until the
        task's post-processing has run; raises KeyError for an unknown task.
        """
        record = self.store.get(task_id)
        if record is None:
            raise KeyError(task_id)
        return {k: dict(v, fallbacks=list(v.get("fallbacks", []))) for k, v in record.analysis_report.items()}

    def inject(self, task_id: str, plan: FaultPlan) -> None:
        """Inject ``plan``'s faults into one task (replacing the server's plan for it), e.g. from
        a ``record(on_event=...)`` hook or right after CreateTask; see :mod:`tingwu_nb.emulator.faults`.
        Streaming faults apply from the task's next WebSocket connection; REST faults of this plan
        count the calls naming this task. Raises KeyError for an unknown task."""
        record = self.store.get(task_id)
        if record is None:
            raise KeyError(task_id)
        record.faults = FaultState(plan, own=True)

    def client(self, **kwargs: Any) -> Any:
        """A :class:`~tingwu_nb.client.tasks.TingwuClient` for this emulator (caller closes it)."""
        from tingwu_nb.client.tasks import TingwuClient

        return TingwuClient(endpoint=self.endpoint, app_key=self.app_key, credentials=self.credentials, **kwargs)

    # --- lifecycle -----------------------------------------------------------------------

    def start(self, timeout_s: float = 30.0) -> Emulator:
        """Bind and serve in a background thread; returns when the port accepts connections.

        Raises:
            ModelError: ``config.analysis_engine="llm"`` and the language model is not prepared.
        """
        if self._thread is not None:
            return self
        analysis: AnalysisService = self.app.state.analysis
        if analysis.kind == "llm" and not llm_available():
            raise ModelError("analysis_engine='llm' needs the offline language model, which has not been "
                             "prepared: run the README's setup (tingwu-nb prepare-models), or use 'auto'")
        _log.info("analysis engine: %s", {"extractive": "extractive", "llm": "the language model"}.get(
            analysis.kind, "the language model if prepared, else extractive (settled at first use)"))
        redact_logs()  # uvicorn's access log would print ?mc= tokens and result URL signatures
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._requested_port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", ws=FirstKeyWebSocketProtocol, lifespan="off",
                                ws_ping_interval=None)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve(sock)), name="tingwu-emulator",
                                        daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the emulator did not start")
            time.sleep(0.01)
        return self

    async def _serve(self, sock: socket.socket) -> None:
        self._loop = asyncio.get_running_loop()
        await self._server.serve(sockets=[sock])

    def stop(self) -> None:
        """End live streams (TaskFailed 50000000), stop serving, join the thread; safe to call twice.

        Streams still sending get a TaskFailed saying the service is shutting down; a decode
        already running finishes first (at most one feed chunk). Nothing is printed.
        """
        streams: StreamRuntime = self.app.state.streams
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and thread.is_alive() and not loop.is_closed():
            for closing in (functools.partial(streams.close, timeout_s=5.0), self.app.state.callbacks.aclose):
                try:  # each on its own: the callback sender is closed even if ending streams failed
                    asyncio.run_coroutine_threadsafe(closing(), loop).result(timeout=10)
                except Exception:  # noqa: BLE001 - the loop is already stopping: uvicorn closes the sockets
                    pass
        if self._server is not None:
            self._server.should_exit = True
        if thread is not None:
            thread.join(timeout=10)
        streams.shutdown()
        self.app.state.analysis.close()
        self.store.close()  # every task's spooled audio file is deleted
        self._thread = None
        self._server = None
        self._loop = None
        self.port = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> Emulator:
        return await asyncio.to_thread(self.start)

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.stop)
