"""Receiving: long polls from several receivers, under a cap on messages held (the flow controller).

Each receiver reserves room for up to ten messages before it asks for them, so the consumer never
holds more than QueueConfig.max_held received-and-unfinished messages: a slow handler leaves no
room, receiving waits, and nothing piles up. A receive the service refuses with a retryable error
(after the session's own retries) is tried again after the runtime's backoff; any other error
(the queue or its stream gone, KMS, access) ends receiving and is what the consumer raises.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import KinesisError
from ._acker import retryable

if TYPE_CHECKING:
    from .._generated.models import QueueRecord
    from .._generated.operations import Operations
    from .._queue_config import QueueConfig
    from .._runtime import Runtime

log = logging.getLogger("aiokinesis.queues")

RECEIVE_LIMIT = 10
"""Records per ReceiveQueueRecords at most (the model's limit)."""


class Capacity:
    """Room for messages under the cap: reserved before a receive, given back as messages finish."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.free = limit
        self._room = asyncio.Event()
        self._room.set()

    async def reserve(self, most: int) -> int:
        """Wait for room, then take up to `most` of it."""
        while self.free <= 0:
            self._room.clear()
            await self._room.wait()
        taken = min(most, self.free)
        self.free -= taken
        return taken

    def give(self, count: int) -> None:
        self.free += count
        if self.free > 0:
            self._room.set()

    @property
    def held(self) -> int:
        return self.limit - self.free


def named(error: BaseException, queue: str) -> BaseException:
    """The error with a note naming the queue (once), its class kept: the modeled errors stay catchable."""
    note = f"queue: {queue}"
    if note not in getattr(error, "__notes__", ()):
        error.add_note(note)
    return error


async def receive(
    kinesis: Operations,
    queue_arn: str,
    *,
    capacity: Capacity,
    visibility_timeout: int,
    config: QueueConfig,
    runtime: Runtime,
    deliver: Callable[[list[QueueRecord], float], None],
) -> None:
    """Receive until cancelled; raises (with the queue named) the first error not worth retrying.

    Cancelled while a receive is under way, the records that receive would have returned stay
    invisible for their visibility timeout (no answer, no receipt handles to release)."""
    failures = 0
    while True:
        room = await capacity.reserve(RECEIVE_LIMIT)
        try:
            out = await kinesis.receive_queue_records(
                queue_arn=queue_arn,
                limit=room,
                wait_time_seconds=config.wait_time,
                visibility_timeout_seconds=visibility_timeout,
            )
        except KinesisError as exc:
            capacity.give(room)
            if not retryable(exc):
                named(exc, queue_arn)
                raise
            failures += 1  # not bounded by max_attempts: receiving goes on until the consumer closes
            delay = runtime.backoff(config.retry_base_delay, failures, config.retry_max_delay)
            log.info("queue %s: receive failed (%r), again in %.3f s", queue_arn, exc, delay)
            await runtime.sleep(delay)
            continue
        except BaseException:
            capacity.give(room)
            raise
        failures = 0
        records = out.queue_records
        capacity.give(room - len(records))  # more than asked for (a misbehaving server) still counts
        if records:
            deliver(records, runtime.clock())
