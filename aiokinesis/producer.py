"""Producer: records batched into PutRecords, paced per shard, retried in order, optionally aggregated.

`put()` validates a record, waits for buffer space (or raises, as configured) and returns its
receipt, a future that resolves to a PutResult or raises why the record was not put. One task
drains the buffer into PutRecords calls: full batches at once, partial ones after `linger`, at
most `max_in_flight` at a time, each shard kept under its share of 1000 records and 1 MiB a second.

Ordering (the default): records that must land in order form a lane (one partition key, or with
aggregation one predicted shard), and a lane has one unit in flight at a time. A failed entry
goes back to the head of its lane, so a later record of its key never lands before it.
Only failed entries are retried, with full-jitter backoff, until the record's time to live runs out.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import warnings
from binascii import b2a_base64
from collections import deque
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from ._buckets import TokenBucket
from ._generated.models import ShardFilter, ShardFilterType
from ._generated.operations import _PutRecords
from ._shardmap import ShardMap, hash_key_of
from .aggregation import UserRecord, aggregate
from .config import ProducerConfig
from .errors import ClientError, KinesisError, ParamValidationError, ProtocolError, ServiceError, TransportError
from .paginators import Paginators

if TYPE_CHECKING:
    from ._generated.operations import Operations
    from ._invoker import Invoker
    from ._runtime import Runtime

log = logging.getLogger("aiokinesis.producer")
_HASH_KEY = re.compile(r"0|[1-9]\d{0,38}")
_RETRYABLE_CODES = frozenset(
    {"ProvisionedThroughputExceededException", "InternalFailure", "InternalFailureException", "ServiceUnavailable"}
)
MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class PutResult:
    """Where a record landed."""

    shard_id: str
    sequence_number: str
    sub_sequence_number: int | None
    """Its place inside a KPL aggregate; None for a record put on its own."""
    attempts: int


class RecordFailedError(KinesisError):
    """A record was not put: a non-retryable error code, or its time to live ran out while retrying."""

    def __init__(self, message: str, *, code: str, attempts: int) -> None:
        super().__init__(message)
        self.code = code
        self.attempts = attempts


class ProducerClosedError(ClientError):
    """The producer is closed: put() after close, or a record still unsent when close was cancelled."""


class BufferFullError(ClientError):
    """put() with `when_full="raise"` and the buffer at its limit."""


@dataclass(eq=False, slots=True)
class _Item:
    data: bytes
    partition_key: str
    explicit_hash_key: str | None
    hash_key: int
    """-1 when not computed (no pacing, no aggregation)."""
    size: int
    future: asyncio.Future[PutResult]
    deadline: float
    attempts: int = 0
    not_before: float = 0.0


@dataclass(eq=False, slots=True)
class _Unit:
    """What becomes one PutRecords entry: one record, or an aggregate of a lane's next records."""

    lane: _Lane
    items: list[_Item]
    entry: dict[str, str]
    """The PutRecords entry on the wire (valid by construction: put() checked its records)."""
    size: int
    shard_id: str | None


@dataclass(eq=False, slots=True)
class _Lane:
    key: str
    items: deque[_Item] = dataclasses.field(default_factory=deque)
    busy: bool = False


@dataclass(slots=True)
class ProducerStats:
    """Counters since the producer opened, and what is buffered and in flight now."""

    records_put: int = 0
    bytes_put: int = 0
    requests: int = 0
    retries: int = 0
    throttles: int = 0
    failed: int = 0
    buffered_records: int = 0
    buffered_bytes: int = 0
    in_flight: int = 0


