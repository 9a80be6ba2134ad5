"""The hooks every part reports its figures to, and a guard that keeps a failing sink out of the data path.

A sink is told of batches, never of single records: one API call, one PutRecords sent and one
settled, one batch handed to the consumer, one lease taken or lost. With no sink (the default)
nothing calls anything: each reporting place checks `if metrics is not None` once per batch.
Adapters for OpenTelemetry and Prometheus are in aiokinesis.metrics.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from .errors import KinesisError, ServiceError, TransportError

T = TypeVar("T")
log = logging.getLogger("aiokinesis.metrics")


class MetricsSink(Protocol):
    """What the client, producer, consumer and leases report; every method is called at batch level.

    `stream` is the stream's name (None for calls that name none, such as DynamoDB's), `shard` a
    shard id, `error` an error code as the service sent it (or the class name of a transport
    error). A method that raises is logged once and otherwise ignored: it never fails a call.
    """

    def api_call(self, operation: str, stream: str | None, seconds: float, error: str | None) -> None:
        """One API call as its caller saw it, retries and their waits included; `error` None if it succeeded."""

    def api_attempt_failed(
        self, operation: str, stream: str | None, error: str, *, throttled: bool, retried: bool
    ) -> None:
        """One attempt of an API call failed; `retried`: another attempt followed it."""

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
        """One PutRecords goes out: its user records, bytes and entries (fewer with aggregation),
        and the buffer and the requests in flight as they are then (this one counted)."""

    def producer_settled(
        self,
        stream: str,
        *,
        landed: Mapping[str, int],
        latencies: Sequence[float],
        retried: Mapping[str, int],
        failed: Mapping[str, int],
    ) -> None:
        """One PutRecords answered (or failed): user records landed per shard, seconds from put() to
        receipt of each, records to be sent again per entry error code, and records whose receipt
        failed per code since the last report (expiry in the buffer included: "Expired")."""

    def consumer_batch(
        self, stream: str, shard: str, *, records: int, millis_behind_latest: int | None, age: float | None
    ) -> None:
        """One batch handed to the user: its records, the shard's lag behind its tip, and the seconds
        since its last record arrived in the stream (None when either is unknown)."""

    def consumer_checkpoint(self, stream: str, shard: str) -> None:
        """A checkpoint of the shard was written."""

    def leases_held(self, stream: str, count: int) -> None:
        """This worker holds `count` leases now (told on every change)."""

    def lease_taken(self, stream: str, shard: str, *, stolen: bool) -> None:
        """This worker took a shard's lease: free or expired, or stolen from a live worker to balance."""

    def lease_lost(self, stream: str, shard: str) -> None:
        """This worker lost a shard's lease: another took it, or it could not be renewed in time."""


class NoMetrics:
    """A sink that does nothing: subclass it to implement only the hooks you want."""

    def api_call(self, operation: str, stream: str | None, seconds: float, error: str | None) -> None:
        pass

    def api_attempt_failed(
        self, operation: str, stream: str | None, error: str, *, throttled: bool, retried: bool
    ) -> None:
        pass

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
        pass

    def producer_settled(
        self,
        stream: str,
        *,
        landed: Mapping[str, int],
        latencies: Sequence[float],
        retried: Mapping[str, int],
        failed: Mapping[str, int],
    ) -> None:
        pass

    def consumer_batch(
        self, stream: str, shard: str, *, records: int, millis_behind_latest: int | None, age: float | None
    ) -> None:
        pass

    def consumer_checkpoint(self, stream: str, shard: str) -> None:
        pass

    def leases_held(self, stream: str, count: int) -> None:
        pass

    def lease_taken(self, stream: str, shard: str, *, stolen: bool) -> None:
        pass

    def lease_lost(self, stream: str, shard: str) -> None:
        pass


class GuardedSink:
    """The user's sink as the SDK calls it: an exception from a hook is logged (with its traceback,
    once per hook) and swallowed, so a broken dashboard never fails a put, a read or a checkpoint."""

    __slots__ = ("_failed", "clock", "sink")

    def __init__(self, sink: MetricsSink, clock: Callable[[], float]) -> None:
        self.sink = sink
        self.clock = clock
        """Seconds for durations (monotonic unless the client was given a clock)."""
        self._failed: set[str] = set()

    def _broke(self, hook: str, exc: Exception) -> None:
        if hook in self._failed:
            log.debug("metrics sink %r failed in %s again: %r", self.sink, hook, exc)
            return
        self._failed.add(hook)
        log.warning(
            "metrics sink %r failed in %s (ignored; later failures of it are logged at DEBUG)",
            self.sink,
            hook,
            exc_info=exc,
        )

    def api_call(self, operation: str, stream: str | None, seconds: float, error: str | None) -> None:
        try:
            self.sink.api_call(operation, stream, seconds, error)
        except Exception as exc:
            self._broke("api_call", exc)

    def api_attempt_failed(
        self, operation: str, stream: str | None, error: str, *, throttled: bool, retried: bool
    ) -> None:
        try:
            self.sink.api_attempt_failed(operation, stream, error, throttled=throttled, retried=retried)
        except Exception as exc:
            self._broke("api_attempt_failed", exc)

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
        try:
            self.sink.producer_sent(
                stream,
                records=records,
                bytes=bytes,
                entries=entries,
                buffered_records=buffered_records,
                buffered_bytes=buffered_bytes,
                in_flight=in_flight,
            )
        except Exception as exc:
            self._broke("producer_sent", exc)

    def producer_settled(
        self,
        stream: str,
        *,
        landed: Mapping[str, int],
        latencies: Sequence[float],
        retried: Mapping[str, int],
        failed: Mapping[str, int],
    ) -> None:
        try:
            self.sink.producer_settled(stream, landed=landed, latencies=latencies, retried=retried, failed=failed)
        except Exception as exc:
            self._broke("producer_settled", exc)

    def consumer_batch(
        self, stream: str, shard: str, *, records: int, millis_behind_latest: int | None, age: float | None
    ) -> None:
        try:
            self.sink.consumer_batch(stream, shard, records=records, millis_behind_latest=millis_behind_latest, age=age)
        except Exception as exc:
            self._broke("consumer_batch", exc)

    def consumer_checkpoint(self, stream: str, shard: str) -> None:
        try:
            self.sink.consumer_checkpoint(stream, shard)
        except Exception as exc:
            self._broke("consumer_checkpoint", exc)

    def leases_held(self, stream: str, count: int) -> None:
        try:
            self.sink.leases_held(stream, count)
        except Exception as exc:
            self._broke("leases_held", exc)

    def lease_taken(self, stream: str, shard: str, *, stolen: bool) -> None:
        try:
            self.sink.lease_taken(stream, shard, stolen=stolen)
        except Exception as exc:
            self._broke("lease_taken", exc)

    def lease_lost(self, stream: str, shard: str) -> None:
        try:
            self.sink.lease_lost(stream, shard)
        except Exception as exc:
            self._broke("lease_lost", exc)


