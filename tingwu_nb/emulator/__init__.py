"""The local Tingwu-compatible emulator: REST + WebSocket service with offline speech recognition.

``Emulator`` (from :mod:`tingwu_nb.emulator.app`) is imported lazily so that importing this
package does not pull in Starlette, uvicorn or the speech engine.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ContractChoices", "Emulator", "EmulatorConfig", "create_app"]


def __getattr__(name: str) -> Any:
    if name in ("Emulator", "create_app"):
        from tingwu_nb.emulator import app

        return getattr(app, name)
    if name in ("ContractChoices", "EmulatorConfig"):
        from tingwu_nb.emulator import contract

        return getattr(contract, name)
    raise AttributeError(name)
