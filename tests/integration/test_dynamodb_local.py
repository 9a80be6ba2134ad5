"""The DynamoDB client against DynamoDB Local: what a lease table needs, conditions and pages included."""

from __future__ import annotations

import asyncio
import uuid
import zlib
from collections.abc import AsyncIterator
from types import SimpleNamespace

import aiohttp
import pytest

import aiokinesis
from aiokinesis._dynamodb import DynamoDB, Item
from aiokinesis._generated.dynamodb import errors as ddb_errors
from aiokinesis._generated.dynamodb.models import (
    AttributeDefinition,
    BillingMode,
    ConditionCheck,
    KeySchemaElement,
    KeyType,
    Put,
    ScalarAttributeType,
    TableStatus,
    TransactWriteItem,
)
from aiokinesis.errors import DynamoDBError, UnknownDynamoDBError
from tests.conftest import LOCAL_KEYS

pytestmark = pytest.mark.integration


@pytest.fixture
async def dynamo(dynamodb_local_url: str) -> AsyncIterator[DynamoDB]:
    """A DynamoDB client made from a Kinesis client, as the consumer will make it; closed with it."""
    async with aiokinesis.Client(**LOCAL_KEYS) as kinesis:
        yield kinesis._dynamodb(endpoint_url=dynamodb_local_url)


@pytest.fixture
async def table(dynamo: DynamoDB) -> str:
    """A new lease table per test: on demand, hash key leaseKey (S), waited for until ACTIVE."""
    name = f"leases-{uuid.uuid4().hex[:12]}"
    created = await dynamo.create_table(
        table_name=name,
        attribute_definitions=[AttributeDefinition(attribute_name="leaseKey", attribute_type=ScalarAttributeType.S)],
        key_schema=[KeySchemaElement(attribute_name="leaseKey", key_type=KeyType.HASH)],
        billing_mode=BillingMode.PAY_PER_REQUEST,
    )
    assert created.table_description is not None
    assert created.table_description.table_name == name
    description = await dynamo.wait_table_active(name, delay=0.05, max_wait=30)
    assert description.table_status is TableStatus.ACTIVE
    assert description.billing_mode_summary is not None
    assert description.billing_mode_summary.billing_mode is BillingMode.PAY_PER_REQUEST
    return name


def lease(key: str, owner: str, counter: int) -> Item:
    return {"leaseKey": {"S": key}, "leaseOwner": {"S": owner}, "leaseCounter": {"N": str(counter)}}


async def test_create_put_get_update_delete(dynamo: DynamoDB, table: str) -> None:
    key = {"leaseKey": {"S": "shardId-000000000000"}}
    await dynamo.put_item(
        table_name=table,
        item=lease("shardId-000000000000", "worker-a", 0),
        condition_expression="attribute_not_exists(leaseKey)",
    )
    with pytest.raises(ddb_errors.ConditionalCheckFailedException):  # already there
        await dynamo.put_item(
            table_name=table,
            item=lease("shardId-000000000000", "worker-b", 0),
            condition_expression="attribute_not_exists(leaseKey)",
        )

    renewed = await dynamo.update_item(
        table_name=table,
        key=key,
        update_expression="SET leaseCounter = leaseCounter + :one",
        condition_expression="leaseCounter = :expected AND leaseOwner = :owner",
        expression_attribute_values={":one": {"N": "1"}, ":expected": {"N": "0"}, ":owner": {"S": "worker-a"}},
        return_values="ALL_NEW",
    )
    assert renewed.attributes == lease("shardId-000000000000", "worker-a", 1)

    got = await dynamo.get_item(table_name=table, key=key, consistent_read=True)
    assert got.item == lease("shardId-000000000000", "worker-a", 1)

    with pytest.raises(ddb_errors.ConditionalCheckFailedException):  # someone else's lease
        await dynamo.delete_item(
            table_name=table,
            key=key,
            condition_expression="leaseOwner = :owner",
            expression_attribute_values={":owner": {"S": "worker-b"}},
        )
    gone = await dynamo.delete_item(
        table_name=table,
        key=key,
        condition_expression="leaseOwner = :owner",
        expression_attribute_values={":owner": {"S": "worker-a"}},
        return_values="ALL_OLD",
    )
    assert gone.attributes == lease("shardId-000000000000", "worker-a", 1)
    assert (await dynamo.get_item(table_name=table, key=key, consistent_read=True)).item is None


