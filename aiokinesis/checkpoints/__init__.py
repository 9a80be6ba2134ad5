"""Where a consumer keeps how far each shard is processed: the protocol and its backends."""

from ._protocol import Checkpoint, Checkpoints
from .memory import MemoryCheckpoints
from .sqlite import SqliteCheckpoints

__all__ = ["Checkpoint", "Checkpoints", "MemoryCheckpoints", "SqliteCheckpoints"]
