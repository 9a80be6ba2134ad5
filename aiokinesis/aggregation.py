"""The KPL aggregation format: many user records in one Kinesis record, as the Java KPL/KCL do.

Bytes: magic F3 89 9A C2, then a protobuf `AggregatedRecord`, then the MD5 of the protobuf.

    AggregatedRecord { repeated string partition_key_table = 1; repeated string explicit_hash_key_table = 2;
                       repeated Record records = 3; }
    Record { required uint64 partition_key_index = 1; optional uint64 explicit_hash_key_index = 2;
             required bytes data = 3; repeated Tag tags = 4; }

The protobuf is read and written by hand: three small messages do not justify a dependency.
A record without the magic, with a bad MD5 or with a malformed protobuf is a plain record; so is
one that proto2 rejects (a required field missing: a record's key index or data, a tag's key), one
whose index is outside its table, and one with a string that is not UTF-8 (the KCL would put U+FFFD
in its place: a plain record keeps every byte).

Decoding works on offsets into the record: nothing is copied but the strings and the data the
user records keep, so the work and the memory of one aggregate grow with its size, whatever it holds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

MAGIC = b"\xf3\x89\x9a\xc2"
_DIGEST = 16
_UINT64 = (1 << 64) - 1
_MAX_GROUP_DEPTH = 64  # unknown proto2 groups nested deeper are malformed (protobuf's own limit is 100)


@dataclass(frozen=True, slots=True)
class UserRecord:
    """One record as its producer put it: inside an aggregate, or the whole Kinesis record."""

    partition_key: str
    explicit_hash_key: str | None
    """A decimal hash key that routes it instead of its partition key's MD5, if given."""
    data: bytes


class _Malformed(Exception):
    pass


def _varint(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    """At most 10 bytes; bits beyond 64 are dropped, as protobuf parsers do."""
    result = shift = 0
    while pos < end and shift <= 63:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result & _UINT64, pos
        shift += 7
    raise _Malformed


def _field(buf: bytes, pos: int, end: int, depth: int = 0) -> tuple[int, int, int, int]:
    """The field at pos (< end): (number, wire type, value, position after it). The value is the
    integer of a varint, and where the payload starts for a length-delimited field (it ends at the
    position after). One-byte varints, nearly all of them, take the short path. A group (wire
    type 3, deprecated but valid proto2) is skipped whole; depth is how many groups enclose pos."""
    key = buf[pos]
    if key < 0x80:
        pos += 1
    else:
        key, pos = _varint(buf, pos, end)
        if key > 0xFFFF_FFFF:  # a tag is a uint32
            raise _Malformed
    if key < 8:  # field number 0
        raise _Malformed
    number, wire = key >> 3, key & 7
    value = 0
    if wire == 0 or wire == 2:
        if pos < end and buf[pos] < 0x80:
            value = buf[pos]
            pos += 1
        else:
            value, pos = _varint(buf, pos, end)
        if wire == 2:
            value, pos = pos, pos + value
    elif wire == 1:
        pos += 8
    elif wire == 5:
        pos += 4
    elif wire == 3 and depth < _MAX_GROUP_DEPTH:
        while True:
            if pos >= end:
                raise _Malformed
            inner, inner_wire, _, pos = _field(buf, pos, end, depth + 1)
            if inner_wire == 4:
                if inner != number:
                    raise _Malformed
                break
    elif wire != 4 or depth == 0:  # an end of group is only valid inside one
        raise _Malformed
    if pos > end:
        raise _Malformed
    return number, wire, value, pos


def _text(buf: bytes, start: int, end: int) -> str:
    return buf[start:end].decode("utf-8")


def _tag(buf: bytes, pos: int, end: int) -> None:
    """Checks a Tag { required string key = 1; optional string value = 2; }: the KCL's parser rejects
    an aggregate whose tag has no key, so do we (tags themselves are not kept). Of a field given
    twice the last one counts, as in any protobuf parser."""
    strings: dict[int, tuple[int, int]] = {}
    while pos < end:
        number, wire, value, pos = _field(buf, pos, end)
        if wire == 2 and number in (1, 2):
            strings[number] = (value, pos)
    if 1 not in strings:
        raise _Malformed
    for start, stop in strings.values():
        _text(buf, start, stop)


def _record(buf: bytes, pos: int, end: int, keys: list[str], hash_keys: list[str]) -> UserRecord:
    key_index: int | None = None
    hash_index: int | None = None
    data: tuple[int, int] | None = None
    while pos < end:
        number, wire, value, pos = _field(buf, pos, end)
        if wire == 0 and number == 1:
            key_index = value
        elif wire == 0 and number == 2:
            hash_index = value
        elif wire == 2 and number == 3:
            data = (value, pos)
        elif wire == 2 and number == 4:
            _tag(buf, value, pos)
    if key_index is None or data is None or key_index >= len(keys):
        raise _Malformed
    if hash_index is None:
        explicit = None
    elif hash_index < len(hash_keys):
        explicit = hash_keys[hash_index]
    else:
        raise _Malformed
    return UserRecord(keys[key_index], explicit, buf[data[0] : data[1]])


def deaggregate(data: bytes) -> list[UserRecord] | None:
    """The user records inside an aggregated record, or None when data is a plain record."""
    if len(data) <= len(MAGIC) + _DIGEST or not data.startswith(MAGIC):
        return None
    start, end = len(MAGIC), len(data) - _DIGEST
    if hashlib.md5(memoryview(data)[start:end]).digest() != data[end:]:
        return None
    try:
        # Two passes: the tables may come after the records that index them.
        keys: list[str] = []
        hash_keys: list[str] = []
        pos = start
        while pos < end:
            number, wire, value, pos = _field(data, pos, end)
            if wire == 2 and number == 1:
                keys.append(_text(data, value, pos))
            elif wire == 2 and number == 2:
                hash_keys.append(_text(data, value, pos))
        records = []
        pos = start
        while pos < end:
            number, wire, value, pos = _field(data, pos, end)
            if wire == 2 and number == 3:
                records.append(_record(data, value, pos, keys, hash_keys))
    except (_Malformed, UnicodeDecodeError):
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
    """One aggregated record holding records in order (keys and hash keys stored once each).

    A record's data may be any bytes-like object: a memoryview is framed by its bytes, not its len()."""
    if not records:
        raise ValueError("an aggregate holds at least one record")
    keys: dict[str, int] = {}
    hash_keys: dict[str, int] = {}
    encoded = bytearray()
    for record in records:
        key_index = keys.setdefault(record.partition_key, len(keys))
        message = b"\x08" + _encode_varint(key_index)
        if record.explicit_hash_key is not None:
            message += b"\x10" + _encode_varint(hash_keys.setdefault(record.explicit_hash_key, len(hash_keys)))
        data = record.data
        message += _length_delimited(3, data if type(data) is bytes else bytes(data))
        encoded += _length_delimited(3, message)
    body = b"".join(_length_delimited(1, key.encode("utf-8")) for key in keys)
    body += b"".join(_length_delimited(2, key.encode("utf-8")) for key in hash_keys)
    body += bytes(encoded)
    return MAGIC + body + hashlib.md5(body).digest()
