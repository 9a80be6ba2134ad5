"""DynamoDB's x-amz-crc32: an answer whose body fails it was damaged on the way, and is retried."""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from aioresponses import CallbackResult, aioresponses

import aiokinesis
from aiokinesis.errors import DynamoDBError
from tests.fakes import FakeTime

from .conftest import ANY_URL, make_client

KEY = {"leaseKey": {"S": "shardId-000000000000"}}
ITEM = orjson.dumps({"Item": {"leaseKey": {"S": "shardId-000000000000"}, "leaseCounter": {"N": "7"}}})
CONDITION_FAILED = orjson.dumps(
    {"__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException", "message": "The conditional..."}
)


def crc(body: bytes) -> str:
    return str(zlib.crc32(body))


@pytest.fixture
async def kinesis(fake_time: FakeTime, http: aioresponses) -> AsyncIterator[aiokinesis.Client]:
    async with make_client(fake_time, retry=aiokinesis.RetryConfig(max_attempts=3)) as client:
        yield client


async def get(kinesis: aiokinesis.Client) -> Any:
    return await kinesis._dynamodb().get_item(table_name="leases", key=KEY)


async def test_a_body_that_fails_its_crc32_is_retried_like_a_truncated_one(
    kinesis: aiokinesis.Client, http: aioresponses, fake_time: FakeTime
) -> None:
    http.post(ANY_URL, body=ITEM[:-9] + b'"N": "8"}}}', headers={"x-amz-crc32": crc(ITEM)})  # damaged in flight
    http.post(ANY_URL, body=ITEM, headers={"x-amz-crc32": crc(ITEM)})
    out = await get(kinesis)
    assert out.item == {"leaseKey": {"S": "shardId-000000000000"}, "leaseCounter": {"N": "7"}}
    assert fake_time.sleeps == [0.05]  # a transient retry, as for a connection lost mid-body


async def test_a_crc32_that_keeps_failing_gives_up_after_max_attempts_naming_operation_header_and_body(
    kinesis: aiokinesis.Client, http: aioresponses, fake_time: FakeTime
) -> None:
    http.post(ANY_URL, body=ITEM, headers={"x-amz-crc32": "12345"}, repeat=True)
    with pytest.raises(aiokinesis.ConnectionLostError) as caught:
        await get(kinesis)
    assert len(fake_time.sleeps) == 2  # three attempts
    message = str(caught.value)
    assert message.startswith("GetItem: the answer from dynamodb.us-east-1.amazonaws.com fails its x-amz-crc32 check")
    assert "header '12345'" in message
    assert f"CRC32 of the {len(ITEM)}-byte body {crc(ITEM)}" in message
    assert caught.value.retryable
    assert caught.value.may_have_reached_server


async def test_an_error_answer_is_checked_too(
    kinesis: aiokinesis.Client, http: aioresponses, fake_time: FakeTime
) -> None:
    """A damaged error body could name the wrong error: it is retried, not mapped."""
    http.post(ANY_URL, status=400, body=CONDITION_FAILED, headers={"x-amz-crc32": "1"})
    http.post(ANY_URL, status=400, body=CONDITION_FAILED, headers={"x-amz-crc32": crc(CONDITION_FAILED)})
    with pytest.raises(DynamoDBError) as caught:
        await get(kinesis)
    assert caught.value.code == "ConditionalCheckFailedException"
    assert fake_time.sleeps == [0.05]


@pytest.mark.parametrize("headers", [{"x-amz-crc32": crc(ITEM)}, {"X-Amz-Crc32": f" {crc(ITEM)} "}, {}])
async def test_a_right_or_missing_crc32_passes_at_once(
    headers: dict[str, str], kinesis: aiokinesis.Client, http: aioresponses, fake_time: FakeTime
) -> None:
    http.post(ANY_URL, body=ITEM, headers=headers)
    assert (await get(kinesis)).item is not None
    assert fake_time.sleeps == []


async def test_a_body_aiohttp_decoded_is_not_checked(
    kinesis: aiokinesis.Client, http: aioresponses, fake_time: FakeTime
) -> None:
    """The checksum is of the encoded bytes, which aiohttp does not keep: nothing to check against."""
    http.post(ANY_URL, body=ITEM, headers={"x-amz-crc32": "1", "Content-Encoding": "gzip"})
    assert (await get(kinesis)).item is not None
    assert fake_time.sleeps == []


async def test_dynamodb_asks_for_unencoded_answers_and_kinesis_ignores_the_header(
    kinesis: aiokinesis.Client, http: aioresponses, fake_time: FakeTime
) -> None:
    seen: list[dict[str, str]] = []

    def reply(url: Any, **kwargs: Any) -> CallbackResult:
        seen.append(kwargs["headers"])
        return CallbackResult(body=ITEM, headers={"x-amz-crc32": crc(ITEM)})

    http.post(ANY_URL, callback=reply)
    await get(kinesis)
    assert seen[0]["Accept-Encoding"] == "identity"  # the checksum is of the bytes on the wire

    listed = orjson.dumps({"StreamNames": [], "HasMoreStreams": False})
    http.post(ANY_URL, body=listed, headers={"x-amz-crc32": "1"})  # Kinesis sends none: not its to check
    assert (await kinesis.list_streams()).stream_names == []
    assert fake_time.sleeps == []
