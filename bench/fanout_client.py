"""The client processes of bench/fanout.py; each prints one JSON line.

    python bench/fanout_client.py drain --contender efo-h2 --endpoint URL --shards N --backlog R [--idle S]
    python bench/fanout_client.py produce --endpoint URL --rate 200 --seconds 20 [--warmup 3]
    python bench/fanout_client.py latency --mode efo|polling --endpoint URL --shards 4 [--timeout 60]

drain: read a backlog of R records on each of N shards from TRIM_HORIZON; CPU (process time, all
threads) from just before the consumer opens (registering the stream consumer, listing shards
and subscribing are counted, as a user pays them) until the last record has arrived; sockets open
then (`socket:` links in /proc/self/fd); then the CPU share over S more seconds with every
subscription open and idle (the server's heartbeat events, or polling's empty reads).

produce / latency: records whose data is `phase|time.time()` put every 20 ms, one per shard;
the consumer takes now - that time for every measured record as its batch is handed over.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import resource
import time
from collections.abc import Callable, Coroutine
from typing import Any

STREAM = "fanout"
REGION = "us-east-1"
KEYS = {"aws_access_key_id": "bench", "aws_secret_access_key": "bench"}
CONTENDERS = ("efo-h2", "efo-h1", "aiobotocore", "polling")


def sockets() -> int:
    """Sockets this process holds now (TCP connections, listening or not)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
    return count


class Tally:
    """Records seen against the total expected; `done` is set when all have come."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.seen = 0
        self.done = asyncio.Event()
        self.cpu_done = 0.0
        self.wall_done = 0.0

    def add(self, count: int) -> None:
        self.seen += count
        if self.seen >= self.total and not self.done.is_set():
            self.cpu_done, self.wall_done = time.process_time(), time.perf_counter()
            self.done.set()


async def measured(tally: Tally, run: Callable[[Tally], Coroutine[Any, Any, None]], idle: float) -> dict[str, Any]:
    """Run `run` until the tally is full; then `idle` seconds more; the figures of both spans."""
    cpu, wall = time.process_time(), time.perf_counter()
    task = asyncio.create_task(run(tally))
    done = asyncio.create_task(tally.done.wait())
    await asyncio.wait({task, done}, return_when=asyncio.FIRST_COMPLETED)
    if not tally.done.is_set():
        done.cancel()
        await task  # raises what stopped it
        raise RuntimeError(f"the reader stopped after {tally.seen} of {tally.total} records")
    open_sockets = sockets()
    idle_cpu = time.process_time()
    await asyncio.sleep(idle)
    idle_used = time.process_time() - idle_cpu
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return {
        "records": tally.seen,
        "cpu": tally.cpu_done - cpu,
        "wall": tally.wall_done - wall,
        "sockets": open_sockets,
        "idle_cpu_share": idle_used / idle if idle > 0 else None,
    }


async def drain_aiokinesis(contender: str, endpoint: str, tally: Tally, idle: float, shards: int) -> dict[str, Any]:
    import aiokinesis  # noqa: PLC0415 - each process imports only its contender (its RSS is that library's)

    if contender == "polling":
        http = aiokinesis.HttpConfig()
    else:  # one HTTP/1.1 connection per subscription, and room for the unary calls
        http = aiokinesis.HttpConfig(http2=contender == "efo-h2", max_connections=shards + 10)
    if contender == "efo-h2":  # imported on the first subscription otherwise: a one-off, not a per-record cost
        import h2.connection  # noqa: F401, PLC0415
    start = aiokinesis.StartingPosition.trim_horizon()
    async with aiokinesis.Client(
        endpoint_url=endpoint, region=REGION, http=http, aws_access_key_id="bench", aws_secret_access_key="bench"
    ) as client:
        await client.describe_stream_summary(stream_name=STREAM)  # pool and credentials ready before timing

        async def run(tally: Tally) -> None:
            fan_out = None if contender == "polling" else f"bench-{os.getpid()}"
            async with client.consumer(STREAM, start=start, enhanced_fan_out=fan_out) as consumer:
                async for batch in consumer:
                    tally.add(len(batch.records))

        figures = await measured(tally, run, idle)
        # bench-only look at the client's HTTP/2 pool (its `opened` counts connections ever made)
        pool = getattr(getattr(client, "_session", None), "http2", None)
        figures["h2_opened"] = pool.opened if pool is not None and contender == "efo-h2" else None
        return figures


async def drain_aiobotocore(endpoint: str, tally: Tally, idle: float, shards: int) -> dict[str, Any]:
    """aiobotocore's raw subscribe_to_shard, one task per shard, each reading its event stream."""
    from aiobotocore.config import AioConfig  # noqa: PLC0415
    from aiobotocore.session import get_session  # noqa: PLC0415

    config = AioConfig(max_pool_connections=shards + 10)
    session = get_session()
    async with session.create_client(
        "kinesis", region_name=REGION, endpoint_url=endpoint, config=config, **KEYS
    ) as client:
        await client.describe_stream_summary(StreamName=STREAM)

        async def shard_reader(consumer_arn: str, shard_id: str, tally: Tally) -> None:
            answer = await client.subscribe_to_shard(
                ConsumerARN=consumer_arn, ShardId=shard_id, StartingPosition={"Type": "TRIM_HORIZON"}
            )
            async for event in answer["EventStream"]:
                records = event["SubscribeToShardEvent"]["Records"]
                tally.add(sum(len(r["Data"]) > 0 for r in records))

        async def run(tally: Tally) -> None:
            summary = await client.describe_stream_summary(StreamName=STREAM)
            stream_arn = summary["StreamDescriptionSummary"]["StreamARN"]
            registered = await client.register_stream_consumer(StreamARN=stream_arn, ConsumerName="bench-botocore")
            consumer_arn = registered["Consumer"]["ConsumerARN"]
            shard_ids = []
            async for page in client.get_paginator("list_shards").paginate(StreamName=STREAM):
                shard_ids += [s["ShardId"] for s in page["Shards"]]
            async with asyncio.TaskGroup() as group:
                for shard_id in shard_ids:
                    group.create_task(shard_reader(consumer_arn, shard_id, tally))

        return await measured(tally, run, idle)


