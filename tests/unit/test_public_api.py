"""The public surface: everything in __all__ exists, and the hand-written part is pinned."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

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


def fresh(code: str) -> Any:
    """What `code` prints as JSON, run in a fresh interpreter (nothing imported by other tests)."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    return json.loads(out.stdout)


# What `import aiokinesis` and a client's calls do not need: loaded where they are first used.
LOADED_ON_FIRST_USE = [
    "aiokinesis.producer",
    "aiokinesis.consumer",
    "aiokinesis.reader",
    "aiokinesis.queues",
    "aiokinesis.leases",
    "aiokinesis.checkpoints",
    "aiokinesis.subscriptions",
    "aiokinesis._eventstream",
    "aiokinesis._fanout",
    "aiokinesis.paginators",
    "aiokinesis.waiters",
    "aiokinesis.aggregation",
    "aiokinesis.testing",
    "aiokinesis._dynamodb",
    "aiokinesis._generated.dynamodb",
    "aiokinesis.cli",
    "aiokinesis.metrics",
    "sqlite3",
    "h2",
    "botocore",
]


def test_import_and_a_client_load_only_what_calls_need() -> None:
    loaded = fresh(
        "import json, sys, aiokinesis\n"
        "aiokinesis.Client(region='eu-west-1', aws_access_key_id='AKID', aws_secret_access_key='secret')\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    assert [m for m in loaded if m in LOADED_ON_FIRST_USE or m.split(".")[0] == "h2"] == []
    assert "aiokinesis.client" in loaded


def test_every_name_resolves_in_a_fresh_process_to_its_home_module() -> None:
    found = fresh(
        "import json, aiokinesis\n"
        "names = list(aiokinesis.__all__)\n"
        "homes = {n: getattr(aiokinesis, n).__module__ for n in names}\n"
        "missing = [n for n in names if n not in dir(aiokinesis)]\n"
        "star = {}\n"
        "exec('from aiokinesis import *', star)\n"
        "print(json.dumps({'homes': homes, 'missing': missing, 'star': sorted(set(names) - set(star))}))"
    )
    assert found["missing"] == []
    assert found["star"] == []
    assert found["homes"]["Producer"] == "aiokinesis.producer"
    assert found["homes"]["SqliteCheckpoints"] == "aiokinesis.checkpoints.sqlite"
    assert found["homes"]["DynamoDBLeases"] == "aiokinesis.leases._dynamodb"
    assert set(found["homes"]) == set(aiokinesis.__all__)


def test_a_lazy_name_is_the_object_of_its_module_and_unknown_names_fail() -> None:
    from aiokinesis import Producer, SqliteCheckpoints
    from aiokinesis.checkpoints.sqlite import SqliteCheckpoints as home
    from aiokinesis.producer import Producer as producer

    assert (Producer, SqliteCheckpoints) == (producer, home)
    assert aiokinesis.Producer is producer
    with pytest.raises(AttributeError, match="no attribute 'Frobnicator'"):
        _ = aiokinesis.Frobnicator  # type: ignore[attr-defined]
    with pytest.raises(ImportError):
        exec("from aiokinesis import Frobnicator", {})
