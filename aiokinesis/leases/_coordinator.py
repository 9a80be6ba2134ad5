"""LeaseCoordinator: the ShardStore of a consumer that shares its stream with other workers.

Three small actors do the work and talk only through the lease table (and this worker's view
of it): the renewer keeps the held leases alive and fences this worker off those it cannot
renew; the taker takes this worker's share; the shard syncer creates leases for shards that
have none and deletes finished ones. The coordinator answers the consumer from what they hold:
a shard is readable while its lease is held and renewed in time and its parents are done.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING

from .._generated.models import ShardIteratorType, StartingPosition
from .._shardstore import Holding, ShardInfo, ShardStart
from ..errors import LeaseLostError
from ._lease import AT_TIMESTAMP, LATEST, SHARD_END, TRIM_HORIZON, is_sequence_number, names_a_shard
from ._renewer import Renewer
from ._syncer import ShardSyncer
from ._taker import Taker
from ._view import TableView

if TYPE_CHECKING:
    from .._metrics import MetricsSink
    from .._runtime import Runtime
    from ..config import ConsumerConfig
    from ._store import LeaseStore

log = logging.getLogger("aiokinesis.leases")

_SENTINEL_OF: dict[str, str] = {
    ShardIteratorType.TRIM_HORIZON: TRIM_HORIZON,
    ShardIteratorType.LATEST: LATEST,
    ShardIteratorType.AT_TIMESTAMP: AT_TIMESTAMP,
}


def default_worker_id() -> str:
    """Unique per consumer: host, process and a random suffix (two consumers of a process differ too)."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(4)}"


def _nothing() -> None:
    pass


