"""The consumer through its two seams: a record source of the test's own, and a store that takes shards away.

Shards come from ListShards on the local server (4 shards); their records come from FakeSources,
so every batch is known in advance. Time is virtual: no periodic task runs unless a test moves it.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest

import aiokinesis
from aiokinesis import ChildShard, HashKeyRange, ReadBatch, ShardRecord, StartingPosition
from aiokinesis._recordsource import RecordSource
from aiokinesis._runtime import Runtime
from aiokinesis._shardstore import CheckpointStore, Holding, ShardInfo, ShardStart
from aiokinesis.testing import KinesisServer
from tests.fakes import VirtualTime

SHARDS = [f"shardId-00000000000{n}" for n in range(4)]
A, B, C, D = SHARDS
TRIM = StartingPosition.trim_horizon()
CONFIG = aiokinesis.ConsumerConfig(max_buffered_batches=4, checkpoint_interval=1.0)


def record(shard_id: str, sequence: int, arrival: float) -> ShardRecord:
    return ShardRecord(
        data=f"{shard_id[-1]}{sequence}".encode(),
        partition_key="k",
        sequence_number=str(sequence),
        sub_sequence_number=0,
        approximate_arrival_timestamp=datetime.fromtimestamp(arrival, UTC),
        shard_id=shard_id,
    )


class FakeSource:
    """Hands out its batches, then ends (with `children`) or, if `children` is None, waits for ever."""

    def __init__(self, shard_id: str, batches: list[list[ShardRecord]], children: list[ChildShard] | None) -> None:
        self.shard_id = shard_id
        self.batches = batches
        self.children = children
        self.gate = asyncio.Event()
        self.gate.set()
        self.child_shards: list[ChildShard] | None = None
        self.millis_behind_latest: int | None = None
        self.throttles = 0
        self.retries = 0
        self.reads = 0
        self.cancelled = False
        self.closed = False

    async def next_batch(self) -> ReadBatch | None:
        self.reads += 1
        try:
            await self.gate.wait()
            if self.batches:
                self.millis_behind_latest = 1000 * len(self.batches)
                return ReadBatch(shard_id=self.shard_id, records=self.batches.pop(0), millis_behind_latest=0)
            if self.children is not None:
                self.child_shards = self.children
                return None
            await asyncio.Event().wait()  # an open shard with nothing more in it
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.closed = True


class FakeSources:
    """RecordSources that open the FakeSource prepared for a shard (an empty, open one if none was)."""

    def __init__(self) -> None:
        self.prepared: dict[str, FakeSource] = {}
        self.opened: list[tuple[str, StartingPosition, tuple[int, int]]] = []

    def prepare(
        self, shard_id: str, batches: list[list[ShardRecord]], children: list[ChildShard] | None = None
    ) -> FakeSource:
        self.prepared[shard_id] = FakeSource(shard_id, batches, children)
        return self.prepared[shard_id]

    async def setup(self) -> None:
        pass

    async def aclose(self) -> None:
        pass

    def open(self, shard_id: str, start: StartingPosition, hash_range: tuple[int, int]) -> RecordSource:
        self.opened.append((shard_id, start, hash_range))
        return self.prepared.pop(shard_id, None) or FakeSource(shard_id, [], None)


class SharedStore:
    """A store shared with other workers (as a lease table is): this worker holds `held`, and
    `revoke`/`grant` change that and tell the consumer, as a lease store does when a lease moves."""

    def __init__(self, checkpoints: aiokinesis.Checkpoints, held: set[str]) -> None:
        self.local = CheckpointStore(checkpoints, "s", TRIM)
        self.held = held
        self.changed: Callable[[], None] | None = None

    async def run(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def discovered(self, shards: list[ShardInfo]) -> None:
        pass

    def shards(self) -> list[ShardInfo]:
        return []

    def finished(self, shard_id: str) -> bool:
        return False

    def holding(self, shard_id: str) -> Holding:
        return Holding(held=shard_id in self.held, owner=None, counter=None)

    def readable(self, shard_ids: list[str]) -> list[str]:
        return [shard_id for shard_id in shard_ids if shard_id in self.held]

    def watch(self, changed: Callable[[], None]) -> None:
        self.changed = changed

    def revoke(self, shard_id: str) -> None:
        self.held.discard(shard_id)
        assert self.changed is not None
        self.changed()

    def grant(self, shard_id: str) -> None:
        self.held.add(shard_id)
        assert self.changed is not None
        self.changed()

    async def start(self, shard_id: str) -> ShardStart | None:
        return await self.local.start(shard_id)

    async def checkpoint(self, shard_id: str, sequence_number: str, sub_sequence_number: int) -> None:
        assert shard_id in self.held, f"checkpoint of {shard_id}, which this worker no longer holds"
        await self.local.checkpoint(shard_id, sequence_number, sub_sequence_number)

    async def mark_ended(self, shard_id: str, children: list[ShardInfo]) -> None:
        await self.local.mark_ended(shard_id, children)


@contextmanager
def consumer_of(
    kinesis: aiokinesis.Client,
    sources: FakeSources,
    store: SharedStore | CheckpointStore,
    time: VirtualTime,
    config: aiokinesis.ConsumerConfig = CONFIG,
) -> Iterator[aiokinesis.StreamConsumer]:
    runtime = Runtime(clock=time.clock, sleep=time.sleep)
    yield aiokinesis.StreamConsumer(kinesis, "s", sources=sources, store=store, config=config, runtime=runtime)


async def settle(done: Callable[[], bool]) -> None:
    """Let the consumer's tasks run (nothing here does I/O once the shards are listed) until `done()`."""
    for _ in range(200):
        if done():
            return
        await asyncio.sleep(0)
    assert done()


