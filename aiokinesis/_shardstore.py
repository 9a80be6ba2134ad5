"""What the consumer asks of the place that hands it shards and keeps their progress.

One interface, so a consumer that coordinates through local checkpoints (CheckpointStore, here)
and one that shares its shards with other workers through fenced leases (aiokinesis.leases)
run the same fan-in. A shared store can take a shard away while it is read: the consumer then
stops that shard's source and drops its unprocessed batches without checkpointing them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from ._generated.models import ChildShard, Shard, StartingPosition

if TYPE_CHECKING:
    from .checkpoints import Checkpoints


@dataclass(frozen=True, slots=True)
class ShardStart:
    """Where a shard's reading begins."""

    position: StartingPosition
    processed: tuple[str, int] | None = None
    """(sequence number, sub-sequence) of the last record already processed: it and those before
    it are dropped, since a position AT a sequence number inside a KPL aggregate repeats some."""


@dataclass(frozen=True, slots=True)
class ShardInfo:
    """A shard as ListShards, ChildShards or a lease table describe it."""

    shard_id: str
    parents: tuple[str, ...]
    hash_range: tuple[int, int]
    """The shard's first and last hash key."""

    @classmethod
    def of(cls, shard: Shard | ChildShard) -> ShardInfo:
        """A shard from ListShards (its parent and adjacent parent) or from a parent's ChildShards."""
        if isinstance(shard, Shard):
            parents = tuple(p for p in (shard.parent_shard_id, shard.adjacent_parent_shard_id) if p is not None)
        else:
            parents = tuple(shard.parent_shards)
        keys = shard.hash_key_range
        return cls(shard.shard_id, parents, (int(keys.starting_hash_key), int(keys.ending_hash_key)))


@dataclass(frozen=True, slots=True)
class Holding:
    """Who holds a shard, as this worker last saw it."""

    held: bool
    """This worker may read the shard now."""
    owner: str | None
    """The worker its lease names (None: free, or no leases at all)."""
    counter: int | None
    """The lease's counter, the fencing token (None without leases)."""


class ShardStore(Protocol):
    """Which shards this worker may read, where each starts, and how far each is processed.

    The consumer runs `run()` in its TaskGroup for as long as it reads, and calls `close()`
    once, after its last checkpoint.
    """

    async def run(self) -> None:
        """The store's own work while the consumer reads (renewing and taking leases); cancelled on close."""
        ...

    async def close(self) -> None:
        """After the consumer's last checkpoint: hand back what this worker holds, so others take it at once."""
        ...

    def watch(self, changed: Callable[[], None]) -> None:
        """Call `changed()` whenever `readable` or `shards` may answer otherwise: a shard lost, or one gained."""
        ...

    async def discovered(self, shards: list[ShardInfo]) -> None:
        """The stream's shards, as ListShards just listed them."""
        ...

    def shards(self) -> list[ShardInfo]:
        """Shards the store knows of that the consumer may not have listed yet (a lease table lists its own)."""
        ...

    def finished(self, shard_id: str) -> bool:
        """The shard is done with, as far as the store knows (read to its end and processed, perhaps by
        another worker): its children need not wait for this consumer to read it."""
        ...

    def readable(self, shard_ids: list[str]) -> list[str]:
        """Of these shards (whose parents are finished, or that are being read), those this worker may read now."""
        ...

    def holding(self, shard_id: str) -> Holding:
        """Who holds the shard, for `progress()`."""
        ...

    async def start(self, shard_id: str) -> ShardStart | None:
        """Where to read the shard from; None if it was already read to its end and processed.

        Raises LeaseLostError if this worker may no longer read it."""
        ...

    async def checkpoint(self, shard_id: str, sequence_number: str, sub_sequence_number: int) -> None:
        """Record that the shard is processed up to and including this record.

        Raises LeaseLostError, writing nothing, if this worker no longer holds the shard."""
        ...

    async def mark_ended(self, shard_id: str, children: list[ShardInfo]) -> None:
        """Record that every record of the (closed) shard is processed: its `children` may start.

        Raises LeaseLostError, writing nothing, if this worker no longer holds the shard."""
        ...


class CheckpointStore:
    """The ShardStore of a consumer that reads its stream alone: every shard is its own, kept in Checkpoints."""

    def __init__(self, checkpoints: Checkpoints, stream_name: str, start: StartingPosition) -> None:
        self._checkpoints = checkpoints
        self._stream_name = stream_name
        self._start = start

    async def run(self) -> None:
        """Nothing to do meanwhile: no other worker to hear from."""

    async def close(self) -> None:
        """Nothing to hand back; the Checkpoints are the caller's to close."""

    def watch(self, changed: Callable[[], None]) -> None:
        """Nothing to report: no other worker can take a shard, and every shard is readable."""

    async def discovered(self, shards: list[ShardInfo]) -> None:
        """Nothing to record: the consumer tracks the stream's shards itself."""

    def shards(self) -> list[ShardInfo]:
        return []

    def finished(self, shard_id: str) -> bool:
        return False  # a shard ends only by this consumer reading it

    def readable(self, shard_ids: list[str]) -> list[str]:
        return shard_ids

    def holding(self, shard_id: str) -> Holding:
        return Holding(held=True, owner=None, counter=None)

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

    async def mark_ended(self, shard_id: str, children: list[ShardInfo]) -> None:
        await self._checkpoints.mark_ended(self._stream_name, shard_id)
