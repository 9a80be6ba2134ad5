"""How long resources stay CREATING, UPDATING or DELETING, and the transitions waiting to end.

AWS answers CreateStream, SplitShard, RegisterStreamConsumer, CreateQueue... at once and finishes
the work later: the resource is CREATING / UPDATING / DELETING until then. By default (every
duration 0) the local server finishes at once, as it always has; with durations, a transition
ends when the backend's clock passes its due time, so on an injected clock it is deterministic.
Transitions are applied lazily, when a request arrives (`Backend.advance`).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Protocol


@dataclass(frozen=True, slots=True, kw_only=True)
class StateDurations:
    """Seconds a resource spends in each transitional state (0: none, the default).

    `create`: a stream, consumer or queue is CREATING; `update`: a stream (resharding, encryption,
    capacity mode, warm throughput) or a queue (UpdateQueue) is UPDATING; `delete`: a stream,
    consumer or queue is DELETING before it is gone.
    """

    create: float = 0.0
    update: float = 0.0
    delete: float = 0.0

    def __post_init__(self) -> None:
        for each in fields(self):
            value = getattr(self, each.name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < math.inf:
                raise ValueError(f"StateDurations.{each.name} is a number of seconds, 0 or more, not {value!r}")


class Stateful(Protocol):
    """A stream, consumer or queue: what `Transitions.through` moves."""

    status: str


@dataclass(order=True, slots=True)
class _Pending:
    due: float
    serial: int
    finish: Callable[[], object] = field(compare=False)


class Transitions:
    """Transitions waiting for their due time, soonest first."""

    def __init__(self, clock: Callable[[], float], durations: StateDurations) -> None:
        self._clock = clock
        self.durations = durations
        self._pending: list[_Pending] = []
        self._serial = 0

    def after(self, seconds: float, finish: Callable[[], object]) -> None:
        """Run `finish` once `seconds` have passed on the clock (at once when 0)."""
        if seconds <= 0:
            finish()
            return
        self._serial += 1
        heapq.heappush(self._pending, _Pending(self._clock() + seconds, self._serial, finish))

    def through(self, resource: Stateful, status: str, seconds: float) -> None:
        """`resource` is `status` (CREATING, UPDATING) for `seconds`, then ACTIVE, unless something
        else moved it on meanwhile (a consumer deregistered while CREATING stays DELETING)."""
        resource.status = status

        def finish() -> None:
            if resource.status == status:
                resource.status = "ACTIVE"

        self.after(seconds, finish)

    def settle(self, now: float) -> None:
        """Finish every transition due by `now`, in the order they fall due."""
        while self._pending and self._pending[0].due <= now:
            heapq.heappop(self._pending).finish()

    @property
    def waiting(self) -> int:
        """Transitions not yet finished."""
        return len(self._pending)
