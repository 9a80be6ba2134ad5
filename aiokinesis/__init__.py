"""aiokinesis: the asyncio-native SDK for Amazon Kinesis Data Streams.

Everything public is re-exported here; the modules behind it are private.
"""

from typing import TYPE_CHECKING, Any

from ._credentials import NoCredentialsError
from ._generated import errors as _generated_errors
from ._generated import models as _generated_models
from ._generated.errors import *  # noqa: F403 - the model's errors, listed in their __all__
from ._generated.models import *  # noqa: F403 - the model's types, listed in their __all__
from ._shardstate import ShardProgress
from ._version import __version__ as __version__
from .aggregation import UserRecord
from .checkpoints import Checkpoint, Checkpoints, MemoryCheckpoints, SqliteCheckpoints
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
from .consumer import Batch, StreamConsumer
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
from .leases import InMemoryLeases, LeaseStore
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

if TYPE_CHECKING:
    from .leases import DynamoDBLeases

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


def __getattr__(name: str) -> Any:
    """`aiokinesis.DynamoDBLeases`, imported on first use (see aiokinesis.leases)."""
    if name == "DynamoDBLeases":
        from . import leases  # noqa: PLC0415

        return leases.DynamoDBLeases
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
