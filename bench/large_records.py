"""Large records: the producer's CPU per MiB by record size, and a shard's 1 MiB/s with 5 MiB records.

    .venv/bin/python bench/large_records.py [--mib 64] [--records 100]

1. `cpu`: records of 1 KiB, 100 KiB, 1 MiB and 5 MiB (`--mib` of each) through the producer to
   bench/stub_server.py in its own process (canned answers, MaxRecordSizeInKiB 10240), pacing off:
   the figure is this process's CPU (the producer, the event loop, the sockets) per MiB put.
2. `shard`: `--records` records of 5 MiB through the producer to one shard of aiokinesis.testing
   with AWS's limits on (1 MiB/s a shard, the burst a large record takes). At 1 MiB/s that is
   ~500 s, so server and producer share a virtual clock: whenever no PutRecords is in flight it
   jumps to the next sleeper's end. Reported: virtual seconds, the share of 1 MiB/s reached,
   throttles, and the real CPU and wall time of both sides (one process).
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import itertools
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import stub_server

import aiokinesis
from aiokinesis.testing import KinesisServer

MIB = 1024 * 1024
KEYS = {"aws_access_key_id": "AKIDBENCH", "aws_secret_access_key": "bench-secret"}
SIZES = {"1 KiB": 1024, "100 KiB": 100 * 1024, "1 MiB": MIB - 16, "5 MiB": 5 * MIB}
"""The 1 MiB case leaves room for its key: a record is data and key, at most the stream's maximum."""


async def producer_cpu(endpoint: str, size: int, mib: int) -> tuple[float, float, int]:
    """CPU seconds and wall seconds to put `mib` MiB of `size`-byte records; records put."""
    count = max(1, mib * MIB // size)
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    config = aiokinesis.ProducerConfig(rate_limit=0, linger=0.01)  # the stub has no limits to keep under
    async with aiokinesis.Client(endpoint_url=endpoint, region="us-east-1", **KEYS) as client:
        async with client.producer("bench", config=config) as producer:
            await producer.put(data, partition_key="warm-up")
            await producer.flush()
            cpu, wall = time.process_time(), time.perf_counter()
            for i in range(count):
                await producer.put(data, partition_key=f"pk-{i % 1000}")
            await producer.flush()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        assert producer.stats.records_put == count + 1
    return cpu, wall, count


class EventClock:
    """Virtual time for both sides: sleeps wait until `advance` moves time past their end."""

    def __init__(self) -> None:
        self.now = 1_764_000_000.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + max(0.0, seconds), next(self._order), future))
        await future

    def advance(self) -> bool:
        """Move to the earliest pending sleep's end and wake everything due; False if none waits."""
        while self._sleepers and self._sleepers[0][2].done():  # cancelled sleeps
            heapq.heappop(self._sleepers)
        if not self._sleepers:
            return False
        self.now = max(self.now, self._sleepers[0][0])
        while self._sleepers and self._sleepers[0][0] <= self.now:
            future = heapq.heappop(self._sleepers)[2]
            if not future.done():
                future.set_result(None)
        return True


async def one_shard(records: int) -> dict[str, float]:
    """`records` of 5 MiB through one shard with AWS's limits on, on virtual time."""
    virtual = EventClock()
    data = bytes(range(256)) * (5 * MIB // 256 - 1)  # 5 MiB less 256 bytes: data and key fit 5 MiB
    cpu, wall = time.process_time(), time.perf_counter()
    async with (
        KinesisServer(clock=virtual.clock) as local,  # AWS's limits enforced
        aiokinesis.Client(
            endpoint_url=local.endpoint_url,
            retry=aiokinesis.RetryConfig(max_attempts=1),
            clock=virtual.clock,
            sleep=virtual.sleep,
            **KEYS,
        ) as client,
    ):
        local.backend.create_stream("large", 1, max_record_size_kib=10240)
        # Paced at the shard's rate exactly; at 5 s a record, the last waits ~500 s: a TTL above that.
        config = aiokinesis.ProducerConfig(linger=0.01, rate_limit=1.0, record_ttl=10.0 * records + 60)
        async with client.producer("large", config=config) as producer:
            started = virtual.now

            async def feed() -> float:
                receipts = [await producer.put(data, partition_key="k") for _ in range(records)]
                await producer.flush()
                for receipt in receipts:
                    receipt.result()
                return virtual.now

            async with asyncio.TaskGroup() as group:
                feeding = group.create_task(feed(), name="feed")
                for _ in range(2000 * records + 10_000):  # bounded: the sender wakes ~100 times a record
                    if feeding.done():
                        break
                    for _ in range(5):  # let woken tasks run up to their next sleep or request
                        await asyncio.sleep(0)
                    if producer.stats.in_flight or not virtual.advance():
                        await asyncio.sleep(0.001)  # a request on the wire: real time for it to return
            finished = feeding.result()
        stored = sum(r.size for r in local.backend.streams["large"].shards[0].records)
        return {
            "virtual_seconds": finished - started,
            "mib": stored / MIB,
            "throttles_seen_by_producer": producer.stats.throttles,
            "throttled_by_server": local.backend.throttled,
            "cpu": time.process_time() - cpu,
            "wall": time.perf_counter() - wall,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=64, help="MiB put per record size in the cpu part")
    parser.add_argument("--records", type=int, default=100, help="5 MiB records in the shard part")
    parser.add_argument("--part", choices=("cpu", "shard", "both"), default="both")
    args = parser.parse_args()
    if args.part in ("cpu", "both"):
        print("| record size | records | MiB | CPU s | CPU ms per MiB | MiB/s (wall) |")
        print("|---|---|---|---|---|---|")
        with stub_server(shards=4, records_per_get=1, max_record_size_kib=10240) as endpoint:
            for name, size in SIZES.items():
                cpu, wall, count = asyncio.run(producer_cpu(endpoint, size, args.mib))
                mib = count * size / MIB
                print(f"| {name} | {count:,} | {mib:,.0f} | {cpu:.2f} | {cpu / mib * 1000:.1f} | {mib / wall:,.0f} |")
    if args.part in ("shard", "both"):
        result = asyncio.run(one_shard(args.records))
        seconds, mib = result["virtual_seconds"], result["mib"]
        print(
            f"\n{args.records} records of 5 MiB ({mib:,.1f} MiB with keys) through one shard, limits on: "
            f"the last landed after {seconds:,.1f} virtual s = {mib / seconds:.3f} MiB/s, {mib / seconds:.1%} of the "
            f"1 MiB/s limit (all but the last record's 5 MiB: {(mib - mib / args.records) / seconds:.1%}); "
            f"throttles: producer {result['throttles_seen_by_producer']}, server {result['throttled_by_server']}; "
            f"real: {result['cpu']:.1f} s CPU, {result['wall']:.1f} s wall (client and server in one process), "
            f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB"
        )


if __name__ == "__main__":
    main()