async def test_a_failed_condition_returns_the_item_and_is_not_retried(dynamo: DynamoDB, table: str) -> None:
    await dynamo.put_item(table_name=table, item=lease("shardId-1", "worker-a", 7))
    quota = dynamo._session.retry.quota.available
    with pytest.raises(ddb_errors.ConditionalCheckFailedException) as caught:
        await dynamo.update_item(
            table_name=table,
            key={"leaseKey": {"S": "shardId-1"}},
            update_expression="SET leaseOwner = :me, leaseCounter = leaseCounter + :one",
            condition_expression="leaseCounter = :seen",
            expression_attribute_values={":me": {"S": "worker-b"}, ":one": {"N": "1"}, ":seen": {"N": "6"}},
            return_values_on_condition_check_failure="ALL_OLD",
        )
    error = caught.value
    assert error.item == lease("shardId-1", "worker-a", 7)  # the renew re-read, without a GetItem
    assert isinstance(error, DynamoDBError)
    assert not error.retryable
    assert error.status == 400
    assert dynamo._session.retry.quota.available == quota  # no retry spent anything


async def test_scan_pages_with_limit_and_exclusive_start_key(dynamo: DynamoDB, table: str) -> None:
    keys = {f"shardId-{n:012d}" for n in range(25)}
    await asyncio.gather(*(dynamo.put_item(table_name=table, item=lease(key, "w", 0)) for key in keys))

    pages = [page async for page in dynamo.scan_pages(table, limit=7, consistent_read=True)]
    seen = [item["leaseKey"]["S"] for page in pages for item in page.items or []]
    assert sorted(seen) == sorted(keys)  # every item once
    assert [len(page.items or []) for page in pages][:3] == [7, 7, 7]
    assert pages[0].last_evaluated_key is not None
    assert pages[-1].last_evaluated_key is None

    # By hand: the second page starts after the first one's last key.
    first = await dynamo.scan(table_name=table, limit=7)
    second = await dynamo.scan(table_name=table, limit=7, exclusive_start_key=first.last_evaluated_key)
    assert {i["leaseKey"]["S"] for i in first.items or []}.isdisjoint({i["leaseKey"]["S"] for i in second.items or []})
    assert first.count == 7
    assert first.scanned_count == 7


async def test_concurrent_conditional_increments_lose_no_update(dynamo: DynamoDB, table: str) -> None:
    key = {"leaseKey": {"S": "hot"}}
    await dynamo.put_item(table_name=table, item={**key, "leaseCounter": {"N": "0"}})
    successes = 0

    async def worker() -> None:
        nonlocal successes
        start = await dynamo.get_item(table_name=table, key=key, consistent_read=True)
        seen = int((start.item or {})["leaseCounter"]["N"])
        done = 0
        for _ in range(5000):  # bounded: each round either succeeds or learns the current value
            if done == 50:
                return
            try:
                await dynamo.update_item(
                    table_name=table,
                    key=key,
                    update_expression="SET leaseCounter = :next",
                    condition_expression="leaseCounter = :seen",
                    expression_attribute_values={":seen": {"N": str(seen)}, ":next": {"N": str(seen + 1)}},
                    return_values_on_condition_check_failure="ALL_OLD",
                )
            except ddb_errors.ConditionalCheckFailedException as lost:
                seen = int((lost.item or {})["leaseCounter"]["N"])  # ALL_OLD: the item as another task left it
                continue
            successes += 1
            done += 1
            seen += 1
        raise AssertionError("a worker did not finish its 50 increments")

    await asyncio.gather(*(worker() for _ in range(4)))
    assert successes == 200
    final = await dynamo.get_item(table_name=table, key=key, consistent_read=True)
    assert final.item == {**key, "leaseCounter": {"N": "200"}}


async def test_a_transaction_cancelled_by_a_condition_names_the_reason(dynamo: DynamoDB, table: str) -> None:
    await dynamo.put_item(table_name=table, item=lease("parent", "worker-a", 3))
    with pytest.raises(ddb_errors.TransactionCanceledException) as caught:
        await dynamo.transact_write_items(
            transact_items=[
                TransactWriteItem(
                    condition_check=ConditionCheck(
                        table_name=table,
                        key={"leaseKey": {"S": "parent"}},
                        condition_expression="leaseCounter = :c",
                        expression_attribute_values={":c": {"N": "2"}},
                    )
                ),
                TransactWriteItem(put=Put(table_name=table, item=lease("child", "worker-a", 0))),
            ]
        )
    reasons = caught.value.cancellation_reasons
    assert reasons is not None
    assert [r.code for r in reasons] == ["ConditionalCheckFailed", "None"]
    assert (await dynamo.get_item(table_name=table, key={"leaseKey": {"S": "child"}})).item is None

    await dynamo.transact_write_items(
        transact_items=[
            TransactWriteItem(
                condition_check=ConditionCheck(
                    table_name=table,
                    key={"leaseKey": {"S": "parent"}},
                    condition_expression="leaseCounter = :c",
                    expression_attribute_values={":c": {"N": "3"}},
                )
            ),
            TransactWriteItem(put=Put(table_name=table, item=lease("child", "worker-a", 0))),
        ]
    )
    assert (await dynamo.get_item(table_name=table, key={"leaseKey": {"S": "child"}})).item is not None


