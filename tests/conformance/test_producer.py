"""The producer against both servers: every record read back where its receipt says it landed."""

from __future__ import annotations

import asyncio

import pytest

import aiokinesis
from tests.conformance.reading import READER
from tests.conftest import create_active_stream

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("aggregate", [False, True], ids=["plain", "aggregated"])
async def test_receipts_match_the_records_read_back(
    aggregate: bool, kinesis: aiokinesis.Client, stream_name: str
) -> None:
    await create_active_stream(kinesis, stream_name, shards=2)
    async with kinesis.producer(stream_name, linger=0.01, aggregate=aggregate) as producer:
        receipts = [await producer.put(f"v{i}".encode(), partition_key=f"key-{i % 9}") for i in range(200)]
    results = [receipt.result() for receipt in receipts]

    got: list[aiokinesis.ShardRecord] = []
    config = aiokinesis.ConsumerConfig(reader=READER)
    start = aiokinesis.StartingPosition.trim_horizon()
    async with kinesis.consumer(stream_name, start=start, config=config) as consumer, asyncio.timeout(60):
        async for batch in consumer:
            got += batch.records
            if len(got) >= 200:
                break
    read = {r.data: r for r in got}
    assert len(read) == 200
    for i, result in enumerate(results):
        record = read[f"v{i}".encode()]
        assert (record.shard_id, record.sequence_number) == (result.shard_id, result.sequence_number)
        assert record.sub_sequence_number == (result.sub_sequence_number or 0)
        assert record.aggregated == (result.sub_sequence_number is not None)
