"""Test helper: serve an ASGI app on a real loopback port inside the running event loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette

from tingwu_nb.client.auth import AcsAuth
from tingwu_nb.client.tasks import TingwuClient
from tingwu_nb.emulator.contract import EmulatorConfig
from tingwu_nb.emulator.rest import rest_routes
from tingwu_nb.emulator.store import TaskRecord, TaskStore


@asynccontextmanager
async def serve(app: Any) -> AsyncIterator[str]:
    """Run ``app`` with uvicorn on ``127.0.0.1:<free port>`` and yield ``http://127.0.0.1:<port>``.

    The server runs as a task of the current loop and is shut down (and awaited)
    when the block exits; close clients before leaving the block.
    """
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="auto")
    server = uvicorn.Server(config)
    task = asyncio.get_running_loop().create_task(server.serve())
    while not server.started:
        if task.done():  # startup failed: surface uvicorn's error
            task.result()
            raise RuntimeError("uvicorn exited before starting")
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


class FakeClock:
    """A shared fake clock: ``time()`` reads it, ``await sleep(s)`` advances it and yields once.

    Pass ``clock.time`` / ``clock.sleep`` to both client and emulator so backoff, QPS
    buckets, signature dates and URL expiry agree without real waiting.
    """

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


@dataclass
class RestEmulator:
    """The emulator's REST side on loopback with a fake clock, plus what a test needs to drive it."""

    url: str
    config: EmulatorConfig
    store: TaskStore
    clock: FakeClock
    records: list[dict[str, Any]] = field(default_factory=list)
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    client_defaults: dict[str, Any] = field(default_factory=dict)

    def client(self, **kw: Any) -> TingwuClient:
        """A TingwuClient on the fake clock that records every attempt in ``records``."""
        kw.setdefault("credentials", self.config.credentials())
        kw.setdefault("wall_clock", self.clock.time)
        for key, value in self.client_defaults.items():
            kw.setdefault(key, value)
        return TingwuClient(endpoint=self.url, app_key=self.config.app_key, sleep=self.clock.sleep,
                            clock=self.clock.time, on_request=self.records.append, **kw)

    def raw(self, **kw: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, **kw)

    def auth(self, nonce: Callable[[], str] | None = None) -> AcsAuth:
        extra = {"nonce": nonce} if nonce else {}
        return AcsAuth(self.config.credentials(), clock=self.clock.time, **extra)


@asynccontextmanager
async def rest_emulator(
    postprocess: Callable[[TaskRecord], Awaitable[None]],
    *,
    gate: asyncio.Event | None = None,
    client_defaults: dict[str, Any] | None = None,
    **config_kw: Any,
) -> AsyncIterator[RestEmulator]:
    """Serve only the REST routes (with ``postprocess`` after stop) on a loopback port."""
    clock = FakeClock()
    config = EmulatorConfig.generate(**config_kw)
    store = TaskStore()
    app = Starlette(routes=rest_routes(store, config, postprocess=postprocess, clock=clock.time, sleep=clock.sleep))
    async with serve(app) as url:
        yield RestEmulator(url, config, store, clock, gate=gate or asyncio.Event(),
                           client_defaults=dict(client_defaults or {}))
