"""aiokinesis.testing as an AWS account: streams per region (from the SigV4 credential scope), the
shard limit, and every request checked against the model's constraints, naming the member."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import orjson
import pytest

import aiokinesis
from aiokinesis.testing import Backend, KinesisServer, Limits
from tests.conftest import LOCAL_KEYS
from tests.fakes import FakeTime
from tests.faults.backend_calls import refusal


@pytest.fixture
async def server() -> AsyncIterator[KinesisServer]:
    async with KinesisServer(limits=Limits(enabled=False, shard_limit=6), account="111122223333") as local:
        yield local


def client(server: KinesisServer, region: str) -> aiokinesis.Client:
    return aiokinesis.Client(
        endpoint_url=server.endpoint_url,
        retry=aiokinesis.RetryConfig(max_attempts=1),
        **{**LOCAL_KEYS, "region": region},
    )


async def test_streams_are_kept_per_region_with_arns_of_the_signing_region(server: KinesisServer) -> None:
    async with client(server, "eu-west-1") as ireland, client(server, "ap-south-1") as mumbai:
        await ireland.create_stream(stream_name="orders", shard_count=1)
        await mumbai.create_stream(stream_name="orders", shard_count=2)  # same name, other region
        here = (await ireland.describe_stream_summary(stream_name="orders")).stream_description_summary
        there = (await mumbai.describe_stream_summary(stream_name="orders")).stream_description_summary
        assert here.stream_arn == "arn:aws:kinesis:eu-west-1:111122223333:stream/orders"
        assert there.stream_arn == "arn:aws:kinesis:ap-south-1:111122223333:stream/orders"
        assert (here.open_shard_count, there.open_shard_count) == (1, 2)
        await ireland.put_record(stream_name="orders", data=b"x", partition_key="k")
        assert (await mumbai.list_streams()).stream_names == ["orders"]
        await mumbai.delete_stream(stream_name="orders")
        assert (await mumbai.list_streams()).stream_names == []
        assert (await ireland.list_streams()).stream_names == ["orders"]
        with pytest.raises(aiokinesis.ResourceNotFoundException):  # another region's ARN is not found here
            await mumbai.describe_stream_summary(stream_arn=here.stream_arn)
    # Consumers live in their stream's region too.
    async with client(server, "eu-west-1") as ireland:
        consumer = await ireland.register_stream_consumer(stream_arn=here.stream_arn, consumer_name="app")
        assert consumer.consumer.consumer_arn.startswith("arn:aws:kinesis:eu-west-1:111122223333:stream/orders/")


async def test_unsigned_requests_and_direct_calls_use_the_servers_region() -> None:
    async with KinesisServer(region="eu-central-1", streams={"pre": 1}) as server:
        assert server.backend.streams["pre"].arn == "arn:aws:kinesis:eu-central-1:123456789012:stream/pre"
        async with aiohttp.ClientSession() as session:
            headers = {"X-Amz-Target": "Kinesis_20131202.ListStreams", "Content-Type": "application/x-amz-json-1.1"}
            async with session.post(server.endpoint_url, data=b"{}", headers=headers) as response:
                assert orjson.loads(await response.read())["StreamNames"] == ["pre"]
        async with client(server, "us-east-1") as virginia:
            assert (await virginia.list_streams()).stream_names == []


async def test_the_shard_limit_holds_for_create_split_and_update_shard_count(server: KinesisServer) -> None:
    async with client(server, "us-east-1") as kinesis:
        limits = await kinesis.describe_limits()
        assert (limits.shard_limit, limits.open_shard_count) == (6, 0)
        await kinesis.create_stream(stream_name="a", shard_count=4)
        with pytest.raises(aiokinesis.LimitExceededException, match="shard limit"):
            await kinesis.create_stream(stream_name="b", shard_count=3)
        await kinesis.create_stream(stream_name="b", shard_count=1)
        shard = (await kinesis.list_shards(stream_name="b")).shards or []
        await kinesis.split_shard(stream_name="b", shard_to_split=shard[0].shard_id, new_starting_hash_key=str(2**127))
        assert (await kinesis.describe_limits()).open_shard_count == 6
        with pytest.raises(aiokinesis.LimitExceededException):
            await kinesis.split_shard(stream_name="a", shard_to_split="shardId-000000000000", new_starting_hash_key="1")
        with pytest.raises(aiokinesis.LimitExceededException):
            await kinesis.update_shard_count(stream_name="a", target_shard_count=5, scaling_type="UNIFORM_SCALING")
        await kinesis.update_shard_count(stream_name="a", target_shard_count=2, scaling_type="UNIFORM_SCALING")
        assert (await kinesis.describe_limits()).open_shard_count == 4
    async with client(server, "us-west-2") as oregon:  # a limit per region
        await oregon.create_stream(stream_name="c", shard_count=6)


def test_a_pattern_broken_anywhere_is_a_validation_exception_naming_the_member() -> None:
    backend = Backend(clock=FakeTime().clock)
    backend.create_stream("s")
    error = refusal(backend, "SplitShard", StreamName="s", ShardToSplit="?", NewStartingHashKey="1")
    assert error.code == "ValidationException"
    assert error.message == (
        "1 validation error detected: Value '?' at 'shardToSplit' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
    )
    error = refusal(backend, "GetShardIterator", StreamName="s", ShardId="x" * 129, ShardIteratorType="OLDEST")
    assert error.message.startswith("2 validation errors detected: ")
    assert (
        "at 'shardId' failed to satisfy constraint: Member must have length less than or equal to 128" in error.message
    )
    assert (
        "Value 'OLDEST' at 'shardIteratorType' failed to satisfy constraint: Member must satisfy enum value set:"
        in (error.message)
    )


def test_nested_members_required_members_maps_and_types_are_checked() -> None:
    backend = Backend(clock=FakeTime().clock)
    backend.create_stream("s")
    records = [{"Data": "eA==", "PartitionKey": "k"}, {"Data": "eA==", "PartitionKey": ""}, {"PartitionKey": "k"}]
    error = refusal(backend, "PutRecords", StreamName="s", Records=records)
    assert error.code == "ValidationException"
    assert "Value '' at 'records.2.member.partitionKey' failed to satisfy constraint: Member must have length" in (
        error.message
    )
    assert "Value null at 'records.3.member.data' failed to satisfy constraint: Member must not be null" in (
        error.message
    )
    error = refusal(backend, "AddTagsToStream", StreamName="s", Tags={"k" * 129: "v"})
    assert "at 'tags' failed to satisfy constraint: Map keys must satisfy constraint: [Member must have length" in (
        error.message
    )
    assert refusal(backend, "CreateStream", StreamName="t", ShardCount="4").code == "SerializationException"
    error = refusal(backend, "CreateStream", StreamName="t", StreamModeDetails={})
    assert "Value null at 'streamModeDetails.streamMode'" in error.message
    error = refusal(backend, "ListShards", StreamName="s", ShardFilter={"Type": "AT_LATEST", "ShardId": "!"})
    assert "Value '!' at 'shardFilter.shardId'" in error.message
    assert "t" not in backend.streams  # nothing was created by a refused request
