"""Test helper: serve an ASGI app on a real loopback port inside the running event loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn


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
