"""PrometheusMetrics read back from a fresh registry: the figures the OpenTelemetry adapter's tests
read (test_metrics), for the client, producer, consumer and leases, against aiokinesis.testing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from prometheus_client import CollectorRegistry

from aiokinesis.leases import InMemoryLeases
from aiokinesis.metrics import PrometheusMetrics
from aiokinesis.testing import Fault, FaultKind, KinesisServer
from tests.fakes import VirtualTime
from tests.faults.test_metrics import FAST, client, coordinator, held_by_shard, put_and_consume, put_and_flush
from tests.leases.helpers import advance, settle, shard_id, shards


@pytest.fixture
async def server() -> AsyncIterator[KinesisServer]:
    async with KinesisServer(streams={"s": 4}, seed=5) as local:
        yield local


def reader(registry: CollectorRegistry) -> Callable[..., float | None]:
    """`value(name, **labels)`: the registry's sample of that name and exactly those labels."""

    def value(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, labels)

    return value


def by_shard(registry: CollectorRegistry, sample_name: str) -> dict[str, float]:
    """The samples of `sample_name` on stream s, by their shard label."""
    return {
        sample.labels["shard"]: sample.value
        for metric in registry.collect()
        for sample in metric.samples
        if sample.name == sample_name and sample.labels.get("stream") == "s"
    }


async def test_prometheus_counts_the_same_producer_figures(server: KinesisServer) -> None:
    registry = CollectorRegistry()
    value = reader(registry)
    async with (
        client(server, PrometheusMetrics(registry)) as kinesis,
        kinesis.producer("s", linger=20, config=FAST) as producer,
    ):
        server.inject(Fault(kind=FaultKind.THROTTLE, operation="PutRecords"))
        await put_and_flush(producer, 4, "b")
        # Last, one PutRecords with nothing else under way: the in-flight gauge reads 1. (The throttled
        # records go again in one request or more as their jittered backoffs end, so after them it read
        # 1 or 2: failed 1 busy-core run.)
        await put_and_flush(producer, 10, "a")
        server.inject(Fault(kind=FaultKind.THROTTLE, operation="ListShards", times=1))
        await kinesis.list_shards(stream_name="s")

    requests = value("aiokinesis_api_call_duration_seconds_count", operation="PutRecords", stream="s") or 0
    assert requests >= 3  # the throttled records go again as their backoffs end, in one request or more
    assert value("aiokinesis_producer_batch_records_count", stream="s") == requests
    assert value("aiokinesis_producer_batch_records_sum", stream="s") == 18
    # 3 of each request's landed records: of the 4 sent again 3 (in one request) or 4, then 3 of the 10
    assert 3 + 3 <= (value("aiokinesis_producer_put_latency_seconds_count", stream="s") or 0) <= 4 + 3
    assert (value("aiokinesis_producer_put_latency_seconds_sum", stream="s") or 0) > 0
    throttled = "ProvisionedThroughputExceededException"
    assert value("aiokinesis_producer_records_retried_total", stream="s", error_code=throttled) == 4
    landed = [
        sample.value
        for metric in registry.collect()
        if metric.name == "aiokinesis_producer_records_put"
        for sample in metric.samples
        if sample.name.endswith("_total")
    ]
    assert sum(landed) == 14
    assert value("aiokinesis_producer_in_flight_requests", stream="s") == 1
    assert value("aiokinesis_api_throttles_total", operation="ListShards", stream="s") == 1
    retried = value(
        "aiokinesis_api_retries_total", operation="ListShards", stream="s", error_code="LimitExceededException"
    )
    assert retried == 1
    assert value("aiokinesis_api_call_duration_seconds_count", operation="ListShards", stream="s") == 2  # and the open


def test_prometheus_takes_a_namespace() -> None:
    registry = CollectorRegistry()
    sink = PrometheusMetrics(registry, namespace="app")
    sink.api_call("ListShards", None, 0.25, "ResourceNotFoundException")
    call = {"operation": "ListShards", "stream": ""}
    assert registry.get_sample_value("app_api_call_duration_seconds_count", call) == 1
    labels = {"operation": "ListShards", "stream": "", "error_code": "ResourceNotFoundException"}
    assert registry.get_sample_value("app_api_errors_total", labels) == 1
    assert registry.get_sample_value("aiokinesis_api_call_duration_seconds_count", call) is None
    sink.producer_settled("s", landed={"shardId-000000000000": 3}, latencies=[], retried={}, failed={})
    assert (
        registry.get_sample_value("app_producer_records_put_total", {"stream": "s", "shard": "shardId-000000000000"})
        == 3
    )
    bare = CollectorRegistry()
    PrometheusMetrics(bare, namespace="").producer_settled("s", landed={"a": 1}, latencies=[], retried={}, failed={})
    assert bare.get_sample_value("producer_records_put_total", {"stream": "s", "shard": "a"}) == 1


async def test_prometheus_counts_the_same_consumer_figures(server: KinesisServer) -> None:
    registry = CollectorRegistry()
    async with client(server, PrometheusMetrics(registry)) as kinesis:
        checkpoints = await put_and_consume(kinesis, 40)
    with_records = held_by_shard(server)
    assert by_shard(registry, "aiokinesis_consumer_records_total") == with_records
    assert sum(by_shard(registry, "aiokinesis_consumer_checkpoints_total").values()) == checkpoints
    behind = by_shard(registry, "aiokinesis_consumer_millis_behind_latest")
    assert set(behind) == set(with_records)
    assert all(value >= 0 for value in behind.values())
    ages = by_shard(registry, "aiokinesis_consumer_record_age_seconds")
    assert set(ages) == set(with_records)
    assert all(-1 < value < 60 for value in ages.values())  # arrival is stamped in milliseconds


async def test_prometheus_counts_leases_held_taken_stolen_and_lost() -> None:
    time, table = VirtualTime(), InMemoryLeases()
    a_registry, b_registry = CollectorRegistry(), CollectorRegistry()
    a_value, b_value = reader(a_registry), reader(b_registry)
    a = coordinator("a", table, time, PrometheusMetrics(a_registry))
    b = coordinator("b", table, time, PrometheusMetrics(b_registry))
    two = [shard_id(0), shard_id(1)]
    await a.discovered(shards(2))
    a_task = asyncio.create_task(a.run())
    await settle()
    for shard in two:
        assert a_value("aiokinesis_leases_taken_total", stream="s", shard=shard, stolen="false") == 1
    assert a_value("aiokinesis_leases_held", stream="s") == 2
    await b.discovered(shards(2))
    b_task = asyncio.create_task(b.run())
    await advance(time, 30.0)  # b's first balance round steals one; a sees it taken at its next scan
    [stolen] = b.readable(two)
    assert b_value("aiokinesis_leases_taken_total", stream="s", shard=stolen, stolen="true") == 1
    assert b_value("aiokinesis_leases_held", stream="s") == 1
    assert a_value("aiokinesis_leases_lost_total", stream="s", shard=stolen) == 1
    assert a_value("aiokinesis_leases_held", stream="s") == 1
    assert by_shard(b_registry, "aiokinesis_leases_lost_total") == {}
    for task in (a_task, b_task):
        task.cancel()
    await asyncio.gather(a_task, b_task, return_exceptions=True)
    await a.close()
    assert a_value("aiokinesis_leases_held", stream="s") == 0  # released on close
