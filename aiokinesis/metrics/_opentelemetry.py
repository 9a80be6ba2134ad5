"""The SDK's hooks as OpenTelemetry instruments (opentelemetry-api; an SDK or the user's exporter reads them)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from opentelemetry import metrics

from .._metrics import BYTES_BUCKETS, RECORDS_BUCKETS, SECONDS_BUCKETS, latency_samples
from .._version import __version__


def _api(operation: str, stream: str | None) -> dict[str, str]:
    return {"operation": operation} if stream is None else {"operation": operation, "stream": stream}


class OpenTelemetryMetrics:
    """Counters, histograms and gauges named `aiokinesis.*`, with attributes operation, stream, shard
    and error_code; from `meter`, or the global meter provider's meter "aiokinesis" if none."""

    def __init__(self, meter: metrics.Meter | None = None) -> None:
        m = meter if meter is not None else metrics.get_meter("aiokinesis", __version__)
        self._duration = m.create_histogram(
            "aiokinesis.api.call.duration",
            "s",
            "API call duration, retries and their waits included (its count: the calls)",
            explicit_bucket_boundaries_advisory=SECONDS_BUCKETS,
        )
        self._errors = m.create_counter("aiokinesis.api.errors", "{call}", "API calls that failed, by error code")
        self._retries = m.create_counter("aiokinesis.api.retries", "{attempt}", "failed attempts retried, by code")
        self._throttles = m.create_counter("aiokinesis.api.throttles", "{attempt}", "attempts refused as throttled")
        self._batch_records = m.create_histogram(
            "aiokinesis.producer.batch.records",
            "{record}",
            "records per PutRecords (its sum: records sent)",
            explicit_bucket_boundaries_advisory=RECORDS_BUCKETS,
        )
        self._batch_bytes = m.create_histogram(
            "aiokinesis.producer.batch.size",
            "By",
            "bytes per PutRecords (its sum: bytes sent)",
            explicit_bucket_boundaries_advisory=BYTES_BUCKETS,
        )
        # The producer's gauges, and its records landed by shard, are observed when the reader
        # collects, from each stream's last request and running totals: no instrument call per
        # request or per shard (an SDK call costs 5-20 us; a request of 500 lands on up to 500 shards).
        self._producer_now: dict[str, tuple[int, int, int]] = {}
        for name, unit, description, index in (
            ("aiokinesis.producer.buffered.records", "{record}", "admitted, not resolved", 0),
            ("aiokinesis.producer.buffered.size", "By", "admitted, not resolved", 1),
            ("aiokinesis.producer.in_flight", "{request}", "PutRecords under way", 2),
        ):
            m.create_observable_gauge(name, [self._observer(index)], unit, description)
        self._landed: dict[tuple[str, str], int] = {}
        m.create_observable_counter(
            "aiokinesis.producer.records.put", [self._observe_landed], "{record}", "records landed, by shard"
        )
        self._latency = m.create_histogram(
            "aiokinesis.producer.put.latency",
            "s",
            "put() to receipt: 3 records of each PutRecords (its shortest, median and longest)",
            explicit_bucket_boundaries_advisory=SECONDS_BUCKETS,
        )
        self._retried = m.create_counter(
            "aiokinesis.producer.records.retried", "{record}", "records sent again, by entry error code"
        )
        self._failed = m.create_counter("aiokinesis.producer.records.failed", "{record}", "receipts failed, by code")
        self._read = m.create_counter("aiokinesis.consumer.records", "{record}", "records handed out, by shard")
        self._behind = m.create_gauge("aiokinesis.consumer.millis_behind_latest", "ms", "shard lag behind its tip")
        self._age = m.create_gauge("aiokinesis.consumer.record.age", "s", "since the last record handed out arrived")
        self._checkpoints = m.create_counter("aiokinesis.consumer.checkpoints", "{checkpoint}", "checkpoints written")
        self._held = m.create_gauge("aiokinesis.leases.held", "{lease}", "leases this worker holds")
        self._taken = m.create_counter("aiokinesis.leases.taken", "{lease}", "leases taken (stolen: from a live one)")
        self._lost = m.create_counter("aiokinesis.leases.lost", "{lease}", "leases lost to another worker or time")

    # The callbacks run on the reader's thread (a periodic reader's) while the event loop's adds a
    # stream or a shard: each reads a copy (list() of a dict's items is one step under the GIL).
    def _observer(self, index: int) -> Callable[[metrics.CallbackOptions], Iterable[metrics.Observation]]:
        def observe(_: metrics.CallbackOptions) -> Iterable[metrics.Observation]:
            now = list(self._producer_now.items())
            return [metrics.Observation(figures[index], {"stream": stream}) for stream, figures in now]

        return observe

    def _observe_landed(self, _: metrics.CallbackOptions) -> Iterable[metrics.Observation]:
        totals = list(self._landed.items())
        return [metrics.Observation(records, {"stream": stream, "shard": shard}) for (stream, shard), records in totals]

    def api_call(self, operation: str, stream: str | None, seconds: float, error: str | None) -> None:
        attributes = _api(operation, stream)
        self._duration.record(seconds, attributes)
        if error is not None:
            self._errors.add(1, {**attributes, "error_code": error})

    def api_attempt_failed(
        self, operation: str, stream: str | None, error: str, *, throttled: bool, retried: bool
    ) -> None:
        attributes = _api(operation, stream)
        if throttled:
            self._throttles.add(1, attributes)
        if retried:
            self._retries.add(1, {**attributes, "error_code": error})

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
        attributes = {"stream": stream}
        self._batch_records.record(records, attributes)
        self._batch_bytes.record(bytes, attributes)
        self._producer_now[stream] = (buffered_records, buffered_bytes, in_flight)

    def producer_settled(
        self,
        stream: str,
        *,
        landed: Mapping[str, int],
        latencies: Sequence[float],
        retried: Mapping[str, int],
        failed: Mapping[str, int],
    ) -> None:
        totals = self._landed
        for shard, records in landed.items():
            totals[stream, shard] = totals.get((stream, shard), 0) + records
        attributes = {"stream": stream}
        record = self._latency.record
        for seconds in latency_samples(latencies):
            record(seconds, attributes)
        for code, records in retried.items():
            self._retried.add(records, {"stream": stream, "error_code": code})
        for code, records in failed.items():
            self._failed.add(records, {"stream": stream, "error_code": code})

    def consumer_batch(
        self, stream: str, shard: str, *, records: int, millis_behind_latest: int | None, age: float | None
    ) -> None:
        attributes = {"stream": stream, "shard": shard}
        self._read.add(records, attributes)
        if millis_behind_latest is not None:
            self._behind.set(millis_behind_latest, attributes)
        if age is not None:
            self._age.set(age, attributes)

    def consumer_checkpoint(self, stream: str, shard: str) -> None:
        self._checkpoints.add(1, {"stream": stream, "shard": shard})

    def leases_held(self, stream: str, count: int) -> None:
        self._held.set(count, {"stream": stream})

    def lease_taken(self, stream: str, shard: str, *, stolen: bool) -> None:
        self._taken.add(1, {"stream": stream, "shard": shard, "stolen": stolen})

    def lease_lost(self, stream: str, shard: str) -> None:
        self._lost.add(1, {"stream": stream, "shard": shard})
