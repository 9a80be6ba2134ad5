"""The shard syncer: keeps the lease table as complete as the stream, and clears finished leases.

- From ListShards, a lease for every shard nobody has, parents before children, so a shard
  created while nobody owned its parent still gets read. A shard whose parent is in the stream
  or the table is a continuation and starts at TRIM_HORIZON (its records follow the parent's);
  one with no known parent starts where the consumer was told to start. A shard one of whose
  descendants already has a lease was read before (its lease deleted since): it gets none.
- At a shard's end, its owner creates the children's leases (TRIM_HORIZON, no owner, parents,
  hash range); a merge child only if its other parent's lease exists too, since a missing parent
  would not block it (shard sync creates it later, after that parent).
- A SHARD_END lease is deleted once every child has checkpointed past its start and its own
  parents are gone, so deletion runs from the oldest shard down and sync never recreates one.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ._lease import TRIM_HORIZON, Lease, is_sequence_number, names_a_shard
from ._store import LeaseStore

if TYPE_CHECKING:
    from .._shardstore import ShardInfo
    from ._view import TableView

log = logging.getLogger("aiokinesis.leases")


def missing(listed: Sequence[ShardInfo], view: TableView, start: str) -> list[Lease]:
    """The leases to create for listed shards that have none, parents first."""
    known = {shard.shard_id: shard for shard in listed}
    children: dict[str, list[str]] = defaultdict(list)
    for shard in listed:
        for parent in shard.parents:
            children[parent].append(shard.shard_id)

    def read_before(shard_id: str) -> bool:
        pending, seen = list(children[shard_id]), set()
        while pending:
            child = pending.pop()
            if child in seen:
                continue
            if view.get(child) is not None:
                return True
            seen.add(child)
            pending.extend(children[child])
        return False

    created: list[Lease] = []
    for shard in _parents_first(listed):
        if view.get(shard.shard_id) is not None or read_before(shard.shard_id):
            continue
        continues = any(parent in known or view.get(parent) is not None for parent in shard.parents)
        lease = Lease(
            key=shard.shard_id,
            checkpoint=TRIM_HORIZON if continues else start,
            parents=shard.parents,
            hash_range=shard.hash_range,
        )
        created.append(lease)
    return created


def _parents_first(listed: Sequence[ShardInfo]) -> list[ShardInfo]:
    known = {shard.shard_id: shard for shard in listed}
    waiting = {shard.shard_id: sum(parent in known for parent in shard.parents) for shard in listed}
    children: dict[str, list[str]] = defaultdict(list)
    for shard in listed:
        for parent in shard.parents:
            if parent in known:
                children[parent].append(shard.shard_id)
    ready = sorted((shard_id for shard_id, count in waiting.items() if count == 0), reverse=True)
    order: list[ShardInfo] = []
    while ready:
        shard_id = ready.pop()
        order.append(known[shard_id])
        for child in children[shard_id]:
            waiting[child] -= 1
            if waiting[child] == 0:
                ready.append(child)
    return order


def finished(view: TableView) -> list[str]:
    """Keys of SHARD_END leases whose children all checkpointed past their start and whose parents are gone."""
    done: list[str] = []
    for lease in view.leases():
        if not lease.ended or not lease.children or not names_a_shard(lease.key):
            continue
        if any(view.get(parent) is not None for parent in lease.parents):
            continue
        kids = [view.get(child) for child in lease.children]
        if all(kid is not None and (kid.ended or is_sequence_number(kid.checkpoint)) for kid in kids):
            done.append(lease.key)
    return done


class ShardSyncer:
    """Creates and deletes leases for one worker; every write is conditional, so workers may race."""

    def __init__(
        self, store: LeaseStore, view: TableView, *, worker_id: str, start: str, clock: Callable[[], float]
    ) -> None:
        self._store = store
        self._view = view
        self._me = worker_id
        self._start = start
        self._clock = clock

    async def sync(self, listed: Sequence[ShardInfo]) -> int:
        """Create the leases the table lacks (after a scan); how many this worker created."""
        created, raced = 0, False
        for lease in missing(listed, self._view, self._start):
            if await self._store.create(lease):
                created += 1
                self._view.note(lease, self._clock())
                log.info("worker %s created the lease of %s at %s", self._me, lease.key, lease.checkpoint)
            else:
                raced = True  # another worker created it first: see what it wrote
        if raced:
            self._view.observe(await self._store.list_leases(), self._clock())
        return created

    async def create_children(self, parent: Lease, children: Sequence[ShardInfo]) -> None:
        """At `parent`'s end: its children's leases, then its childShardIds."""
        for child in children:
            others = [key for key in child.parents if key != parent.key]
            if others and not all([await self._store.get(key) is not None for key in others]):
                log.info(
                    "worker %s: %s waits for shard sync (another parent has no lease yet)", self._me, child.shard_id
                )
                continue
            lease = Lease(key=child.shard_id, parents=child.parents, hash_range=child.hash_range)
            if await self._store.create(lease):
                log.info("worker %s created the lease of %s, child of %s", self._me, lease.key, parent.key)
                self._view.note(lease, self._clock())
        await self._store.set_children(parent.key, tuple(child.shard_id for child in children))

    async def clean_up(self) -> int:
        """Delete finished leases (after a scan); how many this worker deleted."""
        deleted = 0
        for key in finished(self._view):
            if await self._store.delete(key):
                deleted += 1
                self._view.forget(key)
                log.info("worker %s deleted the finished lease of %s", self._me, key)
        return deleted
