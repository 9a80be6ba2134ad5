"""Per-shard pacing of the producer: each shard's share of 1000 records and 1 MiB a second.

A shard's byte bucket holds one second's worth (1 MiB x rate_limit), and a record may be larger
(a stream's max record size goes up to 10 MiB). AWS lets a shard burst to take one while it
averages 1 MiB/s, so a unit larger than the bucket goes once the bucket is full, spending it into
debt that the shard then waits out: over any span T a shard gets at most rate x T + its bucket +
one record, which is AWS's average with its burst.

Fairness: the first unit a shard's rate refuses holds that shard's turn until it goes, and other
units for the shard wait behind it, so a stream of small records cannot keep a large one from ever
seeing a full bucket. The wait is bounded both ways: the holder goes within a second (the bucket
fills from empty in one second), and records behind a large one wait out its debt, at most
(max record size - bucket) / rate seconds, never longer.
"""

from __future__ import annotations

from collections.abc import Callable

from ._buckets import TokenBucket
from ._produce_model import MIB, Item, Lane


class ShardPacer:
    """Admits units to shards within their rates, in the order the rates first refused them."""

    def __init__(self, share: float, clock: Callable[[], float]) -> None:
        self._share = share
        self._clock = clock
        self._buckets: dict[str, tuple[TokenBucket, TokenBucket]] = {}
        self._turns: dict[str, tuple[Lane, Item]] = {}
        """Per shard, the unit (its lane and head record) whose turn it is."""

    def admit(self, shard_id: str, lane: Lane, head: Item, size: int, now: float) -> bool:
        """Whether the unit headed by `head` may go to the shard now (its rate then spent), or must wait."""
        turn = self._turns.get(shard_id)
        if turn is not None and turn[1] is not head:
            if _still_waiting(turn, now):
                return False
            del self._turns[shard_id]
        if self._spend(shard_id, size):
            if turn is not None:
                self._turns.pop(shard_id, None)
            return True
        self._turns.setdefault(shard_id, (lane, head))
        return False

    def _spend(self, shard_id: str, size: int) -> bool:
        buckets = self._buckets.get(shard_id)
        if buckets is None:
            share = self._share
            buckets = (TokenBucket(1000 * share, self._clock), TokenBucket(MIB * share, self._clock))
            self._buckets[shard_id] = buckets
        records, volume = buckets
        # A unit larger than the bucket could ever hold goes once the bucket is full, into debt.
        if not (records.available(1) and volume.available(min(size, volume.capacity))):
            return False
        records.take(1)
        volume.spend(size)
        return True


def _still_waiting(turn: tuple[Lane, Item], now: float) -> bool:
    """A turn lapses once its record is no longer waiting at the head of its lane to go: it went
    another way (a spread record to another shard), expired, failed, or waits for a retry."""
    lane, item = turn
    return not item.future.done() and bool(lane.items) and lane.items[0] is item and item.not_before <= now
