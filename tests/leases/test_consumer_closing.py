"""A consumer on leases closed the hostile ways: its close cancelled (while its tasks stop, while it
hands the leases back), its `async with` left cancelled and the close then failing, opened twice.

Whatever cancels a caller, closing finishes: every lease handed back, no task of the consumer left,
and a later aclose() waits for that same close. One in-memory table, on virtual time.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

import aiokinesis
from aiokinesis.errors import DynamoDBError
from aiokinesis.leases import InMemoryLeases, Lease, Lost
from aiokinesis.testing import KinesisServer
from tests.fakes import VirtualTime
from tests.leases.crew import put
from tests.leases.helpers import HeldTable, drive, settle

TRIM = aiokinesis.StartingPosition.trim_horizon()


def consumer_tasks() -> list[str]:
    """The consumer's tasks by name (the client's pooled HTTP/2 connections outlive it)."""
    return sorted(
        name
        for name in (task.get_name() for task in asyncio.all_tasks())
        if name.startswith("aiokinesis") and not name.startswith("aiokinesis-http2")
    )


async def owners(table: InMemoryLeases) -> list[str | None]:
    return [lease.owner for lease in await table.list_leases()]


async def opened(consumer: aiokinesis.StreamConsumer, time: VirtualTime) -> None:
    await consumer.__aenter__()
    await drive(time, lambda: sum(p.held for p in consumer.progress()) == 4, within=60)


@pytest.mark.parametrize("cancelled", ["while its tasks stop", "while it hands the leases back"])
async def test_a_cancelled_close_goes_on_and_a_second_close_waits_for_it(
    kinesis: aiokinesis.Client, time: VirtualTime, cancelled: str
) -> None:
    table = InMemoryLeases()
    held = HeldTable(table)
    consumer = kinesis.consumer("s", leases=held, worker_id="a", start=TRIM)
    await opened(consumer, time)
    held.hold("release")
    closing = asyncio.create_task(consumer.aclose())
    await (asyncio.sleep(0) if cancelled == "while its tasks stop" else settle())
    closing.cancel()
    await settle()
    assert closing.cancelled()  # the caller's cancel is not swallowed
    again = asyncio.create_task(consumer.aclose())
    await settle()
    assert not again.done()  # it waits for the close under way, held at the table
    held.let_go()
    await again
    assert await owners(table) == [None] * 4  # handed back: other workers take them at once
    assert consumer_tasks() == []


class FailingCheckpoints(HeldTable):
    """A table whose checkpoints fail, once `fail` is set, after waiting for `answer`."""

    def __init__(self, table: InMemoryLeases) -> None:
        super().__init__(table)
        self.fail = False
        self.waiting = False
        self.answer = asyncio.Event()

    async def checkpoint(self, lease: Lease, checkpoint: str, sub_sequence_number: int) -> Lease | Lost:
        if not self.fail:
            return await super().checkpoint(lease, checkpoint, sub_sequence_number)
        self.waiting = True
        await self.answer.wait()
        raise DynamoDBError("InternalServerError", "the table failed", status=500, request_id=None)


async def test_a_close_that_fails_after_its_caller_was_cancelled_says_so_in_the_log(
    server: KinesisServer, kinesis: aiokinesis.Client, time: VirtualTime, caplog: pytest.LogCaptureFixture
) -> None:
    put(server, "s", [f"v{n}" for n in range(40)], keys=8)
    table = InMemoryLeases()
    failing = FailingCheckpoints(table)
    config = aiokinesis.ConsumerConfig(checkpoint_interval=3600)

    async def user() -> None:
        async with kinesis.consumer("s", leases=failing, worker_id="a", start=TRIM, config=config) as consumer:
            await anext(consumer)
            failing.fail = True  # the batch is processed on leaving the block: the close checkpoints it

    task = asyncio.create_task(user())
    await drive(time, lambda: failing.waiting, within=60)
    task.cancel()  # leaving the block, say a timeout around it
    await asyncio.gather(task, return_exceptions=True)
    failing.answer.set()
    await drive(time, lambda: not consumer_tasks(), within=5)
    failed = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(failed) == 1
    assert failed[0].startswith("closing the consumer of s failed: DynamoDBError('InternalServerError")


async def test_a_consumer_opened_twice_runs_one_set_of_tasks(kinesis: aiokinesis.Client, time: VirtualTime) -> None:
    table = InMemoryLeases()
    consumer = kinesis.consumer("s", leases=table, worker_id="a", start=TRIM)
    first, second = await asyncio.gather(consumer.__aenter__(), consumer.__aenter__(), return_exceptions=True)
    assert first is consumer
    assert isinstance(second, RuntimeError)
    await drive(time, lambda: sum(p.held for p in consumer.progress()) == 4, within=60)
    names = consumer_tasks()
    assert len(names) == len(set(names))  # one supervisor, one renewer, one taker, ...
    await consumer.aclose()
    with pytest.raises(RuntimeError, match="opened or closed before: make a new one"):
        await consumer.__aenter__()  # no reopening
    assert consumer_tasks() == []
