"""The main job (``make demo``): run the quickstart notebook on the sample meeting, print the report.

    python -m tingwu_nb.report.demo [--notebook notebooks/01_quickstart.ipynb] [--out sessions]

Executes ``notebooks/01_quickstart.ipynb`` top to bottom with nbclient in a ``python3`` kernel
(this virtual environment's), in a fresh folder ``<out>/demo-<UTC time>/``, against the
embedded emulator (the notebook's ``TINGWU_NB_USE_EMULATOR=1``: no cloud call even where
credentials are configured) at the fastest sending speed. The notebook records the bundled
sample meeting with the post-meeting analysis and calls
:func:`~tingwu_nb.report.html.write_report`. This prints, as it goes, each cell run, then the
report's path, the executed notebook's path and how to open the notebooks in JupyterLab.
Exit status 0 when the report was written, 1 when a cell failed (its error is printed and the
partly executed notebook is saved), 2 for a bad option.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["REPO_NOTEBOOK", "main", "run_notebook"]

#: The quickstart notebook of a source checkout (``pip install -e``), which ``make demo`` runs.
REPO_NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "01_quickstart.ipynb"


def _cell_title(cell: Any) -> str:
    first = next((line for line in cell.source.splitlines() if line.strip()), "")
    return first if len(first) <= 70 else first[:67] + "..."


def run_notebook(notebook: Path, workdir: Path, *, env: dict[str, str] | None = None, timeout_s: float = 1800,
                 kernel_name: str = "python3", echo: Any = print) -> tuple[Path, float]:
    """Execute ``notebook`` with ``workdir`` as its folder; save it there; return (path, seconds).

    ``env`` entries are set for the kernel (it inherits this process's environment). Raises
    nbclient's ``CellExecutionError`` after saving the partly executed notebook (the path is
    in the message we print).
    """
    import nbclient
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    out = workdir / notebook.name
    code = [c for c in nb.cells if c.cell_type == "code"]
    started = time.monotonic()

    def on_cell_start(cell: Any, cell_index: int, **_: Any) -> None:
        if cell.cell_type == "code":
            number = code.index(cell) + 1 if cell in code else cell_index
            echo(f"  [{time.monotonic() - started:5.1f} s] cell {number}/{len(code)}: {_cell_title(cell)}")

    saved = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})  # the kernel is started from this environment
    try:
        client = nbclient.NotebookClient(nb, timeout=timeout_s, kernel_name=kernel_name,
                                         resources={"metadata": {"path": str(workdir)}},
                                         on_cell_start=on_cell_start,
                                         # the kernel's own startup warnings (loopback TCP) are noise here
                                         extra_arguments=["--IPKernelApp.log_level=ERROR"])
        try:
            client.execute()
        finally:
            nbformat.write(nb, out)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return out, time.monotonic() - started


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tingwu_nb.report.demo", description=__doc__.split("\n")[0])
    parser.add_argument("--notebook", type=Path, default=REPO_NOTEBOOK, help="the notebook to execute")
    parser.add_argument("--out", type=Path, default=Path("sessions"), help="parent of the demo's folder")
    parser.add_argument("--speed", default="max", help="sending speed: 1 = real time, up to 10 or 'max'")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; return the exit status (see the module docstring)."""
    args = _parser().parse_args(argv)
    if not args.notebook.is_file():
        print(f"demo: no notebook at {args.notebook} — run from a source checkout or pass --notebook",
              file=sys.stderr)
        return 2
    workdir = args.out / time.strftime("demo-%Y%m%d-%H%M%S", time.gmtime())
    try:
        workdir.mkdir(parents=True, exist_ok=False)
    except OSError as exc:
        print(f"demo: cannot create {workdir}: {exc.strerror or exc} — pass --out to a writable folder",
              file=sys.stderr)
        return 2
    print(f"Running {args.notebook.name} on the bundled sample meeting against the embedded emulator "
          f"(in {workdir}/); the first run loads the speech and language models.", flush=True)
    env = {"TINGWU_NB_USE_EMULATOR": "1", "TINGWU_NB_SPEED": str(args.speed)}
    try:
        executed, seconds = run_notebook(args.notebook, workdir, env=env,
                                         echo=lambda line: print(line, flush=True))
    except Exception as exc:  # nbclient's CellExecutionError, a dead kernel, a timeout
        from tingwu_nb.redaction import redact_text

        name = type(exc).__name__
        detail = redact_text(str(exc)).strip().splitlines()
        print(f"demo: the notebook failed ({name}): {detail[-1] if detail else ''}", file=sys.stderr)
        print(f"demo: the partly executed notebook is {workdir / args.notebook.name}", file=sys.stderr)
        return 1
    reports = sorted(workdir.rglob("report.html"), key=lambda p: p.stat().st_mtime)
    if not reports:
        print(f"demo: the notebook ran but wrote no report.html under {workdir}", file=sys.stderr)
        return 1
    print(f"\nDone in {seconds:.1f} s.")
    print(f"Report (standalone HTML, opens offline): {reports[-1].resolve()}")
    print(f"Executed notebook:                      {executed.resolve()}")
    print(f"Session directory:                      {reports[-1].parent.resolve()}")
    print("Open the notebooks in JupyterLab:       .venv/bin/jupyter lab notebooks/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
