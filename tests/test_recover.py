"""A record interrupted mid-stream (a dead kernel) is finished later from its session directory."""

from __future__ import annotations

import asyncio

import pytest

from tingwu_nb import events as ev
from tingwu_nb.params import RealtimeTaskRequest
from tingwu_nb.session import Session, record, recover

pytestmark = [pytest.mark.network, pytest.mark.slow]


async def test_recover_stops_the_task_and_fetches_what_was_streamed(emulator, sample_path, tmp_path):
    """Cancel record() after the first final; recover() stops the task and downloads its results."""
    first_final = asyncio.Event()

    def watch(event: ev.Event) -> None:
        if isinstance(event, ev.SentenceEnd):
            first_final.set()

    async with emulator.client() as client:
        job = asyncio.create_task(record(sample_path, RealtimeTaskRequest.create(output_level=1), client=client,
                                         speed=4.0, out_dir=tmp_path, on_event=watch))
        await asyncio.wait_for(first_final.wait(), timeout=60)
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job
        (directory,) = tmp_path.iterdir()
        interrupted = Session(directory)
        assert interrupted.status == "streaming" and interrupted.task_id
        assert emulator.store.get(interrupted.task_id).status == "ONGOING"

        session = await recover(directory, client=client, poll_interval_s=0.2)
    assert session.status == "COMPLETED" and session.meta["recovered"] is True
    sentences = session.sentences()
    assert len(sentences) >= 1
    assert "weekly project meeting" in sentences["text"].iloc[0].lower()
    assert (directory / "sentences.parquet").exists()