async def drain(args: argparse.Namespace) -> dict[str, Any]:
    baseline = sockets()  # the event loop's own self-pipe
    tally = Tally(args.shards * args.backlog)
    if args.contender == "aiobotocore":
        figures = await drain_aiobotocore(args.endpoint, tally, args.idle, args.shards)
    else:
        figures = await drain_aiokinesis(args.contender, args.endpoint, tally, args.idle, args.shards)
    figures["connections"] = figures.pop("sockets") - baseline
    figures["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return figures


async def produce(args: argparse.Namespace) -> dict[str, Any]:
    """One record per shard every `4 / rate` s (explicit hash keys), `warmup` s marked W, then M, then E."""
    import aiokinesis  # noqa: PLC0415 - each process imports only its contender (its RSS is that library's)

    async with aiokinesis.Client(
        endpoint_url=args.endpoint, region=REGION, aws_access_key_id="bench", aws_secret_access_key="bench"
    ) as client:
        keys = [s.hash_key_range.starting_hash_key async for s in client.paginate.list_shards(stream_name=STREAM)]
        interval = len(keys) / args.rate
        loop = asyncio.get_running_loop()
        began = loop.time()
        ticks = int((args.warmup + args.seconds) / interval)
        failed = late = 0
        for tick in range(ticks + 1):
            lag = began + tick * interval - loop.time()
            if lag > 0:
                await asyncio.sleep(lag)
            else:
                late += 1
            phase = "E" if tick == ticks else "W" if tick * interval < args.warmup else "M"
            now = time.time()
            data = f"{phase}|{now:.6f}".encode()
            entry = aiokinesis.PutRecordsRequestEntry
            entries = [entry(data=data, partition_key="k", explicit_hash_key=k) for k in keys]
            out = await client.put_records(stream_name=STREAM, records=entries)
            failed += out.failed_record_count or 0
        return {"ticks": ticks, "records": ticks * len(keys), "failed": failed, "late_ticks": late}


async def latency(args: argparse.Namespace) -> dict[str, Any]:
    """now - put time of every measured record, until every shard's end marker (or the timeout)."""
    import aiokinesis  # noqa: PLC0415 - each process imports only its contender (its RSS is that library's)

    delays: list[float] = []
    ended: set[str] = set()
    fan_out = "bench-latency" if args.mode == "efo" else None
    start = aiokinesis.StartingPosition.trim_horizon()
    async with aiokinesis.Client(
        endpoint_url=args.endpoint, region=REGION, aws_access_key_id="bench", aws_secret_access_key="bench"
    ) as client:

        async def run() -> None:
            async with client.consumer(STREAM, start=start, enhanced_fan_out=fan_out) as consumer:
                async for batch in consumer:
                    now = time.time()
                    for record in batch:
                        phase, _, stamp = record.data.partition(b"|")
                        if phase == b"M":
                            delays.append(now - float(stamp))
                        elif phase == b"E":
                            ended.add(batch.shard_id)
                    if len(ended) >= args.shards:
                        return

        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(run(), args.timeout)
    delays.sort()
    pick = (lambda q: delays[min(len(delays) - 1, int(len(delays) * q))] * 1000) if delays else (lambda q: None)
    return {
        "mode": args.mode,
        "records": len(delays),
        "complete": len(ended) >= args.shards,
        "p50_ms": pick(0.5),
        "p90_ms": pick(0.9),
        "p99_ms": pick(0.99),
        "max_ms": delays[-1] * 1000 if delays else None,
        "min_ms": delays[0] * 1000 if delays else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    one = commands.add_parser("drain")
    one.add_argument("--contender", choices=CONTENDERS, required=True)
    one.add_argument("--endpoint", required=True)
    one.add_argument("--shards", type=int, required=True)
    one.add_argument("--backlog", type=int, required=True)
    one.add_argument("--idle", type=float, default=5.0)
    put = commands.add_parser("produce")
    put.add_argument("--endpoint", required=True)
    put.add_argument("--rate", type=float, default=200.0, help="records a second, all shards together")
    put.add_argument("--seconds", type=float, default=20.0)
    put.add_argument("--warmup", type=float, default=3.0)
    read = commands.add_parser("latency")
    read.add_argument("--mode", choices=("efo", "polling"), required=True)
    read.add_argument("--endpoint", required=True)
    read.add_argument("--shards", type=int, default=4)
    read.add_argument("--timeout", type=float, default=90.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    command = {"drain": drain, "produce": produce, "latency": latency}[args.command]
    print(json.dumps(asyncio.run(command(args))), flush=True)


if __name__ == "__main__":
    main()
