"""Client lifecycle, endpoints and credentials: open, closed, owned pools, warnings, hosts."""

from __future__ import annotations

import datetime as dt
import gc
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from aioresponses import CallbackResult, aioresponses
from botocore.credentials import RefreshableCredentials

import aiokinesis
from aiokinesis._credentials import CredentialSource
from tests.fakes import FakeTime

from .conftest import ANY_URL, make_client

LIMITS = orjson.dumps({"ShardLimit": 1, "OpenShardCount": 0, "OnDemandStreamCount": 0, "OnDemandStreamCountLimit": 1})
STREAM_ARN = "arn:aws:kinesis:us-west-2:123456789012:stream/orders"


def capture(http: aioresponses, body: bytes = LIMITS) -> list[tuple[str, dict[str, Any]]]:
    seen: list[tuple[str, dict[str, Any]]] = []

    def reply(url: Any, **kwargs: Any) -> CallbackResult:
        seen.append((str(url), kwargs["headers"]))
        return CallbackResult(body=body)

    http.post(ANY_URL, callback=reply, repeat=True)
    return seen


@pytest.fixture
def clean_aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No credentials or region from the developer's machine; IMDS off."""
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return tmp_path


async def test_closed_client_refuses_calls_and_close_is_idempotent(fake_time: FakeTime, http: aioresponses) -> None:
    client = make_client(fake_time)
    async with client:
        pass
    await client.aclose()
    with pytest.raises(aiokinesis.ClientClosedError):
        await client.describe_limits()
    with pytest.raises(aiokinesis.ClientClosedError):
        async with client:
            pass


async def test_client_opens_on_first_call_without_a_context_manager(fake_time: FakeTime, http: aioresponses) -> None:
    capture(http)
    client = make_client(fake_time)
    try:
        limits = await client.describe_limits()
        assert limits.shard_limit == 1
    finally:
        await client.aclose()


async def test_a_given_aiohttp_session_is_used_but_not_closed(fake_time: FakeTime, http: aioresponses) -> None:
    seen = capture(http)
    async with aiohttp.ClientSession() as own:
        async with make_client(fake_time, http_session=own) as kinesis:
            await kinesis.describe_limits()
        assert not own.closed
        assert len(seen) == 1


async def test_an_unclosed_client_warns(fake_time: FakeTime, http: aioresponses) -> None:
    capture(http)
    client = make_client(fake_time)
    await client.describe_limits()
    pool = client._session._http
    assert pool is not None
    holder = [client]
    del client
    with pytest.warns(ResourceWarning, match="unclosed"):
        holder.clear()  # the last reference: __del__ runs here
    await pool.close()


def test_a_never_opened_client_does_not_warn(fake_time: FakeTime) -> None:
    client = make_client(fake_time)
    del client
    gc.collect()  # filterwarnings=error would fail the test on a warning


async def test_repr_never_shows_credentials(fake_time: FakeTime) -> None:
    async with make_client(fake_time, aws_session_token="tok-value") as kinesis:
        text = repr(kinesis) + repr(kinesis._session._credentials)
    assert "wJalrXUtnFEMI" not in text
    assert "tok-value" not in text
    assert "us-east-1" in text


@pytest.mark.parametrize(
    ("options", "call", "url"),
    [
        ({}, {}, "https://kinesis.us-east-1.amazonaws.com/"),
        ({"region": "eu-west-1", "use_fips": False}, {}, "https://kinesis.eu-west-1.amazonaws.com/"),
        ({"region": "us-east-1", "use_fips": True}, {}, "https://kinesis-fips.us-east-1.amazonaws.com/"),
        ({"region": "us-east-1", "use_dual_stack": True}, {}, "https://kinesis.us-east-1.api.aws/"),
        ({"region": "cn-north-1"}, {}, "https://kinesis.cn-north-1.amazonaws.com.cn/"),
        (
            {"region": "us-west-2"},
            {"stream_arn": STREAM_ARN},
            "https://123456789012.data-kinesis.us-west-2.amazonaws.com/",
        ),
        ({"endpoint_url": "http://127.0.0.1:4568"}, {"stream_arn": STREAM_ARN}, "http://127.0.0.1:4568/"),
    ],
)
async def test_endpoints_come_from_the_rule_set(
    options: dict[str, Any], call: dict[str, Any], url: str, fake_time: FakeTime, http: aioresponses
) -> None:
    seen = capture(http, b'{"ShardId": "shardId-0", "SequenceNumber": "1"}')
    async with make_client(fake_time, **options) as kinesis:
        await kinesis.put_record(data=b"x", partition_key="k", **({"stream_name": "s"} | call))
    assert seen[0][0] == url


async def test_control_operations_with_an_arn_use_the_control_host(fake_time: FakeTime, http: aioresponses) -> None:
    seen = capture(http, b'{"Shards": []}')
    async with make_client(fake_time, region="us-west-2") as kinesis:
        await kinesis.list_shards(stream_arn=STREAM_ARN)
        await kinesis.list_shards(stream_arn=STREAM_ARN)
    assert [url for url, _ in seen] == ["https://123456789012.control-kinesis.us-west-2.amazonaws.com/"] * 2


