"""Closing as a task of its own, the shape both consumers close in.

A close that runs in its caller's task ends halfway when that caller is cancelled (leases left to
expire, acknowledgements never sent). Run as a task and awaited through `asyncio.shield`, it goes
to its end: cancelling a caller stops only that caller's wait, and a later call waits for the same
close. Every caller may have been cancelled, so a failure is also logged, never left unretrieved.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any


def closing_task(close: Coroutine[Any, Any, None], *, name: str, what: str, log: logging.Logger) -> asyncio.Task[None]:
    """`close` started as a task named `name`; its failure logged on `log` as "closing `what` failed"."""

    def failed(task: asyncio.Task[None]) -> None:
        if not task.cancelled() and (failure := task.exception()) is not None:
            log.error("closing %s failed: %r", what, failure)

    task = asyncio.create_task(close, name=name)
    task.add_done_callback(failed)
    return task
