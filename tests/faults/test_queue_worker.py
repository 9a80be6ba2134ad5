"""The queue worker (`kinesis.queue_consumer`) through the public API against aiokinesis.testing.

The server and the client share one clock: a sleep shorter than HOLD (an ack linger, a backoff)
moves it on at once, a longer one (the leaser's wait for a deadline) waits until the test moves
the clock, so visibility timeouts pass only when a test says so. The server's long polls end by
that clock or after WaitTimeSeconds of real time (1 here). Each wait is bounded (`until`).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

import aiokinesis
from aiokinesis.metrics import NoMetrics
from aiokinesis.queues import QueueEntryError, QueueMessage
from aiokinesis.testing import Fault, FaultKind, KinesisServer, Limits
from tests.conftest import LOCAL_KEYS
from tests.fakes import SharedTime

HOLD = 5.0
FAST = aiokinesis.QueueConfig(wait_time=1, visibility_timeout=600)
"""Short long polls; a visibility no test outlives unless it means to."""


class Attempts(NoMetrics):
    """The failed attempts the client retried, by operation."""

    def __init__(self) -> None:
        self.retried: list[tuple[str, str]] = []

    def api_attempt_failed(
        self, operation: str, stream: str | None, error: str, *, throttled: bool, retried: bool
    ) -> None:
        if retried:
            self.retried.append((operation, error))


@pytest.fixture
def shared() -> SharedTime:
    return SharedTime(hold=HOLD)


@pytest.fixture
async def server(shared: SharedTime) -> AsyncIterator[KinesisServer]:
    async with KinesisServer(limits=Limits(enabled=False), clock=shared.clock, seed=7) as local:
        local.backend.create_stream("s", 2, mode="ON_DEMAND")
        yield local


@pytest.fixture
def attempts() -> Attempts:
    return Attempts()


@pytest.fixture
async def kinesis(server: KinesisServer, shared: SharedTime, attempts: Attempts) -> AsyncIterator[aiokinesis.Client]:
    async with aiokinesis.Client(
        endpoint_url=server.endpoint_url,
        clock=shared.clock,
        sleep=shared.sleep,
        rand=lambda: 0.5,
        metrics=attempts,
        **LOCAL_KEYS,
    ) as client:
        yield client


async def until(done: Callable[[], object], rounds: int = 2000) -> None:
    """Let the client and the server run (real I/O between them) until `done()`; bounded."""
    for _ in range(rounds):
        if done():
            return
        await asyncio.sleep(0.005)
    assert done()


def reaches(count: Callable[[], int], value: int) -> Callable[[], bool]:
    """Whether `count()` equals `value` now (a condition for `until` built in a loop)."""
    return lambda: count() == value


def calls(server: KinesisServer, operation: str) -> list[int]:
    """The entries of each call of `operation` that reached the server's handler (faults that answer
    instead of it are not counted)."""
    sizes: list[int] = []
    handler = getattr(server.backend, operation)

    def counted(request: Any) -> Any:
        sizes.append(len(request.get("Entries") or []))
        return handler(request)

    setattr(server.backend, operation, counted)
    return sizes


async def new_queue(
    kinesis: aiokinesis.Client,
    server: KinesisServer,
    name: str = "q",
    *,
    visibility: int | None = None,
    max_receive: int | None = None,
) -> str:
    dead = (
        None
        if max_receive is None
        else aiokinesis.DeadLetterConfiguration(target_type="BUILT_IN", max_receive_count=max_receive)
    )
    attributes = aiokinesis.QueueAttributes(visibility_timeout_seconds=visibility, dead_letter_configuration=dead)
    created = await kinesis.create_queue(
        queue_name=name,
        stream_configuration_list=[
            aiokinesis.QueueStreamConfiguration(
                stream_arn=server.backend.streams["s"].arn,
                starting_position=aiokinesis.QueueStartingPosition(type="TRIM_HORIZON"),
            )
        ],
        queue_attributes=attributes,
    )
    return created.queue_description.queue_arn


async def put(kinesis: aiokinesis.Client, count: int, prefix: str = "r") -> list[bytes]:
    data = [f"{prefix}{i}".encode() for i in range(count)]
    await kinesis.put_records(
        stream_name="s",
        records=[aiokinesis.PutRecordsRequestEntry(data=d, partition_key=d.decode()) for d in data],
    )
    return data


def receive_now(server: KinesisServer, arn: str, **request: Any) -> list[dict[str, Any]]:
    """One pass of ReceiveQueueRecords on the server (no long poll): what is visible now."""
    handler = server.backend.operation("ReceiveQueueRecords")
    assert handler is not None
    records: list[dict[str, Any]] = handler({"QueueARN": arn, **request})["QueueRecords"]
    return records


def deliveries(server: KinesisServer, arn: str) -> list[int]:
    """The receive counts of the records the queue still tracks (received, not acknowledged)."""
    return [d.receive_count for d in server.backend.queues[arn].deliveries.values()]


async def test_a_queue_is_created_waited_for_listed_described_updated_and_deleted(
    kinesis: aiokinesis.Client, server: KinesisServer
) -> None:
    arns = [await new_queue(kinesis, server, name) for name in ("a", "b", "c")]
    active = await kinesis.wait.queue_active(queue_arn=arns[0])
    assert active.queue_status == "ACTIVE"
    assert active.queue_name == "a"
    listed = [q async for q in kinesis.paginate.list_queues(max_results=1)]  # one queue a page
    assert sorted(q.queue_name for q in listed) == ["a", "b", "c"]
    assert sorted(q.queue_arn for q in listed) == sorted(arns)
    described = (await kinesis.describe_queue(queue_arn=arns[1])).queue_description
    assert described.queue_attributes is not None
    assert described.queue_attributes.visibility_timeout_seconds == 30
    updated = await kinesis.update_queue(
        queue_arn=arns[1], queue_attributes=aiokinesis.QueueAttributes(visibility_timeout_seconds=90)
    )
    assert updated.queue_description.queue_status == "UPDATING"
    again = await kinesis.wait.queue_active(queue_arn=arns[1])
    assert again.queue_attributes is not None
    assert again.queue_attributes.visibility_timeout_seconds == 90
    await kinesis.delete_queue(queue_arn=arns[1])
    with pytest.raises(aiokinesis.ResourceNotFoundException):
        await kinesis.describe_queue(queue_arn=arns[1])
    left = [q.queue_name async for q in kinesis.paginate.list_queues(max_results=1)]
    assert sorted(left) == ["a", "c"]


@pytest.mark.parametrize("by_name", [True, False])
async def test_every_record_is_handed_out_once_and_acknowledged_in_batches_of_ten(
    kinesis: aiokinesis.Client, server: KinesisServer, by_name: bool
) -> None:
    arn = await new_queue(kinesis, server, "orders")
    sent = await put(kinesis, 25)
    acks = calls(server, "AcknowledgeQueueRecords")
    got: list[QueueMessage] = []
    pending: list[asyncio.Task[None]] = []
    async with kinesis.queue_consumer("orders" if by_name else arn, config=FAST) as queue:
        async for message in queue:
            got.append(message)
            pending.append(asyncio.create_task(message.ack()))
            if len(got) == 25:
                break
        await asyncio.gather(*pending)
        assert queue.queue_arn == arn
    assert sorted(m.data for m in got) == sorted(sent)  # every record, once
    assert {m.receive_count for m in got} == {1}
    assert sum(acks) == 25
    assert max(acks) <= 10
    assert len(acks) < 25  # batched, not one call each
    assert queue.stats.acked == 25
    assert queue.stats.redeliveries == 0
    assert deliveries(server, arn) == []  # all acknowledged: nothing the queue could deliver again
    assert receive_now(server, arn) == []


async def test_a_slow_handler_keeps_its_message_invisible_by_extensions(
    kinesis: aiokinesis.Client, server: KinesisServer, shared: SharedTime
) -> None:
    arn = await new_queue(kinesis, server, visibility=20)
    await put(kinesis, 8)
    started: list[QueueMessage] = []
    finish = asyncio.Event()

    async def slow(message: QueueMessage) -> None:
        started.append(message)
        await finish.wait()

    config = aiokinesis.QueueConfig(wait_time=1, ack_linger=0)  # the queue's visibility: 20 s, extended 10 s before
    async with kinesis.queue_consumer(arn, config=config) as queue:
        worker = asyncio.create_task(queue.run(slow, concurrency=8))
        try:
            await until(lambda: len(started) == 8)
            for round_ in range(1, 5):  # 42 s: twice the visibility timeout
                shared.advance(10.5)
                await until(reaches(lambda: queue.stats.extended, 8 * round_))
                assert deliveries(server, arn) == [1] * 8  # still in flight, never received again
                assert all(d.visible_at > shared.now for d in server.backend.queues[arn].deliveries.values())
        finally:
            # Else a failed check closes the consumer with its handlers held, and closing waits out
            # close_timeout on the shared clock, which nothing advances: the test would hang.
            finish.set()
        await until(lambda: queue.stats.acked == 8)
        await queue.aclose()
        await worker
    assert queue.stats.redeliveries == 0
    assert queue.stats.lapsed == 0
    assert {m.receive_count for m in started} == {1}
    assert deliveries(server, arn) == []


async def test_a_poison_record_is_released_dead_lettered_then_restored_or_discarded(
    kinesis: aiokinesis.Client, server: KinesisServer, shared: SharedTime
) -> None:
    arn = await new_queue(kinesis, server, visibility=60, max_receive=3)
    await put(kinesis, 2, "poison")
    seen: list[tuple[bytes, int]] = []
    poisoned = True

    async def handler(message: QueueMessage) -> None:
        seen.append((message.data, message.receive_count))
        if poisoned:
            raise RuntimeError("poison")

    config = aiokinesis.QueueConfig(wait_time=1, release_delay=2)
    async with kinesis.queue_consumer(arn, config=config) as queue:
        worker = asyncio.create_task(queue.run(handler, concurrency=2))
        for receive in range(1, 4):
            await until(reaches(lambda: queue.stats.released, 2 * receive))
            await until(lambda: server.backend.receives_waiting > 0)
            assert len(seen) == 2 * receive  # not delivered again before release_delay
            if receive < 3:
                shared.advance(2)
        assert sorted(seen) == sorted((d, n) for d in (b"poison0", b"poison1") for n in (1, 2, 3))
        assert queue.stats.dead_lettered == 2
        shared.advance(2)
        assert receive_now(server, arn) == []  # dead letters now, not on the normal receive path
        letters = [record async for record in queue.dead_letters(visibility_timeout=60)]
        assert sorted(r.data for r in letters) == [b"poison0", b"poison1"]
        assert {r.receive_count for r in letters} == {4}  # the dead-letter receive counts too
        poisoned = False
        restore, discard = sorted(letters, key=lambda r: r.data)
        await restore.restore()
        await discard.ack()
        await until(lambda: queue.stats.acked == 1)
        await queue.aclose()
        await worker
    assert seen[-1] == (b"poison0", 1)  # restored: its receive count reset
    assert queue.stats.dead_letters_restored == 1
    assert queue.stats.dead_letters_acked == 1
    assert deliveries(server, arn) == []


async def test_closing_acknowledges_what_finished_and_releases_the_rest_at_once(
    kinesis: aiokinesis.Client, server: KinesisServer
) -> None:
    arn = await new_queue(kinesis, server)
    await put(kinesis, 10)
    done: list[bytes] = []
    blocked: list[bytes] = []
    never = asyncio.Event()

    async def handler(message: QueueMessage) -> None:
        if len(done) < 2:
            done.append(message.data)
            return
        blocked.append(message.data)
        await never.wait()

    config = aiokinesis.QueueConfig(wait_time=1, visibility_timeout=600, close_timeout=0)
    async with kinesis.queue_consumer(arn, config=config) as queue:
        worker = asyncio.create_task(queue.run(handler, concurrency=4))
        await until(lambda: queue.stats.acked == 2 and len(blocked) == 4 and queue.stats.received == 10)
        await until(lambda: server.backend.receives_waiting > 0)  # nothing more to receive: polls wait
    await worker  # no exception escapes run()
    assert queue.stats.acked == 2
    assert queue.stats.released == 8  # four cancelled handlers, four never handed out
    assert queue.stats.failed == 0
    await until(lambda: server.backend.receives_waiting == 0)
    back = receive_now(server, arn, Limit=10)
    assert sorted(base64_data(r) for r in back) == sorted(
        d for d in (f"r{i}".encode() for i in range(10)) if d not in done
    )
    assert {r["ReceiveCount"] for r in back} == {2}


def base64_data(record: dict[str, Any]) -> bytes:
    return base64.b64decode(record["Data"])


async def test_an_expired_receipt_handle_fails_the_ack_with_the_servers_code_and_is_not_retried(
    kinesis: aiokinesis.Client, server: KinesisServer
) -> None:
    arn = await new_queue(kinesis, server)
    await put(kinesis, 1)
    acks = calls(server, "AcknowledgeQueueRecords")
    async with kinesis.queue_consumer(arn, config=FAST) as queue:
        message = await anext(aiter(queue))
        fault = server.inject(Fault(kind=FaultKind.EXPIRED_RECEIPT_HANDLE, operation="AcknowledgeQueueRecords"))
        with pytest.raises(QueueEntryError) as caught:
            await message.ack()
    assert fault.fired == 1
    assert caught.value.code == "InvalidArgumentException"
    assert "expired" in str(caught.value)
    assert caught.value.attempts == 1
    assert caught.value.record_id == message.record_id
    assert acks == [1]  # one call, not sent again
    assert queue.stats.failed == 1


async def test_a_message_whose_visibility_passed_on_the_clock_cannot_be_acknowledged(
    kinesis: aiokinesis.Client, server: KinesisServer, shared: SharedTime
) -> None:
    arn = await new_queue(kinesis, server, visibility=20)
    await put(kinesis, 1)
    acks = calls(server, "AcknowledgeQueueRecords")
    config = aiokinesis.QueueConfig(wait_time=1, ack_linger=0, max_processing_time=15)  # no extension fits
    async with kinesis.queue_consumer(arn, config=config) as queue:
        message = await anext(aiter(queue))
        shared.advance(20)  # its visibility passes; the leaser lets it lapse
        await until(lambda: queue.stats.lapsed == 1)
        assert queue.stats.extended == 0
        with pytest.raises(QueueEntryError) as caught:
            await message.ack()
        again = await anext(aiter(queue))  # the queue delivers it again
    assert caught.value.code == "InvalidArgumentException"
    assert "expired" in str(caught.value)
    assert caught.value.attempts == 1
    assert acks == [1]
    assert again.record_id == message.record_id
    assert again.receive_count == 2


async def test_a_queue_deleted_while_consuming_ends_the_iteration_naming_it(
    kinesis: aiokinesis.Client, server: KinesisServer
) -> None:
    arn = await new_queue(kinesis, server)
    await put(kinesis, 1)
    async with kinesis.queue_consumer("q", config=FAST) as queue:
        first = await anext(aiter(queue))
        await first.ack()
        await until(lambda: server.backend.receives_waiting > 0)
        await kinesis.delete_queue(queue_arn=arn)
        with pytest.raises(aiokinesis.ResourceNotFoundException) as caught:
            await anext(aiter(queue))
    assert f"queue: {arn}" in caught.value.__notes__


async def test_a_queue_deleted_while_run_handles_ends_run_naming_it(
    kinesis: aiokinesis.Client, server: KinesisServer
) -> None:
    arn = await new_queue(kinesis, server)
    await put(kinesis, 2)
    handled: list[bytes] = []
    gate = asyncio.Event()

    async def handler(message: QueueMessage) -> None:
        handled.append(message.data)
        if message.data == b"r1":
            await gate.wait()  # held while the queue goes

    async with kinesis.queue_consumer(arn, config=FAST) as queue:
        worker = asyncio.create_task(queue.run(handler, concurrency=2))
        await until(lambda: queue.stats.acked == 1 and len(handled) == 2)
        await until(lambda: server.backend.receives_waiting > 0)
        await kinesis.delete_queue(queue_arn=arn)
        gate.set()
        with pytest.raises(aiokinesis.ResourceNotFoundException) as caught:
            await worker
    assert f"queue: {arn}" in caught.value.__notes__
    assert queue.stats.failed == 1  # the held one's ack: the queue is gone


async def test_throttling_and_partial_failures_are_retried_until_every_record_is_acknowledged_once(
    kinesis: aiokinesis.Client, server: KinesisServer, shared: SharedTime, attempts: Attempts
) -> None:
    arn = await new_queue(kinesis, server)
    sent = await put(kinesis, 12)
    receive = server.inject(Fault(kind=FaultKind.THROTTLE, operation="ReceiveQueueRecords", times=3))
    ack = server.inject(Fault(kind=FaultKind.THROTTLE, operation="AcknowledgeQueueRecords", times=2))
    change = server.inject(Fault(kind=FaultKind.THROTTLE, operation="UpdateQueueRecordsVisibility", times=2))
    partial = server.inject(
        Fault(
            kind=FaultKind.PARTIAL_FAILURE,
            operation="AcknowledgeQueueRecords",
            share=0.5,
            error_code="ThrottlingException",
            times=2,
        )
    )
    handled: list[tuple[bytes, int]] = []

    async def handler(message: QueueMessage) -> None:
        handled.append((message.data, message.receive_count))
        if message.data == b"r0" and message.receive_count == 1:
            await message.release()  # a visibility change, to be throttled

    async with kinesis.queue_consumer(arn, config=FAST) as queue:
        worker = asyncio.create_task(queue.run(handler, concurrency=4))
        await until(lambda: queue.stats.acked == 12)
        await queue.aclose()
        await worker
    assert (receive.fired, ack.fired, change.fired, partial.fired) == (3, 2, 2, 2)
    assert sorted(d for d, _ in handled) == sorted([*sent, b"r0"])  # r0 released once, nothing else again
    assert queue.stats.failed == 0
    assert queue.stats.released == 1
    assert deliveries(server, arn) == []
    retried = {operation for operation, _ in attempts.retried}
    assert {"ReceiveQueueRecords", "AcknowledgeQueueRecords", "UpdateQueueRecordsVisibility"} <= retried
    assert any(s > 0 for s in shared.slept)  # with backoff


async def test_acknowledgements_throttled_past_the_clients_retries_are_sent_again(
    kinesis: aiokinesis.Client, server: KinesisServer, attempts: Attempts
) -> None:
    arn = await new_queue(kinesis, server)
    await put(kinesis, 3)
    acks = calls(server, "AcknowledgeQueueRecords")
    throttle = server.inject(Fault(kind=FaultKind.THROTTLE, operation="AcknowledgeQueueRecords", times=4))
    async with kinesis.queue_consumer(arn, config=FAST) as queue:
        messages = [await anext(aiter(queue)) for _ in range(3)]
        await asyncio.gather(*(m.ack() for m in messages))  # the client tries 3 times, the worker again
    assert throttle.fired == 4
    assert sum(acks) == 3
    assert queue.stats.acked == 3
    assert queue.stats.failed == 0
    assert deliveries(server, arn) == []


async def test_a_duplicate_delivery_is_handled_again_and_its_second_ack_fails_clearly(
    kinesis: aiokinesis.Client, server: KinesisServer
) -> None:
    arn = await new_queue(kinesis, server)
    await put(kinesis, 1)
    async with kinesis.queue_consumer(arn, config=FAST) as queue:
        messages = aiter(queue)
        first = await anext(messages)
        fault = server.inject(Fault(kind=FaultKind.DUPLICATE_DELIVERY, operation="ReceiveQueueRecords"))
        copy = await anext(messages)  # at least once: the same record, another receipt handle
        assert fault.fired == 1
        assert copy.record_id == first.record_id
        assert copy.receipt_handle != first.receipt_handle
        assert copy.receive_count == 2
        await first.ack()
        with pytest.raises(QueueEntryError) as caught:
            await copy.ack()
    assert caught.value.code == "ResourceNotFoundException"  # acknowledged already
    assert caught.value.record_id == first.record_id
    assert caught.value.attempts == 1
    assert queue.stats.acked == 1
    assert queue.stats.redeliveries == 1
    assert deliveries(server, arn) == []


async def test_run_handles_a_duplicate_delivery_twice_and_counts_the_refused_second_ack(
    kinesis: aiokinesis.Client, server: KinesisServer
) -> None:
    arn = await new_queue(kinesis, server)
    await put(kinesis, 1)
    handled: list[tuple[str, int]] = []
    gate = asyncio.Event()

    async def handler(message: QueueMessage) -> None:
        handled.append((message.record_id, message.receive_count))
        await gate.wait()

    async with kinesis.queue_consumer(arn, config=FAST) as queue:
        worker = asyncio.create_task(queue.run(handler, concurrency=2))
        await until(lambda: len(handled) == 1)
        fault = server.inject(Fault(kind=FaultKind.DUPLICATE_DELIVERY, operation="ReceiveQueueRecords"))
        await until(lambda: len(handled) == 2)  # the same record, handled again (at least once)
        gate.set()
        await until(lambda: queue.stats.acked + queue.stats.failed == 2)
        await queue.aclose()
        await worker  # the refused second ack is counted and logged, not raised
    assert fault.fired == 1
    assert handled[0][0] == handled[1][0]
    assert sorted(n for _, n in handled) == [1, 2]
    assert (queue.stats.acked, queue.stats.failed) == (1, 1)
    assert deliveries(server, arn) == []


async def test_dead_letter_acks_and_restores_failed_as_a_whole_past_the_clients_retries_are_sent_again(
    kinesis: aiokinesis.Client, server: KinesisServer, attempts: Attempts
) -> None:
    arn = await new_queue(kinesis, server, max_receive=1)
    await put(kinesis, 2, "poison")
    async with kinesis.queue_consumer(arn, config=FAST) as queue:
        for message in [await anext(aiter(queue)) for _ in range(2)]:
            await message.release()  # received MaxReceiveCount (1) times: dead letters now
        restore, discard = sorted([r async for r in queue.dead_letters()], key=lambda r: r.data)
        # Four failures each: the client's own three attempts, then the dead letters' retry.
        throttled = server.inject(Fault(kind=FaultKind.THROTTLE, operation="RestoreDeadLetterQueueRecords", times=4))
        failed = server.inject(
            Fault(kind=FaultKind.INTERNAL_FAILURE, operation="AcknowledgeDeadLetterQueueRecords", times=4)
        )
        await restore.restore()
        await discard.ack()
        back = await anext(aiter(queue))  # restored: on the normal receive path again, its count reset
        await back.ack()
    assert (throttled.fired, failed.fired) == (4, 4)
    assert (queue.stats.dead_letters_restored, queue.stats.dead_letters_acked) == (1, 1)
    retried = {operation for operation, _ in attempts.retried}
    assert {"RestoreDeadLetterQueueRecords", "AcknowledgeDeadLetterQueueRecords"} <= retried
    assert (back.data, back.receive_count) == (b"poison0", 1)
    assert deliveries(server, arn) == []  # the other discarded
