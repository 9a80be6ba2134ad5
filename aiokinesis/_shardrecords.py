"""Wire records of one shard as ShardRecords: the one decoding GetRecords and SubscribeToShard share.

Both answers carry records in the same JSON form (base64 Data, epoch ApproximateArrivalTimestamp),
so both readers hand the user the same records: KPL aggregates split into their user records, and
the user records of an aggregate whose hash lies outside the shard's hash range dropped (as the KCL
does: after a reshard the producer puts them again on the sibling shard they belong to).
"""

from __future__ import annotations

from binascii import a2b_base64
from dataclasses import dataclass
from typing import Any

from ._protocol import read_timestamp
from ._shardmap import hash_key_of
from .aggregation import MAGIC, deaggregate
from .records import ShardRecord, store_arrival

_new = object.__new__
SPENT: dict[str, Any] = {"SequenceNumber": "0", "Data": "", "PartitionKey": ""}
"""What a decoded wire record's place in the answer holds: each record's dict is freed as the next
is decoded instead of with the whole answer, so the collector's count of new objects does not grow
by a dict and a ShardRecord a record while decoding (it ran twice as often, and promoted each
answer's records into older generations, scanned again and again). A valid record, so that when a
later record fails, the session's diagnosis of the answer (`_diagnose`) still names that one."""
WHOLE_RANGE = (0, 2**128 - 1)
LAST_LAZY_EPOCH = 253_402_300_799.0
"""Epoch seconds from 0 up to this (9999-12-31) are kept as they came, a datetime made on first read:
within it `datetime.fromtimestamp` cannot fail, so nothing the parse guard would catch is deferred."""


@dataclass(slots=True)
class Decoded:
    """The user records of one answer's records, and what a reader needs to know about them."""

    records: list[ShardRecord]
    size: int
    """Bytes of data and partition keys, aggregates counted whole: what the shard's read limit counts
    (a record's size is its data and key; 10 MiB read so counted bars the next 5 s)."""
    last_sequence_number: str | None
    dropped: int
    """User records of aggregates dropped as outside the hash range."""
    unfiltered: bool
    """It holds aggregates and no hash range was given: filter them (`in_range`) once it is known."""


def decode_records(wires: list[dict[str, Any]], shard_id: str, hash_range: tuple[int, int] | None) -> Decoded:
    """The user records of `wires` (an answer's Records), in order; a kept record keeps its sub-sequence.

    Each of `wires` is replaced by SPENT once taken: the answer is read once, by this."""
    out: list[ShardRecord] = []
    size = 0
    sequence = None
    unfiltered = False
    low, high = hash_range or WHOLE_RANGE
    whole = (low, high) == WHOLE_RANGE
    hashes: dict[str, int] = {}  # aggregates repeat few keys: MD5 once per key and answer
    dropped = 0
    for index, wire in enumerate(wires):
        data = a2b_base64(wire["Data"])
        key = wire.get("PartitionKey")
        size += len(data) if key is None else len(data) + len(key.encode())
        sequence = wire["SequenceNumber"]
        arrival = wire.get("ApproximateArrivalTimestamp")
        if arrival.__class__ is not float or not 0.0 <= arrival < LAST_LAZY_EPOCH:
            arrival = None if arrival is None else read_timestamp(arrival)  # a bad one fails here, in the parse guard
        wires[index] = SPENT  # read without fault: its dict is freed as the next is decoded
        inner = deaggregate(data) if data[:4] == MAGIC else None
        if inner is None:
            item = _new(ShardRecord)
            item.data = data
            item.partition_key = key  # None: a keyless record (AUTO stream)
            item.sequence_number = sequence
            item.sub_sequence_number = 0
            store_arrival(item, arrival)  # epoch seconds: the datetime is made on first read
            item.shard_id = shard_id
            item.explicit_hash_key = None
            item.aggregated = False
            out.append(item)
            continue
        unfiltered = unfiltered or hash_range is None
        for sub, user in enumerate(inner):  # a kept record keeps its place: checkpoints count on it
            if not whole and outside(user.explicit_hash_key, user.partition_key, low, high, hashes):
                dropped += 1
                continue
            item = _new(ShardRecord)
            item.data = user.data
            item.partition_key = user.partition_key
            item.sequence_number = sequence
            item.sub_sequence_number = sub
            store_arrival(item, arrival)
            item.shard_id = shard_id
            item.explicit_hash_key = user.explicit_hash_key
            item.aggregated = True
            out.append(item)
    return Decoded(out, size, sequence, dropped, unfiltered)


def in_range(records: list[ShardRecord], hash_range: tuple[int, int]) -> list[ShardRecord]:
    """Records decoded before the range was known, filtered as `decode_records` would have."""
    low, high = hash_range
    if (low, high) == WHOLE_RANGE:
        return records
    hashes: dict[str, int] = {}
    return [
        r
        for r in records
        if not r.aggregated or not outside(r.explicit_hash_key, r.partition_key or "", low, high, hashes)
    ]


def outside(explicit_hash_key: str | None, partition_key: str, low: int, high: int, hashes: dict[str, int]) -> bool:
    """Whether Kinesis would route this user record outside [low, high]; an explicit hash key that
    is not a decimal is not judged (kept)."""
    if explicit_hash_key is not None:
        if not (explicit_hash_key.isascii() and explicit_hash_key.isdigit()):
            return False
        hash_key = int(explicit_hash_key)
    else:
        hash_key = hashes.get(partition_key, -1)
        if hash_key < 0:
            hash_key = hashes[partition_key] = hash_key_of(partition_key)
    return not low <= hash_key <= high
