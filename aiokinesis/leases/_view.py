"""This worker's picture of the lease table, with the moment it last saw each lease's counter move.

The table holds no timestamps: workers' clocks disagree. Each worker notes instead, on its own
monotonic clock, when it sees a lease's counter change; a lease whose counter has not moved for
failover_time is expired, its owner presumed dead. A lease first seen owned counts as just
renewed (fresh); one first seen free is available at once (a free lease needs no expiry).
The owner's own deadline is measured from before it sent its last renewal, and the others' from
after they saw it land, so the owner always gives a lease up before anyone may take it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ._lease import Lease


@dataclass(slots=True)
class _Seen:
    lease: Lease
    moved_at: float
    """This worker's clock when it first saw the lease with this counter."""


class TableView:
    """The last lease seen under each key, from whole scans and from this worker's own writes."""

    def __init__(self, failover_time: float) -> None:
        self._failover_time = failover_time
        self._seen: dict[str, _Seen] = {}
        self.scanned = False
        """At least one whole scan was seen: a key missing now means a lease that is gone."""

    def observe(self, leases: Iterable[Lease], now: float) -> None:
        """A whole scan, answered at `now`: keys missing from it are gone."""
        self._seen = {lease.key: self._updated(lease, now) for lease in leases}
        self.scanned = True

    def note(self, lease: Lease, now: float) -> None:
        """One lease as a write (or read) answered it at `now`."""
        self._seen[lease.key] = self._updated(lease, now)

    def forget(self, key: str) -> None:
        self._seen.pop(key, None)

    def _updated(self, lease: Lease, now: float) -> _Seen:
        before = self._seen.get(lease.key)
        if before is None or before.lease.counter != lease.counter:
            return _Seen(lease, now)
        return _Seen(lease, before.moved_at)

    def get(self, key: str) -> Lease | None:
        seen = self._seen.get(key)
        return None if seen is None else seen.lease

    def leases(self) -> list[Lease]:
        return [seen.lease for seen in self._seen.values()]

    def moved_at(self, key: str) -> float:
        """When this worker saw the lease's counter move last (KeyError if it never saw the lease)."""
        return self._seen[key].moved_at

    def expired(self, lease: Lease, now: float) -> bool:
        """Owned, and its counter has not moved for failover_time or longer: its owner is presumed dead."""
        seen = self._seen.get(lease.key)
        return lease.owner is not None and seen is not None and now - seen.moved_at >= self._failover_time

    def finished(self, key: str) -> bool:
        """The shard needs no more reading: its lease is at SHARD_END, or gone (deleted once its
        children had started). Unknown before the first scan."""
        if not self.scanned:
            return False
        seen = self._seen.get(key)
        return seen is None or seen.lease.ended

    def blocked(self, lease: Lease) -> bool:
        """A parent of the shard has a lease not at SHARD_END: the shard must wait (a parent gone does not block)."""
        return any((parent := self._seen.get(key)) is not None and not parent.lease.ended for key in lease.parents)