def guarded(sink: MetricsSink | None, clock: Callable[[], float]) -> GuardedSink | None:
    """The sink the SDK's parts are handed: None stays None (nothing reports), a sink is guarded once."""
    if sink is None:
        return None
    if isinstance(sink, GuardedSink):
        sink = sink.sink
    for hook in (
        "api_call",
        "api_attempt_failed",
        "producer_sent",
        "producer_settled",
        "consumer_batch",
        "consumer_checkpoint",
        "leases_held",
        "lease_taken",
        "lease_lost",
    ):
        if not callable(getattr(sink, hook, None)):
            name = type(sink).__name__
            raise TypeError(f"metrics must implement MetricsSink: {name} has no {hook}() (subclass NoMetrics)")
    return GuardedSink(sink, clock)


def error_code(error: BaseException) -> str:
    """The code a failure is counted under: the service's error code, else the exception's class."""
    code = getattr(error, "code", None)
    return code if isinstance(code, str) else type(error).__name__


def stream_of(body: dict[str, Any]) -> str | None:
    """The stream a request names, by name or by ARN (arn:...:stream/NAME)."""
    name = body.get("StreamName")
    if name is None:
        arn = body.get("StreamARN")
        if isinstance(arn, str):
            return arn.rpartition("/")[2]
    return name if isinstance(name, str) else None


async def measured(
    sink: GuardedSink,
    operation: str,
    body: dict[str, Any],
    with_retries: Callable[[Callable[[], Awaitable[T]]], Awaitable[T]],
    attempt: Callable[[], Awaitable[T]],
) -> T:
    """`with_retries(attempt)`, reported: each failed attempt, then the call with its duration and outcome.

    The retry loop is the session's own, untouched: this only sees each attempt's failure on its way
    through. A cancelled call is not reported (it has no outcome)."""
    failures: list[ServiceError | TransportError] = []

    async def counted() -> T:
        try:
            return await attempt()
        except (ServiceError, TransportError) as exc:
            failures.append(exc)
            raise

    stream = stream_of(body)
    clock = sink.clock
    started = clock()
    try:
        result = await with_retries(counted)
    except KinesisError as exc:
        _report_call(sink, operation, stream, clock() - started, failures, exc)
        raise
    _report_call(sink, operation, stream, clock() - started, failures, None)
    return result


def _report_call(
    sink: GuardedSink,
    operation: str,
    stream: str | None,
    seconds: float,
    failures: list[ServiceError | TransportError],
    error: KinesisError | None,
) -> None:
    for failure in failures:
        sink.api_attempt_failed(
            operation, stream, error_code(failure), throttled=failure.throttling, retried=failure is not error
        )
    sink.api_call(operation, stream, seconds, None if error is None else error_code(error))


LATENCY_SAMPLES = 3


def latency_samples(latencies: Sequence[float], count: int = LATENCY_SAMPLES) -> list[float]:
    """At most `count` of a request's put-to-receipt latencies: the shortest, the longest, and evenly
    spaced order statistics between (for 3, the median). A histogram call costs microseconds
    (OpenTelemetry's SDK, prometheus-client), so the adapters record these rather than one a record:
    per-record calls would double the producer's CPU; three a request, with the adapters' other
    per-request calls, keep them near issue #13's 5% (bench/README.md, bench/metrics_hooks.py)."""
    if len(latencies) <= count:
        return list(latencies)
    ordered = sorted(latencies)
    last = len(ordered) - 1
    return [ordered[i * last // (count - 1)] for i in range(count)]


# Histogram buckets the adapters share. Seconds: an API call (milliseconds) to a put() waiting out
# retries and a full buffer (tens of seconds). Records and bytes: up to PutRecords' 500 and 10 MiB.
SECONDS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
RECORDS_BUCKETS = (1.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0)
BYTES_BUCKETS = (*(1024.0 * 4**n for n in range(6)), 2.0 * 1024**2, 5.0 * 1024**2, 10.0 * 1024**2)
