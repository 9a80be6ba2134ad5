"""A read record's arrival time is made on first read: the record behaves as if it had it from the start."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from aiokinesis import ShardRecord
from aiokinesis._shardrecords import decode_records


def read(stamp: object) -> ShardRecord:
    wire = {"SequenceNumber": "7", "Data": "eA==", "PartitionKey": "k", "ApproximateArrivalTimestamp": stamp}
    (record,) = decode_records([wire], "shardId-0", None).records
    return record


def built(arrival: datetime | None) -> ShardRecord:
    return ShardRecord(
        data=b"x",
        partition_key="k",
        sequence_number="7",
        sub_sequence_number=0,
        approximate_arrival_timestamp=arrival,
        shard_id="shardId-0",
    )


AT = datetime.fromtimestamp(1_700_000_000.123, UTC)
UNREAD: list[tuple[str, Callable[[ShardRecord], Any]]] = [
    ("equality", lambda r: r == built(AT) and built(AT) == r),
    ("repr", repr),
    ("asdict", dataclasses.asdict),
    ("astuple", dataclasses.astuple),
    ("replace", lambda r: dataclasses.replace(r, data=b"y")),
    ("pickle", lambda r: pickle.loads(pickle.dumps(r))),
    ("copy", copy.copy),
    ("deepcopy", copy.deepcopy),
]


@pytest.mark.parametrize(("name", "use"), UNREAD, ids=[name for name, _ in UNREAD])
def test_a_record_whose_arrival_was_never_read_behaves_as_one_built_with_it(
    name: str, use: Callable[[ShardRecord], Any]
) -> None:
    """Each use, first thing on a fresh record, sees the same as on a record built with the datetime."""
    assert use(read(1_700_000_000.123)) == use(built(AT)), name


def test_the_arrival_is_one_datetime_read_after_read() -> None:
    record = read(1_700_000_000.5)
    first = record.approximate_arrival_timestamp
    assert first == datetime.fromtimestamp(1_700_000_000.5, UTC)
    assert record.approximate_arrival_timestamp is first


def test_an_arrival_set_after_reading_is_the_one_read() -> None:
    record = read(1.5)
    record.approximate_arrival_timestamp = AT
    assert record.approximate_arrival_timestamp is AT
    record.approximate_arrival_timestamp = None
    assert record.approximate_arrival_timestamp is None
    assert record == built(None)


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        (1_700_000_000, datetime.fromtimestamp(1_700_000_000, UTC)),  # an integer: made at once, as before
        (-1.5, datetime.fromtimestamp(-1.5, UTC)),  # before 1970: outside the deferred span, made at once
        ("2026-12-02T07:40:00Z", datetime(2026, 12, 2, 7, 40, tzinfo=UTC)),  # ISO text from lenient servers
        (None, None),
    ],
)
def test_arrivals_outside_the_common_form_read_as_before(stamp: object, expected: datetime | None) -> None:
    assert read(stamp).approximate_arrival_timestamp == expected


@pytest.mark.parametrize("stamp", [1e20, 253_402_300_800.0, -1e20, True, [1]])
def test_an_arrival_no_datetime_can_hold_is_refused_while_parsing_not_when_read(stamp: object) -> None:
    """Nothing that could fail is deferred: a bad time fails the decoding, which the session's parse
    guard turns into the answer's ProtocolError (tests/unit/test_hostile_answers.py), as before."""
    with pytest.raises((TypeError, OverflowError, ValueError)):
        read(stamp)
