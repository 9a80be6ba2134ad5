"""Consumer: every shard of a stream fanned into one async iterator of batches.

One task per shard reads its RecordSource (GetRecords polling by default, SubscribeToShard with
enhanced fan-out); all are owned by a TaskGroup in one supervisor task. Batches reach the user
through a bounded number of slots, so a slow user pauses fetching and nothing is ever skipped. A
child shard starts only once all its parents were read to their end and every batch of theirs was
processed (the user asked for the next batch), which keeps per-key order across resharding. New
shards come from ChildShards and a periodic ListShards. The ShardStore says which shards this
consumer may read and where each starts, and keeps their progress; a shard it takes away stops at
once, its unprocessed batches dropped and never checkpointed. With leases, whether a shard is still
this worker's is asked again before every batch is handed out and before every checkpoint.

Delivery is at-least-once: after a restart, records since the last checkpoint come again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Self

from ._checkpointing import CheckpointWriter
from ._closing import closing_task
from ._shardstate import ShardProgress, ShardState
from ._shardstore import ShardInfo
from .errors import ClientClosedError, ConsumerDeletedError, LeaseLostError
from .paginators import Paginators
from .records import ShardRecord

if TYPE_CHECKING:
    from ._generated.operations import Operations
    from ._metrics import MetricsSink
    from ._recordsource import RecordSources
    from ._runtime import Runtime
    from ._shardstore import ShardStore
    from .config import ConsumerConfig

log = logging.getLogger("aiokinesis.consumer")


class Batch:
    """One shard's records from one read, in order; `await batch.checkpoint()` once processed."""

    __slots__ = ("_consumer", "_generation", "_shard", "millis_behind_latest", "records", "shard_id")

    def __init__(
        self, consumer: StreamConsumer, shard: ShardState, records: list[ShardRecord], millis_behind_latest: int | None
    ) -> None:
        self._consumer = consumer
        self._shard = shard
        self._generation = shard.generation
        self.shard_id = shard.shard_id
        self.records = records
        """The shard's records from one read, in order (KPL aggregates split)."""
        self.millis_behind_latest = millis_behind_latest
        """How far the read was behind the shard's tip, as Kinesis said (None when it did not)."""

    def __iter__(self) -> Iterator[ShardRecord]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

    def __repr__(self) -> str:
        return f"<Batch {self.shard_id} {len(self.records)} records>"

    async def checkpoint(self) -> None:
        """Record that this batch (and everything before it on its shard) is processed.

        The write completes even if the caller is cancelled while awaiting it. Nothing is written
        once the shard has ended. If this worker lost the shard since handing the batch out (its
        lease moved on), LeaseLostError is raised and nothing is written: the shard's new holder
        reads its records again from the last checkpoint.
        """
        await self._consumer._commit(self)  # noqa: SLF001 - Batch is this module's own


def _after(records: list[ShardRecord], processed: tuple[str, int]) -> tuple[list[ShardRecord], bool]:
    """The records past `processed`, and whether the read has moved past its sequence number."""
    sequence, sub = processed
    kept = [r for r in records if r.sequence_number != sequence or r.sub_sequence_number > sub]
    return kept, any(r.sequence_number != sequence for r in records)


_STOP = object()


