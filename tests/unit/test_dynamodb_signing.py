"""SigV4 for DynamoDB (signing name dynamodb, JSON 1.0): our headers equal botocore's SigV4Auth."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from aioresponses import CallbackResult, aioresponses

from aiokinesis._endpoints import endpoint_for_url
from aiokinesis._signing import FrozenCredentials, SigV4Signer
from tests.fakes import FakeTime

from .conftest import ANY_URL, make_client
from .sigv4_reference import SECRET, botocore_headers

CONTENT_TYPE = "application/x-amz-json-1.0"
CASES = [
    # (url, region, target, body, token)
    (
        "https://dynamodb.us-east-1.amazonaws.com/",
        "us-east-1",
        "DynamoDB_20120810.UpdateItem",
        b'{"TableName":"leases","Key":{"leaseKey":{"S":"shardId-0"}}}',
        None,
    ),
    ("https://dynamodb.eu-west-1.amazonaws.com/", "eu-west-1", "DynamoDB_20120810.Scan", b"", None),
    (
        "https://dynamodb-fips.us-east-1.amazonaws.com/",
        "us-east-1",
        "DynamoDB_20120810.GetItem",
        b"{}",
        "FQoGZXIvYXdz//tok",
    ),
    (
        "https://dynamodb.cn-north-1.amazonaws.com.cn/",
        "cn-north-1",
        "DynamoDB_20120810.PutItem",
        '{"Item":{"leaseOwner":{"S":"wörker-🔑"}}}'.encode(),
        "token with  two   spaces",
    ),
    ("http://127.0.0.1:8000/", "us-east-1", "DynamoDB_20120810.CreateTable", b'{"TableName":"t"}', None),
]
MOMENTS = [
    dt.datetime(2026, 11, 22, 10, 30, 0, tzinfo=dt.UTC),
    dt.datetime(2026, 11, 22, 23, 59, 59, 999999, tzinfo=dt.UTC),
]


@pytest.mark.parametrize("moment", MOMENTS, ids=lambda m: m.isoformat())
@pytest.mark.parametrize(("url", "region", "target", "body", "token"), CASES)
def test_signature_is_byte_identical_to_botocore(
    url: str,
    region: str,
    target: str,
    body: bytes,
    token: str | None,
    moment: dt.datetime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    expected = botocore_headers("dynamodb", CONTENT_TYPE, url, region, target, body, token, moment, monkeypatch)
    signer = SigV4Signer(region, "dynamodb", content_type=CONTENT_TYPE)
    host = endpoint_for_url(url, region).host
    ours = signer.headers(host, target, body, FrozenCredentials("AKIDEXAMPLE", SECRET, token), moment.timestamp())
    assert ours == expected


async def test_what_the_dynamodb_client_sends_is_signed_as_botocore_signs_it(
    fake_time: FakeTime, http: aioresponses, monkeypatch: pytest.MonkeyPatch
) -> None:
    """End to end: the session picks the signing name and content type from its service."""
    seen: list[tuple[str, dict[str, str], bytes]] = []

    def reply(url: Any, **kwargs: Any) -> CallbackResult:
        seen.append((str(url), kwargs["headers"], kwargs["data"]))
        return CallbackResult(body=b"{}")

    http.post(ANY_URL, callback=reply)
    async with make_client(fake_time, region="eu-west-1", aws_session_token="tok") as kinesis:
        await kinesis._dynamodb().get_item(table_name="leases", key={"leaseKey": {"S": "k"}}, consistent_read=True)
    [(url, headers, body)] = seen
    moment = dt.datetime.fromtimestamp(fake_time.now, dt.UTC)
    expected = botocore_headers(
        "dynamodb", CONTENT_TYPE, url, "eu-west-1", "DynamoDB_20120810.GetItem", body, "tok", moment, monkeypatch
    )
    unsigned = {"User-Agent", "Accept-Encoding"}  # neither is in SignedHeaders, as with botocore
    assert {k: v for k, v in headers.items() if k not in unsigned} == expected
    assert "accept-encoding" not in headers["Authorization"]
