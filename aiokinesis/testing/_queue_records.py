"""A queue's records: which are visible, in flight or dead letters; their deliveries and handles.

A queue keeps no copy of the stream: it walks each shard's records from a frontier (the first
record it has never delivered) and keeps a `Delivery` only for records received and not yet
acknowledged. The next records to receive are the visible ones with the lowest sequence numbers,
across shards (AWS promises no order: "records are not necessarily received in the order they
were written"; FIFO by sequence is the simplest faithful model). A record is delivered as the
stream holds it: a KPL aggregate stays whole (AWS: Kinesis "does not inspect, interpret, or
change the data"), and its RecordId is its sequence number, the same in every queue of the stream.

Time is the backend's clock, applied lazily (`settle`): a visibility that has passed makes the
record visible again, or a dead letter once it was received MaxReceiveCount times (TargetType
BUILT_IN); records past the stream's retention leave the queue.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass, field

from ._state import Shard, StoredRecord, Stream
from ._tokens import ReceiptState

VISIBILITY_TIMEOUT = 30
"""AWS's default visibility timeout of a queue, in seconds."""
MAX_RECEIVE_COUNT = 6
"""AWS's default MaxReceiveCount (dead-letter handling is on by default)."""


@dataclass(slots=True)
class Delivery:
    """A record received and not acknowledged: in flight while `visible_at` is ahead of the clock."""

    record: StoredRecord
    first_receive: float
    receive_count: int = 0
    visible_at: float = 0.0
    handles: set[int] = field(default_factory=set)
    """The delivery serials whose receipt handles are valid now (two after a duplicate delivery)."""
    dead: bool = False


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why one entry of a batch failed: its ErrorCode and ErrorMessage."""

    code: str
    message: str


@dataclass(eq=False)
class Queue:
    """One queue on one stream, and the delivery state of its records."""

    queue_id: str
    name: str
    arn: str
    region: str
    created: float
    stream: Stream
    start_type: str
    start_timestamp: float | None
    """AT_TIMESTAMP: records that arrived at or after it; else None."""
    effective_start: float
    """The effective starting position's time, as DescribeQueue reports it once ACTIVE."""
    status: str = "ACTIVE"
    visibility: int = VISIBILITY_TIMEOUT
    max_receive_count: int | None = MAX_RECEIVE_COUNT
    """None: TargetType NONE, no dead letters."""
    tags: dict[str, str] = field(default_factory=dict)
    policy: str | None = None
    """Its resource-based policy (PutResourcePolicy), as given."""
    frontier: dict[str, int] = field(default_factory=dict)
    """Per shard id, the position (see Shard.base) of its first record never delivered (a shard
    opened later: 0; one that retention passed: the oldest kept)."""
    deliveries: dict[int, Delivery] = field(default_factory=dict)
    """By sequence number."""

    def settle(self, now: float) -> None:
        """Apply the clock: records past retention leave; passed visibilities end (maybe in dead letters)."""
        cutoff = self._cutoff(now)
        for sequence, delivery in list(self.deliveries.items()):
            if delivery.record.arrival <= cutoff:
                del self.deliveries[sequence]
                continue
            if delivery.handles and delivery.visible_at <= now:
                delivery.handles.clear()
            if not delivery.handles and not delivery.dead and self.max_receive_count is not None:
                delivery.dead = delivery.receive_count >= self.max_receive_count

    def expire_all(self, now: float) -> None:
        """Every record in flight becomes visible now (the EXPIRED_RECEIPT_HANDLE fault)."""
        for delivery in self.deliveries.values():
            if delivery.handles:
                delivery.visible_at = min(delivery.visible_at, now)
        self.settle(now)

    def choose(self, now: float, limit: int, *, dead: bool) -> list[Delivery]:
        """The next visible records to receive, lowest sequence first (fresh ones get a Delivery)."""
        self.settle(now)
        visible = sorted(
            (d for d in self.deliveries.values() if d.dead == dead and not d.handles and d.visible_at <= now),
            key=lambda d: d.record.sequence,
        )
        if dead:
            return visible[:limit]
        chosen: list[Delivery] = []
        redeliveries = ((d.record.sequence, d, "") for d in visible)
        merged = heapq.merge(redeliveries, *self._fresh(now), key=lambda item: item[0])
        for _, delivery, shard_id in merged:
            if len(chosen) >= limit:
                break
            if shard_id:  # a fresh record: from now on the queue tracks it
                self.frontier[shard_id] = self.frontier.get(shard_id, 0) + 1
                self.deliveries[delivery.record.sequence] = delivery
            chosen.append(delivery)
        return chosen

    def in_flight(self, now: float, *, dead: bool) -> Delivery | None:
        """The oldest record in flight (for the DUPLICATE_DELIVERY fault), if any."""
        self.settle(now)
        flying = [d for d in self.deliveries.values() if d.dead == dead and d.handles and d.visible_at > now]
        return min(flying, key=lambda d: d.record.sequence, default=None)

    def find(self, state: ReceiptState | None, now: float, *, dead: bool) -> Delivery | Refusal:
        """The delivery a receipt handle names, if it is still valid; else why not."""
        self.settle(now)
        if state is None or state.queue_id != self.queue_id:
            return Refusal("InvalidArgumentException", "The receipt handle is not valid for this queue.")
        if state.dead_letter != dead:
            wanted = "a dead-letter" if dead else "a ReceiveQueueRecords"
            return Refusal("InvalidArgumentException", f"The receipt handle is not {wanted} receipt handle.")
        delivery = self.deliveries.get(state.sequence)
        if delivery is None:
            return Refusal(
                "ResourceNotFoundException",
                f"Record {state.sequence} is no longer in the queue (acknowledged, or past the stream's retention).",
            )
        if state.serial not in delivery.handles or delivery.dead != dead:
            return Refusal(
                "InvalidArgumentException",
                "The receipt handle has expired: its visibility timeout passed, or the record was received again.",
            )
        return delivery

    def _cutoff(self, now: float) -> float:
        """Records that arrived at or before this are past the stream's retention."""
        return now - self.stream.retention_seconds

    def _fresh(self, now: float) -> list[Iterator[tuple[int, Delivery, str]]]:
        """Per shard, its records never delivered, in order, past retention and the start skipped."""
        cutoff = self._cutoff(now)
        since = self.start_timestamp

        def walk(shard: Shard) -> Iterator[tuple[int, Delivery, str]]:
            shard_id = shard.shard_id
            while (index := max(self.frontier.get(shard_id, 0), shard.base)) < shard.end:
                record = shard.records[index - shard.base]
                if record.arrival <= cutoff or (since is not None and record.arrival < since):
                    self.frontier[shard_id] = index + 1  # never to be delivered
                    continue
                self.frontier[shard_id] = index  # past what retention dropped: choose() counts on from here
                yield record.sequence, Delivery(record, first_receive=now), shard_id
                if self.frontier.get(shard_id, 0) == index:
                    return  # not taken: the merge stopped here

        live = {shard.shard_id for shard in self.stream.shards}
        for gone in self.frontier.keys() - live:  # shards retention removed
            del self.frontier[gone]
        return [walk(shard) for shard in self.stream.shards]
