"""A local Kinesis and a client of it, on one virtual clock when asked, and a producer driven along
that clock: the set-up the producer's fault tests share."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiokinesis
from aiokinesis.testing import KinesisServer
from tests.conftest import LOCAL_KEYS
from tests.fakes import VirtualTime

ONE_ATTEMPT = aiokinesis.RetryConfig(max_attempts=1)
"""No client-side retries: the producer's own retrying is what is under test."""


@asynccontextmanager
async def local_kinesis(
    *,
    virtual: VirtualTime | None = None,
    retry: aiokinesis.RetryConfig = aiokinesis.RetryConfig(),  # noqa: B008 - frozen, shared safely
    **server: Any,
) -> AsyncIterator[tuple[KinesisServer, aiokinesis.Client]]:
    """A KinesisServer of `server`'s options and a client of it; with `virtual`, both on its clock."""
    times: dict[str, Any] = {} if virtual is None else {"clock": virtual.clock, "sleep": virtual.sleep}
    if virtual is not None:
        server["clock"] = virtual.clock
    async with (
        KinesisServer(**server) as local,
        aiokinesis.Client(endpoint_url=local.endpoint_url, retry=retry, **times, **LOCAL_KEYS) as client,
    ):
        yield local, client


async def advance_until(
    virtual: VirtualTime, producer: aiokinesis.Producer, done: Callable[[], bool], *, step: float, steps: int
) -> None:
    """Move time `step` on whenever no PutRecords is in flight, until `done()` or after `steps` steps
    (a request in flight is answered on the server's side of the same instant it was sent at)."""
    for _ in range(steps):
        if done():
            return
        if producer.stats.in_flight == 0:
            virtual.advance(step)
        await asyncio.sleep(0.001)  # let the requests in flight reach the server and return


async def flush_on(virtual: VirtualTime, producer: aiokinesis.Producer, *, step: float = 0.01, steps: int) -> None:
    """Flush the producer, moving time as `advance_until` does while it flushes."""
    flushing = asyncio.create_task(producer.flush())
    await advance_until(virtual, producer, flushing.done, step=step, steps=steps)
    await flushing
