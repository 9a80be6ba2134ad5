"""Rules of the Kinesis API that its model cannot express, checked before a request is sent.

The model types each member alone. These rules tie members together (a stream named by its
name or its ARN; a starting position's type and its sequence number or timestamp) or bound
what the model leaves open (a hash key's 128 bits, PutRecords' 10 MiB), as the API reference
states them. The generated serializers call them once every member has passed the model's own
checks; each error names the field and the limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from .errors import ParamValidationError

MAX_HASH_KEY = 2**128 - 1
"""Hash keys are unsigned 128-bit integers; the model's pattern allows 39 digits, up to 10**39 - 1."""
MAX_REQUEST_BYTES = 10 * 1024 * 1024
"""PutRecords: data and partition keys of the whole request (the model's documentation, 2025-26)."""
MAX_RECORD_BYTES = 10 * 1024 * 1024
"""One record's data and partition key, at most; a stream's own limit may be lower (1 MiB by default)."""
_SEQUENCE_TYPES = ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER")
_UTF8_MAX = 4  # bytes per character: a bound checked first, so keys are encoded only near a limit


class _Entry(Protocol):
    @property
    def data(self) -> bytes | bytearray | memoryview: ...
    @property
    def partition_key(self) -> str | None: ...


def _byte_len(data: bytes | bytearray | memoryview) -> int:
    """A memoryview's len() counts items, not bytes (the serializer reads it as its bytes)."""
    return data.nbytes if type(data) is memoryview else len(data)


def _utf8_len(text: str | None) -> int:
    # surrogatepass: a lone surrogate is refused later, with its own message, when the body is encoded.
    return 0 if text is None else len(text.encode("utf-8", "surrogatepass"))


def java_length(text: str) -> int:
    """A string's length as Java's String.length() counts it (the KPL checks a partition key so,
    and kinesis-mock refuses a PutRecords whole past it): in UTF-16 code units, two for a character
    past U+FFFF."""
    return len(text) if text.isascii() else len(text.encode("utf-16-le", "surrogatepass")) // 2


def utf16_length(field: str, text: str, high: int) -> None:
    """A length limit counted as java_length counts it. Called only for a text of more than
    high // 2 characters: a shorter one is within it."""
    units = java_length(text)
    if units > high:
        raise ParamValidationError(
            field,
            f"has {len(text)} characters but {units} UTF-16 code units (two for a character past U+FFFF), "
            f"above the maximum of {high}",
        )


def hash_key_above(field: str, value: str) -> ParamValidationError:
    return ParamValidationError(field, f"{value} is above the largest hash key, 2**128 - 1")


def stream(stream_name: str | None, stream_arn: str | None) -> None:
    """Stream operations need the stream's name or its ARN (either, or both)."""
    if stream_name is None and stream_arn is None:
        raise ParamValidationError("stream_name", "is required when stream_arn is not given")


def stream_arn(arn: str | None) -> None:
    """UpdateMaxRecordSize names its stream only by ARN: the model leaves it optional, the service does not."""
    if arn is None:
        raise ParamValidationError("stream_arn", "is required: it is the only way this operation names the stream")


def list_shards(
    next_token: str | None,
    stream_name: str | None,
    stream_arn: str | None,
    exclusive_start_shard_id: str | None,
    stream_creation_timestamp: datetime | None,
) -> None:
    """ListShards names the stream, or continues from a NextToken that already does (and excludes them)."""
    if next_token is None:
        if stream_name is None and stream_arn is None:
            raise ParamValidationError("stream_name", "is required when neither stream_arn nor next_token is given")
        return
    for field, value in (
        ("stream_name", stream_name),
        ("exclusive_start_shard_id", exclusive_start_shard_id),
        ("stream_creation_timestamp", stream_creation_timestamp),
    ):
        if value is not None:
            raise ParamValidationError(field, "cannot be given with next_token")


