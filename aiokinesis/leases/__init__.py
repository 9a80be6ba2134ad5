"""Shard leases: several workers share a stream's shards through one table, as the KCL's workers do.

    leases = aiokinesis.DynamoDBLeases("orders-app")   # or aiokinesis.InMemoryLeases() in tests
    async with kinesis.consumer("orders", leases=leases, worker_id="host-a-1") as consumer:
        async for batch in consumer:
            handle(batch)
            await batch.checkpoint()          # LeaseLostError if the lease moved on

A LeaseStore is the table: the KCL's layout (Lease) written only by conditional writes. To keep
leases somewhere else, implement LeaseStore and run tests/leases/test_store_conformance.py on it.
"""

from typing import TYPE_CHECKING, Any

from ._lease import AT_TIMESTAMP, LATEST, SHARD_END, TRIM_HORIZON, Lease, checkpoint_order
from ._memory import InMemoryLeases
from ._store import LeaseStore, Lost

if TYPE_CHECKING:
    from ._dynamodb import DynamoDBLeases
else:  # to type checkers the name is the import above

    def __getattr__(name: str) -> Any:
        """DynamoDBLeases on first use: only programs that keep their leases in DynamoDB should pay for
        its client and generated models."""
        if name == "DynamoDBLeases":
            from ._dynamodb import DynamoDBLeases  # noqa: PLC0415

            return DynamoDBLeases
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AT_TIMESTAMP",
    "LATEST",
    "SHARD_END",
    "TRIM_HORIZON",
    "DynamoDBLeases",
    "InMemoryLeases",
    "Lease",
    "LeaseStore",
    "Lost",
    "checkpoint_order",
]
