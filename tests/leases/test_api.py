"""The user's side: `kinesis.consumer(stream, leases=..., worker_id=...)`, its errors and its logs."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import socket

import pytest

import aiokinesis
from aiokinesis.leases import InMemoryLeases
from aiokinesis.testing import KinesisServer
from tests.fakes import VirtualTime
from tests.leases.crew import put
from tests.leases.helpers import HeldTable, advance, drive, settle, shard_id, shards, worker

TRIM = aiokinesis.StartingPosition.trim_horizon()


def test_the_lease_names_are_public() -> None:
    assert aiokinesis.InMemoryLeases is aiokinesis.leases.InMemoryLeases
    assert aiokinesis.LeaseStore is aiokinesis.leases.LeaseStore
    assert issubclass(aiokinesis.LeaseLostError, aiokinesis.KinesisError)


def test_leases_and_checkpoints_together_are_refused(kinesis: aiokinesis.Client) -> None:
    with pytest.raises(ValueError, match="checkpoints= or leases=, not both"):
        kinesis.consumer("s", leases=InMemoryLeases(), checkpoints=aiokinesis.MemoryCheckpoints())


def test_worker_id_needs_leases_and_a_name(kinesis: aiokinesis.Client) -> None:
    with pytest.raises(ValueError, match="worker_id= names this worker in a lease table: give leases= too"):
        kinesis.consumer("s", worker_id="host-a-1")
    with pytest.raises(ValueError, match="worker_id must be a non-empty string, not ''"):
        kinesis.consumer("s", leases=InMemoryLeases(), worker_id="")


def test_a_consumer_on_leases_starts_at_a_position_a_lease_can_hold(kinesis: aiokinesis.Client) -> None:
    with pytest.raises(ValueError, match="TRIM_HORIZON, LATEST or AT_TIMESTAMP, not AT_SEQUENCE_NUMBER"):
        kinesis.consumer("s", leases=InMemoryLeases(), start=aiokinesis.StartingPosition.at_sequence_number("1"))


def owners(consumer: aiokinesis.StreamConsumer) -> set[str | None]:
    return {p.owner for p in consumer.progress() if p.owner}


async def test_the_default_worker_ids_name_host_and_process_and_differ_per_consumer(
    kinesis: aiokinesis.Client, time: VirtualTime
) -> None:
    table = InMemoryLeases()
    async with (
        kinesis.consumer("s", leases=table, start=TRIM) as first,
        kinesis.consumer("s", leases=table, start=TRIM) as second,
    ):
        # Each sees the other's leases as of its own last scan: wait until both have seen both.
        await drive(time, lambda: len(owners(first)) == 2 and owners(first) == owners(second), within=60)
        seen = owners(first)
    prefix = re.escape(f"{socket.gethostname()}-{os.getpid()}-")
    assert all(re.fullmatch(prefix + "[0-9a-f]{8}", owner or "") for owner in seen)


async def test_batch_checkpoint_raises_lease_lost_error_once_the_lease_moved_on(
    server: KinesisServer, kinesis: aiokinesis.Client, time: VirtualTime
) -> None:
    put(server, "s", [f"v{n}" for n in range(40)], keys=1)  # one key: one shard
    table = InMemoryLeases()
    config = aiokinesis.ConsumerConfig(reader=aiokinesis.ReaderConfig(limit=10))
    async with kinesis.consumer("s", leases=table, worker_id="host-a-1", start=TRIM, config=config) as consumer:
        await (await anext(consumer)).checkpoint()
        following = asyncio.ensure_future(anext(consumer))
        await drive(time, following.done, within=5)  # the reader waits 0.2 s between reads
        batch = following.result()
        lease = await table.get(batch.shard_id)
        assert lease is not None
        assert lease.owner == "host-a-1"
        await table.take(lease, "host-b-1")  # another worker takes the shard
        with pytest.raises(aiokinesis.LeaseLostError, match=batch.shard_id):
            await batch.checkpoint()
        held = {p.shard_id: p.held for p in consumer.progress()}
    assert not held[batch.shard_id]
    assert sum(held.values()) == 3


async def test_lease_moves_are_logged_at_info_with_shard_and_worker(
    time: VirtualTime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="aiokinesis.leases")
    table = InMemoryLeases()
    a, b = worker("a", table, time), worker("b", table, time)
    await a.start(shards(2))
    await settle()
    await advance(time, 1.0)
    await b.start(shards(2))  # b steals one of a's two
    await settle()
    await advance(time, aiokinesis.ConsumerConfig().lease_renew_interval)  # a's renewal finds it gone
    await a.close()
    messages = [record.getMessage() for record in caplog.records if record.levelno == logging.INFO]
    assert f"worker a took the lease of {shard_id(0)} (counter 1)" in messages
    stolen = next(m for m in messages if m.startswith("worker b stole the lease of "))
    key = stolen.split()[6]
    assert stolen == f"worker b stole the lease of {key} from a (counter 2)"
    assert any(m.startswith(f"worker a lost the lease of {key}") and "another worker took it" in m for m in messages)
    kept = shard_id(1) if key == shard_id(0) else shard_id(0)
    assert any(m.startswith(f"worker a released the lease of {kept}") for m in messages)
    await b.close()


async def test_a_second_aclose_waits_until_the_first_has_handed_the_leases_back(
    kinesis: aiokinesis.Client, time: VirtualTime
) -> None:
    # A SIGTERM handler that calls aclose() while the `async with` block is leaving: the block's
    # own aclose() must not return (and let the client close) while the releases are under way.
    table = InMemoryLeases()
    connection = HeldTable(table)
    async with kinesis.consumer("s", leases=connection, worker_id="host-a-1", start=TRIM) as consumer:
        await drive(time, lambda: sum(p.held for p in consumer.progress()) == 4, within=60)
        connection.hold("release")
        first = asyncio.ensure_future(consumer.aclose())
        second = asyncio.ensure_future(consumer.aclose())
        await settle()
        assert not second.done()  # the releases have not reached the table yet
        connection.let_go()
        await asyncio.gather(first, second)
        assert [lease.owner for lease in await table.list_leases()] == [None] * 4