def consumer(consumer_arn: str | None, stream_arn: str | None, consumer_name: str | None) -> None:
    """A consumer is named by its ARN, or by its stream's ARN and its own name."""
    if consumer_arn is not None:
        return
    if stream_arn is None and consumer_name is None:
        raise ParamValidationError("consumer_arn", "is required when stream_arn and consumer_name are not given")
    if stream_arn is None:
        raise ParamValidationError("stream_arn", "is required with consumer_name when consumer_arn is not given")
    if consumer_name is None:
        raise ParamValidationError("consumer_name", "is required with stream_arn when consumer_arn is not given")


def iterator_start(
    type_field: str, kind: str, sequence_field: str, sequence_number: str | None, timestamp: datetime | None
) -> None:
    """AT_/AFTER_SEQUENCE_NUMBER need a sequence number, AT_TIMESTAMP a timestamp."""
    if sequence_number is None and kind in _SEQUENCE_TYPES:
        raise ParamValidationError(sequence_field, f"is required when {type_field} is {kind}")
    if timestamp is None and kind == "AT_TIMESTAMP":
        raise ParamValidationError("timestamp", f"is required when {type_field} is AT_TIMESTAMP")


def queue_start(kind: str, timestamp: datetime | None) -> None:
    """A queue's timestamp goes with AT_TIMESTAMP, and only with it (the service refuses it otherwise).

    A type this release does not know is left for the service to judge."""
    if kind == "AT_TIMESTAMP":
        if timestamp is None:
            raise ParamValidationError("timestamp", "is required when type is AT_TIMESTAMP")
    elif timestamp is not None and kind in ("TRIM_HORIZON", "LATEST"):
        raise ParamValidationError("timestamp", f"is only allowed when type is AT_TIMESTAMP, not {kind}")


def shard_filter(kind: str, shard_id: str | None, timestamp: datetime | None) -> None:
    """AFTER_SHARD_ID needs a shard id; AT_TIMESTAMP and FROM_TIMESTAMP need a timestamp."""
    if shard_id is None and kind == "AFTER_SHARD_ID":
        raise ParamValidationError("shard_id", "is required when type is AFTER_SHARD_ID")
    if timestamp is None and kind in ("AT_TIMESTAMP", "FROM_TIMESTAMP"):
        raise ParamValidationError("timestamp", f"is required when type is {kind}")


def record_size(data: bytes | bytearray | memoryview, partition_key: str | None) -> None:
    """PutRecord: data and partition key together within the largest record Kinesis takes."""
    if partition_key is None or len(data) + _UTF8_MAX * len(partition_key) <= MAX_RECORD_BYTES:
        return  # the model already bounds data alone
    size = len(data) + _utf8_len(partition_key)
    if size > MAX_RECORD_BYTES:
        raise ParamValidationError(
            "data", f"has {size} bytes with its partition key, above the maximum of {MAX_RECORD_BYTES} per record"
        )


def surely_within_request(data_bytes: int, key_chars: int) -> bool:
    """True if a request of this much data and these many partition key characters is within 10 MiB
    however its keys encode (False: count its keys' UTF-8 bytes)."""
    return data_bytes + _UTF8_MAX * key_chars <= MAX_REQUEST_BYTES


def records_size(records: Sequence[_Entry]) -> None:
    """PutRecords: the request's data and partition keys within 10 MiB; one pass over lengths only.

    A record's own limit is the same number, so a request within it holds no record above it."""
    data = 0
    keys = 0
    for entry in records:
        data += _byte_len(entry.data)
        key = entry.partition_key
        if key is not None:
            keys += len(key)
    if surely_within_request(data, keys):
        return
    sizes = [_byte_len(entry.data) + _utf8_len(entry.partition_key) for entry in records]
    for index, size in enumerate(sizes):
        if size > MAX_RECORD_BYTES:
            raise ParamValidationError(
                f"records[{index}]",
                f"has {size} bytes of data and partition key, above the maximum of {MAX_RECORD_BYTES} per record",
            )
    total = sum(sizes)
    if total > MAX_REQUEST_BYTES:
        raise ParamValidationError(
            "records",
            f"have {total} bytes of data and partition keys, above the maximum of {MAX_REQUEST_BYTES} per request",
        )
