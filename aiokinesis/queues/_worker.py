"""QueueConsumer: a queue's records as messages to handle, acknowledge or release.

The pieces, after google-cloud-pubsub's streaming pull and aiokafka's commit batching: receivers
under a cap on held messages (_receiver), a leaser that extends the visibility of whatever is
held (_extender), and two batchers, one for acknowledgements and one for visibility changes
(_acker). All run in one TaskGroup owned by a supervisor task; `run()` owns its handlers' tasks.

Closing stops receiving, releases at once what was received and never handed out, lets run()'s
handlers in flight finish (up to close_timeout, then cancels them and releases their messages),
releases what the iterator handed out and was never settled, then sends every acknowledgement
and release waiting. Nothing is left to wait out a visibility timeout, except what a receive cut
short by closing was about to return (no receipt handles came back to release).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import warnings
from collections import deque
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Self

from .._closing import closing_task
from .._generated.models import AcknowledgeQueueRecordsRequestEntry, UpdateQueueRecordsVisibilityRequestEntry
from ..errors import KinesisError
from ._acker import EntryBatcher, Failures
from ._deadletters import DeadLetters, check_wait_time
from ._extender import Extender
from ._message import QueueClosedError, QueueMessage, QueueStats, State, check_concurrency, check_delay
from ._names import check_queue, describe_queue, max_receives, visibility_timeout
from ._receiver import Capacity, receive

if TYPE_CHECKING:
    from .._generated.models import QueueDescription, QueueRecord
    from .._generated.operations import Operations
    from .._queue_config import QueueConfig
    from .._runtime import Runtime

log = logging.getLogger("aiokinesis.queues")

Handler = Callable[[QueueMessage], Awaitable[object]]


class QueueConsumer:
    """Receives a queue's records; use as `async with kinesis.queue_consumer("orders-work") as queue:`,
    then `async for message in queue:` (ack or release each) or `await queue.run(handler)`."""

    def __init__(self, kinesis: Operations, queue: str, *, config: QueueConfig, runtime: Runtime) -> None:
        is_arn = check_queue(queue)
        self._kinesis = kinesis
        self.queue = queue
        """The queue as given: a name or an ARN."""
        self.queue_arn: str | None = queue if is_arn else None
        """Its ARN (known once open, for a name)."""
        self.description: QueueDescription | None = None
        """The queue as DescribeQueue answered at open."""
        self.stats = QueueStats()
        """Counters of this consumer, updated as things happen."""
        self._config = config
        self._runtime = runtime
        self._held: dict[str, QueueMessage] = {}
        self._ready: deque[QueueMessage] = deque()
        self._arrived = asyncio.Event()
        self._capacity = Capacity(config.held_limit)
        self._visibility_timeout = config.visibility_timeout or 0
        self._max_receives: int | None = None
        self._stopping = False
        self._failure: BaseException | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._receivers: list[asyncio.Task[None]] = []
        self._extender_task: asyncio.Task[None] | None = None
        self._workers: set[asyncio.Task[None]] = set()
        self._handling = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._opened = False
        self._closing: asyncio.Task[None] | None = None
        self._acks: EntryBatcher | None = None
        self._changes: EntryBatcher | None = None
        self._extender: Extender | None = None

    def __repr__(self) -> str:
        return f"<QueueConsumer {self.queue} in flight={len(self._held)}>"

    # -- lifecycle ------------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._opened or self._closing is not None:
            raise QueueClosedError(f"the consumer of queue {self.queue} was opened before: make a new one")
        self._opened = True  # before the first await: two opening at once would run two supervisors
        try:
            arn = await self._describe()
        except BaseException:
            self._opened = False  # nothing started: it may be opened again (the queue created meanwhile)
            raise
        if self._closing is not None:
            raise QueueClosedError(f"the consumer of queue {self.queue} was closed while it opened")
        config = self._config
        self._acks = EntryBatcher("acknowledgement", self._send_acks, queue=arn, config=config, runtime=self._runtime)
        self._changes = EntryBatcher(
            "visibility change", self._send_changes, queue=arn, config=config, runtime=self._runtime
        )
        extender = Extender(
            self._held,
            self._changes,
            visibility_timeout=self._visibility_timeout,
            config=config,
            runtime=self._runtime,
            stats=self.stats,
            lapsed=self._lapse,
        )
        self._extender = extender
        self._supervisor = asyncio.create_task(self._supervise(arn), name=f"aiokinesis-queue-{self.queue}")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def _describe(self) -> str:
        """The queue's ARN (a name is looked up), its visibility timeout and MaxReceiveCount."""
        arn, description = await describe_queue(self._kinesis, self.queue, self.queue_arn)
        self.queue_arn = arn
        self.description = description
        if self._config.visibility_timeout is None:
            self._visibility_timeout = visibility_timeout(description)
        self._max_receives = max_receives(description)
        return arn

    async def _supervise(self, arn: str) -> None:
        assert self._acks is not None
        assert self._changes is not None
        extender = self._extender
        assert extender is not None
        async with asyncio.TaskGroup() as group:
            group.create_task(self._acks.run(), name=f"aiokinesis-queue-acks-{self.queue}")
            group.create_task(self._changes.run(), name=f"aiokinesis-queue-visibility-{self.queue}")
            self._extender_task = group.create_task(extender.run(), name=f"aiokinesis-queue-extender-{self.queue}")
            for n in range(self._config.receiver_count):
                task = group.create_task(self._receive(arn), name=f"aiokinesis-queue-receiver-{n}-{self.queue}")
                self._receivers.append(task)

    async def _receive(self, arn: str) -> None:
        try:
            await receive(
                self._kinesis,
                arn,
                capacity=self._capacity,
                visibility_timeout=self._visibility_timeout,
                config=self._config,
                runtime=self._runtime,
                deliver=self._deliver,
            )
        except KinesisError as exc:
            if self._failure is None:
                log.error("queue %s: receiving failed: %r", self.queue, exc)
                self._failure = exc
                for task in self._receivers:
                    if task is not asyncio.current_task():
                        task.cancel()
            self._arrived.set()

    async def aclose(self) -> None:
        """Stop receiving and finish up (see the module's docstring); idempotent. Every call waits
        for the one closing, and cancelling a call only stops its wait: closing goes on. Called
        from a run() handler it returns at once, and closing waits for that handler as for the rest."""
        self._stopping = True
        self._arrived.set()
        if self._closing is None:
            self._closing = closing_task(
                self._wind_down(), name=f"aiokinesis-queue-close-{self.queue}", what=f"queue {self.queue}", log=log
            )
        if asyncio.current_task() not in self._workers:
            await asyncio.shield(self._closing)

    async def _wind_down(self) -> None:
        if self._supervisor is None:
            return
        for task in self._receivers:
            task.cancel()
        if self._receivers:
            await asyncio.wait(self._receivers)
        while self._ready:  # received, never handed out
            message = self._ready.popleft()
            if message.state is State.HELD and not message.settled:
                message.settle_release(0)
        if self._handling:
            await self._runtime.wait(self._idle, self._config.close_timeout)
        workers = set(self._workers)
        for task in workers:
            task.cancel()  # a handler past close_timeout: its message is released
        if workers:
            await asyncio.wait(workers)
        for message in list(self._held.values()):  # handed out through the iterator, never settled
            if message.state is State.DELIVERED and not message.settled:
                message.settle_release(0)
        if self._extender_task is not None:
            self._extender_task.cancel()
        assert self._acks is not None
        assert self._changes is not None
        self._acks.close()
        self._changes.close()
        with contextlib.suppress(asyncio.CancelledError):
            await self._supervisor

    def __del__(self) -> None:
        supervisor = getattr(self, "_supervisor", None)
        if supervisor is not None and not supervisor.done():
            warnings.warn(f"unclosed queue consumer of {self.queue}: use 'async with'", ResourceWarning, stacklevel=1)

    # -- handing messages out -------------------------------------------------------------------

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> QueueMessage:
        """The next message; ends once the consumer closes, or raises why receiving stopped
        (ResourceNotFoundException: the queue or its stream is gone; a KMS error; ...)."""
        message = await self._next()
        if message is None:
            if self._failure is not None:
                raise self._failure
            raise StopAsyncIteration
        return message

    async def _next(self) -> QueueMessage | None:
        if self._supervisor is None:
            raise QueueClosedError(f"open the consumer of queue {self.queue} first: 'async with'")
        while not self._stopping:  # closing hands out nothing more: it releases what is ready
            while self._ready:
                message = self._ready.popleft()
                if message.state is State.HELD and not message.settled:
                    message.state = State.DELIVERED
                    return message
            if self._failure is not None:
                return None
            self._arrived.clear()
            await self._arrived.wait()
        return None

    async def run(self, handler: Handler, *, concurrency: int | None = None) -> None:
        """Handle messages with `concurrency` handlers at once (default QueueConfig.concurrency) until
        the consumer closes: a message is acknowledged when its handler returns and released (visible
        again after QueueConfig.release_delay) when it raises; a handler may ack() or release() it
        itself. Raises what stopped receiving, as iterating does. Cancelled, its handlers are
        cancelled and their messages released at once."""
        if not callable(handler):
            raise TypeError(f"handler must be an async function of a QueueMessage, not {handler!r}")
        count = check_concurrency(self._config.concurrency if concurrency is None else concurrency)
        if self._supervisor is None or self._closing is not None:
            raise QueueClosedError(f"open the consumer of queue {self.queue} first: 'async with'")
        async with asyncio.TaskGroup() as group:
            for n in range(count):
                task = group.create_task(self._work(handler), name=f"aiokinesis-queue-handler-{n}-{self.queue}")
                self._workers.add(task)
                task.add_done_callback(self._workers.discard)
        if self._failure is not None:
            raise self._failure

    async def _work(self, handler: Handler) -> None:
        while True:
            message = await self._next()
            if message is None:
                return
            self._handling += 1
            self._idle.clear()
            try:
                await handler(message)
            except asyncio.CancelledError:
                if not message.settled:
                    message.settle_release(0)
                raise
            except Exception:
                delay = self._config.release_delay
                log.exception(
                    "queue %s: the handler failed on record %s: released for %d s", self.queue, message.record_id, delay
                )
                if not message.settled:
                    message.settle_release(delay)
            else:
                if not message.settled:
                    message.settle_ack()
            finally:
                self._handling -= 1
                if self._handling == 0:
                    self._idle.set()

    def dead_letters(self, *, visibility_timeout: int | None = None, wait_time: int = 1) -> DeadLetters:
        """`async for record in queue.dead_letters():` the queue's dead-letter records visible now,
        each to `ack()` (discard) or `restore()`; it ends at the first receive (a `wait_time` second
        long poll, 1 to 20) that finds none. `visibility_timeout` (0 to 43,200; None: the queue's)
        hides each from other readers meanwhile."""
        if visibility_timeout is not None:
            check_delay(visibility_timeout, "visibility_timeout")
        check_wait_time(wait_time)
        if self.queue_arn is None or self._supervisor is None:
            raise QueueClosedError(f"open the consumer of queue {self.queue} first: 'async with'")
        return DeadLetters(
            self._kinesis,
            self.queue_arn,
            visibility_timeout=visibility_timeout,
            wait_time=wait_time,
            config=self._config,
            runtime=self._runtime,
            stats=self.stats,
        )

    # -- the messages' side (Settler), and the receivers' ---------------------------------------

    def _deliver(self, records: list[QueueRecord], now: float) -> None:
        stats = self.stats
        for record in records:
            if record.receipt_handle in self._held:
                self._capacity.give(1)  # the same delivery twice: hold it once
                continue
            message = QueueMessage(record, self, received_at=now, visible_until=now + self._visibility_timeout)
            self._held[record.receipt_handle] = message
            stats.received += 1
            if record.receive_count > 1:
                stats.redeliveries += 1
            if self._stopping:
                message.settle_release(0)
            else:
                self._ready.append(message)
        stats.in_flight = len(self._held)
        self._arrived.set()
        if self._extender is not None:
            self._extender.wake()

    def ack(self, message: QueueMessage) -> asyncio.Future[None]:
        if self._acks is None:
            raise QueueClosedError(f"the consumer of queue {self.queue} is not open")
        future = self._acks.submit(message.receipt_handle, message.record_id)
        future.add_done_callback(lambda done: self._finished(message, done))
        return future

    def release(self, message: QueueMessage, delay: int) -> asyncio.Future[None]:
        if self._changes is None:
            raise QueueClosedError(f"the consumer of queue {self.queue} is not open")
        future = self._changes.submit(message.receipt_handle, message.record_id, delay)
        future.add_done_callback(lambda done: self._finished(message, done))
        return future

    def _finished(self, message: QueueMessage, done: asyncio.Future[None]) -> None:
        self._drop(message)
        stats = self.stats
        error = None if done.cancelled() else done.exception()
        if done.cancelled() or error is not None:
            stats.failed += 1
            log.warning("queue %s: %s of record %s failed: %s", self.queue, message.action, message.record_id, error)
        elif message.action == "ack":
            stats.acked += 1
        else:
            stats.released += 1
        if (
            message.action == "release"
            and self._max_receives is not None
            and message.receive_count >= self._max_receives
        ):
            stats.dead_lettered += 1

    def _lapse(self, message: QueueMessage) -> None:
        """Its visibility ran out while held: the queue may deliver it elsewhere; stop counting it."""
        if self._drop(message):
            self.stats.lapsed += 1
            log.warning("queue %s: record %s lapsed (visibility ran out while held)", self.queue, message.record_id)

    def _drop(self, message: QueueMessage) -> bool:
        message.state = State.DONE
        if self._held.get(message.receipt_handle) is not message:
            return False
        del self._held[message.receipt_handle]
        self._capacity.give(1)
        self.stats.in_flight = len(self._held)
        return True

    # -- the batchers' calls ------------------------------------------------------------------

    async def _send_acks(self, entries: list[tuple[str, int | None]]) -> Failures:
        assert self.queue_arn is not None
        out = await self._kinesis.acknowledge_queue_records(
            queue_arn=self.queue_arn,
            entries=[AcknowledgeQueueRecordsRequestEntry(receipt_handle=handle) for handle, _ in entries],
        )
        return {f.receipt_handle: (f.error_code, f.error_message) for f in out.failed}

    async def _send_changes(self, entries: list[tuple[str, int | None]]) -> Failures:
        assert self.queue_arn is not None
        out = await self._kinesis.update_queue_records_visibility(
            queue_arn=self.queue_arn,
            entries=[
                UpdateQueueRecordsVisibilityRequestEntry(receipt_handle=handle, visibility_timeout_seconds=seconds or 0)
                for handle, seconds in entries
            ],
        )
        return {f.receipt_handle: (f.error_code, f.error_message) for f in out.failed}
