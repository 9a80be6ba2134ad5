"""Producer: records batched into PutRecords, paced per shard, retried in order, optionally aggregated.

`put()` validates a record, waits for buffer space (or raises, as configured) and returns its
receipt, an awaitable (with asyncio's future protocol) that resolves to a PutResult or raises why
the record was not put. `put_many()` does the same for many records at once, each with its own
receipt: a record that breaks a limit fails its receipt alone (the error names its index), the
others go, in order.

Ordering (the default): records that must land in order form a lane (one partition key, or with
aggregation one predicted shard), and a lane has one unit in flight at a time. A failed entry
goes back to the head of its lane, so a later record of its key never lands before it.

Large records (a stream's max record size goes up to 10 MiB) are always sendable: one larger
than `max_batch_bytes` goes alone in its own PutRecords (AWS's request limit holds any record),
and one larger than a shard's byte budget (1 MiB x rate_limit) goes once that budget is full,
into a debt the shard then waits out, as AWS lets a shard burst to 10 MiB at 1 MiB/s on average
(_produce_pacing: the shard is held for it, so small records cannot starve it, nor it them).

Keyless records: on a stream whose RecordDistributionStrategy is AUTO, put(data) needs no
partition key (none is sent); the service spreads records over shards, so they keep no order
and the producer spreads them over shards' rates round-robin. Elsewhere a key is required.

The work is split as aiokafka splits its producer: this module is the public face (lifecycle,
put, put_many, flush); _produce_checks validates records; _produce_buffer holds the admitted
records (admission, expiry, release) in _produce_lanes' lanes, _produce_shards choosing each
unit's shard; _produce_sender drains them (PutRecords, results, retries, pacing), following the
shard maps of _produce_maps. A record's receipt is the buffered record itself (_produce_model.Item,
a _produce_receipt.Receipt): one object a record.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Self

from ._produce_buffer import ProduceBuffer
from ._produce_checks import Data, ProducerRecord, RecordChecks, Stale, unpack
from ._produce_limits import StreamLimits
from ._produce_metrics import ProduceReport
from ._produce_model import (
    BufferFullError,
    Item,
    ProducerClosedError,
    ProducerStats,
    PutResult,
    RecordFailedError,
)
from ._produce_receipt import Receipt
from ._produce_sender import Sender
from .config import ProducerConfig
from .errors import ParamValidationError

if TYPE_CHECKING:
    from ._generated.operations import Operations
    from ._invoker import Invoker
    from ._metrics import MetricsSink
    from ._runtime import Runtime

__all__ = [
    "BufferFullError",
    "Producer",
    "ProducerClosedError",
    "ProducerRecord",
    "ProducerStats",
    "PutResult",
    "Receipt",
    "RecordFailedError",
]


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
        metrics: MetricsSink | None = None,
    ) -> None:
        self._kinesis = kinesis
        self.stream_name = stream_name
        self._config = config
        self._clock = runtime.clock
        self.stats = ProducerStats()
        """Counters since the producer opened, and what is buffered and in flight now."""
        self._buffer = ProduceBuffer(stream_name, config, self.stats)
        self._limits = StreamLimits(kinesis, stream_name, config, runtime.clock, self._follow)
        self._sender = Sender(
            kinesis, invoker, stream_name, config=config, runtime=runtime, buffer=self._buffer, limits=self._limits
        )
        self._closing = False
        self._opening = False
        self._closed = False
        self._supervisor: asyncio.Task[None] | None = None
        self._checks = RecordChecks(stream_name, config, self._limits)
        self._loop: asyncio.AbstractEventLoop | None = None
        report = None if metrics is None else ProduceReport(metrics, stream_name, config.record_ttl, runtime.clock)
        self._report = self._buffer.report = self._sender.report = report

    # -- lifecycle -------------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._opening or self._closing:
            raise RuntimeError(f"the producer of {self.stream_name} was opened or closed before: make a new one")
        self._opening = True  # before the first await: two opening at once would run two senders
        try:
            await self._limits.read()
            await self._sender.open()
        except BaseException:
            self._opening = False  # nothing started: it may be opened again
            raise
        self._supervisor = asyncio.create_task(self._sender.run(), name=f"aiokinesis-producer-{self.stream_name}")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Send everything buffered and wait for every receipt; idempotent.

        A put() still waiting for room raises ProducerClosedError. If cancelled while waiting,
        every record not yet put gets ProducerClosedError on its receipt.
        """
        self._closing = True
        self._buffer.close()
        self._sender.closing = True
        self._sender.wake()
        try:
            if self._supervisor is not None:
                await self._supervisor
        except asyncio.CancelledError:
            self._buffer.fail_all(ProducerClosedError("the producer was closed (cancelled) before this record was put"))
            raise
        finally:
            self._closed = True
            if self._report is not None:  # what failed with the close, or expired since the last request
                self._report.flush()

    def _follow(self, limits: StreamLimits) -> None:
        self._buffer.follow(limits.max_record_bytes, limits.max_batch_bytes, limits.auto)
        self._checks.follow(limits)

    @property
    def max_record_bytes(self) -> int:
        """The largest record (data and partition key) the stream takes, as last read."""
        return self._limits.max_record_bytes

    def __del__(self) -> None:
        supervisor = getattr(self, "_supervisor", None)
        if supervisor is not None and not supervisor.done():
            warnings.warn(f"unclosed producer of {self.stream_name}: use 'async with'", ResourceWarning, stacklevel=1)

    # -- the user's side -------------------------------------------------------------------------

    async def put(
        self,
        data: Data,
        partition_key: str | None = None,
        *,
        explicit_hash_key: str | None = None,
    ) -> Receipt:
        """Admit one record to the buffer and return its receipt (await it for the PutResult).

        A bytearray or memoryview (of any item format, contiguous or not) is copied to bytes here:
        what is sent is its bytes as they were at put(). `partition_key` may be None only on a
        stream whose RecordDistributionStrategy is AUTO. Raises ParamValidationError for this
        record alone if it breaks a limit (a record above the stream's known max record size, or
        keyless on a stream that needs keys, first has the stream's limits read again, at most
        once a second), BufferFullError if the buffer is full and `when_full="raise"`,
        ProducerClosedError after close.
        """
        supervisor = self._supervisor
        if self._closing or (supervisor is not None and supervisor.done()):
            self._check_open()
        try:
            data, size, hash_key = self._checks.check(data, partition_key, explicit_hash_key, final=False)
        except Stale:
            await self._limits.refresh()  # the stream may allow it now
            self._check_open()  # closed meanwhile: admitted now, the record would never be sent
            data, size, hash_key = self._checks.check(data, partition_key, explicit_hash_key, final=True)
        buffer = self._buffer
        if not buffer.fits(size):
            await buffer.make_room(size)
        now = self._clock()
        item = Item(
            self._loop or self._running_loop(),
            data,
            partition_key,
            explicit_hash_key,
            hash_key,
            size,
            now + self._config.record_ttl,
        )
        if buffer.add(item, now):
            self._sender.wake()
        return item

    async def put_many(self, records: Iterable[ProducerRecord]) -> list[Receipt]:
        """Admit many records, each a (data, partition_key) or (data, partition_key,
        explicit_hash_key) tuple, and return their receipts in the same order.

        One call checks and buffers them all, each record as put() would: same limits, same order
        per key (a key's records land in the order given). A record that breaks a limit does not
        stop the others: its receipt is already failed with a ParamValidationError whose field
        names it (`records[3].partition_key`). When the buffer is full, put_many waits for room
        (`when_full="wait"`) or fails the receipts of the records that found none with
        BufferFullError (`"raise"`); if the producer closes meanwhile, the records not yet admitted
        fail theirs with ProducerClosedError. Raises ProducerClosedError (nothing admitted) when
        called after close. An iterator is drawn to its end before any record is admitted, so one
        that raises admits none. Cancelled while it waits for room, the records admitted before the
        wait are sent as usual and the rest are not admitted. To wait for them all:
        `await asyncio.gather(*receipts, return_exceptions=True)`.
        """
        self._check_open()
        if isinstance(records, str | bytes | bytearray | memoryview) or not isinstance(records, Iterable):
            raise ParamValidationError(
                "records", f"must be an iterable of (data, partition_key) tuples, not {type(records).__name__}"
            )
        if not isinstance(records, list | tuple):
            records = list(records)  # an iterator that raises does so before any record is admitted
        loop = asyncio.get_running_loop()
        buffer = self._buffer
        ttl = self._config.record_ttl
        receipts: list[Receipt] = []
        batch: list[Item] = []
        batch_bytes = 0
        room_records, room_bytes = self._room()
        closed: ProducerClosedError | None = None  # once set, no record more is admitted
        now = self._clock()
        for index, record in enumerate(records):
            if closed is not None:
                receipts.append(Item.refused(loop, closed))
                continue
            if type(record) is tuple and len(record) == 2:
                data, partition_key = record
                explicit_hash_key = None
            else:
                try:
                    data, partition_key, explicit_hash_key = unpack(record, index)
                except ParamValidationError as exc:
                    receipts.append(Item.refused(loop, exc))
                    continue
            try:
                try:
                    data, size, hash_key = self._checks.check(data, partition_key, explicit_hash_key, final=False)
                except Stale:
                    self._admit(batch, now)  # those before it first: a key's order holds
                    batch, batch_bytes = [], 0
                    await self._limits.refresh()
                    closed = self._closed_now()
                    if closed is not None:
                        receipts.append(Item.refused(loop, closed))
                        continue
                    data, size, hash_key = self._checks.check(data, partition_key, explicit_hash_key, final=True)
                    now = self._clock()
                    room_records, room_bytes = self._room()
            except ParamValidationError as exc:
                receipts.append(Item.refused(loop, exc.within(f"records[{index}]")))
                continue
            if len(batch) >= room_records or batch_bytes + size > room_bytes:
                self._admit(batch, now)
                batch, batch_bytes = [], 0
                try:
                    if not buffer.fits(size):
                        await buffer.make_room(size)
                except BufferFullError as exc:
                    receipts.append(Item.refused(loop, exc))
                    continue
                except ProducerClosedError as exc:
                    closed = exc
                    receipts.append(Item.refused(loop, exc))
                    continue
                finally:
                    room_records, room_bytes = self._room()
                now = self._clock()
            item = Item(loop, data, partition_key, explicit_hash_key, hash_key, size, now + ttl)
            batch.append(item)
            batch_bytes += size
            receipts.append(item)
        self._admit(batch, now)
        return receipts

    def _room(self) -> tuple[int, int]:
        """Records and bytes the buffer takes now before it is full."""
        stats = self.stats
        return self._config.max_buffered_records - stats.buffered_records, (
            self._config.max_buffered_bytes - stats.buffered_bytes
        )

    def _closed_now(self) -> ProducerClosedError | None:
        """Why nothing more may be admitted (the producer closed while a put waited), if so."""
        try:
            self._check_open()
        except ProducerClosedError as exc:
            return exc
        return None

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        self._loop = asyncio.get_running_loop()
        return self._loop

    def _check_open(self) -> None:
        supervisor = self._supervisor
        if self._closing or (supervisor is not None and supervisor.done()):
            raise ProducerClosedError(f"the producer of {self.stream_name} is closed")

    def _admit(self, items: list[Item], now: float) -> None:
        if items and self._buffer.add_many(items, now):
            self._sender.wake()

    async def flush(self) -> None:
        """Send everything admitted so far now (no linger) and wait until each has its result."""
        waiting = self._buffer.open_records()
        if not waiting:
            return
        sender = self._sender
        sender.flushing += 1
        sender.wake()
        try:
            await _all_done(waiting)
        finally:
            sender.flushing -= 1


async def _all_done(receipts: Sequence[Receipt]) -> None:
    """Wait until every receipt is resolved, whatever each resolves with."""
    done = asyncio.get_running_loop().create_future()
    remaining = len(receipts)

    def one(_: Receipt) -> None:
        nonlocal remaining
        remaining -= 1
        if not remaining and not done.done():
            done.set_result(None)

    for receipt in receipts:
        receipt.add_done_callback(one)
    try:
        await done
    finally:
        for receipt in receipts:
            receipt.remove_done_callback(one)
