"""Importing the package, or the streaming path, costs almost nothing (issue 9, a light client).

``tingwu_nb/__init__.py`` loads its flat API on first use (PEP 562), and the modules a process
needs to stream (``client.stream``, ``client.resilient``, ``session.recorder``,
``session.lifecycle``) import pandas, pyarrow, PyAV, matplotlib and ipywidgets only inside the
functions that need them. Each check runs in a fresh interpreter, since this test process has
long since loaded everything. Time and peak RSS are printed (``pytest -s``), never asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("pandas", "pyarrow", "av", "matplotlib", "ipywidgets")
STREAMING = ("tingwu_nb.client.stream", "tingwu_nb.client.resilient", "tingwu_nb.session.recorder",
             "tingwu_nb.session.lifecycle")

PROBE = """
import json, re, resource, sys, time
t = time.perf_counter()
exec({statement!r})
seconds = time.perf_counter() - t
try:  # this process's own peak (ru_maxrss can carry the forking parent's over exec)
    with open("/proc/self/status") as f:
        peak_kb = int(re.search(r"VmHWM:\\s*(\\d+)", f.read()).group(1))
except (OSError, AttributeError):
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{
    "heavy": sorted(m for m in {heavy!r} if m in sys.modules),
    "seconds": round(seconds, 3),
    "maxrss_mb": round(peak_kb / 1024, 1),
    "modules": len(sys.modules),
}}))
"""


def run_fresh(statement: str) -> dict:
    """Run ``statement`` in a new interpreter; what it loaded, how long it took, its peak RSS."""
    done = subprocess.run([sys.executable, "-c", PROBE.format(statement=statement, heavy=HEAVY)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    label = statement if "\n" not in statement else statement.splitlines()[0] + " ..."
    print(f"{label}: {out['seconds']} s, max RSS {out['maxrss_mb']} MB, {out['modules']} modules, "
          f"heavy loaded: {out['heavy'] or 'none'}")
    return out


def test_importing_the_package_loads_no_heavy_module():
    assert run_fresh("import tingwu_nb")["heavy"] == []


@pytest.mark.parametrize("module", STREAMING)
def test_the_streaming_path_loads_no_heavy_module(module):
    assert run_fresh(f"import {module}")["heavy"] == []


def test_the_heavy_modules_load_when_a_name_that_needs_them_is_used():
    """The probe can fail: touching ``all_frames`` (pandas) does load pandas."""
    assert "pandas" in run_fresh("import tingwu_nb; tingwu_nb.all_frames")["heavy"]


def test_every_public_name_resolves_in_a_fresh_process():
    statement = (
        "from tingwu_nb import record, Session, RealtimeTaskRequest, all_frames\n"
        "import tingwu_nb, tingwu_nb.session\n"
        "from tingwu_nb.notebook.live import record as live_record\n"
        "from tingwu_nb.session.recording import Session as StoredSession\n"
        "assert record is live_record and Session is StoredSession\n"
        "missing = [n for n in tingwu_nb.__all__ if getattr(tingwu_nb, n, None) is None]\n"
        "assert not missing, missing\n"
        "assert set(tingwu_nb.__all__) <= set(dir(tingwu_nb)), 'dir() lists every public name'\n"
        "assert [n for n in tingwu_nb.session.__all__ if getattr(tingwu_nb.session, n, None) is None] == []\n"
        "assert callable(tingwu_nb.session.connect) and tingwu_nb.__version__\n"
    )
    run_fresh(statement)


def test_an_unknown_name_is_an_attribute_error():
    import tingwu_nb

    with pytest.raises(AttributeError, match="no_such_name"):
        tingwu_nb.no_such_name  # noqa: B018
    assert not hasattr(tingwu_nb, "no_such_name")
