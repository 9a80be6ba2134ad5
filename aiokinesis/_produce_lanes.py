"""The producer's lanes: admitted records by what orders them, and the queue of lanes ready to send.

A lane holds the records that must land in order (one partition key, or with aggregation one
predicted shard; the keyless records in a lane of no order). Lanes with records that may go wait
in the ready queue in the order they became ready, so the sender visits only those: a lane with
a unit in flight joins it again when that unit is over. An emptied lane stays for its key's next
record; idle lanes are swept all at once when there are twice as many as the last sweep kept.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator

from ._produce_model import Item, Lane, Unit

_SWEEP_FLOOR = 4096
"""Fewer lanes than this are never swept."""


class Lanes:
    """Every lane by key, the ready queue, and how many records wait in lanes (not taken)."""

    def __init__(self, *, ordering: bool) -> None:
        self._ordering = ordering
        self.by_key: dict[str | None, Lane] = {}
        """By partition key (with aggregation, by predicted shard); None: the keyless records."""
        self.ready: deque[Lane] = deque()
        """Lanes with records and no unit in flight that holds them back, oldest first."""
        self.waiting = 0
        """Records in lanes (admitted, not taken): the taker counts out what it takes."""
        self._sweep_at = _SWEEP_FLOOR

    def append(self, key: str | None, item: Item) -> None:
        """A record at the tail of its lane (made if need be), the lane queued if it may send."""
        lanes = self.by_key
        lane = lanes.get(key)
        if lane is None:
            if len(lanes) >= self._sweep_at:
                self._sweep()
                lanes = self.by_key
            lane = lanes[key] = Lane(key, ordered=self._ordering and key is not None)
        lane.append(item)
        self.waiting += 1
        if not lane.queued and not (lane.busy and lane.ordered):
            lane.queued = True
            self.ready.append(lane)

    def requeue(self, lane: Lane, items: list[Item]) -> None:
        """Put records back at the head of their lane, in their order, ahead of everything later."""
        current = self.by_key.get(lane.key)
        if current is None:
            self.by_key[lane.key] = lane
        elif current is not lane:  # an unordered lane emptied and replaced while these were in flight
            lane = current
        lane.push_front(items)
        self.waiting += len(items)
        if not lane.queued and not (lane.busy and lane.ordered):
            lane.queued = True
            self.ready.appendleft(lane)

    def done_with(self, units: list[Unit]) -> None:
        """The units' request is over: their lanes may send again, joining the ready queue."""
        ready = self.ready
        for unit in units:
            lane = unit.lane
            lane.busy = False
            if lane.head is not None and not lane.queued:
                lane.queued = True
                ready.append(lane)

    def regroup(self, key_of: Callable[[Item], str]) -> None:
        """Move every keyed record to the lane `key_of` names (aggregation's lanes are shards: a new
        shard map moves them), each lane's order kept. Only with nothing in flight."""
        lanes: dict[str | None, Lane] = {}
        for old in self.by_key.values():
            if old.key is None:  # keyless records follow no map
                lanes[None] = old
                continue
            for item in list(old):
                item.next = None
                key = key_of(item)
                lane = lanes.get(key)
                if lane is None:
                    lane = lanes[key] = Lane(key, ordered=self._ordering)
                lane.append(item)
        self.by_key = lanes
        self.ready = deque(lane for lane in lanes.values() if lane.head is not None)
        for lane in lanes.values():
            lane.queued = lane.head is not None

    def clear(self) -> None:
        self.by_key.clear()
        self.ready.clear()
        self.waiting = 0

    def records(self) -> Iterator[Item]:
        """Every record in a lane."""
        for lane in self.by_key.values():
            yield from lane

    def _sweep(self) -> None:
        """Drop every idle lane (no records, nothing in flight)."""
        self.by_key = {key: lane for key, lane in self.by_key.items() if lane.head is not None or lane.busy}
        self._sweep_at = max(_SWEEP_FLOOR, 2 * len(self.by_key))
