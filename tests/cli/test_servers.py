"""The command against the other local servers: its own testing-server, and kinesis-mock."""

from __future__ import annotations

import asyncio
import json
import re
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

import aiokinesis
from tests.cli.conftest import BOUND, checkpoint_through, run_cli, started
from tests.conftest import LOCAL_KEYS, create_active_stream

TRIM = aiokinesis.StartingPosition.trim_horizon()
FAST = aiokinesis.ConsumerConfig(reader=aiokinesis.ReaderConfig(min_interval=0.0, idle_interval=0.05))


@asynccontextmanager
async def local_server(*flags: str) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    """`aiokinesis testing-server` on any free port of 127.0.0.1, and the URL of its ready line."""
    async with started("testing-server", "--host", "127.0.0.1", "--port", "0", *flags, stderr=None) as process:
        assert process.stdout is not None
        async with asyncio.timeout(BOUND):
            ready = (await process.stdout.readline()).decode()
        url = ready.removeprefix("aiokinesis.testing listening on ").removesuffix("\n")
        assert re.fullmatch(r"http://127\.0\.0\.1:[1-9]\d*", url), ready
        yield process, url


async def test_testing_server_serves_until_interrupted() -> None:
    async with local_server("--stream", "audit:3") as (process, url):
        listed = await run_cli("ls", "--endpoint-url", url, "--output", "json")
        assert [(s["name"], s["open_shards"]) for s in json.loads(listed.stdout)["streams"]] == [("audit", 3)]
        process.send_signal(signal.SIGINT)
        async with asyncio.timeout(BOUND):
            assert await process.wait() == 0


async def test_the_cli_create_waits_for_active_and_the_server_flags_set_durations() -> None:
    """`aiokinesis testing-server --create-duration 1`: `create` returns once the stream is ACTIVE
    (the command polls every second); a bad duration is a usage error naming the flag."""
    async with local_server("--create-duration", "1", "--delete-duration", "600") as (_, url):
        endpoint = ["--endpoint-url", url]
        created = await run_cli("create", "new", "--shards", "2", *endpoint)
        assert created.code == 0, created.stderr
        assert created.stdout == "created new: ACTIVE, PROVISIONED, 2 open shards\n"
        deleted = await run_cli("delete", "new", "--no-wait", *endpoint)
        assert (deleted.code, deleted.stdout) == (0, "deleting new\n"), deleted.stderr
        listed = await run_cli("ls", *endpoint, "--output", "json")
        assert '"DELETING"' in listed.stdout  # 600 s of DELETING: it is still listed
    bad = await run_cli("testing-server", "--update-duration", "-1")
    assert bad.code == 2
    assert "--update-duration: expected a number of seconds, 0 or more, not '-1'" in bad.stderr


@pytest.mark.integration
async def test_ls_describe_put_tail_against_kinesis_mock(kinesis_mock_url: str, stream_name: str) -> None:
    endpoint = ["--endpoint-url", kinesis_mock_url]
    created = await run_cli("create", stream_name, "--shards", "2", *endpoint)
    assert created.code == 0, created.stderr
    listed = await run_cli("ls", *endpoint, "--output", "json")
    assert stream_name in {s["name"] for s in json.loads(listed.stdout)["streams"]}
    described = await run_cli("describe", stream_name, *endpoint)
    assert described.code == 0, described.stderr
    assert f"shards of {stream_name}" in described.stdout
    assert "shardId-000000000001  open  keys 50.0%-100.0%" in described.stdout

    lines = b"".join(b"record %d\n" % i for i in range(20))
    put = await run_cli("put", stream_name, *endpoint, stdin=lines)
    assert put.code == 0, put.stderr
    assert put.stdout.startswith(f"put 20 of 20 records to {stream_name} ")
    tailed = await run_cli("tail", stream_name, *endpoint)
    assert tailed.code == 0, tailed.stderr
    assert sorted(tailed.stdout.splitlines()) == sorted(f"record {i}" for i in range(20))
    pushed = await run_cli("tail", stream_name, "--enhanced-fan-out", "cli", *endpoint)
    assert pushed.code == 0, pushed.stderr
    assert sorted(pushed.stdout.splitlines()) == sorted(f"record {i}" for i in range(20))

    deleted = await run_cli("delete", stream_name, "--force", *endpoint)  # and its consumer "cli"
    assert (deleted.code, deleted.stdout) == (0, f"deleted {stream_name}\n"), deleted.stderr
    listed = await run_cli("ls", *endpoint, "--output", "json")
    assert stream_name not in {s["name"] for s in json.loads(listed.stdout)["streams"]}


@pytest.mark.integration
async def test_leases_and_lag_against_kinesis_mock_and_dynamodb_local(
    kinesis_mock_url: str, dynamodb_local_url: str, stream_name: str
) -> None:
    endpoints = ["--endpoint-url", kinesis_mock_url, "--dynamodb-endpoint-url", dynamodb_local_url]
    table = f"cli-{stream_name}"
    async with aiokinesis.Client(endpoint_url=kinesis_mock_url, **LOCAL_KEYS) as kinesis:
        await create_active_stream(kinesis, stream_name, shards=2)
        for i in range(10):
            await kinesis.put_record(stream_name=stream_name, data=b"%d" % i, partition_key=f"k{i}")
        leases = aiokinesis.DynamoDBLeases(table, endpoint_url=dynamodb_local_url)
        async with (
            asyncio.timeout(BOUND),
            kinesis.consumer(stream_name, leases=leases, worker_id="w", start=TRIM, config=FAST) as consumer,
        ):
            await checkpoint_through(consumer, 10)
    held = await run_cli("leases", table, *endpoints, "--output", "json")
    assert held.code == 0, held.stderr
    rows = json.loads(held.stdout)["leases"]
    assert [r["shard_id"] for r in rows] == ["shardId-000000000000", "shardId-000000000001"]
    assert all(r["checkpoint"].isdigit() for r in rows)
    lag = await run_cli("lag", stream_name, "--leases", table, *endpoints, "--output", "json")
    assert lag.code == 0, lag.stderr
    behind = json.loads(lag.stdout)["shards"]
    assert [(s["shard_id"], s["error"]) for s in behind] == [(r["shard_id"], None) for r in rows]
    assert all(isinstance(s["millis_behind_latest"], int) and s["millis_behind_latest"] >= 0 for s in behind)
