"""What lease upkeep costs: table requests per shard per minute, rebalance times, and CPU.

    .venv/bin/python bench/leases.py [--runs 3] [--only steady,join,death,cpu]

Issue #10. Everything runs in one process on the real clock, 127.0.0.1 only, against one shared
InMemoryLeases (whose `.calls` counts the operations a DynamoDB table would have been sent):

- steady: 4 consumers on a 16-shard aiokinesis.testing stream (limits off, readers idle),
  failover_time 2 s; once balanced, the table operations of a 30 s window. Scaled to the default
  10 s by each operation's own interval (see `scaled()`), plus the ListShards-driven scans.
- join: 3 consumers on 12 shards, balanced; a 4th starts; seconds until each of the 4 holds 3.
- death: 4 consumers on 12 shards, balanced; one's table connection starts refusing every call
  (a kill -9 as the table sees it: no release, no last write); seconds until the 3 others hold all 12.
- cpu: 1000 shards over 4 lease coordinators alone (no consumer, no Kinesis, no HTTP), the default
  failover_time 10 s; process CPU over a 30 s window once the leases are all held.
- dynamodb (optional): steady again with DynamoDBLeases on DynamoDB Local (tests/dynamodb_local,
  after `bash scripts/setup.sh`), HTTP requests counted by X-Amz-Target at a proxy on 127.0.0.1.
- cpu-dynamodb (optional): cpu again with DynamoDBLeases on DynamoDB Local, so each request's
  HTTP, JSON and signing count too (DynamoDB Local's own Java process is not counted).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import aiohttp
from aiohttp import web

import aiokinesis
from aiokinesis._runtime import Runtime  # the cpu figure drives coordinators alone: bench-only use
from aiokinesis._shardstore import ShardInfo
from aiokinesis.leases import InMemoryLeases, Lease, LeaseStore, Lost
from aiokinesis.leases._coordinator import LeaseCoordinator
from aiokinesis.testing import KinesisServer, Limits

EPSILON = 0.025
"""The KCL's epsilon, as aiokinesis.config uses it."""
FAST = 2.0
DEFAULT = aiokinesis.ConsumerConfig().failover_time
TRIM = aiokinesis.StartingPosition.trim_horizon()
ROOT = Path(__file__).resolve().parent.parent


def renew_interval(failover: float) -> float:
    return failover / 3 - EPSILON


def scan_interval(failover: float) -> float:
    return (failover + EPSILON) / 2


class Connection:
    """One worker's connection to a table: counts its calls; `stop()` makes it refuse every call from then on."""

    def __init__(self, table: LeaseStore) -> None:
        self.table = table
        self.stopped = False
        self.calls: Counter[str] = Counter()

    def stop(self) -> None:
        self.stopped = True

    def _check(self, operation: str) -> None:
        self.calls[operation] += 1
        if self.stopped:
            raise ConnectionError("this worker is stopped")

    async def prepare(self) -> None:
        self._check("prepare")
        await self.table.prepare()

    async def create(self, lease: Lease) -> bool:
        self._check("create")
        return await self.table.create(lease)

    async def list_leases(self) -> list[Lease]:
        self._check("list_leases")
        return await self.table.list_leases()

    async def get(self, key: str) -> Lease | None:
        self._check("get")
        return await self.table.get(key)

    async def renew(self, lease: Lease) -> Lease | Lost:
        self._check("renew")
        return await self.table.renew(lease)

    async def take(self, lease: Lease, owner: str) -> Lease | Lost:
        self._check("take")
        return await self.table.take(lease, owner)

    async def release(self, lease: Lease) -> Lease | Lost:
        self._check("release")
        return await self.table.release(lease)

    async def checkpoint(self, lease: Lease, checkpoint: str, sub_sequence_number: int) -> Lease | Lost:
        self._check("checkpoint")
        return await self.table.checkpoint(lease, checkpoint, sub_sequence_number)

    async def set_children(self, key: str, children: tuple[str, ...]) -> bool:
        self._check("set_children")
        return await self.table.set_children(key, children)

    async def delete(self, key: str) -> bool:
        self._check("delete")
        return await self.table.delete(key)


def held(consumer: aiokinesis.StreamConsumer) -> int:
    return sum(1 for progress in consumer.progress() if progress.held)


