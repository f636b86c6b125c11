"""A clear error for everything: one line naming the cause and the next step, no task, no stray session.

The CLI runs in-process (``tingwu_nb.cli.main``) against the test's emulator, or against small
misbehaving servers on loopback; a couple of permission cases run it as an unprivileged
subprocess, since root reads and writes anything.
"""

from __future__ import annotations

import http.server
import json
import os
import socket
import stat
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest

from tests.conftest import sample_turns_wav, write_wav
from tests.test_audio import speechlike
from tingwu_nb.cli import main
from tingwu_nb.client.audio import decode_audio, load_pcm
from tingwu_nb.errors import AudioWarning
from tingwu_nb.session.recording import Session

pytestmark = [pytest.mark.network, pytest.mark.slow]


# ---------------------------------------------------------------- helpers


@pytest.fixture
def cli(emulator, tmp_path, monkeypatch, capsys):
    """Run the CLI in-process with the emulator's keys; returns (code, stdout, stderr)."""
    for key in [k for k in os.environ if k.startswith(("ALIBABA_CLOUD_", "TINGWU_"))]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", emulator.credentials.access_key_id)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", emulator.credentials.access_key_secret)

    def run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def one_line(err: str, *fragments: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def clip(tmp_path_factory, sample_pcm16k, sample_truth) -> Path:
    return sample_turns_wav(tmp_path_factory.mktemp("clip") / "two_turns.wav", 2, sample_pcm16k, sample_truth)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def html_server() -> Iterator[str]:
    """A web server that answers every request with an HTML page (not the Tingwu API)."""

    class Page(http.server.BaseHTTPRequestHandler):
        def _page(self) -> None:
            body = b"<!DOCTYPE html><html><body><h1>Welcome to nginx!</h1></body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_PUT = do_POST = _page

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts TCP connections and never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


# ---------------------------------------------------------------- options and input, before any task


@pytest.mark.parametrize("speed, says", [("abc", "'abc' is not a speed"), ("0", "'0' is out of range"),
                                         ("-1", "'-1' is out of range"), ("nan", "'nan' is out of range"),
                                         ("11", "'11' is out of range")])
def test_bad_speed_is_refused_before_create_task(cli, emulator, clip, tmp_path, speed, says):
    """--speed abc / 0 / -1 / nan / above MAX_SPEED: exit 2, one line, no task, no session directory."""
    tasks = len(emulator.store)
    code, _, err = cli("transcribe", str(clip), "--endpoint", emulator.endpoint, "--app-key", emulator.app_key,
                       f"--speed={speed}", "--out", str(tmp_path / "s"))
    assert code == 2
    one_line(err, "argument --speed", says, "or max", "--help")
    assert len(emulator.store) == tasks and not (tmp_path / "s").exists()


def test_bad_inputs_are_refused_before_create_task(cli, emulator, clip, tmp_path):
    """Missing file, text file, --out that is a file, a bad endpoint URL, a bad timeout: exit 2, one line each."""
    text = tmp_path / "notes.txt"
    text.write_text("minutes of the meeting\n")
    a_file = tmp_path / "taken"
    a_file.write_text("x")
    common = ("--endpoint", emulator.endpoint, "--app-key", emulator.app_key, "--out", str(tmp_path / "s"))
    cases = [
        (("transcribe", str(tmp_path / "nope.wav"), *common), ("AudioError", "nope.wav: file not found", "check the path")),
        (("transcribe", str(text), *common), ("AudioError", "plain text", "choose a readable audio file")),
        (("transcribe", str(clip), *common[:4], "--out", str(a_file / "sub")), ("OutputError", "is a file, not a folder",
                                                                               "choose a writable folder")),
        (("transcribe", str(clip), "--endpoint", "ftp://example.com", "--out", str(tmp_path / "s")),
         ("ConfigError", "not an http(s) URL")),
        (("transcribe", str(clip), *common, "--read-timeout", "0"), ("--read-timeout", "seconds > 0")),
    ]
    tasks = len(emulator.store)
    for args, fragments in cases:
        code, _, err = cli(*args)
        assert code == 2, err
        one_line(err, *fragments)
    assert len(emulator.store) == tasks and not (tmp_path / "s").exists()


@pytest.mark.skipif(not Path("/sys/kernel").is_dir(), reason="needs Linux sysfs (a folder nobody may write)")
def test_an_unwritable_out_folder_is_refused_before_create_task(cli, emulator, clip):
    """--out on a read-only file system: OutputError naming the folder and the cause; no task."""
    tasks = len(emulator.store)
    code, _, err = cli("transcribe", str(clip), "--endpoint", emulator.endpoint, "--app-key", emulator.app_key,
                       "--out", "/sys/kernel/tingwu-sessions")
    assert code == 2
    one_line(err, "OutputError", "/sys/kernel/tingwu-sessions", "not permitted", "choose a writable folder")
    assert len(emulator.store) == tasks


def test_debug_adds_the_traceback(cli, tmp_path):
    """--debug prints the traceback, still ending with the same one-line message."""
    code, _, err = cli("--debug", "transcribe", str(tmp_path / "nope.wav"))
    assert code == 2 and "Traceback" in err
    assert err.strip().splitlines()[-1].startswith("tingwu-nb: AudioError:")


# ---------------------------------------------------------------- unprivileged user: PermissionError


def _cli_as_ordinary_user(*args: str) -> tuple[int, str, str]:
    """The CLI in a forked child that has dropped root (root may read and write anything)."""
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 99
        try:
            os.close(out_r)
            os.close(err_r)
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
            sys.stdout, sys.stderr = os.fdopen(out_w, "w"), os.fdopen(err_w, "w")
            code = main(list(args))
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)
    os.close(out_w)
    os.close(err_w)
    with os.fdopen(out_r) as out, os.fdopen(err_r) as err:
        stdout, stderr = out.read(), err.read()
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), stdout, stderr


