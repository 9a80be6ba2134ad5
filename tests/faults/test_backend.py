"""The test server's state logic, without HTTP: routing and resharding invariants."""

from __future__ import annotations

import gc
import random
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import aiokinesis.testing
from aiokinesis._shardmap import hash_key_of as hash_of
from aiokinesis.testing import ApiError, Backend, Limits
from aiokinesis.testing._state import HASH_SPACE
from tests.fakes import FakeTime

SHARD = "shardId-000000000000"


def test_routing_agrees_with_the_hash_ranges_through_reshards() -> None:
    backend = Backend(clock=FakeTime().clock)
    stream = backend.create_stream("s", 3)
    rng = random.Random(5)

    def check() -> None:
        open_shards = stream.open_shards()
        assert sum(s.end_hash - s.start_hash + 1 for s in open_shards) == HASH_SPACE  # no gaps, no overlaps
        for point in [0, HASH_SPACE - 1, *(rng.randrange(HASH_SPACE) for _ in range(300))]:
            [expected] = [s for s in open_shards if s.start_hash <= point <= s.end_hash]
            assert stream.open_shard_at(point) is expected

    check()
    first = stream.shard("shardId-000000000001")
    low, high = backend.split_shard(stream, first, (first.start_hash + first.end_hash) // 2)
    check()
    backend.merge_shards(stream, low, high)
    check()
    backend.UpdateShardCount({"StreamName": "s", "TargetShardCount": 5})
    check()
    assert all(not s.is_open for s in stream.shards[:-5])
    for child in stream.open_shards():
        assert child.parent is not None


def test_put_records_land_on_the_shard_of_their_key() -> None:
    backend = Backend(clock=FakeTime().clock)
    stream = backend.create_stream("s", 4)
    keys = [f"key-{i}" for i in range(200)]
    out = backend.PutRecords({"StreamName": "s", "Records": [{"Data": "eA==", "PartitionKey": k} for k in keys]})
    for key, result in zip(keys, out["Records"], strict=True):
        shard = stream.shard(result["ShardId"])
        assert shard.start_hash <= hash_of(key) <= shard.end_hash


def _held_by_the_server(snapshot: tracemalloc.Snapshot) -> int:
    """Bytes still allocated by aiokinesis.testing's code (what its state holds on to)."""
    server_code = tracemalloc.Filter(True, str(Path(aiokinesis.testing.__file__).parent / "*"))
    return sum(stat.size for stat in snapshot.filter_traces([server_code]).statistics("filename"))


def test_a_long_run_of_reads_and_listings_holds_flat_memory() -> None:
    fake_time = FakeTime()
    backend = Backend(clock=fake_time.clock)
    backend.create_stream("s", 3)
    backend.PutRecord({"StreamName": "s", "Data": "eA==", "PartitionKey": "k"})
    get = {"StreamName": "s", "ShardId": "shardId-000000000000", "ShardIteratorType": "TRIM_HORIZON"}

    def run(calls: int) -> None:
        iterator = backend.GetShardIterator(get)["ShardIterator"]
        for _ in range(calls):
            fake_time.advance(0.2)  # within the 5 reads/s of a shard
            iterator = backend.GetRecords({"ShardIterator": iterator})["NextShardIterator"]
            token = backend.ListShards({"StreamName": "s", "MaxResults": 1})["NextToken"]
            backend.ListShards({"NextToken": token, "MaxResults": 1})

    tracemalloc.start()
    try:
        run(100)  # warm-up: caches, interned names
        gc.collect()
        before = _held_by_the_server(tracemalloc.take_snapshot())
        run(5000)
        gc.collect()
        after = _held_by_the_server(tracemalloc.take_snapshot())
    finally:
        tracemalloc.stop()
    assert after - before < 5000  # under a byte a call: nothing is kept per iterator or NextToken


def test_subscribing_again_and_again_holds_flat_memory() -> None:
    fake_time = FakeTime()
    backend = Backend(clock=fake_time.clock)
    arn = backend.create_stream("s", 1).arn

    def run(rounds: int) -> None:
        for _ in range(rounds):
            consumer = backend.RegisterStreamConsumer({"StreamARN": arn, "ConsumerName": "c"})["Consumer"]
            start = {"Type": "LATEST"}
            backend.subscribe({"ConsumerARN": consumer["ConsumerARN"], "ShardId": SHARD, "StartingPosition": start})
            backend.DeregisterStreamConsumer({"ConsumerARN": consumer["ConsumerARN"]})
            fake_time.advance(6)  # past the 5 s between two subscriptions; a new consumer ARN each round

    tracemalloc.start()
    try:
        run(50)
        gc.collect()
        before = _held_by_the_server(tracemalloc.take_snapshot())
        run(2000)
        gc.collect()
        after = _held_by_the_server(tracemalloc.take_snapshot())
    finally:
        tracemalloc.stop()
    assert after - before < 2000  # under a byte a subscription: none is remembered past its 5 s


def _iterator(backend: Backend, stream: str = "s") -> str:
    request = {"StreamName": stream, "ShardId": SHARD, "ShardIteratorType": "TRIM_HORIZON"}
    iterator: str = backend.GetShardIterator(request)["ShardIterator"]
    return iterator


def _error_code(operation: Callable[[dict[str, Any]], object], request: dict[str, Any]) -> str:
    with pytest.raises(ApiError) as caught:
        operation(request)
    return caught.value.code


def test_forged_garbled_or_foreign_iterators_and_tokens_are_invalid() -> None:
    backend, other = Backend(clock=FakeTime().clock), Backend(clock=FakeTime().clock)
    for each in (backend, other):
        each.create_stream("s", 3)
    good = _iterator(backend)
    garbled = good[:10] + ("A" if good[10] != "A" else "B") + good[11:]
    for bad in (garbled, "x" * 100, "not base64!", "é", _iterator(other), good[:-4]):
        assert _error_code(backend.GetRecords, {"ShardIterator": bad}) == "InvalidArgumentException"
    assert backend.GetRecords({"ShardIterator": good})["Records"] == []

    token = backend.ListShards({"StreamName": "s", "MaxResults": 1})["NextToken"]
    foreign = other.ListShards({"StreamName": "s", "MaxResults": 1})["NextToken"]
    for bad in (foreign, good, token[:-4]):  # an iterator is no NextToken
        assert _error_code(backend.ListShards, {"NextToken": bad}) == "InvalidArgumentException"
    assert [s["ShardId"] for s in backend.ListShards({"NextToken": token})["Shards"]] == [
        "shardId-000000000001",
        "shardId-000000000002",
    ]


def test_iterators_of_the_longest_stream_name_fit_in_512_characters() -> None:
    backend = Backend(clock=FakeTime().clock, limits=Limits(enabled=False))
    name = "n" * 128
    backend.create_stream(name, 1)
    backend.PutRecords({"StreamName": name, "Records": [{"Data": "eA==", "PartitionKey": "k"}] * 500})
    iterators = [_iterator(backend, name)]
    for _ in range(2):  # positions 0, 250 and 500
        iterators.append(backend.GetRecords({"ShardIterator": iterators[-1], "Limit": 250})["NextShardIterator"])
    assert max(len(iterator) for iterator in iterators) <= 512


def test_the_expired_iterator_fault_expires_the_iterators_issued_so_far() -> None:
    fake_time = FakeTime()
    backend = Backend(clock=fake_time.clock)
    backend.create_stream("s", 1)
    first, second = _iterator(backend), _iterator(backend)
    assert backend.expire_iterators() == 2
    for old in (first, second):
        assert _error_code(backend.GetRecords, {"ShardIterator": old}) == "ExpiredIteratorException"
    fresh = _iterator(backend)
    follow = backend.GetRecords({"ShardIterator": fresh})["NextShardIterator"]
    fake_time.advance(299)
    assert backend.GetRecords({"ShardIterator": follow})["Records"] == []
    fake_time.advance(1)  # 300 s after it was issued
    assert _error_code(backend.GetRecords, {"ShardIterator": follow}) == "ExpiredIteratorException"
