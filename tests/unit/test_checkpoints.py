"""Checkpoint backends: what is written is read back, across reopening for SQLite."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import aiokinesis
from aiokinesis import Checkpoint


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> aiokinesis.Checkpoints:
    if request.param == "memory":
        return aiokinesis.MemoryCheckpoints()
    return aiokinesis.SqliteCheckpoints(tmp_path / "cp.db")


async def test_set_get_and_end(store: aiokinesis.Checkpoints) -> None:
    assert await store.get("s", "shard-1") is None
    await store.set("s", "shard-1", "100", 0)
    await store.set("s", "shard-1", "200", 3)
    assert await store.get("s", "shard-1") == Checkpoint("200", 3, False)
    await store.mark_ended("s", "shard-1")
    assert await store.get("s", "shard-1") == Checkpoint("200", 3, True)
    await store.mark_ended("s", "shard-2")  # a shard that ended with nothing processed
    assert await store.get("s", "shard-2") == Checkpoint(None, 0, True)
    assert await store.get("other-stream", "shard-1") is None
    if isinstance(store, aiokinesis.SqliteCheckpoints):
        await store.aclose()


async def test_sqlite_survives_reopening_and_keeps_applications_apart(tmp_path: Path) -> None:
    path = tmp_path / "cp.db"
    first = aiokinesis.SqliteCheckpoints(path, application="billing")
    await first.set("orders", "shardId-0", "49590338271490256608559692538361571095921575989136588898", 7)
    await first.aclose()
    await first.aclose()  # idempotent

    reopened = aiokinesis.SqliteCheckpoints(path, application="billing")
    other_app = aiokinesis.SqliteCheckpoints(path, application="search")
    saved = await reopened.get("orders", "shardId-0")
    assert saved == Checkpoint("49590338271490256608559692538361571095921575989136588898", 7)
    assert await other_app.get("orders", "shardId-0") is None
    await asyncio.gather(*(reopened.set("orders", f"shardId-{n}", str(n), 0) for n in range(20)))
    assert [await reopened.get("orders", f"shardId-{n}") for n in (3, 19)] == [Checkpoint("3"), Checkpoint("19")]
    assert "billing" in repr(reopened)
    await reopened.aclose()
    await other_app.aclose()


def test_consumer_config_is_checked() -> None:
    with pytest.raises(ValueError, match="max_buffered_batches"):
        aiokinesis.ConsumerConfig(max_buffered_batches=0)
