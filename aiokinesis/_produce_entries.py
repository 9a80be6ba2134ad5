"""What a unit of the producer becomes on the wire: a PutRecords entry, a record alone or a KPL
aggregate, and the exact upper bound of an aggregate's size the buffer packs by before encoding."""

from __future__ import annotations

from binascii import b2a_base64

from ._produce_model import Item
from .aggregation import UserRecord, aggregate

AGGREGATE_FRAME = 4 + 16  # magic and MD5 around the protobuf


def _varint_size(value: int) -> int:
    return max(1, (value.bit_length() + 6) // 7)


def in_aggregate(item: Item, index: int) -> int:
    """An upper bound of the bytes the record at `index` adds to an aggregate's protobuf: its
    Record message (a key index and perhaps a hash key index, neither above `index`, then the
    data) framed in the records field, and its key and hash key as new table entries."""
    data = len(item.data)
    key = item.size - data
    index_size = 1 + _varint_size(index)
    message = index_size + 1 + _varint_size(data) + data
    tables = 1 + _varint_size(key) + key
    if item.explicit_hash_key is not None:
        message += index_size
        tables += 2 + len(item.explicit_hash_key)  # at most 39 digits: a one-byte length
    return 1 + _varint_size(message) + message + tables


def entry_for(items: list[Item]) -> dict[str, str]:
    """The PutRecords entry of a unit (its records are valid: put() checked them)."""
    head = items[0]
    if len(items) == 1:  # a record alone, or an aggregate of one, which the KPL also sends plain
        return _entry(head.data, head.partition_key, head.explicit_hash_key)
    # Keyless records are never aggregated: every record of an aggregate has its key.
    data = aggregate([UserRecord(i.partition_key or "", i.explicit_hash_key, i.data) for i in items])
    # The first record's hash as ExplicitHashKey: the whole aggregate lands on its shard.
    return _entry(data, head.partition_key, str(head.hash_key))


def _entry(data: bytes, partition_key: str | None, explicit_hash_key: str | None) -> dict[str, str]:
    """A keyless record (an AUTO stream) has no PartitionKey on the wire."""
    entry = {"Data": b2a_base64(data, newline=False).decode()}
    if partition_key is not None:
        entry["PartitionKey"] = partition_key
    if explicit_hash_key is not None:
        entry["ExplicitHashKey"] = explicit_hash_key
    return entry
