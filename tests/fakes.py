"""Test doubles shared by the suites."""

from __future__ import annotations

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
