"""read_shard against both servers: every record, per-key order, across a split."""

from __future__ import annotations

import pytest

import aiokinesis
from aiokinesis import PutRecordsRequestEntry as Entry
from aiokinesis import StartingPosition
from tests.conformance.reading import read_to_end_or
from tests.conftest import create_active_stream

pytestmark = pytest.mark.integration


async def test_every_record_in_order_across_a_split(kinesis: aiokinesis.Client, stream_name: str) -> None:
    await create_active_stream(kinesis, stream_name, shards=1)
    parent = "shardId-000000000000"
    before = [Entry(data=f"a{i}".encode(), partition_key=f"key-{i % 4}") for i in range(12)]
    await kinesis.put_records(stream_name=stream_name, records=before)
    await kinesis.split_shard(stream_name=stream_name, shard_to_split=parent, new_starting_hash_key=str(2**127))
    await kinesis.wait.stream_exists(stream_name=stream_name, delay=0.05, max_wait=30)
    after = [Entry(data=f"b{i}".encode(), partition_key=f"key-{i % 4}") for i in range(12)]
    out = await kinesis.put_records(stream_name=stream_name, records=after)
    per_child: dict[str, int] = {}
    for result in out.records:
        assert result.shard_id is not None
        per_child[result.shard_id] = per_child.get(result.shard_id, 0) + 1

    reader = kinesis.read_shard(stream_name, parent, start=StartingPosition.trim_horizon())
    read = await read_to_end_or(reader, -1)
    assert reader.ended
    assert reader.child_shards is not None
    children = sorted(c.shard_id for c in reader.child_shards)
    assert len(children) == 2
    for child in children:  # parents first, then children: per-key order holds
        read += await read_to_end_or(
            kinesis.read_shard(stream_name, child, start=StartingPosition.trim_horizon()), per_child.get(child, 0)
        )

    assert sorted(r.data for r in read) == sorted(e.data for e in before + after)
    for key in {e.partition_key for e in before}:
        mine = [r.data.decode() for r in read if r.partition_key == key]
        assert mine == [e.data.decode() for e in before + after if e.partition_key == key]
