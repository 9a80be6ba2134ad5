"""The producer against aiokinesis.testing: one receipt per record, order per key, through faults."""

from __future__ import annotations

import asyncio
import time

import pytest

import aiokinesis
from aiokinesis import ProducerConfig
from aiokinesis._shardmap import hash_key_of
from aiokinesis.testing import Fault, FaultKind, KinesisServer, Limits
from tests.fakes import VirtualTime
from tests.faults.local_kinesis import ONE_ATTEMPT, flush_on, local_kinesis

FAST = ProducerConfig(linger=0.005, retry_base_delay=0.002, retry_max_delay=0.02)


def stored(server: KinesisServer, stream: str = "s") -> list[tuple[str, str, bytes, str | None]]:
    """(shard, sequence, data, key) of every record the server holds, in shard order."""
    return [
        (shard.shard_id, str(r.sequence), r.data, r.partition_key)
        for shard in server.backend.streams[stream].shards
        for r in shard.records
    ]


def assert_key_order(records: list[tuple[str, str, bytes, str | None]]) -> None:
    """Values 'v<n>' went in increasing per key; each key's stored values never go back (repeats allowed)."""
    by_key: dict[str | None, list[int]] = {}
    for _, _, data, key in sorted(records, key=lambda r: int(r[1])):
        by_key.setdefault(key, []).append(int(data.decode()[1:]))
    for key, values in by_key.items():
        assert values == sorted(values), key


async def put_all(producer: aiokinesis.Producer, count: int, keys: int = 20) -> list[aiokinesis.Receipt]:
    return [await producer.put(f"v{i}".encode(), partition_key=f"key-{i % keys}") for i in range(count)]


async def test_every_record_lands_once_with_a_receipt_that_says_where(
    server: KinesisServer, kinesis: aiokinesis.Client
) -> None:
    async with kinesis.producer("s", config=FAST) as producer:
        receipts = await put_all(producer, 2000, keys=500)
    results = [receipt.result() for receipt in receipts]  # all resolved when the block ends
    held = {data: (shard, seq) for shard, seq, data, _ in stored(server)}
    assert len(held) == 2000
    for i, result in enumerate(results):
        assert held[f"v{i}".encode()] == (result.shard_id, result.sequence_number)
        assert result.attempts == 1
        assert result.sub_sequence_number is None
    assert producer.stats.records_put == 2000
    assert producer.stats.requests < 200  # batched, not one call a record
    assert_key_order(stored(server))


async def test_linger_holds_a_partial_batch_and_flush_sends_it(kinesis: aiokinesis.Client) -> None:
    async with kinesis.producer("s", linger=20) as producer:
        receipts = await put_all(producer, 3)
        await asyncio.sleep(0.05)
        assert producer.stats.requests == 0  # lingering
        await producer.flush()
        assert producer.stats.requests == 1
        assert all(r.done() for r in receipts)


async def test_a_full_batch_goes_at_once_and_the_rest_waits_for_linger(kinesis: aiokinesis.Client) -> None:
    async with kinesis.producer("s", linger=20) as producer:
        receipts = []
        for i in range(500):  # a caller that yields between puts, while the sender sleeps its linger
            receipts.append(await producer.put(f"v{i}".encode(), partition_key=f"key-{i}"))
            await asyncio.sleep(0)
        for _ in range(5):  # the sender's wait_for needs a few loop turns to return; no wall time passes
            await asyncio.sleep(0)
        # Sent on the 500th put, not at the sender's next 50 ms poll nor after the 20 s linger.
        assert producer.stats.in_flight + producer.stats.requests == 1
        receipts += await put_all(producer, 10, keys=10)
        async with asyncio.timeout(5):
            await asyncio.wait(receipts[:500])  # type: ignore[type-var]  # typeshed wants Futures; receipts work
        assert producer.stats.requests == 1
        assert not any(r.done() for r in receipts[500:])  # the partial rest lingers
        await producer.flush()
        assert all(r.done() for r in receipts)


