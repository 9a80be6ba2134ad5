"""What a lease table does: the KCL's refresher operations, each one conditional write.

InMemoryLeases implements it for tests; a DynamoDB table implements it for real workers. Both
pass one conformance suite (tests/leases/test_store_conformance.py).

The fenced writes (renew, take, release, checkpoint) are conditioned on the counter of the lease
the caller passes, the one it last saw. A write whose condition fails returns `Lost`, a value
the caller branches on, not an exception: losing a lease is normal. Errors of the transport
(no answer, throttling) raise, and the caller cannot tell whether the write landed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ._lease import Lease

if TYPE_CHECKING:
    from .._dynamodb import DynamoDB


@dataclass(frozen=True, slots=True)
class Lost:
    """A fenced write that did not land: the lease's counter moved on, its owner is another, or it is gone."""

    key: str


class LeaseStore(Protocol):
    """A table of leases keyed by shard id, written only by conditional writes."""

    async def prepare(self) -> None:
        """Make the table ready (create it, if the store may, and wait for it); before anything else."""
        ...

    async def create(self, lease: Lease) -> bool:
        """Write `lease` if no lease has its key; False (and nothing written) if one has."""
        ...

    async def list_leases(self) -> list[Lease]:
        """Every lease in the table, each once, whatever its size; rows that are not leases are skipped."""
        ...

    async def get(self, key: str) -> Lease | None:
        """The lease with this key, read consistently; None if there is none."""
        ...

    async def renew(self, lease: Lease) -> Lease | Lost:
        """counter n -> n+1, if the stored counter is n and the owner is `lease.owner`.

        A store whose answer can be lost (a request retried after a timeout) re-reads when the
        condition fails on a retry: a stored lease with the same owner and counter n+1 is this
        renewal's own earlier attempt, so the renewal succeeded and that lease is returned. Never
        when the first attempt fails: that lease is another process's under the same worker id.
        """
        ...

    async def take(self, lease: Lease, owner: str) -> Lease | Lost:
        """owner -> `owner`, counter n -> n+1, owner switches +1, if the stored counter is n (whoever owns it)."""
        ...

    async def release(self, lease: Lease) -> Lease | Lost:
        """Owner removed, counter n -> n+1, if the stored counter is n and the owner is `lease.owner`."""
        ...

    async def checkpoint(self, lease: Lease, checkpoint: str, sub_sequence_number: int) -> Lease | Lost:
        """checkpoint and sub-sequence set, owner switches -> 0, counter n -> n+1,
        if the stored counter is n and the owner is `lease.owner`."""
        ...

    async def set_children(self, key: str, children: tuple[str, ...]) -> bool:
        """Record the shard's children on its lease if it exists (the counter stays); False if it is gone."""
        ...

    async def delete(self, key: str) -> bool:
        """Delete the lease if its checkpoint is SHARD_END; False if it is gone or not at its end."""
        ...


@runtime_checkable
class DynamoDBTable(Protocol):
    """A LeaseStore kept in DynamoDB: the consumer's Kinesis client hands it a DynamoDB client with
    its own credentials and retries, in its region unless `region` names another (`endpoint_url`:
    a DynamoDB elsewhere, DynamoDB Local in tests)."""

    region: str | None
    endpoint_url: str | None

    def attach(self, dynamodb: DynamoDB) -> None: ...

    def bound(self, dynamodb: DynamoDB) -> LeaseStore: ...
