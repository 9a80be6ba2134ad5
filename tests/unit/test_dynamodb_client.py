"""The DynamoDB client made from a Kinesis client: request shape, hosts, what it shares, its lifecycle."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from aioresponses import CallbackResult, aioresponses

import aiokinesis
from aiokinesis._dynamodb import DynamoDB
from aiokinesis.errors import DynamoDBError
from tests.fakes import FakeTime

from .conftest import ANY_URL, make_client

KEY = {"leaseKey": {"S": "shardId-000000000000"}}
TABLE_ARN = "arn:aws:dynamodb:us-west-2:123456789012:table/leases"
# An answer both a GetItem (an item not found) and a Kinesis ListStreams take.
EITHER = b'{"StreamNames": [], "HasMoreStreams": false}'


def capture(http: aioresponses, body: bytes = EITHER) -> list[tuple[str, dict[str, Any], bytes]]:
    seen: list[tuple[str, dict[str, Any], bytes]] = []

    def reply(url: Any, **kwargs: Any) -> CallbackResult:
        seen.append((str(url), kwargs["headers"], kwargs["data"]))
        return CallbackResult(body=body)

    http.post(ANY_URL, callback=reply, repeat=True)
    return seen


@pytest.fixture
async def kinesis(fake_time: FakeTime, http: aioresponses) -> AsyncIterator[aiokinesis.Client]:
    async with make_client(fake_time) as client:
        yield client


async def test_update_item_request_shape(kinesis: aiokinesis.Client, http: aioresponses) -> None:
    seen = capture(http, b'{"Attributes": {"leaseCounter": {"N": "8"}}}')
    dynamo = kinesis._dynamodb()
    out = await dynamo.update_item(
        table_name="leases",
        key=KEY,
        update_expression="SET leaseCounter = leaseCounter + :one",
        condition_expression="leaseCounter = :seen",
        expression_attribute_values={":one": {"N": "1"}, ":seen": {"N": "7"}},
        return_values="UPDATED_NEW",
    )
    assert out.attributes == {"leaseCounter": {"N": "8"}}
    [(url, headers, body)] = seen
    assert url == "https://dynamodb.us-east-1.amazonaws.com/"
    assert headers["X-Amz-Target"] == "DynamoDB_20120810.UpdateItem"
    assert headers["Content-Type"] == "application/x-amz-json-1.0"
    assert "/us-east-1/dynamodb/aws4_request," in headers["Authorization"]
    assert headers["User-Agent"].startswith("aiokinesis/")
    assert orjson.loads(body) == {
        "TableName": "leases",
        "Key": KEY,
        "UpdateExpression": "SET leaseCounter = leaseCounter + :one",
        "ConditionExpression": "leaseCounter = :seen",
        "ExpressionAttributeValues": {":one": {"N": "1"}, ":seen": {"N": "7"}},
        "ReturnValues": "UPDATED_NEW",
    }


@pytest.mark.parametrize(
    ("client_options", "dynamodb_options", "url"),
    [
        ({"region": "eu-west-1"}, {}, "https://dynamodb.eu-west-1.amazonaws.com/"),
        ({"region": "cn-north-1"}, {}, "https://dynamodb.cn-north-1.amazonaws.com.cn/"),
        ({"region": "us-east-1", "use_fips": True}, {}, "https://dynamodb-fips.us-east-1.amazonaws.com/"),
        ({"region": "us-east-1"}, {"use_fips": True}, "https://dynamodb-fips.us-east-1.amazonaws.com/"),
        ({"region": "us-east-1", "use_fips": True}, {"use_fips": False}, "https://dynamodb.us-east-1.amazonaws.com/"),
        # GovCloud's regional DynamoDB host is FIPS already: the rule set says so, not a pattern.
        ({"region": "us-gov-west-1", "use_fips": True}, {}, "https://dynamodb.us-gov-west-1.amazonaws.com/"),
        ({"region": "us-east-1", "use_dual_stack": True}, {}, "https://dynamodb.us-east-1.api.aws/"),
        ({"region": "us-east-1"}, {"endpoint_url": "http://127.0.0.1:8000"}, "http://127.0.0.1:8000/"),
        # The Kinesis endpoint_url is Kinesis's: DynamoDB still goes to the region's host.
        ({"endpoint_url": "http://127.0.0.1:4568"}, {}, "https://dynamodb.us-east-1.amazonaws.com/"),
    ],
)
async def test_hosts_come_from_dynamodbs_rule_set(
    client_options: dict[str, Any],
    dynamodb_options: dict[str, Any],
    url: str,
    fake_time: FakeTime,
    http: aioresponses,
) -> None:
    seen = capture(http)
    async with make_client(fake_time, **client_options) as kinesis:
        await kinesis._dynamodb(**dynamodb_options).get_item(table_name="leases", key=KEY)
    assert seen[0][0] == url


async def test_a_table_arn_still_goes_to_the_regional_host(fake_time: FakeTime, http: aioresponses) -> None:
    """Account-based hosts need the account id, which static keys do not carry: they are not used."""
    seen = capture(http)
    async with make_client(fake_time, region="us-west-2") as kinesis:
        await kinesis._dynamodb().get_item(table_name=TABLE_ARN, key=KEY)
    assert seen[0][0] == "https://dynamodb.us-west-2.amazonaws.com/"


async def test_local_endpoint_signs_for_the_clients_region(fake_time: FakeTime, http: aioresponses) -> None:
    seen = capture(http)
    async with make_client(fake_time, region="eu-central-1") as kinesis:
        dynamo = kinesis._dynamodb(endpoint_url="http://127.0.0.1:8000")
        await dynamo.get_item(table_name="leases", key=KEY)
    assert "/eu-central-1/dynamodb/aws4_request," in seen[0][1]["Authorization"]


@pytest.fixture
def clean_aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return tmp_path


async def test_credentials_and_region_are_resolved_once_for_both_services(
    clean_aws_env: Path, monkeypatch: pytest.MonkeyPatch, fake_time: FakeTime, http: aioresponses
) -> None:
    import botocore.session

    lookups: list[str] = []
    chain = botocore.session.Session.get_credentials
    config = botocore.session.Session.get_config_variable

    def counted_chain(self: botocore.session.Session) -> Any:
        lookups.append("credentials")
        return chain(self)

    def counted_config(self: botocore.session.Session, name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "region":
            lookups.append("region")
        return config(self, name, *args, **kwargs)

    monkeypatch.setattr(botocore.session.Session, "get_credentials", counted_chain)
    monkeypatch.setattr(botocore.session.Session, "get_config_variable", counted_config)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-southeast-2")
    seen = capture(http)
    async with make_client(fake_time, region=None, aws_access_key_id=None, aws_secret_access_key=None) as kinesis:
        dynamo = kinesis._dynamodb()
        await dynamo.get_item(table_name="leases", key=KEY)
        await kinesis.list_streams()
        await dynamo.get_item(table_name="leases", key=KEY)
        assert dynamo._session.region == "ap-southeast-2"
    assert sorted(lookups) == ["credentials", "region"]
    assert [url for url, _, _ in seen] == [
        "https://dynamodb.ap-southeast-2.amazonaws.com/",
        "https://kinesis.ap-southeast-2.amazonaws.com/",
        "https://dynamodb.ap-southeast-2.amazonaws.com/",
    ]
    assert all("Credential=AKIDFROMENV/" in headers["Authorization"] for _, headers, _ in seen)


async def test_it_has_its_own_pool_closed_with_the_kinesis_client(fake_time: FakeTime, http: aioresponses) -> None:
    capture(http)
    kinesis = make_client(fake_time)
    await kinesis.list_streams()  # open, its pool made
    dynamo = kinesis._dynamodb()
    await dynamo.get_item(table_name="leases", key=KEY)
    assert dynamo._session._http is not kinesis._session._http  # lease renewals never queue behind reads
    assert kinesis._session.unclosed_pool
    await kinesis.aclose()
    assert dynamo.closed
    assert not kinesis._session.unclosed_pool
    with pytest.raises(aiokinesis.ClientClosedError):
        await dynamo.get_item(table_name="leases", key=KEY)
    with pytest.raises(aiokinesis.ClientClosedError):
        kinesis._dynamodb()


async def test_closing_it_leaves_the_kinesis_client_open(kinesis: aiokinesis.Client, http: aioresponses) -> None:
    capture(http)
    async with kinesis._dynamodb() as dynamo:
        await dynamo.get_item(table_name="leases", key=KEY)
    assert dynamo.closed
    await kinesis.list_streams()


async def test_an_unclosed_dynamodb_pool_makes_the_kinesis_client_warn(fake_time: FakeTime, http: aioresponses) -> None:
    capture(http)
    client = make_client(fake_time)
    dynamo = client._dynamodb()
    await dynamo.get_item(table_name="leases", key=KEY)  # only the DynamoDB pool is open
    holder = [client]
    del client
    with pytest.warns(ResourceWarning, match="unclosed"):
        holder.clear()
    await dynamo.aclose()


async def test_a_given_aiohttp_session_carries_both_and_is_not_closed(fake_time: FakeTime, http: aioresponses) -> None:
    seen = capture(http)
    async with aiohttp.ClientSession() as own:
        async with make_client(fake_time, http_session=own) as kinesis:
            dynamo = kinesis._dynamodb()
            await dynamo.get_item(table_name="leases", key=KEY)
            assert dynamo._session._http is own
        assert dynamo.closed
        assert not own.closed
    assert len(seen) == 1


async def test_retry_quotas_are_separate(fake_time: FakeTime, http: aioresponses) -> None:
    """A throttled lease table spends its own retry tokens, never the Kinesis calls' ones."""
    throttled = orjson.dumps({"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException", "message": "slow"})
    http.post(ANY_URL, status=400, body=throttled, repeat=True)
    async with make_client(fake_time) as kinesis:
        dynamo = kinesis._dynamodb()
        with pytest.raises(DynamoDBError, match="ThrottlingException"):
            await dynamo.get_item(table_name="leases", key=KEY)
        assert dynamo._session.retry.quota.available == 500 - 2 * 5
        assert kinesis._session.retry.quota.available == 500
    assert fake_time.sleeps == [1.0, 2.0]