async def wait_for(condition: Callable[[], bool], within: float, what: str) -> float:
    """Seconds until `condition` holds, polled every 10 ms; RuntimeError after `within` seconds."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > within:
            raise RuntimeError(f"not {what} within {within:g} s")
        await asyncio.sleep(0.01)
    return time.monotonic() - started


class Crew:
    """Consumers of one stream on one shared table, each on its own Connection."""

    def __init__(self, kinesis: aiokinesis.Client, table: InMemoryLeases, config: aiokinesis.ConsumerConfig) -> None:
        self.kinesis, self.table, self.config = kinesis, table, config
        self.consumers: list[aiokinesis.StreamConsumer] = []
        self.connections: list[Connection] = []
        self.stack = contextlib.AsyncExitStack()

    async def add(self) -> aiokinesis.StreamConsumer:
        connection = Connection(self.table)
        name = f"worker-{len(self.consumers)}"
        consumer = self.kinesis.consumer("bench", leases=connection, worker_id=name, start=TRIM, config=self.config)
        await self.stack.enter_async_context(consumer)
        self.consumers.append(consumer)
        self.connections.append(connection)
        return consumer

    def balanced(self, shards: int, live: list[int] | None = None) -> bool:
        chosen = [self.consumers[n] for n in live] if live is not None else self.consumers
        counts = [held(consumer) for consumer in chosen]
        return sum(counts) == shards and max(counts) - min(counts) <= 1


def client(server: KinesisServer) -> aiokinesis.Client:
    return aiokinesis.Client(
        endpoint_url=server.endpoint_url, region="us-east-1", aws_access_key_id="a", aws_secret_access_key="b"
    )


def fast_config() -> aiokinesis.ConsumerConfig:
    # No ListShards in the windows: its scans are added analytically (one per worker per list_shards_interval).
    return aiokinesis.ConsumerConfig(failover_time=FAST, list_shards_interval=3600.0)


def scaled(calls: Counter[str], seconds: float, shards: int) -> dict[str, float]:
    """Per shard per minute at failover_time 10 s, from counts made at 2 s: each operation
    scaled by its own interval's ratio (renew: (2/3 - 0.025) / (10/3 - 0.025); scan:
    (2 + 0.025) / (10 + 0.025)); others (none in steady state) left as they are."""
    per_minute = {op: count / seconds * 60 / shards for op, count in calls.items()}
    factor = {
        "renew": renew_interval(FAST) / renew_interval(DEFAULT),
        "list_leases": scan_interval(FAST) / scan_interval(DEFAULT),
    }
    return {op: rate * factor.get(op, 1.0) for op, rate in per_minute.items()}


async def steady(workers: int = 4, shards: int = 16, window: float = 30.0) -> dict[str, float]:
    table = InMemoryLeases()
    async with KinesisServer(streams={"bench": shards}, limits=Limits(enabled=False)) as server, client(server) as kc:
        crew = Crew(kc, table, fast_config())
        async with crew.stack:
            for _ in range(workers):
                await crew.add()
            await wait_for(lambda: crew.balanced(shards), 60, "balanced")
            await asyncio.sleep(renew_interval(FAST) * 2)  # the takes' last renewals out of the way
            before, started = Counter(table.calls), time.monotonic()
            await asyncio.sleep(window)
            calls, seconds = Counter(table.calls) - before, time.monotonic() - started
    raw = {op: count / seconds * 60 / shards for op, count in calls.items()}
    at_default = scaled(calls, seconds, shards)
    listing = workers / shards * 60 / aiokinesis.ConsumerConfig().list_shards_interval
    return {
        "raw_total": sum(raw.values()),
        **{f"raw_{op}": rate for op, rate in raw.items()},
        "default_total": sum(at_default.values()) + listing,
        **{f"default_{op}": rate for op, rate in at_default.items()},
        "default_list_shards_scans": listing,
    }


async def join(shards: int = 12) -> float:
    table = InMemoryLeases()
    async with KinesisServer(streams={"bench": shards}, limits=Limits(enabled=False)) as server, client(server) as kc:
        crew = Crew(kc, table, fast_config())
        async with crew.stack:
            for _ in range(3):
                await crew.add()
            await wait_for(lambda: crew.balanced(shards), 60, "balanced")
            await asyncio.sleep(1.0)
            started = time.monotonic()
            await crew.add()
            await wait_for(lambda: all(held(c) == shards // 4 for c in crew.consumers), 100, "rebalanced")
            return time.monotonic() - started


async def death(shards: int = 12) -> float:
    table = InMemoryLeases()
    async with KinesisServer(streams={"bench": shards}, limits=Limits(enabled=False)) as server, client(server) as kc:
        crew = Crew(kc, table, fast_config())
        async with crew.stack:
            for _ in range(4):
                await crew.add()
            await wait_for(lambda: crew.balanced(shards), 60, "balanced")
            await asyncio.sleep(1.0)
            started = time.monotonic()
            crew.connections[0].stop()
            await wait_for(lambda: crew.balanced(shards, live=[1, 2, 3]), 100, "taken over")
            return time.monotonic() - started


def listed_shards(count: int) -> list[ShardInfo]:
    space, step = 2**128, 2**128 // count
    return [
        ShardInfo(f"shardId-{n:012d}", (), (n * step, space - 1 if n == count - 1 else (n + 1) * step - 1))
        for n in range(count)
    ]


async def upkeep(tables: list[LeaseStore], shards: int, window: float) -> dict[str, float]:
    """Process CPU over `window` seconds of 4 lease coordinators holding `shards` leases, default timing.

    The coordinator is what a consumer on leases runs; driven here as the consumer does (discovered()
    with the listed shards, then run()), without the consumer, its readers or Kinesis.
    """
    listed = listed_shards(shards)
    keys = [shard.shard_id for shard in listed]
    connections = [Connection(table) for table in tables]
    config = aiokinesis.ConsumerConfig()
    runtime = Runtime(clock=time.monotonic, sleep=asyncio.sleep, rand=random.random)
    coordinators = [
        LeaseCoordinator(connection, worker_id=f"worker-{n}", start=TRIM, config=config, runtime=runtime)
        for n, connection in enumerate(connections)
    ]

    def calls() -> Counter[str]:
        return sum((Counter(connection.calls) for connection in connections), Counter())

    for coordinator in coordinators:
        await coordinator.discovered(listed)
    tasks = [asyncio.create_task(coordinator.run()) for coordinator in coordinators]
    try:
        await wait_for(lambda: sum(len(c.readable(keys)) for c in coordinators) == shards, 90, "all held")
        await asyncio.sleep(renew_interval(DEFAULT))
        before, wall, spent = calls(), time.monotonic(), time.process_time()
        await asyncio.sleep(window)
        spent, wall = time.process_time() - spent, time.monotonic() - wall
        counted = calls() - before
        loads = sorted(len(c.readable(keys)) for c in coordinators)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    requests = sum(counted.values())
    return {
        "cpu_share": spent / wall,
        "requests_per_second": requests / wall,
        "cpu_us_per_request": spent / requests * 1e6,
        **{op: float(count) for op, count in counted.items()},
        "min_load": loads[0],
        "max_load": loads[-1],
    }


async def cpu(shards: int = 1000, workers: int = 4, window: float = 30.0) -> dict[str, float]:
    """Lease upkeep on one shared InMemoryLeases: the coordinators' own work, no HTTP."""
    table = InMemoryLeases()
    return await upkeep([table] * workers, shards, window)


