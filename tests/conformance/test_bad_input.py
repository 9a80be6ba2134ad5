"""Error answers to requests that break the rules, sent raw (our client would refuse them).

Expected codes are AWS's; where kinesis-mock answers otherwise, the case names its answer.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest

pytestmark = pytest.mark.integration

DATA = base64.b64encode(b"x").decode()
HEADERS = {
    "Content-Type": "application/x-amz-json-1.1",
    "X-Amz-Date": "20261122T100000Z",
    "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDLOCAL/20261122/us-east-1/kinesis/aws4_request, "
    "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0",
}
# (operation, body, AWS's (status, code), kinesis-mock's where it differs)
CASES: list[tuple[str, dict[str, Any], tuple[int, str], tuple[int, str] | None]] = [
    ("DescribeStream", {"StreamName": "bad name"}, (400, "ValidationException"), (400, "InvalidArgumentException")),
    (
        "CreateStream",
        {"StreamName": "s", "ShardCount": 0},
        (400, "ValidationException"),
        (400, "LimitExceededException"),
    ),
    (
        "PutRecord",
        {"StreamName": "conformance", "Data": DATA, "PartitionKey": "k" * 257},
        (400, "ValidationException"),
        (400, "InvalidArgumentException"),
    ),
    (
        "PutRecords",
        {"StreamName": "conformance", "Records": [{"Data": DATA, "PartitionKey": "k"}] * 501},
        (400, "ValidationException"),
        (200, ""),  # kinesis-mock accepts 501 records
    ),
    ("GetRecords", {"ShardIterator": "x" * 100}, (400, "InvalidArgumentException"), (500, "")),  # empty 500
    (
        "GetShardIterator",
        {"StreamName": "conformance", "ShardId": "shardId-000000000009", "ShardIteratorType": "LATEST"},
        (400, "ResourceNotFoundException"),
        None,
    ),
    (
        "PutRecord",
        {"StreamName": "conformance", "Data": DATA, "PartitionKey": "k", "ExplicitHashKey": "-5"},
        (400, "InvalidArgumentException"),
        None,
    ),
    (
        "PutRecord",  # a digit of another script ("1" and Arabic-Indic three): Java's \d takes ASCII only
        {"StreamName": "conformance", "Data": DATA, "PartitionKey": "k", "ExplicitHashKey": "1\u0663"},
        (400, "InvalidArgumentException"),
        None,
    ),
    ("DescribeStreamSummary", {}, (400, "InvalidArgumentException"), None),
    ("ListShards", {"StreamName": "conformance", "NextToken": "abc"}, (400, "InvalidArgumentException"), None),
    ("DescribeStream", {"StreamName": "no-such-stream"}, (400, "ResourceNotFoundException"), None),
    ("CreateStream", {"StreamName": "conformance", "ShardCount": 1}, (400, "ResourceInUseException"), None),
]


@pytest.fixture
async def http(endpoint: str) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=endpoint) as session:
        if not await _exists(session, "conformance"):
            status, _ = await _call(session, "CreateStream", {"StreamName": "conformance", "ShardCount": 1})
            assert status == 200
        yield session


async def _call(session: aiohttp.ClientSession, operation: str, body: dict[str, Any]) -> tuple[int, str]:
    headers = {**HEADERS, "X-Amz-Target": f"Kinesis_20131202.{operation}"}
    async with session.post("/", data=orjson.dumps(body), headers=headers) as response:
        raw = await response.read()
    doc = orjson.loads(raw) if raw.startswith(b"{") else {}
    return response.status, str(doc.get("__type", "")).rpartition("#")[2]


async def _exists(session: aiohttp.ClientSession, name: str) -> bool:
    status, _ = await _call(session, "DescribeStreamSummary", {"StreamName": name})
    return status == 200


@pytest.mark.parametrize(
    ("operation", "body", "aws", "kinesis_mock"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
async def test_bad_input_gets_the_error_aws_sends(
    operation: str,
    body: dict[str, Any],
    aws: tuple[int, str],
    kinesis_mock: tuple[int, str] | None,
    server: str,
    http: aiohttp.ClientSession,
) -> None:
    status, code = await _call(http, operation, body)
    expected = kinesis_mock if server == "kinesis-mock" and kinesis_mock is not None else aws
    assert (status, code) == expected
