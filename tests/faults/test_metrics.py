"""Client(metrics=...): what the client, producer, consumer and leases report, read back through
OpenTelemetry's in-memory reader, against aiokinesis.testing (Prometheus: test_metrics_prometheus)."""

from __future__ import annotations

import asyncio
import logging
import random
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import pytest
from opentelemetry import metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from prometheus_client import CollectorRegistry

import aiokinesis
from aiokinesis import ProducerConfig, StartingPosition
from aiokinesis._metrics import latency_samples
from aiokinesis._runtime import Runtime
from aiokinesis.leases import InMemoryLeases
from aiokinesis.leases._coordinator import LeaseCoordinator
from aiokinesis.metrics import MetricsSink, NoMetrics, OpenTelemetryMetrics, PrometheusMetrics
from aiokinesis.testing import Fault, FaultKind, KinesisServer
from tests.conftest import LOCAL_KEYS
from tests.fakes import FakeTime, VirtualTime
from tests.leases.helpers import CONFIG, advance, settle, shard_id, shards

FAST = ProducerConfig(linger=0.005, retry_base_delay=0.001, retry_max_delay=0.002)
RETRIES = aiokinesis.RetryConfig(max_attempts=3, base_delay=0.001, throttle_base_delay=0.001, max_delay=0.002)


class Otel:
    """The OpenTelemetry adapter on an SDK meter read by an in-memory reader."""

    def __init__(self) -> None:
        self.reader = InMemoryMetricReader()
        self.provider = MeterProvider(metric_readers=[self.reader])
        self.sink = OpenTelemetryMetrics(self.provider.get_meter("test"))

    def points(self, name: str, **attributes: Any) -> list[Any]:
        """The data points of `name` whose attributes include `attributes`."""
        data = self.reader.get_metrics_data()
        assert data is not None
        return [
            point
            for resource in data.resource_metrics
            for scope in resource.scope_metrics
            for metric in scope.metrics
            if metric.name == name
            for point in metric.data.data_points
            if attributes.items() <= dict(point.attributes or {}).items()
        ]

    def total(self, name: str, **attributes: Any) -> float:
        return float(sum(point.value for point in self.points(name, **attributes)))

    def calls(self, **attributes: Any) -> int:
        """API calls: the count of the duration histogram (no counter beside it)."""
        return sum(point.count for point in self.points("aiokinesis.api.call.duration", **attributes))


@pytest.fixture
async def otel() -> AsyncIterator[Otel]:
    meters = Otel()
    yield meters
    meters.provider.shutdown()


@pytest.fixture
async def server() -> AsyncIterator[KinesisServer]:
    async with KinesisServer(streams={"s": 4}, seed=5) as local:
        yield local


def client(server: KinesisServer, metrics: MetricsSink, **options: Any) -> aiokinesis.Client:
    """A client whose retries wait a millisecond or two: the figures, not the waits, are under test."""
    return aiokinesis.Client(endpoint_url=server.endpoint_url, retry=RETRIES, metrics=metrics, **options, **LOCAL_KEYS)


# -- API calls -----------------------------------------------------------------------------------