async def cpu_dynamodb(shards: int = 1000, workers: int = 4, window: float = 30.0) -> dict[str, float]:
    """Lease upkeep with DynamoDBLeases on DynamoDB Local: adds each request's HTTP, JSON and signing
    (DynamoDB Local runs in its own Java process, whose CPU is not counted)."""
    sys.path.insert(0, str(ROOT))
    from tests.dynamodb_local.launch import dynamodb_local  # noqa: PLC0415 - needs the repo root on sys.path

    with dynamodb_local() as local:
        async with aiokinesis.Client(region="us-east-1", aws_access_key_id="a", aws_secret_access_key="b") as kc:
            tables: list[LeaseStore] = []
            for _ in range(workers):
                table = aiokinesis.DynamoDBLeases("bench-upkeep", endpoint_url=local)
                table.attach(kc._dynamodb(endpoint_url=local))  # noqa: SLF001 - what kinesis.consumer() does
                tables.append(table)
            return await upkeep(tables, shards, window)


class CountingProxy:
    """An HTTP proxy on 127.0.0.1 in front of DynamoDB Local that counts requests by X-Amz-Target."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.calls: Counter[str] = Counter()
        self.url = ""

    async def _handle(self, request: web.Request) -> web.Response:
        self.calls[request.headers.get("X-Amz-Target", "?").rpartition(".")[2]] += 1
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with self.session.post(self.upstream, data=await request.read(), headers=headers) as answer:
            body = await answer.read()
            keep = {k: v for k, v in answer.headers.items() if k.lower() in ("content-type", "x-amzn-requestid")}
            return web.Response(status=answer.status, body=body, headers=keep)

    async def __aenter__(self) -> CountingProxy:
        self.session = aiohttp.ClientSession()
        app = web.Application()
        app.router.add_post("/", self._handle)
        self.runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = self.runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.runner.cleanup()
        await self.session.close()


async def dynamodb(workers: int = 4, shards: int = 16, window: float = 30.0) -> dict[str, float]:
    """The steady figure again, with DynamoDBLeases on DynamoDB Local: HTTP requests counted at a proxy."""
    sys.path.insert(0, str(ROOT))
    from tests.dynamodb_local.launch import dynamodb_local  # noqa: PLC0415 - needs the repo root on sys.path

    with dynamodb_local() as local:
        async with (
            CountingProxy(local) as proxy,
            KinesisServer(streams={"bench": shards}, limits=Limits(enabled=False)) as server,
            client(server) as kc,
        ):
            consumers = []
            async with contextlib.AsyncExitStack() as stack:
                for n in range(workers):
                    leases = aiokinesis.DynamoDBLeases("bench-leases", endpoint_url=proxy.url)
                    consumer = kc.consumer(
                        "bench", leases=leases, worker_id=f"worker-{n}", start=TRIM, config=fast_config()
                    )
                    consumers.append(await stack.enter_async_context(consumer))

                def balanced() -> bool:
                    counts = [held(c) for c in consumers]
                    return sum(counts) == shards and max(counts) - min(counts) <= 1

                await wait_for(balanced, 90, "balanced")
                await asyncio.sleep(renew_interval(FAST) * 2)
                before, started = Counter(proxy.calls), time.monotonic()
                await asyncio.sleep(window)
                calls, seconds = Counter(proxy.calls) - before, time.monotonic() - started
    ops = {"UpdateItem": "renew", "Scan": "list_leases"}  # in steady state: renewals and scans only
    renamed = Counter({ops.get(op, op): count for op, count in calls.items()})
    raw = {op: count / seconds * 60 / shards for op, count in calls.items()}
    at_default = scaled(renamed, seconds, shards)
    listing = workers / shards * 60 / aiokinesis.ConsumerConfig().list_shards_interval
    return {
        "raw_total": sum(raw.values()),
        **{f"raw_{op}": rate for op, rate in raw.items()},
        "default_total": sum(at_default.values()) + listing,
    }


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    keys = sorted({key for run in runs for key in run})
    return {key: statistics.median(run.get(key, 0.0) for run in runs) for key in keys}


async def main(runs: int, only: set[str]) -> None:
    logging.getLogger("aiokinesis").setLevel(logging.ERROR)  # the stopped worker's failures are expected
    if "steady" in only:
        results = []
        for _ in range(runs):
            results.append(await steady())
            print("steady run:", {k: round(v, 2) for k, v in results[-1].items()}, flush=True)
        print("steady median:", {k: round(v, 2) for k, v in median_of(results).items()})
    if "join" in only:
        times = []
        for _ in range(runs):
            times.append(await join())
            print(f"join run: {times[-1]:.2f} s", flush=True)
        m = statistics.median(times)
        print(f"join: {[round(t, 2) for t in times]} s; median {m:.2f} s = {m / FAST:.2f} x failover_time")
    if "death" in only:
        times = []
        for _ in range(runs):
            times.append(await death())
            print(f"death run: {times[-1]:.2f} s", flush=True)
        m = statistics.median(times)
        print(f"death: {[round(t, 2) for t in times]} s; median {m:.2f} s = {m / FAST:.2f} x failover_time")
    if "dynamodb" in only:
        results = []
        for _ in range(runs):
            results.append(await dynamodb())
            print("dynamodb run:", {k: round(v, 2) for k, v in results[-1].items()}, flush=True)
        print("dynamodb median:", {k: round(v, 2) for k, v in median_of(results).items()})
    if "cpu-dynamodb" in only:
        results = []
        for _ in range(runs):
            results.append(await cpu_dynamodb())
            print("cpu-dynamodb run:", {k: round(v, 4) for k, v in results[-1].items()}, flush=True)
        print("cpu-dynamodb median:", {k: round(v, 4) for k, v in median_of(results).items()})
    if "cpu" in only:
        results = []
        for _ in range(runs):
            results.append(await cpu())
            print("cpu run:", {k: round(v, 4) for k, v in results[-1].items()}, flush=True)
        print("cpu median:", {k: round(v, 4) for k, v in median_of(results).items()})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--only", default="steady,join,death,cpu", help="also: dynamodb, cpu-dynamodb (DynamoDB Local, needs Java)"
    )
    args = parser.parse_args()
    asyncio.run(main(args.runs, set(args.only.split(","))))
