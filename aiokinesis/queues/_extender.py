"""The leaser: keeps every held message invisible to other consumers while this one has it.

A message is extended `lead` seconds before its visibility runs out (QueueConfig.extend_before, at
most half the visibility timeout), to the visibility timeout again, so long as that stays within
max_processing_time of its receipt. Messages coming due within half a lead of each other go in the
same batched UpdateQueueRecordsVisibility calls (google-cloud-pubsub's leaser does the same). One
whose extension is refused (its receipt handle expired) or whose time is up is left to lapse: the
queue may deliver it again, and its ack() will say so.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from ._message import QueueEntryError, QueueMessage, State

if TYPE_CHECKING:
    from .._queue_config import QueueConfig
    from .._runtime import Runtime
    from ._acker import EntryBatcher
    from ._message import QueueStats

log = logging.getLogger("aiokinesis.queues")


class Extender:
    """Extends the visibility of the messages in `held` (receipt handle -> message) until they finish."""

    def __init__(
        self,
        held: Mapping[str, QueueMessage],
        visibility: EntryBatcher,
        *,
        visibility_timeout: int,
        config: QueueConfig,
        runtime: Runtime,
        stats: QueueStats,
        lapsed: Callable[[QueueMessage], None],
    ) -> None:
        self._held = held
        self._visibility = visibility
        self._timeout = visibility_timeout
        self._lead = min(config.extend_before, visibility_timeout / 2)
        self._max_time = config.max_processing_time
        self._runtime = runtime
        self._stats = stats
        self._lapsed = lapsed
        self._retry_delay = config.retry_max_delay
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """New messages arrived: their deadlines may come first."""
        self._wake.set()

    async def run(self) -> None:
        if self._timeout == 0:
            return  # records received with visibility 0 are visible again at once: nothing to keep
        clock = self._runtime.clock
        while True:
            self._wake.clear()
            now = clock()
            keep = [m for m in self._held.values() if not (m.extending or m.settled or m.state is State.DONE)]
            for message in keep:
                if message.visible_until <= now:
                    self._lapsed(message)
            keep = [m for m in keep if m.state is not State.DONE]
            # Once one is due, those due within half a lead go along in the same calls.
            due_now = any(self._due(m) <= now and self._seconds(m, now) is not None for m in keep)
            soonest: float | None = None
            for message in keep:
                due = self._due(message)
                if due_now and due <= now + self._lead / 2 and message.retry_at <= now:
                    seconds = self._seconds(message, now)
                    if seconds is not None:
                        self._extend(message, now, seconds)
                        continue
                    due = message.visible_until  # its time is up: it lapses then
                soonest = due if soonest is None else min(soonest, due)
            if soonest is None:
                await self._wake.wait()
            else:
                await self._runtime.wait(self._wake, max(0.0, soonest - now))

    def _due(self, message: QueueMessage) -> float:
        return max(message.visible_until - self._lead, message.retry_at)

    def _seconds(self, message: QueueMessage, now: float) -> int | None:
        """The visibility to set now, or None if max_processing_time allows no later deadline."""
        seconds = min(self._timeout, math.floor(message.received_at + self._max_time - now))
        return seconds if now + seconds > message.visible_until else None

    def _extend(self, message: QueueMessage, now: float, seconds: int) -> None:
        message.extending = True
        future = self._visibility.submit(message.receipt_handle, message.record_id, seconds)
        future.add_done_callback(lambda done: self._extended(message, now + seconds, done))

    def _extended(self, message: QueueMessage, until: float, done: asyncio.Future[None]) -> None:
        message.extending = False
        self._wake.set()
        error = None if done.cancelled() else done.exception()
        if error is None and not done.cancelled():
            message.visible_until = max(message.visible_until, until)
            self._stats.extended += 1
            return
        if message.settled or message.state is State.DONE:
            return  # acknowledged or released meanwhile: the refusal says nothing
        if isinstance(error, QueueEntryError):
            log.warning(
                "queue message %s could not be extended, it may be delivered again: %s", message.record_id, error
            )
            self._lapsed(message)
        else:  # the call failed as a whole (after the session's retries): try again a little later
            log.info("extending queue message %s failed, trying again: %r", message.record_id, error)
            message.retry_at = self._runtime.clock() + self._retry_delay
