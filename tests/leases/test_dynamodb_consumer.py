"""A consumer whose leases live in DynamoDB Local, through the public API only, on the wall clock."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

import aiokinesis
from aiokinesis._dynamodb import Item
from aiokinesis.aggregation import UserRecord, aggregate
from aiokinesis.testing import KinesisServer
from tests.conftest import LOCAL_KEYS
from tests.processes import until

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


async def test_a_table_a_kcl_application_left_is_resumed_from_its_checkpoints(
    kinesis: aiokinesis.Client, dynamodb_local_url: str
) -> None:
    """A KCL 2.x application's table, written by hand with its attributes and sentinels: its dead
    workers' leases are taken with the counters seen; each shard resumes after its checkpoint (inside
    a KPL aggregate too); a SHARD_END parent is not read again, its children go on from theirs; the
    attributes and rows we do not write are left as they were."""

    async def put(data: bytes, hash_key: int) -> str:
        out = await kinesis.put_record(
            stream_name="orders", data=data, partition_key="k", explicit_hash_key=str(hash_key)
        )
        return out.sequence_number

    low, high, top = 1, 2**127 + 1, 2**128 - 1  # shard 0; shard 1, then its lower child 2; child 3
    await put(b"a-before", low)
    aggregated = await put(aggregate([UserRecord("k", str(low), f"u{i}".encode()) for i in range(5)]), low)
    after = await put(b"a-after", low)
    await put(b"b0", high)
    await kinesis.split_shard(
        stream_name="orders", shard_to_split="shardId-000000000001", new_starting_hash_key=str(2**127 + 2**126)
    )
    await kinesis.wait.stream_exists(stream_name="orders", delay=0.05, max_wait=30)
    c0 = await put(b"c0", high)
    await put(b"c1", high)
    await put(b"d0", top)
    await put(b"d1", top)
    ranges = {s.shard_id: s.hash_key_range for s in (await kinesis.list_shards(stream_name="orders")).shards or []}

    def lease(shard: int, **attributes: dict[str, Any]) -> Item:
        key = f"shardId-{shard:012d}"
        return {
            "leaseKey": {"S": key},
            "startingHashKey": {"S": ranges[key].starting_hash_key},
            "endingHashKey": {"S": ranges[key].ending_hash_key},
            "ownerSwitchesSinceCheckpoint": {"N": "0"},
            "checkpointSubSequenceNumber": {"N": "0"},
            **attributes,
        }

    parent = {"parentShardId": {"SS": ["shardId-000000000001"]}}
    kcl: list[Item] = [
        lease(  # processed up to u2 of the aggregate by a worker now dead
            0,
            leaseOwner={"S": "kcl-worker-1"},
            leaseCounter={"N": "4711"},
            checkpoint={"S": aggregated},
            checkpointSubSequenceNumber={"N": "2"},
            pendingCheckpoint={"S": aggregated},
            throughputKBps={"N": "1.5"},
        ),
        lease(
            1,
            leaseOwner={"S": "kcl-worker-2"},
            leaseCounter={"N": "900"},
            checkpoint={"S": "SHARD_END"},
            childShardIds={"SS": ["shardId-000000000002", "shardId-000000000003"]},
        ),
        lease(2, leaseOwner={"S": "kcl-worker-2"}, leaseCounter={"N": "901"}, checkpoint={"S": c0}, **parent),
        lease(3, leaseCounter={"N": "0"}, checkpoint={"S": "TRIM_HORIZON"}, **parent),
        {"leaseKey": {"S": "kcl-worker-1"}, "entityType": {"S": "WORKER_METRIC_STATS"}, "lut": {"N": "1"}},
    ]
    table = f"kcl-app-{uuid.uuid4().hex[:8]}"
    async with aiokinesis.Client(**LOCAL_KEYS) as admin:
        dynamo = admin._dynamodb(endpoint_url=dynamodb_local_url)
        kept = aiokinesis.DynamoDBLeases(table, endpoint_url=dynamodb_local_url)
        kept.attach(dynamo)
        await kept.prepare()
        for item in kcl:
            await dynamo.put_item(table_name=table, item=item)

        leases = aiokinesis.DynamoDBLeases(table, endpoint_url=dynamodb_local_url, create_table=False)
        latest = aiokinesis.StartingPosition.latest()  # matters only for shards without a checkpoint
        wanted = {b"u3", b"u4", b"a-after", b"c1", b"d0", b"d1"}
        got: list[bytes] = []
        async with (
            asyncio.timeout(60),
            kinesis.consumer("orders", leases=leases, worker_id="ours-1", start=latest, config=FAST) as consumer,
        ):
            async for batch in consumer:
                got.extend(record.data for record in batch)
                await batch.checkpoint()
                if wanted <= set(got):
                    break
            progress = {p.shard_id: p for p in consumer.progress()}
        assert sorted(got) == sorted(wanted)  # nothing the KCL had checkpointed, each once
        assert progress["shardId-000000000001"].records == 0  # at SHARD_END: not read again

        items = {}
        for key in ("shardId-000000000000", "shardId-000000000002", "kcl-worker-1"):
            out = await dynamo.get_item(table_name=table, key={"leaseKey": {"S": key}}, consistent_read=True)
            assert out.item is not None
            items[key] = out.item
    first = items["shardId-000000000000"]
    assert "leaseOwner" not in first  # released on close
    assert int(first["leaseCounter"]["N"]) > 4711  # taken with the counter seen, not started over
    assert (first["checkpoint"], first["checkpointSubSequenceNumber"]) == ({"S": after}, {"N": "0"})
    for name in ("pendingCheckpoint", "throughputKBps", "startingHashKey", "endingHashKey"):
        assert first[name] == kcl[0][name], name
    assert int(items["shardId-000000000002"]["leaseCounter"]["N"]) > 901
    assert items["kcl-worker-1"] == kcl[-1]  # a KCL 3.x row that is no lease: untouched


async def test_one_dynamodb_leases_serves_consumers_of_several_clients_and_outlives_each(
    dynamodb_local_url: str,
) -> None:
    """One DynamoDBLeases (made once, at module level say) for consumers of two clients: the second
    client's close must not take the first consumer's table away (its renewals then all failed
    with ClientClosedError and it stopped reading every shard)."""
    leases = aiokinesis.DynamoDBLeases(f"shared-{uuid.uuid4().hex[:8]}", endpoint_url=dynamodb_local_url)
    both = ["shardId-000000000000", "shardId-000000000001"]

    def held(consumer: aiokinesis.StreamConsumer) -> list[str]:
        return sorted(p.shard_id for p in consumer.progress() if p.held)

    async with (
        asyncio.timeout(60),
        KinesisServer(streams={"orders": 2}) as server,
        aiokinesis.Client(endpoint_url=server.endpoint_url, **LOCAL_KEYS) as kinesis,
        kinesis.consumer("orders", leases=leases, worker_id="a", start=TRIM, config=FAST) as first,
    ):
        async with (
            aiokinesis.Client(endpoint_url=server.endpoint_url, **LOCAL_KEYS) as other,
            other.consumer("orders", leases=leases, worker_id="b", start=TRIM, config=FAST) as second,
        ):
            await until(lambda: bool(held(second)), within=30, what="b holds a lease")
        await until(lambda: held(first) == both, within=30, what="a takes the lease b released")
        await asyncio.sleep(3 * FAST.failover_time)  # renewals through the closed client would have lost them
        assert held(first) == both
        for i in range(4):
            await kinesis.put_record(stream_name="orders", data=f"v{i}".encode(), partition_key=f"key-{i}")
        got: list[bytes] = []
        async for batch in first:
            got.extend(record.data for record in batch)
            await batch.checkpoint()
            if len(got) == 4:
                break
    assert sorted(got) == [f"v{i}".encode() for i in range(4)]
