"""A queue's dead-letter records, to inspect and then discard (ack) or restore one by one.

An inspection tool rather than a worker: it owns no tasks, receives ten at a time with a short
long poll and ends at the first receive that finds none. Each ack() / restore() is its own call
(one entry), retried as the batched ones are: on a retryable entry code, or a retryable failure of
the whole call (throttling, a 5xx, a lost connection), up to QueueConfig.max_attempts.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Self

from .._generated.models import (
    AcknowledgeDeadLetterQueueRecordsRequestEntry,
    RestoreDeadLetterQueueRecordsRequestEntry,
)
from ..errors import ParamValidationError
from ._acker import again_after
from ._message import QueueEntryError
from ._receiver import named

if TYPE_CHECKING:
    from .._generated.models import QueueRecord
    from .._generated.operations import Operations
    from .._queue_config import QueueConfig
    from .._runtime import Runtime
    from ._message import QueueStats

# One entry's answer: (ErrorCode, ErrorMessage) if it failed, None if it was applied.
_Call = Callable[[], Awaitable["tuple[str, str | None] | None"]]


class DeadLetterRecord:
    """A record the queue gave up on after MaxReceiveCount receives: `await record.ack()` discards
    it, `await record.restore()` returns it to the queue (its receive count reset)."""

    __slots__ = (
        "_letters",
        "approximate_arrival_timestamp",
        "data",
        "first_receive_timestamp",
        "partition_key",
        "receipt_handle",
        "receive_count",
        "record_id",
    )

    def __init__(self, record: QueueRecord, letters: DeadLetters) -> None:
        self.data: bytes = record.data
        """The same data and partition key as when it was first delivered."""
        self.partition_key: str | None = record.partition_key
        self.record_id: str = record.record_id
        """The record's identifier, the same as on its earlier deliveries."""
        self.receipt_handle: str = record.receipt_handle
        self.receive_count: int = record.receive_count
        self.approximate_arrival_timestamp: datetime = record.approximate_arrival_timestamp
        self.first_receive_timestamp: datetime = record.first_receive_timestamp
        self._letters = letters

    def __repr__(self) -> str:
        return f"<DeadLetterRecord {self.record_id} receive_count={self.receive_count}>"

    async def ack(self) -> None:
        """Discard it: the queue will not return it again. Raises QueueEntryError if refused."""
        await self._letters.settle(self, "discard")

    async def restore(self) -> None:
        """Return it to the queue's normal receive path, its receive count reset. Raises QueueEntryError if refused."""
        await self._letters.settle(self, "restore")


class DeadLetters:
    """`async for record in queue.dead_letters():` every dead-letter record visible now."""

    def __init__(
        self,
        kinesis: Operations,
        queue_arn: str,
        *,
        visibility_timeout: int | None,
        wait_time: int,
        config: QueueConfig,
        runtime: Runtime,
        stats: QueueStats,
    ) -> None:
        self._kinesis = kinesis
        self._queue_arn = queue_arn
        self._visibility = visibility_timeout
        self._wait_time = wait_time
        self._config = config
        self._runtime = runtime
        self._stats = stats
        self._buffer: deque[DeadLetterRecord] = deque()
        self._ended = False

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> DeadLetterRecord:
        if not self._buffer and not self._ended:
            try:
                out = await self._kinesis.receive_dead_letter_queue_records(
                    queue_arn=self._queue_arn,
                    limit=10,
                    wait_time_seconds=self._wait_time,
                    visibility_timeout_seconds=self._visibility,
                )
            except Exception as exc:
                named(exc, self._queue_arn)
                raise
            self._buffer.extend(DeadLetterRecord(record, self) for record in out.queue_records)
            self._ended = not out.queue_records
        if not self._buffer:
            raise StopAsyncIteration
        return self._buffer.popleft()

    async def settle(self, record: DeadLetterRecord, action: str) -> None:
        """Discard or restore one record, retried as the batched entries are; it goes on if the caller is cancelled."""
        handle = record.receipt_handle
        if action == "discard":

            async def call() -> tuple[str, str | None] | None:
                entry = AcknowledgeDeadLetterQueueRecordsRequestEntry(receipt_handle=handle)
                out = await self._kinesis.acknowledge_dead_letter_queue_records(
                    queue_arn=self._queue_arn, entries=[entry]
                )
                return next(((f.error_code, f.error_message) for f in out.failed if f.receipt_handle == handle), None)

        else:

            async def call() -> tuple[str, str | None] | None:
                entry = RestoreDeadLetterQueueRecordsRequestEntry(receipt_handle=handle)
                out = await self._kinesis.restore_dead_letter_queue_records(queue_arn=self._queue_arn, entries=[entry])
                return next(((f.error_code, f.error_message) for f in out.failed if f.receipt_handle == handle), None)

        await asyncio.shield(self._retried(call, record, action))
        if action == "discard":
            self._stats.dead_letters_acked += 1
        else:
            self._stats.dead_letters_restored += 1

    async def _retried(self, call: _Call, record: DeadLetterRecord, action: str) -> None:
        """The call until it succeeds, or the batched entries' policy (`again_after`) gives up."""
        config = self._config
        attempt = 0
        while True:  # bounded: again_after says None at max_attempts
            attempt += 1
            try:
                failure = await call()
            except Exception as exc:  # the whole call failed, after the session's own retries
                delay = again_after(exc, attempt, config, self._runtime)
                if delay is None:
                    named(exc, self._queue_arn)
                    raise
                await self._runtime.sleep(delay)
                continue
            if failure is None:
                return
            code, message = failure
            delay = again_after(code, attempt, config, self._runtime)
            if delay is None:
                raise QueueEntryError(
                    action=f"{action} of a dead letter",
                    code=code,
                    message=message,
                    record_id=record.record_id,
                    queue=self._queue_arn,
                    attempts=attempt,
                )
            await self._runtime.sleep(delay)


def check_wait_time(wait_time: object) -> int:
    """WaitTimeSeconds of a dead-letter receive: 1 to 20, or why not."""
    if isinstance(wait_time, bool) or not isinstance(wait_time, int) or not 1 <= wait_time <= 20:
        raise ParamValidationError("wait_time", f"must be an int from 1 to 20 seconds, not {wait_time!r}")
    return wait_time
