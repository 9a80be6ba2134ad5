"""DynamoDB's error answers: their classes (never Kinesis's), odd bodies, and which are retried how."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from aioresponses import aioresponses

import aiokinesis
from aiokinesis._dynamodb import DYNAMODB, DynamoDB
from aiokinesis._generated.dynamodb import errors as ddb_errors
from aiokinesis._generated.dynamodb.errors import MODELED_ERRORS
from aiokinesis._generated.dynamodb.models import Put, TransactWriteItem
from aiokinesis.errors import DynamoDBError, UnknownDynamoDBError
from aiokinesis.leases import DynamoDBLeases, Lease, Lost
from tests.fakes import FakeTime
from tests.models import document

from .conftest import ANY_URL, make_client

KEY = {"leaseKey": {"S": "shardId-0"}}
NO_RETRY = aiokinesis.RetryConfig(max_attempts=1)
MODEL = document("dynamodb", "service-2")


def answer(code: str, message: str = "it broke", **members: Any) -> bytes:
    return orjson.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message, **members})


@pytest.fixture
async def dynamo(fake_time: FakeTime, http: aioresponses) -> AsyncIterator[DynamoDB]:
    async with make_client(fake_time) as kinesis:
        yield kinesis._dynamodb()


@pytest.fixture
async def dynamo_once(fake_time: FakeTime, http: aioresponses) -> AsyncIterator[DynamoDB]:
    async with make_client(fake_time) as kinesis:
        yield kinesis._dynamodb(retry=NO_RETRY)


@pytest.mark.parametrize("code", sorted(MODELED_ERRORS))
async def test_every_modeled_error_maps_to_its_class(code: str, dynamo_once: DynamoDB, http: aioresponses) -> None:
    http.post(ANY_URL, status=400, body=answer(code), headers={"x-amzn-RequestId": "req-1"})
    with pytest.raises(MODELED_ERRORS[code]) as caught:
        await dynamo_once.get_item(table_name="leases", key=KEY)
    error = caught.value
    assert type(error).__name__ == code
    assert isinstance(error, DynamoDBError)
    assert isinstance(error, aiokinesis.ServiceError)
    assert (error.code, error.message, error.status, error.request_id) == (code, "it broke", 400, "req-1")
    kinesis_class = getattr(aiokinesis, code, None)
    if kinesis_class is not None:  # ResourceNotFoundException, LimitExceededException...: a name both models use
        assert not isinstance(error, kinesis_class)


def test_the_kinesis_table_still_maps_the_shared_names_to_kinesis_classes() -> None:
    from aiokinesis.errors import service_error

    error = service_error("ResourceNotFoundException", "", status=400, request_id=None)
    assert type(error) is aiokinesis.ResourceNotFoundException
    assert not isinstance(error, DynamoDBError)
    assert DYNAMODB.errors.build("ResourceNotFoundException", "", status=400, request_id=None).__class__ is (
        ddb_errors.ResourceNotFoundException
    )


async def test_a_failed_condition_carries_the_item_as_it_stood(dynamo: DynamoDB, http: aioresponses) -> None:
    item = {"leaseKey": {"S": "shardId-0"}, "leaseCounter": {"N": "12"}, "leaseOwner": {"S": "w-2"}}
    http.post(
        ANY_URL, status=400, body=answer("ConditionalCheckFailedException", "The conditional request failed", Item=item)
    )
    with pytest.raises(ddb_errors.ConditionalCheckFailedException) as caught:
        await dynamo.update_item(
            table_name="leases",
            key=KEY,
            update_expression="SET leaseCounter = :n",
            condition_expression="leaseCounter = :seen",
            expression_attribute_values={":n": {"N": "12"}, ":seen": {"N": "11"}},
            return_values_on_condition_check_failure="ALL_OLD",
        )
    assert caught.value.item == item
    assert caught.value.message == "The conditional request failed"


@pytest.mark.parametrize("broken", ["not a map", [["leaseKey", {"S": "x"}], 3]])
async def test_a_failed_condition_with_a_broken_item_is_still_that_error(
    broken: object, dynamo: DynamoDB, http: aioresponses
) -> None:
    http.post(ANY_URL, status=400, body=answer("ConditionalCheckFailedException", Item=broken))
    with pytest.raises(ddb_errors.ConditionalCheckFailedException) as caught:
        await dynamo.delete_item(table_name="leases", key=KEY, condition_expression="attribute_exists(leaseKey)")
    assert caught.value.item is None


async def test_a_cancelled_transaction_lists_its_reasons(dynamo: DynamoDB, http: aioresponses) -> None:
    reasons = [
        {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed", "Item": {"k": {"S": "v"}}},
        {"Code": "None"},
    ]
    http.post(
        ANY_URL,
        status=400,
        body=orjson.dumps(
            {
                "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
                "Message": "Transaction cancelled",
                "CancellationReasons": reasons,
            }
        ),
    )
    with pytest.raises(ddb_errors.TransactionCanceledException) as caught:
        await dynamo.transact_write_items(
            transact_items=[TransactWriteItem(put=Put(table_name="leases", item=KEY))], client_request_token="t"
        )
    error = caught.value
    assert error.message == "Transaction cancelled"
    assert error.cancellation_reasons is not None
    assert [(r.code, r.item) for r in error.cancellation_reasons] == [
        ("ConditionalCheckFailed", {"k": {"S": "v"}}),
        ("None", None),
    ]


@pytest.mark.parametrize(
    ("status", "body", "headers", "code", "retryable", "throttling"),
    [
        (500, b"", {}, "HTTP500", True, False),
        (503, b"<html>Service Unavailable</html>", {}, "HTTP503", True, False),
        (429, b"{}", {}, "HTTP429", True, True),
        (
            400,
            b"",
            {"x-amzn-ErrorType": "ResourceNotFoundException:http://internal.amazon.com/"},
            "ResourceNotFoundException",
            False,
            False,
        ),
        (400, b"not json", {"x-amzn-ErrorType": "ThrottlingException"}, "ThrottlingException", True, True),
        (
            400,
            b'{"__type": "com.amazon.coral.validate#ValidationException", "Message": "Invalid UpdateExpression"}',
            {},
            "ValidationException",
            False,
            False,
        ),
        (
            400,
            b'{"__type": "com.amazon.coral.availability#ThrottlingException", "message": "Rate exceeded"}',
            {},
            "ThrottlingException",
            True,
            True,
        ),
        (400, b"[1, 2]", {}, "HTTP400", False, False),
    ],
)
async def test_odd_error_bodies_still_get_a_code(
    status: int,
    body: bytes,
    headers: dict[str, str],
    code: str,
    retryable: bool,
    throttling: bool,
    dynamo_once: DynamoDB,
    http: aioresponses,
) -> None:
    http.post(ANY_URL, status=status, body=body, headers=headers)
    with pytest.raises(DynamoDBError) as caught:
        await dynamo_once.get_item(table_name="leases", key=KEY)
    error = caught.value
    assert (error.code, error.status, error.retryable, error.throttling) == (code, status, retryable, throttling)
    if code not in MODELED_ERRORS:
        assert isinstance(error, UnknownDynamoDBError)
        assert isinstance(error, aiokinesis.UnknownServiceError)


@pytest.mark.parametrize(
    "code",
    ["ProvisionedThroughputExceededException", "RequestLimitExceeded", "ThrottlingException", "LimitExceededException"],
)
async def test_throttling_is_retried_from_the_throttle_base(
    code: str, dynamo: DynamoDB, http: aioresponses, fake_time: FakeTime
) -> None:
    http.post(ANY_URL, status=400, body=answer(code))
    http.post(ANY_URL, status=400, body=answer(code))
    http.post(ANY_URL, body=b'{"Item": {"leaseKey": {"S": "shardId-0"}}}')
    out = await dynamo.get_item(table_name="leases", key=KEY)
    assert out.item == {"leaseKey": {"S": "shardId-0"}}
    assert fake_time.sleeps == [1.0, 2.0]  # RetryConfig.throttle_base_delay, rand() = 1


@pytest.mark.parametrize(
    ("status", "code"),
    [(500, "InternalServerError"), (400, "TransactionConflictException"), (400, "ReplicatedWriteConflictException")],
)
async def test_transient_errors_are_retried_from_the_base(
    status: int, code: str, dynamo: DynamoDB, http: aioresponses, fake_time: FakeTime
) -> None:
    http.post(ANY_URL, status=status, body=answer(code))
    http.post(ANY_URL, body=b"{}")
    await dynamo.put_item(table_name="leases", item=KEY)
    assert fake_time.sleeps == [0.05]


@pytest.mark.parametrize("status", [400, 500, 503])
@pytest.mark.parametrize("code", ["ConditionalCheckFailedException", "TransactionCanceledException"])
async def test_answers_to_branch_on_are_never_retried(
    code: str, status: int, dynamo: DynamoDB, http: aioresponses, fake_time: FakeTime
) -> None:
    """Whatever status a proxy or a local server gives them: a retry would only fail the same way."""
    http.post(ANY_URL, status=status, body=answer(code), repeat=True)
    quota = dynamo._session.retry.quota.available
    with pytest.raises(MODELED_ERRORS[code]) as caught:
        await dynamo.put_item(table_name="leases", item=KEY, condition_expression="attribute_not_exists(leaseKey)")
    assert not caught.value.retryable
    assert not caught.value.throttling
    assert fake_time.sleeps == []
    assert len(next(iter(http.requests.values()))) == 1
    assert dynamo._session.retry.quota.available == quota


@pytest.mark.parametrize(
    "code", ["ResourceNotFoundException", "ItemCollectionSizeLimitExceededException", "ValidationException"]
)
async def test_other_client_errors_are_not_retried(
    code: str, dynamo: DynamoDB, http: aioresponses, fake_time: FakeTime
) -> None:
    http.post(ANY_URL, status=400, body=answer(code), repeat=True)
    with pytest.raises(DynamoDBError):
        await dynamo.get_item(table_name="leases", key=KEY)
    assert fake_time.sleeps == []


def test_errors_the_model_marks_retryable_are_retried() -> None:
    codes = DYNAMODB.retry_codes
    for name, shape in MODEL["shapes"].items():
        trait = shape.get("retryable")
        if shape.get("exception") and trait is not None:
            assert name in (codes.throttling if trait.get("throttling") else codes.transient), name


def test_every_dynamodb_target_has_the_services_prefix() -> None:
    from aiokinesis._generated.dynamodb import operations

    specs = [value for name, value in vars(operations).items() if name.startswith("_") and hasattr(value, "target")]
    assert len(specs) == 8
    assert all(spec.target == f"{DYNAMODB.target_prefix}.{spec.name}" for spec in specs)
    assert MODEL["metadata"]["targetPrefix"] == DYNAMODB.target_prefix
    assert MODEL["metadata"]["jsonVersion"] == DYNAMODB.content_type.rpartition("-")[2]
    metadata = MODEL["metadata"]
    assert metadata.get("signingName", metadata["endpointPrefix"]) == DYNAMODB.signing_name


def leases_on(dynamo: DynamoDB) -> DynamoDBLeases:
    table = DynamoDBLeases("leases")
    table.attach(dynamo)
    return table


SAME_OWNER_ONE_UP = {"leaseKey": {"S": "shardId-0"}, "leaseOwner": {"S": "host-a-1"}, "leaseCounter": {"N": "8"}}
HELD = Lease(key="shardId-0", owner="host-a-1", counter=7)


async def test_a_fenced_write_retried_after_a_lost_answer_finds_its_own_success(
    dynamo: DynamoDB, http: aioresponses
) -> None:
    """The first attempt's answer is lost (here a 500; a timeout alike): the retry meets the write
    done, owner and counter one up, and the renewal counts as done."""
    http.post(ANY_URL, status=500, body=answer("InternalServerError"))
    http.post(ANY_URL, status=400, body=answer("ConditionalCheckFailedException", Item=SAME_OWNER_ONE_UP))
    renewed = await leases_on(dynamo).renew(HELD)
    assert renewed == Lease(key="shardId-0", owner="host-a-1", counter=8)


@pytest.mark.parametrize("write", ["renew", "checkpoint"])
async def test_a_fenced_write_refused_at_its_first_attempt_is_lost_though_its_owner_shows_one_up(
    write: str, dynamo: DynamoDB, http: aioresponses
) -> None:
    """Another process took the lease under the same worker id (a restart with a fixed worker_id,
    the old one paused): the table shows our owner at n+1, but this worker never sent a write that
    could have put it there, so the lease is lost; it used to count as its own success, and the
    paused worker went on to checkpoint over its successor."""
    item = {**SAME_OWNER_ONE_UP, "checkpoint": {"S": "5"}, "checkpointSubSequenceNumber": {"N": "0"}}
    http.post(ANY_URL, status=400, body=answer("ConditionalCheckFailedException", Item=item))
    table = leases_on(dynamo)
    done = await (table.renew(HELD) if write == "renew" else table.checkpoint(HELD, "5", 0))
    assert done == Lost("shardId-0")
