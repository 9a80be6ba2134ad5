"""The renewer: the leases this worker holds, kept alive, fenced, checkpointed and handed back.

Each held lease is renewed every renew interval (failover_time / 3 - 25 ms), at most one write
of it under way at a time: a renewal and a checkpoint of one lease are conditioned on the same
counter, so they must not race each other. A lease whose renewal is refused is lost at once;
one whose last successful write was sent failover_time ago or more is given up by this worker's
own clock (a hung or failing table must not leave it reading a shard another worker may have
taken). Giving up is reported through `changed`, and the consumer stops the shard.

A lease given up while the table may still name this worker (by its own clock, or refused after
a write whose answer never came, which may have landed one counter on) is kept aside: a clean
close releases it too, conditioned on this worker and the counter it wrote, or the one above if
that write's outcome is unknown, so nothing of a closed worker stays owned by it until it expires.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import LeaseLostError
from ._lease import Lease
from ._store import LeaseStore, Lost

if TYPE_CHECKING:
    from .._metrics import MetricsSink

log = logging.getLogger("aiokinesis.leases")


@dataclass(eq=False, slots=True)
class _Held:
    lease: Lease
    """As this worker's last successful write left it: its counter is the next write's condition."""
    renewed_at: float
    """This worker's clock just before it sent that write."""
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    renewing: bool = False
    unsure: bool = False
    """A write from `lease.counter` is under way, raised or was cancelled: it may have landed, one counter on."""

    def moved_on(self, seen: Lease, me: str) -> bool:
        """A scan shows the lease written since by another (or past any counter this worker wrote)."""
        counter = self.lease.counter
        return seen.counter > counter and (seen.owner != me or seen.counter > counter + int(self.unsure))


