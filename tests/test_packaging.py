"""The repository's packaging promises: conda and pip list the same dependencies, a flat API."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

import tingwu_nb

tomllib = pytest.importorskip("tomllib", reason="tomllib needs Python 3.11+")

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    """environment.yml's pip section equals pyproject's dependencies plus every extra."""
    project = _pyproject()
    wanted = set(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        wanted |= set(extra)
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_lists = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_lists) == 1, "environment.yml needs exactly one pip: section"
    listed = [r for r in pip_lists[0] if not r.startswith("-")]
    assert sorted(listed) == sorted(wanted)


def test_environment_yml_python_matches_requires_python():
    """The conda Python pin agrees with requires-python."""
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pythons = [d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python")]
    floor = _pyproject()["requires-python"].removeprefix(">=")
    assert pythons == [f"python>={floor}"]


def test_weight_pins_agree_between_requirements_and_pyproject():
    """requirements-weights.txt pins the same weight package versions as the emulator extra."""
    extra = {_name(r): r for r in _pyproject()["optional-dependencies"]["emulator"]}
    for line in (ROOT / "requirements-weights.txt").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        pin, _, digest = line.partition(" --hash=sha256:")
        assert len(digest) == 64, line
        assert extra[_name(pin)] == pin.strip()


def test_public_api_is_flat_sorted_and_importable():
    """tingwu_nb.__all__ is sorted (constants first), unique, and every name resolves."""
    names = tingwu_nb.__all__
    assert len(names) == len(set(names))
    assert names == sorted(names, key=lambda n: (not n.isupper(), n))
    for name in names:
        assert getattr(tingwu_nb, name) is not None


def test_importing_the_package_loads_no_server_or_model_code():
    """`import tingwu_nb` pulls in neither Starlette, uvicorn, faster-whisper nor matplotlib."""
    import subprocess
    import sys

    code = ("import sys, tingwu_nb; bad = [m for m in sys.modules if m.split('.')[0] in "
            "('starlette', 'uvicorn', 'faster_whisper', 'ctranslate2', 'matplotlib', 'ipywidgets')]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
