"""The notebooks are executed, top to bottom, against the embedded emulator.

``01_quickstart`` runs through the main job itself (``python -m tingwu_nb.report.demo``: nbclient,
the venv's python3 kernel, a fresh folder), which must print the report and the executed notebook
it wrote. ``02_live_session`` runs at the fastest speed (``TINGWU_NB_SPEED``; 1x in JupyterLab).
Saved notebooks carry no outputs; executed outputs hold tables but no join token or signature.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

nbclient = pytest.importorskip("nbclient")
nbformat = pytest.importorskip("nbformat")

pytestmark = [pytest.mark.network, pytest.mark.slow]

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
WIDGET = "application/vnd.jupyter.widget-view+json"


def outputs_of(path: Path) -> str:
    """Every output of an executed notebook as JSON text, checked for errors and capabilities."""
    nb = nbformat.read(path, as_version=4)
    outputs = json.dumps([cell.get("outputs", []) for cell in nb.cells if cell.cell_type == "code"])
    assert "sentence_id" in outputs and "Traceback" not in outputs
    assert "mc=" not in outputs and "Signature=" not in outputs and "AccessKeySecret" not in outputs
    assert all(cell.get("execution_count") for cell in nb.cells if cell.cell_type == "code"), "a cell did not run"
    state = json.dumps(nb.metadata.get("widgets", {}))  # nbclient keeps the widget models' state
    assert "mc=" not in state and "Signature=" not in state
    return outputs + state


def test_every_notebook_is_executed_here_and_saved_without_outputs():
    assert [p.name for p in NOTEBOOKS] == ["01_quickstart.ipynb", "02_live_session.ipynb",
                                           "03_compare_languages_sample_rates.ipynb"]  # 03: test_notebook_compare.py
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        for cell in nb.cells:
            assert not cell.get("outputs") and not cell.get("execution_count"), f"{path.name} saved with outputs"


def test_demo_executes_the_quickstart_and_writes_the_report(no_cloud, tmp_path, capsys):
    """The main job end to end: report and executed notebook written where it says, nothing leaked."""
    from tingwu_nb.report.demo import main

    assert main(["--out", str(tmp_path / "sessions")]) == 0
    printed = capsys.readouterr().out
    report = Path(re.search(r"^Report \(standalone HTML, opens offline\): (.+)$", printed, re.M).group(1))
    executed = Path(re.search(r"^Executed notebook: +(.+)$", printed, re.M).group(1))
    assert "jupyter lab notebooks/" in printed
    assert report.is_file() and report.is_relative_to(tmp_path) and executed.name == "01_quickstart.ipynb"
    outputs = outputs_of(executed)
    assert "image/png" in outputs and "tingwu-explorer" in outputs  # the plots, the explorer
    page = report.read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") >= 5 and "<h2>Transcript</h2>" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?https?:""", page) and "mc=" not in page.replace("mc=****", "")


def test_live_session_notebook_runs_with_form_and_live_view(no_cloud, tmp_path):
    from tingwu_nb.report.demo import run_notebook

    executed, _ = run_notebook(NOTEBOOK_DIR / "02_live_session.ipynb", tmp_path,
                               env={"TINGWU_NB_SPEED": "10"}, timeout_s=900, echo=lambda line: None)
    outputs = outputs_of(executed)
    assert outputs.count(WIDGET) >= 3  # the parameter form, the live view, the explorer
    for root in ("tingwu-form", "tingwu-live", "tingwu-explorer"):
        assert root in outputs, root
