"""Aggregates across a reshard, on virtual time: an aggregate lands whole on the shard of its first
record's hash, so after a split its records of the sibling's half are put again (readers drop
them where they landed), in order per key, and every receipt says where its record really is."""

from __future__ import annotations

import base64

import aiokinesis
from aiokinesis import ProducerConfig
from aiokinesis._shardmap import hash_key_of
from aiokinesis.aggregation import deaggregate
from tests.producer_harness import TOP, Call, Harness, hash_of, make_producer, running, settle, shard

HALF = 2**127
LOW = [k for k in (f"key-{i}" for i in range(60)) if hash_key_of(k) < HALF][:4]
HIGH = [k for k in (f"key-{i}" for i in range(60)) if hash_key_of(k) >= HALF][:4]
AGGREGATE = ProducerConfig(linger=0.01, aggregate=True, rate_limit=0)
SPLIT = [shard("shardId-0", closed=True), shard("shardId-1", 0, HALF - 1), shard("shardId-2", HALF, TOP)]


def by_hash(entry: dict[str, str]) -> str:
    """Where Kinesis puts an entry after the split."""
    return "shardId-1" if hash_of(entry) < HALF else "shardId-2"


def users(call: Call) -> list[list[bytes]]:
    """The data of each entry's user records (a plain entry: itself)."""
    out = []
    for entry in call.entries:
        data = base64.b64decode(entry["Data"])
        inner = deaggregate(data)
        out.append([u.data for u in inner] if inner is not None else [data])
    return out


async def next_call(harness: Harness) -> Call:
    harness.time.advance(0.05)
    await settle()
    [call] = harness.invoker.pending()
    return call


async def test_the_siblings_records_of_a_misrouted_aggregate_are_put_again_in_order() -> None:
    harness = make_producer(AGGREGATE)
    async with running(harness) as producer:
        first = [
            await producer.put(b"low-a", partition_key=LOW[0]),  # the head: the aggregate lands by its hash
            await producer.put(b"high-a", partition_key=HIGH[0]),
            await producer.put(b"low-b", partition_key=LOW[1]),
            await producer.put(b"high-b", partition_key=HIGH[1]),
        ]
        harness.kinesis.shards = SPLIT  # split after the producer listed the shards
        call = await next_call(harness)
        assert users(call) == [[b"low-a", b"high-a", b"low-b", b"high-b"]]  # one aggregate for shardId-0
        later = await producer.put(b"high-c", partition_key=HIGH[0])  # put while it is in flight
        call.land(by_hash)
        await settle()
        low_a, high_a, low_b, high_b = first
        assert (low_a.result().shard_id, low_a.result().sub_sequence_number) == ("shardId-1", 0)
        assert (low_b.result().shard_id, low_b.result().sub_sequence_number) == ("shardId-1", 2)  # its place
        assert not high_a.done()
        assert not high_b.done()
        again = await next_call(harness)
        # The sibling's records, then the later record of a key among them: order per key kept.
        assert users(again) == [[b"high-a", b"high-b", b"high-c"]]
        again.land(by_hash)
        await settle()
        assert [(r.result().shard_id, r.result().sub_sequence_number) for r in (high_a, high_b, later)] == [
            ("shardId-2", 0),
            ("shardId-2", 1),
            ("shardId-2", 2),
        ]
        assert high_a.result().attempts == 2
        assert high_a.result().sequence_number != low_a.result().sequence_number
    assert producer.stats.records_put == 5
    assert producer.stats.failed == 0


async def test_after_the_reshard_records_go_by_the_new_map() -> None:
    harness = make_producer(AGGREGATE)
    async with running(harness) as producer:
        await producer.put(b"low-a", partition_key=LOW[0])
        await producer.put(b"high-a", partition_key=HIGH[0])
        harness.kinesis.shards = SPLIT
        (await next_call(harness)).land(by_hash)
        await settle()
        (await next_call(harness)).land(by_hash)  # high-a again
        await settle()
        receipts = [await producer.put(f"v{i}".encode(), partition_key=k) for i, k in enumerate(LOW + HIGH)]
        call = await next_call(harness)
        assert sorted(map(sorted, users(call))) == sorted(
            [sorted(f"v{i}".encode() for i in range(4)), sorted(f"v{i}".encode() for i in range(4, 8))]
        )  # one aggregate per child
        call.land(by_hash)
        await settle()
        assert all(r.result().sub_sequence_number is not None for r in receipts)
        assert harness.invoker.pending() == []  # nothing put twice
    assert producer.stats.records_put == 10


async def test_a_landed_shard_that_opened_and_closed_since_is_found_in_the_full_listing() -> None:
    harness = make_producer(AGGREGATE)
    async with running(harness) as producer:
        low = await producer.put(b"low-a", partition_key=LOW[0])
        high = await producer.put(b"high-a", partition_key=HIGH[0])
        # Split, then shardId-1 split again: it is closed by the time the producer lists.
        harness.kinesis.shards = [*SPLIT[:1], shard("shardId-1", 0, HALF - 1, closed=True), SPLIT[2]]
        harness.kinesis.shards += [shard("shardId-3", 0, HALF // 2), shard("shardId-4", HALF // 2 + 1, HALF - 1)]
        call = await next_call(harness)
        call.land(by_hash)
        await settle()
        assert low.result().shard_id == "shardId-1"  # its range was known from listing every shard
        (await next_call(harness)).land(by_hash)
        await settle()
        assert high.result().shard_id == "shardId-2"


async def test_without_the_landed_shards_range_every_record_it_may_not_hold_is_put_again() -> None:
    harness = make_producer(AGGREGATE)
    async with running(harness) as producer:
        head = await producer.put(b"head", partition_key=LOW[0])
        same_key = await producer.put(b"same-key", partition_key=LOW[0])
        other = await producer.put(b"other", partition_key=LOW[1])
        harness.kinesis.shards = SPLIT
        call = await next_call(harness)

        async def refuse(**request: object) -> aiokinesis.ListShardsOutput:
            raise aiokinesis.LimitExceededException("LimitExceededException", "slow down", status=400, request_id=None)

        harness.kinesis.list_shards = refuse  # type: ignore[method-assign]
        call.land(by_hash)
        await settle()
        assert head.result().sub_sequence_number == 0
        assert same_key.result().sub_sequence_number == 1  # its key's hash is the head's: it is there
        assert not other.done()  # perhaps there, perhaps dropped by readers: put again (at least once)
        (await next_call(harness)).land(by_hash)
        await settle()
        assert other.result().attempts == 2