class Renewer:
    """The leases one worker holds."""

    def __init__(
        self,
        store: LeaseStore,
        *,
        worker_id: str,
        failover_time: float,
        renew_interval: float,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]],
        changed: Callable[[], None],
        metrics: MetricsSink | None = None,
        stream: str = "",
    ) -> None:
        self._store = store
        self._me = worker_id
        self._failover_time = failover_time
        self._renew_interval = renew_interval
        self._clock = clock
        self._sleep = sleep
        self._changed = changed
        self._held: dict[str, _Held] = {}
        self._dropped: dict[str, _Held] = {}
        """Given up, but the table may still name this worker: a clean close releases them too."""
        self._metrics = metrics
        self._stream = stream

    def add(self, lease: Lease, sent_at: float) -> None:
        """A lease this worker just took, with its clock from before the take was sent."""
        self._held[lease.key] = _Held(lease, sent_at)
        self._dropped.pop(lease.key, None)
        self._report_held()

    def unsure(self, lease: Lease) -> None:
        """A take of `lease` whose answer never came: if it landed, a clean close releases it."""
        if lease.key not in self._held:
            self._dropped[lease.key] = _Held(dataclasses.replace(lease, owner=self._me), self._clock(), unsure=True)

    def _report_held(self) -> None:
        if self._metrics is not None:
            self._metrics.leases_held(self._stream, len(self._held))

    def keys(self) -> list[str]:
        return list(self._held)

    def lease(self, key: str) -> Lease | None:
        held = self._held.get(key)
        return None if held is None else held.lease

    def holds(self, key: str, now: float) -> bool:
        """Held, and renewed less than failover_time ago: no other worker can have taken it yet."""
        held = self._held.get(key)
        return held is not None and now - held.renewed_at < self._failover_time

    def _lose(self, held: _Held, reason: str, *, named: bool) -> None:
        """Give `held` up (not a lease taken again since); `named`: the table may still name this worker."""
        key = held.lease.key
        if self._held.get(key) is not held:
            return
        del self._held[key]
        if named:
            self._dropped[key] = held
        log.info("worker %s lost the lease of %s (counter %d): %s", self._me, key, held.lease.counter, reason)
        if self._metrics is not None:
            self._metrics.lease_lost(self._stream, key)
        self._report_held()
        self._changed()

    def saw(self, leases: list[Lease]) -> None:
        """A scan of the table: a held lease it shows written since this worker's last write, and
        owned by another, was taken (a stale scan shows a lower counter, and is ignored)."""
        seen = {lease.key: lease for lease in leases}
        for key, gone in list(self._dropped.items()):
            lease = seen.get(key)
            if lease is None or gone.moved_on(lease, self._me):
                del self._dropped[key]  # no longer this worker's in the table: nothing to release
        for lease in leases:
            held = self._held.get(lease.key)
            if held is not None and lease.counter > held.lease.counter and lease.owner != self._me:
                self._lose(held, f"the table shows it taken by {lease.owner or 'nobody'}", named=False)

    def _fence(self, now: float) -> None:
        for held in list(self._held.values()):
            if now - held.renewed_at >= self._failover_time:
                self._lose(held, f"not renewed for {self._failover_time:g} s: this worker stops reading it", named=True)

    async def run(self) -> None:
        """Renew every held lease each interval, and give up each one the moment its time is out."""
        next_round = self._clock()
        async with asyncio.TaskGroup() as renewals:
            while True:
                now = self._clock()
                self._fence(now)
                if now >= next_round:
                    next_round = now + self._renew_interval
                    for key, held in self._held.items():
                        if not held.renewing and not held.lock.locked():
                            held.renewing = True
                            renewals.create_task(self._renew(key, held), name=f"aiokinesis-renew-{key}")
                deadlines = [held.renewed_at + self._failover_time for held in self._held.values()]
                wake = min([next_round, *deadlines])
                await self._sleep(max(wake - self._clock(), 0.001))

    async def _renew(self, key: str, held: _Held) -> None:
        try:
            async with held.lock:
                if self._held.get(key) is not held:
                    return
                sent = self._clock()
                try:
                    result = await self._written(held, self._store.renew(held.lease))
                except Exception as exc:
                    log.warning("worker %s: renewing the lease of %s failed: %r", self._me, key, exc)
                    return
                if isinstance(result, Lost):
                    self._lose(held, "its renewal was refused: another worker took it", named=held.unsure)
                    return
                if self._held.get(key) is held:
                    held.renewed_at = sent
        finally:
            held.renewing = False

    async def _written(self, held: _Held, write: Awaitable[Lease | Lost]) -> Lease | Lost:
        """The answer of a write of `held`, whose lease it updates, also if it was given up
        meanwhile (a release needs the counter). Unsure while under way, and after it if it
        raised or was cancelled; a refusal leaves it as it was (that write did not land)."""
        before, held.unsure = held.unsure, True
        result = await write
        if isinstance(result, Lease):
            held.lease, held.unsure = result, False
        else:
            held.unsure = before
        return result

    async def checkpoint(self, key: str, checkpoint: str, sub_sequence_number: int) -> Lease:
        """Write the lease's checkpoint, fenced; LeaseLostError if this worker no longer holds it."""
        held = self._held.get(key)
        self._check(key, held)
        assert held is not None
        async with held.lock:
            self._check(key, held)
            sent = self._clock()
            result = await self._written(held, self._store.checkpoint(held.lease, checkpoint, sub_sequence_number))
            if isinstance(result, Lost):
                self._lose(held, "its checkpoint was refused: another worker took it", named=held.unsure)
                raise LeaseLostError(key, "another worker took it (its counter moved on); nothing was written")
            if self._held.get(key) is held:
                held.renewed_at = sent
            return result

    def _check(self, key: str, held: _Held | None) -> None:
        if held is None or self._held.get(key) is not held:
            raise LeaseLostError(key, "this worker does not hold it; nothing was written")
        if self._clock() - held.renewed_at >= self._failover_time:
            self._lose(held, f"not renewed for {self._failover_time:g} s: this worker stops reading it", named=True)
            raise LeaseLostError(key, f"not renewed for {self._failover_time:g} s; nothing was written")

    async def release(self, key: str) -> Lease | None:
        """Hand the lease back (owner removed) so another worker takes it at once; the released lease, if any."""
        held = self._held.pop(key, None)
        if held is None:
            return None
        self._report_held()
        return await self._hand_back(held, given_up=False)

    async def release_all(self) -> None:
        """Release every held lease, and every one given up that the table may still name this worker for."""
        dropped, self._dropped = list(self._dropped.values()), {}
        async with asyncio.TaskGroup() as releases:
            for key in list(self._held):
                releases.create_task(self.release(key), name=f"aiokinesis-release-{key}")
            for held in dropped:
                releases.create_task(self._hand_back(held, given_up=True), name=f"aiokinesis-release-{held.lease.key}")

    async def _hand_back(self, held: _Held, *, given_up: bool) -> Lease | None:
        """Release at the counter this worker last wrote, then, if its last write's outcome is
        unknown, at the one above (that write landed), each conditioned on this worker as owner:
        never another worker's lease. A refusal means another worker took it. (At the one above,
        a restart under the same fixed worker_id that took it from that counter loses it, as to
        a steal: its renewals and checkpoints are refused from then on.)"""
        key = held.lease.key
        async with held.lock:
            tries = [held.lease]
            if held.unsure:
                tries.append(dataclasses.replace(held.lease, counter=held.lease.counter + 1))
            for lease in tries:
                try:
                    result = await self._store.release(lease)
                except Exception as exc:
                    log.warning(
                        "worker %s: releasing the lease of %s failed (it expires instead): %r", self._me, key, exc
                    )
                    return None
                if isinstance(result, Lease):
                    log.info("worker %s released the lease of %s (counter %d)", self._me, key, result.counter)
                    return result
        log.log(
            logging.DEBUG if given_up else logging.INFO,
            "worker %s lost the lease of %s before releasing it",
            self._me,
            key,
        )
        return None