async def test_partial_failures_5xx_and_resets_every_record_one_receipt_order_kept(
    server: KinesisServer, kinesis: aiokinesis.Client
) -> None:
    server.inject(Fault(kind=FaultKind.PARTIAL_FAILURE, operation="PutRecords", share=0.15, times=None))
    server.inject(Fault(kind=FaultKind.INTERNAL_FAILURE, operation="PutRecords", probability=0.1, times=None))
    server.inject(Fault(kind=FaultKind.RESET_BEFORE_RESPONSE, operation="PutRecords", probability=0.05, times=None))
    async with kinesis.producer("s", config=FAST) as producer:
        receipts = await put_all(producer, 1500, keys=300)
    results = [r.result() for r in receipts]  # every receipt succeeded in the end
    held = stored(server)
    by_data: dict[bytes, set[tuple[str, str]]] = {}
    for shard, seq, data, _ in held:
        by_data.setdefault(data, set()).add((shard, seq))
    for i, result in enumerate(results):
        assert (result.shard_id, result.sequence_number) in by_data[f"v{i}".encode()]
    assert set(by_data) == {f"v{i}".encode() for i in range(1500)}
    assert producer.stats.retries > 0
    assert_key_order(held)  # a reset after processing may repeat a record, never reorder a key


async def test_a_non_retryable_entry_error_fails_that_receipt_alone(
    server: KinesisServer, kinesis: aiokinesis.Client
) -> None:
    server.inject(
        Fault(kind=FaultKind.PARTIAL_FAILURE, operation="PutRecords", share=0.2, error_code="KMSAccessDeniedException")
    )
    async with kinesis.producer("s", config=FAST) as producer:
        receipts = await put_all(producer, 100, keys=100)
    failed = [r for r in receipts if r.exception() is not None]
    assert 0 < len(failed) < 100
    for receipt in failed:
        error = receipt.exception()
        assert isinstance(error, aiokinesis.RecordFailedError)
        assert error.code == "KMSAccessDeniedException"
    assert len(stored(server)) == 100 - len(failed)


async def test_records_that_cannot_land_in_their_time_to_live_fail(
    server: KinesisServer, kinesis: aiokinesis.Client
) -> None:
    server.inject(Fault(kind=FaultKind.THROTTLE, operation="PutRecords", times=None))
    config = ProducerConfig(linger=0.001, record_ttl=0.2, retry_base_delay=0.01, retry_max_delay=0.05)
    async with kinesis.producer("s", config=config) as producer:
        receipts = await put_all(producer, 10)
    for receipt in receipts:
        error = receipt.exception()
        assert isinstance(error, aiokinesis.RecordFailedError)
        assert error.attempts > 1
    assert producer.stats.throttles > 0
    assert producer.stats.buffered_records == 0


async def test_a_request_level_error_that_retrying_cannot_mend_fails_its_records(
    server: KinesisServer, kinesis: aiokinesis.Client
) -> None:
    async with kinesis.producer("s", config=FAST) as producer:
        del server.backend.streams["s"]  # the stream vanishes under the producer
        receipts = await put_all(producer, 5)
    for receipt in receipts:
        assert isinstance(receipt.exception(), aiokinesis.ResourceNotFoundException)


async def test_bad_records_are_refused_alone_before_admission(
    server: KinesisServer, kinesis: aiokinesis.Client
) -> None:
    async with kinesis.producer("s", config=FAST) as producer:
        good = await producer.put(b"ok", partition_key="k")
        with pytest.raises(aiokinesis.ParamValidationError, match="maximum record size of 1048576"):
            await producer.put(b"x" * (1024 * 1024), partition_key="k")
        with pytest.raises(aiokinesis.ParamValidationError, match="partition_key"):
            await producer.put(b"x", partition_key="k" * 257)
        with pytest.raises(aiokinesis.ParamValidationError, match="explicit_hash_key"):
            await producer.put(b"x", partition_key="k", explicit_hash_key=str(2**128))
        with pytest.raises(aiokinesis.ParamValidationError, match="data"):
            await producer.put("text", partition_key="k")  # type: ignore[arg-type]
    assert (await good).shard_id
    assert [data for _, _, data, _ in stored(server)] == [b"ok"]


async def test_a_full_buffer_waits_or_raises(server: KinesisServer, kinesis: aiokinesis.Client) -> None:
    server.inject(Fault(kind=FaultKind.SLOW, operation="PutRecords", delay=0.3))
    config = ProducerConfig(linger=0.001, max_buffered_records=5, when_full="raise")
    async with kinesis.producer("s", config=config) as producer:
        await put_all(producer, 5)
        with pytest.raises(aiokinesis.BufferFullError):
            await producer.put(b"sixth", partition_key="k")
    waiting = ProducerConfig(linger=0.001, max_buffered_records=5)
    server.inject(Fault(kind=FaultKind.SLOW, operation="PutRecords", delay=0.2))
    async with kinesis.producer("s", config=waiting) as producer:
        await put_all(producer, 5)
        started = time.monotonic()
        sixth = await producer.put(b"v6", partition_key="key-6")  # waits for room
        assert time.monotonic() - started >= 0.1
    assert (await sixth).sequence_number


