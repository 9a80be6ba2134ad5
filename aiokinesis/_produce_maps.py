"""The producer's shard maps, apart from its sender: listed at open, listed again after a reshard."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from ._generated.models import ShardFilter, ShardFilterType
from ._shardmap import ShardMap
from .errors import KinesisError
from .paginators import Paginators

if TYPE_CHECKING:
    from ._generated.operations import Operations
    from ._produce_buffer import ProduceBuffer

log = logging.getLogger("aiokinesis.producer")


class ShardMaps:
    """The map a producer's buffer follows, and the hash range of every shard ever listed.

    With aggregation a new map waits in `pending` until nothing is in flight (the sender then calls
    `follow_pending`): lanes are shards, and a record moved while an older one of its key is under
    way would overtake it. Without, lanes are partition keys and the buffer follows it at once.
    """

    def __init__(
        self, kinesis: Operations, stream_name: str, *, buffer: ProduceBuffer, aggregate: bool, wake: Callable[[], None]
    ) -> None:
        self._kinesis = kinesis
        self._stream_name = stream_name
        self._buffer = buffer
        self._aggregate = aggregate
        self._wake = wake
        self._ranges: dict[str, tuple[int, int]] = {}
        """The hash range of every shard ever listed (a shard's range never changes)."""
        self.pending: ShardMap | None = None
        """A newer map the lanes follow once nothing is in flight (aggregation only)."""
        self._refresh_lock = asyncio.Lock()
        self._refreshing = False
        self.group: asyncio.TaskGroup | None = None
        """Where a refresh in the background runs (the sender's); None: no refresh in the background."""

    @property
    def shard_ids(self) -> tuple[str, ...]:
        """The open shards of the map the producer follows now."""
        return (self.pending or self._buffer.shards.map).shard_ids

    async def open(self) -> None:
        """List the open shards before the first put() predicts one."""
        self._buffer.remap(await self._list_shards(only_open=True))

    def follow_pending(self) -> None:
        """Let the buffer follow the pending map (call only with nothing in flight)."""
        if self.pending is not None:
            self._buffer.remap(self.pending)
            self.pending = None

    async def range_of(self, shard_id: str) -> tuple[int, int] | None:
        """The hash range of a shard a unit landed on, listing every shard if it is not known (None:
        listing failed); the map is refreshed either way, as the landing says it is stale."""
        bounds = self._ranges.get(shard_id)
        if bounds is not None:
            self.schedule_refresh()
            return bounds
        try:
            await self._refresh(wanted=shard_id)
        except KinesisError as exc:
            log.warning("could not list the shards of %s: %s", self._stream_name, exc)
        return self._ranges.get(shard_id)

    def schedule_refresh(self) -> None:
        """Refresh the map in the background, unless a refresh is under way already."""
        if self._refreshing or self.group is None:
            return
        self._refreshing = True
        self.group.create_task(self._refresh_in_background(), name=f"aiokinesis-shard-map-{self._stream_name}")

    async def _refresh_in_background(self) -> None:
        try:
            await self._refresh()
        except KinesisError as exc:
            log.warning("could not refresh the shard map of %s: %s", self._stream_name, exc)
        finally:
            self._refreshing = False

    async def _refresh(self, wanted: str | None = None) -> None:
        """List the open shards and follow the new map; if `wanted` is still unknown (it opened and
        closed since), list every shard to learn its range."""
        async with self._refresh_lock:
            if wanted is not None and wanted in self._ranges:
                return  # a listing that finished while this one waited has it
            shard_map = await self._list_shards(only_open=True)
            if wanted is not None and wanted not in self._ranges:
                await self._list_shards(only_open=False)
        if self._aggregate:
            self.pending = shard_map  # lanes follow once nothing is in flight
        else:
            self._buffer.remap(shard_map)  # lanes are partition keys: nothing moves
        self._wake()

    async def _list_shards(self, *, only_open: bool) -> ShardMap:
        shard_filter = ShardFilter(type=ShardFilterType.AT_LATEST) if only_open else None
        pages = Paginators(self._kinesis).list_shards(stream_name=self._stream_name, shard_filter=shard_filter)
        shards = [s async for s in pages]
        for shard in shards:
            hash_range = shard.hash_key_range
            self._ranges[shard.shard_id] = (int(hash_range.starting_hash_key), int(hash_range.ending_hash_key))
        shard_map = ShardMap(shards)
        log.info("shard map of %s: %d open shards", self._stream_name, len(shard_map.shard_ids))
        return shard_map