async def test_service_errors_are_dynamodb_classes(dynamo: DynamoDB, table: str) -> None:
    with pytest.raises(ddb_errors.ResourceNotFoundException) as missing:
        await dynamo.describe_table(table_name=f"{table}-missing")
    assert isinstance(missing.value, DynamoDBError)
    assert not isinstance(missing.value, aiokinesis.ResourceNotFoundException)  # Kinesis's is another class

    with pytest.raises(ddb_errors.ResourceInUseException):
        await dynamo.create_table(
            table_name=table,
            attribute_definitions=[AttributeDefinition(attribute_name="leaseKey", attribute_type="S")],
            key_schema=[KeySchemaElement(attribute_name="leaseKey", key_type="HASH")],
            billing_mode="PAY_PER_REQUEST",
        )

    with pytest.raises(UnknownDynamoDBError) as invalid:  # not in the model: kept with its code
        await dynamo.update_item(table_name=table, key={"leaseKey": {"S": "k"}}, update_expression="SET = nonsense")
    assert invalid.value.code == "ValidationException"
    assert isinstance(invalid.value, aiokinesis.UnknownServiceError)
    assert not invalid.value.retryable


async def test_dynamodb_local_sends_x_amz_crc32_and_its_answers_pass_the_check(
    dynamodb_local_url: str, table: str
) -> None:
    """Its answers carry the checksum (so the check runs on them), and they pass it."""
    answers: list[SimpleNamespace] = []  # each exchange's trace context: its headers, then its body's chunks

    async def on_start(_: object, context: SimpleNamespace, params: object) -> None:
        context.chunks = []
        answers.append(context)

    async def on_chunk(_: object, context: SimpleNamespace, params: aiohttp.TraceResponseChunkReceivedParams) -> None:
        context.chunks.append(params.chunk)

    async def on_end(_: object, context: SimpleNamespace, params: aiohttp.TraceRequestEndParams) -> None:
        context.headers = params.response.headers  # before the body is read

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_start)
    trace.on_response_chunk_received.append(on_chunk)
    trace.on_request_end.append(on_end)
    async with (
        aiohttp.ClientSession(trace_configs=[trace]) as http,
        aiokinesis.Client(http_session=http, **LOCAL_KEYS) as kinesis,
    ):
        dynamo = kinesis._dynamodb(endpoint_url=dynamodb_local_url)
        with pytest.raises(ddb_errors.ResourceNotFoundException):
            await dynamo.describe_table(table_name=f"missing-{uuid.uuid4().hex[:8]}")
        await dynamo.put_item(table_name=table, item=lease("shardId-000000000000", "worker-a", 0))
        got = await dynamo.get_item(table_name=table, key={"leaseKey": {"S": "shardId-000000000000"}})
    assert got.item == lease("shardId-000000000000", "worker-a", 0)
    assert len(answers) == 3
    error, *successes = answers
    assert "x-amz-crc32" not in error.headers  # DynamoDB Local leaves it off its error answers
    for answer in successes:
        body = b"".join(answer.chunks)
        assert "Content-Encoding" not in answer.headers
        assert answer.headers["x-amz-crc32"] == str(zlib.crc32(body)), body


async def test_calls_one_after_another_keep_one_connection_alive(dynamodb_local_url: str, table: str) -> None:
    """Every body is read to its end and the connection goes back to the pool: none is opened per call."""
    opened: list[object] = []
    reused: list[object] = []

    async def on_create(_: object, context: object, params: object) -> None:
        opened.append(params)

    async def on_reuse(_: object, context: object, params: object) -> None:
        reused.append(params)

    trace = aiohttp.TraceConfig()
    trace.on_connection_create_end.append(on_create)
    trace.on_connection_reuseconn.append(on_reuse)
    key = {"leaseKey": {"S": "shardId-000000000000"}}
    async with (
        aiohttp.ClientSession(trace_configs=[trace]) as http,
        aiokinesis.Client(http_session=http, **LOCAL_KEYS) as kinesis,
    ):
        dynamo = kinesis._dynamodb(endpoint_url=dynamodb_local_url)
        await dynamo.put_item(table_name=table, item=lease("shardId-000000000000", "worker-a", 0))
        for counter in range(10):
            await dynamo.update_item(
                table_name=table,
                key=key,
                update_expression="SET leaseCounter = leaseCounter + :one",
                condition_expression="leaseCounter = :n",
                expression_attribute_values={":one": {"N": "1"}, ":n": {"N": str(counter)}},
            )
            await dynamo.get_item(table_name=table, key=key, consistent_read=True)
        with pytest.raises(ddb_errors.ConditionalCheckFailedException):  # an error answer is read to its end too
            await dynamo.put_item(
                table_name=table,
                item=lease("shardId-000000000000", "worker-b", 0),
                condition_expression="attribute_not_exists(leaseKey)",
            )
        await dynamo.get_item(table_name=table, key=key)
    assert len(opened) == 1
    assert len(reused) == 22