async def test_put_after_close_and_a_cancelled_close(server: KinesisServer, kinesis: aiokinesis.Client) -> None:
    producer = kinesis.producer("s", config=FAST)
    async with producer:
        pass
    with pytest.raises(aiokinesis.ProducerClosedError):
        await producer.put(b"late", partition_key="k")

    server.inject(Fault(kind=FaultKind.SLOW, operation="PutRecords", delay=1.0, times=None))
    producer = kinesis.producer("s", config=ProducerConfig(linger=0.001, max_in_flight=1))
    await producer.__aenter__()
    receipts = await put_all(producer, 3, keys=1)
    closing = asyncio.create_task(producer.aclose())
    await asyncio.sleep(0.05)
    closing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await closing
    for receipt in receipts:  # nothing vanished: each receipt says what happened
        assert isinstance(receipt.exception(), aiokinesis.ProducerClosedError)


async def test_a_producer_opens_once(server: KinesisServer, kinesis: aiokinesis.Client) -> None:
    """Two opens at once each started a sender, the first left running with nobody to close it."""

    def senders() -> int:
        return sum(1 for t in asyncio.all_tasks() if t.get_name().startswith("aiokinesis-producer-"))

    producer = kinesis.producer("s", config=FAST)
    opened = await asyncio.gather(producer.__aenter__(), producer.__aenter__(), return_exceptions=True)
    assert opened[0] is producer
    assert isinstance(opened[1], RuntimeError)
    assert "opened or closed before" in str(opened[1])
    assert senders() == 1
    await producer.aclose()
    assert senders() == 0
    with pytest.raises(RuntimeError, match="opened or closed before"):
        await producer.__aenter__()


async def test_the_producer_paces_a_hot_shard() -> None:
    # Virtual time on both sides of the wire: the test moves it only while no PutRecords is in
    # flight, so the server stamps each request with the instant the producer spent its tokens.
    # On the wall clock a busy machine delayed requests past their second and the server saw
    # them bunched (1 run in 8 failed); here the outcome does not depend on scheduling.
    virtual = VirtualTime()
    async with local_kinesis(streams={"hot": 1}, virtual=virtual, retry=ONE_ATTEMPT) as (local, client):  # AWS's limits
        started = virtual.now
        config = ProducerConfig(linger=0.01, rate_limit=1.0, ordering=False)
        async with client.producer("hot", config=config) as producer:
            receipts = [await producer.put(b"x" * 10, partition_key=str(i)) for i in range(1500)]
            await flush_on(virtual, producer, steps=2000)  # 20 virtual seconds at most
        elapsed = virtual.now - started
    assert all(r.exception() is None for r in receipts)
    assert producer.stats.throttles == 0  # paced at the limit itself: never bounced off it
    assert 0.49 <= elapsed <= 0.75  # 1000 at once, the other 500 at 1000 a second
    assert len(local.backend.streams["hot"].shards[0].records) == 1500


async def test_a_shard_held_at_its_rate_gets_a_linger_s_worth_of_records_a_request() -> None:
    # A shard at its rate with records waiting: the producer took again every millisecond, a few
    # records a request (12 a request, 56-97 us of CPU a record on bench/stub_server.py), where a
    # linger's worth of the shard's rate can go in one.
    virtual = VirtualTime()
    async with local_kinesis(streams={"hot": 1}, virtual=virtual) as (_, client):
        started = virtual.now
        config = ProducerConfig(linger=0.05, rate_limit=1.0)
        async with client.producer("hot", config=config) as producer:
            receipts = [await producer.put(b"x" * 10, partition_key=str(i % 1000)) for i in range(4000)]
            await flush_on(virtual, producer, step=0.002, steps=5000)  # 10 virtual seconds, steps finer than a linger
        elapsed = virtual.now - started
    assert all(r.exception() is None for r in receipts)
    assert producer.stats.throttles == 0
    assert 2.95 <= elapsed <= 3.2  # 1000 at once, the other 3000 at the shard's 1000 a second
    # Two requests of 500 from the full bucket, then about one per linger (50 records each).
    assert producer.stats.requests <= 2 + 3000 / 50 + 5, producer.stats.requests


