"""The KPL aggregation format, byte for byte against aws-kinesis-agg (AWS's Python implementation)."""

from __future__ import annotations

import hashlib
import random

import pytest
from aws_kinesis_agg.aggregator import RecordAggregator

from aiokinesis.aggregation import MAGIC, UserRecord, aggregate, deaggregate


def theirs(records: list[UserRecord]) -> bytes:
    aggregator = RecordAggregator()
    for record in records:
        aggregator.add_user_record(record.partition_key, record.data, record.explicit_hash_key)
    _, _, data = aggregator.clear_and_get().get_contents()
    assert isinstance(data, bytes)
    return data


def sample(rng: random.Random, count: int) -> list[UserRecord]:
    keys = [f"key-{i}-ключ" for i in range(rng.randint(1, 5))]
    hashes = [None, None, str(rng.randrange(2**128)), "0"]
    return [UserRecord(rng.choice(keys), rng.choice(hashes), rng.randbytes(rng.randint(0, 300))) for _ in range(count)]


@pytest.mark.parametrize("seed", range(20))
def test_aggregates_are_byte_identical_to_aws_kinesis_agg(seed: int) -> None:
    records = sample(random.Random(seed), random.Random(seed).randint(1, 40))
    assert aggregate(records) == theirs(records)


@pytest.mark.parametrize("seed", range(20))
def test_their_aggregates_deaggregate_to_the_same_records(seed: int) -> None:
    records = sample(random.Random(seed), 25)
    assert deaggregate(theirs(records)) == records


def test_a_long_record_uses_multi_byte_varints() -> None:
    records = [UserRecord("k", None, b"x" * 70000), UserRecord("k", "1" * 38, b"y" * 200)]
    assert aggregate(records) == theirs(records)
    assert deaggregate(aggregate(records)) == records


@pytest.mark.parametrize(
    "data",
    [
        b"plain data",
        b"",
        MAGIC,
        MAGIC + hashlib.md5(b"").digest(),  # no protobuf at all: the KCL keeps it as a plain record
        MAGIC + b"\x0a\x01k" + b"\x00" * 16,  # wrong MD5
        MAGIC + b"\xff\xff" + hashlib.md5(b"\xff\xff").digest(),  # a varint that never ends
        MAGIC + b"\x1a\x02\x08\x05" + hashlib.md5(b"\x1a\x02\x08\x05").digest(),  # key index out of range
        MAGIC + b"\x0b" + hashlib.md5(b"\x0b").digest(),  # wire type 3 (groups) is not allowed
    ],
)
def test_anything_else_is_a_plain_record(data: bytes) -> None:
    assert deaggregate(data) is None
