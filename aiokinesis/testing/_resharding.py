"""Resharding: SplitShard, MergeShards, UpdateShardCount, and the same as direct calls for tests.

A parent closes at once (its ending sequence number set) and its children open over its hash
range; readers of the parent then get NextShardIterator null with ChildShards at its end. The
operations leave the stream UPDATING for the update duration (AWS: "sets the stream status to
UPDATING... Read and write operations continue to work while the stream is in the UPDATING state").
"""

from __future__ import annotations

from ._state import HASH_KEY, ApiError, BackendState, Json, Shard, Stream, validation_error


class ReshardingOperations(BackendState):
    """Closing shards and opening their children, keeping the open hash ranges whole."""

    def split_shard(self, stream: Stream, shard: Shard, at: int) -> tuple[Shard, Shard]:
        if not shard.is_open:
            raise ApiError("ResourceInUseException", f"Shard {shard.shard_id} is closed.")
        if not shard.start_hash < at <= shard.end_hash:
            raise ApiError("InvalidArgumentException", f"NewStartingHashKey {at} is not inside shard {shard.shard_id}.")
        self._check_shard_limit(1)
        stream.close(shard, self.clock())
        low = self._new_shard(stream, shard.start_hash, at - 1, parent=shard.shard_id)
        high = self._new_shard(stream, at, shard.end_hash, parent=shard.shard_id)
        shard.children = [low.shard_id, high.shard_id]
        return low, high

    def merge_shards(self, stream: Stream, first: Shard, second: Shard) -> Shard:
        if not first.is_open or not second.is_open:
            raise ApiError("ResourceInUseException", "Both shards must be open to merge.")
        low, high = sorted((first, second), key=lambda s: s.start_hash)
        if low.end_hash + 1 != high.start_hash:
            raise ApiError(
                "InvalidArgumentException", f"Shards {first.shard_id} and {second.shard_id} are not adjacent."
            )
        stream.close(first, self.clock())
        stream.close(second, self.clock())
        child = self._new_shard(stream, low.start_hash, high.end_hash, parent=first.shard_id, adjacent=second.shard_id)
        first.children = second.children = [child.shard_id]
        return child

    def SplitShard(self, request: Json) -> Json:
        stream = self._active_stream(request)
        shard = stream.shard(str(request.get("ShardToSplit")))
        raw = request.get("NewStartingHashKey")
        if not isinstance(raw, str) or HASH_KEY.fullmatch(raw) is None:
            raise validation_error(
                "newStartingHashKey", raw, "Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38})"
            )
        self.split_shard(stream, shard, int(raw))
        self.transitions.through(stream, "UPDATING", self.transitions.durations.update)
        return {}

    def MergeShards(self, request: Json) -> Json:
        stream = self._active_stream(request)
        first = stream.shard(str(request.get("ShardToMerge")))
        second = stream.shard(str(request.get("AdjacentShardToMerge")))
        self.merge_shards(stream, first, second)
        self.transitions.through(stream, "UPDATING", self.transitions.durations.update)
        return {}

    def UpdateShardCount(self, request: Json) -> Json:
        stream = self._active_stream(request)
        target = request.get("TargetShardCount")
        current = len(stream.open_shards())
        if not isinstance(target, int) or target < 1:
            raise validation_error("targetShardCount", target, "Member must have value greater than or equal to 1")
        if stream.mode == "ON_DEMAND":
            raise ApiError(
                "InvalidArgumentException",
                f"UpdateShardCount is not supported for stream {stream.name} under account {self.account}: "
                "its capacity mode is ON_DEMAND.",
            )
        if not current / 2 <= target <= current * 2:
            raise ApiError(
                "ValidationException", f"TargetShardCount {target} must be between 50% and 200% of {current}."
            )
        self._check_shard_limit(target - current)
        for shard in stream.open_shards():
            stream.close(shard, self.clock())
        parents = [s.shard_id for s in stream.shards if not s.is_open and not s.children]
        children = self._even_shards(stream, target)
        for parent_id in parents:
            parent = stream.shard(parent_id)
            parent.children = [
                c.shard_id for c in children if c.start_hash <= parent.end_hash and c.end_hash >= parent.start_hash
            ]
        for child in children:
            overlapping = [
                p
                for p in parents
                if stream.shard(p).start_hash <= child.end_hash and stream.shard(p).end_hash >= child.start_hash
            ]
            child.parent = overlapping[0] if overlapping else None
            child.adjacent_parent = overlapping[1] if len(overlapping) > 1 else None
        self.transitions.through(stream, "UPDATING", self.transitions.durations.update)
        return {
            "StreamName": stream.name,
            "StreamARN": stream.arn,
            "CurrentShardCount": current,
            "TargetShardCount": target,
        }
