"""Emulator capacity mechanisms: the DecodeGate (finals never wait for interims, interims are
shed when the decoder is busy), StreamRuntime's counters, interims on a trimmed encoder window.

Count-based: threads are synchronised on the gate's own state (``busy``, ``finals_waiting``,
``interims_waiting``), never on wall-clock durations.
"""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np
import pytest

from tingwu_nb.emulator.engine.decoding import FINAL, INTERIM, DecodeOptions, encoder_frames
from tingwu_nb.emulator.engine.engine import DecodeGate
from tingwu_nb.emulator.runtime import StreamRuntime
from tingwu_nb.errors import ParameterError
from tingwu_nb.samples import load_sample_meeting


def until(predicate, what: str) -> None:
    """Poll ``predicate`` (a state another thread reaches); fails only if it never happens."""
    for _ in range(20000):
        if predicate():
            return
        time.sleep(0.001)
    raise AssertionError(f"never: {what}")


def in_thread(fn) -> tuple[threading.Thread, list]:
    out: list = []
    t = threading.Thread(target=lambda: out.append(fn()), daemon=True)
    t.start()
    return t, out


def test_free_slot_is_taken_by_either_kind():
    gate = DecodeGate(2)
    assert gate.acquire(interim=True) and gate.acquire(interim=False)
    assert gate.busy == 2 and gate.skipped == 0
    gate.release()
    gate.release()
    assert gate.busy == 0
    with pytest.raises(ParameterError):
        DecodeGate(0)


def test_final_waits_for_slot_and_sheds_waiting_interims():
    gate = DecodeGate(1)
    assert gate.acquire(interim=True)  # an interim is decoding
    interim, interim_out = in_thread(lambda: gate.acquire(interim=True))
    until(lambda: gate.interims_waiting == 1, "the second interim waits")
    assert gate.acquire(interim=True) is False  # one waiting interim per slot: the third is shed
    final, final_out = in_thread(lambda: gate.acquire(interim=False))
    interim.join(timeout=30)
    assert interim_out == [False]  # a final started waiting: the waiting interim gave up
    until(lambda: len(gate.finals_waiting) == 1, "the final waits")
    assert gate.acquire(interim=True) is False  # a final waits: interims are shed at once
    assert final_out == [] and gate.busy == 1
    gate.release()  # the running interim ends: the final takes the slot, not an interim
    final.join(timeout=30)
    assert final_out == [True] and gate.busy == 1
    assert gate.skipped == 3
    gate.release()


def test_finals_are_served_in_arrival_order():
    gate = DecodeGate(1)
    assert gate.acquire(interim=False)
    order: list[int] = []
    threads = []
    for k in range(3):
        def take(k=k):
            gate.acquire(interim=False)
            order.append(k)
            gate.release()
        threads.append(threading.Thread(target=take, daemon=True))
        threads[-1].start()
        until(lambda k=k: len(gate.finals_waiting) == k + 1, f"final {k} waits")
    gate.release()
    for t in threads:
        t.join(timeout=30)
    assert order == [0, 1, 2] and gate.busy == 0 and gate.skipped == 0


def test_engine_skips_interim_while_a_final_holds_the_decoder(engine):
    """The real engine: an interim asked for while the decoder is busy and a final waits is
    skipped (empty text, counted), the final itself is decoded once the slot frees."""
    pcm, _ = load_sample_meeting(16000)
    speech = pcm[8000:16000 * 4]
    gate = engine.gate
    before = engine.stats
    for _ in range(gate.slots):
        assert gate.acquire(interim=False)  # hold every slot, as running decodes would
    final, final_out = in_thread(lambda: engine.recognize(speech, language="en"))
    until(lambda: len(gate.finals_waiting) == 1, "the final waits for a slot")
    skipped = engine.recognize(speech, language="en", interim=True)
    assert skipped.text == "" and skipped.words == ()
    for _ in range(gate.slots):
        gate.release()
    final.join(timeout=120)
    assert final_out and final_out[0].text  # the final was decoded
    spent = engine.stats - before
    assert (spent.interims_skipped, spent.interim_decodes, spent.decodes) == (1, 0, 1)
    alone = engine.recognize(speech, language="en", interim=True)  # nothing busy: decoded
    assert alone.text and (engine.stats - before).interim_decodes == 1


def test_runtime_counts_calls():
    runtime = StreamRuntime(threads=2)

    async def go():
        return [await runtime.run(np.sum, np.arange(n)) for n in range(5)]

    try:
        assert asyncio.run(go()) == [0, 0, 1, 3, 6]
    finally:
        runtime.shutdown()
    stats = runtime.stats
    assert stats.calls == 5 and stats.wait_s >= 0 and stats.run_s >= 0
    assert (stats - stats).calls == 0


def test_interims_encode_only_their_audio_and_finals_the_whole_window():
    assert FINAL.encoder_pad_s is None and encoder_frames(451, FINAL) == 3000
    assert INTERIM.encoder_pad_s == 6.0 and encoder_frames(451, INTERIM) == 1052  # + 600, even
    assert encoder_frames(2900, INTERIM) == 3000  # never beyond Whisper's window
    assert encoder_frames(101, DecodeOptions(encoder_pad_s=0.0)) == 102


def test_engine_interim_on_trimmed_encoder_reads_the_sentence(engine):
    pcm, truth = load_sample_meeting(16000)
    turn = truth["turns"][0]
    clip = pcm[int((turn["start_s"] - 0.3) * 16000):int((turn["end_s"] + 0.3) * 16000)]
    interim = engine.recognize(clip, language="en", interim=True)
    final = engine.recognize(clip, language="en")
    assert "morning" in interim.text.lower() and "meeting" in interim.text.lower()
    assert interim.words and interim.words[-1].end_s <= len(clip) / 16000 + 0.5
    assert "morning" in final.text.lower()
