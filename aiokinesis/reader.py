"""ShardReader: every record of one shard, in order, across throttling, expiry and errors.

GetShardIterator once, then GetRecords on each NextShardIterator. The reader paces itself
to the shard's limits (5 calls and 2 MiB a second), backs off its own shard alone when
throttled, replaces an expired iterator right after the last record it delivered (nothing
lost, nothing repeated), retries transient errors, and stops at the shard's end with its
ChildShards. KPL-aggregated records come out as their user records. It owns no tasks.
"""

from __future__ import annotations

import logging
from binascii import a2b_base64
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

from ._generated.errors import ExpiredIteratorException
from ._generated.models import ChildShard, StartingPosition, _de_ChildShard
from ._generated.operations import _GetRecords
from ._protocol import _ts
from .aggregation import MAGIC, deaggregate
from .config import ReaderConfig
from .errors import ProtocolError, ServiceError, TransportError
from .records import ShardRecord

if TYPE_CHECKING:
    from ._generated.operations import Operations
    from ._invoker import Invoker
    from ._runtime import Runtime

log = logging.getLogger("aiokinesis.reader")
_new = object.__new__


@dataclass(slots=True)
class _Page:
    """One GetRecords answer, decoded straight into user records."""

    records: list[ShardRecord]
    size: int
    last_sequence_number: str | None
    next_iterator: str | None
    millis_behind_latest: int | None
    child_shards: list[ChildShard] | None


@dataclass(slots=True, kw_only=True)
class ReadBatch:
    """The user records of one GetRecords, in order, and how far behind the shard's tip they are."""

    shard_id: str
    records: list[ShardRecord]
    millis_behind_latest: int | None


