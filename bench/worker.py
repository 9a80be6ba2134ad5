"""Measure one contender on one workload in this process; print one JSON line.

Run by bench/run.py, each measurement in a fresh process so that peak RSS and imports
belong to the contender alone. CPU is process time (all threads) over the measured
calls only; a warm-up of a tenth of the calls comes first.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import sys
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import contenders


async def run_async(name: str, endpoint: str, workload: str, concurrency: int, calls: int) -> dict[str, float]:
    if name == "aiokinesis":
        factory = contenders.aiokinesis_calls(endpoint, workload, concurrency)
    elif name == "aiobotocore":
        factory = contenders.aiobotocore_calls(endpoint, workload, concurrency)
    else:
        factory = contenders.floor_calls(endpoint, workload, concurrency, sign_each=name == "floor")
    return await time_calls(factory, concurrency, calls)


async def time_calls(
    factory: contextlib.AbstractAsyncContextManager[contenders.AsyncCall], concurrency: int, calls: int
) -> dict[str, float]:
    """Warm up, then make `calls` calls from `concurrency` tasks: CPU and wall time of those alone."""
    async with factory as call:
        for _ in range(max(1, calls // 10)):
            await call()
        remaining = calls
        records = 0

        async def worker() -> None:
            nonlocal remaining, records
            while remaining > 0:
                remaining -= 1
                handled = await call()  # not `records += await ...`: that reads records before awaiting
                records += handled

        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return {"cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall, "records": records}


def run_threads(endpoint: str, workload: str, threads: int, calls: int) -> dict[str, float]:
    with contenders.boto3_calls(endpoint, workload, max(threads, 1)) as call:
        for _ in range(max(1, calls // 10)):
            call()
        cpu, wall = time.process_time(), time.perf_counter()
        if threads <= 1:
            records = sum(call() for _ in range(calls))
        else:
            with ThreadPoolExecutor(threads) as pool:
                records = sum(pool.map(lambda _: call(), range(calls)))
        return {"cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall, "records": records}


async def run_whole(name: str, endpoint: str, workload: str, records: int) -> dict[str, float]:
    """Producer or consumer: CPU and wall time of moving `records` records (imports and set-up excluded)."""
    run = contenders.aiokinesis_produce if workload == "producer" else contenders.aiokinesis_consume
    moved, cpu, wall = await run(endpoint, records)
    return {"cpu": cpu, "wall": wall, "records": moved}


async def run_fan_in(
    name: str, endpoint: str, shards: int, seconds: float, poll: Callable[..., Awaitable[None]] = contenders.fan_in
) -> dict[str, float]:
    """CPU share of one core and event-loop lag while `shards` shards are each read once a second."""
    warmup = 2.0
    polling = asyncio.create_task(poll(name, endpoint, shards, warmup + seconds + 0.5))
    await asyncio.sleep(warmup)  # the first GetShardIterator burst settles
    loop = asyncio.get_running_loop()
    lags: list[float] = []
    cpu, wall = time.process_time(), time.perf_counter()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        started = loop.time()
        await asyncio.sleep(0.01)
        lags.append(loop.time() - started - 0.01)
    used, elapsed = time.process_time() - cpu, time.perf_counter() - wall
    await polling
    lags.sort()
    return {
        "cpu": used,
        "wall": elapsed,
        "records": 0,
        "cpu_share": used / elapsed,
        "lag_p50_ms": lags[len(lags) // 2] * 1000,
        "lag_p99_ms": lags[int(len(lags) * 0.99)] * 1000,
    }


def measure_import(name: str) -> dict[str, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    __import__(contenders.IMPORTS[name])
    return {"cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall, "records": 0}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contender", required=True)
    parser.add_argument("--workload", required=True)
    parser.add_argument("--endpoint", default="")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--calls", type=int, default=100)
    args = parser.parse_args()
    if args.workload == "import":
        result = measure_import(args.contender)
    elif args.workload in ("producer", "consumer"):
        result = asyncio.run(run_whole(args.contender, args.endpoint, args.workload, args.calls))
    elif args.workload.startswith("fanin"):
        shards = int(args.workload.removeprefix("fanin"))
        result = asyncio.run(run_fan_in(args.contender, args.endpoint, shards, args.calls))
    elif args.contender == "boto3":
        result = run_threads(args.endpoint, args.workload, args.concurrency, args.calls)
    else:
        result = asyncio.run(run_async(args.contender, args.endpoint, args.workload, args.concurrency, args.calls))
    result["calls"] = args.calls
    result["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


if __name__ == "__main__":
    main()
