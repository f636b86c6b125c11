"""``tingwu-nb compare`` and ``tingwu-nb report``: an experiment grid into a run store, and a
session directory or run store as a shareable report (see :mod:`tingwu_nb.cli` for the usage and
exit codes).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from tingwu_nb.errors import ConfigError, ParameterError

__all__ = ["compare", "emulator_defaults", "report"]


def _speed_label(speed: float) -> str:
    from tingwu_nb.client.pacing import MAX_SPEED

    return f"max ({MAX_SPEED:g}×)" if math.isinf(speed) else f"{speed:g}×"


def _speed(text: str) -> float:
    from tingwu_nb.session.recording import parse_speed

    try:
        return parse_speed(text)
    except ParameterError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("speed: ")) from None


def _read_grid(path: str):
    """The grid file, or a ParameterError naming it (one line, exit 2)."""
    from tingwu_nb.research.grid import Grid

    try:
        return Grid.from_yaml(path)
    except Exception as exc:  # noqa: BLE001 - unreadable file, bad YAML (yaml.YAMLError), wrong shape
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise ParameterError("GRID", f"cannot read grid {path}: {reason} — fix the grid file "
                             "(layout in tingwu_nb.research.grid)", None) from None


def _check_cells(grid) -> tuple[object, list[tuple[str, str]]]:
    """(the grid without recordings whose audio cannot be read, [(label, reason)] of impossible cells).

    Every cell is checked before anything streams. A cell whose request is invalid (e.g. ja at
    8 kHz) stays in the grid: the runner records it as an error row without streaming it.
    """
    import dataclasses

    impossible: list[tuple[str, str]] = []
    readable = []
    for rec in grid.recordings:
        try:
            with open(rec.audio, "rb"):
                pass
        except OSError as exc:
            reason = f"cannot read audio {rec.audio}: {exc.strerror or type(exc).__name__}"
            impossible += [(c.label(), reason) for c in dataclasses.replace(grid, recordings=[rec]).conditions()]
        else:
            readable.append(rec)
    grid = dataclasses.replace(grid, recordings=readable)
    for condition in grid.conditions() if readable else ():
        try:
            condition.request()
        except ConfigError as exc:
            impossible.append((condition.label(), " ".join(str(exc).split())))
    return grid, impossible


async def compare(args: argparse.Namespace) -> int:
    """Run the grid (cloud when configured or --endpoint, else the embedded emulator), print the table.

    Impossible cells (an invalid parameter combination, unreadable audio) are listed one line
    each on stderr and not streamed; the rest runs. Exit 2 when no cell can run, 1 when a
    streamed cell failed, else 0.
    """
    from tingwu_nb.research.runner import run_grid
    from tingwu_nb.research.store import RunStore
    from tingwu_nb.session.connect import connect, describe_endpoint

    grid = _read_grid(args.grid)
    speed = args.speed if args.speed is not None else _speed(str(grid.speed))
    total = len(grid.conditions())
    grid, impossible = _check_cells(grid)
    for label, reason in impossible:
        print(f"tingwu-nb: skipping cell {label!r} of {args.grid}: {reason}", file=sys.stderr, flush=True)
    if len(impossible) == total:
        raise ParameterError("GRID", f"no cell of grid {args.grid} can run ({total} impossible, listed above) "
                             "— fix the grid file", None)
    skipped = {label for label, _ in impossible}
    store = RunStore(args.store or Path("runs") / Path(args.grid).stem)
    async with connect(args.endpoint, app_key=args.app_key) as client:
        print(f"Running {total - len(impossible)} of {total} cells against {describe_endpoint(client)} "
              f"(concurrency {args.concurrency}, speed {_speed_label(speed)})",
              flush=True)
        runs = await run_grid(grid, store, client=client, concurrency=args.concurrency, speed=speed)
    from tingwu_nb.report.experiment import experiment_summary, paired_sample_rates, save_references

    save_references(grid, store)
    _print_summary(experiment_summary(store), paired_sample_rates(store))
    print(f"\nRun store: {store.root}")
    labels = [c.label() for c in grid.conditions()]
    by_cell = dict(zip(zip(runs["recording"], runs["params_json"]), runs["status"]))
    failed = sum(by_cell.get((c.recording.name, c.params_json)) != "ok"
                 for c, label in zip(grid.conditions(), labels) if label not in skipped)
    return 0 if not failed else 1


def _print_summary(summary, paired) -> None:
    from tingwu_nb.report.experiment import with_interval

    def plural(n, word: str) -> str:
        return f"{n} {word}" + ("" if n == 1 else "s")

    level = summary.attrs.get("level", 0.95) * 100
    print(f"\nError rate per condition ({level:g} % bootstrap interval over reference sentences):")
    for row in summary.itertuples(index=False):
        rate = with_interval(row.error_rate * 100, row.error_rate_low * 100, row.error_rate_high * 100, "{:.1f}",
                             " %", row.n)
        latency = with_interval(getattr(row, "latency_final_median_s", float("nan")),
                                getattr(row, "latency_final_median_s_low", float("nan")),
                                getattr(row, "latency_final_median_s_high", float("nan")), "{:.2f}", " s",
                                getattr(row, "recordings", None))
        print(f"  {row.condition:<34} {(row.metric or '?').upper():>4} {rate}  {plural(row.n, 'sentence')}, "
              f"{plural(row.cells, 'cell')}, {row.failed} failed" + (f", latency {latency}" if latency != "—" else ""))
    for row in paired.itertuples(index=False):
        diff = with_interval(row.diff * 100, row.low * 100, row.high * 100, "{:+.1f}", " points")
        p_value = "—" if row.p_value != row.p_value else f"{row.p_value:.3f}"
        print(f"  8 kHz − 16 kHz, {row.condition}: {diff}, p={p_value}")


def emulator_defaults() -> dict[str, str]:
    """The embedded emulator's default engine configuration as provenance rows (``{label: value}``),
    read from its config classes: no emulator is started and no model is loaded. For reports of
    runs recorded against an emulator when that emulator object is not at hand (``tingwu-nb report``)."""
    from dataclasses import fields

    from tingwu_nb.emulator.analysis.llm_weights import prepared_model_dir
    from tingwu_nb.emulator.contract import EmulatorConfig
    from tingwu_nb.emulator.engine.engine import EngineConfig

    engine = EngineConfig()
    defaults = {f.name: f.default for f in fields(EmulatorConfig)}
    kind = defaults.get("analysis_engine", "auto")
    if kind == "auto":
        kind = "auto (llm: language model prepared here)" if prepared_model_dir() is not None else \
            "auto (extractive: no language model prepared here)"
    speech = {} if defaults.get("speech_engine", "whisper") == "whisper" else {"speech engine": defaults["speech_engine"]}
    return speech | {"speech model (en)": engine.english_model, "speech model (other languages)": engine.other_model,
            "compute type": f"{engine.compute_type}, beam {engine.beam_size}", "analysis engine": kind,
            "engine config": "the embedded emulator's defaults in this installation (the runs do not record "
                             "the engine; a custom emulator may have differed)"}


def _emulator_runs(target: Path) -> bool:
    """Whether the run store (or session) at ``target`` was recorded against an emulator."""
    import json

    import pandas as pd

    if (target / "runs.parquet").exists():
        kinds = pd.read_parquet(target / "runs.parquet", columns=["endpoint_kind"])["endpoint_kind"]
        return "emulator" in set(kinds.dropna().astype(str))
    try:
        meta = json.loads((target / "session.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    endpoint = str(meta.get("endpoint") or "")
    return bool(endpoint) and "aliyuncs.com" not in endpoint


def report(args: argparse.Namespace) -> int:
    """Write a session directory or a run store as HTML (or Markdown) and print the path."""
    target = Path(args.target)
    suffix = ".md" if args.markdown else ".html"
    out = Path(args.out) if args.out else target / f"report{suffix}"
    is_store, is_session = (target / "runs.parquet").exists(), (target / "session.json").exists()
    emulator = emulator_defaults() if (is_store or is_session) and _emulator_runs(target) else None
    if is_store:
        from tingwu_nb.report import experiment

        write = experiment.write_experiment_markdown if args.markdown else experiment.write_experiment_report
        path = write(target, out, emulator=emulator)
    elif is_session:
        from tingwu_nb.report.html import write_report
        from tingwu_nb.report.markdown import write_session_markdown
        from tingwu_nb.session.recording import Session

        path = (write_session_markdown if args.markdown else write_report)(Session(target), out, emulator=emulator)
    else:
        raise ParameterError("SESSION_OR_RUN", f"{target} is neither a session directory (session.json) nor a "
                             "run store (runs.parquet) — pass a sessions/<time> folder or a "
                             "tingwu-nb compare --store folder", None)
    print(path)
    return 0