class ShardReader:
    """Reads one shard; `async for record in reader`, or `await reader.next_batch()`.

    After the last record of a closed shard, iteration ends and `child_shards` says which
    shards continue its hash range. Errors that retrying cannot mend (the stream is gone,
    access denied, bad arguments) are raised.
    """

    def __init__(
        self,
        kinesis: Operations,
        invoker: Invoker,
        shard_id: str,
        start: StartingPosition,
        *,
        stream_name: str | None = None,
        stream_arn: str | None = None,
        config: ReaderConfig = ReaderConfig(),  # noqa: B008 - frozen
        runtime: Runtime,
    ) -> None:
        if stream_name is None and stream_arn is None:
            raise ValueError("a ShardReader needs stream_name or stream_arn")
        self.shard_id = shard_id
        self._kinesis = kinesis
        self._invoker = invoker
        self._start = start
        self._stream_name = stream_name
        self._stream_arn = stream_arn
        self._config = config
        self._runtime = runtime
        self._clock = runtime.clock
        self._sleep = runtime.sleep
        self._iterator: str | None = None
        self._next_call = float("-inf")
        self._failures = 0
        self._pending: list[ShardRecord] = []
        self.ended = False
        self.child_shards: list[ChildShard] | None = None
        """Set when the shard has ended: the shards that continue its hash range."""
        self.last_sequence_number: str | None = None
        """The (outer) sequence number of the last record delivered."""
        self.millis_behind_latest: int | None = None
        self.throttles = 0
        self.retries = 0

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> ShardRecord:
        while not self._pending:
            batch = await self.next_batch()
            if batch is None:
                raise StopAsyncIteration
            self._pending = batch.records
            self._pending.reverse()
        return self._pending.pop()

    async def next_batch(self) -> ReadBatch | None:
        """The next non-empty batch of user records, waiting as long as it takes; None at the shard's end."""
        while not self.ended:
            delay = self._next_call - self._clock()
            if delay > 0:
                await self._sleep(delay)
            try:
                if self._iterator is None:
                    self._iterator = await self._get_iterator()
                # The hot path: the invoker directly, with a request that is valid by construction
                # (an iterator Kinesis gave, a checked limit), decoded without typed Records.
                request = {"ShardIterator": self._iterator, "Limit": self._config.limit}
                page = await self._invoker.invoke(_GetRecords, request, self._decode)
            except ExpiredIteratorException:
                log.info("shard %s: iterator expired; resuming after %s", self.shard_id, self.last_sequence_number)
                self._iterator = None
                continue
            except (ServiceError, TransportError) as exc:
                if not exc.retryable:
                    raise
                self._back_off(exc)
                continue
            self._failures = 0
            batch = self._accept(page)
            if batch.records:
                return batch
        return None

    async def _get_iterator(self) -> str:
        start = self._start
        if self.last_sequence_number is not None:
            start = StartingPosition.after_sequence_number(self.last_sequence_number)
        out = await self._kinesis.get_shard_iterator(
            stream_name=self._stream_name,
            stream_arn=self._stream_arn,
            shard_id=self.shard_id,
            shard_iterator_type=start.type,
            starting_sequence_number=start.sequence_number,
            timestamp=start.timestamp,
        )
        if out.shard_iterator is None:
            raise ProtocolError(f"GetShardIterator for {self.shard_id} answered without an iterator")
        return out.shard_iterator

    def _back_off(self, error: ServiceError | TransportError) -> None:
        """Full-jitter exponential backoff for this shard alone; the next call waits it out."""
        self._failures += 1
        base = self._config.throttle_base_delay if error.throttling else self._config.error_base_delay
        delay = self._runtime.backoff(base, self._failures, self._config.max_delay)
        if error.throttling:
            self.throttles += 1
        else:
            self.retries += 1
        log.warning("shard %s: %s; next read in %.2f s", self.shard_id, error, delay)
        self._next_call = self._clock() + delay

    def _decode(self, answer: dict[str, Any]) -> _Page:
        """A GetRecords answer as ShardRecords (KPL aggregates split); runs inside the session's
        parse guard, so a malformed answer becomes a ProtocolError."""
        shard_id = self.shard_id
        out: list[ShardRecord] = []
        size = 0
        sequence = None
        for wire in answer["Records"]:
            data = a2b_base64(wire["Data"])
            size += len(data)
            sequence = wire["SequenceNumber"]
            stamp = wire.get("ApproximateArrivalTimestamp")
            arrival = None if stamp is None else _ts(stamp)
            inner = deaggregate(data) if data[:4] == MAGIC else None
            if inner is None:
                item = _new(ShardRecord)
                item.data = data
                item.partition_key = wire.get("PartitionKey") or ""
                item.sequence_number = sequence
                item.sub_sequence_number = 0
                item.approximate_arrival_timestamp = arrival
                item.shard_id = shard_id
                item.explicit_hash_key = None
                item.aggregated = False
                out.append(item)
                continue
            for sub, user in enumerate(inner):
                item = _new(ShardRecord)
                item.data = user.data
                item.partition_key = user.partition_key
                item.sequence_number = sequence
                item.sub_sequence_number = sub
                item.approximate_arrival_timestamp = arrival
                item.shard_id = shard_id
                item.explicit_hash_key = user.explicit_hash_key
                item.aggregated = True
                out.append(item)
        children = answer.get("ChildShards")
        return _Page(
            out,
            size,
            sequence,
            answer.get("NextShardIterator"),
            answer.get("MillisBehindLatest"),
            None if children is None else [_de_ChildShard(child) for child in children],
        )

    def _accept(self, page: _Page) -> ReadBatch:
        config = self._config
        self._iterator = page.next_iterator
        self.millis_behind_latest = page.millis_behind_latest
        if page.next_iterator is None:
            self.ended = True
            self.child_shards = page.child_shards or []
        if page.last_sequence_number is not None:
            self.last_sequence_number = page.last_sequence_number
        wait = max(config.min_interval, page.size / config.read_bytes_per_second)
        if page.last_sequence_number is None and not page.millis_behind_latest:
            wait = max(wait, config.idle_interval)
        self._next_call = self._clock() + wait
        return ReadBatch(shard_id=self.shard_id, records=page.records, millis_behind_latest=page.millis_behind_latest)
