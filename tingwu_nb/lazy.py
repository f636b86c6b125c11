"""Lazy names for a package ``__init__`` (PEP 562): import the defining module on first use.

A package whose submodules are imported on a hot path (``tingwu_nb.session.lifecycle`` runs
``tingwu_nb/__init__.py`` and ``tingwu_nb/session/__init__.py`` first) keeps those files light:
it lists ``name -> module`` and installs the pair returned here::

    __getattr__, __dir__ = lazy_names(__name__, globals(), {"Session": "tingwu_nb.session.recording"})
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any

__all__ = ["lazy_names"]


def lazy_names(package: str, namespace: dict[str, Any],
               table: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: a name of ``table`` is imported from its module
    on first access and cached in ``namespace`` (the package's ``globals()``); any other unknown
    name raises AttributeError as usual."""

    def __getattr__(name: str) -> Any:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = namespace[name] = getattr(import_module(module), name)
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(table))

    return __getattr__, __dir__
