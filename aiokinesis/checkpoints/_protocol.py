"""What a checkpoint store does; MemoryCheckpoints and SqliteCheckpoints implement it.

Distributed leases (a DynamoDB table, as the KCL keeps) will implement the same calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """How far a shard's records have been processed."""

    sequence_number: str | None
    """The last processed record's sequence number; None if the shard ended with none processed."""
    sub_sequence_number: int = 0
    """Within a KPL aggregate: the last processed user record (0 for plain records)."""
    ended: bool = False
    """The shard was read to its end and every record of it processed: its children may start."""


class Checkpoints(Protocol):
    """A durable map from (stream, shard) to a Checkpoint. Writes must be atomic per call."""

    async def get(self, stream: str, shard_id: str) -> Checkpoint | None:
        """The shard's checkpoint, or None if it was never checkpointed."""
        ...

    async def set(self, stream: str, shard_id: str, sequence_number: str, sub_sequence_number: int) -> None:
        """Record that the shard is processed up to and including this record."""
        ...

    async def mark_ended(self, stream: str, shard_id: str) -> None:
        """Record that every record of the (closed) shard is processed."""
        ...
