"""SubscribeToShard on aiokinesis.testing: 5-minute subscriptions, re-subscribing, shard end."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

import aiokinesis
from aiokinesis.testing import KinesisServer
from tests.conftest import LOCAL_KEYS as KEYS
from tests.fakes import FakeTime

SHARD = "shardId-000000000000"


@pytest.fixture
async def setup(fake_time: FakeTime) -> AsyncIterator[tuple[KinesisServer, aiokinesis.Client, str]]:
    async with (
        KinesisServer(streams={"s": 1}, clock=fake_time.clock) as server,
        aiokinesis.Client(
            endpoint_url=server.endpoint_url, clock=fake_time.clock, sleep=fake_time.sleep, **KEYS
        ) as kinesis,
    ):
        arn = server.backend.streams["s"].arn
        consumer = (await kinesis.register_stream_consumer(stream_arn=arn, consumer_name="efo")).consumer
        yield server, kinesis, consumer.consumer_arn


def position(kind: str, sequence: str | None = None) -> aiokinesis.StartingPosition:
    return aiokinesis.StartingPosition(type=kind, sequence_number=sequence)


async def test_a_second_subscription_within_5_s_is_refused(
    setup: tuple[KinesisServer, aiokinesis.Client, str], fake_time: FakeTime
) -> None:
    _, kinesis, consumer = setup
    first = await kinesis.subscribe_to_shard(
        consumer_arn=consumer, shard_id=SHARD, starting_position=position("LATEST")
    )
    async with first.event_stream:
        fake_time.advance(4)
        with pytest.raises(aiokinesis.ResourceInUseException):
            await kinesis.subscribe_to_shard(
                consumer_arn=consumer, shard_id=SHARD, starting_position=position("LATEST")
            )
    fake_time.advance(1)
    again = await kinesis.subscribe_to_shard(
        consumer_arn=consumer, shard_id=SHARD, starting_position=position("LATEST")
    )
    async with again.event_stream:
        pass


async def test_subscriptions_end_after_5_minutes_and_resume_from_the_continuation(
    setup: tuple[KinesisServer, aiokinesis.Client, str], fake_time: FakeTime
) -> None:
    _, kinesis, consumer = setup
    for i in range(3):
        await kinesis.put_record(stream_name="s", data=f"a{i}".encode(), partition_key="k")
    received: list[bytes] = []
    continuation = None
    out = await kinesis.subscribe_to_shard(
        consumer_arn=consumer, shard_id=SHARD, starting_position=position("TRIM_HORIZON")
    )
    async with out.event_stream as events, asyncio.timeout(10):
        async for event in events:
            received += [r.data for r in event.records]
            continuation = event.continuation_sequence_number
            if len(received) == 3:
                fake_time.advance(301)  # the subscription's five minutes are up
        # iteration ended by itself: Kinesis closed the subscription
    assert received == [b"a0", b"a1", b"a2"]
    for i in range(2):
        await kinesis.put_record(stream_name="s", data=f"b{i}".encode(), partition_key="k")
    out = await kinesis.subscribe_to_shard(
        consumer_arn=consumer, shard_id=SHARD, starting_position=position("AFTER_SEQUENCE_NUMBER", continuation)
    )
    async with out.event_stream as events, asyncio.timeout(10):
        async for event in events:
            received += [r.data for r in event.records]
            if len(received) == 5:
                break
    assert received == [b"a0", b"a1", b"a2", b"b0", b"b1"]  # nothing lost, nothing repeated


async def test_a_subscription_ends_at_the_shard_end_with_child_shards(
    setup: tuple[KinesisServer, aiokinesis.Client, str],
) -> None:
    server, kinesis, consumer = setup
    await kinesis.put_record(stream_name="s", data=b"last", partition_key="k")
    stream = server.backend.streams["s"]
    children = server.backend.split_shard(stream, stream.shard(SHARD), 2**127)
    out = await kinesis.subscribe_to_shard(
        consumer_arn=consumer, shard_id=SHARD, starting_position=position("TRIM_HORIZON")
    )
    events = []
    async with out.event_stream as stream_events, asyncio.timeout(10):
        events = [event async for event in stream_events]
    assert [r.data for e in events for r in e.records] == [b"last"]
    assert events[-1].child_shards is not None
    assert sorted(c.shard_id for c in events[-1].child_shards) == sorted(c.shard_id for c in children)


async def test_unknown_consumers_and_shards_are_refused(setup: tuple[KinesisServer, aiokinesis.Client, str]) -> None:
    server, kinesis, consumer = setup
    with pytest.raises(aiokinesis.ResourceNotFoundException):
        await kinesis.subscribe_to_shard(
            consumer_arn=consumer, shard_id="shardId-000000000042", starting_position=position("LATEST")
        )
    with pytest.raises(aiokinesis.ResourceNotFoundException):
        await kinesis.subscribe_to_shard(
            consumer_arn=f"{server.backend.streams['s'].arn}/consumer/ghost:1",
            shard_id=SHARD,
            starting_position=position("LATEST"),
        )
