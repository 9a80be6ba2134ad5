"""SigV4: our headers equal botocore's SigV4Auth for the same request and clock."""

from __future__ import annotations

import datetime as dt

import pytest

from aiokinesis._endpoints import endpoint_for_url
from aiokinesis._signing import FrozenCredentials, SigV4Signer

from .sigv4_reference import SECRET, botocore_headers

CASES = [
    # (url, region, target, body, token)
    ("https://kinesis.us-east-1.amazonaws.com/", "us-east-1", "Kinesis_20131202.PutRecord", b'{"a":1}', None),
    ("https://kinesis.eu-west-1.amazonaws.com/", "eu-west-1", "Kinesis_20131202.ListStreams", b"", None),
    (
        "https://kinesis.us-east-1.amazonaws.com/",
        "us-east-1",
        "Kinesis_20131202.GetRecords",
        b"{}",
        "FQoGZXIvYXdz//tok",
    ),
    (
        "https://123456789012.data-kinesis.us-west-2.amazonaws.com/",
        "us-west-2",
        "Kinesis_20131202.PutRecords",
        '{"Records":[{"PartitionKey":"ключ-🔑","Data":"AA=="}]}'.encode(),
        "token with  two   spaces",
    ),
    ("http://127.0.0.1:4568/", "us-east-1", "Kinesis_20131202.CreateStream", b'{"StreamName":"s"}', None),
    ("http://localhost:80/", "us-east-1", "Kinesis_20131202.DescribeLimits", b"{}", None),
    (
        "https://kinesis-fips.us-gov-west-1.amazonaws.com:443/",
        "us-gov-west-1",
        "Kinesis_20131202.ListShards",
        b"{}",
        None,
    ),
    ("http://[::1]:4568/", "us-east-1", "Kinesis_20131202.ListShards", b"{}", None),
    ("https://kinesis.cn-north-1.amazonaws.com.cn/", "cn-north-1", "Kinesis_20131202.PutRecord", b"\xff" * 3, None),
]
MOMENTS = [
    dt.datetime(2026, 11, 22, 10, 30, 0, tzinfo=dt.UTC),
    dt.datetime(2026, 11, 22, 23, 59, 59, 999999, tzinfo=dt.UTC),  # day rollover next
    dt.datetime(2026, 11, 23, 0, 0, 0, tzinfo=dt.UTC),
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
    expected = botocore_headers(
        "kinesis", "application/x-amz-json-1.1", url, region, target, body, token, moment, monkeypatch
    )
    host = endpoint_for_url(url, region).host
    ours = SigV4Signer(region).headers(
        host, target, body, FrozenCredentials("AKIDEXAMPLE", SECRET, token), moment.timestamp()
    )
    assert ours == expected


def test_signing_key_is_reused_within_a_day_and_renewed_after() -> None:
    signer = SigV4Signer("us-east-1")
    creds = FrozenCredentials("AKIDEXAMPLE", SECRET)
    day = dt.datetime(2026, 11, 22, 1, tzinfo=dt.UTC).timestamp()
    signer.headers("h", "T.Op", b"", creds, day)
    first = signer._key_cache
    signer.headers("h", "T.Op", b"", creds, day + 3600)
    assert signer._key_cache is first
    signer.headers("h", "T.Op", b"", creds, day + 86400)
    assert signer._key_cache is not first
    rotated = FrozenCredentials("AKIDEXAMPLE", "another-secret")
    signer.headers("h", "T.Op", b"", rotated, day + 86400)
    assert signer._key_cache is not None
    assert signer._key_cache.secret == "another-secret"


def test_credentials_repr_hides_secret_and_token() -> None:
    creds = FrozenCredentials("AKIDEXAMPLE", SECRET, "session-token-value")
    assert SECRET not in repr(creds)
    assert "session-token-value" not in repr(creds)
    assert SECRET not in str(creds)
