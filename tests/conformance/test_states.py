"""Resource states, against both servers with the same durations: a stream CREATING, UPDATING and
DELETING, a consumer CREATING and DELETING, and what each state refuses or serves.

Both servers run here with transitions of DURATION seconds on the real clock (kinesis-mock has no
other), long enough that the call after the one that started a transition sees its state; the
waiters then poll until it ends. Where the two answer differently, the test says which is AWS's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

import aiokinesis
from aiokinesis.testing import KinesisServer, StateDurations
from tests.kinesis_local.launch import kinesis_mock

pytestmark = pytest.mark.integration

DURATION = 2.0
DELAY, MAX_WAIT = 0.1, 30.0


@pytest.fixture(scope="module")
def slow_kinesis_mock() -> Iterator[str]:
    with kinesis_mock(duration=f"{int(DURATION * 1000)}ms") as url:
        yield url


@pytest.fixture
async def endpoint(server: str, request: pytest.FixtureRequest) -> AsyncIterator[str]:
    if server == "kinesis-mock":
        yield request.getfixturevalue("slow_kinesis_mock")
        return
    durations = StateDurations(create=DURATION, update=DURATION, delete=DURATION)
    async with KinesisServer(durations=durations) as local:
        yield local.endpoint_url


async def status(kinesis: aiokinesis.Client, name: str) -> str:
    return str((await kinesis.describe_stream_summary(stream_name=name)).stream_description_summary.stream_status)


async def test_a_stream_is_creating_then_active(kinesis: aiokinesis.Client, stream_name: str, server: str) -> None:
    await kinesis.create_stream(stream_name=stream_name, shard_count=2)
    assert await status(kinesis, stream_name) == "CREATING"
    with pytest.raises(aiokinesis.ResourceInUseException):
        await kinesis.split_shard(
            stream_name=stream_name, shard_to_split="shardId-000000000000", new_starting_hash_key=str(2**126)
        )
    if server != "kinesis-mock":
        # kinesis-mock refuses it too, then deletes the stream anyway once its delete duration has
        # passed (its Cache.deleteStream schedules the removal whatever the answer), so there the
        # stream was ACTIVE only between its create's delay and its refused delete's: a waiter
        # polling every DELAY could miss it (failed 1 CI run in 7).
        with pytest.raises(aiokinesis.ResourceInUseException):
            await kinesis.delete_stream(stream_name=stream_name)
    # AWS (and kinesalite) answer a write to a CREATING stream with ResourceNotFoundException;
    # kinesis-mock with ResourceInUseException.
    refused = aiokinesis.ResourceInUseException if server == "kinesis-mock" else aiokinesis.ResourceNotFoundException
    with pytest.raises(refused):
        await kinesis.put_record(stream_name=stream_name, data=b"early", partition_key="k")
    summary = await kinesis.wait.stream_exists(stream_name=stream_name, delay=DELAY, max_wait=MAX_WAIT)
    assert summary.stream_status is aiokinesis.StreamStatus.ACTIVE
    assert summary.open_shard_count == 2
    await kinesis.put_record(stream_name=stream_name, data=b"late", partition_key="k")


async def test_a_split_leaves_the_stream_updating_and_serving(kinesis: aiokinesis.Client, stream_name: str) -> None:
    await kinesis.create_stream(stream_name=stream_name, shard_count=2)
    await kinesis.wait.stream_exists(stream_name=stream_name, delay=DELAY, max_wait=MAX_WAIT)
    await kinesis.split_shard(
        stream_name=stream_name, shard_to_split="shardId-000000000000", new_starting_hash_key=str(2**126)
    )
    assert await status(kinesis, stream_name) == "UPDATING"
    put = await kinesis.put_record(stream_name=stream_name, data=b"during", partition_key="k")  # still served
    assert put.sequence_number
    with pytest.raises(aiokinesis.ResourceInUseException):
        await kinesis.merge_shards(
            stream_name=stream_name,
            shard_to_merge="shardId-000000000001",
            adjacent_shard_to_merge="shardId-000000000003",
        )
    await kinesis.wait.stream_exists(stream_name=stream_name, delay=DELAY, max_wait=MAX_WAIT)
    open_shards = [
        s
        for s in (await kinesis.list_shards(stream_name=stream_name)).shards or []
        if s.sequence_number_range.ending_sequence_number is None
    ]
    assert len(open_shards) == 3


async def test_a_deleted_stream_is_deleting_then_gone(kinesis: aiokinesis.Client, stream_name: str) -> None:
    await kinesis.create_stream(stream_name=stream_name, shard_count=1)
    await kinesis.wait.stream_exists(stream_name=stream_name, delay=DELAY, max_wait=MAX_WAIT)
    await kinesis.delete_stream(stream_name=stream_name)
    assert await status(kinesis, stream_name) == "DELETING"
    with pytest.raises(aiokinesis.ResourceInUseException):
        await kinesis.create_stream(stream_name=stream_name, shard_count=1)
    await kinesis.wait.stream_not_exists(stream_name=stream_name, delay=DELAY, max_wait=MAX_WAIT)


async def test_a_consumer_is_creating_then_active_then_deleting(kinesis: aiokinesis.Client, stream_name: str) -> None:
    await kinesis.create_stream(stream_name=stream_name, shard_count=1)
    stream_arn = (await kinesis.wait.stream_exists(stream_name=stream_name, delay=DELAY, max_wait=MAX_WAIT)).stream_arn
    consumer = (await kinesis.register_stream_consumer(stream_arn=stream_arn, consumer_name="fan")).consumer
    assert consumer.consumer_status is aiokinesis.ConsumerStatus.CREATING
    described = await kinesis.describe_stream_consumer(consumer_arn=consumer.consumer_arn)
    assert described.consumer_description.consumer_status is aiokinesis.ConsumerStatus.CREATING
    active = await kinesis.wait.consumer_active(consumer_arn=consumer.consumer_arn, delay=DELAY, max_wait=MAX_WAIT)
    assert active.consumer_status is aiokinesis.ConsumerStatus.ACTIVE

    await kinesis.deregister_stream_consumer(consumer_arn=consumer.consumer_arn)
    described = await kinesis.describe_stream_consumer(consumer_arn=consumer.consumer_arn)
    assert described.consumer_description.consumer_status is aiokinesis.ConsumerStatus.DELETING
    with pytest.raises(aiokinesis.WaiterError, match="DELETING"):
        await kinesis.wait.consumer_active(consumer_arn=consumer.consumer_arn, delay=DELAY, max_wait=MAX_WAIT)
