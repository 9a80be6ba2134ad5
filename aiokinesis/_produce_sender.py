"""The producer's sender: one task drains the buffer into PutRecords calls and settles their results.

Full batches go at once, partial ones after `linger`, at most `max_in_flight` at a time, each
shard kept under its share of 1000 records and 1 MiB a second. Only failed entries are retried,
with full-jitter backoff, at the head of their lane, until the record's time to live runs out.

A unit that lands on another shard than the map predicted means the stream was resharded. The
map is refreshed (with aggregation, lanes follow it once nothing is in flight, so no record
overtakes an older one of its key). An aggregate lands whole on the shard of its first record's
hash, and readers drop the user records outside that shard's hash range, as the KCL does: those
records are put again, and their receipts say where they landed then.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from ._generated.operations import PutRecords
from ._produce_maps import ShardMaps
from ._produce_metrics import ProduceReport
from ._produce_model import (
    Aggregate,
    Item,
    ProducerClosedError,
    PutResult,
    RecordFailedError,
    Unit,
    expired_error,
)
from ._produce_pacing import ShardPacer
from .errors import KinesisError, ProtocolError, ServiceError, TransportError

if TYPE_CHECKING:
    from ._generated.operations import Operations
    from ._invoker import Invoker
    from ._produce_buffer import ProduceBuffer
    from ._produce_limits import StreamLimits
    from ._runtime import Runtime
    from .config import ProducerConfig

log = logging.getLogger("aiokinesis.producer")
_RETRYABLE_CODES = frozenset(
    {"ProvisionedThroughputExceededException", "InternalFailure", "InternalFailureException", "ServiceUnavailable"}
)
_INVALID_CODES = frozenset({"ValidationException", "InvalidArgumentException"})
"""A request refused as invalid: perhaps a record above a max record size lowered since it was read."""
PACED_WAIT = 0.01
"""The least wait before taking again when a shard's rate holds records back."""


