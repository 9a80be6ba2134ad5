"""Checkpoints in a SQLite file: durable across process restarts, the embedded default.

sqlite3 blocks, so every call runs in a worker thread, one at a time; each write is its own
committed transaction (WAL journal, synchronous=FULL), so an acknowledged checkpoint survives
a crash. Several applications can share a file: rows are keyed by `application`.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

from ._protocol import Checkpoint

_SCHEMA = """
CREATE TABLE IF NOT EXISTS checkpoints (
    application TEXT NOT NULL,
    stream TEXT NOT NULL,
    shard_id TEXT NOT NULL,
    sequence_number TEXT,
    sub_sequence_number INTEGER NOT NULL DEFAULT 0,
    ended INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (application, stream, shard_id)
)
"""


class SqliteCheckpoints:
    """Checkpoints in the SQLite database at `path` (created if missing)."""

    def __init__(self, path: str | Path, *, application: str = "default") -> None:
        self.path = Path(path)
        self.application = application
        self._connection: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SqliteCheckpoints({str(self.path)!r}, application={self.application!r})"

    def _db(self) -> sqlite3.Connection:
        if self._connection is None:
            connection = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")
            connection.execute(_SCHEMA)
            self._connection = connection
        return self._connection

    def _get(self, stream: str, shard_id: str) -> Checkpoint | None:
        with self._lock:
            row = (
                self._db()
                .execute(
                    "SELECT sequence_number, sub_sequence_number, ended FROM checkpoints "
                    "WHERE application = ? AND stream = ? AND shard_id = ?",
                    (self.application, stream, shard_id),
                )
                .fetchone()
            )
        return None if row is None else Checkpoint(row[0], int(row[1]), bool(row[2]))

    def _set(self, stream: str, shard_id: str, sequence_number: str, sub_sequence_number: int) -> None:
        with self._lock:
            self._db().execute(
                "INSERT INTO checkpoints (application, stream, shard_id, sequence_number, sub_sequence_number, ended) "
                "VALUES (?, ?, ?, ?, ?, 0) ON CONFLICT (application, stream, shard_id) DO UPDATE SET "
                "sequence_number = excluded.sequence_number, sub_sequence_number = excluded.sub_sequence_number",
                (self.application, stream, shard_id, sequence_number, sub_sequence_number),
            )

    def _mark_ended(self, stream: str, shard_id: str) -> None:
        with self._lock:
            self._db().execute(
                "INSERT INTO checkpoints (application, stream, shard_id, ended) VALUES (?, ?, ?, 1) "
                "ON CONFLICT (application, stream, shard_id) DO UPDATE SET ended = 1",
                (self.application, stream, shard_id),
            )

    async def get(self, stream: str, shard_id: str) -> Checkpoint | None:
        return await asyncio.to_thread(self._get, stream, shard_id)

    async def set(self, stream: str, shard_id: str, sequence_number: str, sub_sequence_number: int) -> None:
        await asyncio.to_thread(self._set, stream, shard_id, sequence_number, sub_sequence_number)

    async def mark_ended(self, stream: str, shard_id: str) -> None:
        await asyncio.to_thread(self._mark_ended, stream, shard_id)

    async def aclose(self) -> None:
        """Close the database connection; idempotent."""
        await asyncio.to_thread(self._close)

    def _close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None