def shard_progress(consumer: aiokinesis.StreamConsumer, shard_id: str) -> aiokinesis.ShardProgress:
    return next(p for p in consumer.progress() if p.shard_id == shard_id)


async def test_a_custom_source_feeds_the_fan_in_from_the_stores_start(
    server: KinesisServer, kinesis: aiokinesis.Client
) -> None:
    time = VirtualTime()
    checkpoints = aiokinesis.MemoryCheckpoints()
    await checkpoints.set("s", B, "11", 0)  # B is processed up to 11: it resumes AT 11, dropping 11
    child = ChildShard(
        shard_id="shardId-000000000100",
        parent_shards=[A],
        hash_key_range=HashKeyRange(starting_hash_key="5", ending_hash_key="9"),
    )
    sources = FakeSources()
    sources.prepare(A, [[record(A, 1, time.now), record(A, 2, time.now)], [record(A, 3, time.now)]], children=[child])
    sources.prepare(B, [[record(B, 11, time.now), record(B, 12, time.now)]])
    sources.prepare(child.shard_id, [[record(child.shard_id, 21, time.now)]])
    got: list[bytes] = []
    with consumer_of(kinesis, sources, CheckpointStore(checkpoints, "s", TRIM), time) as consumer:
        async with consumer:
            async for batch in consumer:
                got += [r.data for r in batch]
                if len(got) == 5:
                    break
            ended = shard_progress(consumer, A).ended
    assert sorted(got) == sorted([b"01", b"02", b"03", b"112", b"021"])  # B's 11 was processed before
    assert got.index(b"021") > got.index(b"03")  # the child only after its parent
    assert ended
    ranges = {s.shard_id: (s.start_hash, s.end_hash) for s in server.backend.streams["s"].shards}
    opened = {shard_id: (start, hash_range) for shard_id, start, hash_range in sources.opened}
    assert opened[A] == (TRIM, ranges[A])
    assert opened[B] == (StartingPosition.at_sequence_number("11"), ranges[B])
    assert opened[child.shard_id] == (TRIM, (5, 9))
    saved = await checkpoints.get("s", A)
    assert saved is not None
    assert saved.ended


