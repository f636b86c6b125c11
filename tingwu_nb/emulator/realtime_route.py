"""The join URL's route: who may open a realtime stream on a task, then its StreamHandler.

An unknown token, a stopped task or a second concurrent stream is refused before the upgrade
(HTTP 403; ``ContractChoices.unknown_mc="taskfailed"`` accepts an unknown token and answers
TaskFailed instead). A task's fault plan (:mod:`tingwu_nb.emulator.faults`) is set here on its
first connection and may refuse the handshake on purpose.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from starlette.responses import PlainTextResponse
from starlette.websockets import WebSocket

from tingwu_nb.contract.server_session import ServerSession
from tingwu_nb.emulator.contract import ContractChoices
from tingwu_nb.emulator.faults import FaultPlan, FaultState
from tingwu_nb.emulator.realtime import StreamHandler
from tingwu_nb.emulator.runtime import StreamRuntime
from tingwu_nb.emulator.store import TaskStore

__all__ = ["websocket_endpoint"]


async def websocket_endpoint(
    ws: WebSocket, *, store: TaskStore, engine: Any, choices: ContractChoices, runtime: StreamRuntime, analysis: Any,
    faults: FaultPlan | None = None,
) -> None:
    """Route handler for ``/api/ws/v1?mc=<token>``: unknown or stopped tasks get HTTP 403.

    ``analysis`` is the emulator's AnalysisService (``app.state.analysis``): live translation.
    """
    record = store.by_token(ws.query_params.get("mc", ""))
    usable = (
        record is not None
        and record.status == "ONGOING"
        and record.phase == "streaming"
        and not record.stream_active
        and (choices.allow_sequential_reconnect or not record.pcm)  # no earlier stream sent audio
    )
    if not usable:
        if record is None and choices.unknown_mc == "taskfailed":
            await ws.accept()
            session = ServerSession()
            session.fail(40000001, "Gateway:ACCESS_DENIED:The meeting join token is invalid or expired!")
            for text in session.data_to_send():
                await ws.send_text(text)
            await ws.close(code=choices.close_code_after_failure)
            return
        await ws.close(code=1008)  # before accept: uvicorn answers the upgrade with HTTP 403
        return
    if record.faults is None:  # the server's plan, unless Emulator.inject gave this task its own
        record.faults = FaultState(faults or FaultPlan())
    if refused := record.faults.refuse_handshake():  # injected: HTTP 403/503 instead of the upgrade
        await ws.send_denial_response(PlainTextResponse(HTTPStatus(refused).phrase, status_code=refused))
        return
    await StreamHandler(ws, record, engine=engine, choices=choices, runtime=runtime, analysis=analysis).run()