class LeaseCoordinator:
    """Which shards this worker reads, decided with the other workers through a LeaseStore."""

    def __init__(
        self,
        leases: LeaseStore,
        *,
        worker_id: str,
        start: StartingPosition,
        config: ConsumerConfig,
        runtime: Runtime,
        metrics: MetricsSink | None = None,
        stream: str = "",
    ) -> None:
        sentinel = _SENTINEL_OF.get(start.type)
        if sentinel is None:
            raise ValueError(f"a consumer with leases starts at TRIM_HORIZON, LATEST or AT_TIMESTAMP, not {start.type}")
        self.worker_id = worker_id
        self._store = leases
        self._start = start
        self._clock = runtime.clock
        self._runtime = runtime
        self._scan_interval = config.lease_scan_interval
        self._balance_interval = config.lease_balance_interval
        self._view = TableView(config.failover_time)
        self._renewer = Renewer(
            leases,
            worker_id=worker_id,
            failover_time=config.failover_time,
            renew_interval=config.lease_renew_interval,
            clock=runtime.clock,
            sleep=runtime.sleep,
            changed=self._notify,
            metrics=metrics,
            stream=stream,
        )
        self._taker = Taker(
            leases,
            self._view,
            self._renewer,
            worker_id=worker_id,
            max_leases=config.max_leases,
            max_steal=config.max_leases_to_steal,
            clock=runtime.clock,
            rand=runtime.rand,
            metrics=metrics,
            stream=stream,
        )
        self._syncer = ShardSyncer(leases, self._view, worker_id=worker_id, start=sentinel, clock=runtime.clock)
        self._changed: Callable[[], None] = _nothing
        self._wake = asyncio.Event()
        self._synced = False
        self._prepared = False
        self._preparing = asyncio.Lock()

    def __repr__(self) -> str:
        return f"<LeaseCoordinator {self.worker_id} holding {len(self._renewer.keys())}>"

    def _notify(self) -> None:
        self._changed()

    # -- lifecycle --------------------------------------------------------------------------

    async def _ready(self) -> None:
        """The table made ready once, by whichever of run() and the first sync comes first."""
        async with self._preparing:
            if not self._prepared:
                await self._store.prepare()
                self._prepared = True

    async def run(self) -> None:
        await self._ready()
        async with asyncio.TaskGroup() as actors:
            actors.create_task(self._renewer.run(), name=f"aiokinesis-lease-renewer-{self.worker_id}")
            actors.create_task(self._take_rounds(), name=f"aiokinesis-lease-taker-{self.worker_id}")

    async def _take_rounds(self) -> None:
        """A take round at once, then one every scan interval, every fourth a balance round (the
        only ones that steal), and one as soon as this worker finished a shard or created leases."""
        balanced_at = float("-inf")
        while True:
            self._wake.clear()
            now = self._clock()
            # Half a scan of slack: a round that wakes a little late still balances on schedule.
            balance = now - balanced_at >= self._balance_interval - self._scan_interval / 2
            if balance:
                balanced_at = now
            try:
                if await self._taker.round(may_steal=balance):
                    self._changed()
            except Exception as exc:
                log.warning(
                    "worker %s: the take round failed (next in %g s): %r", self.worker_id, self._scan_interval, exc
                )
            await self._runtime.wait(self._wake, self._scan_interval)

    async def close(self) -> None:
        await self._taker.settle()  # a take the closing cut short may have been written: release it too
        await self._renewer.release_all()

    def watch(self, changed: Callable[[], None]) -> None:
        self._changed = changed

    # -- the stream's shards ----------------------------------------------------------------

    async def discovered(self, shards: list[ShardInfo]) -> None:
        """Create leases for listed shards that have none, and delete finished ones. The first
        sync's errors are raised (no table, no work); later ones are logged and tried again."""
        await self._ready()
        try:
            self._view.observe(await self._store.list_leases(), self._clock())
            created = await self._syncer.sync(shards)
            await self._syncer.clean_up()
        except Exception as exc:
            if not self._synced:
                raise
            log.warning("worker %s: shard sync failed (next with the next ListShards): %r", self.worker_id, exc)
            return
        self._synced = True
        if created:
            self._wake.set()

    def shards(self) -> list[ShardInfo]:
        return [
            ShardInfo(lease.key, lease.parents, lease.hash_range)
            for lease in self._view.leases()
            if lease.hash_range is not None and names_a_shard(lease.key)
        ]

    def finished(self, shard_id: str) -> bool:
        return self._view.finished(shard_id)

    def readable(self, shard_ids: list[str]) -> list[str]:
        now = self._clock()
        readable = []
        for key in shard_ids:
            lease = self._renewer.lease(key)
            if lease is not None and self._renewer.holds(key, now) and not self._view.blocked(lease):
                readable.append(key)
        return readable

    def holding(self, shard_id: str) -> Holding:
        lease = self._renewer.lease(shard_id) or self._view.get(shard_id)
        if lease is None:
            return Holding(held=False, owner=None, counter=None)
        return Holding(held=self._renewer.holds(shard_id, self._clock()), owner=lease.owner, counter=lease.counter)

    # -- one shard's progress ---------------------------------------------------------------

    async def start(self, shard_id: str) -> ShardStart | None:
        lease = self._renewer.lease(shard_id)
        if lease is None or not self._renewer.holds(shard_id, self._clock()):
            raise LeaseLostError(shard_id, "this worker no longer holds it")
        if lease.ended:
            return None
        if is_sequence_number(lease.checkpoint):
            checkpoint = lease.checkpoint
            return ShardStart(StartingPosition.at_sequence_number(checkpoint), (checkpoint, lease.sub_sequence_number))
        if lease.checkpoint == LATEST:
            return ShardStart(StartingPosition.latest())
        if lease.checkpoint == AT_TIMESTAMP and self._start.type == ShardIteratorType.AT_TIMESTAMP:
            return ShardStart(self._start)
        return ShardStart(StartingPosition.trim_horizon())  # an instant not configured here: skip nothing

    async def checkpoint(self, shard_id: str, sequence_number: str, sub_sequence_number: int) -> None:
        lease = await self._renewer.checkpoint(shard_id, sequence_number, sub_sequence_number)
        self._view.note(lease, self._clock())

    async def mark_ended(self, shard_id: str, children: list[ShardInfo]) -> None:
        """Create the children's leases, checkpoint SHARD_END, and release the lease: a finished
        shard counts for nobody, and a take round at once takes the children."""
        lease = self._renewer.lease(shard_id)
        if lease is None or not self._renewer.holds(shard_id, self._clock()):
            raise LeaseLostError(shard_id, "this worker no longer holds it; its end was not recorded")
        await self._syncer.create_children(lease, children)
        ended = await self._renewer.checkpoint(shard_id, SHARD_END, 0)
        self._view.note(ended, self._clock())
        released = await self._renewer.release(shard_id)
        if released is not None:
            self._view.note(released, self._clock())
        self._wake.set()
