"""A queue consumer used the hostile ways: closed from a handler, cancelled halfway, with messages
ready, or while opening; opened twice at once; given a handler that is not one.

The server, client and fixtures are test_queue_worker's (one shared clock). A close_timeout shorter
than its HOLD moves on at once, so a close that waits out its handlers fails here rather than hangs.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import aiokinesis
from aiokinesis.queues import QueueClosedError, QueueMessage
from aiokinesis.testing import KinesisServer
from tests.faults.test_queue_worker import FAST, attempts, deliveries, kinesis, new_queue, put, server, shared, until

__all__ = ["attempts", "kinesis", "server", "shared"]  # the fixtures this module runs on

CLOSING = aiokinesis.QueueConfig(wait_time=1, visibility_timeout=600, close_timeout=1)


def queue_tasks() -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if t.get_name().startswith("aiokinesis-queue")]


async def test_a_handler_that_closes_its_consumer_returns_and_its_message_is_acknowledged(
    kinesis: aiokinesis.Client, server: KinesisServer
) -> None:
    arn = await new_queue(kinesis, server)
    await put(kinesis, 3)
    gate = asyncio.Event()
    returned: list[bytes] = []
    async with kinesis.queue_consumer(arn, config=CLOSING) as queue:

        async def handler(message: QueueMessage) -> None:
            await gate.wait()
            await queue.aclose()  # a stop message, say: closing waits for this handler as for the rest
            returned.append(message.data)

        worker = asyncio.create_task(queue.run(handler, concurrency=1))
        await until(lambda: queue.stats.received == 3)
        gate.set()
        await until(worker.done)
        await worker
    assert len(returned) == 1  # not cancelled by its own close past close_timeout
    assert (queue.stats.acked, queue.stats.released, queue.stats.failed) == (1, 2, 0)
    assert queue_tasks() == []  # and closing finished: no task of the consumer left running
    assert deliveries(server, arn) == [1, 1]  # the two never handed out, visible again


async def test_cancelling_aclose_stops_only_its_wait_and_closing_finishes(
    kinesis: aiokinesis.Client, server: KinesisServer
) -> None:
    arn = await new_queue(kinesis, server)
    await put(kinesis, 3)
    gate = asyncio.Event()

    async def handler(message: QueueMessage) -> None:
        await gate.wait()

    async with kinesis.queue_consumer(arn, config=FAST) as queue:  # close_timeout 30 s: it waits for the handlers
        worker = asyncio.create_task(queue.run(handler, concurrency=3))
        await until(lambda: queue.stats.received == 3 and queue.stats.in_flight == 3)
        closing = asyncio.create_task(queue.aclose())
        await until(lambda: server.backend.receives_waiting == 0)  # closing is under way: receiving stopped
        closing.cancel()
        await asyncio.gather(closing, return_exceptions=True)
        gate.set()  # the handlers finish within close_timeout
    await worker
    assert closing.cancelled()
    assert (queue.stats.acked, queue.stats.released, queue.stats.failed) == (3, 0, 0)
    assert queue_tasks() == []
    assert deliveries(server, arn) == []


async def test_closing_starts_no_handler_on_a_message_ready_but_not_handed_out(
    kinesis: aiokinesis.Client, server: KinesisServer
) -> None:
    arn = await new_queue(kinesis, server)
    await put(kinesis, 5)
    first = asyncio.Event()
    never = asyncio.Event()
    started: list[bytes] = []

    async def handler(message: QueueMessage) -> None:
        started.append(message.data)
        await (first if len(started) == 1 else never).wait()

    async with kinesis.queue_consumer(arn, config=CLOSING) as queue:
        worker = asyncio.create_task(queue.run(handler, concurrency=1))
        await until(lambda: queue.stats.received == 5 and len(started) == 1)
        closing = asyncio.create_task(queue.aclose())
        await asyncio.sleep(0)  # closing has begun
        first.set()  # the handler in flight finishes while the receivers stop
        await closing
    await worker
    assert len(started) == 1
    assert (queue.stats.acked, queue.stats.released, queue.stats.failed) == (1, 4, 0)
    assert sorted(deliveries(server, arn)) == [1, 1, 1, 1]


async def test_a_consumer_opened_twice_at_once_or_closed_while_opening_runs_no_task(
    kinesis: aiokinesis.Client, server: KinesisServer
) -> None:
    arn = await new_queue(kinesis, server)
    queue = kinesis.queue_consumer(arn, config=FAST)
    first, second = await asyncio.gather(queue.__aenter__(), queue.__aenter__(), return_exceptions=True)
    assert first is queue
    assert isinstance(second, QueueClosedError)
    await queue.aclose()
    assert queue_tasks() == []
    other = kinesis.queue_consumer(arn, config=FAST)
    opening = asyncio.create_task(other.__aenter__())
    await asyncio.sleep(0)  # its DescribeQueue is under way
    await other.aclose()
    with pytest.raises(QueueClosedError, match="closed while it opened"):
        await opening
    assert queue_tasks() == []


async def test_run_refuses_a_handler_that_is_not_callable_before_receiving_anything(
    kinesis: aiokinesis.Client, server: KinesisServer
) -> None:
    arn = await new_queue(kinesis, server)
    await put(kinesis, 1)
    async with kinesis.queue_consumer(arn, config=FAST) as queue:
        worker = asyncio.create_task(queue.run(None))  # type: ignore[arg-type]
        await until(worker.done)
        with pytest.raises(TypeError, match="handler must be an async function of a QueueMessage, not None"):
            await worker
        message = await anext(aiter(queue))  # delivered once: never handed to a handler that cannot take it
        await message.ack()
    assert message.receive_count == 1
    assert (queue.stats.released, queue.stats.acked) == (0, 1)


async def test_a_consumer_whose_open_failed_opens_once_the_queue_exists(
    kinesis: aiokinesis.Client, server: KinesisServer
) -> None:
    queue = kinesis.queue_consumer("later", config=FAST)
    with pytest.raises(aiokinesis.ResourceNotFoundException):
        await queue.__aenter__()
    arn = await new_queue(kinesis, server, "later")
    async with queue:
        assert queue.queue_arn == arn
    assert queue_tasks() == []
