"""The API's rules across members, which the model cannot express: refused before anything is sent."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from aioresponses import aioresponses
from botocore import xform_name

import aiokinesis
from aiokinesis import PutRecordsRequestEntry as Entry
from aiokinesis import StartingPosition

from .conftest import ANY_URL
from .samples import operation_sample
from .test_operations import GENERATED, SERVICE

MiB = 1024 * 1024
WHEN = datetime(2026, 1, 1, tzinfo=UTC)
ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/s"
CONSUMER = f"{ARN}/consumer/c:1"


def takes_stream_name_or_arn(operation: str) -> bool:
    shape = SERVICE.operation_model(operation).input_shape
    if shape is None or operation == "ListShards":  # ListShards: NextToken names the stream too
        return False
    members, required = shape.members, set(shape.required_members)
    return "StreamName" in members and "StreamARN" in members and not {"StreamName", "StreamARN"} & required


NAMED_BY_STREAM = [name for name in GENERATED if takes_stream_name_or_arn(name)]


async def refused(kinesis: aiokinesis.Client, http: aioresponses, call: str, **kwargs: Any) -> str:
    """The refused field's name and problem, as `field: problem`; asserts nothing was sent."""
    with pytest.raises(aiokinesis.ParamValidationError) as caught:
        await getattr(kinesis, call)(**kwargs)
    assert http.requests == {}
    return f"{caught.value.field}: {caught.value.problem}"


def test_every_stream_operation_is_covered() -> None:
    assert len(NAMED_BY_STREAM) >= 19
    assert {"PutRecord", "PutRecords", "GetShardIterator", "DescribeStreamSummary"} <= set(NAMED_BY_STREAM)


@pytest.mark.parametrize("operation", NAMED_BY_STREAM)
async def test_a_stream_operation_needs_a_stream_name_or_arn(
    operation: str, kinesis: aiokinesis.Client, http: aioresponses
) -> None:
    kwargs, _ = operation_sample(SERVICE, operation)
    kwargs.update(stream_name=None, stream_arn=None)
    assert await refused(kinesis, http, xform_name(operation), **kwargs) == (
        "stream_name: is required when stream_arn is not given"
    )


@pytest.mark.parametrize("given", [{"stream_name": "s"}, {"stream_arn": ARN}, {"stream_name": "s", "stream_arn": ARN}])
async def test_either_or_both_name_the_stream(
    given: dict[str, Any], kinesis: aiokinesis.Client, http: aioresponses
) -> None:
    http.post(ANY_URL, body=b"{}")
    await kinesis.delete_stream(**given)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"shard_iterator_type": "AT_TIMESTAMP"}, "timestamp: is required when shard_iterator_type is AT_TIMESTAMP"),
        (
            {"shard_iterator_type": aiokinesis.ShardIteratorType.AT_SEQUENCE_NUMBER},
            "starting_sequence_number: is required when shard_iterator_type is AT_SEQUENCE_NUMBER",
        ),
        (
            {"shard_iterator_type": "AFTER_SEQUENCE_NUMBER", "timestamp": WHEN},
            "starting_sequence_number: is required when shard_iterator_type is AFTER_SEQUENCE_NUMBER",
        ),
    ],
)
async def test_an_iterator_position_needs_its_sequence_number_or_timestamp(
    kwargs: dict[str, Any], expected: str, kinesis: aiokinesis.Client, http: aioresponses
) -> None:
    assert (
        await refused(kinesis, http, "get_shard_iterator", stream_name="s", shard_id="shardId-0", **kwargs) == expected
    )


@pytest.mark.parametrize(
    ("position", "expected"),
    [
        (
            StartingPosition(type="AT_SEQUENCE_NUMBER"),
            "starting_position.sequence_number: is required when type is AT_SEQUENCE_NUMBER",
        ),
        (StartingPosition(type="AT_TIMESTAMP"), "starting_position.timestamp: is required when type is AT_TIMESTAMP"),
    ],
)
async def test_a_subscription_position_needs_its_sequence_number_or_timestamp(
    position: StartingPosition, expected: str, kinesis: aiokinesis.Client, http: aioresponses
) -> None:
    got = await refused(
        kinesis, http, "subscribe_to_shard", consumer_arn=CONSUMER, shard_id="shardId-0", starting_position=position
    )
    assert got == expected