def test_a_dynamodb_client_needs_a_dynamodb_session(fake_time: FakeTime) -> None:
    kinesis = make_client(fake_time)
    with pytest.raises(ValueError, match="DynamoDB session"):
        DynamoDB(kinesis._session, kinesis._runtime)


async def test_wait_table_active_waits_through_not_found_and_creating(
    kinesis: aiokinesis.Client, http: aioresponses, fake_time: FakeTime
) -> None:
    missing = orjson.dumps({"__type": "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException", "message": "no"})
    http.post(ANY_URL, status=400, body=missing)
    http.post(ANY_URL, body=b'{"Table": {"TableName": "leases", "TableStatus": "CREATING"}}')
    http.post(ANY_URL, body=b'{"Table": {"TableName": "leases", "TableStatus": "ACTIVE"}}')
    table = await kinesis._dynamodb(retry=aiokinesis.RetryConfig(max_attempts=1)).wait_table_active("leases", delay=2)
    assert table.table_name == "leases"
    assert fake_time.sleeps == [2, 2]


async def test_wait_table_active_gives_up_at_its_deadline(
    kinesis: aiokinesis.Client, http: aioresponses, fake_time: FakeTime
) -> None:
    http.post(ANY_URL, body=b'{"Table": {"TableName": "leases", "TableStatus": "CREATING"}}', repeat=True)
    with pytest.raises(aiokinesis.WaiterError, match="leases to be ACTIVE after 5 s: CREATING"):
        await kinesis._dynamodb().wait_table_active("leases", delay=2, max_wait=5)
    assert fake_time.sleeps == [2, 2]


