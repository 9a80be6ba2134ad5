"""Enhanced fan-out over HTTP/2 (h2c) against kinesis-mock: many subscriptions, one connection."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

import aiokinesis
from aiokinesis._http2 import Http2Stream
from tests.conftest import LOCAL_KEYS, create_active_stream

pytestmark = pytest.mark.integration

SHARDS = 20


@pytest.mark.parametrize(("cap", "connections"), [(100, 1), (8, 3)])
async def test_twenty_subscriptions_share_the_connections_they_need(
    kinesis_mock_url: str, stream_name: str, cap: int, connections: int
) -> None:
    http = aiokinesis.HttpConfig(max_streams_per_connection=cap)
    async with aiokinesis.Client(endpoint_url=kinesis_mock_url, http=http, **LOCAL_KEYS) as kinesis:
        arn = await create_active_stream(kinesis, stream_name, shards=SHARDS)
        consumer = (await kinesis.register_stream_consumer(stream_arn=arn, consumer_name="efo")).consumer
        await kinesis.wait.consumer_active(consumer_arn=consumer.consumer_arn, delay=0.05, max_wait=30)
        sent = {f"r{i}".encode() for i in range(10)}
        for data in sorted(sent):
            await kinesis.put_record(stream_name=stream_name, data=data, partition_key=data.decode())

        async with contextlib.AsyncExitStack() as stack:
            streams = []
            for shard in range(SHARDS):
                out = await kinesis.subscribe_to_shard(
                    consumer_arn=consumer.consumer_arn,
                    shard_id=f"shardId-{shard:012d}",
                    starting_position=aiokinesis.StartingPosition(type=aiokinesis.ShardIteratorType.TRIM_HORIZON),
                )
                streams.append(await stack.enter_async_context(out.event_stream))
            assert all(isinstance(s._stream, Http2Stream) for s in streams)
            pool = kinesis._session.http2
            assert pool is not None
            assert pool.opened == connections
            assert len(pool.connections()) == connections

            received: set[bytes] = set()
            async with asyncio.timeout(60):  # a guard against a hang, not a measure
                for _ in range(30):  # kinesis-mock sends an event a second on each subscription
                    for events in await asyncio.gather(*(anext(s) for s in streams)):
                        received |= {r.data for r in events.records}
                    if received >= sent:
                        break
            assert received == sent
        assert all(s._stream.closed for s in streams)
