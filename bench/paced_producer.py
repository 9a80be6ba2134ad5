"""The producer at its default config on a stream it fills to the shards' rate: CPU a record.

    .venv/bin/python bench/paced_producer.py [--shards 4] [--records 20000] [--repeat 3]

At the shards' rate (1000 records a second each) records wait for their shard's budget; what
this measures is what that waiting costs (the sender's wake-ups, the records a request).
bench/stub_server.py --route answers in its own process on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from pathlib import Path

from metrics_cost import KEYS, free_port, wait_for  # bench/ is on sys.path when run as a script

import aiokinesis


async def produce(endpoint: str, records: int) -> tuple[float, float, int]:
    """CPU µs a record, records a second (wall), and PutRecords requests made."""
    async with aiokinesis.Client(endpoint_url=endpoint, **KEYS) as kinesis, kinesis.producer("bench") as producer:
        await producer.put(b"x" * 100, partition_key="warm")
        await producer.flush()
        requests = producer.stats.requests
        cpu, wall = time.process_time(), time.monotonic()
        for i in range(records):
            await producer.put(b"x" * 100, partition_key=f"key-{i % 1000}")
        await producer.flush()
        cpu, wall = time.process_time() - cpu, time.monotonic() - wall
        return cpu / records * 1e6, records / wall, producer.stats.requests - requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    port = free_port()
    stub = Path(__file__).with_name("stub_server.py")
    command = [sys.executable, str(stub), "--port", str(port), "--shards", str(args.shards), "--route"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(port)
        runs = [asyncio.run(produce(f"http://127.0.0.1:{port}", args.records)) for _ in range(args.repeat)]
    finally:
        server.terminate()
        server.wait(timeout=10)
    cpu = [run[0] for run in runs]
    rate = statistics.median(run[1] for run in runs)
    requests = statistics.median(run[2] for run in runs)
    print(
        f"{args.records:,} records over {args.shards} shards, {args.repeat} runs: "
        f"{statistics.median(cpu):.2f} ({min(cpu):.2f}-{max(cpu):.2f}) µs of CPU a record, "
        f"{rate:,.0f} records/s, {requests:.0f} PutRecords ({args.records / requests:.0f} records each)"
    )


if __name__ == "__main__":
    main()
