"""Test doubles shared by the suites."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

FROZEN_NOW = 1_764_000_000.0  # 2025-11-24T16:00:00Z


@dataclass
class FakeTime:
    """A wall clock that only moves when the code under test sleeps, or a test advances it."""

    now: float = FROZEN_NOW
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class VirtualTime:
    """A clock whose sleeps wait until the test moves time past their end (FakeTime returns at once).

    The code under test runs on its own between advances, so everything that happens between two
    advances happens at one instant: a request's arrival is stamped with the time it was sent at.
    """

    now: float = FROZEN_NOW
    _sleepers: list[tuple[float, asyncio.Future[None]]] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.now + seconds, future))
        await future

    def advance(self, seconds: float) -> None:
        """Move time on and wake every sleep that has ended."""
        self.now += seconds
        waiting = []
        for end, future in self._sleepers:
            if future.done():
                continue
            if end <= self.now:
                future.set_result(None)
            else:
                waiting.append((end, future))
        self._sleepers = waiting


@dataclass
class SharedTime(VirtualTime):
    """One clock for a local server and the client under test, so AWS's rules (a subscription
    5 s after another, one call a second) and the client's pacing are measured alike. A sleep
    shorter than `hold` (a backoff, a linger, a pause between two calls) moves the clock on at once;
    a longer one (a silence timer, a listing round) waits until the test moves the clock past it."""

    hold: float = 30.0
    slept: list[float] = field(default_factory=list)

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        if seconds >= self.hold:
            await super().sleep(seconds)
            return
        self.advance(seconds)
        await asyncio.sleep(0)
