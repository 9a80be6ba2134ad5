"""The consumer on leases: a worker that cannot prove it still holds a shard hands out nothing more
of it and writes nothing for it.

Shards come from ListShards on the local server (4 shards); records from FakeSources, so every
batch is known in advance; leases from one InMemoryLeases. Time is virtual: nothing periodic runs
unless a test moves it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
from collections.abc import Callable

import pytest

import aiokinesis
from aiokinesis._runtime import Runtime
from aiokinesis.leases import InMemoryLeases, LeaseStore
from aiokinesis.leases._coordinator import LeaseCoordinator
from tests.fakes import VirtualTime
from tests.faults.test_consumer_seams import SHARDS, FakeSources, record, settle, shard_progress
from tests.leases.helpers import STEP, TRIM, HeldTable, advance, until, worker

A, B, C, D = SHARDS
CONFIG = aiokinesis.ConsumerConfig(max_buffered_batches=4)
FAILOVER = CONFIG.failover_time


def leased(
    kinesis: aiokinesis.Client,
    sources: FakeSources,
    table: LeaseStore,
    time: VirtualTime,
    *,
    name: str = "a",
    config: aiokinesis.ConsumerConfig = CONFIG,
    clock: Callable[[], float] | None = None,
) -> aiokinesis.StreamConsumer:
    runtime = Runtime(clock=clock or time.clock, sleep=time.sleep, rand=random.Random(name).random)
    store = LeaseCoordinator(table, worker_id=name, start=TRIM, config=config, runtime=runtime)
    return aiokinesis.StreamConsumer(kinesis, "s", sources=sources, store=store, config=config, runtime=runtime)


def six_batches_of_a(sources: FakeSources, time: VirtualTime) -> None:
    sources.prepare(A, [[record(A, n, time.now)] for n in range(1, 7)])


async def test_a_worker_that_wakes_past_failover_hands_out_nothing_it_had_buffered(
    kinesis: aiokinesis.Client, time: VirtualTime
) -> None:
    """A stopped process (SIGSTOP) wakes with its clock past failover and its timers not yet run:
    the very next batch it would hand out is checked against its own clock, and dropped."""
    table, sources = InMemoryLeases(), FakeSources()
    six_batches_of_a(sources, time)
    async with leased(kinesis, sources, table, time) as consumer:
        first = await anext(consumer)
        await first.checkpoint()
        in_hand = await anext(consumer)
        await settle(lambda: shard_progress(consumer, A).pending == 5)  # A2 in hand, A3..A6 buffered
        time.now += FAILOVER  # the clock jumps; no timer has fired yet, so no renewal ran
        following = asyncio.create_task(anext(consumer))
        await settle(lambda: shard_progress(consumer, A).pending == 0)
        assert not following.done()  # A3..A6 were dropped, not handed out
        lost = shard_progress(consumer, A)
        with pytest.raises(aiokinesis.LeaseLostError, match=A):
            await in_hand.checkpoint()
        following.cancel()
    assert (lost.started, lost.held, lost.records) == (False, False, 2)
    saved = await table.get(A)
    assert saved is not None
    assert (saved.checkpoint, saved.owner) == ("1", None)  # A2 was never checkpointed; the close released A


async def test_a_worker_whose_renewals_hang_stops_the_shard_at_failover_while_its_user_is_busy(
    kinesis: aiokinesis.Client, time: VirtualTime
) -> None:
    table, sources = InMemoryLeases(), FakeSources()
    held = HeldTable(table)
    six_batches_of_a(sources, time)
    a_source = sources.prepared[A]
    async with leased(kinesis, sources, held, time) as consumer:
        first = await anext(consumer)
        await first.checkpoint()
        in_hand = await anext(consumer)
        await settle(lambda: shard_progress(consumer, A).pending == 5)
        held.hold("renew", "take")  # its writes hang (it cannot take its own leases back either)
        await advance(time, FAILOVER - 1.0)
        assert shard_progress(consumer, A).pending == 5  # still its own
        await advance(time, 1.0 + CONFIG.lease_renew_interval)
        dropped = shard_progress(consumer, A)  # the user has not asked for anything meanwhile
        assert a_source.cancelled
        with pytest.raises(aiokinesis.LeaseLostError, match=A):
            await in_hand.checkpoint()
        held.let_go()
    assert (dropped.started, dropped.pending, dropped.held) == (False, 0, False)
    saved = await table.get(A)
    assert saved is not None
    assert saved.checkpoint == "1"


async def test_a_stolen_shard_s_checkpoint_fails_and_its_buffered_batches_are_dropped(
    kinesis: aiokinesis.Client, time: VirtualTime
) -> None:
    table, sources = InMemoryLeases(), FakeSources()
    six_batches_of_a(sources, time)
    b_source = sources.prepare(B, [[record(B, 11, time.now)]])
    b_source.gate.clear()
    async with leased(kinesis, sources, table, time) as consumer:
        first = await anext(consumer)
        await first.checkpoint()
        in_hand = await anext(consumer)
        await settle(lambda: shard_progress(consumer, A).pending == 5)
        lease = await table.get(A)
        assert lease is not None
        assert await table.take(lease, "thief") != aiokinesis.leases.Lost(A)  # another worker steals A
        assert shard_progress(consumer, A).held  # a cannot know before its next write
        with pytest.raises(aiokinesis.LeaseLostError, match="another worker took it"):
            await in_hand.checkpoint()  # the counter it holds is behind: refused
        assert shard_progress(consumer, A).pending == 0  # and it dropped A at once
        b_source.gate.set()
        following = await anext(consumer)
        await advance(time, CONFIG.lease_scan_interval + STEP)  # progress shows the table as last scanned
        progress = shard_progress(consumer, A)
    assert following.shard_id == B
    assert (progress.held, progress.owner, progress.lease_counter) == (False, "thief", lease.counter + 1)
    saved = await table.get(A)
    assert saved is not None
    assert (saved.owner, saved.checkpoint) == ("thief", "1")


async def test_an_auto_checkpoint_of_a_lost_shard_is_skipped_and_the_consumer_goes_on(
    kinesis: aiokinesis.Client, time: VirtualTime, caplog: pytest.LogCaptureFixture
) -> None:
    table, sources = InMemoryLeases(), FakeSources()
    six_batches_of_a(sources, time)
    sources.prepare(B, [[record(B, 11, time.now)], [record(B, 12, time.now)]])
    config = dataclasses.replace(CONFIG, checkpoint_interval=1.0)
    caplog.set_level(logging.INFO, logger="aiokinesis")
    async with leased(kinesis, sources, table, time, config=config) as consumer:
        got = [await anext(consumer) for _ in range(3)]
        lease = await table.get(A)
        assert lease is not None
        await table.take(lease, "thief")
        await advance(time, 1.0)  # the auto-checkpoint round: A's write is refused, B's lands
        got += [await anext(consumer) for _ in range(1)]
    assert {batch.shard_id for batch in got} == {A, B}
    assert "auto-checkpoint skipped" in caplog.text
    saved_b = await table.get(B)
    assert saved_b is not None
    assert saved_b.checkpoint in {"11", "12"}


async def test_a_clean_close_checkpoints_what_was_processed_then_releases_every_lease(
    kinesis: aiokinesis.Client, time: VirtualTime, caplog: pytest.LogCaptureFixture
) -> None:
    table, sources = InMemoryLeases(), FakeSources()
    six_batches_of_a(sources, time)
    config = dataclasses.replace(CONFIG, checkpoint_interval=60.0)
    caplog.set_level(logging.INFO, logger="aiokinesis.leases")
    async with leased(kinesis, sources, table, time, config=config) as consumer:
        await anext(consumer)
        await anext(consumer)  # A2 in hand: leaving the block normally processes it
    leases = {lease.key: lease for lease in await table.list_leases()}
    assert {lease.owner for lease in leases.values()} == {None}
    assert leases[A].checkpoint == "2"
    assert "worker a released the lease of shardId-000000000000" in caplog.text
    successor = worker("b", table, time)
    await successor.start([])
    await settle(lambda: successor.held([A]) == [A])  # at its first look, not after failover_time
    start = await successor.coordinator.start(A)
    await successor.close()
    assert start is not None
    assert (start.position, start.processed) == (aiokinesis.StartingPosition.at_sequence_number("2"), ("2", 0))


async def test_progress_shows_who_holds_each_shard(kinesis: aiokinesis.Client, time: VirtualTime) -> None:
    table = InMemoryLeases()
    for shard in (C, D):
        await table.create(aiokinesis.leases.Lease(key=shard, hash_range=(0, 1)))
        lease = await table.get(shard)
        assert lease is not None
        await table.take(lease, "other")
    async with leased(kinesis, FakeSources(), table, time, config=CONFIG) as consumer:
        await until(lambda: any(p.held for p in consumer.progress()))  # ListShards answered, leases taken
        progress = {p.shard_id: (p.held, p.owner, p.lease_counter) for p in consumer.progress()}
    assert progress == {A: (True, "a", 1), B: (True, "a", 1), C: (False, "other", 1), D: (False, "other", 1)}
