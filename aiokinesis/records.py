"""ShardRecord: one user record as a reader or consumer hands it out (the model's own types live in _generated)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = ["ShardRecord"]  # store_arrival is the decoder's (`_shardrecords`), not the API


@dataclass(slots=True, kw_only=True)
class ShardRecord:
    """One user record read from a shard: a plain Kinesis record, or one record of a KPL aggregate.

    Records of one aggregate share `sequence_number` and count `sub_sequence_number` from 0;
    a plain record has sub-sequence 0. Not frozen: the reader builds many, and a frozen
    dataclass costs twice as much to make.
    """

    data: bytes
    partition_key: str | None
    """None for a record put without one on a stream that spreads records itself (AUTO)."""
    sequence_number: str
    """The Kinesis record's sequence number (an aggregate's, for each of its user records)."""
    sub_sequence_number: int
    """Its place inside a KPL aggregate, from 0; 0 for a plain record."""
    approximate_arrival_timestamp: datetime | None
    """When the stream took the Kinesis record (UTC); a read record's is made on first read."""
    shard_id: str
    explicit_hash_key: str | None = None
    """A user record's explicit hash key inside an aggregate, if its producer gave one."""
    aggregated: bool = False
    """Whether it came out of a KPL aggregate."""


# The arrival time is made on first read: the decoder (`_shardrecords`) stores the answer's epoch
# seconds (a float) in the field's own slot, and the first read turns it into the datetime, kept
# (equality, repr, replace and pickling read it through the property, so they see the datetime).
# `datetime.fromtimestamp` was a third of decoding a record, and most consumers never read it.
# (So a float a caller sets, against the field's type, also reads back as its UTC datetime.)
_arrival_slot: Any = ShardRecord.__dict__["approximate_arrival_timestamp"]
_slot_get = _arrival_slot.__get__
_from_epoch = datetime.fromtimestamp
store_arrival: Callable[[ShardRecord, datetime | float | None], None] = _arrival_slot.__set__
"""Set a record's arrival: a datetime, None, or epoch seconds (a float) to make it from on first read."""


_last_made: tuple[float, datetime | None] = (float("nan"), None)
"""The last arrival made and its epoch: the records of one PutRecords mostly share their arrival
time, and a run of them read in turn shares one datetime (nan equals nothing)."""


def _arrival(record: ShardRecord) -> datetime | None:
    global _last_made
    value = _slot_get(record)
    if value.__class__ is float:
        epoch, made = _last_made
        if value != epoch:
            made = _from_epoch(value, UTC)
            _last_made = (value, made)
        value = made
        store_arrival(record, value)
    return value  # type: ignore[no-any-return]


ShardRecord.approximate_arrival_timestamp = property(  # type: ignore[assignment,misc]
    _arrival, store_arrival, doc="When the stream took the Kinesis record (UTC)."
)
