"""Measure one peer on one workload in this process, on asyncio's loop or uvloop; print one JSON line.

Run by bench/peers.py with the python of the contender's venv. The per-call, fan-in and
aiokinesis producer/consumer measurements are bench/worker.py's; this adds the peers and
the event-loop choice.
"""

# ruff: noqa: PLC0415  (uvloop is imported only when asked for: it is in one venv alone)

from __future__ import annotations

import argparse
import asyncio
import functools
import importlib
import json
import resource
import sys
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import contenders
import peers_contenders
import worker

Run = Callable[[str, int], Coroutine[Any, Any, contenders.Timed]]
Measured = Coroutine[Any, Any, dict[str, float]]
PRODUCERS: dict[str, Run] = {
    "aiokinesis": peers_contenders.aiokinesis_produce_default,
    "aiokinesis-unpaced": contenders.aiokinesis_produce,
    "async-kinesis": peers_contenders.async_kinesis_produce,
    "aiokpl": peers_contenders.aiokpl_produce,
}
CONSUMERS: dict[str, Run] = {
    "aiokinesis": peers_contenders.aiokinesis_consume_default,
    "aiokinesis-unpaced": contenders.aiokinesis_consume,
    "aiokinesis-unpaced-gcfreeze": peers_contenders.frozen(contenders.aiokinesis_consume),
    "aiokinesis-unpaced-arrivals": functools.partial(contenders.aiokinesis_consume, arrivals=True),
    "async-kinesis": peers_contenders.async_kinesis_consume,
}


async def whole(
    run: Callable[[str, int], Coroutine[Any, Any, contenders.Timed]], endpoint: str, n: int
) -> dict[str, float]:
    moved, cpu, wall = await run(endpoint, n)
    return {"cpu": cpu, "wall": wall, "records": moved}


def measurement(
    name: str, workload: str, endpoint: str, concurrency: int, calls: int
) -> Coroutine[Any, Any, dict[str, float]]:
    if workload == "producer":
        return whole(PRODUCERS[name], endpoint, calls)
    if workload == "consumer":
        return whole(CONSUMERS[name], endpoint, calls)
    if workload.startswith("fanin"):
        shards = int(workload.removeprefix("fanin"))
        if name == "floor-signing-each":
            return worker.run_fan_in(name, endpoint, shards, calls, peers_contenders.fan_in_floor_signing_each)
        return worker.run_fan_in(name, endpoint, shards, calls)
    if name == "capo":
        return worker.time_calls(peers_contenders.capo_calls(endpoint, workload), concurrency, calls)
    return worker.run_async(name, endpoint, workload, concurrency, calls)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contender", required=True)
    parser.add_argument("--workload", required=True)
    parser.add_argument("--endpoint", default="")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    args = parser.parse_args()
    factory = None
    if args.loop == "uvloop":
        import uvloop

        factory = uvloop.new_event_loop
    if args.workload == "import":
        cpu, wall = time.process_time(), time.perf_counter()
        importlib.import_module(peers_contenders.IMPORTS[args.contender])
        result = {"cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall, "records": 0}
    elif args.workload == "cold":  # the parent takes this whole process's CPU from its rusage
        with asyncio.Runner(loop_factory=factory) as runner:
            runner.run(peers_contenders.cold_put_record(args.contender, args.endpoint))
        result = {"cpu": 0.0, "wall": 0.0, "records": 1}
    else:
        with asyncio.Runner(loop_factory=factory) as runner:
            result = runner.run(measurement(args.contender, args.workload, args.endpoint, args.concurrency, args.calls))
    result["calls"] = args.calls
    result["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


if __name__ == "__main__":
    main()