async def test_a_shard_the_store_takes_away_stops_and_its_unprocessed_batches_are_not_checkpointed(
    server: KinesisServer, kinesis: aiokinesis.Client
) -> None:
    time = VirtualTime()
    checkpoints = aiokinesis.MemoryCheckpoints()
    store = SharedStore(checkpoints, {A, B})
    sources = FakeSources()
    a_source = sources.prepare(A, [[record(A, n, time.now)] for n in range(1, 7)])
    b_source = sources.prepare(B, [[record(B, n, time.now)] for n in range(1, 4)])
    b_source.gate.clear()  # B delivers only once A is gone
    with consumer_of(kinesis, sources, store, time) as consumer:
        async with consumer:
            first = await anext(consumer)
            in_hand = await anext(consumer)  # A1 is processed now, A2 in hand, A3..A6 buffered
            assert [r.data for r in (*first, *in_hand)] == [b"01", b"02"]
            await settle(lambda: shard_progress(consumer, A).pending == 5)
            time.advance(1.0)  # the auto-checkpoint writes what is processed: A1
            await settle(lambda: shard_progress(consumer, A).checkpointed is not None)
            reads = a_source.reads

            store.revoke(A)
            await settle(lambda: a_source.cancelled)
            assert a_source.closed  # a source taken away holds nothing open (a subscription's stream)
            lost = shard_progress(consumer, A)
            with pytest.raises(aiokinesis.LeaseLostError, match=A):
                await in_hand.checkpoint()  # a batch of a lost shard: nothing is written
            b_source.gate.set()
            rest = [await anext(consumer) for _ in range(3)]
            time.advance(1.0)
            await settle(lambda: shard_progress(consumer, B).checkpointed == ("2", 0))
    assert a_source.reads == reads  # its reader stopped
    assert b_source.closed  # and the consumer's close closed the other
    assert [r.data for batch in rest for r in batch] == [b"11", b"12", b"13"]  # A3..A6 were dropped
    assert (lost.started, lost.pending, lost.records, lost.checkpointed) == (False, 0, 2, ("1", 0))
    assert [shard for shard, _, _ in sources.opened] == [A, B]  # C and D are other workers'
    assert await checkpoints.get("s", A) == aiokinesis.Checkpoint("1")
    assert await checkpoints.get("s", B) == aiokinesis.Checkpoint("3")  # B went on, and was checkpointed on close


async def test_a_shard_the_store_gives_later_is_read_from_its_checkpoint(
    server: KinesisServer, kinesis: aiokinesis.Client
) -> None:
    time = VirtualTime()
    checkpoints = aiokinesis.MemoryCheckpoints()
    await checkpoints.set("s", C, "7", 0)  # where the worker that held C left it
    store = SharedStore(checkpoints, {A})
    sources = FakeSources()
    sources.prepare(A, [[record(A, 1, time.now)]])
    sources.prepare(C, [[record(C, 7, time.now), record(C, 8, time.now)]])
    with consumer_of(kinesis, sources, store, time) as consumer:
        async with consumer:
            got = [r.data for r in await anext(consumer)]
            store.grant(C)
            got += [r.data for r in await anext(consumer)]
    assert got == [b"01", b"28"]
    assert [(shard, start) for shard, start, _ in sources.opened] == [
        (A, TRIM),
        (C, StartingPosition.at_sequence_number("7")),
    ]


async def test_progress_is_a_snapshot_that_later_calls_bring_up_to_date(
    server: KinesisServer, kinesis: aiokinesis.Client
) -> None:
    time = VirtualTime()
    sources = FakeSources()
    sources.prepare(
        A,
        [
            [record(A, 1, time.now - 5), record(A, 2, time.now - 5)],
            [record(A, 3, time.now - 4)],
            [record(A, 4, time.now - 3)],
        ],
    )
    store = CheckpointStore(aiokinesis.MemoryCheckpoints(), "s", TRIM)
    with consumer_of(kinesis, sources, store, time, aiokinesis.ConsumerConfig(max_buffered_batches=1)) as consumer:
        async with consumer:
            batch = await anext(consumer)
            await batch.checkpoint()
            await settle(lambda: shard_progress(consumer, A).pending == 2)  # the next batch is buffered
            before = shard_progress(consumer, A)
            with pytest.raises(dataclasses.FrozenInstanceError):
                before.ended = True  # type: ignore[misc]
            assert all(
                isinstance(value, str | int | float | bool | tuple | None) for value in dataclasses.astuple(before)
            )
            time.advance(2.0)
            await anext(consumer)
            await settle(lambda: shard_progress(consumer, A).records == 4)
            after = shard_progress(consumer, A)
    assert (before.records, before.pending, before.checkpointed) == (3, 2, ("2", 0))
    assert (before.record_age, before.millis_behind_latest, before.started, before.ended) == (4.0, 1000, True, False)
    assert (after.records, after.pending, after.records_per_second, after.record_age) == (4, 2, 2.0, 5.0)
    assert (after.millis_behind_latest, after.started, after.ended) == (1000, True, False)
    assert (after.shard_id, after.parents, after.hash_range) == (A, (), before.hash_range)


