"""Consumer: every shard of a stream fanned into one async iterator of batches.

One reader task per shard, all owned by a TaskGroup in one supervisor task. Batches reach
the user through a bounded number of slots, so a slow user pauses fetching and nothing is
ever skipped. A child shard starts only once all its parents were read to their end and every
batch of theirs was processed (the user asked for the next batch), which keeps per-key order
across resharding. New shards come from ChildShards and a periodic ListShards.

Delivery is at-least-once: after a restart, records since the last checkpoint come again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Self

from ._generated.models import StartingPosition
from .checkpoints import Checkpoints
from .config import ConsumerConfig
from .paginators import Paginators
from .reader import ShardReader
from .records import ShardRecord

if TYPE_CHECKING:
    from ._generated.operations import Operations
    from ._invoker import Invoker
    from ._runtime import Runtime

log = logging.getLogger("aiokinesis.consumer")


class Batch:
    """One shard's records from one read, in order; `await batch.checkpoint()` once processed."""

    __slots__ = ("_commit", "millis_behind_latest", "records", "shard_id")

    def __init__(
        self,
        commit: Callable[[str, ShardRecord], Awaitable[None]],
        shard_id: str,
        records: list[ShardRecord],
        millis_behind_latest: int | None,
    ) -> None:
        self._commit = commit
        self.shard_id = shard_id
        self.records = records
        self.millis_behind_latest = millis_behind_latest

    def __iter__(self) -> Iterator[ShardRecord]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

    def __repr__(self) -> str:
        return f"<Batch {self.shard_id} {len(self.records)} records>"

    async def checkpoint(self) -> None:
        """Record that this batch (and everything before it on its shard) is processed.

        The write completes even if the caller is cancelled while awaiting it.
        """
        await self._commit(self.shard_id, self.records[-1])


@dataclass
class ShardProgress:
    """What one shard's reading looks like now (from `consumer.progress()`)."""

    shard_id: str
    parents: list[str]
    started: bool = False
    ended: bool = False
    records: int = 0
    """Records handed to the user so far."""
    millis_behind_latest: int | None = None
    record_age: float | None = None
    """Seconds since the newest record handed out arrived in the stream (None before the first)."""
    records_per_second: float = 0.0
    """Records handed out per second since the shard started."""
    started_at: float = field(default=0.0, repr=False)
    last_arrival: float | None = field(default=None, repr=False)
    throttles: int = 0
    retries: int = 0
    outstanding: int = field(default=0, repr=False)
    """Batches handed out and not yet processed."""
    processed: ShardRecord | None = field(default=None, repr=False)
    checkpointed: tuple[str, int] | None = field(default=None, repr=False)
    drained: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    reader: ShardReader | None = field(default=None, repr=False)


_STOP = object()


