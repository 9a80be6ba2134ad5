"""The producer's buffer on virtual time: every path that frees space wakes a put() waiting for it.

Each test fills a one-record buffer, starts a second put() that must wait, then frees the space
one way and checks the waiting put() got in (or was told why not). Without a wake-up on that
path the second put() would wait forever.
"""

from __future__ import annotations

import asyncio

import pytest

import aiokinesis
from aiokinesis import ProducerConfig
from tests.producer_harness import Harness, close, make_producer, running, settle

ONE = ProducerConfig(linger=0.01, max_buffered_records=1, rate_limit=0, retry_base_delay=0.1)


Receipt = aiokinesis.Receipt


async def fill(harness: Harness) -> tuple[Receipt, asyncio.Task[Receipt]]:
    """One record admitted, and a second put() waiting for its room."""
    first = await harness.producer.put(b"first", partition_key="a")
    second = asyncio.create_task(harness.producer.put(b"second", partition_key="b"))
    await settle()
    assert not second.done()  # the buffer is full
    return first, second


async def test_a_record_expiring_in_its_lane_wakes_a_waiting_put() -> None:
    # A shard paced to 1% of its limit (about 10 KiB a second): the first record spends most of
    # its byte budget, the second waits in its lane for more, and time jumps past its TTL.
    config = ProducerConfig(linger=0.01, record_ttl=1, max_buffered_records=2, rate_limit=0.01)
    harness = make_producer(config)
    async with running(harness):
        sent = await harness.producer.put(b"x" * 6000, partition_key="a")
        first = await harness.producer.put(b"y" * 6000, partition_key="b")
        second = asyncio.create_task(harness.producer.put(b"second", partition_key="c"))
        harness.time.advance(0.05)
        await settle()
        assert [[e["PartitionKey"] for e in call.entries] for call in harness.invoker.calls] == [["a"]]
        assert not second.done()  # the buffer is full: one record in flight, one paced in its lane
        harness.time.advance(10)
        await settle()
        assert second.done()  # the expiry alone made room: nothing more was sent
        assert [[e["PartitionKey"] for e in call.entries] for call in harness.invoker.calls] == [["a"]]
        error = first.exception()
        assert isinstance(error, aiokinesis.RecordFailedError)
        assert error.code == "Expired"
    assert sent.result().shard_id == "shardId-0"
    assert second.result().result().shard_id == "shardId-0"


async def test_a_record_whose_time_to_live_runs_out_while_retrying_wakes_a_waiting_put() -> None:
    harness = make_producer(
        ProducerConfig(linger=0.01, record_ttl=1, max_buffered_records=1, rate_limit=0, retry_base_delay=2)
    )
    async with running(harness):
        first, second = await fill(harness)
        harness.time.advance(0.05)
        await settle()
        harness.invoker.pending()[0].fail_entries("ProvisionedThroughputExceededException")  # retry in 2 s
        await settle()
        assert not second.done()  # a retried record keeps its room
        harness.time.advance(2)
        await settle()
        assert second.done()  # expired at the head of its lane before its retry
        assert isinstance(first.exception(), aiokinesis.RecordFailedError)


async def test_a_failed_record_wakes_a_waiting_put() -> None:
    harness = make_producer(ONE)
    async with running(harness):
        first, second = await fill(harness)
        harness.time.advance(0.05)
        await settle()
        harness.invoker.pending()[0].fail_entries("KMSAccessDeniedException")
        await settle()
        assert second.done()
        error = first.exception()
        assert isinstance(error, aiokinesis.RecordFailedError)
        assert (error.code, error.attempts) == ("KMSAccessDeniedException", 1)


async def test_a_request_that_fails_wakes_a_waiting_put() -> None:
    harness = make_producer(ONE)
    async with running(harness):
        first, second = await fill(harness)
        harness.time.advance(0.05)
        await settle()
        harness.invoker.pending()[0].raise_(aiokinesis.ProtocolError("garbled"))
        await settle()
        assert second.done()
        assert isinstance(first.exception(), aiokinesis.ProtocolError)


async def test_a_record_put_wakes_a_waiting_put() -> None:
    harness = make_producer(ONE)
    async with running(harness):
        first, second = await fill(harness)
        harness.time.advance(0.05)
        await settle()
        harness.invoker.pending()[0].land()
        await settle()
        assert second.done()
        assert first.result().sequence_number
    assert harness.producer.stats.records_put == 2


async def test_close_refuses_a_waiting_put() -> None:
    harness = make_producer(ONE)
    await harness.producer.__aenter__()
    first, second = await fill(harness)
    await close(harness)
    assert isinstance(second.exception(), aiokinesis.ProducerClosedError)
    assert first.result().sequence_number  # what was admitted was still sent


async def test_a_cancelled_close_wakes_a_waiting_put() -> None:
    harness = make_producer(ONE)
    await harness.producer.__aenter__()
    first, second = await fill(harness)
    harness.time.advance(0.05)
    await settle()
    assert harness.invoker.pending()  # the first record is in flight and never answered
    closing = asyncio.create_task(harness.producer.aclose())
    await settle()
    closing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await closing
    await settle()
    assert isinstance(second.exception(), aiokinesis.ProducerClosedError)
    assert isinstance(first.exception(), aiokinesis.ProducerClosedError)
    assert harness.producer.stats.buffered_records == 0


