"""Entries by receipt handle (acknowledgements, visibility changes) batched ten to a call.

A partial batch waits `ack_linger` for more; ten go at once, and closing sends what waits. The
answer lists failed entries inside HTTP 200: a retryable code (throttling, internal failure) sends
the entry again after the runtime's full-jitter backoff, up to QueueConfig.max_attempts; any other
code (an expired or invalid receipt handle) fails that entry's future with QueueEntryError at once.
A call that fails as a whole with a retryable error (after the session's own retries) sends its
entries again the same way; another error fails them with it. That policy (`again_after`) is the
queue package's one: dead-letter calls and receives follow it too.
Two entries for one receipt handle never share a call, and the second waits for the first to be
answered: a release queued behind an extension must land after it, or the extension would undo it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import THROTTLING_CODES, TRANSIENT_CODES, KinesisError, ServiceError, TransportError
from ._message import QueueClosedError, QueueEntryError

if TYPE_CHECKING:
    from .._queue_config import QueueConfig
    from .._runtime import Runtime

log = logging.getLogger("aiokinesis.queues")

MAX_ENTRIES = 10
"""Entries per AcknowledgeQueueRecords / UpdateQueueRecordsVisibility (the model's limit)."""
CALLS_IN_FLIGHT = 8
"""Calls of one batcher under way at once: 80 entries per round trip."""
RETRYABLE_CODES = THROTTLING_CODES | TRANSIENT_CODES | {"InternalFailureException", "InternalFailure"}
"""Entry error codes worth sending again; the others (InvalidArgumentException: the receipt handle
expired or is not this queue's; ResourceNotFoundException) would fail the same way."""


def retryable(failure: str | BaseException) -> bool:
    """Whether an entry's ErrorCode (a str), or the error a whole call failed with after the session's
    own retries (throttling, a 5xx, a lost connection), is worth sending again."""
    if isinstance(failure, str):
        return failure in RETRYABLE_CODES
    return isinstance(failure, ServiceError | TransportError) and failure.retryable


def again_after(failure: str | BaseException, attempts: int, config: QueueConfig, runtime: Runtime) -> float | None:
    """The backoff before sending a failed entry or call again, after `attempts` of them; None: do not."""
    if attempts >= config.max_attempts or not retryable(failure):
        return None
    return runtime.backoff(config.retry_base_delay, attempts, config.retry_max_delay)


Failures = dict[str, tuple[str, str | None]]
"""The failed entries of one answer: receipt handle -> (ErrorCode, ErrorMessage)."""
Send = Callable[[list[tuple[str, int | None]]], Awaitable[Failures]]


@dataclass(slots=True, eq=False)
class Entry:
    handle: str
    value: int | None
    record_id: str
    future: asyncio.Future[None]
    attempts: int = 0
    not_before: float = 0.0
    """When it was queued (its linger runs from then), or after a refusal when it may go again."""


class EntryBatcher:
    """Batches one kind of entry for one queue; `run()` sends them until closed and drained."""

    def __init__(self, action: str, send: Send, *, queue: str, config: QueueConfig, runtime: Runtime) -> None:
        self.action = action
        self._send = send
        self._queue = queue
        self._config = config
        self._runtime = runtime
        self._pending: list[Entry] = []
        self._busy: set[str] = set()  # receipt handles with an entry in a call under way
        self._wake = asyncio.Event()
        self._calls = asyncio.Semaphore(CALLS_IN_FLIGHT)
        self._closing = False
        self._stopped = False

    def submit(self, handle: str, record_id: str, value: int | None = None) -> asyncio.Future[None]:
        """Queue one entry; the future resolves once the service applied it, or raises why not."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._stopped:
            future.set_exception(QueueClosedError(f"the consumer of queue {self._queue} is closed"))
            return future
        self._pending.append(Entry(handle, value, record_id, future, not_before=self._runtime.clock()))
        if len(self._pending) in (1, MAX_ENTRIES):
            self._wake.set()  # a linger starts, or a call is full
        return future

    @property
    def idle(self) -> bool:
        return not self._pending and not self._busy

    def close(self) -> None:
        """Send what waits without lingering; run() returns once every entry has its answer."""
        self._closing = True
        self._wake.set()

    async def run(self) -> None:
        try:
            async with asyncio.TaskGroup() as group:
                while not (self._closing and self.idle):
                    batch, wait = self._take()
                    if batch:
                        await self._calls.acquire()
                        group.create_task(self._call(batch), name=f"aiokinesis-queue-{self.action}-{self._queue}")
                        continue
                    self._wake.clear()
                    if wait is None:
                        await self._wake.wait()
                    else:
                        await self._runtime.wait(self._wake, wait)
        finally:
            self._stopped = True
            error = QueueClosedError(f"the consumer of queue {self._queue} closed before this was sent")
            for entry in self._pending:
                if not entry.future.done():
                    entry.future.set_exception(error)
            self._pending.clear()

    def _take(self) -> tuple[list[Entry], float | None]:
        """The next call's entries (none yet: how long to wait, None for a submit or a close)."""
        now = self._runtime.clock()
        linger = self._config.ack_linger
        urgent = self._closing
        ready: list[Entry] = []
        taken: set[str] = set()
        first: float | None = None  # the first refused entry whose backoff is not over
        for entry in self._pending:
            if entry.handle in self._busy or entry.handle in taken:
                continue  # the earlier entry of its receipt handle is answered first
            if entry.attempts and entry.not_before > now:
                first = entry.not_before if first is None else min(first, entry.not_before)
                continue
            ready.append(entry)
            taken.add(entry.handle)
            if len(ready) == MAX_ENTRIES:
                break
        if ready and (len(ready) == MAX_ENTRIES or urgent or min(e.not_before for e in ready) + linger <= now):
            for entry in ready:
                self._pending.remove(entry)
                self._busy.add(entry.handle)
            return ready, None
        due = [e.not_before + linger for e in ready]
        if first is not None:
            due.append(first)
        return [], (max(0.0, min(due) - now) if due else None)

    async def _call(self, batch: list[Entry]) -> None:
        try:
            for entry in batch:
                entry.attempts += 1
            try:
                failures = await self._send([(entry.handle, entry.value) for entry in batch])
            except asyncio.CancelledError:
                error = QueueClosedError(f"the consumer of queue {self._queue} was cancelled while sending this")
                for entry in batch:
                    if not entry.future.done():
                        entry.future.set_exception(error)
                raise
            except KinesisError as exc:  # the whole call failed, after the session's own retries
                # A retryable one (throttling, a dropped connection) is tried again as a retryable
                # entry code is: sustained throttling must not turn acknowledgements into redeliveries.
                for entry in batch:
                    if not self._again(entry, exc) and not entry.future.done():
                        entry.future.set_exception(exc)
                return
            for entry in batch:
                failure = failures.get(entry.handle)
                if failure is None:
                    if not entry.future.done():
                        entry.future.set_result(None)
                    continue
                code, message = failure
                if self._again(entry, code):
                    continue
                refused = QueueEntryError(
                    action=self.action,
                    code=code,
                    message=message,
                    record_id=entry.record_id,
                    queue=self._queue,
                    attempts=entry.attempts,
                )
                if not entry.future.done():
                    entry.future.set_exception(refused)
        finally:
            for entry in batch:
                self._busy.discard(entry.handle)
            self._calls.release()
            self._wake.set()

    def _again(self, entry: Entry, failure: str | BaseException) -> bool:
        """Queue a refused entry again after the backoff, if the policy says so (whether it did)."""
        delay = again_after(failure, entry.attempts, self._config, self._runtime)
        if delay is None:
            return False
        why = failure if isinstance(failure, str) else type(failure).__name__
        log.debug(
            "queue %s: %s of %s refused (%s), again in %.3f s", self._queue, self.action, entry.record_id, why, delay
        )
        entry.not_before = self._runtime.clock() + delay
        self._pending.append(entry)
        return True
