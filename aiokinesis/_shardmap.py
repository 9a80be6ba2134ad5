"""Which open shard a partition key (or explicit hash key) lands on, from ListShards' hash ranges.

The producer builds it from ListShards' typed shards; the local test server (aiokinesis.testing)
from its own shards' ranges, so both sides of the wire route by the same lookup.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Iterable

from ._generated.models import Shard


def hash_key_of(partition_key: str) -> int:
    """The 128-bit hash Kinesis routes a partition key by: MD5 of its UTF-8, big-endian."""
    return int.from_bytes(hashlib.md5(partition_key.encode("utf-8")).digest(), "big")


class ShardMap:
    """Open shards sorted by starting hash key; lookups bisect."""

    def __init__(self, shards: Iterable[Shard]) -> None:
        self._index(
            (int(s.hash_key_range.starting_hash_key), int(s.hash_key_range.ending_hash_key), s.shard_id)
            for s in shards
            if s.sequence_number_range.ending_sequence_number is None
        )

    @classmethod
    def of_ranges(cls, ranges: Iterable[tuple[int, int, str]]) -> ShardMap:
        """From the (starting hash key, ending hash key, shard id) of each open shard."""
        shard_map = cls(())
        shard_map._index(ranges)
        return shard_map

    def _index(self, ranges: Iterable[tuple[int, int, str]]) -> None:
        self._ranges = sorted(ranges)
        self._starts = [start for start, _, _ in self._ranges]
        self._shard_ids = tuple(shard_id for _, _, shard_id in self._ranges)

    @property
    def shard_ids(self) -> tuple[str, ...]:
        return self._shard_ids

    def shard_for(self, hash_key: int) -> str | None:
        i = bisect.bisect_right(self._starts, hash_key) - 1
        if i < 0 or hash_key > self._ranges[i][1]:
            return None
        return self._ranges[i][2]
