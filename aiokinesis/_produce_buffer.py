"""The producer's buffer: admitted records in ordering lanes, until each receipt resolves.

Admission waits (or raises) while the buffer is at its limits. Every record leaves through
one release, whatever ends it (sent, failed, expired in its lane, dropped at close), and that
release wakes every put() waiting for room: no path frees space without telling the waiters.
`take` hands the sender the next PutRecords' worth of units, lane by lane, expiring on the way
the records whose time to live ran out.
"""

from __future__ import annotations

import asyncio
import logging
from binascii import b2a_base64
from collections.abc import Callable, Iterable

from ._produce_model import (
    BufferFullError,
    Item,
    Lane,
    ProducerClosedError,
    ProducerStats,
    PutResult,
    RecordFailedError,
    Unit,
)
from ._shardmap import ShardMap
from .aggregation import UserRecord, aggregate
from .config import ProducerConfig

log = logging.getLogger("aiokinesis.producer")

Pace = Callable[[str, int], bool]
"""Whether a shard's rate allows one more entry of this many bytes now (and, if so, spends it)."""


class ProduceBuffer:
    """Lanes of admitted records, the receipts not yet resolved, and put() callers waiting for room."""

    def __init__(self, stream_name: str, config: ProducerConfig, stats: ProducerStats) -> None:
        self._stream_name = stream_name
        self._config = config
        self.stats = stats
        self.map = ShardMap(())
        """The shard map lanes and predictions follow; replaced only through remap()."""
        self.lanes: dict[str, Lane] = {}
        self.unresolved: dict[asyncio.Future[PutResult], Item] = {}
        """Every admitted record whose receipt is not resolved yet, wherever it is (lane, in flight)."""
        self.pending_since: float | None = None
        """When the oldest record not yet sent started its linger; None when nothing waits."""
        self.aggregation_max_bytes = config.aggregation_max_bytes
        """The largest aggregate: the config's, capped by the stream's max record size (limit_records)."""
        self._waiters: list[asyncio.Future[None]] = []
        self._closed = False

    def limit_records(self, max_record_bytes: int) -> None:
        """Build no aggregate larger than the stream takes (1 MiB unless it is a large-record stream)."""
        self.aggregation_max_bytes = min(self._config.aggregation_max_bytes, max_record_bytes)

    # -- admission -------------------------------------------------------------------------------

    def fits(self, size: int) -> bool:
        stats = self.stats
        config = self._config
        return (
            stats.buffered_records < config.max_buffered_records
            and stats.buffered_bytes + size <= config.max_buffered_bytes
        )

    async def make_room(self, size: int) -> None:
        """Return once a record of `size` bytes fits; raise BufferFullError instead if so configured.

        The caller has checked that `size` alone is within max_buffered_bytes, so room comes
        as soon as enough receipts resolve, or the producer closes (ProducerClosedError).
        """
        if self._config.when_full == "raise":
            stats = self.stats
            raise BufferFullError(
                f"{stats.buffered_records} records / {stats.buffered_bytes} bytes buffered for {self._stream_name} "
                f"(ProducerConfig.max_buffered_records {self._config.max_buffered_records}, "
                f"max_buffered_bytes {self._config.max_buffered_bytes})"
            )
        loop = asyncio.get_running_loop()
        while not self.fits(size):
            if self._closed:
                raise ProducerClosedError(f"the producer of {self._stream_name} closed while put() waited for room")
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self._waiters:  # cancelled before any release woke it
                    self._waiters.remove(waiter)
        if self._closed:
            raise ProducerClosedError(f"the producer of {self._stream_name} closed while put() waited for room")

    def add(self, item: Item, now: float) -> bool:
        """Put an admitted record at the tail of its lane; True when the sender should be woken."""
        config = self._config
        lane_key = item.partition_key if not config.aggregate else (self.map.shard_for(item.hash_key) or "")
        lane = self.lanes.get(lane_key)
        if lane is None:
            lane = self.lanes[lane_key] = Lane(lane_key)
        lane.items.append(item)
        self.unresolved[item.future] = item
        stats = self.stats
        stats.buffered_records += 1
        stats.buffered_bytes += item.size
        # Wake the sending task only when there is something new to decide: the first record
        # starts a linger, and each full batch's worth may be sendable at once. Waking it on
        # every put would make it count ready lanes once per record.
        if self.pending_since is None:
            self.pending_since = now
            return True
        return stats.buffered_records % config.max_batch_records == 0

    def close(self) -> None:
        """Admit nothing more: every put() waiting for room raises ProducerClosedError."""
        self._closed = True
        self._wake_waiters()

    # -- release: the one way out ----------------------------------------------------------------

    def succeed(self, item: Item, result: PutResult) -> None:
        if not self._release(item):
            return
        self.stats.records_put += 1
        self.stats.bytes_put += item.size
        if not item.future.done():
            item.future.set_result(result)

    def fail(self, item: Item, error: BaseException) -> None:
        if item.future in self.unresolved:
            log.warning("a record for %s (key %r) was not put: %s", self._stream_name, item.partition_key, error)
        self.drop(item, error)

    def fail_all(self, error: BaseException) -> None:
        """Fail every record whose receipt is still open, in a lane or in flight (the producer is gone)."""
        self.close()
        self.lanes.clear()
        self.pending_since = None
        dropped = 0
        for item in list(self.unresolved.values()):
            self.drop(item, error)
            dropped += 1
        if dropped:
            log.warning("%d records for %s were not put: %s", dropped, self._stream_name, error)

    def drop(self, item: Item, error: BaseException) -> None:
        """Fail a record without a log line of its own (the producer is going away)."""
        if not self._release(item):
            return
        self.stats.failed += 1
        if not item.future.done():
            item.future.set_exception(error)

    def _release(self, item: Item) -> bool:
        """Take a record out of the counts, once: False if it was already released (a request
        cancelled after fail_all resolved its records), so no count goes below what is held."""
        if self.unresolved.pop(item.future, None) is None:
            return False
        stats = self.stats
        stats.buffered_records -= 1
        stats.buffered_bytes -= item.size
        if self._waiters:
            self._wake_waiters()
        return True

    def _wake_waiters(self) -> None:
        """Every waiter re-checks for itself: waking all cannot lose a wake-up to a cancelled put()."""
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    # -- the sender's side -----------------------------------------------------------------------

    def ready_units(self, now: float) -> int:
        """How many units could go now (stops counting at a full batch): busy lanes wait."""
        config = self._config
        limit = config.max_batch_records
        ready = 0
        for lane in self.lanes.values():
            if lane.items and not (lane.busy and config.ordering) and lane.items[0].not_before <= now:
                ready += 1 if config.ordering else len(lane.items)
                if ready >= limit:
                    break
        return ready

    def take(self, now: float, pace: Pace | None) -> list[Unit]:
        """The next PutRecords' worth of units, in lane order, within each shard's rate (`pace`)."""
        config = self._config
        units: list[Unit] = []
        total = 0
        for lane in list(self.lanes.values()):
            while lane.items and not (lane.busy and config.ordering):
                head = lane.items[0]
                if head.deadline <= now:
                    lane.items.popleft()
                    self.fail(
                        head,
                        RecordFailedError(
                            "Expired: the record's time to live ran out before it could be sent",
                            code="Expired",
                            attempts=head.attempts,
                        ),
                    )
                    continue
                if head.not_before > now:
                    break
                # Choose and size first; encode (base64, or an aggregate's protobuf and MD5) only
                # once the batch has room and the shard's rate allows it.
                items, unit_size, shard_id = self._select(lane)
                # A unit larger than max_batch_bytes (a large record, up to 10 MiB) goes alone:
                # the stream takes it, and AWS's request limit (10 MiB) holds any one record.
                if units and (len(units) >= config.max_batch_records or total + unit_size > config.max_batch_bytes):
                    return units
                if shard_id is not None and pace is not None and not pace(shard_id, unit_size):
                    break
                for _ in items:
                    lane.items.popleft()
                units.append(Unit(lane, items, _entry_for(items), unit_size, shard_id))
                total += unit_size
                lane.busy = True
            if not lane.items and not lane.busy:
                del self.lanes[lane.key]
        # What stays waits a linger of its own before the next partial batch.
        self.pending_since = now if any(lane.items for lane in self.lanes.values()) else None
        return units

    def _select(self, lane: Lane) -> tuple[list[Item], int, str | None]:
        """The lane's next unit: its records, its size as AWS counts it (an upper bound for an
        aggregate) and its predicted shard. Nothing is encoded yet."""
        head = lane.items[0]
        shard_id = self.map.shard_for(head.hash_key) if head.hash_key >= 0 else None
        if not self._config.aggregate:
            return [head], head.size, shard_id
        items: list[Item] = []
        limit = self.aggregation_max_bytes
        size = len(head.partition_key.encode()) + _AGGREGATE_FRAME  # the aggregate's own key
        for item in lane.items:
            grown = size + _in_aggregate(item, len(items))
            if items and (grown > limit or item.not_before > head.not_before):
                break
            items.append(item)
            size = grown
        return items, (head.size if len(items) == 1 else size), shard_id

    def requeue(self, lane: Lane, items: Iterable[Item], now: float) -> None:
        """Put records back at the head of their lane, in their order, ahead of everything later."""
        for item in reversed(list(items)):
            lane.items.appendleft(item)
        if lane.items:
            self.lanes.setdefault(lane.key, lane)
            if self.pending_since is None:
                self.pending_since = now

    def done_with(self, units: list[Unit]) -> None:
        """The units' request is over: their lanes may send again, and an emptied lane goes."""
        lanes = self.lanes
        for unit in units:
            lane = unit.lane
            lane.busy = False
            if not lane.items and lanes.get(lane.key) is lane:
                del lanes[lane.key]

    def remap(self, shard_map: ShardMap) -> None:
        """Follow a new shard map. With aggregation lanes are shards, so every record moves to the
        lane of its shard in the new map, each lane's order kept. Call only with nothing in flight:
        a busy lane's records would otherwise overtake the unit it waits for."""
        self.map = shard_map
        if not self._config.aggregate:
            return
        lanes: dict[str, Lane] = {}
        for old in self.lanes.values():
            for item in old.items:
                key = shard_map.shard_for(item.hash_key) or ""
                lane = lanes.get(key)
                if lane is None:
                    lane = lanes[key] = Lane(key)
                lane.items.append(item)
        self.lanes = lanes


