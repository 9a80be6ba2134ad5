"""Checkpoints in a dict: for tests and for consumers that restart from their start position."""

from __future__ import annotations

from ._protocol import Checkpoint


class MemoryCheckpoints:
    """Checkpoints that live as long as the object; nothing survives a restart."""

    def __init__(self) -> None:
        self.saved: dict[tuple[str, str], Checkpoint] = {}

    async def get(self, stream: str, shard_id: str) -> Checkpoint | None:
        return self.saved.get((stream, shard_id))

    async def set(self, stream: str, shard_id: str, sequence_number: str, sub_sequence_number: int) -> None:
        self.saved[(stream, shard_id)] = Checkpoint(sequence_number, sub_sequence_number)

    async def mark_ended(self, stream: str, shard_id: str) -> None:
        previous = self.saved.get((stream, shard_id))
        sequence = previous.sequence_number if previous else None
        self.saved[(stream, shard_id)] = Checkpoint(sequence, previous.sub_sequence_number if previous else 0, True)
