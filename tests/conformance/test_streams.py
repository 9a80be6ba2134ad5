"""Stream control plane: ordinary scenarios, against both servers."""

from __future__ import annotations

import asyncio

import pytest

import aiokinesis
from tests.conftest import create_active_stream

pytestmark = pytest.mark.integration


async def test_create_describe_list_delete(kinesis: aiokinesis.Client, stream_name: str) -> None:
    arn = await create_active_stream(kinesis, stream_name, shards=3)
    assert arn.endswith(f":stream/{stream_name}")

    described = await kinesis.describe_stream(stream_name=stream_name)
    assert described.stream_description.stream_status is aiokinesis.StreamStatus.ACTIVE
    assert len(described.stream_description.shards) == 3
    summary = (await kinesis.describe_stream_summary(stream_arn=arn)).stream_description_summary
    assert summary.open_shard_count == 3
    assert summary.retention_period_hours == 24
    assert summary.stream_creation_timestamp.tzinfo is not None

    assert stream_name in [name async for name in kinesis.paginate.list_streams(limit=1)]

    await kinesis.delete_stream(stream_name=stream_name)
    await kinesis.wait.stream_not_exists(stream_name=stream_name, delay=0.05, max_wait=30)
    with pytest.raises(aiokinesis.ResourceNotFoundException):
        await kinesis.describe_stream_summary(stream_name=stream_name)


async def test_describe_stream_paginates_shards(kinesis: aiokinesis.Client, stream_name: str) -> None:
    await create_active_stream(kinesis, stream_name, shards=5)
    shards = [shard async for shard in kinesis.paginate.describe_stream(stream_name=stream_name, limit=2)]
    assert [s.shard_id for s in shards] == [f"shardId-{n:012d}" for n in range(5)]
    assert int(shards[0].hash_key_range.starting_hash_key) == 0
    assert int(shards[-1].hash_key_range.ending_hash_key) == 2**128 - 1


async def test_errors_come_back_typed(kinesis: aiokinesis.Client, stream_name: str) -> None:
    await create_active_stream(kinesis, stream_name)
    with pytest.raises(aiokinesis.ResourceInUseException) as in_use:
        await kinesis.create_stream(stream_name=stream_name, shard_count=1)
    assert in_use.value.status == 400
    assert in_use.value.request_id
    with pytest.raises(aiokinesis.ResourceNotFoundException):
        await kinesis.describe_stream(stream_name=f"{stream_name}-missing")


async def test_tags_on_streams(kinesis: aiokinesis.Client, stream_name: str) -> None:
    await create_active_stream(kinesis, stream_name)
    await kinesis.add_tags_to_stream(stream_name=stream_name, tags={"team": "data", "env": "test", "tier": "1"})
    tags = [(t.key, t.value) async for t in kinesis.paginate.list_tags_for_stream(stream_name=stream_name, limit=1)]
    assert sorted(tags) == [("env", "test"), ("team", "data"), ("tier", "1")]
    await kinesis.remove_tags_from_stream(stream_name=stream_name, tag_keys=["tier"])
    assert len((await kinesis.list_tags_for_stream(stream_name=stream_name)).tags) == 2


async def test_retention_monitoring_encryption(kinesis: aiokinesis.Client, stream_name: str) -> None:
    await create_active_stream(kinesis, stream_name)
    await kinesis.increase_stream_retention_period(stream_name=stream_name, retention_period_hours=48)
    summary = (await kinesis.describe_stream_summary(stream_name=stream_name)).stream_description_summary
    assert summary.retention_period_hours == 48
    await kinesis.decrease_stream_retention_period(stream_name=stream_name, retention_period_hours=24)

    enabled = await kinesis.enable_enhanced_monitoring(
        stream_name=stream_name, shard_level_metrics=[aiokinesis.MetricsName.INCOMING_BYTES]
    )
    assert enabled.desired_shard_level_metrics == [aiokinesis.MetricsName.INCOMING_BYTES]
    disabled = await kinesis.disable_enhanced_monitoring(stream_name=stream_name, shard_level_metrics=["IncomingBytes"])
    assert disabled.desired_shard_level_metrics == []

    await kinesis.start_stream_encryption(stream_name=stream_name, encryption_type="KMS", key_id="alias/aws/kinesis")
    summary = await kinesis.wait.stream_exists(stream_name=stream_name, delay=0.05, max_wait=30)
    assert summary.encryption_type is aiokinesis.EncryptionType.KMS
    await kinesis.stop_stream_encryption(stream_name=stream_name, encryption_type="KMS", key_id="alias/aws/kinesis")
    summary = await kinesis.wait.stream_exists(stream_name=stream_name, delay=0.05, max_wait=30)
    assert summary.encryption_type is aiokinesis.EncryptionType.NONE


async def test_many_concurrent_calls_share_the_pool(kinesis: aiokinesis.Client, stream_name: str) -> None:
    await create_active_stream(kinesis, stream_name, shards=2)
    results = await asyncio.gather(*(kinesis.describe_stream_summary(stream_name=stream_name) for _ in range(50)))
    assert {r.stream_description_summary.stream_name for r in results} == {stream_name}