def test_unreadable_file_and_folder_give_one_line_as_an_ordinary_user(cli, emulator):
    """chmod 000 audio / a read-only --out folder: one line with the cause, exit 2, no task."""
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        base.chmod(0o755)
        audio = base / "locked.wav"
        write_wav(audio, np.full(16000, 100, np.int16), 16000).chmod(0)
        good = write_wav(base / "good.wav", np.full(16000, 100, np.int16), 16000)
        good.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        readonly = base / "readonly"
        readonly.mkdir()
        readonly.chmod(0o555)
        tasks = len(emulator.store)
        for file, out, fragments in (
                (audio, base / "s", ("AudioError", "locked.wav", "cannot read the file (permission denied)")),
                (good, readonly / "s", ("OutputError", "readonly", "permission denied", "choose a writable folder"))):
            code, _, err = _cli_as_ordinary_user("transcribe", str(file), "--endpoint", emulator.endpoint,
                                                 "--app-key", emulator.app_key, "--out", str(out))
            assert code == 2, err
            one_line(err, *fragments)
        assert len(emulator.store) == tasks and not (base / "s").exists()


# ---------------------------------------------------------------- the service side


def test_translate_to_keeps_the_file_and_a_refused_create_task_leaves_no_session(cli, emulator, clip, tmp_path):
    """`--translate-to fr FILE` parses FILE; the emulator refuses fr at CreateTask: exit 3, one line, nothing left."""
    tasks = len(emulator.store)
    code, out, err = cli("transcribe", "--translate-to", "fr", str(clip), "--endpoint", emulator.endpoint,
                         "--app-key", emulator.app_key, "--speed", "max", "--out", str(tmp_path / "s"))
    assert code == 3
    one_line(err, "ServiceError", "Emulator.UnsupportedTranslation", "HTTP 400", "request id", "nothing was created")
    assert f"Streaming {clip} to {emulator.endpoint} " in out
    assert len(emulator.store) == tasks and not (tmp_path / "s").exists()
    code, _, err = cli("transcribe", str(clip), "--endpoint", emulator.endpoint, "--app-key", "not-the-app-key",
                       "--out", str(tmp_path / "s"))
    assert code == 3 and not (tmp_path / "s").exists()
    one_line(err, "ServiceError", "HTTP 4")


def test_nothing_listening_names_host_port_and_cause(cli, clip, tmp_path):
    """A closed port: TransportError with host:port and "connection refused", exit 4."""
    port = _free_port()
    code, out, err = cli("transcribe", str(clip), "--endpoint", f"http://127.0.0.1:{port}", "--app-key", "k",
                         "--out", str(tmp_path / "s"))
    assert code == 4
    one_line(err, "TransportError", f"127.0.0.1:{port}", "connection refused", "is the service running")
    assert "embedded emulator" not in out and not (tmp_path / "s").exists()


def test_a_web_page_at_the_endpoint_is_named_not_shown(cli, html_server, clip, tmp_path):
    """An HTML page answering CreateTask: NotTingwuError naming the endpoint and text/html, never the page."""
    code, out, err = cli("transcribe", str(clip), "--endpoint", html_server, "--app-key", "k",
                         "--out", str(tmp_path / "s"))
    assert code == 3
    line = one_line(err, "NotTingwuError", f"endpoint {html_server} answered HTTP 200 with text/html",
                    "not the Tingwu API", "check --endpoint")
    assert "nginx" not in line and "<" not in line
    assert f"to {html_server} " in out and "embedded emulator" not in out
    assert not (tmp_path / "s").exists()