async def test_a_sending_task_that_dies_wakes_a_waiting_put() -> None:
    harness = make_producer(ONE)
    await harness.producer.__aenter__()
    first, second = await fill(harness)
    harness.time.advance(0.05)
    await settle()
    harness.invoker.pending()[0].raise_(RuntimeError("a bug in the sending task"))
    await settle()
    assert isinstance(second.exception(), aiokinesis.ProducerClosedError)
    assert isinstance(first.exception(), aiokinesis.ProducerClosedError)
    with pytest.raises(ExceptionGroup):
        await harness.producer.aclose()


async def test_a_sending_task_that_dies_leaves_nothing_counted_as_buffered() -> None:
    # Two requests in flight (one record each, max_batch_records=1) and one record in its lane:
    # one request's task dies of a bug, the other is cancelled with it, the lane is dropped.
    harness = make_producer(ProducerConfig(linger=0.01, max_batch_records=1, max_in_flight=2, rate_limit=0))
    await harness.producer.__aenter__()
    receipts = [await harness.producer.put(b"x" * n, partition_key=f"k{n}") for n in (10, 20, 30)]
    await settle()
    assert len(harness.invoker.pending()) == 2
    assert harness.producer.stats.buffered_records == 3
    harness.invoker.pending()[0].raise_(RuntimeError("a bug in the sending task"))
    await settle()
    for receipt in receipts:
        assert isinstance(receipt.exception(), aiokinesis.ProducerClosedError)
    stats = harness.producer.stats
    assert (stats.buffered_records, stats.buffered_bytes, stats.in_flight) == (0, 0, 0)
    assert stats.failed == 3
    with pytest.raises(ExceptionGroup):
        await harness.producer.aclose()


@pytest.mark.parametrize("when_full", ["wait", "raise"])
async def test_a_record_larger_than_the_whole_buffer_is_refused_at_once(when_full: str) -> None:
    config = ProducerConfig(max_buffered_bytes=100, when_full=when_full)  # type: ignore[arg-type]
    harness = make_producer(config)
    async with running(harness):
        fits = await harness.producer.put(b"x" * 99, partition_key="k")  # 100 bytes with its key
        putting = asyncio.create_task(harness.producer.put(b"x" * 100, partition_key="k"))
        await settle()
        assert putting.done()  # refused, not waiting for room that can never come
        error = putting.exception()
        assert isinstance(error, aiokinesis.ParamValidationError)
        assert error.field == "data"
        assert "ProducerConfig.max_buffered_bytes" in str(error)
        assert "100" in str(error)
    assert fits.result().sequence_number


async def test_an_unordered_record_retried_after_its_lane_emptied_is_sent_again() -> None:
    # Ordering off: two records of one key in flight at once, one request each. The first lands
    # and empties the key's lane, a third record of the key comes, the second is throttled: it
    # must go back where the sender looks (it went into a lane no longer listed, and never left).
    harness = make_producer(
        ProducerConfig(ordering=False, linger=0.01, max_batch_records=1, max_in_flight=2, rate_limit=0)
    )
    await harness.producer.__aenter__()
    first = await harness.producer.put(b"1", partition_key="k")
    second = await harness.producer.put(b"2", partition_key="k")
    await settle()
    one, two = harness.invoker.pending()
    one.land()
    await settle()
    third = await harness.producer.put(b"3", partition_key="k")
    await settle()
    two.fail_entries("ProvisionedThroughputExceededException")
    for _ in range(100):  # virtual time, bounded: well past the retry's backoff
        harness.time.advance(0.05)
        await settle()
        for call in harness.invoker.pending():
            call.land()
        if second.done() and third.done():
            break
    assert (first.result().attempts, second.result().attempts, third.result().attempts) == (1, 2, 1)
    await close(harness)


async def test_a_put_that_waited_for_the_streams_limits_while_the_producer_closed_is_refused() -> None:
    # A record above the known max record size has the limits read again; the producer closes
    # meanwhile, and the new limits allow the record: admitted now, nothing would ever send it.
    harness = make_producer(ProducerConfig(linger=0.01))
    await harness.producer.__aenter__()
    gate = asyncio.Event()
    describe = harness.kinesis.describe_stream_summary

    async def slow_describe(*, stream_name: str) -> aiokinesis.DescribeStreamSummaryOutput:
        await gate.wait()
        return await describe(stream_name=stream_name)

    harness.kinesis.describe_stream_summary = slow_describe  # type: ignore[method-assign]
    harness.time.advance(2)  # past the limits' refresh interval
    putting = asyncio.create_task(harness.producer.put(b"x" * (1024 * 1024), partition_key="k"))
    await settle()
    await harness.producer.aclose()
    harness.kinesis.max_record_kib = 2048
    gate.set()
    with pytest.raises(aiokinesis.ProducerClosedError):
        await putting
    assert harness.producer.stats.buffered_records == 0
