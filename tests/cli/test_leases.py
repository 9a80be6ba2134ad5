"""leases and lag, run as the real command, on a lease table a consumer wrote in DynamoDB Local."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator

import pytest

import aiokinesis
from aiokinesis.testing import KinesisServer, Limits
from tests.cli.conftest import BOUND, checkpoint_through, run_cli
from tests.conftest import LOCAL_KEYS

pytestmark = pytest.mark.integration
FAST = aiokinesis.ConsumerConfig(reader=aiokinesis.ReaderConfig(min_interval=0.0, idle_interval=0.05))
SHARDS = ["shardId-000000000000", "shardId-000000000001"]


class Clock:
    """The server's clock and the consumer's, moved by the test: MillisBehindLatest is the age of the
    first record not read. On the consumer's side it keeps the leases held until the consumer closes:
    on the real clock a renewal late by the failover time (a cold DynamoDB Local on a busy machine:
    failed 2 runs, with failover times of 1 s and 10 s) rightly ends the holding, and closing then
    does not release the lease, which the test reads back as released."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def server(clock: Clock) -> AsyncIterator[KinesisServer]:
    async with KinesisServer(streams={"orders": 2}, limits=Limits(enabled=False), clock=clock) as local:
        yield local


async def test_leases_and_lag_show_the_table_a_consumer_keeps(
    server: KinesisServer, clock: Clock, dynamodb_local_url: str
) -> None:
    table = f"cli-{uuid.uuid4().hex[:8]}"
    endpoints = ["--endpoint-url", server.endpoint_url, "--dynamodb-endpoint-url", dynamodb_local_url]
    async with aiokinesis.Client(endpoint_url=server.endpoint_url, clock=clock, **LOCAL_KEYS) as kinesis:
        for i in range(10):  # five records on each shard
            key = "0" if i % 2 else str(2**127)
            await kinesis.put_record(stream_name="orders", data=b"%d" % i, partition_key="k", explicit_hash_key=key)
        leases = aiokinesis.DynamoDBLeases(table, endpoint_url=dynamodb_local_url)
        start = aiokinesis.StartingPosition.trim_horizon()
        async with (
            asyncio.timeout(BOUND),
            kinesis.consumer("orders", leases=leases, worker_id="worker-a", start=start, config=FAST) as consumer,
        ):
            await checkpoint_through(consumer, 10)
            held = await run_cli("leases", table, *endpoints, "--output", "json")
        assert held.code == 0, held.stderr
        document = json.loads(held.stdout)
        assert document["table"] == table
        rows = document["leases"]
        assert [r["shard_id"] for r in rows] == SHARDS
        assert {r["owner"] for r in rows} == {"worker-a"}
        assert list(rows[0]) == [
            "shard_id", "owner", "counter", "checkpoint", "sub_sequence_number", "owner_switches", "parents",
            "children",
        ]  # fmt: skip
        assert all(r["checkpoint"].isdigit() and r["counter"] >= 1 for r in rows)

        for _ in range(3):  # three records behind on shard 0, seven seconds old
            await kinesis.put_record(stream_name="orders", data=b"late", partition_key="k", explicit_hash_key="0")
    clock.now += 7.0

    released = await run_cli("leases", table, *endpoints)
    assert released.code == 0, released.stderr
    header, *lines = released.stdout.splitlines()
    assert header.split() == ["shard", "owner", "counter", "checkpoint", "owner", "switches", "parents"]
    assert [line.split()[:2] for line in lines] == [[SHARDS[0], "-"], [SHARDS[1], "-"]]  # handed back on close

    lag = await run_cli("lag", "orders", "--leases", table, *endpoints, "--output", "json")
    assert lag.code == 0, lag.stderr
    shards = json.loads(lag.stdout)["shards"]
    assert [(s["shard_id"], s["millis_behind_latest"], s["error"]) for s in shards] == [
        (SHARDS[0], 7000, None),
        (SHARDS[1], 0, None),
    ]
    as_text = await run_cli("lag", "orders", "--leases", table, *endpoints)
    header, *lines = as_text.stdout.splitlines()
    assert header.split() == ["shard", "owner", "counter", "checkpoint", "behind", "(ms)"]
    assert [line.split()[-1] for line in lines] == ["7,000", "0"]

    missing = await run_cli("leases", "no-such-table", *endpoints)
    assert missing.code == 1
    assert missing.stderr == "aiokinesis leases: the lease table no-such-table does not exist (create_table=False)\n"
