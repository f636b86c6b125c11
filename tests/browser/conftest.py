"""Real-browser fixtures: a JupyterLab server per module and a headless Debian Chromium page.

Follows ../shared/design/browser-testing.md: the server runs with its traps avoided (``--allow-root``,
no news/update checks, the app exposed as ``window.jupyterapp``, private config/data/runtime dirs);
the browser is the system Chromium driven by the pinned ``playwright`` package (never
``playwright install``). Tests skip with the reason when either is missing. Screenshots go to
``test-artifacts/browser/``: call :func:`shot` at each step and look at them.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "browser"
CHROMIUM_PATHS = ("/usr/lib/chromium/chromium", "/usr/bin/chromium")
#: bounded waits (milliseconds) for the browser; generous because 2 cores are shared
PAGE_MS = 90_000
KERNEL_IDLE_JS = """() => {
  const app = window.jupyterapp;
  const w = app && app.shell && app.shell.currentWidget;
  const s = w && w.sessionContext && w.sessionContext.session;
  const k = s && s.kernel;
  return !!k && k.status === 'idle' && k.connectionStatus === 'connected';
}"""


def chromium_path() -> str | None:
    """The Debian Chromium binary, or None when it is not installed."""
    return next((p for p in CHROMIUM_PATHS if os.access(p, os.X_OK)), None)


def shot(page, name: str, *, full_page: bool = True) -> Path:
    """Save a screenshot as ``test-artifacts/browser/<name>.png`` and return its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """A headless Chromium (system binary) for the module; skipped when it or playwright is absent."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e .[dev])")
    exe = chromium_path()
    if exe is None:
        pytest.skip("Debian chromium is not installed (scripts/install-system-deps.sh)")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=exe, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser) -> Iterator:
    """A fresh page (own context, 1280x900) closed after the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        yield context.new_page()
    finally:
        context.close()


@dataclass
class LabServer:
    """A running JupyterLab: ``root`` is its notebook folder; :meth:`url` builds a tokened address."""

    base_url: str
    token: str
    root: Path
    log: Path

    def url(self, notebook: str) -> str:
        """The address that opens ``notebook`` (relative to root) with a reset workspace."""
        return f"{self.base_url}/lab/tree/{notebook}?reset&token={self.token}"

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def lab(request, tmp_path_factory) -> Iterator[LabServer]:
    """A JupyterLab server for the module in temporary dirs; shut down via ``POST /api/shutdown``.

    It inherits this process's environment plus the test module's ``LAB_ENV`` dict, if any
    (kernels see it too: that is how a notebook is told its speed).

    The teardown fails the test run if the server or any process it started (kernels) outlives it.
    """
    httpx = pytest.importorskip("httpx")
    psutil = pytest.importorskip("psutil")
    pytest.importorskip("jupyterlab", reason="jupyterlab is not installed (pip install -e .)")
    base = tmp_path_factory.mktemp("lab")
    dirs = {name: base / name for name in ("root", "config", "data", "runtime")}
    for path in dirs.values():
        path.mkdir()
    settings = dirs["config"] / "lab/user-settings/@jupyterlab/apputils-extension/notification.jupyterlab-settings"
    settings.parent.mkdir(parents=True)
    settings.write_text(json.dumps({"fetchNews": "false"}))
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(dirs["config"]), JUPYTER_DATA_DIR=str(dirs["data"]),
               JUPYTER_RUNTIME_DIR=str(dirs["runtime"]), PYDEVD_DISABLE_FILE_VALIDATION="1",
               **getattr(request.module, "LAB_ENV", {}))
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
           f"--ServerApp.root_dir={dirs['root']}", "--LabApp.news_url=None",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--LabApp.expose_app_in_browser=True"]
    log = base / "server.log"
    server = LabServer(f"http://127.0.0.1:{port}", token, dirs["root"], log)
    headers = {"Authorization": f"token {token}"}
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=dirs["root"], env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"jupyter lab exited with {proc.returncode}:\n{server.log_tail()}")
            if time.monotonic() > deadline:
                pytest.fail(f"jupyter lab not ready within 90 s:\n{server.log_tail()}")
            try:
                if httpx.get(f"{server.base_url}/api/status", headers=headers, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        yield server
    finally:
        children = psutil.Process(proc.pid).children(recursive=True) if proc.poll() is None else []
        try:
            httpx.post(f"{server.base_url}/api/shutdown", headers=headers, timeout=10)
        except httpx.HTTPError:
            pass
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            pytest.fail("jupyter lab did not exit within 30 s of POST /api/shutdown")
        _, alive = psutil.wait_procs(children, timeout=20)
        for leftover in alive:
            leftover.kill()
        assert not alive, f"processes left behind by jupyter lab: {[p.pid for p in alive]}"


def open_notebook(page, lab: LabServer, notebook: str) -> None:
    """Open ``notebook`` in JupyterLab and wait until its kernel is idle *and* connected (trap 2)."""
    page.goto(lab.url(notebook), timeout=PAGE_MS)
    page.wait_for_function(KERNEL_IDLE_JS, timeout=PAGE_MS, polling=250)


def run_all_cells(page) -> None:
    """Start ``notebook:run-all-cells`` without awaiting it (trap 3: ``evaluate`` has no timeout)."""
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")


def copy_into(lab: LabServer, source: Path) -> str:
    """Copy a notebook into the server root; returns its name relative to the root."""
    shutil.copy(source, lab.root / source.name)
    return source.name


@contextmanager
def offline_page(browser, path: Path) -> Iterator:
    """A page with ``path`` (a local HTML file) opened with the network cut off.

    Every http(s) request is aborted and recorded; on exit the context is closed and the test
    fails if the page attempted any, or requested anything but ``file:`` and ``data:`` URLs.
    """
    import re

    context = browser.new_context(viewport={"width": 1100, "height": 900}, offline=True)
    attempted: list[str] = []
    requested: list[str] = []
    context.route(re.compile(r"^https?://"), lambda route: (attempted.append(route.request.url), route.abort()))
    page = context.new_page()
    page.on("request", lambda request: requested.append(request.url))
    try:
        page.goto(path.as_uri(), timeout=PAGE_MS)
        yield page
    finally:
        context.close()
    assert attempted == [], f"the page tried to fetch: {attempted}"
    assert all(u.startswith(("file:", "data:")) for u in requested), requested