async def test_an_ended_shard_stays_ended_when_processed_batches_are_auto_checkpointed(
    server: KinesisServer, kinesis: aiokinesis.Client
) -> None:
    time = VirtualTime()
    checkpoints = aiokinesis.MemoryCheckpoints()
    sources = FakeSources()
    sources.prepare(A, [[record(A, 1, time.now)]], children=[])
    b_source = sources.prepare(B, [[record(B, 1, time.now)], [record(B, 2, time.now)]])
    b_source.gate.clear()
    with consumer_of(kinesis, sources, CheckpointStore(checkpoints, "s", TRIM), time) as consumer:
        async with consumer:
            await anext(consumer)  # A1, A's only batch
            following = asyncio.create_task(anext(consumer))  # A1 is processed: A ends
            await settle(lambda: shard_progress(consumer, A).ended)
            b_source.gate.set()
            await following
            await anext(consumer)  # B1 is processed
            time.advance(1.0)  # an auto-checkpoint round (A, then B), after A's end was recorded
            await settle(lambda: shard_progress(consumer, B).checkpointed is not None)
    saved = await checkpoints.get("s", A)
    assert saved is not None
    assert saved.ended  # not overwritten by A1's checkpoint


class SlowStore(CheckpointStore):
    """A CheckpointStore whose first write waits for `release`: a slow write another overtakes."""

    def __init__(self, checkpoints: aiokinesis.Checkpoints) -> None:
        super().__init__(checkpoints, "s", TRIM)
        self.release = asyncio.Event()
        self.writes: list[str] = []

    async def checkpoint(self, shard_id: str, sequence_number: str, sub_sequence_number: int) -> None:
        self.writes.append(sequence_number)
        if len(self.writes) == 1:
            await self.release.wait()
        await super().checkpoint(shard_id, sequence_number, sub_sequence_number)


async def test_overlapping_checkpoints_of_a_shard_land_in_order_and_never_go_back(
    server: KinesisServer, kinesis: aiokinesis.Client
) -> None:
    time = VirtualTime()
    checkpoints = aiokinesis.MemoryCheckpoints()
    store = SlowStore(checkpoints)
    sources = FakeSources()
    sources.prepare(A, [[record(A, n, time.now)] for n in (1, 2, 3)])
    with consumer_of(kinesis, sources, store, time) as consumer:
        async with consumer:
            first = await anext(consumer)
            second = await anext(consumer)  # the first is processed now
            time.advance(1.0)  # an auto-checkpoint round starts writing 1, and waits in the store
            await settle(lambda: store.writes == ["1"])
            newer = asyncio.create_task(second.checkpoint())  # the user checkpoints 2 meanwhile
            for _ in range(20):
                await asyncio.sleep(0)
            assert store.writes == ["1"]  # 2 waits for 1 to land, rather than overtaking it
            store.release.set()
            await newer
            assert await checkpoints.get("s", A) == aiokinesis.Checkpoint("2")  # 1 did not land last
            await first.checkpoint()  # an older batch checkpointed late: nothing moves back
            assert store.writes == ["1", "2"]
            assert await checkpoints.get("s", A) == aiokinesis.Checkpoint("2")
            await anext(consumer)


class GoneSource(FakeSource):
    """A shard read through an enhanced fan-out consumer that was just deleted."""

    async def next_batch(self) -> ReadBatch | None:
        raise aiokinesis.ConsumerDeletedError("arn:aws:kinesis:us-east-1:123456789012:stream/s/consumer/app:1", "gone")


async def test_every_shard_failing_with_one_consumer_deleted_error_ends_the_iteration_with_that_one(
    server: KinesisServer, kinesis: aiokinesis.Client
) -> None:
    sources = FakeSources()
    for shard_id in SHARDS:
        sources.prepared[shard_id] = GoneSource(shard_id, [], None)
    store = CheckpointStore(aiokinesis.MemoryCheckpoints(), "s", TRIM)
    with consumer_of(kinesis, sources, store, VirtualTime()) as consumer:
        async with consumer:
            with pytest.raises(aiokinesis.ConsumerDeletedError, match="consumer/app:1 is gone"):
                await anext(consumer)
