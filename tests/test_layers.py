"""The package's import graph points one way, layer by layer (architecture.md §2-3).

Every ``import`` / ``from ... import`` of a tingwu_nb module anywhere in a module (lazy imports
inside functions included) is read with :mod:`ast` and checked against the layer order below.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "tingwu_nb"

#: layer -> the layers it may import (besides itself). Root helpers: errors, config, redaction, lazy, samples.
ALLOWED = {
    "base": set(),  # errors, config, redaction, lazy
    "contract": {"base"},
    "client": {"base", "contract"},
    "results": {"base", "contract"},
    "session": {"base", "contract", "client", "results", "emulator"},  # connect starts the embedded emulator
    "research": {"base", "contract", "client", "results", "session"},
    "samples": {"base", "client"},
    "emulator": {"base", "contract", "client"},
    "notebook": {"base", "contract", "client", "results", "session", "research", "samples"},
    "report": {"base", "contract", "client", "results", "session", "research", "samples", "notebook"},
    "cli": {"base", "contract", "client", "results", "session", "research", "samples", "emulator", "cli", "notebook",
            "report"},
    "api": {"base", "contract", "client", "results", "session", "research", "samples", "notebook"},  # __init__
}
PURE_FORBIDDEN = ("asyncio", "httpx", "websockets", "pandas", "ipywidgets", "matplotlib", "starlette", "uvicorn")


def layer_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "api"
    head = parts[1]
    if head in ("errors", "config", "redaction", "lazy"):
        return "base"
    if head in ("cli", "clirun", "cliparams", "clicompare"):
        return "cli"
    if head == "__init__":
        return "api"
    return head


def modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out.append((name, path))
    return out


def imported(path: Path, module: str) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_pkg = path.name == "__init__.py"
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".") if is_pkg else module.split(".")[:-1]
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            names.add(base)
    return names


@pytest.mark.parametrize("module, path", modules(), ids=[m for m, _ in modules()])
def test_imports_point_down_the_layers(module, path):
    layer = layer_of(module)
    wrong = sorted(
        name for name in imported(path, module)
        if name.startswith("tingwu_nb.") and layer_of(name) not in ALLOWED[layer] | {layer}
    )
    assert wrong == [], f"{module} ({layer}) imports {wrong}"


@pytest.mark.parametrize("module, path", [(m, p) for m, p in modules() if layer_of(m) == "contract"],
                         ids=[m for m, _ in modules() if layer_of(m) == "contract"])
def test_the_contract_layer_is_pure(module, path):
    heavy = sorted(n for n in imported(path, module) if n.split(".")[0] in PURE_FORBIDDEN)
    assert heavy == [], f"{module} imports {heavy}"
