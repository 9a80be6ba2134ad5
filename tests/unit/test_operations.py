"""Every operation against botocore itself: same request body, same parsed response."""

from __future__ import annotations

import base64
import dataclasses
import inspect
import json
from collections.abc import Mapping
from typing import Any

import orjson
import pytest
from aioresponses import CallbackResult, aioresponses
from botocore import xform_name
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

import aiokinesis
from aiokinesis._generated.operations import Operations
from tests.models import service_model

from .conftest import ANY_URL
from .samples import operation_sample, sample, to_wire

SERVICE = service_model("kinesis")
GENERATED = [name for name in SERVICE.operation_names if hasattr(Operations, xform_name(name))]


def snake_keys(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {xform_name(k): snake_keys(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [snake_keys(v) for v in value]
    return value


def without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_none(v) for v in value]
    return value


def test_every_model_operation_has_a_coroutine_on_the_client() -> None:
    for name in SERVICE.operation_names:
        assert inspect.iscoroutinefunction(getattr(aiokinesis.Client, xform_name(name), None)), name
    # Only the event-stream operation is written by hand (aiokinesis/subscriptions.py).
    assert set(SERVICE.operation_names) - set(GENERATED) == {"SubscribeToShard"}


@pytest.mark.parametrize("operation", GENERATED)
async def test_request_and_response_match_botocore(
    operation: str, kinesis: aiokinesis.Client, http: aioresponses
) -> None:
    op_model = SERVICE.operation_model(operation)
    ours, theirs = operation_sample(SERVICE, operation)
    expected_request = create_serializer("json").serialize_to_request(theirs, op_model)
    response_body = b""
    if op_model.output_shape is not None:
        _, wire_params = sample(op_model.output_shape)
        response_body = orjson.dumps(to_wire(op_model.output_shape, wire_params))
    seen: list[dict[str, Any]] = []

    def reply(url: Any, **kwargs: Any) -> CallbackResult:
        seen.append(kwargs)
        return CallbackResult(status=200, body=response_body)

    http.post(ANY_URL, callback=reply)
    result = await getattr(kinesis, xform_name(operation))(**ours)

    [request] = seen
    assert request["headers"]["X-Amz-Target"] == expected_request["headers"]["X-Amz-Target"]
    assert request["headers"]["Content-Type"] == "application/x-amz-json-1.1"
    assert request["headers"]["User-Agent"].startswith("aiokinesis/0.1.0 aiohttp/")
    assert "user-agent" not in request["headers"]["Authorization"]
    assert json.loads(request["data"]) == json.loads(expected_request["body"])
    if op_model.output_shape is None:
        assert result is None
    else:
        parsed = create_parser("json").parse(
            {"status_code": 200, "headers": {}, "body": response_body}, op_model.output_shape
        )
        if isinstance(result, aiokinesis.PutRecordsOutput):  # its records are decoded as read: a Sequence
            result = dataclasses.replace(result, records=list(result.records))
        assert without_none(dataclasses.asdict(result)) == snake_keys(parsed)


async def test_unknown_members_and_enum_values_are_tolerated(kinesis: aiokinesis.Client, http: aioresponses) -> None:
    http.post(
        ANY_URL,
        body=orjson.dumps(
            {"ShardId": "shardId-0", "SequenceNumber": "1", "EncryptionType": "QUANTUM", "Brand": {"New": 1}}
        ),
    )
    out = await kinesis.put_record(stream_name="s", data=b"x", partition_key="k")
    assert out.encryption_type == "QUANTUM"
    assert out.shard_id == "shardId-0"


async def test_known_enum_values_become_enum_members(kinesis: aiokinesis.Client, http: aioresponses) -> None:
    http.post(ANY_URL, body=orjson.dumps({"ShardId": "shardId-0", "SequenceNumber": "1", "EncryptionType": "KMS"}))
    out = await kinesis.put_record(stream_name="s", data=b"x", partition_key="k")
    assert out.encryption_type is aiokinesis.EncryptionType.KMS


async def test_records_decode_to_bytes_and_aware_datetimes(kinesis: aiokinesis.Client, http: aioresponses) -> None:
    record = {
        "SequenceNumber": "7",
        "ApproximateArrivalTimestamp": 1700000000.123,
        "Data": base64.b64encode(b"\x00payload").decode(),
        "PartitionKey": "k",
    }
    http.post(ANY_URL, body=orjson.dumps({"Records": [record], "NextShardIterator": "it", "MillisBehindLatest": 5}))
    out = await kinesis.get_records(shard_iterator="iterator")
    [got] = out.records
    assert got.data == b"\x00payload"
    assert got.approximate_arrival_timestamp is not None
    assert got.approximate_arrival_timestamp.utcoffset() is not None
    assert got.approximate_arrival_timestamp.timestamp() == pytest.approx(1700000000.123)
    assert out.millis_behind_latest == 5
    assert out.child_shards is None


async def test_missing_required_response_member_is_a_protocol_error(
    kinesis: aiokinesis.Client, http: aioresponses
) -> None:
    http.post(ANY_URL, body=b'{"ShardId": "shardId-0"}')
    with pytest.raises(aiokinesis.ProtocolError, match="PutRecord"):
        await kinesis.put_record(stream_name="s", data=b"x", partition_key="k")


@pytest.mark.parametrize("body", [b"<html>oops</html>", b"[1, 2]"])
async def test_non_object_success_body_is_a_protocol_error(
    body: bytes, kinesis: aiokinesis.Client, http: aioresponses
) -> None:
    http.post(ANY_URL, body=body)
    with pytest.raises(aiokinesis.ProtocolError, match="not"):
        await kinesis.describe_limits()