def test_an_endpoint_that_never_answers_fails_in_bounded_time(cli, silent_server, clip, tmp_path):
    """Accepts TCP, never answers: a notice while waiting, then one line after --read-timeout; exit 4."""
    code, out, err = cli("transcribe", str(clip), "--endpoint", silent_server, "--app-key", "k",
                         "--read-timeout", "1", "--connect-timeout", "1", "--out", str(tmp_path / "s"))
    assert code == 4
    one_line(err, "TransportError", f"CreateTask to {silent_server}", "no answer within 1 s", "--read-timeout")
    assert f"waiting for {silent_server} (CreateTask): no answer yet" in out
    assert not (tmp_path / "s").exists()


# ---------------------------------------------------------------- a corrupt stretch inside the audio


def _corrupt(path: Path, at_s: float, nbytes: int, seed: int = 1) -> Path:
    """Overwrite ``nbytes`` of ``path`` with noise, starting at the packet that holds ``at_s``."""
    data = bytearray(path.read_bytes())
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        timed = [p.pos for p in container.demux(stream) if p.pts is not None and p.pts * stream.time_base >= at_s]
    pos = timed[0] if timed else int(len(data) * at_s / 6.0)  # raw ADTS has no timestamps: 6 s clips
    data[pos : pos + nbytes] = np.random.default_rng(seed).bytes(nbytes)
    path.write_bytes(bytes(data))
    return path


def _write(path: Path, pcm: np.ndarray, fmt: str, codec: str) -> Path:
    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=16000, layout="mono")
        frame = av.AudioFrame.from_ndarray(pcm[None, :], format="s16", layout="mono")
        frame.sample_rate = 16000
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    return path


@pytest.mark.parametrize("fmt, codec, suffix", [("flac", "flac", ".flac"), ("mp3", "libmp3lame", ".mp3"),
                                                ("ogg", "libopus", ".opus"), ("adts", "aac", ".aac"),
                                                ("ipod", "aac", ".m4a")])
def test_a_corrupt_stretch_is_reported_and_later_audio_keeps_its_time(tmp_path, fmt, codec, suffix):
    """Damaged bytes at 2 s: the gap is reported with its time range and audio after it is not shifted."""
    pcm = speechlike(16000, 6.0)
    clean = decode_audio(_write(tmp_path / f"clean{suffix}", pcm, fmt, codec)).pcm
    broken = _corrupt(_write(tmp_path / f"broken{suffix}", pcm, fmt, codec), 2.0, 3000)
    decoded = decode_audio(broken)
    (gap,) = decoded.gaps
    assert 1.5 <= gap.start_s <= 2.3 and gap.end_s > gap.start_s and gap.missing_s > 0
    assert decoded.warnings and f"{gap.start_s:.2f}–{gap.end_s:.2f} s" in decoded.warnings[0]
    assert abs(decoded.pcm.size - clean.size) <= 0.02 * 16000  # the length of the file, within a frame
    tail = slice(int(4.5 * 16000), int(5.5 * 16000))  # well after the damage: sample for sample in place
    corr = np.corrcoef(clean[tail].astype(float), decoded.pcm[tail].astype(float))[0, 1]
    assert corr > 0.95
    with pytest.warns(AudioWarning, match="corrupt audio at"):
        load_pcm(broken)


def test_the_cli_reports_a_corrupt_stretch_and_keeps_the_timeline(cli, emulator, sample_pcm16k, sample_truth,
                                                                    tmp_path):
    """A FLAC damaged inside turn 2: the CLI warns with the range, session.json keeps it, turn 3 starts on time."""
    end = int((sample_truth["turns"][2]["end_s"] + 0.5) * 16000)
    flac = _corrupt(_write(tmp_path / "meeting.flac", sample_pcm16k[:end], "flac", "flac"), 7.0, 6000)
    code, out, err = cli("transcribe", str(flac), "--endpoint", emulator.endpoint, "--app-key", emulator.app_key,
                         "--speed", "max", "--out", str(tmp_path / "s"))
    assert code == 0, err
    warning = one_line(err, "tingwu-nb: warning:", "corrupt audio at", "filled with silence")
    (directory,) = (tmp_path / "s").iterdir()
    meta = json.loads((directory / "session.json").read_text(encoding="utf-8"))
    (gap,) = meta["audio"]["gaps"]
    assert f"{gap['start_s']:.2f}–{gap['end_s']:.2f} s" in warning and 6.5 <= gap["start_s"] <= 7.5
    frames = [json.loads(line) for line in (directory / "frames.jsonl").read_text().splitlines()]
    assert abs(frames[-1]["end_ms"] / 1000 - end / 16000) < 0.05  # nothing dropped: the length is the file's
    starts = Session(directory).sentences()["start_s"]
    turn3 = sample_truth["turns"][2]["start_s"]
    assert min(abs(starts - turn3)) < 0.4, (list(starts), turn3)
