"""Where a consumer keeps how far each shard is processed: the protocol and its backends."""

from typing import TYPE_CHECKING, Any

from ._protocol import Checkpoint, Checkpoints
from .memory import MemoryCheckpoints

if TYPE_CHECKING:
    from .sqlite import SqliteCheckpoints
else:  # to type checkers the name is the import above

    def __getattr__(name: str) -> Any:
        """SqliteCheckpoints on first use: only programs that keep checkpoints in a file pay for sqlite3."""
        if name == "SqliteCheckpoints":
            from .sqlite import SqliteCheckpoints  # noqa: PLC0415

            return SqliteCheckpoints
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Checkpoint", "Checkpoints", "MemoryCheckpoints", "SqliteCheckpoints"]
