"""A consumer whose leases live in DynamoDB Local, through the public API only, on the wall clock."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

import aiokinesis
from aiokinesis.testing import KinesisServer
from tests.conftest import LOCAL_KEYS

pytestmark = pytest.mark.integration
TRIM = aiokinesis.StartingPosition.trim_horizon()
FAST = aiokinesis.ConsumerConfig(
    failover_time=1.0, reader=aiokinesis.ReaderConfig(min_interval=0.0, idle_interval=0.05)
)


@pytest.fixture
async def kinesis() -> AsyncIterator[aiokinesis.Client]:
    async with (
        KinesisServer(streams={"orders": 2}) as server,
        aiokinesis.Client(endpoint_url=server.endpoint_url, **LOCAL_KEYS) as client,
    ):
        yield client


@pytest.mark.parametrize("fan_out", [None, "app"], ids=["polling", "enhanced fan-out"])
async def test_a_consumer_keeps_its_leases_and_checkpoints_in_a_dynamodb_table(
    kinesis: aiokinesis.Client, dynamodb_local_url: str, fan_out: str | None
) -> None:
    for i in range(20):
        await kinesis.put_record(stream_name="orders", data=f"v{i}".encode(), partition_key=f"key-{i}")
    table = f"orders-app-{uuid.uuid4().hex[:8]}"
    leases = aiokinesis.DynamoDBLeases(table, endpoint_url=dynamodb_local_url)
    got: dict[str, list[aiokinesis.ShardRecord]] = {}
    async with (
        asyncio.timeout(60),
        kinesis.consumer(
            "orders", leases=leases, worker_id="host-a-1", start=TRIM, enhanced_fan_out=fan_out, config=FAST
        ) as consumer,
    ):
        async for batch in consumer:
            got.setdefault(batch.shard_id, []).extend(batch.records)
            await batch.checkpoint()
            if sum(map(len, got.values())) == 20:
                break
        held = {p.shard_id: (p.held, p.owner) for p in consumer.progress()}
    assert sorted(r.data for rs in got.values() for r in rs) == sorted(f"v{i}".encode() for i in range(20))
    assert held == {shard: (True, "host-a-1") for shard in got}

    # The table, read as a KCL worker would read it: the created table, our checkpoints, released on close.
    async with aiokinesis.Client(**LOCAL_KEYS) as reader:
        stored = aiokinesis.DynamoDBLeases(table, endpoint_url=dynamodb_local_url, create_table=False)
        stored.attach(reader._dynamodb(endpoint_url=dynamodb_local_url))
        await stored.prepare()
        found = {lease.key: lease for lease in await stored.list_leases()}
    assert sorted(found) == sorted(got)
    for shard, records in got.items():
        lease = found[shard]
        assert (lease.checkpoint, lease.sub_sequence_number) == (records[-1].sequence_number, 0)
        assert lease.owner is None  # a clean close hands the lease back at once
        assert lease.hash_range is not None


async def test_a_lease_table_that_must_exist_but_does_not_fails_the_consumer(
    kinesis: aiokinesis.Client, dynamodb_local_url: str
) -> None:
    leases = aiokinesis.DynamoDBLeases("no-such-table", endpoint_url=dynamodb_local_url, create_table=False)
    async with asyncio.timeout(30), kinesis.consumer("orders", leases=leases, start=TRIM, config=FAST) as consumer:
        with pytest.raises(aiokinesis.ClientError, match="the lease table no-such-table does not exist"):
            await anext(consumer)
