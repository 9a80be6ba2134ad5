"""DynamoDBLeases against DynamoDB Local: the KCL's item layout both ways, the table made on demand,
and writes whose answers were lost. The conformance suite covers each write's condition."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

import aiokinesis
from aiokinesis._dynamodb import DynamoDB, Item
from aiokinesis._generated.dynamodb.models import (
    AttributeDefinition,
    BillingMode,
    KeySchemaElement,
    KeyType,
    ScalarAttributeType,
)
from aiokinesis.leases import SHARD_END, DynamoDBLeases, Lease, Lost
from tests.conftest import LOCAL_KEYS

pytestmark = pytest.mark.integration
SHARD = "shardId-000000000007"


@pytest.fixture
async def dynamo(dynamodb_local_url: str) -> AsyncIterator[DynamoDB]:
    async with aiokinesis.Client(**LOCAL_KEYS) as kinesis:
        yield kinesis._dynamodb(endpoint_url=dynamodb_local_url)


@pytest.fixture
async def leases(dynamo: DynamoDB) -> DynamoDBLeases:
    table = DynamoDBLeases(f"leases-{uuid.uuid4().hex[:12]}")
    table.attach(dynamo)
    await table.prepare()
    return table


async def raw(dynamo: DynamoDB, table: str, key: str = SHARD) -> Item:
    out = await dynamo.get_item(table_name=table, key={"leaseKey": {"S": key}}, consistent_read=True)
    assert out.item is not None
    return out.item


async def test_a_lease_is_written_as_the_kcl_writes_it(leases: DynamoDBLeases, dynamo: DynamoDB) -> None:
    parents = ("shardId-000000000001", "shardId-000000000002")
    assert await leases.create(Lease(key=SHARD, parents=parents, hash_range=(5, 2**128 - 1)))
    assert await raw(dynamo, leases.table) == {  # free: no leaseOwner, never an empty string
        "leaseKey": {"S": SHARD},
        "leaseCounter": {"N": "0"},
        "checkpoint": {"S": "TRIM_HORIZON"},
        "checkpointSubSequenceNumber": {"N": "0"},
        "ownerSwitchesSinceCheckpoint": {"N": "0"},
        "parentShardId": {"SS": list(parents)},
        "startingHashKey": {"S": "5"},
        "endingHashKey": {"S": str(2**128 - 1)},
    }
    taken = await leases.take(Lease(key=SHARD, parents=parents, hash_range=(5, 2**128 - 1)), "worker-a")
    assert isinstance(taken, Lease)
    done = await leases.checkpoint(taken, "49590338271490256608559692538361571095921575989136588898", 3)
    assert isinstance(done, Lease)
    assert await leases.set_children(SHARD, ("shardId-000000000009",))
    item = await raw(dynamo, leases.table)
    assert item["leaseOwner"] == {"S": "worker-a"}
    assert item["leaseCounter"] == {"N": "2"}
    assert item["checkpoint"] == {"S": "49590338271490256608559692538361571095921575989136588898"}
    assert item["checkpointSubSequenceNumber"] == {"N": "3"}
    assert item["ownerSwitchesSinceCheckpoint"] == {"N": "0"}
    assert item["childShardIds"] == {"SS": ["shardId-000000000009"]}


async def test_a_kcl_written_table_is_read_and_its_other_attributes_kept(
    leases: DynamoDBLeases, dynamo: DynamoDB
) -> None:
    kcl_lease: Item = {  # as KCL 2.x/3.x leave a lease: pending checkpoint, throughput, entity type
        "leaseKey": {"S": SHARD},
        "leaseOwner": {"S": "kcl-worker-1"},
        "leaseCounter": {"N": "4711"},
        "checkpoint": {"S": "49590338271490256608559692538361571095921575989136588898"},
        "checkpointSubSequenceNumber": {"N": "2"},
        "ownerSwitchesSinceCheckpoint": {"N": "1"},
        "parentShardId": {"SS": ["shardId-000000000003"]},
        "pendingCheckpoint": {"S": "49590338271490256608559692538361571095921575989136588999"},
        "pendingCheckpointSubSequenceNumber": {"N": "0"},
        "throughputKBps": {"N": "12.5"},
        "entityType": {"S": "LEASE"},
    }
    others: list[Item] = [
        {"leaseKey": {"S": "kcl-worker-1"}, "entityType": {"S": "WORKER_METRIC_STATS"}, "lut": {"N": "1"}},
        {"leaseKey": {"S": "Leader"}, "leaseOwner": {"S": "kcl-worker-1"}},  # a coordinator row: no counter
        {"leaseKey": {"S": "shardId-000000000008"}, "leaseCounter": {"N": "1"}, "checkpoint": {"S": SHARD_END}},
    ]
    for item in (kcl_lease, *others):
        await dynamo.put_item(table_name=leases.table, item=item)
    found = {lease.key: lease for lease in await leases.list_leases()}
    assert sorted(found) == [SHARD, "shardId-000000000008"]  # the two rows that are not leases: skipped
    assert found[SHARD] == Lease(
        key=SHARD,
        owner="kcl-worker-1",
        counter=4711,
        checkpoint="49590338271490256608559692538361571095921575989136588898",
        sub_sequence_number=2,
        owner_switches=1,
        parents=("shardId-000000000003",),
    )
    assert found["shardId-000000000008"].ended
    taken = await leases.take(found[SHARD], "ours")  # taken with the counter seen: a KCL zombie's writes now fail
    assert isinstance(taken, Lease)
    assert (taken.owner, taken.counter, taken.owner_switches) == ("ours", 4712, 2)
    item = await raw(dynamo, leases.table)
    for kept in ("pendingCheckpoint", "pendingCheckpointSubSequenceNumber", "throughputKBps", "entityType"):
        assert item[kept] == kcl_lease[kept], kept


async def test_a_paused_worker_cannot_write_over_a_successor_that_took_its_lease_under_its_own_id(
    leases: DynamoDBLeases, dynamo: DynamoDB
) -> None:
    """A restart with a fixed worker_id while the old process was paused: the table shows our owner
    at n+1, which a renewal or checkpoint whose first attempt is refused must not take for its own
    earlier success (a retry after a lost answer does: tests/unit/test_dynamodb_errors.py)."""
    assert await leases.create(Lease(key=SHARD))
    paused = await leases.take(Lease(key=SHARD), "host-a-1")
    assert isinstance(paused, Lease)
    successor = await leases.take(paused, "host-a-1")
    assert isinstance(successor, Lease)
    assert await leases.renew(paused) == Lost(SHARD)
    assert await leases.checkpoint(paused, "123", 4) == Lost(SHARD)
    assert await leases.get(SHARD) == successor  # nothing of the paused worker's landed
    renewed = await leases.renew(successor)
    assert isinstance(renewed, Lease)
    assert renewed.counter == successor.counter + 1


async def test_the_table_is_made_on_demand_once_however_many_workers_start(dynamo: DynamoDB) -> None:
    name = f"leases-{uuid.uuid4().hex[:12]}"
    workers = [DynamoDBLeases(name) for _ in range(3)]
    for worker in workers:
        worker.attach(dynamo)
    await asyncio.gather(*(worker.prepare() for worker in workers))  # one creates, the others wait
    description = await dynamo.describe_table(table_name=name)
    assert description.table is not None
    assert [k.attribute_name for k in description.table.key_schema or ()] == ["leaseKey"]
    assert description.table.billing_mode_summary is not None
    assert description.table.billing_mode_summary.billing_mode == "PAY_PER_REQUEST"
    await workers[0].prepare()  # and again, on a table that exists
    absent = DynamoDBLeases(f"leases-{uuid.uuid4().hex[:12]}", create_table=False)
    absent.attach(dynamo)
    with pytest.raises(aiokinesis.ClientError, match=r"does not exist \(create_table=False\)"):
        await absent.prepare()


def test_a_table_name_dynamodb_would_refuse_is_refused_at_once() -> None:
    for bad in ("ab", "x" * 256, "bad name", "", 7):
        with pytest.raises(ValueError, match=r"DynamoDBLeases.table must be 3 to 255"):
            DynamoDBLeases(bad)  # type: ignore[arg-type]


def test_an_endpoint_the_session_would_refuse_is_refused_at_once() -> None:
    for bad in (8000, "localhost:8000", "ftp://127.0.0.1", "http://127.0.0.1:8000/leases", "http://127.0.0.1:99999"):
        with pytest.raises(ValueError, match=r"DynamoDBLeases.endpoint_url must be an http\(s\) URL"):
            DynamoDBLeases("orders-leases", endpoint_url=bad)  # type: ignore[arg-type]
    assert DynamoDBLeases("orders-leases", endpoint_url="http://127.0.0.1:8000").endpoint_url == "http://127.0.0.1:8000"


async def test_a_table_keyed_otherwise_is_refused_before_a_lease_is_written(dynamo: DynamoDB) -> None:
    """Pointed at some other table (an application's own, say), it says so instead of failing each
    write with DynamoDB's ValidationException."""
    for key, kind in (("id", ScalarAttributeType.S), ("leaseKey", ScalarAttributeType.N)):
        name = f"app-{uuid.uuid4().hex[:12]}"
        await dynamo.create_table(
            table_name=name,
            attribute_definitions=[AttributeDefinition(attribute_name=key, attribute_type=kind)],
            key_schema=[KeySchemaElement(attribute_name=key, key_type=KeyType.HASH)],
            billing_mode=BillingMode.PAY_PER_REQUEST,
        )
        await dynamo.wait_table_active(name, delay=0.05)
        table = DynamoDBLeases(name)
        table.attach(dynamo)
        with pytest.raises(
            aiokinesis.ClientError, match=rf"{name} is not a lease table: its key is {key} \({kind}, HASH\)"
        ):
            await table.prepare()


async def test_a_store_without_a_client_says_how_to_give_it_one() -> None:
    with pytest.raises(aiokinesis.ClientError, match=r"give it to kinesis.consumer"):
        await DynamoDBLeases("orders-leases").get(SHARD)