async def test_api_calls_latency_errors_retries_and_throttles_by_operation(server: KinesisServer, otel: Otel) -> None:
    async with client(server, otel.sink) as kinesis:
        server.inject(Fault(kind=FaultKind.THROTTLE, operation="ListShards", times=2))
        await kinesis.list_shards(stream_name="s")
        server.inject(Fault(kind=FaultKind.SERVICE_UNAVAILABLE, operation="DescribeStreamSummary", times=1))
        await kinesis.describe_stream_summary(stream_name="s")
        with pytest.raises(aiokinesis.ResourceNotFoundException):
            await kinesis.describe_stream_summary(stream_name="missing")
    assert otel.calls(operation="ListShards", stream="s") == 1
    assert otel.total("aiokinesis.api.retries", operation="ListShards", error_code="LimitExceededException") == 2
    assert otel.total("aiokinesis.api.throttles", operation="ListShards", stream="s") == 2
    assert otel.total("aiokinesis.api.errors", operation="ListShards") == 0
    summary = "DescribeStreamSummary"
    assert otel.calls(operation=summary) == 2
    assert otel.total("aiokinesis.api.retries", operation=summary, error_code="ServiceUnavailable") == 1
    assert otel.total("aiokinesis.api.throttles", operation=summary) == 0
    [error] = otel.points("aiokinesis.api.errors", operation=summary)
    assert (dict(error.attributes), error.value) == (
        {"operation": summary, "stream": "missing", "error_code": "ResourceNotFoundException"},
        1,
    )
    [durations] = otel.points("aiokinesis.api.call.duration", operation="ListShards")
    assert durations.count == 1
    assert durations.sum > 0


async def test_a_call_that_runs_out_of_attempts_counts_its_last_failure_as_an_error_not_a_retry(
    server: KinesisServer, otel: Otel
) -> None:
    async with client(server, otel.sink) as kinesis:
        server.inject(Fault(kind=FaultKind.INTERNAL_FAILURE, operation="ListShards", times=3))
        with pytest.raises(aiokinesis.ServiceError):
            await kinesis.list_shards(stream_name="s")
    code = "InternalFailureException"
    assert otel.total("aiokinesis.api.retries", operation="ListShards", error_code=code) == 2
    assert otel.total("aiokinesis.api.errors", operation="ListShards", error_code=code) == 1
    assert otel.calls(operation="ListShards") == 1


# -- the producer --------------------------------------------------------------------------------


async def put_and_flush(producer: aiokinesis.Producer, count: int, tag: str) -> list[aiokinesis.Receipt]:
    receipts = [await producer.put(f"{tag}{i}".encode(), partition_key=f"key-{i}") for i in range(count)]
    await producer.flush()
    return receipts


async def test_producer_records_bytes_batches_latency_retries_and_failures_by_code(
    server: KinesisServer, otel: Otel
) -> None:
    async with client(server, otel.sink) as kinesis, kinesis.producer("s", linger=20, config=FAST) as producer:
        await put_and_flush(producer, 10, "a")  # one PutRecords of 10
        server.inject(Fault(kind=FaultKind.PARTIAL_FAILURE, operation="PutRecords", error_code="InternalFailure"))
        await put_and_flush(producer, 10, "b")  # 10 refused, then sent again
        server.inject(Fault(kind=FaultKind.THROTTLE, operation="PutRecords"))
        await put_and_flush(producer, 5, "c")  # 5 throttled, then sent again
        server.inject(
            Fault(kind=FaultKind.PARTIAL_FAILURE, operation="PutRecords", error_code="KMSAccessDeniedException")
        )
        failed = await put_and_flush(producer, 5, "d")  # 5 fail for good
    assert all(isinstance(receipt.exception(), aiokinesis.RecordFailedError) for receipt in failed)
    stream = {"stream": "s"}
    [batches] = otel.points("aiokinesis.producer.batch.records", **stream)
    requests = otel.calls(operation="PutRecords", stream="s")
    assert requests >= 6  # the records sent again go as their backoffs end, in one request or more
    assert (batches.count, batches.sum) == (requests, 10 + 20 + 10 + 5)  # sum: the records sent
    [sizes] = otel.points("aiokinesis.producer.batch.size", **stream)
    assert sizes.count == requests
    assert sizes.sum > 45 * 2
    landed = otel.points("aiokinesis.producer.records.put", **stream)
    assert sum(point.value for point in landed) == 25 == producer.stats.records_put
    held = {shard.shard_id: len(shard.records) for shard in server.backend.streams["s"].shards}
    assert {point.attributes["shard"]: point.value for point in landed} == {k: v for k, v in held.items() if v}
    [latency] = otel.points("aiokinesis.producer.put.latency", **stream)
    # 3 of each request's landed records (the shortest, median and longest): 3 of the first 10; of
    # the 10 and the 5 sent again, 3 each if they go in one request, one a record at most if split
    assert 9 <= latency.count <= 3 + 10 + 5
    assert latency.sum > 0
    retried = {p.attributes["error_code"]: p.value for p in otel.points("aiokinesis.producer.records.retried")}
    assert retried == {"InternalFailure": 10, "ProvisionedThroughputExceededException": 5}
    failures = {p.attributes["error_code"]: p.value for p in otel.points("aiokinesis.producer.records.failed")}
    assert failures == {"KMSAccessDeniedException": 5}
    [in_flight] = otel.points("aiokinesis.producer.in_flight", **stream)
    assert in_flight.value == 1  # each flush had one request out, counted as it went
    [buffered] = otel.points("aiokinesis.producer.buffered.records", **stream)
    assert buffered.value == 5  # the last request's records, still unresolved as it went


