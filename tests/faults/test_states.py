"""aiokinesis.testing with state durations: streams, consumers and queues are CREATING, UPDATING or
DELETING for a while, as on AWS, on the server's clock; our waiters, producer and consumers wait it out
(the CLI's `create` through them: tests/cli/test_servers.py).

The server and the client share one SharedTime: a waiter's poll (10 s, 5 s) moves the clock on at
once, so a wait through a 30 s CREATING state takes no wall time and ends at a known instant.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator

import pytest

import aiokinesis
from aiokinesis.testing import KinesisServer, Limits, StateDurations
from tests.cli.conftest import BOUND
from tests.conftest import LOCAL_KEYS
from tests.fakes import FROZEN_NOW, SharedTime

CREATE, UPDATE, DELETE = 30.0, 20.0, 15.0


@pytest.fixture
def shared() -> SharedTime:
    return SharedTime(hold=60.0)


@pytest.fixture
async def server(shared: SharedTime) -> AsyncIterator[KinesisServer]:
    durations = StateDurations(create=CREATE, update=UPDATE, delete=DELETE)
    async with KinesisServer(
        streams={"ready": 2}, limits=Limits(enabled=False), clock=shared.clock, durations=durations
    ) as local:
        local.backend.create_stream("on-demand", 1, mode="ON_DEMAND")
        yield local


@pytest.fixture
async def kinesis(server: KinesisServer, shared: SharedTime) -> AsyncIterator[aiokinesis.Client]:
    async with aiokinesis.Client(
        endpoint_url=server.endpoint_url,
        clock=shared.clock,
        sleep=shared.sleep,
        retry=aiokinesis.RetryConfig(max_attempts=1),
        **LOCAL_KEYS,
    ) as client:
        yield client


async def status(kinesis: aiokinesis.Client, name: str) -> str:
    return str((await kinesis.describe_stream_summary(stream_name=name)).stream_description_summary.stream_status)


def test_durations_are_seconds_zero_or_more() -> None:
    assert StateDurations() == StateDurations(create=0, update=0, delete=0)
    for bad in (-1, math.nan, math.inf, True, "5"):
        with pytest.raises(ValueError, match=r"StateDurations.update is a number of seconds, 0 or more"):
            StateDurations(update=bad)  # type: ignore[arg-type]


async def test_a_new_stream_is_creating_and_refused_until_the_create_duration_passes(
    kinesis: aiokinesis.Client, shared: SharedTime
) -> None:
    await kinesis.create_stream(stream_name="new", shard_count=2)
    summary = (await kinesis.describe_stream_summary(stream_name="new")).stream_description_summary
    assert summary.stream_status is aiokinesis.StreamStatus.CREATING
    assert summary.open_shard_count == 0
    assert (await kinesis.describe_stream(stream_name="new")).stream_description.shards == []
    listed = (await kinesis.list_streams()).stream_summaries or []
    assert {s.stream_name: str(s.stream_status) for s in listed}["new"] == "CREATING"
    # Data plane: ResourceNotFoundException (AWS's, kinesalite's); control plane: ResourceInUseException.
    with pytest.raises(aiokinesis.ResourceNotFoundException):
        await kinesis.put_record(stream_name="new", data=b"x", partition_key="k")
    with pytest.raises(aiokinesis.ResourceNotFoundException):
        await kinesis.put_records(
            stream_name="new", records=[aiokinesis.PutRecordsRequestEntry(data=b"x", partition_key="k")]
        )
    with pytest.raises(aiokinesis.ResourceNotFoundException):
        await kinesis.get_shard_iterator(
            stream_name="new", shard_id="shardId-000000000000", shard_iterator_type=aiokinesis.ShardIteratorType.LATEST
        )
    with pytest.raises(aiokinesis.ResourceInUseException):
        await kinesis.list_shards(stream_name="new")
    with pytest.raises(aiokinesis.ResourceInUseException):
        await kinesis.update_shard_count(
            stream_name="new", target_shard_count=4, scaling_type=aiokinesis.ScalingType.UNIFORM_SCALING
        )
    with pytest.raises(aiokinesis.ResourceInUseException):
        await kinesis.increase_stream_retention_period(stream_name="new", retention_period_hours=48)
    with pytest.raises(aiokinesis.ResourceInUseException):
        await kinesis.delete_stream(stream_name="new")
    with pytest.raises(aiokinesis.ResourceInUseException):
        await kinesis.create_stream(stream_name="new", shard_count=1)

    shared.advance(CREATE - 0.001)
    assert await status(kinesis, "new") == "CREATING"
    shared.advance(0.001)
    assert await status(kinesis, "new") == "ACTIVE"
    assert len((await kinesis.list_shards(stream_name="new")).shards or []) == 2
    put = await kinesis.put_record(stream_name="new", data=b"x", partition_key="k")
    assert put.sequence_number


async def test_the_stream_exists_waiter_polls_through_creating(kinesis: aiokinesis.Client, shared: SharedTime) -> None:
    started = shared.now
    await kinesis.create_stream(stream_name="new", shard_count=1)
    summary = await kinesis.wait.stream_exists(stream_name="new", delay=10, max_wait=60)
    assert summary.stream_status is aiokinesis.StreamStatus.ACTIVE
    assert shared.slept == [10, 10, 10]  # CREATING at 0, 10 and 20 s; ACTIVE at 30 s
    assert shared.now == started + CREATE


async def test_the_stream_exists_waiter_gives_up_within_its_budget(
    kinesis: aiokinesis.Client, shared: SharedTime
) -> None:
    await kinesis.create_stream(stream_name="new", shard_count=1)
    with pytest.raises(aiokinesis.WaiterError, match="after 20 s"):
        await kinesis.wait.stream_exists(stream_name="new", delay=10, max_wait=20)


async def test_only_five_streams_may_be_creating_at_once(kinesis: aiokinesis.Client, shared: SharedTime) -> None:
    for n in range(5):
        await kinesis.create_stream(stream_name=f"new-{n}", shard_count=1)
    with pytest.raises(aiokinesis.LimitExceededException, match="5 streams are CREATING"):
        await kinesis.create_stream(stream_name="new-5", shard_count=1)
    shared.advance(CREATE)
    await kinesis.create_stream(stream_name="new-5", shard_count=1)


async def test_resharding_leaves_the_stream_updating_and_serving(
    kinesis: aiokinesis.Client, shared: SharedTime
) -> None:
    shards = (await kinesis.list_shards(stream_name="ready")).shards or []
    middle = str((int(shards[0].hash_key_range.starting_hash_key) + int(shards[0].hash_key_range.ending_hash_key)) // 2)
    await kinesis.split_shard(stream_name="ready", shard_to_split=shards[0].shard_id, new_starting_hash_key=middle)
    assert await status(kinesis, "ready") == "UPDATING"
    assert len((await kinesis.list_shards(stream_name="ready")).shards or []) == 4  # the split is made at once
    put = await kinesis.put_record(stream_name="ready", data=b"during", partition_key="k")  # AWS: still served
    iterator = await kinesis.get_shard_iterator(
        stream_name="ready", shard_id=put.shard_id, shard_iterator_type=aiokinesis.ShardIteratorType.TRIM_HORIZON
    )
    assert iterator.shard_iterator is not None
    got = await kinesis.get_records(shard_iterator=iterator.shard_iterator)
    assert [r.data for r in got.records] == [b"during"]
    with pytest.raises(aiokinesis.ResourceInUseException, match="UPDATING, not ACTIVE"):
        await kinesis.merge_shards(
            stream_name="ready", shard_to_merge=shards[1].shard_id, adjacent_shard_to_merge="shardId-000000000003"
        )
    with pytest.raises(aiokinesis.ResourceInUseException):
        await kinesis.delete_stream(stream_name="ready")
    summary = await kinesis.wait.stream_exists(stream_name="ready", delay=5, max_wait=60)
    assert summary.stream_status is aiokinesis.StreamStatus.ACTIVE
    assert shared.slept == [5, 5, 5, 5]


async def test_which_settings_go_through_updating(kinesis: aiokinesis.Client, shared: SharedTime) -> None:
    await kinesis.increase_stream_retention_period(stream_name="ready", retention_period_hours=48)
    await kinesis.enable_enhanced_monitoring(stream_name="ready", shard_level_metrics=[aiokinesis.MetricsName.ALL])
    assert await status(kinesis, "ready") == "ACTIVE"  # AWS's pages say nothing of UPDATING for these
    await kinesis.start_stream_encryption(
        stream_name="ready", encryption_type=aiokinesis.EncryptionType.KMS, key_id="alias/aws/kinesis"
    )
    assert await status(kinesis, "ready") == "UPDATING"
    shared.advance(UPDATE)
    await kinesis.stop_stream_encryption(
        stream_name="ready", encryption_type=aiokinesis.EncryptionType.KMS, key_id="alias/aws/kinesis"
    )
    assert await status(kinesis, "ready") == "UPDATING"
    shared.advance(UPDATE)
    mode = aiokinesis.StreamModeDetails(stream_mode=aiokinesis.StreamMode.ON_DEMAND)
    await kinesis.update_stream_mode(stream_arn=(await kinesis_arn(kinesis, "ready")), stream_mode_details=mode)
    assert await status(kinesis, "ready") == "UPDATING"
    shared.advance(UPDATE)
    assert await status(kinesis, "ready") == "ACTIVE"


async def kinesis_arn(kinesis: aiokinesis.Client, name: str) -> str:
    return (await kinesis.describe_stream_summary(stream_name=name)).stream_description_summary.stream_arn


async def test_a_deleted_stream_is_deleting_then_gone(kinesis: aiokinesis.Client, shared: SharedTime) -> None:
    await kinesis.delete_stream(stream_name="ready")
    assert await status(kinesis, "ready") == "DELETING"
    await kinesis.put_record(stream_name="ready", data=b"x", partition_key="k")  # AWS: "might continue to accept"
    with pytest.raises(aiokinesis.ResourceInUseException):
        await kinesis.create_stream(stream_name="ready", shard_count=1)
    with pytest.raises(aiokinesis.ResourceInUseException):
        await kinesis.delete_stream(stream_name="ready")
    await kinesis.wait.stream_not_exists(stream_name="ready", delay=5, max_wait=60)
    assert shared.slept == [5, 5, 5]
    await kinesis.create_stream(stream_name="ready", shard_count=1)  # the name is free again


async def test_a_consumer_is_creating_then_active_then_deleting(kinesis: aiokinesis.Client, shared: SharedTime) -> None:
    arn = await kinesis_arn(kinesis, "ready")
    registered = await kinesis.register_stream_consumer(stream_arn=arn, consumer_name="fan")
    consumer = registered.consumer
    assert consumer.consumer_status is aiokinesis.ConsumerStatus.CREATING
    with pytest.raises(aiokinesis.ResourceInUseException, match="CREATING, not ACTIVE"):
        await kinesis.subscribe_to_shard(
            consumer_arn=consumer.consumer_arn,
            shard_id="shardId-000000000000",
            starting_position=aiokinesis.StartingPosition(type=aiokinesis.ShardIteratorType.LATEST),
        )
    active = await kinesis.wait.consumer_active(consumer_arn=consumer.consumer_arn, delay=10, max_wait=60)
    assert active.consumer_status is aiokinesis.ConsumerStatus.ACTIVE
    assert shared.slept == [10, 10, 10]

    await kinesis.deregister_stream_consumer(consumer_arn=consumer.consumer_arn)
    described = await kinesis.describe_stream_consumer(consumer_arn=consumer.consumer_arn)
    assert described.consumer_description.consumer_status is aiokinesis.ConsumerStatus.DELETING
    with pytest.raises(aiokinesis.WaiterError, match="it is DELETING"):
        await kinesis.wait.consumer_active(consumer_arn=consumer.consumer_arn, delay=10, max_wait=60)
    with pytest.raises(aiokinesis.ResourceInUseException):  # the name is taken until it is gone
        await kinesis.register_stream_consumer(stream_arn=arn, consumer_name="fan")
    shared.advance(DELETE)
    with pytest.raises(aiokinesis.ResourceNotFoundException):
        await kinesis.describe_stream_consumer(consumer_arn=consumer.consumer_arn)


async def test_a_consumer_deregistered_while_creating_never_becomes_active(
    kinesis: aiokinesis.Client, shared: SharedTime
) -> None:
    arn = await kinesis_arn(kinesis, "ready")
    consumer = (await kinesis.register_stream_consumer(stream_arn=arn, consumer_name="fan")).consumer
    shared.advance(CREATE - 10)
    await kinesis.deregister_stream_consumer(consumer_arn=consumer.consumer_arn)  # DELETING until CREATE + 5
    shared.advance(10)  # its create duration ends while it is DELETING
    described = await kinesis.describe_stream_consumer(consumer_arn=consumer.consumer_arn)
    assert described.consumer_description.consumer_status is aiokinesis.ConsumerStatus.DELETING
    shared.advance(DELETE - 10)
    with pytest.raises(aiokinesis.ResourceNotFoundException):
        await kinesis.describe_stream_consumer(consumer_arn=consumer.consumer_arn)


async def test_only_five_consumers_may_be_creating_and_not_on_a_creating_stream(
    kinesis: aiokinesis.Client, shared: SharedTime
) -> None:
    arn = await kinesis_arn(kinesis, "ready")
    for n in range(5):
        await kinesis.register_stream_consumer(stream_arn=arn, consumer_name=f"c{n}")
    with pytest.raises(aiokinesis.LimitExceededException, match="5 consumers are CREATING"):
        await kinesis.register_stream_consumer(stream_arn=arn, consumer_name="c5")
    await kinesis.create_stream(stream_name="new", shard_count=1)
    with pytest.raises(aiokinesis.ResourceInUseException, match="CREATING, not ACTIVE"):
        await kinesis.register_stream_consumer(stream_arn=await kinesis_arn(kinesis, "new"), consumer_name="x")
    shared.advance(CREATE)
    await kinesis.register_stream_consumer(stream_arn=arn, consumer_name="c5")


async def test_a_queue_is_creating_updating_and_deleting(kinesis: aiokinesis.Client, shared: SharedTime) -> None:
    stream_arn = await kinesis_arn(kinesis, "on-demand")
    config = aiokinesis.QueueStreamConfiguration(
        stream_arn=stream_arn, starting_position=aiokinesis.QueueStartingPosition(type="TRIM_HORIZON")
    )
    created = await kinesis.create_queue(queue_name="work", stream_configuration_list=[config])
    queue_arn = created.queue_description.queue_arn
    assert str(created.queue_description.queue_status) == "CREATING"
    await kinesis.put_record(stream_name="on-demand", data=b"job", partition_key="k")
    with pytest.raises(aiokinesis.ResourceNotFoundException):  # "receiving records after the queue is ACTIVE"
        await kinesis.receive_queue_records(queue_arn=queue_arn, wait_time_seconds=1)
    active = await kinesis.wait.queue_active(queue_arn=queue_arn, delay=5, max_wait=60)
    assert str(active.queue_status) == "ACTIVE"
    assert shared.slept == [5] * 6

    updated = await kinesis.update_queue(
        queue_arn=queue_arn, queue_attributes=aiokinesis.QueueAttributes(visibility_timeout_seconds=60)
    )
    assert str(updated.queue_description.queue_status) == "UPDATING"
    got = await kinesis.receive_queue_records(queue_arn=queue_arn, wait_time_seconds=1)  # served while UPDATING
    assert [r.data for r in got.queue_records] == [b"job"]
    with pytest.raises(aiokinesis.ResourceInUseException, match="UPDATING, not ACTIVE"):
        await kinesis.update_queue(
            queue_arn=queue_arn, queue_attributes=aiokinesis.QueueAttributes(visibility_timeout_seconds=90)
        )
    shared.advance(UPDATE)

    await kinesis.delete_queue(queue_arn=queue_arn)
    described = await kinesis.describe_queue(queue_arn=queue_arn)
    assert str(described.queue_description.queue_status) == "DELETING"
    listed = (await kinesis.list_queues()).queue_summaries
    assert [str(q.queue_status) for q in listed] == ["DELETING"]
    with pytest.raises(aiokinesis.WaiterError, match="it is DELETING"):
        await kinesis.wait.queue_active(queue_arn=queue_arn, delay=5, max_wait=60)
    with pytest.raises(aiokinesis.ResourceNotFoundException):  # "does not deliver records"
        await kinesis.receive_queue_records(queue_arn=queue_arn, wait_time_seconds=1)
    with pytest.raises(aiokinesis.ResourceInUseException, match="queues"):
        await kinesis.delete_stream(stream_name="on-demand")
    shared.advance(DELETE)
    with pytest.raises(aiokinesis.ResourceNotFoundException):
        await kinesis.describe_queue(queue_arn=queue_arn)
    await kinesis.delete_stream(stream_name="on-demand")


async def test_the_producer_writes_once_a_creating_stream_is_active(
    kinesis: aiokinesis.Client, server: KinesisServer, shared: SharedTime
) -> None:
    """A producer opened on a CREATING stream (as code that does not wait does) fails to open, with
    the ResourceInUseException of the ListShards it opens with; after waiting for ACTIVE it writes."""
    await kinesis.create_stream(stream_name="new", shard_count=1)
    with pytest.raises(aiokinesis.ResourceInUseException, match="Stream new is CREATING, not ACTIVE"):
        async with kinesis.producer("new"):
            pass
    await kinesis.wait.stream_exists(stream_name="new", delay=10, max_wait=60)
    async with kinesis.producer("new") as producer:
        landed = await (await producer.put(b"late", partition_key="k"))
    assert landed.shard_id == "shardId-000000000000"
    server.backend.advance()
    assert [r.data for r in server.backend.streams["new"].shards[0].records] == [b"late"]


async def test_consumers_on_a_creating_stream_and_through_a_creating_registration(
    kinesis: aiokinesis.Client, server: KinesisServer, shared: SharedTime
) -> None:
    """A consumer opened on a CREATING stream stops with the ResourceInUseException of its shard
    listing; an enhanced fan-out consumer registers its name and reads once it is ACTIVE."""
    await kinesis.create_stream(stream_name="new", shard_count=1)

    async def first_batch(name: str) -> None:
        async with asyncio.timeout(BOUND), kinesis.consumer(name) as consumer:
            async for _ in consumer:
                break

    with pytest.raises(aiokinesis.ResourceInUseException, match="Stream new is CREATING"):
        await first_batch("new")
    await kinesis.put_record(stream_name="ready", data=b"pushed", partition_key="k")
    got: list[bytes] = []
    start = aiokinesis.StartingPosition.trim_horizon()
    async with asyncio.timeout(BOUND), kinesis.consumer("ready", start=start, enhanced_fan_out="fan") as consumer:
        async for batch in consumer:
            got += [r.data for r in batch.records]
            if got:
                break
    assert got == [b"pushed"]
    assert shared.now >= FROZEN_NOW + CREATE  # it waited out the registration's CREATING on the clock


async def test_an_enhanced_fan_out_consumer_waits_out_a_deleting_name_and_registers_it_again(
    kinesis: aiokinesis.Client, shared: SharedTime
) -> None:
    arn = await kinesis_arn(kinesis, "ready")
    old = (await kinesis.register_stream_consumer(stream_arn=arn, consumer_name="fan")).consumer
    shared.advance(CREATE)
    await kinesis.deregister_stream_consumer(consumer_arn=old.consumer_arn)  # DELETING for 15 s
    await kinesis.put_record(stream_name="ready", data=b"pushed", partition_key="k")
    deleting_since = shared.now
    start = aiokinesis.StartingPosition.trim_horizon()
    got: list[bytes] = []
    async with asyncio.timeout(BOUND), kinesis.consumer("ready", start=start, enhanced_fan_out="fan") as consumer:
        async for batch in consumer:
            got += [r.data for r in batch.records]
            if got:
                break
    assert got == [b"pushed"]
    assert shared.now >= deleting_since + DELETE + CREATE  # gone, then registered anew and CREATING
    [current] = (await kinesis.list_stream_consumers(stream_arn=arn)).consumers or []
    assert current.consumer_status is aiokinesis.ConsumerStatus.ACTIVE
    assert current.consumer_arn != old.consumer_arn