@pytest.mark.parametrize("url", ["ftp://host", "http://host:1/prefix", "http://host/?q=1", "nonsense"])
async def test_bad_endpoint_url_is_a_client_error(url: str, fake_time: FakeTime) -> None:
    with pytest.raises(aiokinesis.ClientError, match="endpoint_url"):
        async with make_client(fake_time, endpoint_url=url):
            pass


async def test_region_comes_from_the_environment(
    clean_aws_env: Path, monkeypatch: pytest.MonkeyPatch, fake_time: FakeTime, http: aioresponses
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-southeast-2")
    seen = capture(http)
    async with make_client(fake_time, region=None) as kinesis:
        assert kinesis.region == "ap-southeast-2"
        await kinesis.describe_limits()
    assert seen[0][0] == "https://kinesis.ap-southeast-2.amazonaws.com/"


async def test_no_region_is_a_clear_error_unless_an_endpoint_is_given(clean_aws_env: Path, fake_time: FakeTime) -> None:
    with pytest.raises(aiokinesis.ClientError, match="no region"):
        async with make_client(fake_time, region=None):
            pass
    async with make_client(fake_time, region=None, endpoint_url="http://127.0.0.1:9") as kinesis:
        assert kinesis.region == "us-east-1"


async def test_credentials_from_the_environment_and_profiles(
    clean_aws_env: Path, monkeypatch: pytest.MonkeyPatch, fake_time: FakeTime, http: aioresponses
) -> None:
    seen = capture(http)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    async with make_client(fake_time, aws_access_key_id=None, aws_secret_access_key=None) as kinesis:
        await kinesis.describe_limits()
    assert "Credential=AKIDFROMENV/" in seen[-1][1]["Authorization"]

    (clean_aws_env / "credentials").write_text(
        "[reader]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = p-secret\naws_session_token = p-token\n"
    )
    async with make_client(fake_time, aws_access_key_id=None, aws_secret_access_key=None, profile="reader") as kinesis:
        await kinesis.describe_limits()
    assert "Credential=AKIDPROFILE/" in seen[-1][1]["Authorization"]
    assert seen[-1][1]["X-Amz-Security-Token"] == "p-token"


async def test_no_credentials_is_a_clear_error(clean_aws_env: Path, fake_time: FakeTime, http: aioresponses) -> None:
    async with make_client(fake_time, aws_access_key_id=None, aws_secret_access_key=None) as kinesis:
        with pytest.raises(aiokinesis.NoCredentialsError, match="no AWS credentials"):
            await kinesis.describe_limits()
    assert http.requests == {}


def test_half_given_keys_are_refused(fake_time: FakeTime) -> None:
    with pytest.raises(aiokinesis.ClientError, match="together"):
        make_client(fake_time, aws_secret_access_key=None)


async def test_refreshable_credentials_are_refreshed_off_the_loop(fake_time: FakeTime) -> None:
    refreshes: list[str] = []

    def metadata(key: str, minutes: int) -> dict[str, str]:
        expiry = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes)
        return {"access_key": key, "secret_key": "s", "token": "t", "expiry_time": expiry.isoformat()}

    def refresh() -> dict[str, str]:
        refreshes.append("refresh")
        return metadata(f"AKIDROTATED{len(refreshes)}", 60)

    source = CredentialSource(
        access_key_id=None, secret_access_key=None, session_token=None, profile=None, clock=fake_time.clock
    )
    source._source = RefreshableCredentials.create_from_metadata(metadata("AKIDOLD", 60), refresh, "test")
    assert (await source.get()).access_key == "AKIDOLD"
    assert (await source.get()).access_key == "AKIDOLD"
    assert refreshes == []

    source._source._expiry_time = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)  # inside the refresh window
    fake_time.now += 0.5
    assert (await source.get()).access_key == "AKIDOLD"  # checked at most once a second
    fake_time.now += 1
    assert (await source.get()).access_key == "AKIDROTATED1"
    assert (await source.get()).access_key == "AKIDROTATED1"
    assert refreshes == ["refresh"]


async def test_credentials_at_hand_are_handed_out_without_an_await_until_a_refresh_is_due(
    fake_time: FakeTime,
) -> None:
    """The session's hot path asks `current()` first: it must say None (not the old keys) once a
    refresh is due, and `refreshed()` then refreshes (the once-a-second check spent by current())."""
    expiry = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=60)
    old = {"access_key": "AKIDOLD", "secret_key": "s", "token": "t", "expiry_time": expiry.isoformat()}
    rotated = {**old, "access_key": "AKIDROTATED"}
    source = CredentialSource(
        access_key_id=None, secret_access_key=None, session_token=None, profile=None, clock=fake_time.clock
    )
    assert source.current() is None  # nothing resolved yet
    source._source = RefreshableCredentials.create_from_metadata(old, lambda: rotated, "test")
    assert (await source.refreshed()).access_key == "AKIDOLD"
    held = source.current()
    assert held is not None
    assert held.access_key == "AKIDOLD"
    source._source._expiry_time = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)  # inside the refresh window
    fake_time.now += 1.5
    assert source.current() is None
    assert (await source.refreshed()).access_key == "AKIDROTATED"
    static = CredentialSource(
        access_key_id="AKID", secret_access_key="s", session_token=None, profile=None, clock=fake_time.clock
    )
    assert static.current() is not None
