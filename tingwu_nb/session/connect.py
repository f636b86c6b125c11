"""Choose the service: the real cloud when credentials are configured, else the embedded emulator.

    async with connect() as client:     # TingwuClient
        ...

The cloud needs an AccessKey (environment, ``~/.aliyun/config.json`` or
``~/.alibabacloud/credentials.ini``; see :func:`tingwu_nb.config.resolve_credentials`) and an
AppKey (``TINGWU_APP_KEY`` or ``app_key=``). With neither, a local emulator is started once
per process on 127.0.0.1 and shared (:func:`embedded_emulator`).
"""

from __future__ import annotations

import functools
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from tingwu_nb.config import Credentials, resolve_app_key, resolve_credentials, resolve_endpoint
from tingwu_nb.errors import ConfigError
from tingwu_nb.redaction import redact_url

__all__ = ["connect", "describe_endpoint", "embedded_emulator", "running_embedded"]


@functools.lru_cache(maxsize=1)
def embedded_emulator() -> Any:
    """The process-wide embedded emulator, started on first use (stopped at exit)."""
    import atexit

    from tingwu_nb.emulator.app import Emulator

    emulator = Emulator().start()
    atexit.register(emulator.stop)
    return emulator


def running_embedded(endpoint: str) -> Any:
    """This process's embedded emulator when it is running at ``endpoint``, else None.

    Never starts one. Talk to it with ``emulator.client()`` (its own credentials).
    """
    if not endpoint or not embedded_emulator.cache_info().currsize:
        return None
    emulator = embedded_emulator()
    return emulator if emulator.port is not None and emulator.endpoint == endpoint.rstrip("/") else None


def describe_endpoint(client: Any) -> str:
    """Where ``client`` talks to, for people: "embedded emulator at URL" only when it really is
    this process's embedded emulator, else the endpoint URL (credentials in it masked)."""
    endpoint = str(getattr(client, "endpoint", ""))
    if running_embedded(endpoint) is not None:
        return f"embedded emulator at {endpoint}"
    return redact_url(endpoint)


@asynccontextmanager
async def connect(
    endpoint: str | None = None,
    *,
    app_key: str | None = None,
    credentials: Credentials | None = None,
    use_emulator: bool = False,
    **client_options: Any,
) -> AsyncIterator[Any]:
    """Yield a :class:`~tingwu_nb.client.tasks.TingwuClient` for the cloud or the embedded emulator.

    ``use_emulator=True`` forces the embedded emulator whatever is configured.
    ``client_options`` go to the client (e.g. ``timeout=httpx.Timeout(...)``, ``on_slow=print``).
    :func:`describe_endpoint` says which service it is.
    Raises ConfigError when credentials exist but no AppKey is known, or the endpoint is not
    an http(s) URL (nothing is sent).
    """
    from tingwu_nb.client.tasks import TingwuClient

    if not use_emulator:
        credentials = credentials or resolve_credentials()
        if endpoint is None and (credentials is not None or os.environ.get("TINGWU_ENDPOINT")):
            endpoint = resolve_endpoint()
    if use_emulator or (credentials is None and endpoint is None):
        import asyncio

        emulator = await asyncio.to_thread(embedded_emulator)
        client = emulator.client(**client_options)
    else:
        endpoint = _checked(endpoint)
        if credentials is None:
            raise ConfigError(f"endpoint {endpoint} given but no AccessKey configured; set "
                              "ALIBABA_CLOUD_ACCESS_KEY_ID / ALIBABA_CLOUD_ACCESS_KEY_SECRET")
        app_key = app_key or resolve_app_key()
        if not app_key:
            raise ConfigError("no Tingwu AppKey: pass app_key= or set TINGWU_APP_KEY (Tingwu console → project)")
        client = TingwuClient(endpoint=endpoint, app_key=app_key,
                              credentials=credentials, **client_options)
    try:
        yield client
    finally:
        await client.aclose()


def _checked(endpoint: str) -> str:
    """An http(s) URL with a host (a bare host gets https://), else ConfigError."""
    from urllib.parse import urlsplit

    value = endpoint.strip() if "://" in endpoint else f"https://{endpoint.strip()}"
    try:
        parts = urlsplit(value)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname) and (parts.port is None or parts.port > 0)
    except ValueError:
        ok = False
    if not ok:
        raise ConfigError(f"endpoint {endpoint!r} is not an http(s) URL — pass e.g. "
                          "--endpoint https://tingwu.cn-beijing.aliyuncs.com or http://127.0.0.1:8765")
    return value.rstrip("/")
