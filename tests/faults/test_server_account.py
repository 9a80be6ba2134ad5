"""aiokinesis.testing as an AWS account: streams per region (from the SigV4 credential scope), the
shard limit, and every request checked against the model's constraints, naming the member."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest

import aiokinesis
from aiokinesis.testing import Backend, KinesisServer, Limits
from tests.conftest import LOCAL_KEYS
from tests.fakes import FakeTime
from tests.faults.backend_calls import refusal
from tests.models import document


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


MODEL = document("kinesis", "service-2")
PATTERN_BREAKERS = ("?", " ", "\n", "é")
OUT_OF_RANGE_INSTEAD = {("PutRecord", "ExplicitHashKey")}
"""Patterns AWS does not check: an ExplicitHashKey out of it is an InvalidArgumentException naming
the range, which the operation reports (PutRecords' entries are nested, beyond this sweep)."""


def broken_value(shape: dict[str, Any]) -> tuple[Any, str] | None:
    """A value of the shape's type that breaks one of its constraints, and how AWS words that one."""
    kind, low, high = shape["type"], shape.get("min"), shape.get("max")
    if kind == "string" and "enum" in shape:
        return "NOT_IN_THE_ENUM", "Member must satisfy enum value set"
    if kind in ("string", "list", "map") and low:
        return {"string": "", "list": [], "map": {}}[kind], "Member must have length greater than or equal to"
    if kind == "string" and high is not None:
        return "x" * (high + 1), "Member must have length less than or equal to"
    if kind == "string" and "pattern" in shape:
        pattern = re.compile(shape["pattern"], re.ASCII)
        value = next(v for v in PATTERN_BREAKERS if pattern.fullmatch(v) is None)
        return value, "Member must satisfy regular expression pattern"
    if kind in ("integer", "long") and low is not None:
        return low - 1, "Member must have value greater than or equal to"
    if kind in ("integer", "long") and high is not None:
        return high + 1, "Member must have value less than or equal to"
    return None


def constrained_members() -> list[tuple[str, str, Any, str]]:
    """(operation, member, a value breaking its constraint, AWS's words) for every top-level member
    with a constraint, in every operation the test server has (requests are checked before it runs)."""
    backend = Backend(clock=FakeTime().clock)
    cases = []
    for operation, spec in sorted(MODEL["operations"].items()):
        if "input" not in spec or backend.operation(operation) is None:
            continue
        for member, ref in MODEL["shapes"][spec["input"]["shape"]]["members"].items():
            broken = broken_value(MODEL["shapes"][ref["shape"]])
            if broken is not None and (operation, member) not in OUT_OF_RANGE_INSTEAD:
                cases.append((operation, member, *broken))
    return cases


CONSTRAINED = constrained_members()


def test_the_sweep_takes_in_every_operation_the_server_has() -> None:
    backend = Backend(clock=FakeTime().clock)
    served = {operation for operation in MODEL["operations"] if backend.operation(operation) is not None}
    # Not the account operations: their members have no constraint of their own (nested ones do).
    unconstrained = {"DescribeAccountSettings", "DescribeLimits", "UpdateAccountSettings"}
    assert {operation for operation, *_ in CONSTRAINED} == served - unconstrained
    assert {"UpdateMaxRecordSize", "UpdateStreamRecordDistributionStrategy", "UpdateStreamWarmThroughput"} <= served


@pytest.mark.parametrize(
    ("operation", "member", "value", "words"), CONSTRAINED, ids=[f"{o}.{m}" for o, m, *_ in CONSTRAINED]
)
def test_every_constrained_member_of_every_operation_is_refused_naming_it(
    operation: str, member: str, value: Any, words: str
) -> None:
    backend = Backend(clock=FakeTime().clock)
    error = refusal(backend, operation, **{member: value})
    assert error.code == "ValidationException"
    assert f"at '{member[:1].lower()}{member[1:]}' failed to satisfy constraint: {words}" in error.message
