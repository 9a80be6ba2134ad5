"""The checks a record passes before the producer admits it: its data, its partition key and
explicit hash key, its size against the stream's limits and the buffer; and its hash key, when a
shard is to be predicted for it (pacing, aggregation), remembered per partition key."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, TypeAlias

from ._produce_limits import LARGEST_RECORD
from ._protocol import view_bytes
from ._rules import utf16_length
from ._shardmap import hash_key_of
from .errors import ParamValidationError

if TYPE_CHECKING:
    from ._produce_limits import StreamLimits
    from .config import ProducerConfig

_HASH_KEY = re.compile(r"0|[1-9][0-9]{0,38}")  # ASCII digits: \d also matches "١٢"
_TOP_HASH = 2**128 - 1
_HASHES = 16_384
"""Partition keys whose hash is kept (MD5 per record costs more than the rest of put()); past
this many the cache starts over, so keys that never repeat cost memory only this far."""

Data: TypeAlias = bytes | bytearray | memoryview
ProducerRecord: TypeAlias = tuple[Data, str | None] | tuple[Data, str | None, str | None]
"""A record for put_many(): (data, partition_key) or (data, partition_key, explicit_hash_key)."""


class RecordChecks:
    """Checks records against one stream's limits (as last read) and one producer's config."""

    def __init__(self, stream_name: str, config: ProducerConfig, limits: StreamLimits) -> None:
        self._stream_name = stream_name
        self._config = config
        self._limits = limits
        self._hashes: dict[str, int] = {}
        self._predict = False
        """Whether the hash key is computed to predict a shard (pacing or aggregation, not AUTO)."""
        self._largest = min(limits.max_record_bytes, config.max_buffered_bytes)
        """The largest record the stream (as last read) and the buffer both take: one test a record."""

    def follow(self, limits: StreamLimits) -> None:
        """Judge by the stream's limits as just read."""
        # The shard is only predicted to pace shards or to aggregate by shard (MD5 costs), and
        # never for a stream that places records itself.
        self._predict = (self._config.rate_limit > 0 or self._config.aggregate) and not limits.auto
        self._largest = min(limits.max_record_bytes, self._config.max_buffered_bytes)

    def check(
        self,
        data: Data,
        partition_key: str | None,
        explicit_hash_key: str | None,
        *,
        final: bool,
    ) -> tuple[bytes, int, int]:
        """The record's bytes, its size (data and key) and its hash key (-1: not needed), or why
        not; unless `final`, Stale when only the stream's limits as last read refuse it."""
        # The common record first (bytes, an ASCII key of 1 to 256 characters, no explicit hash
        # key, within every size limit, a key seen before): it passes every check below.
        if (
            type(data) is bytes
            and type(partition_key) is str
            and explicit_hash_key is None
            and 0 < len(partition_key) <= 256
            and partition_key.isascii()
        ):
            size = len(data) + len(partition_key)
            if size <= self._largest:
                if not self._predict:
                    return data, size, -1
                known = self._hashes.get(partition_key)
                if known is not None:
                    return data, size, known
        if type(data) is not bytes:
            data = _as_bytes(data)
        limits = self._limits
        if partition_key is None:
            if not limits.auto:
                if not final:
                    raise Stale
                raise ParamValidationError(
                    "partition_key",
                    f"is required: {self._stream_name} routes records by partition key "
                    "(RecordDistributionStrategy USER_PARTITION_KEY); only an AUTO stream takes records without one",
                )
            size = len(data)
        else:
            if not isinstance(partition_key, str):
                raise ParamValidationError("partition_key", f"must be a str, not {type(partition_key).__name__}")
            if not 1 <= len(partition_key) <= 256:
                raise ParamValidationError("partition_key", f"must be 1 to 256 characters, not {len(partition_key)}")
            if len(partition_key) > 128:  # the 256 are UTF-16 code units: 129 emoji are 258
                utf16_length("partition_key", partition_key, 256)
            try:
                size = len(data) + (len(partition_key) if partition_key.isascii() else len(partition_key.encode()))
            except UnicodeEncodeError as exc:  # a lone surrogate: no UTF-8 for it, nothing Kinesis can route
                raise ParamValidationError(
                    "partition_key", f"is not valid Unicode ({exc.reason} at index {exc.start})"
                ) from None
        if size > self._largest and size > limits.max_record_bytes:
            if not final and size <= LARGEST_RECORD:
                raise Stale
            raise ParamValidationError(
                "data",
                f"{size} bytes with its partition key, above the stream's maximum record size of "
                f"{limits.max_record_bytes} bytes (MaxRecordSizeInKiB {limits.max_record_bytes // 1024})",
            )
        if size > self._largest:  # room for it could never come (max_buffered_bytes)
            raise ParamValidationError(
                "data",
                f"{size} bytes with its partition key, above ProducerConfig.max_buffered_bytes "
                f"({self._config.max_buffered_bytes}): the buffer could never hold it",
            )
        if explicit_hash_key is None:
            if not self._predict or partition_key is None:
                return data, size, -1
            hashes = self._hashes
            hash_key = hashes.get(partition_key)
            if hash_key is None:
                if len(hashes) >= _HASHES:
                    hashes.clear()
                hash_key = hashes[partition_key] = hash_key_of(partition_key)
            return data, size, hash_key
        if not isinstance(explicit_hash_key, str):
            raise ParamValidationError(
                "explicit_hash_key", f"must be a str of decimal digits, not {type(explicit_hash_key).__name__}"
            )
        if _HASH_KEY.fullmatch(explicit_hash_key) is None or int(explicit_hash_key) > _TOP_HASH:
            raise ParamValidationError(
                "explicit_hash_key",
                f"{explicit_hash_key[:50]!r} is not a decimal from 0 to 2**128 - 1 without leading zeros",
            )
        return data, size, int(explicit_hash_key) if partition_key is not None and not limits.auto else -1


class Stale(Exception):
    """Only the stream's limits as last read refuse a record: read them again, then judge."""


def unpack(record: object, index: int) -> tuple[Data, str | None, str | None]:
    """A put_many() record's fields, or why it is not one (its data and key are checked after)."""
    if isinstance(record, tuple):
        if len(record) == 2:
            return record[0], record[1], None
        if len(record) == 3:
            return record[0], record[1], record[2]
        problem = f"a tuple of {len(record)}"
    else:
        problem = type(record).__name__
    raise ParamValidationError(
        f"records[{index}]",
        f"must be a (data, partition_key) or (data, partition_key, explicit_hash_key) tuple, not {problem}",
    )


def _as_bytes(data: object) -> bytes:
    """bytes for a bytearray or memoryview, copied once at put(): a memoryview of wider items
    (array('H')) or with strides has len() != its size in bytes, and a caller may change
    either after put() returns."""
    if isinstance(data, memoryview):
        return view_bytes("data", data)
    if not isinstance(data, bytes | bytearray):
        raise ParamValidationError("data", f"must be bytes, bytearray or memoryview, not {type(data).__name__}")
    return bytes(data)