@pytest.mark.parametrize(
    ("position", "expected"),
    [
        (
            aiokinesis.QueueStartingPosition(type="AT_TIMESTAMP"),
            "stream_configuration_list[0].starting_position.timestamp: is required when type is AT_TIMESTAMP",
        ),
        (
            aiokinesis.QueueStartingPosition(type="LATEST", timestamp=WHEN),
            "stream_configuration_list[0].starting_position.timestamp: is only allowed when type is AT_TIMESTAMP,"
            " not LATEST",
        ),
    ],
)
async def test_a_queue_position_takes_a_timestamp_with_at_timestamp_only(
    position: aiokinesis.QueueStartingPosition, expected: str, kinesis: aiokinesis.Client, http: aioresponses
) -> None:
    config = aiokinesis.QueueStreamConfiguration(stream_arn=ARN, starting_position=position)
    assert await refused(kinesis, http, "create_queue", queue_name="q", stream_configuration_list=[config]) == expected


@pytest.mark.parametrize(
    ("shard_filter", "expected"),
    [
        (
            aiokinesis.ShardFilter(type="AFTER_SHARD_ID"),
            "shard_filter.shard_id: is required when type is AFTER_SHARD_ID",
        ),
        (aiokinesis.ShardFilter(type="AT_TIMESTAMP"), "shard_filter.timestamp: is required when type is AT_TIMESTAMP"),
        (
            aiokinesis.ShardFilter(type="FROM_TIMESTAMP"),
            "shard_filter.timestamp: is required when type is FROM_TIMESTAMP",
        ),
    ],
)
async def test_a_shard_filter_needs_what_its_type_names(
    shard_filter: aiokinesis.ShardFilter, expected: str, kinesis: aiokinesis.Client, http: aioresponses
) -> None:
    assert await refused(kinesis, http, "list_shards", stream_name="s", shard_filter=shard_filter) == expected


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, "stream_name: is required when neither stream_arn nor next_token is given"),
        ({"next_token": "t", "stream_name": "s"}, "stream_name: cannot be given with next_token"),
        (
            {"next_token": "t", "exclusive_start_shard_id": "shardId-1"},
            "exclusive_start_shard_id: cannot be given with next_token",
        ),
        (
            {"next_token": "t", "stream_creation_timestamp": WHEN},
            "stream_creation_timestamp: cannot be given with next_token",
        ),
    ],
)
async def test_list_shards_names_the_stream_or_continues_a_token(
    kwargs: dict[str, Any], expected: str, kinesis: aiokinesis.Client, http: aioresponses
) -> None:
    assert await refused(kinesis, http, "list_shards", **kwargs) == expected


@pytest.mark.parametrize("kwargs", [{"next_token": "t"}, {"next_token": "t", "stream_arn": ARN}, {"stream_arn": ARN}])
async def test_list_shards_accepts_a_token_alone(
    kwargs: dict[str, Any], kinesis: aiokinesis.Client, http: aioresponses
) -> None:
    http.post(ANY_URL, body=b'{"Shards": []}')
    await kinesis.list_shards(**kwargs)


async def test_update_max_record_size_needs_the_stream_arn(kinesis: aiokinesis.Client, http: aioresponses) -> None:
    got = await refused(kinesis, http, "update_max_record_size", max_record_size_in_ki_b=2048)
    assert got.startswith("stream_arn: is required")


@pytest.mark.parametrize("call", ["describe_stream_consumer", "deregister_stream_consumer"])
@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, "consumer_arn: is required when stream_arn and consumer_name are not given"),
        ({"stream_arn": ARN}, "consumer_name: is required with stream_arn when consumer_arn is not given"),
        ({"consumer_name": "c"}, "stream_arn: is required with consumer_name when consumer_arn is not given"),
    ],
)
async def test_a_consumer_is_named_by_its_arn_or_by_stream_and_name(
    call: str, kwargs: dict[str, Any], expected: str, kinesis: aiokinesis.Client, http: aioresponses
) -> None:
    assert await refused(kinesis, http, call, **kwargs) == expected


@pytest.mark.parametrize(
    ("call", "hours", "expected"),
    [
        ("increase_stream_retention_period", -1, "retention_period_hours: is -1, below the minimum of 24"),
        ("increase_stream_retention_period", 8761, "retention_period_hours: is 8761, above the maximum of 8760"),
        ("decrease_stream_retention_period", 23, "retention_period_hours: is 23, below the minimum of 24"),
        ("decrease_stream_retention_period", 0, "retention_period_hours: is 0, below the minimum of 24"),
    ],
)
async def test_retention_is_24_to_8760_hours(
    call: str, hours: int, expected: str, kinesis: aiokinesis.Client, http: aioresponses
) -> None:
    assert await refused(kinesis, http, call, stream_name="s", retention_period_hours=hours) == expected


