"""The producer at the size limits of a large-record stream, on virtual time.

Records up to 10 MiB are valid on such a stream: each must be sendable, whatever the batch size
and the per-shard pacing say, and nothing the producer builds may exceed the stream's own limit.
"""

from __future__ import annotations

import base64

import pytest

import aiokinesis
from aiokinesis import ProducerConfig
from aiokinesis.aggregation import UserRecord, deaggregate
from tests.producer_harness import Call, Harness, make_producer, running, settle

MIB = 1024 * 1024
LARGE = 10 * 1024  # MaxRecordSizeInKiB of a stream taking 10 MiB records


def entry_bytes(entry: dict[str, str]) -> int:
    """An entry's size as AWS counts it: its data and its partition key."""
    return len(base64.b64decode(entry["Data"])) + len(entry["PartitionKey"].encode())


async def land_until_done(harness: Harness, receipts: list[aiokinesis.Receipt]) -> list[Call]:
    """Answer every request as it comes, time moving on, until every receipt resolves."""
    for _ in range(200):
        harness.time.advance(0.05)
        await settle()
        for call in harness.invoker.pending():
            call.land()
        await settle()
        if all(r.done() for r in receipts):
            break
    return harness.invoker.calls


@pytest.mark.parametrize("aggregate", [False, True])
async def test_a_record_larger_than_a_batch_goes_alone(aggregate: bool) -> None:
    config = ProducerConfig(linger=0.01, rate_limit=0, aggregate=aggregate, max_batch_bytes=5 * MIB)
    harness = make_producer(config, max_record_kib=LARGE)
    async with running(harness) as producer:
        receipts = [
            await producer.put(b"a" * 100, partition_key="a"),
            await producer.put(b"b" * (6 * MIB), partition_key="b"),  # above max_batch_bytes, within the stream's limit
            await producer.put(b"c" * 100, partition_key="c"),
        ]
        calls = await land_until_done(harness, receipts)
    assert [[e["PartitionKey"] for e in call.entries] for call in calls] == [["a"], ["b"], ["c"]]
    assert entry_bytes(calls[1].entries[0]) == 6 * MIB + 1
    for receipt in receipts:
        assert receipt.result().shard_id == "shardId-0"


async def test_a_record_larger_than_a_shards_byte_budget_goes_when_the_budget_is_full_then_holds_the_shard() -> None:
    # rate_limit 1: the shard's byte bucket holds 1 MiB, and a 2 MiB record can never fit in it.
    harness = make_producer(ProducerConfig(linger=0.01, rate_limit=1), max_record_kib=LARGE)
    async with running(harness) as producer:
        big = await producer.put(b"x" * (2 * MIB), partition_key="big")
        small = await producer.put(b"y" * 1000, partition_key="small")
        start = harness.time.now
        sent_at: list[float] = []
        for _ in range(60):  # three seconds
            harness.time.advance(0.05)
            await settle()
            for call in harness.invoker.pending():
                sent_at.append(harness.time.now - start)
                call.land()
            await settle()
        assert [[e["PartitionKey"] for e in call.entries] for call in harness.invoker.calls] == [["big"], ["small"]]
        # The big record spent its 2 MiB into a 1 MiB debt: at 1 MiB a second the shard is held
        # back about a second, then the small record goes.
        assert sent_at[0] <= 0.1
        assert 1.0 <= sent_at[1] - sent_at[0] <= 1.1
    assert big.result().shard_id == small.result().shard_id == "shardId-0"


def unpacked(calls: list[Call]) -> list[UserRecord]:
    """Every user record the requests carried, in the order sent."""
    records = []
    for call in calls:
        for entry in call.entries:
            data = base64.b64decode(entry["Data"])
            inner = deaggregate(data)
            records += inner if inner is not None else [UserRecord(entry["PartitionKey"], None, data)]
    return records


async def test_aggregates_stay_within_the_streams_max_record_size() -> None:
    # A default stream takes records of 1 MiB: an aggregation_max_bytes of 2 MiB must not build
    # aggregates above it (AWS would refuse the whole PutRecords).
    config = ProducerConfig(linger=0.01, rate_limit=0, aggregate=True, aggregation_max_bytes=2 * MIB)
    harness = make_producer(config)
    async with running(harness) as producer:
        receipts = [await producer.put(b"d" * 1000, partition_key=f"key-{i:05d}") for i in range(1200)]
        calls = await land_until_done(harness, receipts)
    sizes = [entry_bytes(e) for call in calls for e in call.entries]
    assert max(sizes) <= MIB
    assert max(sizes) > MIB - 2000  # filled up to the stream's limit, not below it
    assert [r.partition_key for r in unpacked(calls)] == [f"key-{i:05d}" for i in range(1200)]
    assert all(r.done() and r.exception() is None for r in receipts)


def mixed_record(i: int, hash_keys: bool) -> tuple[bytes, str, str | None]:
    """Data of 0 to 396 bytes (one- and two-byte lengths), keys of 1 to 60 characters (some
    multi-byte in UTF-8), and with hash_keys an explicit hash key on every other record."""
    key = f"{i}-" + "é" * (i % 29) if i % 3 else str(i)
    return b"d" * (i * 37 % 397), key, str(2**127 + i) if hash_keys and i % 2 else None


@pytest.mark.parametrize("hash_keys", [False, True])
async def test_an_aggregate_is_never_larger_than_aggregation_max_bytes(hash_keys: bool) -> None:
    # The protobuf framing of a record grows with its data's length, its index and its hash key:
    # a flat few bytes a record is not a bound, and the aggregate must still fit the limit.
    limit = 64 * 1024
    config = ProducerConfig(linger=0.01, rate_limit=0, aggregate=True, aggregation_max_bytes=limit)
    harness = make_producer(config)
    records = [mixed_record(i, hash_keys) for i in range(1500)]
    async with running(harness) as producer:
        receipts = [await producer.put(data, partition_key=key, explicit_hash_key=ehk) for data, key, ehk in records]
        calls = await land_until_done(harness, receipts)
    sizes = [entry_bytes(e) for call in calls for e in call.entries]
    assert max(sizes) <= limit
    assert max(sizes) > limit - 500  # filled close to it
    got = unpacked(calls)
    assert [(r.data, r.partition_key, r.explicit_hash_key) for r in got] == records