class StreamConsumer:
    """Reads every shard of a stream; use as `async with kinesis.consumer(...) as consumer:`."""

    def __init__(
        self,
        kinesis: Operations,
        invoker: Invoker,
        stream_name: str,
        *,
        checkpoints: Checkpoints,
        start: StartingPosition,
        config: ConsumerConfig,
        runtime: Runtime,
    ) -> None:
        self._kinesis = kinesis
        self._invoker = invoker
        self._paginate = Paginators(kinesis)
        self.stream_name = stream_name
        self._checkpoints = checkpoints
        self._start = start
        self._config = config
        self._runtime = runtime
        self._sleep = runtime.sleep
        self._shards: dict[str, ShardProgress] = {}
        self._ready: asyncio.Queue[Batch | object] = asyncio.Queue()
        self._slots = asyncio.Semaphore(config.max_buffered_batches)
        self._in_hand: Batch | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._group: asyncio.TaskGroup | None = None
        self._stopping = asyncio.Event()
        self._failure: BaseException | None = None

    # -- the user's side -----------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        self._supervisor = asyncio.create_task(self._supervise(), name=f"aiokinesis-consumer-{self.stream_name}")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None and self._in_hand is not None:
            self._processed(self._in_hand)  # the block ended normally: the batch in hand is done
            self._in_hand = None
        await asyncio.shield(self.aclose())

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Batch:
        if self._in_hand is not None:
            self._processed(self._in_hand)
            self._in_hand = None
        item = _STOP if self._stopping.is_set() else await self._ready.get()
        if not isinstance(item, Batch):
            self._ready.put_nowait(_STOP)  # every later call ends too
            if self._failure is not None:
                raise self._failure
            raise StopAsyncIteration
        self._slots.release()
        self._in_hand = item
        return item

    async def aclose(self) -> None:
        """Stop fetching and write the auto-checkpoints of processed batches; idempotent."""
        self._stopping.set()
        if self._supervisor is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        if self._config.checkpoint_interval is not None:
            await self._flush_checkpoints()

    def progress(self) -> list[ShardProgress]:
        """A snapshot of every known shard: started, ended, records, lag (behind the tip and
        record age), records a second, throttles and retries."""
        now = self._runtime.clock()
        for state in self._shards.values():
            if state.reader is not None:
                state.millis_behind_latest = state.reader.millis_behind_latest
                state.throttles = state.reader.throttles
                state.retries = state.reader.retries
            if state.last_arrival is not None:
                state.record_age = max(0.0, now - state.last_arrival)
            if state.started_at:
                state.records_per_second = state.records / max(1e-9, now - state.started_at)
        return list(self._shards.values())

    def _processed(self, batch: Batch) -> None:
        state = self._shards[batch.shard_id]
        state.processed = batch.records[-1]
        state.outstanding -= 1
        if state.outstanding == 0:
            state.drained.set()

    async def _checkpoint(self, shard_id: str, record: ShardRecord) -> None:
        position = (record.sequence_number, record.sub_sequence_number)
        await asyncio.shield(self._checkpoints.set(self.stream_name, shard_id, *position))
        self._shards[shard_id].checkpointed = position

    async def _flush_checkpoints(self) -> None:
        for shard_id, state in list(self._shards.items()):
            record = state.processed
            if record is not None and state.checkpointed != (record.sequence_number, record.sub_sequence_number):
                await self._checkpoint(shard_id, record)

    # -- the supervisor and its tasks ----------------------------------------------------------

    async def _supervise(self) -> None:
        try:
            async with asyncio.TaskGroup() as group:
                self._group = group
                await self._discover()
                group.create_task(self._rediscover(), name=f"aiokinesis-list-shards-{self.stream_name}")
                if self._config.checkpoint_interval is not None:
                    group.create_task(self._auto_checkpoint(), name=f"aiokinesis-checkpoints-{self.stream_name}")
                await self._stopping.wait()
                raise _Stopped
        except* _Stopped:
            pass
        except* Exception as failure:
            errors = failure.exceptions
            self._failure = errors[0] if len(errors) == 1 else failure
            log.error("consumer of %s failed: %r", self.stream_name, self._failure)
        finally:
            self._ready.put_nowait(_STOP)

    async def _discover(self) -> None:
        async for shard in self._paginate.list_shards(stream_name=self.stream_name):
            if shard.shard_id not in self._shards:
                parents = [p for p in (shard.parent_shard_id, shard.adjacent_parent_shard_id) if p is not None]
                self._shards[shard.shard_id] = ShardProgress(shard.shard_id, parents)
        self._schedule()

    async def _rediscover(self) -> None:
        while True:
            await self._sleep(self._config.list_shards_interval)
            await self._discover()

    async def _auto_checkpoint(self) -> None:
        interval = self._config.checkpoint_interval
        assert interval is not None
        while True:
            await self._sleep(interval)
            await self._flush_checkpoints()

    def _schedule(self) -> None:
        """Start every shard whose parents are all done (or gone from the stream's retention)."""
        assert self._group is not None
        for state in self._shards.values():
            if state.started or not all(p not in self._shards or self._shards[p].ended for p in state.parents):
                continue
            state.started = True
            self._group.create_task(self._read(state), name=f"aiokinesis-shard-{state.shard_id}")

    async def _read(self, state: ShardProgress) -> None:
        checkpoint = await self._checkpoints.get(self.stream_name, state.shard_id)
        children: list[tuple[str, list[str]]] = []
        if checkpoint is None or not checkpoint.ended:
            start, skip = self._start, None
            if checkpoint is not None and checkpoint.sequence_number is not None:
                # AT the checkpointed record, dropping what was processed: a checkpoint can sit
                # inside a KPL aggregate, whose user records share one sequence number.
                start = StartingPosition.at_sequence_number(checkpoint.sequence_number)
                skip = (checkpoint.sequence_number, checkpoint.sub_sequence_number)
            reader = ShardReader(
                self._kinesis,
                self._invoker,
                state.shard_id,
                start,
                stream_name=self.stream_name,
                config=self._config.reader,
                runtime=self._runtime,
            )
            state.reader = reader
            state.started_at = self._runtime.clock()
            log.info("reading shard %s of %s from %s", state.shard_id, self.stream_name, start.type)
            while (batch := await reader.next_batch()) is not None:
                records = batch.records
                if skip is not None:
                    records = [r for r in records if r.sequence_number != skip[0] or r.sub_sequence_number > skip[1]]
                    if any(r.sequence_number != skip[0] for r in batch.records):
                        skip = None
                if records:
                    await self._hand_out(state, records, batch.millis_behind_latest)
            if state.outstanding:
                await state.drained.wait()  # the user has processed every batch of this shard
            children = [(c.shard_id, list(c.parent_shards)) for c in reader.child_shards or []]
            await asyncio.shield(self._checkpoints.mark_ended(self.stream_name, state.shard_id))
        log.info("shard %s of %s ended", state.shard_id, self.stream_name)
        state.ended = True
        for child_id, parents in children:
            self._shards.setdefault(child_id, ShardProgress(child_id, parents))
        self._schedule()

    async def _hand_out(self, state: ShardProgress, records: list[ShardRecord], millis_behind: int | None) -> None:
        await self._slots.acquire()
        state.outstanding += 1
        state.records += len(records)
        arrival = records[-1].approximate_arrival_timestamp
        if arrival is not None:
            state.last_arrival = arrival.timestamp()
        state.drained.clear()
        self._ready.put_nowait(Batch(self._checkpoint, state.shard_id, records, millis_behind))


class _Stopped(Exception):
    """Raised inside the supervisor's TaskGroup to cancel its tasks on close."""
