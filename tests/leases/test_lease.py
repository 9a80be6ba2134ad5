"""The lease value type: checkpoint order, validation, and the attributes it keeps."""

from __future__ import annotations

import dataclasses

import pytest

from aiokinesis.leases import AT_TIMESTAMP, LATEST, SHARD_END, TRIM_HORIZON, Lease, checkpoint_order


def test_sentinels_order_around_sequence_numbers() -> None:
    ordered = [
        (AT_TIMESTAMP, 0),
        (TRIM_HORIZON, 0),
        (LATEST, 0),
        ("9", 0),
        ("9", 1),
        ("10", 0),  # a number, not text: "10" < "9" as strings
        ("49590338271490256608559692538361571095921575989136588898", 0),
        (SHARD_END, 0),
    ]
    keys = [checkpoint_order(*position) for position in ordered]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)
    assert checkpoint_order(TRIM_HORIZON, 5) == checkpoint_order(TRIM_HORIZON, 0)  # a sentinel has no sub-sequence


def test_a_lease_knows_its_position_and_end() -> None:
    lease = Lease(key="shardId-000000000000", checkpoint="12", sub_sequence_number=3)
    assert lease.position == checkpoint_order("12", 3)
    assert not lease.ended
    assert dataclasses.replace(lease, checkpoint=SHARD_END).ended


def test_parents_and_children_are_kept_sorted() -> None:
    lease = Lease(key="shardId-000000000009", parents=("shardId-2", "shardId-1"), children=("shardId-b", "shardId-a"))
    assert lease.parents == ("shardId-1", "shardId-2")
    assert lease.children == ("shardId-a", "shardId-b")
    assert lease == Lease(key="shardId-000000000009", parents=("shardId-1", "shardId-2"), children=lease.children)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"key": ""}, r"Lease\.key must be a non-empty string"),
        ({"owner": ""}, r"Lease\.owner must be None or a non-empty string"),
        ({"counter": -1}, r"Lease\.counter must be an int >= 0, not -1"),
        ({"counter": True}, r"Lease\.counter must be an int >= 0, not True"),
        ({"sub_sequence_number": -2}, r"Lease\.sub_sequence_number must be an int >= 0"),
        ({"owner_switches": 1.5}, r"Lease\.owner_switches must be an int >= 0"),
        ({"checkpoint": "12a"}, r"Lease\.checkpoint must be a sequence number or one of AT_TIMESTAMP, TRIM_HORIZON"),
        ({"checkpoint": "trim_horizon"}, r"Lease\.checkpoint must be a sequence number"),
        ({"checkpoint": "١٢"}, r"Lease\.checkpoint must be a sequence number"),  # digits, but not ASCII ones
    ],
)
def test_a_malformed_lease_is_refused(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Lease(**{"key": "shardId-000000000000", **fields})  # type: ignore[arg-type]
