"""The `tingwu-nb` command, run as a real subprocess."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import sample_turns_wav
from tingwu_nb.client.tasks import TingwuClient
from tingwu_nb.config import Credentials

pytestmark = [pytest.mark.network, pytest.mark.slow]


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALIBABA_CLOUD_", "TINGWU_"))}
    env["HOME"] = str(tmp_path)  # no credentials files: the embedded emulator is used
    env["TINGWU_NB_CACHE"] = os.environ.get("TINGWU_NB_CACHE", str(Path.home() / ".cache" / "tingwu_nb" / "models"))
    return env


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "tingwu_nb.cli", *args]


def test_transcribe_uses_the_embedded_emulator_and_writes_a_session(tmp_path, sample_pcm16k, sample_truth):
    """`tingwu-nb transcribe FILE` with no credentials streams to the emulator and prints the table."""
    clip = sample_turns_wav(tmp_path / "two_turns.wav", 2, sample_pcm16k, sample_truth)
    out = subprocess.run(_cli("transcribe", str(clip), "--speed", "max", "--out", str(tmp_path / "s")),
                         capture_output=True, text=True, env=_env(tmp_path), timeout=300)
    assert out.returncode == 0, out.stderr
    assert "embedded emulator" in out.stdout
    assert "sentence_id" in out.stdout and "weekly project meeting" in out.stdout
    written = re.search(r"Session written to (.+)", out.stdout).group(1).strip()
    assert (Path(written) / "sentences.parquet").exists()


def test_transcribe_refuses_bad_input_with_a_clear_message(tmp_path):
    """A missing file is refused before any task: exit code 2 and the reason on stderr."""
    out = subprocess.run(_cli("transcribe", str(tmp_path / "missing.wav")), capture_output=True, text=True,
                         env=_env(tmp_path), timeout=120)
    assert out.returncode == 2
    assert "AudioError" in out.stderr and "missing.wav" in out.stderr


async def test_emulator_command_prints_working_endpoint_and_keys(tmp_path):
    """`tingwu-nb emulator --port 0` binds loopback and prints an endpoint, AppKey and keys that work."""
    proc = subprocess.Popen(_cli("emulator", "--port", "0"), stdout=subprocess.PIPE, text=True,
                            env=_env(tmp_path))
    try:
        lines = []
        while not lines or "Ctrl-C" not in lines[-1]:
            line = proc.stdout.readline()
            assert line, "the emulator exited early"
            lines.append(line)
        text = "".join(lines)
        endpoint = re.search(r"listening on (http://127\.0\.0\.1:\d+)", text).group(1)
        app_key = re.search(r"AppKey\s+(\S+)", text).group(1)
        key_id = re.search(r"AccessKey id\s+(\S+)", text).group(1)
        secret = re.search(r"AccessKey secret\s+(\S+)", text).group(1)
        async with TingwuClient(endpoint=endpoint, app_key=app_key,
                                credentials=Credentials(key_id, secret)) as client:
            info = await client.get_task_info("0" * 32)
        assert info.status == "INVALID"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)


def test_language_hints_and_translate_to_reach_the_request():
    """--language-hints and --translate-to take comma lists or repeats and end up on the wire."""
    from tingwu_nb.cli import _parser, _request

    args = _parser().parse_args(["transcribe", "a.wav", "--language", "multilingual", "--language-hints", "cn,en",
                                 "--language-hints", "ja", "--translate-to", "en"])
    wire = _request(args).to_wire()
    assert wire["Input"]["LanguageHints"] == ["cn", "en", "ja"] and args.file == "a.wav"
    assert wire["Parameters"]["Translation"]["TargetLanguages"] == ["en"]