def test_a_collection_on_the_reader_s_thread_while_a_new_stream_reports_reads_what_was_there(
    otel: Otel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A periodic reader collects on its own thread, between any two steps of the event loop's: here
    a stream's first request is reported in the middle of the collection (failed: the observation
    callbacks iterated the live dicts, "dictionary changed size during iteration", and the SDK
    dropped every figure of that callback)."""
    sink = otel.sink
    nothing: Mapping[str, int] = {}

    def report(stream: str) -> None:
        sink.producer_sent(stream, records=2, bytes=20, entries=2, buffered_records=2, buffered_bytes=20, in_flight=1)
        sink.producer_settled(
            stream, landed={"shardId-000000000000": 2}, latencies=[0.1], retried=nothing, failed=nothing
        )

    report("a")
    observation = metrics.Observation

    streams = iter(range(1000))

    def interleaved(*args: Any, **kwargs: Any) -> metrics.Observation:
        report(f"new-{next(streams)}")
        return observation(*args, **kwargs)

    with monkeypatch.context() as patched:
        patched.setattr(metrics, "Observation", interleaved)
        [in_flight] = otel.points("aiokinesis.producer.in_flight", stream="a")
        [landed] = otel.points("aiokinesis.producer.records.put", stream="a")
    assert (in_flight.value, landed.value) == (1, 2)


async def test_records_that_expire_in_the_buffer_are_counted_by_the_request_or_close_after(
    server: KinesisServer, otel: Otel
) -> None:
    time = FakeTime()
    async with client(server, otel.sink, clock=time.clock) as kinesis:
        config = ProducerConfig(linger=10, record_ttl=20)
        async with kinesis.producer("s", config=config) as producer:
            receipt = await producer.put(b"x", partition_key="k")
            time.advance(25)  # its time to live runs out while it lingers
            await producer.flush()
            assert otel.points("aiokinesis.producer.records.failed") == []  # no request yet to report with
    assert isinstance(receipt.exception(), aiokinesis.RecordFailedError)
    assert otel.total("aiokinesis.producer.records.failed", stream="s", error_code="Expired") == 1
    assert otel.points("aiokinesis.producer.batch.records") == []


async def test_a_sink_of_its_own_gets_every_record_s_latency_once_per_request(server: KinesisServer) -> None:
    class Latencies(NoMetrics):
        def __init__(self) -> None:
            self.calls: list[list[float]] = []

        def producer_settled(
            self,
            stream: str,
            *,
            landed: Mapping[str, int],
            latencies: Sequence[float],
            retried: Mapping[str, int],
            failed: Mapping[str, int],
        ) -> None:
            self.calls.append(list(latencies))

    sink = Latencies()
    async with client(server, sink) as kinesis, kinesis.producer("s", linger=20, config=FAST) as producer:
        await put_and_flush(producer, 20, "a")
    assert [len(call) for call in sink.calls] == [20]  # one request, one report, every record in it
    assert all(seconds > 0 for seconds in sink.calls[0])


def test_the_adapters_record_a_request_s_shortest_median_and_longest_latency() -> None:
    assert latency_samples([9.0, 1.0, 5.0, 0.0, 3.0, 2.0, 8.0, 4.0, 7.0, 6.0]) == [0.0, 4.0, 9.0]  # lower median
    assert latency_samples([0.5, 0.1, 0.4, 0.2, 0.3]) == [0.1, 0.3, 0.5]
    assert latency_samples([0.3, 0.1]) == [0.3, 0.1]


# -- the consumer --------------------------------------------------------------------------------


async def put_and_consume(kinesis: aiokinesis.Client, count: int) -> int:
    """Put `count` records on stream s and consume them, checkpointing every batch; the checkpoints made."""
    entries = [aiokinesis.PutRecordsRequestEntry(data=b"r%d" % i, partition_key=f"k{i}") for i in range(count)]
    await kinesis.put_records(stream_name="s", records=entries)
    seen = checkpoints = 0
    async with kinesis.consumer("s", start=StartingPosition.trim_horizon()) as consumer:
        async for batch in consumer:
            seen += len(batch)
            await batch.checkpoint()
            checkpoints += 1
            if seen == count:
                break
    return checkpoints


def held_by_shard(server: KinesisServer) -> dict[str, int]:
    """The records each shard of stream s holds, by shard; shards holding none are left out."""
    held = {shard.shard_id: len(shard.records) for shard in server.backend.streams["s"].shards}
    return {shard_id: count for shard_id, count in held.items() if count}


async def test_consumer_records_lag_age_and_checkpoints_per_shard(server: KinesisServer, otel: Otel) -> None:
    async with client(server, otel.sink) as kinesis:
        checkpoints = await put_and_consume(kinesis, 40)
    with_records = held_by_shard(server)
    read = otel.points("aiokinesis.consumer.records", stream="s")
    assert {point.attributes["shard"]: point.value for point in read} == with_records
    assert otel.total("aiokinesis.consumer.checkpoints", stream="s") == checkpoints
    behind = otel.points("aiokinesis.consumer.millis_behind_latest", stream="s")
    assert {point.attributes["shard"] for point in behind} == set(with_records)
    assert all(point.value >= 0 for point in behind)
    ages = otel.points("aiokinesis.consumer.record.age", stream="s")
    assert {point.attributes["shard"] for point in ages} == set(with_records)
    assert all(-1 < point.value < 60 for point in ages)  # arrival is stamped in milliseconds


# -- leases --------------------------------------------------------------------------------------


class Recorder(NoMetrics):
    """Every lease hook call, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    def leases_held(self, stream: str, count: int) -> None:
        self.events.append(("held", stream, count))

    def lease_taken(self, stream: str, shard: str, *, stolen: bool) -> None:
        self.events.append(("taken", stream, shard, stolen))

    def lease_lost(self, stream: str, shard: str) -> None:
        self.events.append(("lost", stream, shard))


