"""Several workers in one process: consumers on one local server's stream, sharing one lease table.

Each worker has its own client (its own random draws), its own connection to the table (which the
test can hold back) and a task that handles every batch and checkpoints it, logging what it was
handed. Time is virtual on both sides of the wire; `drive` moves it on while real I/O happens.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import aiokinesis
from aiokinesis.leases import InMemoryLeases
from aiokinesis.testing import KinesisServer
from tests.conftest import LOCAL_KEYS
from tests.fakes import VirtualTime
from tests.leases.helpers import HeldTable, drive

TRIM = aiokinesis.StartingPosition.trim_horizon()


@dataclass(frozen=True)
class Handled:
    at: float
    worker: str
    record: aiokinesis.ShardRecord


@dataclass
class Worker:
    name: str
    client: aiokinesis.Client
    table: HeldTable
    consumer: aiokinesis.StreamConsumer
    task: asyncio.Task[None] | None = None
    saved: dict[str, int] = field(default_factory=dict)
    """The sequence number of each shard's last checkpoint this worker wrote."""
    refused: list[str] = field(default_factory=list)
    """Shards whose checkpoint raised LeaseLostError."""
    checkpointing: str | None = None
    """The shard whose checkpoint is being written now."""

    def held(self) -> set[str]:
        return {progress.shard_id for progress in self.consumer.progress() if progress.held}


class Crew:
    """The workers of one test; `await crew.aclose()` stops every one and closes its client."""

    def __init__(
        self, server: KinesisServer, time: VirtualTime, stream: str, config: aiokinesis.ConsumerConfig
    ) -> None:
        self.server = server
        self.time = time
        self.stream = stream
        self.config = config
        self.table = InMemoryLeases()
        self.workers: dict[str, Worker] = {}
        self.log: list[Handled] = []

    async def join(self, name: str) -> Worker:
        client = aiokinesis.Client(
            endpoint_url=self.server.endpoint_url,
            retry=aiokinesis.RetryConfig(max_attempts=1),
            clock=self.time.clock,
            sleep=self.time.sleep,
            rand=random.Random(name).random,
            **LOCAL_KEYS,
        )
        table = HeldTable(self.table)
        consumer = client.consumer(self.stream, leases=table, worker_id=name, start=TRIM, config=self.config)
        worker = Worker(name, client, table, consumer)
        worker.task = asyncio.create_task(self._work(worker), name=f"test-crew-{name}")
        self.workers[name] = worker
        return worker

    async def _work(self, worker: Worker) -> None:
        async with worker.consumer as consumer:
            async for batch in consumer:
                self.log.extend(Handled(self.time.now, worker.name, record) for record in batch)
                worker.checkpointing = batch.shard_id
                try:
                    await batch.checkpoint()
                except aiokinesis.LeaseLostError:
                    worker.refused.append(batch.shard_id)
                    continue
                finally:
                    worker.checkpointing = None
                worker.saved[batch.shard_id] = int(batch.records[-1].sequence_number)

    async def stop(self, name: str) -> None:
        """A clean close: what was handled is checkpointed (with auto-checkpoints), leases released."""
        worker = self.workers[name]
        await worker.consumer.aclose()
        if worker.task is not None:
            await worker.task

    async def aclose(self) -> None:
        for worker in self.workers.values():
            worker.table.let_go()
            if worker.task is not None and not worker.task.done():
                await worker.consumer.aclose()
                with contextlib.suppress(Exception):
                    await worker.task
            await worker.client.aclose()

    def shares(self) -> dict[str, int]:
        return {name: len(worker.held()) for name, worker in self.workers.items()}

    def values(self) -> set[str]:
        return {handled.record.data.decode() for handled in self.log}

    async def drive(self, done: Callable[[], bool], *, within: float) -> float:
        return await drive(self.time, done, within=within)


def put(server: KinesisServer, stream: str, values: list[str], keys: int) -> None:
    """Records straight into the server's state, "v<n>" spread over `keys` partition keys."""
    entries = [
        {"Data": base64.b64encode(value.encode()).decode(), "PartitionKey": f"key-{n % keys}"}
        for n, value in enumerate(values)
    ]
    for begin in range(0, len(entries), 500):
        server.backend.PutRecords({"StreamName": stream, "Records": entries[begin : begin + 500]})


def assert_key_order(log: list[Handled]) -> None:
    """Each key's values, as first handled, come in the order they were put (repeats after a
    failover are at-least-once delivery, and come after the first)."""
    first: dict[str | None, list[int]] = {}
    seen: set[bytes] = set()
    for handled in log:
        if handled.record.data in seen:
            continue
        seen.add(handled.record.data)
        first.setdefault(handled.record.partition_key, []).append(int(handled.record.data.decode()[1:]))
    for key, values in first.items():
        assert values == sorted(values), key