async def test_scan_pages_follow_last_evaluated_key(kinesis: aiokinesis.Client, http: aioresponses) -> None:
    pages: list[dict[str, Any]] = [
        {"Items": [{"leaseKey": {"S": "a"}}], "LastEvaluatedKey": {"leaseKey": {"S": "a"}}},
        {"Items": [{"leaseKey": {"S": "b"}}], "LastEvaluatedKey": {"leaseKey": {"S": "b"}}},
        {"Items": []},
    ]
    bodies: list[dict[str, Any]] = []

    def reply(url: Any, **kwargs: Any) -> CallbackResult:
        bodies.append(orjson.loads(kwargs["data"]))
        return CallbackResult(body=orjson.dumps(pages[len(bodies) - 1]))

    http.post(ANY_URL, callback=reply, repeat=True)
    got = [page async for page in kinesis._dynamodb().scan_pages("leases", limit=1, consistent_read=True)]
    assert [page.items for page in got] == [p["Items"] for p in pages]
    assert [body.get("ExclusiveStartKey") for body in bodies] == [
        None,
        {"leaseKey": {"S": "a"}},
        {"leaseKey": {"S": "b"}},
    ]
    assert all(body["Limit"] == 1 and body["ConsistentRead"] is True for body in bodies)


async def test_a_scan_key_that_repeats_is_a_protocol_error(kinesis: aiokinesis.Client, http: aioresponses) -> None:
    http.post(ANY_URL, body=b'{"Items": [], "LastEvaluatedKey": {"leaseKey": {"S": "a"}}}', repeat=True)
    pages: list[object] = []

    async def scan_all() -> None:
        async for page in kinesis._dynamodb().scan_pages("leases"):
            pages.append(page)

    with pytest.raises(aiokinesis.ProtocolError, match="repeats"):
        await scan_all()
    assert len(pages) == 2


async def test_a_lease_table_in_another_region_is_called_and_signed_there(
    kinesis: aiokinesis.Client, http: aioresponses
) -> None:
    seen = capture(http, b"{}")
    leases = aiokinesis.DynamoDBLeases("orders-app", region="eu-west-1")
    kinesis.consumer("orders", leases=leases)  # the consumer's client hands the table its DynamoDB client
    assert await leases.get("shardId-000000000000") is None
    [(url, headers, _)] = seen
    assert url == "https://dynamodb.eu-west-1.amazonaws.com/"
    assert "/eu-west-1/dynamodb/aws4_request," in headers["Authorization"]
    assert kinesis.region == "us-east-1"  # Kinesis itself stays where it was
    with pytest.raises(ValueError, match=r"DynamoDBLeases.region must be a region name"):
        aiokinesis.DynamoDBLeases("orders-app", region="")
