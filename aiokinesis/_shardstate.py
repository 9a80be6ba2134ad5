"""One shard as the consumer tracks it (ShardState, live) and as `progress()` shows it (ShardProgress, a copy)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._recordsource import RecordSource
    from ._shardstore import Holding
    from .records import ShardRecord


@dataclass(frozen=True, slots=True, kw_only=True)
class ShardProgress:
    """One shard as it was when `consumer.progress()` was called: a copy, so holding it changes nothing."""

    shard_id: str
    parents: tuple[str, ...]
    """The shards it was split or merged from (read to their end before it starts)."""
    hash_range: tuple[int, int]
    """The shard's first and last hash key."""
    started: bool
    """This consumer is reading the shard, or has read it."""
    ended: bool
    """Read to its end and every batch of it processed."""
    records: int
    """Records handed to the user so far (those still buffered included)."""
    millis_behind_latest: int | None
    """The last read's MillisBehindLatest: how far it is behind the shard's tip."""
    record_age: float | None
    """Seconds since the newest record handed out arrived in the stream (None before the first)."""
    records_per_second: float
    """Records handed out per second since the shard started."""
    throttles: int
    """Calls for the shard (GetRecords, or SubscribeToShard with enhanced fan-out) refused as throttled."""
    retries: int
    """Calls for the shard retried after a transient error."""
    pending: int
    """Batches handed out (or buffered) and not yet processed."""
    checkpointed: tuple[str, int] | None
    """(sequence number, sub-sequence) of the last checkpoint this consumer wrote for the shard."""
    held: bool
    """This worker may read the shard now (always, without leases)."""
    owner: str | None
    """The worker the shard's lease names, as this worker last saw it (None: free, or no leases)."""
    lease_counter: int | None
    """The lease's counter, its fencing token, as last seen (None without leases)."""


@dataclass(eq=False, slots=True)
class ShardState:
    """One shard's live state inside the consumer; `progress()` hands out ShardProgress copies of it."""

    shard_id: str
    parents: tuple[str, ...]
    hash_range: tuple[int, int]
    started: bool = False
    ended: bool = False
    generation: int = 0
    """Moves on when the store takes the shard away: batches of an older generation are void."""
    task: asyncio.Task[None] | None = None
    source: RecordSource | None = None
    records: int = 0
    started_at: float = 0.0
    last_arrival: float | None = None
    outstanding: int = 0
    drained: asyncio.Event = field(default_factory=asyncio.Event)
    processed: ShardRecord | None = None
    checkpointed: tuple[str, int] | None = None
    checkpoint_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Held while one of the shard's checkpoints is written: they go to the store in order."""

    def checkpointed_at_or_after(self, position: tuple[str, int]) -> bool:
        """Whether the last checkpoint written is this (sequence, sub-sequence) position or later:
        sequence numbers are decimal strings, compared as numbers."""
        if self.checkpointed is None:
            return False
        sequence, sub = self.checkpointed
        return (int(sequence), sub) >= (int(position[0]), position[1])

    def snapshot(self, now: float, holding: Holding) -> ShardProgress:
        source = self.source
        return ShardProgress(
            shard_id=self.shard_id,
            parents=self.parents,
            hash_range=self.hash_range,
            started=self.started,
            ended=self.ended,
            records=self.records,
            millis_behind_latest=None if source is None else source.millis_behind_latest,
            record_age=None if self.last_arrival is None else max(0.0, now - self.last_arrival),
            records_per_second=self.records / max(1e-9, now - self.started_at) if self.started_at else 0.0,
            throttles=0 if source is None else source.throttles,
            retries=0 if source is None else source.retries,
            pending=self.outstanding,
            checkpointed=self.checkpointed,
            held=holding.held,
            owner=holding.owner,
            lease_counter=holding.counter,
        )
