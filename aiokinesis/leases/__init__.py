"""Shard leases: several workers share a stream's shards through one table, as the KCL's workers do.

    leases = aiokinesis.InMemoryLeases()        # tests; a DynamoDB table for real workers
    async with kinesis.consumer("orders", leases=leases, worker_id="host-a-1") as consumer:
        async for batch in consumer:
            handle(batch)
            await batch.checkpoint()          # LeaseLostError if the lease moved on

A LeaseStore is the table: the KCL's layout (Lease) written only by conditional writes. To keep
leases somewhere else, implement LeaseStore and run tests/leases/test_store_conformance.py on it.
"""

from ._dynamodb import DynamoDBLeases
from ._lease import AT_TIMESTAMP, LATEST, SHARD_END, TRIM_HORIZON, Lease, checkpoint_order
from ._memory import InMemoryLeases
from ._store import LeaseStore, Lost

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