def coordinator(name: str, table: InMemoryLeases, time: VirtualTime, metrics: Any) -> LeaseCoordinator:
    runtime = Runtime(clock=time.clock, sleep=time.sleep, rand=random.Random(name).random)
    start = StartingPosition.trim_horizon()
    return LeaseCoordinator(
        table, worker_id=name, start=start, config=CONFIG, runtime=runtime, metrics=metrics, stream="s"
    )


async def test_leases_held_taken_stolen_and_lost(otel: Otel) -> None:
    time, table = VirtualTime(), InMemoryLeases()
    a_seen = Recorder()
    a, b = coordinator("a", table, time, a_seen), coordinator("b", table, time, otel.sink)
    two = [shard_id(0), shard_id(1)]
    await a.discovered(shards(2))
    a_task = asyncio.create_task(a.run())
    await settle()
    taken_by_a = [("taken", "s", key, False) for key in two]
    assert sorted(a_seen.events) == sorted([("held", "s", 1), ("held", "s", 2), *taken_by_a])
    await b.discovered(shards(2))
    b_task = asyncio.create_task(b.run())
    await advance(time, 30.0)  # b's first balance round steals one; a sees it taken at its next scan
    [stolen] = b.readable(two)
    assert otel.total("aiokinesis.leases.taken", stream="s", shard=stolen, stolen=True) == 1
    assert otel.total("aiokinesis.leases.held", stream="s") == 1
    assert otel.points("aiokinesis.leases.lost") == []
    assert a_seen.events[-2:] == [("lost", "s", stolen), ("held", "s", 1)]
    for task in (a_task, b_task):
        task.cancel()
    await asyncio.gather(a_task, b_task, return_exceptions=True)
    await a.close()
    assert a_seen.events[-1] == ("held", "s", 0)  # released on close


