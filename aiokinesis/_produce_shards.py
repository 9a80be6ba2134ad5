"""The producer's shard choice, apart from its buffer: the shard each unit is paced on."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._shardmap import ShardMap

if TYPE_CHECKING:
    from ._produce_model import Item, Lane
    from ._produce_pacing import ShardPacer

_PREDICTED = 16_384
"""Hash keys whose predicted shard is kept; past this many the cache starts over."""
_UNSEEN: Any = object()
"""A hash key with no prediction under the current map yet."""


class ShardChoice:
    """A keyed record's shard predicted from the map (remembered by hash key); a record the stream
    places itself (keyless, or any on an AUTO stream) given the next shard whose rate admits it."""

    def __init__(self) -> None:
        self.map = ShardMap(())
        """The shard map predictions follow; replaced only through follow()."""
        self._predicted: dict[int, str | None] = {}
        """The shard of each hash key predicted under the current map (a bisect a record costs more)."""
        self._next_spread = 0

    def follow(self, shard_map: ShardMap) -> None:
        """Predict by a new shard map from now on."""
        self.map = shard_map
        self._predicted = {}

    def predict(self, hash_key: int) -> str | None:
        """The shard the current map puts a hash key on (None for a key not hashed, or no shard)."""
        if hash_key < 0:
            return None
        predicted = self._predicted
        shard_id: str | None = predicted.get(hash_key, _UNSEEN)
        if shard_id is _UNSEEN:
            if len(predicted) >= _PREDICTED:
                predicted.clear()
            shard_id = predicted[hash_key] = self.map.shard_for(hash_key)
        return shard_id

    def spread(
        self, lane: Lane, head: Item, size: int, pacer: ShardPacer | None, now: float
    ) -> tuple[bool, str | None]:
        """Whether every shard's rate holds back a unit the stream places itself, and else the
        shard picked to pace it on (None: no pacing)."""
        shard_ids = self.map.shard_ids
        if pacer is None or not shard_ids:
            return False, None
        # Round-robin over the open shards, passing over those whose rate holds it back now.
        count = len(shard_ids)
        for step in range(count):
            index = (self._next_spread + step) % count
            if pacer.admit(shard_ids[index], lane, head, size, now):
                self._next_spread = index + 1
                return False, shard_ids[index]
        return True, None
