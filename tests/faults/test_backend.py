"""The test server's state logic, without HTTP: routing and resharding invariants."""

from __future__ import annotations

import random

from aiokinesis._shardmap import hash_key_of as hash_of
from aiokinesis.testing import Backend
from aiokinesis.testing._backend import HASH_SPACE
from tests.fakes import FakeTime


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