async def test_without_pacing_throttling_is_retried_until_everything_lands() -> None:
    async with local_kinesis(streams={"hot": 1}, retry=ONE_ATTEMPT) as (_, client):
        config = ProducerConfig(linger=0.01, rate_limit=0, ordering=False, retry_base_delay=0.05, retry_max_delay=0.3)
        async with client.producer("hot", config=config) as producer:
            receipts = [await producer.put(b"x" * 10, partition_key=str(i)) for i in range(1500)]
        assert all(r.exception() is None for r in receipts)
        assert producer.stats.throttles > 0


async def test_a_reshard_during_production(server: KinesisServer, kinesis: aiokinesis.Client) -> None:
    async with kinesis.producer("s", config=FAST) as producer:
        first = await put_all(producer, 400, keys=100)
        await producer.flush()
        stream = server.backend.streams["s"]
        shard = stream.shard("shardId-000000000000")
        server.backend.split_shard(stream, shard, (shard.start_hash + shard.end_hash) // 2)
        second = [await producer.put(f"v{i}".encode(), partition_key=f"key-{i % 100}") for i in range(400, 800)]
        await producer.flush()
        second += await put_all(producer, 0)
    results = [r.result() for r in first + second]
    assert {r.shard_id for r in results[400:]} & {"shardId-000000000004", "shardId-000000000005"}
    assert len({data for _, _, data, _ in stored(server)}) == 800
    assert "shardId-000000000004" in producer._sender.shard_ids  # the map followed the reshard
    assert_key_order(stored(server))


async def test_aggregated_records_round_trip_through_the_consumer(
    server: KinesisServer, kinesis: aiokinesis.Client
) -> None:
    async with kinesis.producer("s", config=FAST, aggregate=True) as producer:
        receipts = await put_all(producer, 3000, keys=40)
    results = [r.result() for r in receipts]
    assert len(stored(server)) < 100  # packed into aggregates
    assert {r.sub_sequence_number is not None for r in results} == {True}
    config = aiokinesis.ConsumerConfig(reader=aiokinesis.ReaderConfig(min_interval=0, idle_interval=0.01))
    got: list[aiokinesis.ShardRecord] = []
    async with kinesis.consumer("s", start=aiokinesis.StartingPosition.trim_horizon(), config=config) as consumer:
        async with asyncio.timeout(20):
            async for batch in consumer:
                got += batch.records
                if len(got) >= 3000:
                    break
    assert sorted(r.data for r in got) == sorted(f"v{i}".encode() for i in range(3000))
    by_value = {r.data: r for r in got}
    for i, result in enumerate(results):
        record = by_value[f"v{i}".encode()]
        assert (record.sequence_number, record.sub_sequence_number) == (
            result.sequence_number,
            result.sub_sequence_number,
        )
    for key in {r.partition_key for r in got}:
        values = [int(r.data[1:]) for r in got if r.partition_key == key]
        assert values == sorted(values), key


async def test_if_the_sending_task_dies_no_receipt_waits_forever(
    server: KinesisServer, kinesis: aiokinesis.Client
) -> None:
    server.inject(Fault(kind=FaultKind.SLOW, operation="PutRecords", delay=0.5))
    producer = kinesis.producer("s", config=ProducerConfig(linger=0.001))
    await producer.__aenter__()
    receipts = await put_all(producer, 3)
    assert producer._supervisor is not None
    producer._supervisor.cancel()  # no public way kills it: this stands for a bug in the sending task
    with pytest.raises(asyncio.CancelledError):
        await producer.aclose()
    for receipt in receipts:
        assert isinstance(receipt.exception(), aiokinesis.ProducerClosedError)
    with pytest.raises(aiokinesis.ProducerClosedError):
        await producer.put(b"after", partition_key="k")


def test_producer_config_is_checked() -> None:
    with pytest.raises(ValueError, match="max_batch_records"):
        ProducerConfig(max_batch_records=501)
    with pytest.raises(ValueError, match="when_full"):
        ProducerConfig(when_full="drop")  # type: ignore[arg-type]


async def test_aggregates_keep_every_key_in_order_across_a_split() -> None:
    """One shard, keys in both halves, split mid-production: the consumer reads each key from
    the child that owns it, in order, every record exactly once (the KPL and KCL together)."""
    keys = [f"key-{i}" for i in range(40)]
    assert {hash_key_of(k) < 2**127 for k in keys} == {True, False}  # both halves
    # Small aggregates: many of them in each PutRecords, some in flight when the split comes.
    config = ProducerConfig(linger=0.002, aggregate=True, aggregation_max_bytes=400, max_batch_records=20)
    async with local_kinesis(streams={"one": 1}, limits=Limits(enabled=False), retry=ONE_ATTEMPT) as (local, client):
        stream = local.backend.streams["one"]
        async with client.producer("one", config=config) as producer:
            receipts = []
            for i in range(1200):
                receipts.append(await producer.put(f"v{i}".encode(), partition_key=keys[i % 40]))
                if i % 20 == 0:
                    await asyncio.sleep(0.001)  # let the producer send while the test produces
                if i == 400:
                    low, high = local.backend.split_shard(stream, stream.shard("shardId-000000000000"), 2**127)
        results = [r.result() for r in receipts]
        assert producer.stats.failed == 0
        reader = aiokinesis.ReaderConfig(min_interval=0, idle_interval=0.01)
        start = aiokinesis.StartingPosition.trim_horizon()
        got: list[aiokinesis.ShardRecord] = []
        consumer_config = aiokinesis.ConsumerConfig(reader=reader, list_shards_interval=0.05)
        async with client.consumer("one", start=start, config=consumer_config) as consumer:
            async with asyncio.timeout(30):
                async for batch in consumer:
                    got += batch.records
                    if len(got) >= 1200:
                        break
    assert sorted(r.data for r in got) == sorted(f"v{i}".encode() for i in range(1200))  # each once
    owner = {low.shard_id: (low.start_hash, low.end_hash), high.shard_id: (high.start_hash, high.end_hash)}
    for record in got:
        if record.shard_id in owner:  # read from a child: the child that owns its key
            start_hash, end_hash = owner[record.shard_id]
            assert record.partition_key is not None
            assert start_hash <= hash_key_of(record.partition_key) <= end_hash, record
    for key in keys:
        values = [int(r.data[1:]) for r in got if r.partition_key == key]
        assert values == sorted(values), key
    where = {r.data: (r.shard_id, r.sequence_number, r.sub_sequence_number) for r in got}
    for i, result in enumerate(results):  # each receipt says where the consumer found its record
        assert where[f"v{i}".encode()] == (result.shard_id, result.sequence_number, result.sub_sequence_number or 0)
    assert {r.shard_id for r in results[400:]} == {low.shard_id, high.shard_id}


async def test_records_for_unpaced_shards_go_while_another_shard_is_held_at_its_rate() -> None:
    # Shard 0 has 1,500 small records (500 of them held at its rate), shards 1-3 twelve of 200 KB,
    # five to a request of max_batch_bytes 1 MiB. A take that filled its request left the rest
    # "a linger of its own" (pending_since reset to now), though they had waited their linger:
    # the large records landed one request a linger, 2-3 lingers (0.15 s) instead of at once.
    virtual = VirtualTime()
    async with local_kinesis(streams={"s": 4}, virtual=virtual) as (local, client):
        shards = local.backend.streams["s"].shards
        config = ProducerConfig(linger=0.05, rate_limit=1.0, max_batch_bytes=1024 * 1024)
        async with client.producer("s", config=config) as producer:
            small = [
                await producer.put(b"x" * 10, f"k{i}", explicit_hash_key=str(shards[0].start_hash + i))
                for i in range(1500)
            ]
            for _ in range(1000):  # until the bucket's 1,000 have landed and the rest is held at the rate
                if producer.stats.records_put >= 1000 and not producer.stats.in_flight:
                    break
                await asyncio.sleep(0.001)
            virtual.advance(0.005)
            await asyncio.sleep(0.01)
            started = virtual.now
            large = [
                await producer.put(b"y" * 200_000, f"big{i}", explicit_hash_key=str(shards[1 + i % 3].start_hash + i))
                for i in range(12)
            ]
            landed = None
            for _ in range(2000):  # 4 virtual seconds at most, in steps finer than a linger
                if landed is None and all(r.done() for r in large):
                    landed = virtual.now - started
                if all(r.done() for r in small + large):
                    break
                if producer.stats.in_flight == 0:
                    virtual.advance(0.002)
                await asyncio.sleep(0.001)
    assert all(r.exception() is None for r in small + large)
    assert producer.stats.throttles == 0
    assert {r.result().shard_id for r in large} == {s.shard_id for s in shards[1:]}
    assert landed is not None
    assert landed <= 0.05 + 0.01, landed  # one linger, the three requests one after another
