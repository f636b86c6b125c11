"""``03_compare_languages_sample_rates`` is executed top to bottom against the embedded emulator.

nbclient, the venv's python3 kernel, a fresh folder as the working directory (the run store goes
under its ``sessions/``), ``TINGWU_NB_USE_EMULATOR=1``. The executed notebook must show the grid
streamed once and then served from the cache, the summary table with 16 kHz and 8 kHz rows, the
paired comparison, the five figures as PNG, and no secret, join URL or signature anywhere.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

nbclient = pytest.importorskip("nbclient")
nbformat = pytest.importorskip("nbformat")

pytestmark = [pytest.mark.network, pytest.mark.slow]

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "03_compare_languages_sample_rates.ipynb"
LEAKS = ("mc=", "Signature=", "AccessKeySecret", "SecurityToken", "wss://", "ws://")


def _texts(cell) -> list[str]:
    """Each output of a code cell as text (stream text, or the text/plain of a result)."""
    return [out.get("text") or out.get("data", {}).get("text/plain", "") for out in cell.get("outputs", [])]


def test_notebook_is_saved_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    for cell in nb.cells:
        assert not cell.get("outputs") and not cell.get("execution_count"), "saved with outputs"


def test_compare_notebook_runs_the_grid_caches_it_and_plots(no_cloud, tmp_path):
    from tingwu_nb.report.demo import run_notebook

    executed, seconds = run_notebook(NOTEBOOK, tmp_path, env={"TINGWU_NB_USE_EMULATOR": "1"}, timeout_s=600,
                                     echo=lambda line: None)
    print(f"\n03_compare_languages_sample_rates executed in {seconds:.1f} s")
    nb = nbformat.read(executed, as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert all(cell.get("execution_count") for cell in code), "a cell did not run"
    outputs = json.dumps([cell.get("outputs", []) for cell in code])
    assert '"output_type": "error"' not in outputs and "Traceback" not in outputs
    for leak in LEAKS:
        assert leak not in outputs, leak
    state = json.dumps(nb.metadata.get("widgets", {}))
    assert "mc=" not in state and "Signature=" not in state
    text = "\n".join(t for cell in code for t in _texts(cell))

    # the grid: streamed once, then every cell from the run store
    runs = re.findall(r"^(\d+) cells: (\d+) run \(streamed\), (\d+) cached; (\d+) failed$", text, re.M)
    assert len(runs) == 2, text
    (total, streamed, cached, failed), (total2, streamed2, cached2, failed2) = runs
    cjk = shutil.which("espeak-ng") is not None
    assert total == total2 == str(6 if cjk else 4) and failed == failed2 == "0"
    assert (streamed, cached) == (total, "0") and (streamed2, cached2) == ("0", total)
    assert ("Skipping the Chinese part" in text) is not cjk
    store = tmp_path / "sessions" / "compare-languages-sample-rates" / "store"
    assert (store / "runs.parquet").is_file() and len(list((store / "sessions").iterdir())) == int(total)

    # the summary table with intervals: English at 16 kHz and 8 kHz (and Chinese when espeak-ng exists)
    summary = next(cell for cell in code if "Summary: error rate" in "".join(_texts(cell)))
    table = _texts(summary)[-1]
    assert "ci_low" in table and "ci_high" in table
    for rate in ("16000", "8000"):
        assert re.search(rf"\ben\s+{rate}\s+pcm\s+wer\b", table), table
        assert re.search(rf"\ben\s+{rate}\s+opus\s+wer\b", table), table
        assert not cjk or re.search(rf"\bcn\s+{rate}\s+pcm\s+cer\b", table), table

    # the paired 8k vs 16k comparison, one row per language and format
    paired = next(t for t in text.split("\n\n") if "diff (8k - 16k)" in t)
    assert re.search(r"\ben\s+pcm\s", paired) and re.search(r"\ben\s+opus\s", paired), paired

    # partial stability with intervals, and stop -> ready of the transcript for every cell
    assert "revisions_per_sentence_low" in text and "chars_changed_per_sentence_high" in text
    ready = re.findall(r"· (en|cn) · \d+ kHz · (pcm|opus)\s+Transcription\s+(\d+\.\d+)\s+0\.25$", text, re.M)
    assert len(ready) == int(total), text

    # seven figures: by condition, heatmap, latency CDF, accuracy vs latency, revisions, result ready, alignment
    figures = [out for cell in code for out in cell.get("outputs", []) if "image/png" in out.get("data", {})]
    assert len(figures) >= 7
    assert re.search(r"kHz (pcm|opus), sentence \d: WER \d+%", text)
