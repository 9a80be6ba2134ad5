"""What the consumer asks of the place that hands it shards and keeps their progress.

One interface, so a consumer that coordinates through local checkpoints (CheckpointStore, here)
and one that shares its shards with other workers through fenced leases run the same fan-in.
A shared store can take a shard away while it is read: the consumer then stops that shard's
source and drops its unprocessed batches without checkpointing them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from ._generated.models import StartingPosition

if TYPE_CHECKING:
    from .checkpoints import Checkpoints


@dataclass(frozen=True, slots=True)
class ShardStart:
    """Where a shard's reading begins."""

    position: StartingPosition
    processed: tuple[str, int] | None = None
    """(sequence number, sub-sequence) of the last record already processed: it and those before
    it are dropped, since a position AT a sequence number inside a KPL aggregate repeats some."""


class ShardStore(Protocol):
    """Which shards this worker may read, where each starts, and how far each is processed."""

    def readable(self, shard_ids: list[str]) -> list[str]:
        """Of these shards (whose parents are finished, or that are being read), those this worker may read now."""
        ...

    def watch(self, changed: Callable[[], None]) -> None:
        """Call `changed()` whenever `readable` may answer otherwise: a shard lost, or one gained."""
        ...

    async def start(self, shard_id: str) -> ShardStart | None:
        """Where to read the shard from; None if it was already read to its end and processed."""
        ...

    async def checkpoint(self, shard_id: str, sequence_number: str, sub_sequence_number: int) -> None:
        """Record that the shard is processed up to and including this record."""
        ...

    async def mark_ended(self, shard_id: str) -> None:
        """Record that every record of the (closed) shard is processed: its children may start."""
        ...


class CheckpointStore:
    """The ShardStore of a consumer that reads its stream alone: every shard is its own, kept in Checkpoints."""

    def __init__(self, checkpoints: Checkpoints, stream_name: str, start: StartingPosition) -> None:
        self._checkpoints = checkpoints
        self._stream_name = stream_name
        self._start = start

    def readable(self, shard_ids: list[str]) -> list[str]:
        return shard_ids

    def watch(self, changed: Callable[[], None]) -> None:
        """Nothing to report: no other worker can take a shard, and every shard is readable."""

    async def start(self, shard_id: str) -> ShardStart | None:
        checkpoint = await self._checkpoints.get(self._stream_name, shard_id)
        if checkpoint is not None and checkpoint.ended:
            return None
        if checkpoint is None or checkpoint.sequence_number is None:
            return ShardStart(self._start)
        sequence = checkpoint.sequence_number
        return ShardStart(StartingPosition.at_sequence_number(sequence), (sequence, checkpoint.sub_sequence_number))

    async def checkpoint(self, shard_id: str, sequence_number: str, sub_sequence_number: int) -> None:
        await self._checkpoints.set(self._stream_name, shard_id, sequence_number, sub_sequence_number)

    async def mark_ended(self, shard_id: str) -> None:
        await self._checkpoints.mark_ended(self._stream_name, shard_id)
