"""The taker: scans the table and takes this worker's share of the leases (KCL 2.x's balancing).

Every round: workers = the distinct owners of live leases, plus this one; target = ceil(leases /
workers) (1 if there are at least as many workers as leases), capped by max_leases. A worker
below target takes available leases (free, or expired: unrenewed for failover_time), the ones
untouched longest first, ties broken at random so workers starting together spread out. When
none are available, a balance round steals from the single most loaded worker, and only if it
is above target (or at target while this worker is two or more short), at most
max_leases_to_steal at a time. Finished leases (SHARD_END) and children whose parents are still
being read count for nobody and are never taken: a child is taken once its parents are done.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._lease import Lease, names_a_shard
from ._store import LeaseStore, Lost

if TYPE_CHECKING:
    from .._metrics import MetricsSink
    from ._renewer import Renewer
    from ._view import TableView

log = logging.getLogger("aiokinesis.leases")


@dataclass(frozen=True, slots=True)
class Take:
    """A lease to take, as last seen (its counter is the take's condition)."""

    lease: Lease
    stolen_from: str | None = None
    """The live worker it is stolen from; None for a free or expired lease."""


def choose(
    view: TableView,
    *,
    me: str,
    held: Collection[str],
    now: float,
    max_leases: int | None,
    max_steal: int,
    may_steal: bool,
    rand: Callable[[], float],
) -> list[Take]:
    """The leases this worker should take in this round, given the table as last scanned."""
    active = [
        lease for lease in view.leases() if names_a_shard(lease.key) and not lease.ended and not view.blocked(lease)
    ]
    expired = {lease.key for lease in active if view.expired(lease, now)}
    loads = Counter(
        lease.owner
        for lease in active
        if lease.owner is not None and lease.owner != me and lease.key not in expired and lease.key not in held
    )
    workers = len(loads) + 1
    target = 1 if workers >= len(active) else math.ceil(len(active) / workers)
    if max_leases is not None:
        target = min(target, max_leases)
    mine = sum(1 for lease in active if lease.key in held)
    needed = target - mine
    if needed <= 0:
        return []
    available = [lease for lease in active if lease.key not in held and (lease.owner is None or lease.key in expired)]
    if available:
        order = {lease.key: (view.moved_at(lease.key), rand()) for lease in available}
        available.sort(key=lambda lease: order[lease.key])
        return [Take(lease) for lease in available[:needed]]
    if not may_steal or not loads or max_steal == 0:
        return []
    most = max(loads.values())
    victim = min((owner for owner, count in loads.items() if count == most), key=lambda _: rand())
    if most > target:
        count = min(max_steal, needed, most - target)
    elif most == target and needed > 1:
        count = 1  # 4/4/2 would stay so for ever: make it 4/3/3
    else:
        return []
    theirs = sorted(
        (lease for lease in active if lease.owner == victim and lease.key not in expired),
        key=lambda _: rand(),
    )
    return [Take(lease, stolen_from=victim) for lease in theirs[:count]]


class Taker:
    """Runs take rounds for one worker and hands what it takes to the renewer."""

    def __init__(
        self,
        store: LeaseStore,
        view: TableView,
        renewer: Renewer,
        *,
        worker_id: str,
        max_leases: int | None,
        max_steal: int,
        clock: Callable[[], float],
        rand: Callable[[], float],
        metrics: MetricsSink | None = None,
        stream: str = "",
    ) -> None:
        self._store = store
        self._view = view
        self._renewer = renewer
        self._me = worker_id
        self._max_leases = max_leases
        self._max_steal = max_steal
        self._clock = clock
        self._rand = rand
        self._metrics = metrics
        self._writing: dict[asyncio.Future[Lease | Lost], tuple[Lease, float]] = {}
        """Takes being written, with the lease taken and when each was sent: see settle()."""
        self._stream = stream

    async def round(self, *, may_steal: bool) -> int:
        """Scan the table and take this worker's share; how many leases it took."""
        leases = await self._store.list_leases()
        self._view.observe(leases, self._clock())
        self._renewer.saw(leases)
        takes = choose(
            self._view,
            me=self._me,
            held=self._renewer.keys(),
            now=self._clock(),
            max_leases=self._max_leases,
            max_steal=self._max_steal,
            may_steal=may_steal,
            rand=self._rand,
        )
        taken = 0
        for take in takes:
            if await self._take(take):
                taken += 1
        return taken

    async def settle(self) -> None:
        """Wait for takes still being written (their round was cancelled: the worker is closing) and
        hold what they won, so that closing releases those leases too instead of leaving them to
        expire: a take cancelled while its answer was on the way may well have been written."""
        for write, (lease, sent) in list(self._writing.items()):
            try:
                result = await write
            except Exception:  # no answer: if it landed, the close releases it all the same
                self._renewer.unsure(lease)
                continue
            finally:
                self._writing.pop(write, None)
            if isinstance(result, Lease):
                self._renewer.add(result, sent)

    async def _take(self, take: Take) -> bool:
        lease = take.lease
        sent = self._clock()
        # The write goes on if the round is cancelled: settle() then holds what it won.
        write = asyncio.ensure_future(self._store.take(lease, self._me))
        self._writing[write] = lease, sent
        try:
            result = await asyncio.shield(write)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._writing.pop(write, None)
            self._renewer.unsure(lease)  # it may have landed: a clean close releases it then
            log.warning("worker %s: taking the lease of %s failed: %r", self._me, lease.key, exc)
            return False
        self._writing.pop(write, None)
        if isinstance(result, Lost):
            log.debug("worker %s: %s was taken by another worker first", self._me, lease.key)
            return False
        self._view.note(result, self._clock())
        self._renewer.add(result, sent)
        if self._metrics is not None:
            self._metrics.lease_taken(self._stream, lease.key, stolen=take.stolen_from is not None)
        if take.stolen_from is not None:
            log.info(
                "worker %s stole the lease of %s from %s (counter %d)",
                self._me,
                lease.key,
                take.stolen_from,
                result.counter,
            )
        elif lease.owner is not None:
            log.info(
                "worker %s took the expired lease of %s from %s (counter %d)",
                self._me,
                lease.key,
                lease.owner,
                result.counter,
            )
        else:
            log.info("worker %s took the lease of %s (counter %d)", self._me, lease.key, result.counter)
        return True
