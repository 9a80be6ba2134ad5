"""The in-memory Kinesis behind KinesisServer: one Backend made of the operation families.

Pure logic on an injected clock, no I/O: each operation takes the request's JSON object
and returns the answer's, or raises ApiError with the code, message and status AWS uses.
The families: _streams (streams, shards listing, limits), _settings (a stream's settings),
_records (put, iterators, get), _resharding (split, merge, shard count), _consumers (consumers,
SubscribeToShard), _queues (queues, their records in _queue_records), _resources (tags and
resource policies by ARN, the tag rules in _tags), _account (account settings); the state they
share is in _state. Requests (not direct calls) are first checked against the model's constraints
(_validate), and handled in the region they were signed for, once the clock has been applied
(`advance`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .._shardmap import hash_key_of
from ._account import AccountOperations
from ._consumers import ConsumerOperations
from ._queues import QueueOperations
from ._records import RecordOperations
from ._resharding import ReshardingOperations
from ._resources import ResourceOperations
from ._retention import trim
from ._settings import SettingsOperations
from ._state import Json, Shard, Stream, Subscription
from ._streams import StreamOperations
from ._validate import model_checker

_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/([a-z0-9-]+)/kinesis/aws4_request")


def signed_region(authorization: str | None) -> str | None:
    """The region of a SigV4 Authorization header's credential scope (AKID/date/REGION/kinesis/aws4_request)."""
    found = _SCOPE.search(authorization) if authorization else None
    return found.group(1) if found else None


class Backend(
    StreamOperations,
    SettingsOperations,
    RecordOperations,
    ReshardingOperations,
    ConsumerOperations,
    ResourceOperations,
    QueueOperations,
    AccountOperations,
):
    """All state of one server; every public method named like an operation handles it."""

    def advance(self) -> None:
        """Apply the clock: transitions that are due end (_transitions), and retention drops what it
        passed (_retention). Every request does this first; a test that reads the state directly
        after moving the clock calls it too."""
        now = self.clock()
        self.transitions.settle(now)
        for streams in self._regions.values():
            for stream in streams.values():
                trim(stream, now)

    def scope(self, operation: str, request: Json) -> tuple[str | None, set[str]]:
        """The stream and shards a request touches, for targeting faults; never raises."""
        name = request.get("StreamName")
        arn = request.get("StreamARN") or request.get("ConsumerARN") or request.get("ResourceARN")
        if name is None and isinstance(arn, str):
            found = re.search(r":stream/([a-zA-Z0-9_.-]+)", arn)
            name = found.group(1) if found else None
        if name is None:
            name = self.queue_stream(request)
        shards = {
            value
            for key in ("ShardId", "ShardToSplit", "ShardToMerge", "AdjacentShardToMerge")
            if isinstance(value := request.get(key), str)
        }
        token = request.get("ShardIterator")
        state = self.tokens.open_iterator(token) if isinstance(token, str) else None
        if state is not None:
            name = state.stream
            shards.add(state.shard_id)
        stream = self.streams.get(name) if isinstance(name, str) else None
        if stream is not None and operation in ("PutRecord", "PutRecords"):
            entries = [request] if operation == "PutRecord" else request.get("Records")
            for entry in entries if isinstance(entries, list) else ():
                shard = _shard_for(stream, entry)
                if shard is not None:
                    shards.add(shard.shard_id)
        return (name if isinstance(name, str) else None), shards

    def operation(self, name: str) -> Callable[[Json], Json] | None:
        """The handler of an operation by its wire name, if this server has it: the request is
        checked against the model first, as AWS does."""
        handler = getattr(self, name, None)
        if not name[:1].isupper() or not callable(handler):
            return None
        checker = model_checker()

        def checked(request: Json) -> Json:
            checker.check(name, request)
            self.advance()
            answer: Json = handler(request)
            return answer

        return checked

    def subscribe(self, request: Json) -> Subscription:
        model_checker().check("SubscribeToShard", request)
        self.advance()
        return super().subscribe(request)


def _shard_for(stream: Stream, entry: object) -> Shard | None:
    """Where a PutRecords entry would land, leniently (scope never raises: the handler validates)."""
    if not isinstance(entry, dict):
        return None
    explicit, key = entry.get("ExplicitHashKey"), entry.get("PartitionKey")
    if isinstance(explicit, str) and explicit.isascii() and explicit.isdigit():  # "²" is a digit, not a decimal
        point = int(explicit)
    elif isinstance(key, str):
        point = hash_key_of(key)
    else:
        return None
    return stream.open_shard_at(point)
