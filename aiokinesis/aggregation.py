"""The KPL aggregation format: many user records in one Kinesis record, as the Java KPL/KCL do.

Bytes: magic F3 89 9A C2, then a protobuf `AggregatedRecord`, then the MD5 of the protobuf.

    AggregatedRecord { repeated string partition_key_table = 1; repeated string explicit_hash_key_table = 2;
                       repeated Record records = 3; }
    Record { required uint64 partition_key_index = 1; optional uint64 explicit_hash_key_index = 2;
             required bytes data = 3; repeated Tag tags = 4; }

The protobuf is read and written by hand: three small messages do not justify a dependency.
A record without the magic, with a bad MD5 or with a malformed protobuf is a plain record.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

MAGIC = b"\xf3\x89\x9a\xc2"
_DIGEST = 16


@dataclass(frozen=True, slots=True)
class UserRecord:
    """One record as its producer put it: inside an aggregate, or the whole Kinesis record."""

    partition_key: str
    explicit_hash_key: str | None
    data: bytes


class _Malformed(Exception):
    pass


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise _Malformed
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def _fields(buf: bytes) -> list[tuple[int, int | bytes]]:
    """(field number, value) pairs of one message; unknown wire types are malformed."""
    out: list[tuple[int, int | bytes]] = []
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
            out.append((number, value))
        elif wire == 2:
            size, pos = _varint(buf, pos)
            if pos + size > len(buf):
                raise _Malformed
            out.append((number, buf[pos : pos + size]))
            pos += size
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
            if pos > len(buf):
                raise _Malformed
        else:
            raise _Malformed
    return out


def deaggregate(data: bytes) -> list[UserRecord] | None:
    """The user records inside an aggregated record, or None when data is a plain record."""
    if len(data) <= len(MAGIC) + _DIGEST or not data.startswith(MAGIC):
        return None
    body = data[len(MAGIC) : -_DIGEST]
    if hashlib.md5(body).digest() != data[-_DIGEST:]:
        return None
    try:
        keys: list[str] = []
        hash_keys: list[str] = []
        raw_records: list[bytes] = []
        for number, value in _fields(body):
            if not isinstance(value, bytes):
                continue
            if number == 1:
                keys.append(value.decode("utf-8"))
            elif number == 2:
                hash_keys.append(value.decode("utf-8"))
            elif number == 3:
                raw_records.append(value)
        records = []
        for raw in raw_records:
            key_index: int | None = None
            hash_index: int | None = None
            payload: bytes | None = None
            for number, value in _fields(raw):
                if number == 1 and isinstance(value, int):
                    key_index = value
                elif number == 2 and isinstance(value, int):
                    hash_index = value
                elif number == 3 and isinstance(value, bytes):
                    payload = value
            if key_index is None or payload is None:
                raise _Malformed
            explicit = hash_keys[hash_index] if hash_index is not None else None
            records.append(UserRecord(keys[key_index], explicit, payload))
    except (_Malformed, IndexError, UnicodeDecodeError):
        return None
    return records


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _length_delimited(number: int, payload: bytes) -> bytes:
    return _encode_varint(number << 3 | 2) + _encode_varint(len(payload)) + payload


def aggregate(records: Sequence[UserRecord]) -> bytes:
    """One aggregated record holding records in order (keys and hash keys stored once each)."""
    keys: dict[str, int] = {}
    hash_keys: dict[str, int] = {}
    encoded = bytearray()
    for record in records:
        key_index = keys.setdefault(record.partition_key, len(keys))
        message = b"\x08" + _encode_varint(key_index)
        if record.explicit_hash_key is not None:
            message += b"\x10" + _encode_varint(hash_keys.setdefault(record.explicit_hash_key, len(hash_keys)))
        message += _length_delimited(3, record.data)
        encoded += _length_delimited(3, message)
    body = b"".join(_length_delimited(1, key.encode("utf-8")) for key in keys)
    body += b"".join(_length_delimited(2, key.encode("utf-8")) for key in hash_keys)
    body += bytes(encoded)
    return MAGIC + body + hashlib.md5(body).digest()
