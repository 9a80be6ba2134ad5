"""The consumer with enhanced fan-out against both servers: registration, order, resharding, checkpoints.

kinesis-mock sends no initial-response and an event a second even when idle, and never ends a
closed shard's subscription (so resharding is tested against aiokinesis.testing only); both servers refuse
a second subscription of a consumer to a shard within 5 s, so each consumer here has its own name.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

import aiokinesis
from aiokinesis import PutRecordsRequestEntry as Entry
from aiokinesis import StartingPosition
from tests.conformance.reading import READER
from tests.conftest import create_active_stream

pytestmark = pytest.mark.integration
TRIM = StartingPosition.trim_horizon()
FAN_OUT = aiokinesis.FanOutConfig(
    subscribe_interval=0.01,
    in_use_delay=0.05,
    error_base_delay=0.005,
    throttle_base_delay=0.005,
    max_delay=0.05,
    active_poll_interval=0.02,
    active_timeout=30,
)
CONFIG = aiokinesis.ConsumerConfig(reader=READER, fan_out=FAN_OUT, list_shards_interval=0.2)


def name() -> str:
    return f"efo-{uuid.uuid4().hex[:8]}"


async def put(kinesis: aiokinesis.Client, stream: str, first: int, last: int, keys: int = 6) -> None:
    entries = [Entry(data=f"v{i}".encode(), partition_key=f"key-{i % keys}") for i in range(first, last)]
    out = await kinesis.put_records(stream_name=stream, records=entries)
    assert out.failed_record_count == 0


async def consume_until(
    consumer: aiokinesis.StreamConsumer, got: list[aiokinesis.ShardRecord], count: int, *, checkpoint: bool = True
) -> None:
    async with asyncio.timeout(60):
        async for batch in consumer:
            got += batch.records
            if checkpoint:
                await batch.checkpoint()
            if len(got) >= count:
                return


def assert_once_in_key_order(got: list[aiokinesis.ShardRecord], count: int) -> None:
    assert sorted(int(r.data[1:]) for r in got) == list(range(count))  # every record, once
    for key in {r.partition_key for r in got}:
        values = [int(r.data[1:]) for r in got if r.partition_key == key]
        assert values == sorted(values), key


async def consumers_of(kinesis: aiokinesis.Client, stream_arn: str) -> dict[str, str]:
    listed = await kinesis.list_stream_consumers(stream_arn=stream_arn)
    return {c.consumer_name: c.consumer_status for c in listed.consumers or []}


async def test_a_new_consumer_is_registered_and_reads_every_record_once_in_key_order(
    kinesis: aiokinesis.Client, stream_name: str
) -> None:
    arn = await create_active_stream(kinesis, stream_name, shards=3)
    await put(kinesis, stream_name, 0, 60)
    app = name()
    got: list[aiokinesis.ShardRecord] = []
    async with kinesis.consumer(stream_name, start=TRIM, enhanced_fan_out=app, config=CONFIG) as consumer:
        await consume_until(consumer, got, 60)
        assert (await consumers_of(kinesis, arn))[app] == "ACTIVE"
        busy = [p for p in consumer.progress() if p.records]
        assert busy
        assert all(p.millis_behind_latest is not None and p.millis_behind_latest >= 0 for p in busy)
    assert_once_in_key_order(got, 60)
    assert app in await consumers_of(kinesis, arn)  # kept: deregister_on_close was not asked for


async def test_an_existing_consumer_is_used_and_deregister_on_close_removes_it(
    kinesis: aiokinesis.Client, stream_name: str
) -> None:
    arn = await create_active_stream(kinesis, stream_name, shards=2)
    app = name()
    registered = await kinesis.register_stream_consumer(stream_arn=arn, consumer_name=app)
    await kinesis.wait.consumer_active(consumer_arn=registered.consumer.consumer_arn, delay=0.05, max_wait=30)
    await put(kinesis, stream_name, 0, 20)
    got: list[aiokinesis.ShardRecord] = []
    async with kinesis.consumer(
        stream_name, start=TRIM, enhanced_fan_out=app, deregister_on_close=True, config=CONFIG
    ) as consumer:
        await consume_until(consumer, got, 20)
        assert list(await consumers_of(kinesis, arn)) == [app]  # the same one, not a second
    assert_once_in_key_order(got, 20)
    assert (await consumers_of(kinesis, arn)).get(app) in (None, "DELETING")


async def test_polling_and_enhanced_fan_out_give_the_same_records(kinesis: aiokinesis.Client, stream_name: str) -> None:
    await create_active_stream(kinesis, stream_name, shards=3)
    await put(kinesis, stream_name, 0, 45, keys=9)

    async def read(**fan_out: str) -> list[tuple[str, str, str | None, bytes]]:
        got: list[aiokinesis.ShardRecord] = []
        async with kinesis.consumer(stream_name, start=TRIM, config=CONFIG, **fan_out) as consumer:  # type: ignore[arg-type]
            await consume_until(consumer, got, 45, checkpoint=False)
        return sorted((r.shard_id, r.sequence_number, r.partition_key, r.data) for r in got)

    assert await read() == await read(enhanced_fan_out=name())


async def test_split_and_merge_while_consuming_through_subscriptions(
    kinesis: aiokinesis.Client, stream_name: str, server: str
) -> None:
    if server == "kinesis-mock":
        # Seen with kinesis-local 0.6.2: a closed parent's subscription goes on sending empty events
        # with the same continuation and no ChildShards for ever, so no subscriber can see its end.
        pytest.skip("kinesis-mock never ends a closed shard's subscription (no ChildShards, no null continuation)")
    await create_active_stream(kinesis, stream_name, shards=4)
    await put(kinesis, stream_name, 0, 60)
    got: list[aiokinesis.ShardRecord] = []
    async with kinesis.consumer(stream_name, start=TRIM, enhanced_fan_out=name(), config=CONFIG) as consumer:
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
        await put(kinesis, stream_name, 60, 120)
        await consume_until(consumer, got, 120)
        progress = {p.shard_id: p for p in consumer.progress()}
    assert_once_in_key_order(got, 120)  # children only after their parents: per-key order holds
    assert all(progress[s].ended for s in ("shardId-000000000000", "shardId-000000000002", "shardId-000000000003"))


async def test_checkpoints_resume_a_second_consumer_where_the_first_stopped(
    kinesis: aiokinesis.Client, stream_name: str
) -> None:
    await create_active_stream(kinesis, stream_name, shards=2)
    await put(kinesis, stream_name, 0, 40)
    checkpoints = aiokinesis.MemoryCheckpoints()
    first: list[aiokinesis.ShardRecord] = []
    async with kinesis.consumer(
        stream_name, checkpoints=checkpoints, start=TRIM, enhanced_fan_out=name(), config=CONFIG
    ) as consumer:
        await consume_until(consumer, first, 40)
    await put(kinesis, stream_name, 40, 70)
    second: list[aiokinesis.ShardRecord] = []
    async with kinesis.consumer(
        stream_name, checkpoints=checkpoints, start=TRIM, enhanced_fan_out=name(), config=CONFIG
    ) as consumer:
        await consume_until(consumer, second, 30)
    assert_once_in_key_order(first + second, 70)