@pytest.mark.parametrize("hours", [24, 8760])
async def test_retention_limits_are_inclusive(hours: int, kinesis: aiokinesis.Client, http: aioresponses) -> None:
    http.post(ANY_URL, body=b"")
    await kinesis.increase_stream_retention_period(stream_name="s", retention_period_hours=hours)


async def test_an_explicit_hash_key_above_128_bits_is_refused(kinesis: aiokinesis.Client, http: aioresponses) -> None:
    too_big = str(2**128)
    got = await refused(kinesis, http, "put_record", stream_name="s", data=b"x", explicit_hash_key=too_big)
    assert got == f"explicit_hash_key: {too_big} is above the largest hash key, 2**128 - 1"
    entries = [Entry(data=b"x", partition_key="k"), Entry(data=b"x", partition_key="k", explicit_hash_key="9" * 39)]
    got = await refused(kinesis, http, "put_records", stream_name="s", records=entries)
    assert got.startswith("records[1].explicit_hash_key: 999")
    got = await refused(
        kinesis, http, "split_shard", stream_name="s", shard_to_split="shardId-0", new_starting_hash_key=too_big
    )
    assert got.startswith("new_starting_hash_key:")


async def test_the_largest_hash_key_is_sent(kinesis: aiokinesis.Client, http: aioresponses) -> None:
    http.post(ANY_URL, body=orjson.dumps({"ShardId": "shardId-0", "SequenceNumber": "1"}))
    await kinesis.put_record(stream_name="s", data=b"x", explicit_hash_key=str(2**128 - 1))
    [[request]] = http.requests.values()
    assert orjson.loads(request.kwargs["data"])["ExplicitHashKey"] == str(2**128 - 1)


async def test_a_put_records_request_above_10_mib_is_refused(kinesis: aiokinesis.Client, http: aioresponses) -> None:
    # Each record is within 10 MiB; the request is above it by its partition keys alone.
    entries = [Entry(data=bytes(MiB), partition_key="k") for _ in range(10)]
    got = await refused(kinesis, http, "put_records", stream_name="s", records=entries)
    total = 10 * MiB + 10
    assert got == f"records: have {total} bytes of data and partition keys, above the maximum of {10 * MiB} per request"


async def test_a_record_above_10_mib_with_its_key_is_refused(kinesis: aiokinesis.Client, http: aioresponses) -> None:
    entries = [Entry(data=b"x", partition_key="k"), Entry(data=bytes(10 * MiB), partition_key="\u00e9")]
    got = await refused(kinesis, http, "put_records", stream_name="s", records=entries)
    assert (
        got
        == f"records[1]: has {10 * MiB + 2} bytes of data and partition key, above the maximum of {10 * MiB} per record"
    )
    got = await refused(kinesis, http, "put_record", stream_name="s", data=bytes(10 * MiB), partition_key="kk")
    assert got == f"data: has {10 * MiB + 2} bytes with its partition key, above the maximum of {10 * MiB} per record"


async def test_keys_are_counted_in_utf8_bytes_at_the_limit(kinesis: aiokinesis.Client, http: aioresponses) -> None:
    # 256 two-byte characters: within the limit by their bytes, though not at four bytes a character.
    key = "\u00e9" * 256
    http.post(ANY_URL, body=orjson.dumps({"Records": [{"ShardId": "shardId-0", "SequenceNumber": "1"}]}))
    await kinesis.put_records(stream_name="s", records=[Entry(data=bytes(10 * MiB - 512), partition_key=key)])
    http.post(ANY_URL, body=orjson.dumps({"ShardId": "shardId-0", "SequenceNumber": "1"}))
    await kinesis.put_record(stream_name="s", data=bytes(10 * MiB - 512), partition_key=key)


async def test_one_byte_over_with_a_multibyte_key_is_refused(kinesis: aiokinesis.Client, http: aioresponses) -> None:
    key = "\u00e9" * 256
    got = await refused(kinesis, http, "put_record", stream_name="s", data=bytes(10 * MiB - 511), partition_key=key)
    assert got.startswith(f"data: has {10 * MiB + 1} bytes")
    entries = [Entry(data=bytes(10 * MiB - 511), partition_key=key)]
    got = await refused(kinesis, http, "put_records", stream_name="s", records=entries)
    assert got.startswith(f"records[0]: has {10 * MiB + 1} bytes")
