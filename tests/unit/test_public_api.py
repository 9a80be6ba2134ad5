"""The public surface: everything in __all__ exists, and the hand-written part is pinned."""

from __future__ import annotations

import aiokinesis
from aiokinesis._generated import errors, models

HAND_WRITTEN = {
    "Batch",
    "BufferFullError",
    "Checkpoint",
    "Checkpoints",
    "DeadLetterRecord",
    "DeadLetters",
    "Client",
    "ClientClosedError",
    "ClientError",
    "ConnectError",
    "ConnectionLostError",
    "ConsumerConfig",
    "ConsumerDeletedError",
    "EventStream",
    "FanOutConfig",
    "HttpConfig",
    "DynamoDBLeases",
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
}


def test_all_is_hand_written_plus_the_model() -> None:
    assert set(aiokinesis.__all__) == HAND_WRITTEN | set(models.__all__) | set(errors.__all__)
    assert len(aiokinesis.__all__) == len(set(aiokinesis.__all__))
    for name in aiokinesis.__all__:
        assert getattr(aiokinesis, name) is not None, name


def test_the_names_the_docs_promise() -> None:
    for name in (
        "PutRecordsRequestEntry",
        "StreamModeDetails",
        "ShardFilter",
        "ChildShard",
        "ProvisionedThroughputExceededException",
        "ExpiredIteratorException",
        "ExpiredNextTokenException",
        "ResourceNotFoundException",
    ):
        assert name in aiokinesis.__all__, name


def test_every_error_is_a_kinesis_error() -> None:
    for name in aiokinesis.__all__:
        obj = getattr(aiokinesis, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, aiokinesis.KinesisError), name


def test_shard_record_lives_in_the_module_named_for_it() -> None:
    assert aiokinesis.ShardRecord.__module__ == "aiokinesis.records"
