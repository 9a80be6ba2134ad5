"""The metrics adapters' own CPU for one PutRecords: the hooks a request of 500 records calls.

    .venv/bin/python bench/metrics_hooks.py [--shards 4,100] [--requests 2000] [--repeat 7]

bench/metrics_cost.py measures the whole producer, where a shared machine's noise (a few percent)
is the size of what the adapters cost; this measures the adapters alone, the hooks called as the
producer calls them (producer_sent, api_call, producer_settled) with the records landing evenly
on `--shards` shards, so a change to them shows in microseconds. Cases interleaved, medians.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from prometheus_client import CollectorRegistry

from aiokinesis.metrics import MetricsSink, NoMetrics, OpenTelemetryMetrics, PrometheusMetrics

RECORDS = 500

CASES: dict[str, Callable[[], MetricsSink]] = {
    "NoMetrics()": NoMetrics,
    "OpenTelemetry SDK": lambda: OpenTelemetryMetrics(
        MeterProvider(metric_readers=[InMemoryMetricReader()]).get_meter("bench")
    ),
    "prometheus-client": lambda: PrometheusMetrics(CollectorRegistry()),
}


def per_request(make: Callable[[], MetricsSink], shards: int, requests: int) -> float:
    """CPU microseconds of one request's hooks, after a warm-up."""
    sink = make()
    landed = {f"shardId-{i:012d}": RECORDS // shards for i in range(shards)}
    latencies = [random.random() * 0.05 for _ in range(RECORDS)]

    def request() -> None:
        sink.producer_sent(
            "bench", records=RECORDS, bytes=RECORDS * 120, entries=RECORDS, buffered_records=2 * RECORDS,
            buffered_bytes=2 * RECORDS * 120, in_flight=1,
        )  # fmt: skip
        sink.api_call("PutRecords", "bench", 0.004, None)
        sink.producer_settled("bench", landed=landed, latencies=latencies, retried={}, failed={})

    for _ in range(requests // 10):
        request()
    cpu = time.process_time()
    for _ in range(requests):
        request()
    return (time.process_time() - cpu) / requests * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shards", default="4,100", help="comma-separated: the shards a request lands on")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    print(f"hooks of one PutRecords of {RECORDS} records, {args.repeat} interleaved repetitions; CPU")
    print("| case | shards | µs/request median (min-max) | µs/record |")
    print("|---|---|---|---|")
    for shards in (int(n) for n in args.shards.split(",")):
        cpu: dict[str, list[float]] = {name: [] for name in CASES}
        for _ in range(args.repeat):
            for name, make in CASES.items():
                cpu[name].append(per_request(make, shards, args.requests))
        for name, us in cpu.items():
            median = statistics.median(us)
            print(f"| {name} | {shards} | {median:.1f} ({min(us):.1f}-{max(us):.1f}) | {median / RECORDS:.3f} |")


if __name__ == "__main__":
    main()
