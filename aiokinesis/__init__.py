"""aiokinesis: the asyncio-native SDK for Amazon Kinesis Data Streams.

Everything public is re-exported here; the modules behind it are private. What a client needs for
its calls is imported with the package; the producer, consumer, reader, queues, leases, checkpoints
(sqlite3), the event stream and the rest load on first use (PEP 562), so a fresh process that only
makes calls does not pay for them. `from aiokinesis import X` works for every name in `__all__`.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._credentials import NoCredentialsError
from ._generated import errors as _generated_errors
from ._generated import models as _generated_models
from ._generated.errors import *  # noqa: F403 - the model's errors, listed in their __all__
from ._generated.models import *  # noqa: F403 - the model's types, listed in their __all__
from ._version import __version__ as __version__
from .client import Client
from .config import (
    ConsumerConfig,
    FanOutConfig,
    HttpConfig,
    ProducerConfig,
    QueueConfig,
    ReaderConfig,
    RetryConfig,
)
from .errors import (
    ClientClosedError,
    ClientError,
    ConnectError,
    ConnectionLostError,
    ConsumerDeletedError,
    KinesisError,
    LeaseLostError,
    ParamValidationError,
    ProtocolError,
    RequestTimeoutError,
    ServiceError,
    TransportError,
    UnknownServiceError,
    WaiterError,
)

if TYPE_CHECKING:
    from ._shardstate import ShardProgress
    from .aggregation import UserRecord
    from .checkpoints import Checkpoint, Checkpoints, MemoryCheckpoints, SqliteCheckpoints
    from .consumer import Batch, StreamConsumer
    from .leases import DynamoDBLeases, InMemoryLeases, LeaseStore
    from .paginators import Paginators
    from .producer import (
        BufferFullError,
        Producer,
        ProducerClosedError,
        ProducerRecord,
        ProducerStats,
        PutResult,
        Receipt,
        RecordFailedError,
    )
    from .queues import (
        DeadLetterRecord,
        DeadLetters,
        QueueClosedError,
        QueueConsumer,
        QueueEntryError,
        QueueMessage,
        QueueStats,
    )
    from .reader import ReadBatch, ShardReader
    from .records import ShardRecord
    from .subscriptions import EventStream, SubscribeToShardOutput
    from .waiters import Waiters

# Loaded on first use: name -> the module (relative to this package) that defines it.
_LAZY = {
    "Batch": ".consumer",
    "BufferFullError": ".producer",
    "Checkpoint": ".checkpoints",
    "Checkpoints": ".checkpoints",
    "DeadLetterRecord": ".queues",
    "DeadLetters": ".queues",
    "DynamoDBLeases": ".leases",
    "EventStream": ".subscriptions",
    "InMemoryLeases": ".leases",
    "LeaseStore": ".leases",
    "MemoryCheckpoints": ".checkpoints",
    "Paginators": ".paginators",
    "Producer": ".producer",
    "ProducerClosedError": ".producer",
    "ProducerRecord": ".producer",
    "ProducerStats": ".producer",
    "PutResult": ".producer",
    "QueueClosedError": ".queues",
    "QueueConsumer": ".queues",
    "QueueEntryError": ".queues",
    "QueueMessage": ".queues",
    "QueueStats": ".queues",
    "ReadBatch": ".reader",
    "Receipt": ".producer",
    "RecordFailedError": ".producer",
    "ShardProgress": "._shardstate",
    "ShardReader": ".reader",
    "ShardRecord": ".records",
    "SqliteCheckpoints": ".checkpoints",
    "StreamConsumer": ".consumer",
    "SubscribeToShardOutput": ".subscriptions",
    "UserRecord": ".aggregation",
    "Waiters": ".waiters",
}

__all__ = [
    "Batch",
    "BufferFullError",
    "Checkpoint",
    "Checkpoints",
    "Client",
    "ClientClosedError",
    "ClientError",
    "ConnectError",
    "ConnectionLostError",
    "ConsumerConfig",
    "ConsumerDeletedError",
    "DeadLetterRecord",
    "DeadLetters",
    "DynamoDBLeases",
    "EventStream",
    "FanOutConfig",
    "HttpConfig",
    "InMemoryLeases",
    "KinesisError",
    "LeaseLostError",
    "LeaseStore",
    "MemoryCheckpoints",
    "NoCredentialsError",
    "Paginators",
    "ParamValidationError",
    "Producer",
    "ProducerClosedError",
    "ProducerConfig",
    "ProducerRecord",
    "ProducerStats",
    "ProtocolError",
    "PutResult",
    "QueueClosedError",
    "QueueConfig",
    "QueueConsumer",
    "QueueEntryError",
    "QueueMessage",
    "QueueStats",
    "ReadBatch",
    "ReaderConfig",
    "Receipt",
    "RecordFailedError",
    "RequestTimeoutError",
    "RetryConfig",
    "ServiceError",
    "ShardProgress",
    "ShardReader",
    "ShardRecord",
    "SqliteCheckpoints",
    "StreamConsumer",
    "SubscribeToShardOutput",
    "TransportError",
    "UnknownServiceError",
    "UserRecord",
    "WaiterError",
    "Waiters",
]
__all__ += _generated_models.__all__
__all__ += _generated_errors.__all__


if not TYPE_CHECKING:  # to type checkers the names are the imports above, and a typo stays an error

    def __getattr__(name: str) -> Any:
        """A name of `_LAZY`, imported on first use and kept here (later reads are plain attributes)."""
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(import_module(module, __name__), name)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