class Producer:
    """Writes records to one stream; use as `async with kinesis.producer("orders") as producer:`."""

    def __init__(
        self,
        kinesis: Operations,
        invoker: Invoker,
        stream_name: str,
        *,
        config: ProducerConfig,
        runtime: Runtime,
    ) -> None:
        self._kinesis = kinesis
        self._invoker = invoker
        self.stream_name = stream_name
        self._config = config
        self._runtime = runtime
        self._clock = runtime.clock
        self._lanes: dict[str, _Lane] = {}
        self._map = ShardMap(())
        self._max_record_bytes = MIB
        self._buckets: dict[str, tuple[TokenBucket, TokenBucket]] = {}
        self._unresolved: set[asyncio.Future[PutResult]] = set()
        self._wake = asyncio.Event()
        self._space = asyncio.Condition()
        self._slots = asyncio.Semaphore(config.max_in_flight)
        self._pending_since: float | None = None
        self._flushing = 0
        self._closing = False
        self._closed = False
        self._refreshing = False
        self._supervisor: asyncio.Task[None] | None = None
        self._group: asyncio.TaskGroup | None = None
        self.stats = ProducerStats()

    # -- lifecycle -------------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        summary = (await self._kinesis.describe_stream_summary(stream_name=self.stream_name)).stream_description_summary
        self._max_record_bytes = (summary.max_record_size_in_ki_b or 1024) * 1024
        await self._refresh_shard_map()
        self._supervisor = asyncio.create_task(self._run(), name=f"aiokinesis-producer-{self.stream_name}")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Send everything buffered and wait for every receipt; idempotent.

        If cancelled while waiting, every record not yet put gets ProducerClosedError on its receipt.
        """
        self._closing = True
        self._wake.set()
        try:
            if self._supervisor is not None:
                await self._supervisor
        except asyncio.CancelledError:
            self._fail_unresolved(ProducerClosedError("the producer was closed (cancelled) before this record was put"))
            raise
        finally:
            self._closed = True

    def __del__(self) -> None:
        supervisor = getattr(self, "_supervisor", None)
        if supervisor is not None and not supervisor.done():
            warnings.warn(f"unclosed producer of {self.stream_name}: use 'async with'", ResourceWarning, stacklevel=1)

    # -- the user's side -------------------------------------------------------------------------

    async def put(
        self, data: bytes, partition_key: str, *, explicit_hash_key: str | None = None
    ) -> asyncio.Future[PutResult]:
        """Admit one record to the buffer and return its receipt (await it for the PutResult).

        Raises ParamValidationError for this record alone if it breaks a limit, BufferFullError
        if the buffer is full and `when_full="raise"`, ProducerClosedError after close.
        """
        if self._closing or self._closed or (self._supervisor is not None and self._supervisor.done()):
            raise ProducerClosedError(f"the producer of {self.stream_name} is closed")
        size, hash_key = self._check(data, partition_key, explicit_hash_key)
        config = self._config
        if self.stats.buffered_records >= config.max_buffered_records or (
            self.stats.buffered_bytes + size > config.max_buffered_bytes
        ):
            if config.when_full == "raise":
                raise BufferFullError(
                    f"{self.stats.buffered_records} records / {self.stats.buffered_bytes} bytes buffered"
                )
            async with self._space:
                await self._space.wait_for(
                    lambda: (
                        self.stats.buffered_records < config.max_buffered_records
                        and self.stats.buffered_bytes + size <= config.max_buffered_bytes
                    )
                )
        future: asyncio.Future[PutResult] = asyncio.get_running_loop().create_future()
        item = _Item(data, partition_key, explicit_hash_key, hash_key, size, future, self._clock() + config.record_ttl)
        lane_key = partition_key if not config.aggregate else (self._map.shard_for(hash_key) or "")
        lane = self._lanes.get(lane_key)
        if lane is None:
            lane = self._lanes[lane_key] = _Lane(lane_key)
        lane.items.append(item)
        self._unresolved.add(future)
        self.stats.buffered_records += 1
        self.stats.buffered_bytes += size
        # Wake the sending task only when there is something new to decide: the first record
        # starts a linger, and each full batch's worth may be sendable at once. Waking it on
        # every put would make it count ready lanes once per record.
        if self._pending_since is None:
            self._pending_since = self._clock()
            self._wake.set()
        elif self.stats.buffered_records % config.max_batch_records == 0:
            self._wake.set()
        return future

    async def flush(self) -> None:
        """Send everything admitted so far now (no linger) and wait until each has its result."""
        waiting = list(self._unresolved)
        if not waiting:
            return
        self._flushing += 1
        self._wake.set()
        try:
            await asyncio.wait(waiting)
        finally:
            self._flushing -= 1

    def _check(self, data: bytes, partition_key: str, explicit_hash_key: str | None) -> tuple[int, int]:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise ParamValidationError("data", f"must be bytes, not {type(data).__name__}")
        if not isinstance(partition_key, str) or not 1 <= len(partition_key) <= 256:
            shown = len(partition_key) if isinstance(partition_key, str) else type(partition_key).__name__
            raise ParamValidationError("partition_key", f"must be 1 to 256 characters, not {shown}")
        size = len(data) + len(partition_key.encode("utf-8"))
        if size > self._max_record_bytes:
            raise ParamValidationError(
                "data",
                f"{size} bytes with its partition key, above the stream's maximum record size of "
                f"{self._max_record_bytes} bytes",
            )
        if explicit_hash_key is None:
            # The shard is only predicted to pace shards or to aggregate by shard: MD5 costs.
            needs_shard = self._config.rate_limit > 0 or self._config.aggregate
            return size, hash_key_of(partition_key) if needs_shard else -1
        if _HASH_KEY.fullmatch(explicit_hash_key) is None or int(explicit_hash_key) >= 2**128:
            raise ParamValidationError("explicit_hash_key", f"{explicit_hash_key!r} is not a decimal below 2**128")
        return size, int(explicit_hash_key)

    # -- the sending side ------------------------------------------------------------------------

    async def _run(self) -> None:
        try:
            await self._drain()
        except BaseException as exc:  # nothing may wait forever on a receipt of a dead producer
            self._fail_unresolved(ProducerClosedError(f"the producer of {self.stream_name} stopped: {exc!r}"))
            raise

    async def _drain(self) -> None:
        async with asyncio.TaskGroup() as group:
            self._group = group
            while True:
                now = self._clock()
                if self._due(now):
                    units = self._take(now)
                    if units:
                        await self._slots.acquire()
                        self.stats.in_flight += 1
                        group.create_task(self._send(units), name=f"aiokinesis-put-records-{self.stream_name}")
                        continue
                if self._closing and not self.stats.buffered_records and not self.stats.in_flight:
                    return
                self._wake.clear()
                await self._runtime.wait(self._wake, self._next_wakeup(now))

    def _due(self, now: float) -> bool:
        """Send now if a full batch is ready, linger has passed, or a flush or close asks."""
        if not self.stats.buffered_records:
            return False
        if self._closing or self._flushing:
            return True
        if self._pending_since is not None and now - self._pending_since >= self._config.linger:
            return True
        return self._ready_units(now) >= self._config.max_batch_records

    def _ready_units(self, now: float) -> int:
        """How many units could go now (stops counting at a full batch): busy lanes wait."""
        limit = self._config.max_batch_records
        ready = 0
        for lane in self._lanes.values():
            if lane.items and not (lane.busy and self._config.ordering) and lane.items[0].not_before <= now:
                ready += 1 if self._config.ordering else len(lane.items)
                if ready >= limit:
                    break
        return ready

    def _next_wakeup(self, now: float) -> float:
        if not self.stats.buffered_records:
            return 1.0
        waits = [0.05]  # rate buckets refill continuously
        if self._pending_since is not None:
            waits.append(self._pending_since + self._config.linger - now)
        return max(0.001, min(waits))

    def _bucket(self, shard_id: str) -> tuple[TokenBucket, TokenBucket]:
        buckets = self._buckets.get(shard_id)
        if buckets is None:
            share = self._config.rate_limit
            buckets = (TokenBucket(1000 * share, self._clock), TokenBucket(MIB * share, self._clock))
            self._buckets[shard_id] = buckets
        return buckets

    def _take(self, now: float) -> list[_Unit]:
        """The next PutRecords' worth of units, in lane order, within each shard's rate."""
        config = self._config
        units: list[_Unit] = []
        total = 0
        for lane in list(self._lanes.values()):
            while lane.items and not (lane.busy and config.ordering):
                head = lane.items[0]
                if head.deadline <= now:
                    lane.items.popleft()
                    self._resolve_failed(head, "the record's time to live ran out before it could be sent", "Expired")
                    continue
                if head.not_before > now:
                    break
                # Choose and size first; encode (base64, or an aggregate's protobuf and MD5) only
                # once the batch has room and the shard's rate allows it.
                items, unit_size, shard_id = self._select(lane)
                if len(units) >= config.max_batch_records or total + unit_size > config.max_batch_bytes:
                    return units
                if shard_id is not None and config.rate_limit > 0:
                    records, size = self._bucket(shard_id)
                    if not (records.available(1) and size.available(unit_size)):
                        break
                    records.take(1)
                    size.take(unit_size)
                for _ in items:
                    lane.items.popleft()
                units.append(_Unit(lane, items, self._entry_for(items), unit_size, shard_id))
                total += unit_size
                lane.busy = True
            if not lane.items and not lane.busy:
                del self._lanes[lane.key]
        # What stays waits a linger of its own before the next partial batch.
        self._pending_since = now if any(lane.items for lane in self._lanes.values()) else None
        return units

    def _select(self, lane: _Lane) -> tuple[list[_Item], int, str | None]:
        """The lane's next unit: its records, its size on the wire (an upper bound for an
        aggregate) and its predicted shard. Nothing is encoded yet."""
        head = lane.items[0]
        shard_id = self._map.shard_for(head.hash_key) if head.hash_key >= 0 else None
        if not self._config.aggregate:
            return [head], head.size, shard_id
        items: list[_Item] = []
        size = len(head.partition_key.encode()) + 64  # the aggregate's key, magic, MD5, tables
        for item in lane.items:
            if items and (size + item.size > self._config.aggregation_max_bytes or item.not_before > head.not_before):
                break
            items.append(item)
            size += item.size + 8
        return items, (head.size if len(items) == 1 else size), shard_id

    @staticmethod
    def _entry_for(items: list[_Item]) -> dict[str, str]:
        head = items[0]
        if len(items) == 1:  # a record alone, or an aggregate of one, which the KPL also sends plain
            return _entry(head.data, head.partition_key, head.explicit_hash_key)
        data = aggregate([UserRecord(i.partition_key, i.explicit_hash_key, i.data) for i in items])
        # The first record's hash as ExplicitHashKey: the whole aggregate lands on its shard.
        return _entry(data, head.partition_key, str(head.hash_key))

    async def _send(self, units: list[_Unit]) -> None:
        try:
            # The hot path: the invoker directly with wire entries, results read without typed objects.
            body = {"StreamName": self.stream_name, "Records": [u.entry for u in units]}
            results = await self._invoker.invoke(_PutRecords, body, _results)
            if len(results) != len(units):
                raise ProtocolError(f"PutRecords answered {len(results)} entries for {len(units)}")
        except (ServiceError, TransportError) as exc:
            if exc.retryable:
                for unit in units:
                    self._retry(unit, getattr(exc, "code", type(exc).__name__), exc.throttling)
            else:
                self._fail_units(units, exc)
        except KinesisError as exc:  # a ProtocolError: nothing says whether these landed
            self._fail_units(units, exc)
        else:
            self.stats.requests += 1
            for unit, (shard_id, sequence_number, code, message) in zip(units, results, strict=True):
                if code is None and shard_id and sequence_number:
                    self._succeeded(unit, shard_id, sequence_number)
                elif code in _RETRYABLE_CODES:
                    self._retry(unit, code, code == "ProvisionedThroughputExceededException")
                else:
                    for item in unit.items:
                        self._resolve_failed(item, message or "", code or "Unknown")
        finally:
            for unit in units:
                unit.lane.busy = False
                if not unit.lane.items and self._lanes.get(unit.lane.key) is unit.lane:
                    del self._lanes[unit.lane.key]
            self.stats.in_flight -= 1
            self._slots.release()
            self._wake.set()
            async with self._space:
                self._space.notify_all()

    def _fail_units(self, units: list[_Unit], error: KinesisError) -> None:
        for unit in units:
            for item in unit.items:
                item.attempts += 1
                self._fail(item, error)

    def _succeeded(self, unit: _Unit, shard_id: str, sequence_number: str) -> None:
        aggregated = len(unit.items) > 1
        for sub, item in enumerate(unit.items):
            item.attempts += 1
            self._settle(item)
            self.stats.records_put += 1
            self.stats.bytes_put += item.size
            if not item.future.done():
                item.future.set_result(PutResult(shard_id, sequence_number, sub if aggregated else None, item.attempts))
        if unit.shard_id is not None and shard_id != unit.shard_id and unit.items[0].explicit_hash_key is None:
            self._schedule_refresh()  # landed elsewhere than the map said: the stream was resharded

    def _retry(self, unit: _Unit, code: str, throttled: bool) -> None:
        log.debug("retrying %d records of %s after %s", len(unit.items), self.stream_name, code)
        now = self._clock()
        self.stats.retries += 1
        self.stats.throttles += throttled
        for item in reversed(unit.items):
            item.attempts += 1
            if now >= item.deadline:
                self._resolve_failed(item, f"time to live ran out after {item.attempts} attempts", code)
                continue
            config = self._config
            item.not_before = now + self._runtime.backoff(
                config.retry_base_delay, item.attempts, config.retry_max_delay
            )
            unit.lane.items.appendleft(item)
        if unit.lane.items:
            self._lanes.setdefault(unit.lane.key, unit.lane)
            if self._pending_since is None:
                self._pending_since = now

    def _resolve_failed(self, item: _Item, message: str, code: str) -> None:
        self._fail(item, RecordFailedError(f"{code}: {message}", code=code, attempts=item.attempts))

    def _fail(self, item: _Item, error: BaseException) -> None:
        log.warning("a record for %s (key %r) was not put: %s", self.stream_name, item.partition_key, error)
        self._settle(item)
        self.stats.failed += 1
        if not item.future.done():
            item.future.set_exception(error)

    def _settle(self, item: _Item) -> None:
        self._unresolved.discard(item.future)
        self.stats.buffered_records -= 1
        self.stats.buffered_bytes -= item.size

    def _fail_unresolved(self, error: BaseException) -> None:
        for future in list(self._unresolved):
            if not future.done():
                future.set_exception(error)

    # -- the shard map ---------------------------------------------------------------------------

    def _schedule_refresh(self) -> None:
        if self._refreshing or self._group is None:
            return
        self._refreshing = True
        self._group.create_task(self._refresh_in_background(), name=f"aiokinesis-shard-map-{self.stream_name}")

    async def _refresh_in_background(self) -> None:
        try:
            await self._refresh_shard_map()
        except KinesisError as exc:
            log.warning("could not refresh the shard map of %s: %s", self.stream_name, exc)
        finally:
            self._refreshing = False

    async def _refresh_shard_map(self) -> None:
        open_shards = ShardFilter(type=ShardFilterType.AT_LATEST)
        shards = [
            s
            async for s in Paginators(self._kinesis).list_shards(stream_name=self.stream_name, shard_filter=open_shards)
        ]
        self._map = ShardMap(shards)
        log.info("shard map of %s: %d open shards", self.stream_name, len(shards))


def _entry(data: bytes, partition_key: str, explicit_hash_key: str | None) -> dict[str, str]:
    entry = {"Data": b2a_base64(data, newline=False).decode(), "PartitionKey": partition_key}
    if explicit_hash_key is not None:
        entry["ExplicitHashKey"] = explicit_hash_key
    return entry


_Result = tuple[str | None, str | None, str | None, str | None]


def _results(answer: dict[str, Any]) -> list[_Result]:
    """(shard, sequence number, error code, error message) per entry, as PutRecords answered."""
    return [
        (r.get("ShardId"), r.get("SequenceNumber"), r.get("ErrorCode"), r.get("ErrorMessage"))
        for r in answer["Records"]
    ]
