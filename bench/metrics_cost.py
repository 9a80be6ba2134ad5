"""The producer's CPU per record with metrics off, a no-op sink, OpenTelemetry (its SDK) and Prometheus.

    .venv/bin/python bench/metrics_cost.py [--records 20000] [--repeat 3] [--shards 4]

Issue #13: metrics on must cost the producer at most 5% over metrics off. The server
(aiokinesis.testing, limits off) runs in its own process on 127.0.0.1, so the CPU measured is
the client process's alone; the cases are interleaved, every repetition running each once (each first in turn), so a
shared machine's noise falls on all alike. Figures are medians of the repetitions.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from prometheus_client import CollectorRegistry

import aiokinesis
from aiokinesis.metrics import MetricsSink, NoMetrics, OpenTelemetryMetrics, PrometheusMetrics

KEYS = {"region": "us-east-1", "aws_access_key_id": "a", "aws_secret_access_key": "b"}


def otel() -> MetricsSink:
    reader = InMemoryMetricReader()
    return OpenTelemetryMetrics(MeterProvider(metric_readers=[reader]).get_meter("bench"))


def prometheus() -> MetricsSink:
    return PrometheusMetrics(CollectorRegistry())


CASES: dict[str, Callable[[], MetricsSink | None]] = {
    "metrics=None": lambda: None,
    "NoMetrics()": NoMetrics,
    "OpenTelemetry SDK": otel,
    "prometheus-client": prometheus,
}


async def produce(endpoint: str, records: int, sink: MetricsSink | None) -> float:
    """CPU seconds of this process to put `records` 100-byte records through one producer."""
    payload = b"x" * 100
    keys = [f"key-{i}" for i in range(1000)]
    async with aiokinesis.Client(endpoint_url=endpoint, metrics=sink, **KEYS) as kinesis:
        config = aiokinesis.ProducerConfig(rate_limit=0, linger=0.01)
        async with kinesis.producer("bench", config=config) as producer:
            await producer.put(payload, partition_key="warm")
            await producer.flush()
            cpu = time.process_time()
            for i in range(records):
                await producer.put(payload, partition_key=keys[i % 1000])
            await producer.flush()
            return time.process_time() - cpu


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(port: int, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the local server on port {port} did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--shards", type=int, default=4, help="of the stream: a request lands on up to this many")
    args = parser.parse_args()
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "aiokinesis.testing",
        "--port",
        str(port),
        "--stream",
        f"bench:{args.shards}",
        "--no-limits",
    ]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(port)
        endpoint = f"http://127.0.0.1:{port}"
        cpu: dict[str, list[float]] = {name: [] for name in CASES}
        names = list(CASES)
        for repetition in range(args.repeat):
            # Each case goes first as often as the others, and from a collected heap: in a fixed
            # order the first case of every round ran faster (5-10%) whatever it was.
            for name in names[repetition % len(names) :] + names[: repetition % len(names)]:
                gc.collect()
                cpu[name].append(asyncio.run(produce(endpoint, args.records, CASES[name]())))
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:  # slow to stop on a loaded machine: lost a run's figures
            server.kill()
            server.wait()
    base = statistics.median(cpu["metrics=None"])
    print(
        f"{args.records:,} records of 100 bytes to {args.shards} shards, {args.repeat} interleaved repetitions "
        "(the order rotated); CPU of the client process"
    )
    print("| case | CPU µs/record median (min-max) | x metrics=None |")
    print("|---|---|---|")
    for name, seconds in cpu.items():
        per = [s / args.records * 1e6 for s in seconds]
        median = statistics.median(seconds)
        print(f"| {name} | {statistics.median(per):.2f} ({min(per):.2f}-{max(per):.2f}) | {median / base:.3f} |")


if __name__ == "__main__":
    main()
