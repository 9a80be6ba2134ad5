"""Where time and chance come from: one object every layer is handed, so tests can replace all three.

Code above the session never reads `time.time()`, calls `asyncio.sleep()` or draws from `random`
directly: a test that injects a fake clock and sleep then takes no wall time and races nothing.
Full-jitter backoff lives here too, the one formula every retry loop uses.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Runtime:
    """The clock (epoch seconds), the sleep and the uniform [0, 1) draws of one client."""

    clock: Callable[[], float] = time.time
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    rand: Callable[[], float] = random.random

    def backoff(self, base: float, failures: int, cap: float) -> float:
        """Seconds to wait after `failures` (1-based) failures in a row: random(0, 1) x min(cap, base x 2^(n-1)).

        AWS's "full jitter": spreads retrying callers out instead of having them retry in step.
        The exponent stops growing long before the cap would matter, so a reader that has failed
        thousands of times in a row does not overflow a float.
        """
        return self.rand() * min(cap, base * 2.0 ** min(failures - 1, 64))

    async def wait(self, event: asyncio.Event, seconds: float) -> None:
        """Return when `event` is set or `seconds` have passed on this runtime's sleep.

        The time goes through the injected sleep (not the loop's timer), so a test that
        drives time by hand also drives every timed wait.
        """
        if event.is_set():
            return
        waiter = asyncio.ensure_future(event.wait())
        sleeper = asyncio.ensure_future(self.sleep(seconds))
        try:
            await asyncio.wait((waiter, sleeper), return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            sleeper.cancel()
