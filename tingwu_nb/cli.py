"""The ``tingwu-nb`` command.

    tingwu-nb emulator [--host 127.0.0.1] [--port 8765]     run the local Tingwu-compatible service
    tingwu-nb transcribe FILE [options]                     one realtime record, end to end
    tingwu-nb demo [--speed 2]                              the bundled sample meeting on the embedded emulator

``transcribe`` uses the cloud when credentials are configured (or ``--endpoint`` is given),
otherwise the embedded emulator.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import time

from . import events as ev
from .errors import TingwuError
from .samples import sample_meeting_path

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
    from .params import RealtimeTaskRequest

    return RealtimeTaskRequest.create(
        language=args.language, sample_rate=args.sample_rate, format=args.format,
        output_level=args.output_level, diarization=args.diarization or args.speakers is not None,
        speaker_count=args.speakers, mp3=args.mp3, translate_to=tuple(args.translate_to or ()),
    )


async def _transcribe(args: argparse.Namespace) -> int:
    import pandas as pd

    from .connect import connect
    from .session import record

    request = _request(args)  # validated before anything starts
    speed = math.inf if args.speed in ("max", "inf") else float(args.speed)
    async with connect(args.endpoint, app_key=args.app_key, use_emulator=args.command == "demo") as client:
        where = "embedded emulator" if "127.0.0.1" in client.endpoint else client.endpoint
        print(f"Streaming {args.file} to {where} ({request.input.format}, {request.input.sample_rate} Hz, "
              f"{args.language}, speed {args.speed}×)", flush=True)
        started = time.monotonic()
        session = await record(args.file, request, client=client, speed=speed, out_dir=args.out,
                               on_event=_live_printer(args.quiet))
    table = session.sentences()
    with pd.option_context("display.max_rows", 200, "display.max_colwidth", 90, "display.width", 160):
        print("\nSentences (from the Transcription result file):")
        print(table.to_string(index=False) if len(table) else "  (none)")
    if request.parameters.transcription and request.parameters.transcription.diarization_enabled:
        print("(live speaker labels are provisional; the table uses the post-meeting diarization)")
    print(f"\nTask {session.task_id}: {session.status} in {time.monotonic() - started:.1f} s")
    print(f"Session written to {session.directory}")
    return 0 if session.status == "COMPLETED" else 1


def _emulator(args: argparse.Namespace) -> int:
    from .emulator.app import Emulator

    emulator = Emulator(host=args.host, port=args.port).start()
    creds = emulator.credentials
    print(f"Tingwu emulator listening on {emulator.endpoint}")
    print(f"  AppKey            {emulator.app_key}")
    print(f"  AccessKey id      {creds.access_key_id}")
    print(f"  AccessKey secret  {creds.access_key_secret}   (local test key for this run only)")
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tingwu-nb", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    emu = sub.add_parser("emulator", help="run the local Tingwu-compatible emulator")
    emu.add_argument("--host", default="127.0.0.1", help="interface to bind (default: loopback only)")
    emu.add_argument("--port", type=int, default=8765, help="port (0 picks a free one)")

    for name, help_text in (("transcribe", "stream FILE through a realtime record"),
                            ("demo", "stream the bundled sample meeting on the embedded emulator")):
        p = sub.add_parser(name, help=help_text)
        if name == "transcribe":
            p.add_argument("file", help="audio file (wav, flac, mp3, m4a, ogg, ...)")
        p.add_argument("--language", default="en", help="SourceLanguage: cn en yue ja ko fspk multilingual")
        p.add_argument("--sample-rate", type=int, default=16000, choices=(16000, 8000))
        p.add_argument("--format", default="pcm", choices=("pcm", "opus", "aac", "mp3", "speex"))
        p.add_argument("--output-level", type=int, default=2, choices=(1, 2), help="2 = interim results too")
        p.add_argument("--diarization", action="store_true", default=name == "demo", help="label speakers")
        p.add_argument("--speakers", type=int, default=None, help="speaker count hint (0 = unknown)")
        p.add_argument("--translate-to", nargs="+", metavar="LANG", help="TargetLanguages (the emulator: en)")
        p.add_argument("--mp3", action="store_true", default=name == "demo", help="ask for OutputMp3Path")
        p.add_argument("--speed", default="2" if name == "demo" else "1",
                       help="pacing: 1 = real time, 4 = four times faster, max = no pacing")
        p.add_argument("--endpoint", default=None, help="Tingwu endpoint (default: cloud if configured, "
                                                        "else the embedded emulator)")
        p.add_argument("--app-key", default=None, help="Tingwu AppKey (or TINGWU_APP_KEY)")
        p.add_argument("--out", default="sessions", help="parent folder for session directories")
        p.add_argument("--quiet", action="store_true", help="do not print live sentences")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``tingwu-nb`` console script."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "emulator":
            return _emulator(args)
        if args.command == "demo":
            args.file = str(sample_meeting_path())
            args.endpoint = None
        return asyncio.run(_transcribe(args))
    except TingwuError as exc:
        print(f"tingwu-nb: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