_AGGREGATE_FRAME = 4 + 16  # magic and MD5 around the protobuf


def _varint_size(value: int) -> int:
    return max(1, (value.bit_length() + 6) // 7)


def _in_aggregate(item: Item, index: int) -> int:
    """An upper bound of the bytes the record at `index` adds to an aggregate's protobuf: its
    Record message (a key index and perhaps a hash key index, neither above `index`, then the
    data) framed in the records field, and its key and hash key as new table entries."""
    data = len(item.data)
    key = item.size - data
    index_size = 1 + _varint_size(index)
    message = index_size + 1 + _varint_size(data) + data
    tables = 1 + _varint_size(key) + key
    if item.explicit_hash_key is not None:
        message += index_size
        tables += 2 + len(item.explicit_hash_key)  # at most 39 digits: a one-byte length
    return 1 + _varint_size(message) + message + tables


def _entry_for(items: list[Item]) -> dict[str, str]:
    head = items[0]
    if len(items) == 1:  # a record alone, or an aggregate of one, which the KPL also sends plain
        return _entry(head.data, head.partition_key, head.explicit_hash_key)
    data = aggregate([UserRecord(i.partition_key, i.explicit_hash_key, i.data) for i in items])
    # The first record's hash as ExplicitHashKey: the whole aggregate lands on its shard.
    return _entry(data, head.partition_key, str(head.hash_key))


def _entry(data: bytes, partition_key: str, explicit_hash_key: str | None) -> dict[str, str]:
    entry = {"Data": b2a_base64(data, newline=False).decode(), "PartitionKey": partition_key}
    if explicit_hash_key is not None:
        entry["ExplicitHashKey"] = explicit_hash_key
    return entry
