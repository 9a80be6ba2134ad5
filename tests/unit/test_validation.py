"""Bad input is refused before anything is sent, naming the field and the limit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from aioresponses import aioresponses

import aiokinesis
from aiokinesis import PutRecordsRequestEntry as Entry


def entries(count: int) -> list[Entry]:
    return [Entry(data=b"x", partition_key=str(i)) for i in range(count)]


@pytest.mark.parametrize(
    ("call", "kwargs", "field", "problem"),
    [
        ("put_records", {"records": entries(501)}, "records", "501 items, above the maximum of 500"),
        ("put_records", {"records": []}, "records", "0 items, below the minimum of 1"),
        (
            "put_records",
            {"records": [*entries(3), Entry(data=b"x", partition_key="k" * 257)]},
            "records[3].partition_key",
            "257 characters, above the maximum of 256",
        ),
        (
            "put_records",
            {"records": [*entries(2), Entry(data=b"x", partition_key="k", explicit_hash_key="-1")]},
            "records[2].explicit_hash_key",
            "does not match the pattern",
        ),
        (
            "put_records",
            {"records": [*entries(1), "not an entry"]},
            "records[1]",
            "must be PutRecordsRequestEntry or a (data, partition_key[, explicit_hash_key]) tuple, not str",
        ),
        (
            "put_records",
            {"records": [Entry(data="text", partition_key="k")]},  # type: ignore[arg-type]
            "records[0].data",
            "must be bytes, not str",
        ),
        (
            "put_record",
            {"data": b"x" * (10 * 1024 * 1024 + 1), "partition_key": "k"},
            "data",
            "above the maximum of 10485760",
        ),
        ("put_record", {"data": b"x", "partition_key": ""}, "partition_key", "0 characters, below the minimum of 1"),
        ("put_record", {"data": None, "partition_key": "k"}, "data", "is required"),
        ("create_stream", {"stream_name": "has space"}, "stream_name", "does not match the pattern"),
        ("create_stream", {"stream_name": "s" * 129}, "stream_name", "above the maximum of 128"),
        ("create_stream", {"stream_name": "s", "shard_count": 0}, "shard_count", "is 0, below the minimum of 1"),
        ("create_stream", {"stream_name": "s", "shard_count": True}, "shard_count", "must be an integer, not bool"),
        ("create_stream", {"stream_name": "s", "tags": {"": "v"}}, "tags['']", "below the minimum of 1"),
        ("get_records", {"shard_iterator": "it", "limit": 10001}, "limit", "is 10001, above the maximum of 10000"),
        (
            "get_shard_iterator",
            {
                "stream_name": "s",
                "shard_id": "shardId-0",
                "shard_iterator_type": "AT_TIMESTAMP",
                "timestamp": datetime(2026, 1, 1),
            },
            "timestamp",
            "timezone-aware",
        ),
        (
            "list_shards",
            {"stream_name": "s", "shard_filter": aiokinesis.ShardFilter(type="AT_LATEST", shard_id="bad id")},
            "shard_filter.shard_id",
            "does not match the pattern",
        ),
        ("add_tags_to_stream", {"stream_name": "s", "tags": {f"k{i}": "v" for i in range(201)}}, "tags", "201 entries"),
    ],
)
async def test_invalid_requests_are_refused_before_sending(
    call: str, kwargs: dict[str, Any], field: str, problem: str, kinesis: aiokinesis.Client, http: aioresponses
) -> None:
    with pytest.raises(aiokinesis.ParamValidationError) as caught:
        await getattr(kinesis, call)(**kwargs)
    assert caught.value.field == field
    assert problem in caught.value.problem
    assert f"invalid {field}" in str(caught.value)
    assert http.requests == {}


async def test_validation_error_is_a_client_error(kinesis: aiokinesis.Client) -> None:
    with pytest.raises(aiokinesis.ClientError):
        await kinesis.put_record(stream_name="s", data=b"x", partition_key="")


async def test_long_values_are_shortened_in_messages(kinesis: aiokinesis.Client) -> None:
    with pytest.raises(aiokinesis.ParamValidationError) as caught:
        await kinesis.describe_stream(stream_arn="x" * 2000)
    assert len(str(caught.value)) < 250