class StreamConsumer:
    """Reads every shard of a stream; use as `async with kinesis.consumer(...) as consumer:`.

    Each shard's records come from `sources`; `store` says which shards this consumer may read,
    where each starts, and keeps how far each is processed.
    """

    def __init__(
        self,
        kinesis: Operations,
        stream_name: str,
        *,
        sources: RecordSources,
        store: ShardStore,
        config: ConsumerConfig,
        runtime: Runtime,
        metrics: MetricsSink | None = None,
    ) -> None:
        self._paginate = Paginators(kinesis)
        self._metrics = metrics
        self.stream_name = stream_name
        self._sources = sources
        self._store = store
        self._config = config
        self._runtime = runtime
        self._sleep = runtime.sleep
        self._shards: dict[str, ShardState] = {}
        self._ready: asyncio.Queue[Batch | object] = asyncio.Queue()
        self._slots = asyncio.Semaphore(config.max_buffered_batches)
        self._in_hand: Batch | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._group: asyncio.TaskGroup | None = None
        self._stopping = asyncio.Event()
        self._closing: asyncio.Task[None] | None = None
        self._failure: BaseException | None = None
        self._checkpoints = CheckpointWriter(stream_name, store, lose=self._lose, metrics=metrics)

    # -- the user's side -----------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._supervisor is not None or self._closing is not None:
            raise RuntimeError(f"the consumer of {self.stream_name} was opened or closed before: make a new one")
        self._store.watch(self._store_changed)
        self._supervisor = asyncio.create_task(self._supervise(), name=f"aiokinesis-consumer-{self.stream_name}")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None and self._in_hand is not None:
            self._processed(self._in_hand)  # the block ended normally: the batch in hand is done
            self._in_hand = None
        await self.aclose()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Batch:
        if self._in_hand is not None:
            self._processed(self._in_hand)
            self._in_hand = None
        while True:
            item = _STOP if self._stopping.is_set() else await self._ready.get()
            if not isinstance(item, Batch):
                self._ready.put_nowait(_STOP)  # every later call ends too
                if self._failure is not None:
                    raise self._failure
                raise StopAsyncIteration
            self._slots.release()
            shard = item._shard  # noqa: SLF001 - Batch is this module's own
            if self._store.readable([shard.shard_id]):
                self._in_hand = item
                return item
            shard.records -= len(item)  # no longer this worker's (its lease ran out): drop it and the rest
            self._lose(shard)

    async def aclose(self) -> None:
        """Stop fetching, write the auto-checkpoints of processed batches, then hand back the
        shards' leases (if any) so other workers take them at once; idempotent. Closing is a task
        of its own: every call (a signal handler's, say) waits for it, and cancelling a call stops
        only that call's wait, so leaving `async with` cancelled still closes, in the background."""
        self._stopping.set()
        if self._closing is None:
            self._closing = closing_task(
                self._close(),
                name=f"aiokinesis-consumer-close-{self.stream_name}",
                what=f"the consumer of {self.stream_name}",
                log=log,
            )
        await asyncio.shield(self._closing)

    async def _close(self) -> None:
        if self._supervisor is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        try:
            if self._config.checkpoint_interval is not None:
                await self._checkpoints.flush(self._shards.values())
            await self._store.close()
        finally:
            await self._sources.aclose()

    def progress(self) -> list[ShardProgress]:
        """A snapshot of every known shard: started, ended, records, lag (behind the tip and
        record age), records a second, throttles, retries, the last checkpoint, and who holds it
        (with leases: its owner and counter, and whether this worker holds it)."""
        now = self._runtime.clock()
        return [shard.snapshot(now, self._store.holding(shard.shard_id)) for shard in self._shards.values()]

    def _processed(self, batch: Batch) -> None:
        shard = batch._shard  # noqa: SLF001 - Batch is this module's own
        if batch._generation != shard.generation:  # noqa: SLF001 - Batch is this module's own
            return  # the shard was taken away since: its batches count for nothing
        shard.processed = batch.records[-1]
        shard.outstanding -= 1
        if shard.outstanding == 0:
            shard.drained.set()

    async def _commit(self, batch: Batch) -> None:
        await self._checkpoints.write(batch._shard, batch._generation, batch.records[-1])  # noqa: SLF001 - Batch is this module's own

    # -- the store's side ----------------------------------------------------------------------

    def _store_changed(self) -> None:
        """The store may answer otherwise now: stop the shards it took away, start those it gave."""
        for info in self._store.shards():
            if info.shard_id not in self._shards:
                self._shards[info.shard_id] = ShardState(info.shard_id, info.parents, info.hash_range)
        reading = [shard.shard_id for shard in self._shards.values() if shard.started and not shard.ended]
        kept = set(self._store.readable(reading))
        for shard_id in reading:
            if shard_id not in kept:
                self._lose(self._shards[shard_id])
        self._schedule()

    def _lose(self, shard: ShardState) -> None:
        """Stop reading the shard and drop its unprocessed batches, checkpointing none of them."""
        log.log(
            logging.WARNING if shard.outstanding else logging.INFO,
            "shard %s of %s: no longer this worker's; dropping its %d unprocessed batches",
            shard.shard_id,
            self.stream_name,
            shard.outstanding,
        )
        shard.generation += 1
        shard.started = False
        shard.outstanding = 0
        shard.processed = None
        if shard.task is not None:
            shard.task.cancel()
            shard.task = None
        kept: list[Batch | object] = []
        while not self._ready.empty():
            item = self._ready.get_nowait()
            if isinstance(item, Batch) and item._shard is shard:  # noqa: SLF001 - Batch is this module's own
                shard.records -= len(item)
                self._slots.release()
            else:
                kept.append(item)
        for item in kept:
            self._ready.put_nowait(item)

    # -- the supervisor and its tasks ----------------------------------------------------------

    async def _supervise(self) -> None:
        try:
            async with asyncio.TaskGroup() as group:
                self._group = group
                group.create_task(self._open(group), name=f"aiokinesis-consumer-open-{self.stream_name}")
                await self._stopping.wait()
                raise _Stopped
        except* _Stopped:
            pass
        except* Exception as failure:
            errors = failure.exceptions
            # Every reader met the client's close (or the loss of the enhanced fan-out consumer they all
            # read through): one error says it, not a group of them.
            alike = len({type(error) for error in errors}) == 1 and isinstance(
                errors[0], ClientClosedError | ConsumerDeletedError
            )
            self._failure = errors[0] if len(errors) == 1 or alike else failure
            log.error("consumer of %s failed: %r", self.stream_name, self._failure)
        finally:
            self._group = None
            self._ready.put_nowait(_STOP)

    async def _open(self, group: asyncio.TaskGroup) -> None:
        """Prepare the sources, find the shards, start the consumer's own tasks. A task beside the
        wait for a stop: a close need not wait out an enhanced fan-out consumer's registration
        (up to `FanOutConfig.active_timeout`) or a ListShards being retried."""
        await self._sources.setup()
        await self._discover()
        group.create_task(self._store.run(), name=f"aiokinesis-shard-store-{self.stream_name}")
        group.create_task(self._rediscover(), name=f"aiokinesis-list-shards-{self.stream_name}")
        if self._config.checkpoint_interval is not None:
            group.create_task(self._auto_checkpoint(), name=f"aiokinesis-checkpoints-{self.stream_name}")

    async def _discover(self) -> None:
        listed = [ShardInfo.of(shard) async for shard in self._paginate.list_shards(stream_name=self.stream_name)]
        for info in listed:
            if info.shard_id not in self._shards:
                self._shards[info.shard_id] = ShardState(info.shard_id, info.parents, info.hash_range)
        await self._store.discovered(listed)
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
            await self._checkpoints.flush(self._shards.values())

    def _schedule(self) -> None:
        """Start every shard whose parents are all done (read here to their end, finished by
        another worker, or gone from the stream's retention) and that the store lets this consumer read."""
        group = self._group
        if group is None or self._stopping.is_set():
            return
        shards, finished = self._shards, self._store.finished
        ready = [
            shard.shard_id
            for shard in shards.values()
            if not shard.started
            and not shard.ended
            and all(p not in shards or shards[p].ended or finished(p) for p in shard.parents)
        ]
        allowed = set(self._store.readable(ready)) if ready else set()
        for shard_id in (shard_id for shard_id in ready if shard_id in allowed):
            shard = shards[shard_id]
            shard.started = True
            shard.task = group.create_task(self._read(shard), name=f"aiokinesis-shard-{shard_id}")

    async def _read(self, shard: ShardState) -> None:
        generation = shard.generation
        try:
            children = await self._read_to_end(shard)
        except LeaseLostError as exc:
            log.info("shard %s of %s: %s", shard.shard_id, self.stream_name, exc)
            if shard.generation == generation:
                self._lose(shard)
            return
        log.info("shard %s of %s ended", shard.shard_id, self.stream_name)
        shard.ended = True
        shard.task = None
        for child in children:
            if child.shard_id not in self._shards:
                self._shards[child.shard_id] = ShardState(child.shard_id, child.parents, child.hash_range)
        self._schedule()

    async def _read_to_end(self, shard: ShardState) -> list[ShardInfo]:
        """Read the shard to its end and wait until every batch of it is processed; its children."""
        begin = await self._store.start(shard.shard_id)
        children: list[ShardInfo] = []
        if begin is not None:
            source = self._sources.open(shard.shard_id, begin.position, shard.hash_range)
            shard.source = source
            if not shard.started_at:
                shard.started_at = self._runtime.clock()
            log.info("reading shard %s of %s from %s", shard.shard_id, self.stream_name, begin.position.type)
            processed = begin.processed
            try:
                while (batch := await source.next_batch()) is not None:
                    records = batch.records
                    if processed is not None:
                        records, moved_on = _after(records, processed)
                        if moved_on:
                            processed = None
                    if records:
                        await self._hand_out(shard, records, batch.millis_behind_latest)
            finally:  # ended, taken away, failed or closing: nothing of it stays open
                source.close()
            if shard.outstanding:
                await shard.drained.wait()  # the user has processed every batch of this shard
            children = [ShardInfo.of(child) for child in source.child_shards or ()]
            await asyncio.shield(self._store.mark_ended(shard.shard_id, children))
        return children

    async def _hand_out(self, shard: ShardState, records: list[ShardRecord], millis_behind: int | None) -> None:
        await self._slots.acquire()
        if not self._store.readable([shard.shard_id]):
            self._slots.release()
            raise LeaseLostError(shard.shard_id, "no longer this worker's; its batch is dropped")
        shard.outstanding += 1
        shard.records += len(records)
        arrival = records[-1].approximate_arrival_timestamp
        if arrival is not None:
            shard.last_arrival = arrival.timestamp()
        if self._metrics is not None:
            age = None if arrival is None else self._runtime.clock() - arrival.timestamp()
            self._metrics.consumer_batch(
                self.stream_name, shard.shard_id, records=len(records), millis_behind_latest=millis_behind, age=age
            )
        shard.drained.clear()
        self._ready.put_nowait(Batch(self, shard, records, millis_behind))


class _Stopped(Exception):
    """Raised inside the supervisor's TaskGroup to cancel its tasks on close."""
