"""Tags and resource policies by ARN, account settings, the largest record and warm throughput:
operations kinesis-mock serves too, so both servers must agree (where kinesis-mock differs from
AWS, the test says so for it only)."""

from __future__ import annotations

import pytest

import aiokinesis
from tests.conftest import create_active_stream

pytestmark = pytest.mark.integration

POLICY = '{"Version":"2012-10-17","Statement":[]}'


async def tags_of(kinesis: aiokinesis.Client, arn: str) -> dict[str, str | None]:
    return {t.key: t.value for t in (await kinesis.list_tags_for_resource(resource_arn=arn)).tags or []}


async def test_tag_resource_and_add_tags_to_stream_share_the_tags(kinesis: aiokinesis.Client, stream_name: str) -> None:
    arn = await create_active_stream(kinesis, stream_name)
    await kinesis.tag_resource(resource_arn=arn, tags={"owner": "me"})
    await kinesis.add_tags_to_stream(stream_name=stream_name, tags={"env": "test"})
    assert await tags_of(kinesis, arn) == {"env": "test", "owner": "me"}
    by_stream = (await kinesis.list_tags_for_stream(stream_arn=arn)).tags
    assert [(t.key, t.value) for t in by_stream] == [("env", "test"), ("owner", "me")]
    await kinesis.remove_tags_from_stream(stream_name=stream_name, tag_keys=["env"])
    await kinesis.untag_resource(resource_arn=arn, tag_keys=["never-there"])
    assert await tags_of(kinesis, arn) == {"owner": "me"}
    await kinesis.untag_resource(resource_arn=arn, tag_keys=["owner"])
    assert await tags_of(kinesis, arn) == {}


async def test_a_consumer_has_tags_of_its_own(kinesis: aiokinesis.Client, stream_name: str) -> None:
    arn = await create_active_stream(kinesis, stream_name)
    consumer = (await kinesis.register_stream_consumer(stream_arn=arn, consumer_name="app")).consumer.consumer_arn
    await kinesis.tag_resource(resource_arn=consumer, tags={"kind": "efo"})
    assert await tags_of(kinesis, consumer) == {"kind": "efo"}
    assert await tags_of(kinesis, arn) == {}
    await kinesis.untag_resource(resource_arn=consumer, tag_keys=["kind"])
    assert await tags_of(kinesis, consumer) == {}


async def test_tags_past_the_limits_are_refused(kinesis: aiokinesis.Client, stream_name: str) -> None:
    arn = await create_active_stream(kinesis, stream_name)
    for batch in range(5):  # kinesis-mock takes at most 10 tags a request (AWS documents no such limit)
        await kinesis.tag_resource(resource_arn=arn, tags={f"k{batch}{i}": "v" for i in range(10)})
    with pytest.raises(aiokinesis.InvalidArgumentException):
        await kinesis.tag_resource(resource_arn=arn, tags={"the-51st": "v"})
    with pytest.raises(aiokinesis.InvalidArgumentException):
        await kinesis.add_tags_to_stream(stream_name=stream_name, tags={"the-51st": "v"})
    with pytest.raises(aiokinesis.InvalidArgumentException):
        await kinesis.tag_resource(resource_arn=arn, tags={"aws:reserved": "v"})
    with pytest.raises(aiokinesis.InvalidArgumentException):
        await kinesis.tag_resource(resource_arn=arn, tags={"not#allowed": "v"})
    with pytest.raises(aiokinesis.ResourceNotFoundException):
        await kinesis.list_tags_for_resource(resource_arn=f"{arn}-missing")
    with pytest.raises(aiokinesis.ResourceNotFoundException):
        await kinesis.tag_resource(resource_arn=f"{arn}/consumer/missing:1", tags={"k": "v"})


