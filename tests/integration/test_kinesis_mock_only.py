"""Operations only kinesis-mock has so far (the local test server lacks them), through the public API."""

from __future__ import annotations

import pytest

import aiokinesis
from tests.conftest import create_active_stream

pytestmark = pytest.mark.integration


async def test_resource_tags(kinesis: aiokinesis.Client, stream_name: str) -> None:
    arn = await create_active_stream(kinesis, stream_name)
    await kinesis.tag_resource(resource_arn=arn, tags={"owner": "me"})
    assert ("owner", "me") in [
        (t.key, t.value) for t in (await kinesis.list_tags_for_resource(resource_arn=arn)).tags or []
    ]
    await kinesis.untag_resource(resource_arn=arn, tag_keys=["owner"])
    assert "owner" not in [t.key for t in (await kinesis.list_tags_for_resource(resource_arn=arn)).tags or []]


async def test_unsupported_operations_are_refused(kinesis: aiokinesis.Client) -> None:
    # kinesis-mock answers operations it lacks (Channels, Queues, ...) with AccessDenied.
    with pytest.raises(aiokinesis.AccessDeniedException):
        await kinesis.list_queues()


async def test_stream_mode_record_size_warm_throughput(kinesis: aiokinesis.Client, stream_name: str) -> None:
    arn = await create_active_stream(kinesis, stream_name)
    await kinesis.update_stream_mode(
        stream_arn=arn, stream_mode_details=aiokinesis.StreamModeDetails(stream_mode=aiokinesis.StreamMode.ON_DEMAND)
    )
    summary = await kinesis.wait.stream_exists(stream_arn=arn, delay=0.05, max_wait=30)
    assert summary.stream_mode_details is not None
    assert summary.stream_mode_details.stream_mode is aiokinesis.StreamMode.ON_DEMAND

    await kinesis.update_max_record_size(stream_arn=arn, max_record_size_in_ki_b=2048)
    warm = await kinesis.update_stream_warm_throughput(stream_arn=arn, warm_throughput_mi_bps=10)
    assert warm.warm_throughput is not None
    assert warm.warm_throughput.target_mi_bps == 10


async def test_resource_policies(kinesis: aiokinesis.Client, stream_name: str) -> None:
    arn = await create_active_stream(kinesis, stream_name)
    policy = '{"Version":"2012-10-17","Statement":[]}'
    await kinesis.put_resource_policy(resource_arn=arn, policy=policy)
    assert (await kinesis.get_resource_policy(resource_arn=arn)).policy == policy
    await kinesis.delete_resource_policy(resource_arn=arn)


async def test_account_level_operations(kinesis: aiokinesis.Client) -> None:
    limits = await kinesis.describe_limits()
    assert limits.shard_limit >= 1
    await kinesis.describe_account_settings()
    await kinesis.update_account_settings(
        minimum_throughput_billing_commitment=aiokinesis.MinimumThroughputBillingCommitmentInput(
            status=aiokinesis.MinimumThroughputBillingCommitmentInputStatus.DISABLED
        )
    )
