"""The queue consumer against an in-memory queue (tests/unit/queue_fake.py) on virtual time."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, cast

import orjson
import pytest
from aioresponses import CallbackResult, aioresponses

import aiokinesis
from aiokinesis import QueueConfig, QueueConsumer, QueueEntryError, QueueMessage
from aiokinesis._runtime import Runtime
from aiokinesis.errors import service_error
from tests.fakes import FROZEN_NOW, FakeTime, VirtualTime

from .conftest import ANY_URL
from .queue_fake import ARN, NAME, FakeQueue

if TYPE_CHECKING:
    from aiokinesis._generated.operations import Operations


@pytest.fixture
def vt() -> VirtualTime:
    return VirtualTime()


@pytest.fixture
def fake(vt: VirtualTime) -> FakeQueue:
    return FakeQueue(vt)


def consumer(fake: FakeQueue, queue: str = ARN, **settings: Any) -> QueueConsumer:
    runtime = Runtime(clock=fake.time.clock, sleep=fake.time.sleep, rand=lambda: 1.0)
    return QueueConsumer(cast("Operations", fake), queue, config=QueueConfig(**settings), runtime=runtime)


async def settle() -> None:
    for _ in range(60):
        await asyncio.sleep(0)


async def advance(vt: VirtualTime, seconds: float, step: float = 0.05) -> None:
    """Move time on in steps, letting everything run between them (and a hair past the end, so
    that sums of float steps do not fall short of a deadline)."""
    for _ in range(round(seconds / step)):
        vt.advance(step)
        await settle()
    vt.advance(1e-6)
    await settle()


async def finish(vt: VirtualTime, awaitable: Any) -> Any:
    """Await something that waits on virtual time (a linger, a backoff), moving time on meanwhile."""
    future = asyncio.ensure_future(awaitable)
    for _ in range(2000):
        if future.done():
            break
        await advance(vt, 0.05)
    return await future


async def take(queue: QueueConsumer, count: int) -> list[QueueMessage]:
    got = []
    async for message in queue:
        got.append(message)
        if len(got) == count:
            break
    return got


async def collect(letters: aiokinesis.DeadLetters) -> list[aiokinesis.DeadLetterRecord]:
    return [record async for record in letters]


def queue_tasks() -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if t.get_name().startswith("aiokinesis-queue")]


async def test_iterate_and_ack_batches_the_acknowledgements(fake: FakeQueue, vt: VirtualTime) -> None:
    fake.put(3)
    async with consumer(fake) as queue:
        messages = await take(queue, 3)
        assert {m.data for m in messages} == {b"data-r0000", b"data-r0001", b"data-r0002"}
        assert messages[0].receive_count == 1
        acks = [asyncio.ensure_future(m.ack()) for m in messages]
        await settle()
        assert fake.of("ack") == []  # lingering for more
        await advance(vt, 0.05)
        await asyncio.gather(*acks)
        assert [len(call["handles"]) for call in fake.of("ack")] == [3]
        assert (queue.stats.received, queue.stats.acked, queue.stats.in_flight) == (3, 3, 0)
    assert {r.state for r in fake.records.values()} == {"acked"}
    assert queue_tasks() == []


async def test_ten_acknowledgements_go_at_once_and_more_in_calls_of_ten(fake: FakeQueue, vt: VirtualTime) -> None:
    fake.put(25)
    async with consumer(fake, max_held=25, ack_linger=1.0) as queue:
        messages = await take(queue, 25)
        acks = [asyncio.ensure_future(m.ack()) for m in messages]
        await settle()
        assert [len(call["handles"]) for call in fake.of("ack")] == [10, 10]  # no linger for full calls
        await advance(vt, 1.0)
        await asyncio.gather(*acks)
        assert [len(call["handles"]) for call in fake.of("ack")] == [10, 10, 5]


async def test_receiving_stops_at_the_cap_of_held_messages(fake: FakeQueue, vt: VirtualTime) -> None:
    fake.put(40)
    async with consumer(fake, max_held=5, receivers=3) as queue:
        first = await take(queue, 5)
        await advance(vt, 30, step=1)  # extensions keep them; no room, no receive
        assert sum(call["limit"] for call in fake.of("receive")) == 5
        assert queue.stats.in_flight == 5
        assert len(fake.in_flight()) == 5
        await finish(vt, first[0].ack())
        await advance(vt, 0.1)
        assert queue.stats.received == 6
        assert sum(call["limit"] for call in fake.of("receive")) == 6


async def test_a_slow_handler_is_extended_before_its_visibility_runs_out(fake: FakeQueue, vt: VirtualTime) -> None:
    fake.put(1)
    async with consumer(fake, extend_before=10) as queue:
        (message,) = await take(queue, 1)
        await advance(vt, 101, step=0.5)
        # visibility 30: extended 10 s before it runs out (at 20, 40, ... 100 s), one call each
        assert [call["entries"] for call in fake.of("visibility")] == [[(message.receipt_handle, 30)]] * 5
        assert fake.in_flight() == [message.record_id]
        assert queue.stats.extended == 5
        await finish(vt, message.ack())
    assert fake.records[message.record_id].receive_count == 1  # never delivered again
    assert fake.records[message.record_id].state == "acked"


async def test_a_new_delivery_does_not_make_held_messages_extend_early(fake: FakeQueue, vt: VirtualTime) -> None:
    """Regression: the leaser, woken by a delivery, extended every message due within half a lead
    (at 16 s one due at 20 s), though none was due yet; now only alongside one that is due."""
    fake.put(1)
    async with consumer(fake, extend_before=10) as queue:
        (first,) = await take(queue, 1)
        await advance(vt, 16, step=0.5)
        fake.put(1)
        (second,) = await finish(vt, take(queue, 1))
        await advance(vt, 6, step=0.5)
        calls = fake.of("visibility")
        assert [c["entries"] for c in calls] == [[(first.receipt_handle, 30)]]
        assert calls[0]["at"] >= FROZEN_NOW + 20  # when it came due, not at the delivery at 16 s
        assert second.record_id == "r0001"


async def test_extensions_stop_at_max_processing_time(fake: FakeQueue, vt: VirtualTime) -> None:
    fake.put(1)
    async with consumer(fake, max_processing_time=50, extend_before=10) as queue:
        (message,) = await take(queue, 1)
        await advance(vt, 51, step=0.5)
        assert [entry[1] for call in fake.of("visibility") for entry in call["entries"]] == [30]
        assert queue.stats.lapsed == 1
        assert queue.stats.received == 2  # visible again at 50 s: delivered again
        assert queue.stats.redeliveries == 1
        with pytest.raises(QueueEntryError) as caught:
            await finish(vt, message.ack())
        assert caught.value.code == "InvalidArgumentException"
        assert caught.value.attempts == 1
        assert len(fake.of("ack")) == 1  # an expired receipt handle is reported, not retried


async def test_release_makes_a_message_visible_at_once_or_later(fake: FakeQueue, vt: VirtualTime) -> None:
    fake.put(2)
    async with consumer(fake, max_held=2) as queue:
        first, second = await take(queue, 2)
        await finish(vt, first.release())
        await finish(vt, second.release(delay=60))
        again = await take(queue, 1)
        assert again[0].record_id == first.record_id
        assert again[0].receive_count == 2
        assert [e for call in fake.of("visibility") for e in call["entries"]] == [
            (first.receipt_handle, 0),
            (second.receipt_handle, 60),
        ]
        assert (queue.stats.released, queue.stats.redeliveries) == (2, 1)
        with pytest.raises(aiokinesis.QueueClosedError, match="was released: it cannot be acknowledged"):
            await finish(vt, first.ack())
        with pytest.raises(aiokinesis.ParamValidationError, match="delay"):
            await again[0].release(delay=43_201)


async def test_run_acks_on_return_and_releases_with_the_delay_on_exception(fake: FakeQueue, vt: VirtualTime) -> None:
    fake.put(4)
    seen: list[str] = []

    async def handle(message: QueueMessage) -> None:
        seen.append(message.record_id)
        if message.record_id in ("r0001", "r0003"):
            raise RuntimeError("cannot")

    async with consumer(fake, release_delay=5) as queue:
        runner = asyncio.ensure_future(queue.run(handle, concurrency=2))
        await advance(vt, 0.2)
        assert sorted(seen) == ["r0000", "r0001", "r0002", "r0003"]
        assert fake.records["r0000"].state == fake.records["r0002"].state == "acked"
        released = {e[0].split("-")[1]: e[1] for call in fake.of("visibility") for e in call["entries"]}
        assert released == {"r0001": 5, "r0003": 5}
        assert (queue.stats.acked, queue.stats.released) == (2, 2)
        await advance(vt, 5)
        assert seen.count("r0001") == 2  # delivered again once its delay passed
        await queue.aclose()
        await runner
    assert queue_tasks() == []


async def test_a_retryable_entry_code_is_retried_with_backoff(fake: FakeQueue, vt: VirtualTime) -> None:
    fake.put(2)
    fake.fail_entries("ack", {"r0000": "ThrottlingException"})
    async with consumer(fake) as queue:
        messages = await take(queue, 2)
        acks = asyncio.gather(*(m.ack() for m in messages))
        await settle()
        await advance(vt, 0.05)
        assert [len(c["handles"]) for c in fake.of("ack")] == [2]
        await advance(vt, 0.1)  # the backoff (rand 1.0: retry_base_delay), then the linger
        await advance(vt, 0.05)
        await acks
        assert [c["handles"] for c in fake.of("ack")][1] == [messages[0].receipt_handle]
        assert queue.stats.acked == 2


async def test_an_entry_refused_every_time_fails_its_ack_after_max_attempts(fake: FakeQueue, vt: VirtualTime) -> None:
    fake.put(1)
    for _ in range(3):
        fake.fail_entries("ack", {"r0000": "InternalFailureException"})
    async with consumer(fake, max_attempts=3) as queue:
        (message,) = await take(queue, 1)
        ack = asyncio.ensure_future(message.ack())
        await advance(vt, 2)
        with pytest.raises(QueueEntryError, match="after 3 attempts") as caught:
            await ack
        assert caught.value.code == "InternalFailureException"
        assert len(fake.of("ack")) == 3
        assert queue.stats.failed == 1


async def test_dead_letters_iterate_ack_and_restore(fake: FakeQueue, vt: VirtualTime) -> None:
    fake.max_receives = 2
    fake.put(2)
    async with consumer(fake, max_held=2) as queue:
        for _ in range(2):
            for message in await take(queue, 2):
                await finish(vt, message.release())
        assert queue.stats.dead_lettered == 2
        await advance(vt, 0.1)
        letters = await finish(vt, collect(queue.dead_letters()))
        assert sorted(r.record_id for r in letters) == ["r0000", "r0001"]
        await letters[0].ack()
        await letters[1].restore()
        assert fake.records[letters[0].record_id].state == "discarded"
        assert fake.records[letters[1].record_id].state == "ready"
        (back,) = await finish(vt, take(queue, 1))
        assert (back.record_id, back.receive_count) == (letters[1].record_id, 1)
        assert (queue.stats.dead_letters_acked, queue.stats.dead_letters_restored) == (1, 1)
        with pytest.raises(QueueEntryError, match="InvalidArgumentException"):
            await letters[0].ack()  # discarded already: its handle is no good


async def test_closing_lets_handlers_finish_acks_them_and_releases_the_rest(fake: FakeQueue, vt: VirtualTime) -> None:
    fake.put(12)
    started: list[str] = []

    async def handle(message: QueueMessage) -> None:
        started.append(message.record_id)
        await vt.sleep(5 if message.record_id == "r0000" else 1000)

    queue = consumer(fake, concurrency=2, max_held=12, close_timeout=10)
    async with queue:
        runner = asyncio.ensure_future(queue.run(handle))
        await advance(vt, 0.1)
        assert started == ["r0000", "r0001"]
        closing = asyncio.ensure_future(queue.aclose())
        await settle()
        # the ten never started are visible again at once
        unstarted = [e for c in fake.of("visibility") for e in c["entries"]]
        assert sorted(h.split("-")[1] for h, _ in unstarted) == [f"r{n:04d}" for n in range(2, 12)]
        assert {seconds for _, seconds in unstarted} == {0}
        await advance(vt, 10.1, step=0.1)
        await closing
        await runner
    assert fake.records["r0000"].state == "acked"  # finished within close_timeout
    assert fake.records["r0001"].visible_at == pytest.approx(vt.now, abs=0.2)  # cancelled, released at once
    assert fake.in_flight() == []
    assert started == ["r0000", "r0001"]
    assert queue_tasks() == []


async def test_leaving_the_block_releases_what_the_iterator_handed_out(fake: FakeQueue, vt: VirtualTime) -> None:
    fake.put(5)
    async with consumer(fake, max_held=5) as queue:
        first, _ = await take(queue, 2)
        await finish(vt, first.ack())
    assert fake.records[first.record_id].state == "acked"
    assert fake.in_flight() == []
    assert queue.stats.released == 4


async def test_cancelling_run_leaves_no_task_and_no_message_held(fake: FakeQueue, vt: VirtualTime) -> None:
    fake.put(6)

    async def handle(message: QueueMessage) -> None:
        await vt.sleep(1000)

    async def work() -> None:
        async with consumer(fake, concurrency=3, max_held=6) as queue:
            await queue.run(handle)

    task = asyncio.ensure_future(work())
    await advance(vt, 0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await advance(vt, 0.1)
    assert queue_tasks() == []
    assert fake.in_flight() == []


async def test_bad_arguments_are_refused_before_the_wire(fake: FakeQueue) -> None:
    kinesis = aiokinesis.Client(region="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")
    with pytest.raises(ValueError, match=r"QueueConfig.concurrency must be between 1 and 10000, not 0"):
        kinesis.queue_consumer(NAME, concurrency=0)
    with pytest.raises(ValueError, match=r"QueueConfig.visibility_timeout must be between 0 seconds and 43200"):
        kinesis.queue_consumer(NAME, visibility_timeout=43_201)
    with pytest.raises(aiokinesis.ParamValidationError, match="not a queue ARN"):
        kinesis.queue_consumer("arn:aws:kinesis:us-east-1:123:queue/x")
    with pytest.raises(aiokinesis.ParamValidationError, match="not a queue ARN"):  # Arabic-Indic digits
        kinesis.queue_consumer("arn:aws:kinesis:us-east-1:" + "\u0661" * 12 + ":queue/x")
    with pytest.raises(aiokinesis.ParamValidationError, match="not a queue name"):
        kinesis.queue_consumer("orders work")
    assert isinstance(kinesis.queue_consumer(ARN), QueueConsumer)
    await kinesis.aclose()
    async with consumer(fake) as queue:
        with pytest.raises(ValueError, match="concurrency must be an int from 1 to 10000, not 0"):
            await queue.run(lambda m: asyncio.sleep(0), concurrency=0)
        with pytest.raises(aiokinesis.ParamValidationError, match="wait_time"):
            queue.dead_letters(wait_time=21)
    assert fake.of("ack") == fake.of("visibility") == []


async def test_a_name_is_looked_up_through_every_page(fake: FakeQueue) -> None:
    async with consumer(fake, NAME) as queue:
        assert queue.queue_arn == ARN
    assert [c["next_token"] for c in fake.of("list")] == [None, "1", "2"]


async def test_a_missing_queue_is_the_modeled_error_with_the_queue_named(fake: FakeQueue) -> None:
    with pytest.raises(aiokinesis.ResourceNotFoundException) as caught:
        async with consumer(fake, "nope"):
            pass
    assert "queue: nope" in caught.value.__notes__
    fake.gone = True
    with pytest.raises(aiokinesis.ResourceNotFoundException) as caught:
        async with consumer(fake):
            pass
    assert f"queue: {ARN}" in caught.value.__notes__


async def test_a_receive_error_not_worth_retrying_ends_the_iteration(fake: FakeQueue, vt: VirtualTime) -> None:
    fake.put(1)
    async with consumer(fake, receivers=1) as queue:
        (message,) = await take(queue, 1)
        fake.fail_call("receive", service_error("KMSDisabledException", "disabled", status=400, request_id="x"))
        await advance(vt, 21, step=0.5)
        with pytest.raises(aiokinesis.KMSDisabledException) as caught:
            await take(queue, 1)
        assert f"queue: {ARN}" in caught.value.__notes__
        await finish(vt, message.ack())  # what was received can still be finished


async def test_throttled_receives_are_retried(fake: FakeQueue, vt: VirtualTime) -> None:
    fake.put(1)
    fake.fail_call("receive", service_error("ThrottlingException", "slow", status=400, request_id="x"))
    async with consumer(fake, receivers=1) as queue:
        (message,) = await take_after(queue, vt, 1)
        assert message.record_id == "r0000"
        await finish(vt, message.ack())


async def take_after(queue: QueueConsumer, vt: VirtualTime, count: int) -> list[QueueMessage]:
    taking = asyncio.ensure_future(take(queue, count))
    for _ in range(100):
        if taking.done():
            break
        await advance(vt, 0.1)
    return await taking


async def test_queue_config_refuses_bad_values() -> None:
    with pytest.raises(ValueError, match=r"QueueConfig\.wait_time must be between 1 second and 20 seconds"):
        QueueConfig(wait_time=0)
    with pytest.raises(ValueError, match=r"QueueConfig\.max_processing_time"):
        QueueConfig(max_processing_time=43_201)
    with pytest.raises(TypeError, match=r"QueueConfig\.release_delay must be an int"):
        QueueConfig(release_delay=1.5)  # type: ignore[arg-type]
    assert (QueueConfig().held_limit, QueueConfig().receiver_count, QueueConfig(concurrency=64).receiver_count) == (
        26,
        3,
        8,
    )


async def test_wait_queue_active_polls_describe_queue_until_active(
    kinesis: aiokinesis.Client, http: aioresponses, fake_time: FakeTime
) -> None:
    def answer(status: str) -> CallbackResult:
        description = {
            "QueueName": NAME,
            "QueueARN": ARN,
            "QueueStatus": status,
            "QueueCreationTimestamp": 1,
            "StreamConfigurationList": [{"StreamARN": "arn:aws:kinesis:us-east-1:123456789012:stream/orders"}],
        }
        return CallbackResult(status=200, body=orjson.dumps({"QueueDescription": description}))

    statuses = iter(["CREATING", "UPDATING", "ACTIVE", "DELETING"])
    http.post(ANY_URL, callback=lambda url, **kwargs: answer(next(statuses)), repeat=True)
    found = await kinesis.wait.queue_active(queue_arn=ARN)
    assert found.queue_status == "ACTIVE"
    assert fake_time.sleeps == [5, 5]
    with pytest.raises(aiokinesis.WaiterError, match="it is DELETING"):
        await kinesis.wait.queue_active(queue_arn=ARN)
