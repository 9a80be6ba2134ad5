"""SubscribeToShard against both servers: events over HTTP/1.1 chunked, decoded and typed."""

from __future__ import annotations

import asyncio

import pytest

import aiokinesis
from tests.conftest import create_active_stream

pytestmark = pytest.mark.integration


async def test_subscribe_to_shard_delivers_records(kinesis: aiokinesis.Client, stream_name: str) -> None:
    arn = await create_active_stream(kinesis, stream_name)
    consumer = (await kinesis.register_stream_consumer(stream_arn=arn, consumer_name="efo")).consumer
    await kinesis.wait.consumer_active(consumer_arn=consumer.consumer_arn, delay=0.05, max_wait=30)
    sent = [
        (await kinesis.put_record(stream_name=stream_name, data=f"m{i}".encode(), partition_key="k")).sequence_number
        for i in range(5)
    ]

    out = await kinesis.subscribe_to_shard(
        consumer_arn=consumer.consumer_arn,
        shard_id="shardId-000000000000",
        starting_position=aiokinesis.StartingPosition(type=aiokinesis.ShardIteratorType.TRIM_HORIZON),
    )
    received: list[aiokinesis.Record] = []
    async with out.event_stream as events, asyncio.timeout(30):
        async for event in events:
            received += event.records
            assert event.millis_behind_latest >= 0
            if len(received) >= len(sent):
                assert event.continuation_sequence_number == sent[-1]
                break
    assert [r.data for r in received] == [f"m{i}".encode() for i in range(5)]
    assert [r.sequence_number for r in received] == sent


async def test_subscribing_an_unknown_consumer_raises(kinesis: aiokinesis.Client, stream_name: str) -> None:
    arn = await create_active_stream(kinesis, stream_name)
    with pytest.raises(aiokinesis.ResourceNotFoundException):  # noqa: PT012 - the error may come with the answer or as its first event
        out = await kinesis.subscribe_to_shard(
            consumer_arn=f"{arn}/consumer/ghost:1",
            shard_id="shardId-000000000000",
            starting_position=aiokinesis.StartingPosition(type="LATEST"),
        )
        async with out.event_stream as events, asyncio.timeout(30):
            await anext(events)