class Sender:
    """Drains one producer's buffer; `run()` is its supervisor task's body."""

    def __init__(
        self,
        kinesis: Operations,
        invoker: Invoker,
        stream_name: str,
        *,
        config: ProducerConfig,
        runtime: Runtime,
        buffer: ProduceBuffer,
        limits: StreamLimits,
    ) -> None:
        self._kinesis = kinesis
        self._invoker = invoker
        self.stream_name = stream_name
        self._config = config
        self._runtime = runtime
        self._clock = runtime.clock
        self._buffer = buffer
        self._limits = limits
        self.stats = buffer.stats
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(config.max_in_flight)
        self._pacer = ShardPacer(config.rate_limit) if config.rate_limit > 0 else None
        self._paced_until = 0.0
        """No take before then: the last one could send nothing while a shard's rate held records back."""
        self._maps = ShardMaps(kinesis, stream_name, buffer=buffer, aggregate=config.aggregate, wake=self._wake.set)
        self.closing = False
        self.flushing = 0
        self.report: ProduceReport | None = None
        """Where each request's figures go (the client's metrics); None: nowhere."""

    @property
    def shard_ids(self) -> tuple[str, ...]:
        """The open shards of the map the producer follows now."""
        return self._maps.shard_ids

    async def open(self) -> None:
        """List the open shards before the first put() predicts one."""
        await self._maps.open()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        try:
            await self._drain()
        except BaseException as exc:  # nothing may wait forever on a receipt of a dead producer
            self._buffer.fail_all(ProducerClosedError(f"the producer of {self.stream_name} stopped: {exc!r}"))
            # The task group is over: nothing is in flight, though a request task it cancelled
            # before its first step never ran the code that counts it out.
            self.stats.in_flight = 0
            raise

    # -- the drain loop --------------------------------------------------------------------------

    async def _drain(self) -> None:
        buffer = self._buffer
        stats = self.stats
        maps = self._maps
        async with asyncio.TaskGroup() as group:
            maps.group = group
            while True:
                now = self._clock()
                if not stats.in_flight:
                    maps.follow_pending()
                if maps.pending is None and self._due(now):
                    units, entries = buffer.take(now, self._pacer)
                    if not units and self._pacer is not None and self._pacer.holding:
                        # Nothing could go, records wait on a shard's rate: let it refill for a linger
                        # (10 ms at least) rather than take again each millisecond, a few records a
                        # request. A take that sent something is followed at once by the next.
                        self._paced_until = now + max(self._config.linger, PACED_WAIT)
                    if units:
                        await self._slots.acquire()
                        stats.in_flight += 1
                        if self.report is not None:
                            self.report.sent(units, stats)
                        group.create_task(self._send(units, entries), name=f"aiokinesis-put-records-{self.stream_name}")
                        continue
                if self.closing and not stats.buffered_records and not stats.in_flight:
                    return
                self._wake.clear()
                await self._runtime.wait(self._wake, self._next_wakeup(now))

    def _due(self, now: float) -> bool:
        """Send now if a full batch is ready, linger has passed, or a flush or close asks."""
        if not self.stats.buffered_records or now < self._paced_until:
            return False
        if self.closing or self.flushing:
            return True
        pending_since = self._buffer.pending_since
        if pending_since is not None and now - pending_since >= self._config.linger:
            return True
        return self._buffer.ready_units(now) >= self._config.max_batch_records

    def _next_wakeup(self, now: float) -> float:
        if not self.stats.buffered_records:
            return 1.0
        if now < self._paced_until:
            return self._paced_until - now
        waits = [0.05]  # rate buckets refill continuously
        pending_since = self._buffer.pending_since
        if pending_since is not None:
            waits.append(pending_since + self._config.linger - now)
        return max(0.001, min(waits))

    # -- one PutRecords --------------------------------------------------------------------------

    async def _send(self, units: list[Unit], entries: list[dict[str, str]]) -> None:
        stranded = True  # until every record of the request is settled, put back or dropped
        try:
            await self._put_records(units, entries)
            stranded = False
        finally:
            self._buffer.done_with(units, stranded=stranded)
            self.stats.in_flight -= 1
            if self.report is not None:
                self.report.flush()
            self._slots.release()
            self._wake.set()

    async def _put_records(self, units: list[Unit], entries: list[dict[str, str]]) -> None:
        try:
            # The hot path: the invoker directly with wire entries, results read without typed objects.
            body = {"StreamName": self.stream_name, "Records": entries}
            results = await self._invoker.invoke(PutRecords, body, _records)
            if len(results) != len(units):
                raise ProtocolError(f"PutRecords answered {len(results)} entries for {len(units)}")
        except (ServiceError, TransportError) as exc:
            if exc.retryable:
                for unit in units:
                    self._retry(unit, getattr(exc, "code", type(exc).__name__), exc.throttling)
            elif isinstance(exc, ServiceError) and exc.code in _INVALID_CODES:
                await self._refused_as_invalid(units, exc)
            else:
                self._fail_units(units, exc)
        except KinesisError as exc:  # a ProtocolError: nothing says whether these landed
            self._fail_units(units, exc)
        except asyncio.CancelledError:  # the producer is going away with this request under way
            error = ProducerClosedError(
                f"the producer of {self.stream_name} stopped before PutRecords answered (the record may have landed)"
            )
            for unit in units:
                for item in unit.items:
                    self._buffer.drop(item, error)
            raise
        else:
            self.stats.requests += 1
            await self._settle(units, results)

    async def _settle(self, units: list[Unit], results: list[dict[str, Any]]) -> None:
        """Each entry's outcome: landed (records sent alone resolve together), retried or failed."""
        report = self.report
        landed: list[Item] = []
        landed_elsewhere: list[tuple[Aggregate, str, str]] = []
        stale = False
        for unit, result in zip(units, results, strict=True):
            code = result.get("ErrorCode")
            shard_id = result.get("ShardId")
            sequence_number = result.get("SequenceNumber")
            if code is None and shard_id and sequence_number:
                if isinstance(unit, Item):
                    # Kinesis routed it by its own key: if not where predicted, only the map is stale.
                    stale = stale or (unit.shard_id is not None and unit.shard_id != shard_id)
                    unit.attempts += 1
                    unit.shard_id = shard_id
                    unit.sequence_number = sequence_number
                    landed.append(unit)
                elif shard_id == unit.shard_id:
                    if report is not None:
                        report.landed_aggregate(unit, shard_id)
                    self._succeeded(unit, shard_id, sequence_number)
                else:
                    landed_elsewhere.append((unit, shard_id, sequence_number))
            elif code in _RETRYABLE_CODES:
                self._retry(unit, code, code == "ProvisionedThroughputExceededException")
            else:
                self._reject(unit, code or "Unknown", result.get("ErrorMessage") or "")
        if report is not None:
            report.landed(landed)
        self._buffer.landed(landed)
        if stale:
            self._maps.schedule_refresh()
        for aggregate, shard_id, sequence_number in landed_elsewhere:
            await self._settle_misrouted(aggregate, shard_id, sequence_number)

    def _succeeded(self, unit: Aggregate, shard_id: str, sequence_number: str) -> None:
        succeed = self._buffer.succeed
        for sub, item in enumerate(unit.items):
            item.attempts += 1
            succeed(item, PutResult(shard_id, sequence_number, sub, item.attempts))

    def _retry(self, unit: Unit, code: str, throttled: bool) -> None:
        log.debug("retrying %d records of %s after %s", len(unit.items), self.stream_name, code)
        now = self._clock()
        self.stats.retries += 1
        self.stats.throttles += throttled
        if self.report is not None:
            self.report.retried(code, len(unit.items))
        config = self._config
        again: list[Item] = []
        for item in unit.items:
            item.attempts += 1
            item.last_code = code
            item.throttles += throttled
            if now >= item.deadline:
                self._buffer.fail(item, expired_error(item))
                continue
            item.not_before = now + self._runtime.backoff(
                config.retry_base_delay, item.attempts, config.retry_max_delay
            )
            again.append(item)
        self._buffer.requeue(unit.lane, again, now)

    async def _refused_as_invalid(self, units: list[Unit], error: ServiceError) -> None:
        """The request was refused as invalid: the stream may have changed since it was read. Its
        records the stream as read again does not take (above a lowered max record size, or keyless
        once it left AUTO) fail with the service's error and the others go back to their lanes,
        whether this request or another in flight saw the change first; if there are none, every
        record fails with it."""
        limits = self._limits
        await limits.refresh()

        def refused(unit: Unit) -> bool:
            keyless = not limits.auto and any(item.partition_key is None for item in unit.items)
            return keyless or unit.size > limits.max_record_bytes

        failing = [refused(unit) for unit in units]
        if not any(failing):
            self._fail_units(units, error)
            return
        now = self._clock()
        for unit, fails in zip(units, failing, strict=True):
            if fails:
                self._fail_units([unit], error)
                continue
            for item in unit.items:
                item.attempts += 1
                item.last_code = error.code
            self._buffer.requeue(unit.lane, unit.items, now)

    def _fail_units(self, units: list[Unit], error: KinesisError) -> None:
        for unit in units:
            for item in unit.items:
                item.attempts += 1
                self._buffer.fail(item, error)

    def _reject(self, unit: Unit, code: str, message: str) -> None:
        """An entry failed with a code retrying cannot mend: each of its records fails with it."""
        for item in unit.items:
            item.attempts += 1
            self._record_failed(item, message, code)

    def _record_failed(self, item: Item, message: str, code: str) -> None:
        """Fail a record with a RecordFailedError: its time to live ran out, or its entry's error code."""
        self._buffer.fail(item, RecordFailedError(f"{code}: {message}", code=code, attempts=item.attempts))

    # -- resharding ------------------------------------------------------------------------------

    async def _settle_misrouted(self, unit: Aggregate, shard_id: str, sequence_number: str) -> None:
        """An aggregate landed on `shard_id`, not where the map said: its user records inside that
        shard's range have landed (each at its place in the aggregate); readers drop the others,
        which go back to the head of their lane to be put again."""
        bounds = await self._maps.range_of(shard_id)
        head_hash = unit.items[0].hash_key
        now = self._clock()
        again: list[Item] = []
        for sub, item in enumerate(unit.items):
            item.attempts += 1
            hash_key = item.hash_key
            if hash_key == head_hash or (bounds is not None and bounds[0] <= hash_key <= bounds[1]):
                self._buffer.succeed(item, PutResult(shard_id, sequence_number, sub, item.attempts))
            elif now >= item.deadline:
                item.last_code = "Misrouted"
                self._buffer.fail(item, expired_error(item))
            else:
                item.not_before = now
                again.append(item)
        if again:
            # Without the landed shard's range (ListShards failed) every record it may not hold is
            # put again: a reader may then see some twice, never miss one.
            log.info(
                "%d of %d records of an aggregate for %s landed on %s outside its hash range: putting them again",
                len(again),
                len(unit.items),
                self.stream_name,
                shard_id,
            )
            self.stats.retries += 1
            self._buffer.requeue(unit.lane, again, now)


def _records(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """PutRecords' result entries as answered: ShardId and SequenceNumber, or ErrorCode and ErrorMessage."""
    records: list[dict[str, Any]] = answer["Records"]
    return records
