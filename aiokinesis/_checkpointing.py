"""The consumer's checkpoint writes, apart from its reading: one shard's at a time, never back."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from .errors import LeaseLostError

if TYPE_CHECKING:
    from ._metrics import MetricsSink
    from ._shardstate import ShardState
    from ._shardstore import ShardStore
    from .records import ShardRecord

log = logging.getLogger("aiokinesis.consumer")


class CheckpointWriter:
    """Writes a stream's shards' checkpoints to its store; `lose` stops a shard the store refused."""

    def __init__(
        self,
        stream_name: str,
        store: ShardStore,
        *,
        lose: Callable[[ShardState], None],
        metrics: MetricsSink | None,
    ) -> None:
        self._stream_name = stream_name
        self._store = store
        self._lose = lose
        self._metrics = metrics

    async def write(self, shard: ShardState, generation: int, record: ShardRecord) -> None:
        """Checkpoint the shard at `record`, as read in its `generation`."""
        # Shielded whole, lock included: a cancelled caller must not let the next write of the
        # shard start while its own is still under way.
        await asyncio.shield(self._write(shard, generation, record))

    async def _write(self, shard: ShardState, generation: int, record: ShardRecord) -> None:
        """Write one shard's checkpoints one at a time, and never back: a user's batch.checkpoint()
        and an auto-checkpoint round can overlap, and an older position must not land last."""
        position = (record.sequence_number, record.sub_sequence_number)
        async with shard.checkpoint_lock:
            if not shard.ended and generation != shard.generation:
                raise LeaseLostError(shard.shard_id, "this worker lost it after handing the batch out")
            skip = "ended" if shard.ended else None
            if skip is None and shard.checkpointed_at_or_after(position):
                skip = f"already at {shard.checkpointed}"
            if skip is not None:
                log.info("shard %s of %s: not checkpointing (%s)", shard.shard_id, self._stream_name, skip)
                return
            try:
                await self._store.checkpoint(shard.shard_id, *position)
            except LeaseLostError:
                if generation == shard.generation:
                    self._lose(shard)
                raise
            if generation == shard.generation:
                shard.checkpointed = position
            if self._metrics is not None:
                self._metrics.consumer_checkpoint(self._stream_name, shard.shard_id)

    async def flush(self, shards: Iterable[ShardState]) -> None:
        """Checkpoint every shard whose processed record is past its checkpoint; a lost one is skipped."""
        for shard in list(shards):
            record = shard.processed
            if record is not None and shard.checkpointed != (record.sequence_number, record.sub_sequence_number):
                try:
                    await self.write(shard, shard.generation, record)
                except LeaseLostError as exc:
                    log.info("shard %s of %s: auto-checkpoint skipped: %s", shard.shard_id, self._stream_name, exc)
