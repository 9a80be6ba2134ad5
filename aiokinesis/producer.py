"""Producer: records batched into PutRecords, paced per shard, retried in order, optionally aggregated.

`put()` validates a record, waits for buffer space (or raises, as configured) and returns its
receipt, a future that resolves to a PutResult or raises why the record was not put.

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
put, flush, validation); _produce_buffer holds the admitted records (lanes, admission, expiry,
release); _produce_sender drains them (PutRecords, results, retries, pacing, the shard map).
"""

from __future__ import annotations

import asyncio
import re
import warnings
from types import TracebackType
from typing import TYPE_CHECKING, Self

from ._produce_buffer import ProduceBuffer
from ._produce_limits import LARGEST_RECORD, StreamLimits
from ._produce_metrics import ProduceReport
from ._produce_model import (
    BufferFullError,
    Item,
    ProducerClosedError,
    ProducerStats,
    PutResult,
    RecordFailedError,
)
from ._produce_sender import Sender
from ._shardmap import hash_key_of
from .config import ProducerConfig
from .errors import ParamValidationError

if TYPE_CHECKING:
    from ._generated.operations import Operations
    from ._invoker import Invoker
    from ._metrics import MetricsSink
    from ._runtime import Runtime

__all__ = ["BufferFullError", "Producer", "ProducerClosedError", "ProducerStats", "PutResult", "RecordFailedError"]

_HASH_KEY = re.compile(r"0|[1-9][0-9]{0,38}")  # ASCII digits: \d also matches "١٢"
_TOP_HASH = 2**128 - 1


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
        self._closed = False
        self._supervisor: asyncio.Task[None] | None = None
        report = None if metrics is None else ProduceReport(metrics, stream_name, config.record_ttl, runtime.clock)
        self._report = self._buffer.report = self._sender.report = report

    # -- lifecycle -------------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self._limits.read()
        await self._sender.open()
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
        data: bytes | bytearray | memoryview,
        partition_key: str | None = None,
        *,
        explicit_hash_key: str | None = None,
    ) -> asyncio.Future[PutResult]:
        """Admit one record to the buffer and return its receipt (await it for the PutResult).

        A bytearray or memoryview (of any item format, contiguous or not) is copied to bytes here:
        what is sent is its bytes as they were at put(). `partition_key` may be None only on a
        stream whose RecordDistributionStrategy is AUTO. Raises ParamValidationError for this
        record alone if it breaks a limit (a record above the stream's known max record size, or
        keyless on a stream that needs keys, first has the stream's limits read again, at most
        once a second), BufferFullError if the buffer is full and `when_full="raise"`,
        ProducerClosedError after close.
        """
        if self._closing or self._closed or (self._supervisor is not None and self._supervisor.done()):
            raise ProducerClosedError(f"the producer of {self.stream_name} is closed")
        try:
            data, size, hash_key = self._check(data, partition_key, explicit_hash_key, final=False)
        except _Stale:
            await self._limits.refresh()  # the stream may allow it now
            data, size, hash_key = self._check(data, partition_key, explicit_hash_key, final=True)
        buffer = self._buffer
        if not buffer.fits(size):
            await buffer.make_room(size)
        future: asyncio.Future[PutResult] = asyncio.get_running_loop().create_future()
        now = self._clock()
        item = Item(data, partition_key, explicit_hash_key, hash_key, size, future, now + self._config.record_ttl)
        if buffer.add(item, now):
            self._sender.wake()
        return future

    async def flush(self) -> None:
        """Send everything admitted so far now (no linger) and wait until each has its result."""
        waiting = list(self._buffer.unresolved)
        if not waiting:
            return
        sender = self._sender
        sender.flushing += 1
        sender.wake()
        try:
            await asyncio.wait(waiting)
        finally:
            sender.flushing -= 1

    def _check(
        self,
        data: bytes | bytearray | memoryview,
        partition_key: str | None,
        explicit_hash_key: str | None,
        *,
        final: bool,
    ) -> tuple[bytes, int, int]:
        """The record's bytes, its size (data and key) and its hash key (-1: not needed), or why
        not; unless `final`, _Stale when only the stream's limits as last read refuse it."""
        if type(data) is not bytes:
            data = _as_bytes(data)
        limits = self._limits
        if partition_key is None:
            if not limits.auto:
                if not final:
                    raise _Stale
                raise ParamValidationError(
                    "partition_key",
                    f"is required: {self.stream_name} routes records by partition key "
                    "(RecordDistributionStrategy USER_PARTITION_KEY); only an AUTO stream takes records without one",
                )
            size = len(data)
        else:
            if not isinstance(partition_key, str):
                raise ParamValidationError("partition_key", f"must be a str, not {type(partition_key).__name__}")
            if not 1 <= len(partition_key) <= 256:
                raise ParamValidationError("partition_key", f"must be 1 to 256 characters, not {len(partition_key)}")
            try:
                size = len(data) + len(partition_key.encode("utf-8"))
            except UnicodeEncodeError as exc:  # a lone surrogate: no UTF-8 for it, nothing Kinesis can route
                raise ParamValidationError(
                    "partition_key", f"is not valid Unicode ({exc.reason} at index {exc.start})"
                ) from None
        if size > limits.max_record_bytes:
            if not final and size <= LARGEST_RECORD:
                raise _Stale
            raise ParamValidationError(
                "data",
                f"{size} bytes with its partition key, above the stream's maximum record size of "
                f"{limits.max_record_bytes} bytes (MaxRecordSizeInKiB {limits.max_record_bytes // 1024})",
            )
        if size > self._config.max_buffered_bytes:  # room for it could never come
            raise ParamValidationError(
                "data",
                f"{size} bytes with its partition key, above ProducerConfig.max_buffered_bytes "
                f"({self._config.max_buffered_bytes}): the buffer could never hold it",
            )
        if explicit_hash_key is None:
            # The shard is only predicted to pace shards or to aggregate by shard (MD5 costs), and
            # never for a stream that places records itself.
            needs_shard = (self._config.rate_limit > 0 or self._config.aggregate) and not limits.auto
            return data, size, hash_key_of(partition_key) if needs_shard and partition_key is not None else -1
        if not isinstance(explicit_hash_key, str):
            raise ParamValidationError(
                "explicit_hash_key", f"must be a str of decimal digits, not {type(explicit_hash_key).__name__}"
            )
        if _HASH_KEY.fullmatch(explicit_hash_key) is None or int(explicit_hash_key) > _TOP_HASH:
            raise ParamValidationError(
                "explicit_hash_key",
                f"{explicit_hash_key[:50]!r} is not a decimal from 0 to 2**128 - 1 without leading zeros",
            )
        return data, size, int(explicit_hash_key) if partition_key is not None and not limits.auto else -1


class _Stale(Exception):
    """Only the stream's limits as last read refuse a record: read them again, then judge."""


def _as_bytes(data: object) -> bytes:
    """bytes for a bytearray or memoryview, copied once at put(): a memoryview of wider items
    (array('H')) or with strides has len() != its size in bytes, and a caller may change
    either after put() returns."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ParamValidationError("data", f"must be bytes, bytearray or memoryview, not {type(data).__name__}")
    try:
        return bytes(data)
    except (ValueError, TypeError) as exc:  # a released memoryview
        raise ParamValidationError("data", f"cannot be read as bytes: {exc}") from None
