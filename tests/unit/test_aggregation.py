"""The KPL aggregation format, byte for byte against aws-kinesis-agg (AWS's Python implementation)."""

from __future__ import annotations

import hashlib
import random
import tracemalloc
from array import array
from collections.abc import Callable

import pytest
from aws_kinesis_agg.aggregator import RecordAggregator

from aiokinesis.aggregation import MAGIC, UserRecord, aggregate, deaggregate


def wrapped(body: bytes) -> bytes:
    """An aggregate of a hand-written protobuf body: magic, body, MD5."""
    return MAGIC + body + hashlib.md5(body).digest()


def allocated(work: Callable[[], object]) -> tuple[int, int]:
    """(peak, kept): bytes allocated while work runs, and still held by what it returns."""
    tracing = tracemalloc.is_tracing()
    if not tracing:
        tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        result = work()
        kept, peak = tracemalloc.get_traced_memory()
        del result
    finally:
        if not tracing:
            tracemalloc.stop()
    return peak - base, kept - base


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
        MAGIC + b"\x0b" + hashlib.md5(b"\x0b").digest(),  # a group that never ends
        wrapped(b"\x0a\x01k\x2b\x34\x1a\x04\x08\x00\x1a\x00"),  # a group ended by another field's end
        wrapped(b"\x0a\x01k\x0c\x1a\x04\x08\x00\x1a\x00"),  # an end of group outside any group
        wrapped(b"\x0a\x01k" + b"\x2b" * 65 + b"\x2c" * 65),  # groups nested too deep
        wrapped(b"\x0a\x01k\x2b\x00\x00\x2c\x1a\x04\x08\x00\x1a\x00"),  # field number 0, even inside a group
        wrapped(b"\x0a\x01k\x00\x00\x1a\x04\x08\x00\x1a\x00"),  # field number 0
        wrapped(b"\x0a\x01k\x80\x80\x80\x80\x10\x00\x1a\x04\x08\x00\x1a\x00"),  # a tag beyond 32 bits
    ],
)
def test_anything_else_is_a_plain_record(data: bytes) -> None:
    assert deaggregate(data) is None


def test_records_without_their_required_data_field_are_a_plain_record() -> None:
    assert deaggregate(wrapped(b"\x0a\x01k" + b"\x1a\x02\x08\x00" * 100_000)) is None
    assert deaggregate(wrapped(b"\x0a\x01k" + b"\x1a\x00" * 100_000)) is None


def test_decoding_allocates_nothing_for_fields_it_skips() -> None:
    """The decoder walks offsets: 100k unknown fields cost no objects (a list of them cost 33x the input)."""
    data = wrapped(b"\x20\x01" * 100_000)
    peak, _ = allocated(lambda: deaggregate(data))
    assert peak < len(data) // 10


def test_decoding_allocates_little_beyond_the_records_it_returns() -> None:
    data = wrapped(b"\x0a\x01k" + b"\x1a\x04\x08\x00\x1a\x00" * 30_000)
    peak, kept = allocated(lambda: deaggregate(data))
    assert kept > 0
    assert peak - kept < len(data) // 10


RECORD_WITH_TAG = b"\x0a\x01k\x1a\x0b\x08\x00\x1a\x01x\x22\x04"  # then 4 bytes of Tag


@pytest.mark.parametrize(
    "tag",
    [
        b"\x12\x02va",  # only the optional value: the required key is missing
        b"\x0a\x02\xff\xfe",  # a key that is not UTF-8
        b"\x0a\x05",  # a key longer than the tag
    ],
)
def test_a_record_with_a_malformed_tag_makes_a_plain_record(tag: bytes) -> None:
    assert deaggregate(wrapped(RECORD_WITH_TAG + tag.ljust(4, b"\x00"))) is None


def test_tags_are_checked_then_dropped() -> None:
    assert deaggregate(wrapped(RECORD_WITH_TAG + b"\x0a\x02ab")) == [UserRecord("k", None, b"x")]


def test_of_a_tag_key_given_twice_only_the_last_counts() -> None:
    """The first key is not UTF-8, but the second replaces it (protobuf: the last value wins)."""
    record = b"\x08\x00\x1a\x01x\x22\x05\x0a\x01\x80\x0a\x00"
    body = b"\x0a\x01k\x1a" + bytes([len(record)]) + record
    assert deaggregate(wrapped(body)) == [UserRecord("k", None, b"x")]


def test_varints_keep_their_low_64_bits() -> None:
    """An index of 2**64, ten bytes long, is index 0 to protobuf parsers (the KCL's among them)."""
    two_to_the_64 = b"\x80" * 9 + b"\x02"
    body = b"\x0a\x01k\x12\x011\x1a\x19\x08" + two_to_the_64 + b"\x10" + two_to_the_64 + b"\x1a\x01x"
    assert deaggregate(wrapped(body)) == [UserRecord("k", "1", b"x")]


def test_unknown_groups_are_skipped_like_any_unknown_field() -> None:
    """Groups are deprecated but valid proto2: the KCL's parser skips them, nested ones too."""
    group = b"\x2b\x08\x01\x33\x12\x00\x34\x2c"  # group 5 { 1: 1, group 6 { 2: "" } }
    body = b"\x0a\x01k" + group + b"\x1a\x0c\x08\x00" + group + b"\x1a\x00" + b"\x2b" * 64 + b"\x2c" * 64
    assert deaggregate(wrapped(body)) == [UserRecord("k", None, b"")]


@pytest.mark.parametrize(
    "data",
    [memoryview(array("d", [1.5, -2.25])), memoryview(b"abcdefghij")[::3], bytearray(b"mutable")],
    ids=["wide items", "strided", "bytearray"],
)
def test_a_buffer_is_aggregated_as_its_bytes(data: bytes) -> None:
    # A view's len() counts items: taken as the length of its bytes, it framed a corrupt aggregate.
    records = [UserRecord("a", None, data), UserRecord("b", None, b"after")]
    assert deaggregate(aggregate(records)) == [UserRecord("a", None, bytes(data)), UserRecord("b", None, b"after")]


def test_an_aggregate_of_no_records_is_refused() -> None:
    # Its 20 bytes would read back as a plain record of garbage.
    with pytest.raises(ValueError, match="at least one record"):
        aggregate([])
