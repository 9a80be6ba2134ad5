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


def plain_entry(item: Item) -> dict[str, str]:
    """The PutRecords entry of a record sent alone (valid: put() checked it). A keyless record
    (an AUTO stream) has no PartitionKey on the wire."""
    entry = {"Data": b2a_base64(item.data, newline=False).decode()}
    if item.partition_key is not None:
        entry["PartitionKey"] = item.partition_key
    if item.explicit_hash_key is not None:
        entry["ExplicitHashKey"] = item.explicit_hash_key
    return entry


def entry_for(items: list[Item]) -> dict[str, str]:
    """The PutRecords entry of an aggregate of two or more records (valid: put() checked them)."""
    head = items[0]
    # Keyless records are never aggregated: every record of an aggregate has its key.
    data = aggregate([UserRecord(i.partition_key or "", i.explicit_hash_key, i.data) for i in items])
    # The first record's hash as ExplicitHashKey: the whole aggregate lands on its shard.
    return {
        "Data": b2a_base64(data, newline=False).decode(),
        "PartitionKey": head.partition_key or "",
        "ExplicitHashKey": str(head.hash_key),
    }
