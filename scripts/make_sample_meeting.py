"""Render the bundled English three-speaker sample meeting with espeak-ng and sox.

Writes ``tingwu_nb/data/sample_meeting_en.flac`` (16 kHz mono s16) and
``tingwu_nb/data/sample_meeting_en.json`` (exact turn boundaries, speakers and text).
Run from the repository root: ``python scripts/make_sample_meeting.py``. Needs the
Debian packages ``espeak-ng`` and ``sox``. The output is committed, so users and CI do
not need to run this; it documents how the fixture was made.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import wave
from pathlib import Path

VOICES = {
    "1": ["-v", "en-us+m3", "-p", "40", "-s", "160"],
    "2": ["-v", "en-gb+f2", "-p", "70", "-s", "160"],
    "3": ["-v", "en-us+m7", "-p", "25", "-s", "140"],
}
TURNS = [
    ("1", "Good morning everyone, thank you for joining the weekly project meeting."),
    ("2", "Thanks. I would like to start with the budget for the next quarter."),
    ("3", "The design review is finished and the report is ready to share."),
    ("1", "Great. We need to confirm the budget before the end of the month."),
    ("2", "I will send the updated numbers to the finance team on Friday."),
    ("3", "Please remember that the new office opens in two weeks."),
    ("1", "Who is going to organise the move of the servers?"),
    ("2", "I can take care of the servers and the network equipment."),
    ("3", "Then I will prepare the training plan for the new staff."),
    ("1", "Let us meet again next Tuesday to check our progress."),
    ("2", "That works for me. Have a good week."),
    ("3", "Thank you, goodbye."),
]
GAPS_S = [0.8, 1.0, 0.7, 1.2, 0.9, 0.8, 1.1, 0.7, 1.0, 0.9, 0.8]
RATE = 16000
LEAD_S = 0.5


def render(text: str, args: list[str], out: Path) -> None:
    raw = out.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", *args, "-w", str(raw), text], check=True)
    subprocess.run(["sox", "-G", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(out)], check=True)
    raw.unlink()


def main() -> None:
    root = Path(__file__).resolve().parents[1] / "tingwu_nb" / "data"
    pcm = bytearray(b"\0\0" * int(LEAD_S * RATE))
    turns = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (speaker, text) in enumerate(TURNS):
            wav_path = Path(tmp) / f"turn{i}.wav"
            render(text, VOICES[speaker], wav_path)
            with wave.open(str(wav_path)) as w:
                frames = w.readframes(w.getnframes())
            start = len(pcm) / 2 / RATE
            pcm += frames
            turns.append({"speaker": speaker, "text": text, "start_s": round(start, 3),
                          "end_s": round(len(pcm) / 2 / RATE, 3)})
            gap = GAPS_S[i] if i < len(GAPS_S) else LEAD_S
            pcm += b"\0\0" * int(gap * RATE)
        wav_all = Path(tmp) / "all.wav"
        with wave.open(str(wav_all), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(RATE)
            w.writeframes(bytes(pcm))
        subprocess.run(["sox", str(wav_all), str(root / "sample_meeting_en.flac")], check=True)
    meta = {"language": "en", "sample_rate": RATE, "duration_s": round(len(pcm) / 2 / RATE, 3),
            "speakers": sorted(VOICES), "turns": turns,
            "made_by": "scripts/make_sample_meeting.py (espeak-ng + sox)"}
    (root / "sample_meeting_en.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