async def test_resource_policies(kinesis: aiokinesis.Client, stream_name: str, server: str) -> None:
    arn = await create_active_stream(kinesis, stream_name)
    consumer = (await kinesis.register_stream_consumer(stream_arn=arn, consumer_name="app")).consumer.consumer_arn
    with pytest.raises(aiokinesis.ResourceNotFoundException):
        await kinesis.get_resource_policy(resource_arn=arn)  # none yet
    await kinesis.put_resource_policy(resource_arn=arn, policy=POLICY)
    await kinesis.put_resource_policy(resource_arn=consumer, policy="{}")
    assert (await kinesis.get_resource_policy(resource_arn=arn)).policy == POLICY
    assert (await kinesis.get_resource_policy(resource_arn=consumer)).policy == "{}"
    await kinesis.delete_resource_policy(resource_arn=arn)
    with pytest.raises(aiokinesis.ResourceNotFoundException):
        await kinesis.get_resource_policy(resource_arn=arn)
    await kinesis.delete_resource_policy(resource_arn=arn)  # none left: still fine
    with pytest.raises(aiokinesis.ResourceNotFoundException):
        await kinesis.put_resource_policy(resource_arn=f"{arn}-missing", policy=POLICY)
    if server == "kinesis-mock":
        return  # it keeps policies by ARN apart from streams: a stream made again would find the old one
    await kinesis.put_resource_policy(resource_arn=arn, policy=POLICY)
    await kinesis.delete_stream(stream_name=stream_name, enforce_consumer_deletion=True)
    await kinesis.wait.stream_not_exists(stream_name=stream_name, delay=0.05, max_wait=30)
    assert await create_active_stream(kinesis, stream_name) == arn
    with pytest.raises(aiokinesis.ResourceNotFoundException):
        await kinesis.get_resource_policy(resource_arn=arn)


async def test_account_settings_and_limits(kinesis: aiokinesis.Client, server: str) -> None:
    assert (await kinesis.describe_limits()).shard_limit >= 1
    enabled = await kinesis.update_account_settings(
        minimum_throughput_billing_commitment=aiokinesis.MinimumThroughputBillingCommitmentInput(
            status=aiokinesis.MinimumThroughputBillingCommitmentInputStatus.ENABLED
        )
    )
    described = (await kinesis.describe_account_settings()).minimum_throughput_billing_commitment
    assert described is not None
    assert described.status is aiokinesis.MinimumThroughputBillingCommitmentOutputStatus.ENABLED
    assert described.started_at is not None
    if server == "aiokinesis.testing":  # kinesis-mock answers UpdateAccountSettings with nothing
        assert enabled.minimum_throughput_billing_commitment == described
    await kinesis.update_account_settings(
        minimum_throughput_billing_commitment=aiokinesis.MinimumThroughputBillingCommitmentInput(
            status=aiokinesis.MinimumThroughputBillingCommitmentInputStatus.DISABLED
        )
    )


async def test_stream_mode_record_size_warm_throughput(kinesis: aiokinesis.Client, stream_name: str) -> None:
    arn = await create_active_stream(kinesis, stream_name)
    with pytest.raises(aiokinesis.InvalidArgumentException):
        await kinesis.update_stream_warm_throughput(stream_arn=arn, warm_throughput_mi_bps=10)  # provisioned
    await kinesis.update_stream_mode(
        stream_arn=arn, stream_mode_details=aiokinesis.StreamModeDetails(stream_mode=aiokinesis.StreamMode.ON_DEMAND)
    )
    summary = await kinesis.wait.stream_exists(stream_arn=arn, delay=0.05, max_wait=30)
    assert summary.stream_mode_details is not None
    assert summary.stream_mode_details.stream_mode is aiokinesis.StreamMode.ON_DEMAND

    await kinesis.update_max_record_size(stream_arn=arn, max_record_size_in_ki_b=2048)
    summary = await kinesis.wait.stream_exists(stream_arn=arn, delay=0.05, max_wait=30)
    assert summary.max_record_size_in_ki_b == 2048
    warm = await kinesis.update_stream_warm_throughput(stream_arn=arn, warm_throughput_mi_bps=10)
    assert warm.warm_throughput is not None
    assert warm.warm_throughput.target_mi_bps == 10
