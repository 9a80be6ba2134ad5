"""The producer's buffer: admitted records in ordering lanes (_produce_lanes), until each receipt resolves.

Admission waits (or raises) while the buffer is at its limits. Every record leaves through
one release, whatever ends it (sent, failed, expired in its lane, dropped at close), and that
release wakes every put() waiting for room: no path frees space without telling the waiters.
`take` hands the sender the next PutRecords' worth of units, lane by lane, expiring on the way
the records whose time to live ran out; it visits only the lanes in the ready queue, and nothing
counts or scans every lane per record.
"""

from __future__ import annotations

import asyncio
import logging

from ._produce_entries import AGGREGATE_FRAME, entry_for, in_aggregate, plain_entry
from ._produce_lanes import Lanes
from ._produce_metrics import ProduceReport
from ._produce_model import (
    MIB,
    Aggregate,
    BufferFullError,
    Item,
    Lane,
    ProducerClosedError,
    ProducerStats,
    PutResult,
    Unit,
    expired_error,
)
from ._produce_pacing import ShardPacer
from ._produce_shards import ShardChoice
from ._shardmap import ShardMap
from .config import ProducerConfig

log = logging.getLogger("aiokinesis.producer")


class ProduceBuffer:
    """Lanes of admitted records, the receipts not yet resolved, and put() callers waiting for room."""

    def __init__(self, stream_name: str, config: ProducerConfig, stats: ProducerStats) -> None:
        self._stream_name = stream_name
        self._config = config
        self.stats = stats
        self.shards = ShardChoice()
        """The shard each unit is paced on, by the map lanes follow too; replaced only through remap()."""
        self.lanes = Lanes(ordering=config.ordering)
        self._sending: dict[int, list[Unit]] = {}
        """The units of every request under way, by the id of their list."""
        self.pending_since: float | None = None
        """When the oldest record not yet sent started its linger; None when nothing waits."""
        self.aggregation_max_bytes = config.aggregation_max_bytes
        """The largest aggregate: the config's, capped by the stream's max record size (follow)."""
        self.max_batch_bytes = config.max_batch_bytes or 5 * MIB
        """Bytes per PutRecords: the config's, or what the stream allows (follow)."""
        self.aggregate = config.aggregate
        """Whether records are packed into aggregates (lanes are then shards): not on an AUTO stream."""
        self.spread = False
        """The stream places every record itself (AUTO): no unit's shard is predicted, only picked to pace it."""
        self._waiters: list[asyncio.Future[None]] = []
        self._closed = False
        self.report: ProduceReport | None = None
        """Where failed records are counted by code (the client's metrics); None: nowhere."""

    def follow(self, max_record_bytes: int, max_batch_bytes: int, auto: bool) -> None:
        """Follow the stream's limits: build no aggregate or request larger than it takes; on an AUTO
        stream spread every record. Aggregation is chosen once, before the first record (lanes are
        shards then): readers drop an aggregate's records outside the shard it lands on, and an AUTO
        stream may put it on any."""
        self.aggregation_max_bytes = min(self._config.aggregation_max_bytes, max_record_bytes)
        self.max_batch_bytes = max_batch_bytes
        self.spread = auto
        if auto and self.aggregate and not self.stats.buffered_records:
            if self._config.aggregate:
                log.info("%s spreads records itself (AUTO): they are sent without aggregation", self._stream_name)
            self.aggregate = False

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
        key = item.partition_key
        self.lanes.append(key if key is None or not self.aggregate else self._shard_lane(item), item)
        stats = self.stats
        stats.buffered_records += 1
        stats.buffered_bytes += item.size
        # Wake the sending task only when there is something new to decide: the first record
        # starts a linger, and each full batch's worth may be sendable at once. Waking it on
        # every put would make it count ready lanes once per record.
        if self.pending_since is None:
            self.pending_since = now
            return True
        return stats.buffered_records % self._config.max_batch_records == 0

    def add_many(self, items: list[Item], now: float) -> bool:
        """add() for records already counted as fitting together: the counts change once."""
        size = 0
        append = self.lanes.append
        aggregate = self.aggregate
        for item in items:
            key = item.partition_key
            append(key if key is None or not aggregate else self._shard_lane(item), item)
            size += item.size
        stats = self.stats
        before = stats.buffered_records
        stats.buffered_records += len(items)
        stats.buffered_bytes += size
        if self.pending_since is None:
            self.pending_since = now
            return True
        batch = self._config.max_batch_records
        return before // batch != stats.buffered_records // batch

    def _shard_lane(self, item: Item) -> str:
        """With aggregation, a keyed record's lane: its predicted shard ("" when none holds its hash)."""
        return self.shards.map.shard_for(item.hash_key) or ""

    def close(self) -> None:
        """Admit nothing more: every put() waiting for room raises ProducerClosedError."""
        self._closed = True
        self._wake_waiters()

    # -- release: the one way out ----------------------------------------------------------------

    def succeed(self, item: Item, result: PutResult) -> None:
        if self._release(item):
            self.stats.records_put += 1
            self.stats.bytes_put += item.size
            item.resolve(result)

    def landed(self, items: list[Item]) -> None:
        """Resolve records sent alone, each with the shard and sequence number set on it: the
        counts change once for them all."""
        records = size = 0
        for item in items:
            if item.held:  # not released already (fail_all while their request was under way)
                item.held = False
                records += 1
                size += item.size
                item.settle_landed()
        stats = self.stats
        stats.records_put += records
        stats.bytes_put += size
        stats.buffered_records -= records
        stats.buffered_bytes -= size
        if self._waiters:
            self._wake_waiters()

    def fail(self, item: Item, error: BaseException) -> None:
        if item.held:
            log.warning("a record for %s (key %r) was not put: %s", self._stream_name, item.partition_key, error)
        self.drop(item, error)

    def fail_all(self, error: BaseException) -> None:
        """Fail every record whose receipt is still open, in a lane or in flight (the producer is gone)."""
        self.close()
        items = self.open_records()
        self.lanes.clear()
        self._sending.clear()
        self.pending_since = None
        dropped = 0
        for item in items:
            if item.held:
                self.drop(item, error)
                dropped += 1
        if dropped:
            log.warning("%d records for %s were not put: %s", dropped, self._stream_name, error)

    def open_records(self) -> list[Item]:
        """Every admitted record whose receipt is not resolved yet, wherever it is (lane, in flight)."""
        found = list(self.lanes.records())
        found += [item for units in self._sending.values() for unit in units for item in unit.items]
        return [item for item in found if item.held]

    def drop(self, item: Item, error: BaseException) -> None:
        """Fail a record without a log line of its own (the producer is going away)."""
        if not self._release(item):
            return
        self.stats.failed += 1
        if self.report is not None:
            self.report.failed(error)
        item.resolve(error)

    def _release(self, item: Item) -> bool:
        """Take a record out of the counts, once: False if it was already released (a request
        cancelled after fail_all resolved its records), so no count goes below what is held."""
        if not item.held:
            return False
        item.held = False
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
        limit = self._config.max_batch_records
        ready = 0
        for lane in self.lanes.ready:
            head = lane.head
            if head is not None and head.not_before <= now:
                ready += 1 if lane.ordered else lane.count
                if ready >= limit:
                    break
        return ready

    def take(self, now: float, pacer: ShardPacer | None) -> tuple[list[Unit], list[dict[str, str]]]:
        """The next PutRecords' worth of units and their wire entries, in the order lanes became
        ready, within each shard's rate (`pacer`)."""
        config = self._config
        limit = config.max_batch_records
        max_bytes = self.max_batch_bytes
        aggregate = self.aggregate
        lanes = self.lanes
        ready = lanes.ready
        shards = self.shards
        units: list[Unit] = []
        entries: list[dict[str, str]] = []
        kept: list[Lane] = []  # visited, still waiting (a backoff, a shard's rate): they keep their place
        total = taken = 0
        full = False
        while ready and not full:
            lane = ready[0]
            while (head := lane.head) is not None and not (lane.busy and lane.ordered):
                if head.deadline <= now:
                    lane.popleft()
                    lanes.waiting -= 1
                    self.fail(head, expired_error(head))
                    continue
                if head.not_before > now:
                    break
                # Choose and size first; encode (base64, or an aggregate's protobuf and MD5) only
                # once the batch has room and the shard's rate allows it.
                if aggregate and head.partition_key is not None:
                    items, unit_size = self._select(lane)
                else:
                    items, unit_size = None, head.size
                # A unit larger than max_batch_bytes (a large record, up to 10 MiB) goes alone:
                # the stream takes it, and AWS's request limit (10 MiB) holds any one record.
                if units and (len(units) >= limit or total + unit_size > max_bytes):
                    full = True
                    break
                if self.spread or head.partition_key is None:
                    held, shard_id = shards.spread(lane, head, unit_size, pacer, now)
                    if held:
                        break
                    predicted = None
                else:
                    predicted = shards.predict(head.hash_key)
                    if (
                        predicted is not None
                        and pacer is not None
                        and not pacer.admit(predicted, lane, head, unit_size, now)
                    ):
                        break
                    shard_id = predicted
                if items is None or len(items) == 1:
                    lane.popleft()
                    taken += 1
                    head.shard_id = predicted
                    units.append(head)
                    entries.append(plain_entry(head))
                else:
                    for _ in items:
                        lane.popleft()
                    taken += len(items)
                    units.append(Aggregate(lane, items, unit_size, shard_id))
                    entries.append(entry_for(items))
                total += unit_size
                lane.busy = True
            if full:
                break
            ready.popleft()
            if lane.head is not None and not (lane.busy and lane.ordered):
                kept.append(lane)
            else:
                lane.queued = False
        ready.extendleft(reversed(kept))
        lanes.waiting -= taken
        # What stays waits a linger of its own before the next partial batch. What a full request
        # left behind keeps the wait it began at pending_since: it goes as that linger ends, at once
        # if it has (records of unpaced shards waited a linger more per request behind a paced one).
        if not full or self.pending_since is None:
            self.pending_since = now if lanes.waiting else None
        if units:
            self._sending[id(units)] = units
        return units, entries

    def _select(self, lane: Lane) -> tuple[list[Item], int]:
        """The lane's next aggregate: its records and its size as AWS counts it (an upper bound).
        Nothing is encoded yet. Keyless records are never aggregated."""
        head = lane.head
        assert head is not None
        assert head.partition_key is not None
        items: list[Item] = []
        limit = self.aggregation_max_bytes
        size = len(head.partition_key.encode()) + AGGREGATE_FRAME  # the aggregate's own key
        for item in lane:
            grown = size + in_aggregate(item, len(items))
            if items and (grown > limit or item.not_before > head.not_before):
                break
            items.append(item)
            size = grown
        return items, (head.size if len(items) == 1 else size)

    def requeue(self, lane: Lane, items: list[Item], now: float) -> None:
        """Put records back at the head of their lane, in their order, ahead of everything later."""
        if items:
            self.lanes.requeue(lane, items)
            if self.pending_since is None:
                self.pending_since = now

    def done_with(self, units: list[Unit], *, stranded: bool = False) -> None:
        """The units' request is over: their lanes may send again. `stranded`: it ended on an error
        nothing handled (a bug, which stops the producer): its records stay where fail_all finds them."""
        if not stranded:
            del self._sending[id(units)]
        self.lanes.done_with(units)

    def remap(self, shard_map: ShardMap) -> None:
        """Follow a new shard map. With aggregation lanes are shards, so every record moves to the
        lane of its shard in the new map, each lane's order kept. Call only with nothing in flight:
        a busy lane's records would otherwise overtake the unit it waits for."""
        self.shards.follow(shard_map)
        if self.aggregate:
            self.lanes.regroup(self._shard_lane)
