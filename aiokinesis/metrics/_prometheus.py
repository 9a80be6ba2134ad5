"""The SDK's hooks as Prometheus collectors (prometheus-client), registered in one registry."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from .._metrics import BYTES_BUCKETS, RECORDS_BUCKETS, SECONDS_BUCKETS, latency_samples

_API = ("operation", "stream")
_STREAM = ("stream",)
_SHARD = ("stream", "shard")
_CODE = ("stream", "error_code")


class _Totals(Collector):
    """A counter by (stream, shard) kept as plain running totals and read at each scrape: a request
    of 500 records lands on up to 500 shards, and `labels(...).inc()` per shard costs microseconds."""

    def __init__(self, name: str, documentation: str, registry: CollectorRegistry) -> None:
        self.totals: dict[tuple[str, str], int] = {}
        self._name, self._documentation = name, documentation
        registry.register(self)

    def _family(self) -> CounterMetricFamily:
        return CounterMetricFamily(self._name, self._documentation, labels=_SHARD)

    def describe(self) -> list[CounterMetricFamily]:
        return [self._family()]  # the name, so that the registry refuses a duplicate as it does others

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = self._family()
        for (stream, shard), total in list(self.totals.items()):  # a copy: scrapes run on their own thread
            family.add_metric((stream, shard), total)
        yield family


class PrometheusMetrics:
    """Collectors named `<namespace>_*` (counters end in `_total`) with labels operation, stream, shard
    and error_code, in `registry` (default: prometheus_client's global one). Make one per registry:
    a second in the same registry is refused by prometheus-client (duplicate names). A call that
    names no stream (DynamoDB's, for leases) has stream ""."""

    def __init__(self, registry: CollectorRegistry | None = None, namespace: str = "aiokinesis") -> None:
        r = REGISTRY if registry is None else registry
        ns = namespace

        def counter(name: str, doc: str, labels: tuple[str, ...]) -> Counter:
            return Counter(name, doc, labels, namespace=ns, registry=r)

        def gauge(name: str, doc: str, labels: tuple[str, ...]) -> Gauge:
            return Gauge(name, doc, labels, namespace=ns, registry=r)

        def histogram(name: str, doc: str, labels: tuple[str, ...], buckets: tuple[float, ...]) -> Histogram:
            return Histogram(name, doc, labels, namespace=ns, registry=r, buckets=buckets)

        self._duration = histogram(
            "api_call_duration_seconds",
            "API call duration, retries and waits included (_count: the calls)",
            _API,
            SECONDS_BUCKETS,
        )
        self._errors = counter("api_errors", "API calls that failed, by error code", (*_API, "error_code"))
        self._retries = counter("api_retries", "failed attempts retried, by error code", (*_API, "error_code"))
        self._throttles = counter("api_throttles", "attempts refused as throttled", _API)
        self._batch_records = histogram(
            "producer_batch_records", "records per PutRecords (_sum: sent)", _STREAM, RECORDS_BUCKETS
        )
        self._batch_bytes = histogram(
            "producer_batch_bytes", "bytes per PutRecords (_sum: sent)", _STREAM, BYTES_BUCKETS
        )
        self._buffered = gauge("producer_buffered_records", "records admitted and not resolved", _STREAM)
        self._buffered_bytes = gauge("producer_buffered_bytes", "bytes admitted and not resolved", _STREAM)
        self._in_flight = gauge("producer_in_flight_requests", "PutRecords under way", _STREAM)
        self._put = _Totals(
            f"{ns}_producer_records_put" if ns else "producer_records_put", "records landed, by shard", r
        )
        self._latency = histogram(
            "producer_put_latency_seconds",
            "put() to receipt: 3 records of each PutRecords (its shortest, median and longest)",
            _STREAM,
            SECONDS_BUCKETS,
        )
        self._retried = counter("producer_records_retried", "records sent again, by entry error code", _CODE)
        self._failed = counter("producer_records_failed", "receipts failed, by code", _CODE)
        self._read = counter("consumer_records", "records handed out, by shard", _SHARD)
        self._behind = gauge("consumer_millis_behind_latest", "the shard's lag behind its tip", _SHARD)
        self._age = gauge("consumer_record_age_seconds", "since the last record handed out arrived", _SHARD)
        self._checkpoints = counter("consumer_checkpoints", "checkpoints written", _SHARD)
        self._held = gauge("leases_held", "leases this worker holds", _STREAM)
        self._taken = counter("leases_taken", "leases taken (stolen: from a live worker)", (*_SHARD, "stolen"))
        self._lost = counter("leases_lost", "leases lost to another worker or to time", _SHARD)

    def api_call(self, operation: str, stream: str | None, seconds: float, error: str | None) -> None:
        labels = (operation, stream or "")
        self._duration.labels(*labels).observe(seconds)
        if error is not None:
            self._errors.labels(*labels, error).inc()

    def api_attempt_failed(
        self, operation: str, stream: str | None, error: str, *, throttled: bool, retried: bool
    ) -> None:
        if throttled:
            self._throttles.labels(operation, stream or "").inc()
        if retried:
            self._retries.labels(operation, stream or "", error).inc()

    def producer_sent(
        self,
        stream: str,
        *,
        records: int,
        bytes: int,
        entries: int,
        buffered_records: int,
        buffered_bytes: int,
        in_flight: int,
    ) -> None:
        self._batch_records.labels(stream).observe(records)
        self._batch_bytes.labels(stream).observe(bytes)
        self._buffered.labels(stream).set(buffered_records)
        self._buffered_bytes.labels(stream).set(buffered_bytes)
        self._in_flight.labels(stream).set(in_flight)

    def producer_settled(
        self,
        stream: str,
        *,
        landed: Mapping[str, int],
        latencies: Sequence[float],
        retried: Mapping[str, int],
        failed: Mapping[str, int],
    ) -> None:
        totals = self._put.totals
        for shard, records in landed.items():
            totals[stream, shard] = totals.get((stream, shard), 0) + records
        if latencies:
            observe = self._latency.labels(stream).observe
            for seconds in latency_samples(latencies):
                observe(seconds)
        for code, records in retried.items():
            self._retried.labels(stream, code).inc(records)
        for code, records in failed.items():
            self._failed.labels(stream, code).inc(records)

    def consumer_batch(
        self, stream: str, shard: str, *, records: int, millis_behind_latest: int | None, age: float | None
    ) -> None:
        self._read.labels(stream, shard).inc(records)
        if millis_behind_latest is not None:
            self._behind.labels(stream, shard).set(millis_behind_latest)
        if age is not None:
            self._age.labels(stream, shard).set(age)

    def consumer_checkpoint(self, stream: str, shard: str) -> None:
        self._checkpoints.labels(stream, shard).inc()

    def leases_held(self, stream: str, count: int) -> None:
        self._held.labels(stream).set(count)

    def lease_taken(self, stream: str, shard: str, *, stolen: bool) -> None:
        self._taken.labels(stream, shard, "true" if stolen else "false").inc()

    def lease_lost(self, stream: str, shard: str) -> None:
        self._lost.labels(stream, shard).inc()
