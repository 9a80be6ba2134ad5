"""InMemoryLeases: a lease table in a dict, for unit tests and for users' own tests.

Several consumers in one process share one InMemoryLeases as workers share a DynamoDB table.
Each operation yields to the event loop before it acts and again before it answers, as a round
trip to a table would, so workers' tasks really interleave; the act itself is atomic, as a
DynamoDB conditional write is.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from typing import TypeVar

from ._lease import SHARD_END, Lease
from ._store import Lost

T = TypeVar("T")


class InMemoryLeases:
    """A LeaseStore that lives as long as the object: `kinesis.consumer("s", leases=InMemoryLeases())`."""

    def __init__(self) -> None:
        self._leases: dict[str, Lease] = {}
        self.calls: Counter[str] = Counter()
        """Operations served so far, by name: what the same work would cost in table requests."""

    def __repr__(self) -> str:
        return f"<InMemoryLeases {len(self._leases)} leases>"

    async def _arrive(self, operation: str) -> None:
        self.calls[operation] += 1
        await asyncio.sleep(0)

    async def _answer(self, result: T) -> T:
        await asyncio.sleep(0)
        return result

    def _fenced(self, lease: Lease, *, owned: bool) -> Lease | None:
        """The stored lease if its counter (and, if `owned`, its owner) is still the one `lease` shows."""
        stored = self._leases.get(lease.key)
        if stored is None or stored.counter != lease.counter:
            return None
        if owned and (lease.owner is None or stored.owner != lease.owner):
            return None
        return stored

    def _write(self, lease: Lease) -> Lease:
        self._leases[lease.key] = lease
        return lease

    async def prepare(self) -> None:
        """Nothing to make: the table is this object's dict, there from the start."""

    async def create(self, lease: Lease) -> bool:
        await self._arrive("create")
        created = lease.key not in self._leases
        if created:
            self._leases[lease.key] = lease
        return await self._answer(created)

    async def list_leases(self) -> list[Lease]:
        await self._arrive("list_leases")
        return await self._answer(list(self._leases.values()))

    async def get(self, key: str) -> Lease | None:
        await self._arrive("get")
        return await self._answer(self._leases.get(key))

    async def renew(self, lease: Lease) -> Lease | Lost:
        await self._arrive("renew")
        stored = self._fenced(lease, owned=True)
        result = (
            Lost(lease.key) if stored is None else self._write(dataclasses.replace(stored, counter=stored.counter + 1))
        )
        return await self._answer(result)

    async def take(self, lease: Lease, owner: str) -> Lease | Lost:
        await self._arrive("take")
        stored = self._fenced(lease, owned=False)
        if stored is None:
            return await self._answer(Lost(lease.key))
        taken = dataclasses.replace(
            stored, owner=owner, counter=stored.counter + 1, owner_switches=stored.owner_switches + 1
        )
        return await self._answer(self._write(taken))

    async def release(self, lease: Lease) -> Lease | Lost:
        await self._arrive("release")
        stored = self._fenced(lease, owned=True)
        result = (
            Lost(lease.key)
            if stored is None
            else self._write(dataclasses.replace(stored, owner=None, counter=stored.counter + 1))
        )
        return await self._answer(result)

    async def checkpoint(self, lease: Lease, checkpoint: str, sub_sequence_number: int) -> Lease | Lost:
        await self._arrive("checkpoint")
        stored = self._fenced(lease, owned=True)
        if stored is None:
            return await self._answer(Lost(lease.key))
        written = dataclasses.replace(
            stored,
            checkpoint=checkpoint,
            sub_sequence_number=sub_sequence_number,
            owner_switches=0,
            counter=stored.counter + 1,
        )
        return await self._answer(self._write(written))

    async def set_children(self, key: str, children: tuple[str, ...]) -> bool:
        await self._arrive("set_children")
        stored = self._leases.get(key)
        if stored is not None:
            self._write(dataclasses.replace(stored, children=children))
        return await self._answer(stored is not None)

    async def delete(self, key: str) -> bool:
        await self._arrive("delete")
        stored = self._leases.get(key)
        deleted = stored is not None and stored.checkpoint == SHARD_END
        if deleted:
            del self._leases[key]
        return await self._answer(deleted)
