"""ShardRecord: one user record as a reader or consumer hands it out (the model's own types live in _generated)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


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
    """When the stream took the Kinesis record (UTC)."""
    shard_id: str
    explicit_hash_key: str | None = None
    """A user record's explicit hash key inside an aggregate, if its producer gave one."""
    aggregated: bool = False
    """Whether it came out of a KPL aggregate."""
