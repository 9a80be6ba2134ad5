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

from ._produce_model import MIB, Item, Lane


class _Budget:
    """One shard's two buckets (records, bytes), refilled from the time each take runs at: a
    token bucket each, as _buckets.TokenBucket, without a clock read per record."""

    __slots__ = ("bytes", "last", "records")

    def __init__(self, records: float, volume: float, now: float) -> None:
        self.records = records
        self.bytes = volume
        self.last = now


class ShardPacer:
    """Admits units to shards within their rates, in the order the rates first refused them."""

    def __init__(self, share: float) -> None:
        self._records_rate = 1000 * share
        self._bytes_rate = MIB * share
        """Each a second's worth: also what the bucket holds at most."""
        self._budgets: dict[str, _Budget] = {}
        self._turns: dict[str, tuple[Lane, Item]] = {}
        """Per shard, the unit (its lane and head record) whose turn it is."""

    @property
    def holding(self) -> bool:
        """Whether some shard's rate refused a unit that still waits for its turn."""
        return bool(self._turns)

    def admit(self, shard_id: str, lane: Lane, head: Item, size: int, now: float) -> bool:
        """Whether the unit headed by `head` may go to the shard now (its rate then spent), or must wait."""
        if self._turns:
            return self._admit_in_turn(shard_id, lane, head, size, now)
        budget = self._budgets.get(shard_id)
        if budget is None or budget.last != now:
            budget = self._refilled(shard_id, now)
        # A unit larger than the bucket could ever hold goes once the bucket is full, into debt.
        if budget.records >= 1 and (budget.bytes >= size or budget.bytes >= self._bytes_rate):
            budget.records -= 1
            budget.bytes -= size
            return True
        self._turns[shard_id] = (lane, head)
        return False

    def _admit_in_turn(self, shard_id: str, lane: Lane, head: Item, size: int, now: float) -> bool:
        """admit() while some shard's turn is held: a unit waiting for its turn goes first."""
        turns = self._turns
        turn = turns.get(shard_id)
        if turn is not None and turn[1] is not head:
            if _still_waiting(turn, now):
                return False
            del turns[shard_id]
        budget = self._budgets.get(shard_id)
        if budget is None or budget.last != now:
            budget = self._refilled(shard_id, now)
        if budget.records >= 1 and (budget.bytes >= size or budget.bytes >= self._bytes_rate):
            budget.records -= 1
            budget.bytes -= size
            turns.pop(shard_id, None)
            return True
        turns.setdefault(shard_id, (lane, head))
        return False

    def _refilled(self, shard_id: str, now: float) -> _Budget:
        """The shard's budget as of `now`: full for a shard not seen before."""
        records_rate = self._records_rate
        bytes_rate = self._bytes_rate
        budget = self._budgets.get(shard_id)
        if budget is None:
            budget = self._budgets[shard_id] = _Budget(records_rate, bytes_rate, now)
            return budget
        elapsed = now - budget.last
        budget.records = min(records_rate, budget.records + elapsed * records_rate)
        budget.bytes = min(bytes_rate, budget.bytes + elapsed * bytes_rate)
        budget.last = now
        return budget


def _still_waiting(turn: tuple[Lane, Item], now: float) -> bool:
    """A turn lapses once its record is no longer waiting at the head of its lane to go: it went
    another way (a spread record to another shard), expired, failed, or waits for a retry."""
    lane, item = turn
    return item.held and lane.head is item and item.not_before <= now
