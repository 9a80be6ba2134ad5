"""The consumer against both servers: 4 shards, a split and a merge while consuming."""

from __future__ import annotations

import asyncio

import pytest

import aiokinesis
from aiokinesis import PutRecordsRequestEntry as Entry
from aiokinesis import StartingPosition
from tests.conformance.reading import READER
from tests.conftest import create_active_stream

pytestmark = pytest.mark.integration
CONFIG = aiokinesis.ConsumerConfig(reader=READER, list_shards_interval=0.2)


async def consume_until(consumer: aiokinesis.StreamConsumer, got: list[aiokinesis.ShardRecord], count: int) -> None:
    async with asyncio.timeout(60):
        async for batch in consumer:
            got += batch.records
            await batch.checkpoint()
            if len(got) >= count:
                return


async def test_split_and_merge_while_consuming(kinesis: aiokinesis.Client, stream_name: str) -> None:
    await create_active_stream(kinesis, stream_name, shards=4)

    async def put(first: int, last: int) -> None:
        entries = [Entry(data=f"v{i}".encode(), partition_key=f"key-{i % 6}") for i in range(first, last)]
        out = await kinesis.put_records(stream_name=stream_name, records=entries)
        assert out.failed_record_count == 0

    await put(0, 60)
    got: list[aiokinesis.ShardRecord] = []
    async with kinesis.consumer(stream_name, start=StartingPosition.trim_horizon(), config=CONFIG) as consumer:
        await consume_until(consumer, got, 30)
        shards = {s.shard_id: s async for s in kinesis.paginate.list_shards(stream_name=stream_name)}
        first = shards["shardId-000000000000"]
        middle = (int(first.hash_key_range.starting_hash_key) + int(first.hash_key_range.ending_hash_key)) // 2
        await kinesis.split_shard(
            stream_name=stream_name, shard_to_split=first.shard_id, new_starting_hash_key=str(middle)
        )
        await kinesis.wait.stream_exists(stream_name=stream_name, delay=0.05, max_wait=30)
        await kinesis.merge_shards(
            stream_name=stream_name,
            shard_to_merge="shardId-000000000002",
            adjacent_shard_to_merge="shardId-000000000003",
        )
        await kinesis.wait.stream_exists(stream_name=stream_name, delay=0.05, max_wait=30)
        await put(60, 120)
        await consume_until(consumer, got, 120)

    assert sorted(int(r.data[1:]) for r in got) == list(range(120))  # every record, once
    for key in {r.partition_key for r in got}:
        values = [int(r.data[1:]) for r in got if r.partition_key == key]
        assert values == sorted(values), key  # per-key order across parents and children
