"""Workers on one shared in-memory lease table, on virtual time, with tables that can be held back."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import aiokinesis
from aiokinesis._runtime import Runtime
from aiokinesis._shardstore import ShardInfo
from aiokinesis.leases import InMemoryLeases, Lease, Lost
from aiokinesis.leases._coordinator import LeaseCoordinator
from tests.fakes import VirtualTime

CONFIG = aiokinesis.ConsumerConfig()  # the KCL's timing: failover 10 s
TRIM = aiokinesis.StartingPosition.trim_horizon()
HASH_SPACE = 2**128


def shard_id(n: int) -> str:
    return f"shardId-{n:012d}"


def shards(count: int) -> list[ShardInfo]:
    step = HASH_SPACE // count
    return [
        ShardInfo(shard_id(n), (), (n * step, HASH_SPACE - 1 if n == count - 1 else (n + 1) * step - 1))
        for n in range(count)
    ]


class HeldTable:
    """One worker's connection to a shared table, whose calls the test can hold back.

    `hold("renew")` holds its renewals (a table that stopped answering them); `hold()` holds every
    call (a stopped process). Held calls reach the table, in order, once `let_go()` is called.
    """

    def __init__(self, table: InMemoryLeases) -> None:
        self.table = table
        self._held: dict[str, asyncio.Event] = {}
        self.late_answers: dict[str, asyncio.Event] = {}
        """Operations whose answers wait for their event (the write itself lands at once)."""
        self.lost_answers: set[str] = set()
        """Operations whose next answer is lost: the write lands, and the call raises TimeoutError."""

    def hold(self, *operations: str) -> None:
        for operation in operations or ("*",):
            self._held[operation] = asyncio.Event()

    def let_go(self) -> None:
        for event in self._held.values():
            event.set()
        self._held.clear()

    async def _pass(self, operation: str) -> None:
        gate = self._held.get(operation) or self._held.get("*")
        if gate is not None:
            await gate.wait()

    async def prepare(self) -> None:
        await self._pass("prepare")
        await self.table.prepare()

    async def create(self, lease: Lease) -> bool:
        await self._pass("create")
        return await self.table.create(lease)

    async def list_leases(self) -> list[Lease]:
        await self._pass("list_leases")
        return await self.table.list_leases()

    async def get(self, key: str) -> Lease | None:
        await self._pass("get")
        return await self.table.get(key)

    async def _answer(self, operation: str, result: Lease | Lost) -> Lease | Lost:
        late = self.late_answers.pop(operation, None)
        if late is not None:
            await late.wait()
        if operation in self.lost_answers:
            self.lost_answers.discard(operation)
            raise TimeoutError(f"{operation}: no answer (the write landed)")
        return result

    async def renew(self, lease: Lease) -> Lease | Lost:
        await self._pass("renew")
        return await self._answer("renew", await self.table.renew(lease))

    async def take(self, lease: Lease, owner: str) -> Lease | Lost:
        await self._pass("take")
        return await self._answer("take", await self.table.take(lease, owner))

    async def release(self, lease: Lease) -> Lease | Lost:
        await self._pass("release")
        return await self.table.release(lease)

    async def checkpoint(self, lease: Lease, checkpoint: str, sub_sequence_number: int) -> Lease | Lost:
        await self._pass("checkpoint")
        return await self.table.checkpoint(lease, checkpoint, sub_sequence_number)

    async def set_children(self, key: str, children: tuple[str, ...]) -> bool:
        await self._pass("set_children")
        return await self.table.set_children(key, children)

    async def delete(self, key: str) -> bool:
        await self._pass("delete")
        return await self.table.delete(key)


class PausableClock:
    """A worker's monotonic clock, which stops while its machine is suspended (Linux's
    CLOCK_MONOTONIC does not count a suspend) and then goes on from where it stopped."""

    def __init__(self, time: VirtualTime) -> None:
        self._time = time
        self._lost = 0.0
        self._paused_at: float | None = None

    def __call__(self) -> float:
        if self._paused_at is not None:
            return self._paused_at - self._lost
        return self._time.now - self._lost

    def pause(self) -> None:
        self._paused_at = self._time.now

    def resume(self) -> None:
        assert self._paused_at is not None
        self._lost += self._time.now - self._paused_at
        self._paused_at = None


@dataclass
class Worker:
    """One worker's coordinator, run outside a consumer: the tests ask it what a consumer would."""

    name: str
    coordinator: LeaseCoordinator
    table: HeldTable
    changes: int = 0
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    def held(self, keys: list[str] | None = None) -> list[str]:
        candidates = keys if keys is not None else [shard_id(n) for n in range(64)]
        return self.coordinator.readable(candidates)

    async def start(self, listed: list[ShardInfo]) -> None:
        await self.coordinator.discovered(listed)
        self.task = asyncio.create_task(self.coordinator.run(), name=f"test-worker-{self.name}")

    async def kill(self) -> None:
        """Stop at once, as kill -9 would: no release, no last write."""
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None

    async def close(self) -> None:
        await self.kill()
        await self.coordinator.close()


def worker(
    name: str,
    table: InMemoryLeases,
    time: VirtualTime,
    *,
    config: aiokinesis.ConsumerConfig = CONFIG,
    clock: Callable[[], float] | None = None,
    seed: int = 0,
) -> Worker:
    held = HeldTable(table)
    runtime = Runtime(clock=clock or time.clock, sleep=time.sleep, rand=random.Random(f"{name}-{seed}").random)
    coordinator = LeaseCoordinator(held, worker_id=name, start=TRIM, config=config, runtime=runtime)
    made = Worker(name, coordinator, held)

    def changed() -> None:
        made.changes += 1

    coordinator.watch(changed)
    return made


async def settle(rounds: int = 200) -> None:
    """Let every task run until it waits on virtual time (in-memory tables only yield)."""
    for _ in range(rounds):
        await asyncio.sleep(0)


STEP = 0.125
"""Exact in binary: times stay exact sums, so a deadline falls on a step, not a rounding error off it."""


async def advance(
    time: VirtualTime, seconds: float, step: float = STEP, each: Callable[[], None] | None = None
) -> None:
    """Move virtual time on by `seconds`, `step` at a time, letting everything run after each step."""
    for _ in range(round(seconds / step)):
        time.advance(step)
        await settle()
        if each is not None:
            each()


async def until(done: Callable[[], bool], tries: int = 3000) -> None:
    """Wait for something that needs real I/O (a ListShards over HTTP), a bounded number of times."""
    for _ in range(tries):
        if done():
            return
        await asyncio.sleep(0.001)
    assert done()


async def drive(time: VirtualTime, done: Callable[[], bool], *, within: float, step: float = 0.25) -> float:
    """Move virtual time on, step by step, letting requests come and go in between, until
    `done()`; fail if that takes more than `within` virtual seconds. Returns the time taken."""
    began = time.now
    while not done():
        assert time.now - began < within, f"not done within {within} virtual seconds"
        time.advance(step)
        for _ in range(3):
            await asyncio.sleep(0.001)
    return time.now - began
