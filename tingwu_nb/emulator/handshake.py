"""The join URL's WebSocket handshake, tolerant of the official NLS SDK's duplicated headers.

The NLS Python SDK (``alibabacloud-nls-python-sdk``, the client of Tingwu's own realtime
sample) opens the connection with its vendored websocket-client, which writes a random
``Sec-WebSocket-Key`` and ``Sec-WebSocket-Version: 13`` first; the SDK then appends a fixed
``Sec-WebSocket-Key`` and another ``Sec-WebSocket-Version`` from its own header list. The
client checks ``Sec-WebSocket-Accept`` against the key it generated, i.e. the FIRST one, and
the cloud accepts this SDK, so the cloud answers from the first key. The websockets library
refuses such a request (400, "multiple values"); wsproto answers from the last key.

:class:`FirstKeyWebSocketProtocol` is uvicorn's websockets sans-I/O protocol with one change:
before the handshake is validated it keeps only the first occurrence of each header in
:data:`FIRST_WINS` (:func:`first_occurrence`, pure). Requests without duplicates are
untouched. Serve with ``uvicorn.Config(app, ws=FirstKeyWebSocketProtocol)``; nothing else
is needed (the emulator's :class:`~tingwu_nb.emulator.app.Emulator` already does).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.datastructures import Headers
from websockets.http11 import Request

__all__ = ["FIRST_WINS", "FirstKeyWebSocketProtocol", "first_occurrence"]

#: Handshake headers that must be single-valued and that the NLS SDK sends twice.
FIRST_WINS: tuple[str, ...] = ("Sec-WebSocket-Key", "Sec-WebSocket-Version")


def first_occurrence(headers: Headers, names: Iterable[str] = FIRST_WINS) -> Headers:
    """A copy of ``headers`` where each of ``names`` (any case) keeps only its first value.

    Order and every other header (repeated or not) are preserved.
    """
    wanted = {name.lower() for name in names}
    seen: set[str] = set()
    kept = Headers()
    for name, value in headers.raw_items():
        low = name.lower()
        if low in wanted:
            if low in seen:
                continue
            seen.add(low)
        kept[name] = value
    return kept


class FirstKeyWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's ``websockets-sansio`` protocol answering a duplicated key from the first one.

    Pass the class itself as ``uvicorn.Config(ws=...)``. The ASGI app sees the de-duplicated
    headers in its scope. A denial response (``websocket.send_denial_response``) completes
    the handshake quietly.
    """

    def handle_connect(self, event: Request) -> None:
        headers = event.headers
        if any(len(headers.get_all(name)) > 1 for name in FIRST_WINS):
            event = dataclasses.replace(event, headers=first_occurrence(headers))
        super().handle_connect(event)

    async def send(self, message: Any) -> None:
        await super().send(message)
        if message["type"] == "websocket.http.response.body" and not message.get("more_body", False):
            # A denial response (HTTP 403/503 instead of the upgrade, e.g. an injected refusal) ends
            # the handshake; uvicorn's sans-I/O protocol forgets to say so and logs an error.
            self.handshake_complete = True