# -- a broken sink, and none -------------------------------------------------------------------


class Broken(NoMetrics):
    """A sink every hook of which raises."""

    def __getattribute__(self, name: str) -> Any:
        if name.startswith(("api_", "producer_", "consumer_", "lease")):

            def fail(*args: object, **kwargs: object) -> None:
                raise RuntimeError(f"dashboard down ({name})")

            return fail
        return super().__getattribute__(name)


async def test_a_sink_that_raises_never_breaks_a_call_and_is_logged_once_per_hook(
    server: KinesisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="aiokinesis.metrics")
    async with client(server, Broken()) as kinesis:
        async with kinesis.producer("s", config=FAST) as producer:
            receipts = [await producer.put(b"v%d" % i, partition_key=f"k{i}") for i in range(20)]
            await producer.flush()
            await put_and_flush(producer, 3, "again")
        assert all(receipt.result().sequence_number for receipt in receipts)
        async with kinesis.consumer("s", start=StartingPosition.trim_horizon()) as consumer:
            seen = 0
            async for batch in consumer:
                await batch.checkpoint()
                seen += len(batch)
                if seen == 23:
                    break
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and r.name == "aiokinesis.metrics"]
    hooks = sorted(r.getMessage().split(" failed in ")[1].split(" ")[0] for r in warnings)
    assert hooks == sorted(["api_call", "producer_sent", "producer_settled", "consumer_batch", "consumer_checkpoint"])
    assert all(r.exc_info is not None for r in warnings)
    assert any(r.levelno == logging.DEBUG and "again" in r.getMessage() for r in caplog.records)


def test_no_metrics_by_default_and_a_sink_missing_a_hook_is_refused_by_name() -> None:
    assert aiokinesis.Client(**LOCAL_KEYS)._session.metrics is None

    class Partial:
        def api_call(self, operation: str, stream: str | None, seconds: float, error: str | None) -> None:
            pass

    with pytest.raises(TypeError, match=r"Partial has no api_attempt_failed\(\)"):
        aiokinesis.Client(metrics=Partial(), **LOCAL_KEYS)  # type: ignore[arg-type]


def test_an_adapter_without_its_library_says_which_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import aiokinesis.metrics as metrics

    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    monkeypatch.delitem(sys.modules, "aiokinesis.metrics._prometheus", raising=False)
    with pytest.raises(ImportError, match=r"pip install 'aiokinesis-sdk\[prometheus\]'"):
        metrics.PrometheusMetrics  # noqa: B018 - the import is what is tested


def test_the_sinks_take_every_hook_and_unused_values_are_fine() -> None:
    reading: Mapping[str, int] = {}
    nothing: Sequence[float] = ()
    for sink in (NoMetrics(), PrometheusMetrics(CollectorRegistry())):
        sink.producer_settled("s", landed=reading, latencies=nothing, retried=reading, failed=reading)
        sink.consumer_batch("s", "shardId-000000000000", records=1, millis_behind_latest=None, age=None)
