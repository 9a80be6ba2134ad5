"""What the local Kinesis holds (streams, shards, records, consumers) and the errors it answers with.

The operation families (_streams, _records, _resharding, _consumers) are mixins over
`BackendState`, which owns this state and the few helpers they all use.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from .._buckets import TokenBucket
from .._shardmap import ShardMap
from ._limits import Limits
from ._tokens import Tokens
from ._transitions import StateDurations, Transitions

Json = dict[str, Any]
HASH_SPACE = 2**128
# 56 digits like AWS's; every record of a stream takes the next one, so they grow per shard.
SEQUENCE_BASE = 4959 * 10**52
HASH_KEY = re.compile(r"0|[1-9]\d{0,38}", re.ASCII)  # Java's \d: kinesis-mock refuses "1٣"
_NAME = re.compile(r"[a-zA-Z0-9_.-]{1,128}")
_ARN = re.compile(r"arn:aws[^:]*:kinesis:([^:]*):(\d{12}):stream/([a-zA-Z0-9_.-]{1,128})")


class ApiError(Exception):
    """An error answer: `code` goes to __type, `status` to the HTTP status line."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


def validation_error(field_name: str, value: object, constraint: str) -> ApiError:
    """AWS's wording for a broken model constraint."""
    shown = value if isinstance(value, str | int) else type(value).__name__
    return ApiError(
        "ValidationException",
        f"1 validation error detected: Value '{shown}' at '{field_name}' failed to satisfy constraint: {constraint}",
    )


def check_name(field_name: str, name: object) -> None:
    """Stream and consumer names: AWS's pattern and length."""
    if not isinstance(name, str) or _NAME.fullmatch(name) is None:
        raise validation_error(
            field_name, name, "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+ and length 1-128"
        )


def check_distribution(mode: str, distribution: str) -> None:
    """AWS: a record distribution strategy is an on-demand stream's setting."""
    if mode != "ON_DEMAND" and distribution != "USER_PARTITION_KEY":
        raise ApiError(
            "InvalidArgumentException",
            f"RecordDistributionStrategy {distribution} is only supported for streams in ON_DEMAND mode.",
        )


def warm_throughput(stream: Stream) -> Json:
    """WarmThroughput as DescribeStreamSummary reports it (reached at once: no scaling here)."""
    return {"TargetMiBps": stream.warm_throughput_mibps, "CurrentMiBps": stream.warm_throughput_mibps}


def page_of(names: Iterable[str], after: object, limit: int) -> tuple[list[str], bool]:
    """One page of names in order, after `after` (exclusive) if given, and whether more follow."""
    ordered = sorted(names)
    if isinstance(after, str):
        ordered = [name for name in ordered if name > after]
    return ordered[:limit], len(ordered) > limit


@dataclass(slots=True)
class StoredRecord:
    sequence: int
    data: bytes
    partition_key: str | None
    """None: a keyless record of an AUTO stream (no PartitionKey was given or kept)."""
    arrival: float

    @property
    def size(self) -> int:
        """What counts against a record's limits and a shard's rates: data and partition key."""
        return len(self.data) + (len(self.partition_key.encode()) if self.partition_key is not None else 0)


@dataclass
class Shard:
    shard_id: str
    start_hash: int
    end_hash: int
    starting_sequence: int
    parent: str | None = None
    adjacent_parent: str | None = None
    ending_sequence: int | None = None
    children: list[str] = field(default_factory=list)
    records: list[StoredRecord] = field(default_factory=list)
    """The records the stream's retention has not passed: `base` of them were dropped before these."""
    sequences: list[int] = field(default_factory=list)
    """The records' sequence numbers, for bisect."""
    base: int = 0
    """The position of records[0]: positions (iterators, subscriptions, queues) count every record
    the shard ever held, so they stay valid when retention drops the oldest."""
    last_dropped: int | None = None
    """The sequence number of the newest record retention dropped (a position at `base` follows it)."""
    closed_at: float | None = None
    write_records: TokenBucket | None = None
    write_bytes: TokenBucket | None = None
    reads: TokenBucket | None = None
    read_bytes: TokenBucket | None = None

    @property
    def is_open(self) -> bool:
        return self.ending_sequence is None

    @property
    def end(self) -> int:
        """The position after the newest record."""
        return self.base + len(self.records)

    def describe(self) -> Json:
        described: Json = {
            "ShardId": self.shard_id,
            "HashKeyRange": {"StartingHashKey": str(self.start_hash), "EndingHashKey": str(self.end_hash)},
            "SequenceNumberRange": {"StartingSequenceNumber": str(self.starting_sequence)},
        }
        if self.ending_sequence is not None:
            described["SequenceNumberRange"]["EndingSequenceNumber"] = str(self.ending_sequence)
        if self.parent is not None:
            described["ParentShardId"] = self.parent
        if self.adjacent_parent is not None:
            described["AdjacentParentShardId"] = self.adjacent_parent
        return described


@dataclass
class Consumer:
    name: str
    arn: str
    created: float
    status: str = "ACTIVE"
    tags: dict[str, str] = field(default_factory=dict)
    policy: str | None = None
    """Its resource-based policy (PutResourcePolicy), as given."""


@dataclass
class Stream:
    name: str
    arn: str
    created: float
    shards: list[Shard]
    region: str = "us-east-1"
    status: str = "ACTIVE"
    retention_hours: int = 24
    mode: str = "PROVISIONED"
    encryption: str = "NONE"
    key_id: str | None = None
    max_record_size_kib: int = 1024
    distribution: str = "USER_PARTITION_KEY"
    """RecordDistributionStrategy: USER_PARTITION_KEY (keys route) or AUTO (records spread, on-demand only)."""
    warm_throughput_mibps: int | None = None
    """WarmThroughputMiBps asked for (on-demand only); reached at once here."""
    spread: int = 0
    """How many records AUTO placed: the next goes to the open shard after the last one's."""
    metrics: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    consumers: dict[str, Consumer] = field(default_factory=dict)
    queues: set[str] = field(default_factory=set)
    """The ARNs of the queues on the stream (the queues themselves are kept by _queues)."""
    policy: str | None = None
    """Its resource-based policy (PutResourcePolicy), as given."""
    next_sequence: int = SEQUENCE_BASE
    next_shard: int = 0
    trim_due: float = float("inf")
    """When retention next drops something (a record, a closed shard): see _retention."""
    _open_index: tuple[ShardMap, dict[str, Shard]] | None = None
    """The open shards' hash ranges and the shards by id; dropped whenever shards open or close."""

    def shard(self, shard_id: str) -> Shard:
        for shard in self.shards:
            if shard.shard_id == shard_id:
                return shard
        account = self.arn.split(":")[4]
        raise ApiError(
            "ResourceNotFoundException",
            f"Shard {shard_id} in stream {self.name} under account {account} does not exist",
        )

    def open_shards(self) -> list[Shard]:
        return [s for s in self.shards if s.is_open]

    def open_shard_at(self, point: int) -> Shard | None:
        """The open shard whose hash range holds point (a partition key's MD5, or an explicit hash key)."""
        if self._open_index is None:
            shards = self.open_shards()
            ranges = ShardMap.of_ranges((s.start_hash, s.end_hash, s.shard_id) for s in shards)
            self._open_index = (ranges, {s.shard_id: s for s in shards})
        ranges, by_id = self._open_index
        shard_id = ranges.shard_for(point)
        return None if shard_id is None else by_id[shard_id]

    def new_shard(self, start: int, end: int, parent: str | None = None, adjacent: str | None = None) -> Shard:
        """Open a shard over [start, end]; it takes the next shard id and sequence number."""
        shard = Shard(
            shard_id=f"shardId-{self.next_shard:012d}",
            start_hash=start,
            end_hash=end,
            starting_sequence=self.next_sequence,
            parent=parent,
            adjacent_parent=adjacent,
        )
        self.next_shard += 1
        self.next_sequence += 1
        self.shards.append(shard)
        self._open_index = None
        return shard

    @property
    def retention_seconds(self) -> float:
        return self.retention_hours * 3600.0

    def expires(self, since: float) -> None:
        """Something dated `since` (a record's arrival, a shard's closing) leaves with retention."""
        self.trim_due = min(self.trim_due, since + self.retention_seconds)

    def close(self, shard: Shard, now: float) -> None:
        shard.ending_sequence = self.next_sequence
        shard.closed_at = now
        self.expires(now)
        self.next_sequence += 1
        self._open_index = None

    def child(self, shard_id: str) -> Json:
        """A ChildShards entry, as GetRecords and SubscribeToShard end a closed shard with."""
        child = self.shard(shard_id)
        return {
            "ShardId": child.shard_id,
            "ParentShards": [p for p in (child.parent, child.adjacent_parent) if p is not None],
            "HashKeyRange": {"StartingHashKey": str(child.start_hash), "EndingHashKey": str(child.end_hash)},
        }


@dataclass(slots=True, weakref_slot=True)
class Subscription:
    stream: Stream
    shard: Shard
    consumer: Consumer
    position: int
    ends: float
    """When Kinesis ends the subscription (5 minutes after it began, on the server's clock)."""
    taken_over: bool = False
    """A newer subscription of the same consumer and shard replaced this one."""

    @property
    def has_news(self) -> bool:
        """Records to send, or the shard's end (a closed shard ends its subscription at once)."""
        return self.position < self.shard.end or not self.shard.is_open


class BackendState:
    """All state of one server, and what every operation family needs of it."""

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        limits: Limits = Limits(),  # noqa: B008 - frozen
        region: str = "us-east-1",
        account: str = "123456789012",
        durations: StateDurations = StateDurations(),  # noqa: B008 - frozen
    ) -> None:
        self.clock = clock
        self.limits = limits
        self.transitions = Transitions(clock, durations)
        """CREATING / UPDATING / DELETING until their durations pass (none by default)."""
        self.default_region = region
        """Where unsigned requests (and direct calls, between requests) go."""
        self.region = region
        """The region of the request being handled (its SigV4 credential scope's): see `in_region`."""
        self.account = account
        self._regions: dict[str, dict[str, Stream]] = {region: {}}
        """The streams of each region, by name: AWS keeps streams per account and region."""
        self.tokens = Tokens()
        """Seals shard iterators and NextTokens: they describe themselves, so none is kept here."""
        self._iterator_serial = 0
        """The serial number of the last iterator issued."""
        self._expired_through = 0
        """Iterators with a serial up to this one have expired (the EXPIRED_ITERATOR fault)."""
        self.throttled = 0
        """Requests and PutRecords entries the per-shard limits refused (injected faults aside):
        a test can assert that the code under test paces itself."""
        self._subscribed: dict[tuple[str, str], float] = {}
        """When each (consumer ARN, shard id) last subscribed."""
        self._subscribe_calls: dict[tuple[str, str], float] = {}
        """When each (consumer ARN, shard id) last called SubscribeToShard, refused or not."""
        self._subscriptions: weakref.WeakValueDictionary[tuple[str, str], Subscription] = weakref.WeakValueDictionary()
        """The newest subscription of each (consumer ARN, shard id), while it is streamed."""
        self.entry_fault: Callable[[Shard], str | None] | None = None
        """Set by the server for one PutRecords: the error code an entry for that shard fails with."""

    @property
    def streams(self) -> dict[str, Stream]:
        """The streams of the current region (the default one outside a request)."""
        streams = self._regions.get(self.region)
        if streams is None:
            streams = self._regions[self.region] = {}
        return streams

    def streams_in(self, region: str) -> dict[str, Stream]:
        """The streams of one region (none yet: an empty map, not kept)."""
        return self._regions.get(region, {})

    @contextmanager
    def in_region(self, region: str | None) -> Iterator[None]:
        """Handle one request in `region` (None: the default region); requests are handled
        synchronously, so no other request sees the region while it is set."""
        before = self.region
        self.region = region or self.default_region
        try:
            yield
        finally:
            self.region = before

    def _arn(self, name: str) -> str:
        return f"arn:aws:kinesis:{self.region}:{self.account}:stream/{name}"

    def _stream(self, request: Json) -> Stream:
        name = request.get("StreamName")
        arn = request.get("StreamARN")
        if arn is not None:
            match = _ARN.fullmatch(str(arn))
            if match is None:
                raise validation_error("streamARN", arn, "Member must satisfy regular expression pattern")
            if name is not None and name != match.group(3):
                raise ApiError("InvalidArgumentException", "StreamName and StreamARN do not name the same stream")
            name = match.group(3)
        if name is None:
            raise ApiError("InvalidArgumentException", "Either StreamName or StreamARN must be provided")
        check_name("streamName", name)
        stream = self.streams.get(name)
        if stream is None or (arn is not None and stream.arn != arn):
            raise ApiError("ResourceNotFoundException", f"Stream {name} under account {self.account} not found.")
        return stream

    def _active_stream(self, request: Json) -> Stream:
        stream = self._stream(request)
        if stream.status != "ACTIVE":
            raise ApiError("ResourceInUseException", f"Stream {stream.name} is {stream.status}, not ACTIVE.")
        return stream

    def _serving_stream(self, request: Json) -> Stream:
        """A stream for PutRecord(s), GetShardIterator and GetRecords. While it is CREATING they answer
        ResourceNotFoundException: the model lists no ResourceInUseException for them, kinesalite does
        so, and AWS's own SDK tests met it (aws-sdk-java-v2 #5041); kinesis-mock answers
        ResourceInUseException. UPDATING and DELETING streams are served, as AWS documents."""
        stream = self._stream(request)
        if stream.status == "CREATING":
            raise ApiError("ResourceNotFoundException", f"Stream {stream.name} under account {self.account} not found.")
        return stream

    def _new_shard(
        self, stream: Stream, start: int, end: int, parent: str | None = None, adjacent: str | None = None
    ) -> Shard:
        """A new open shard of the stream, with AWS's per-shard limits when they are enabled."""
        shard = stream.new_shard(start, end, parent, adjacent)
        if self.limits.enabled:
            shard.write_records = TokenBucket(self.limits.write_records_per_second, self.clock)
            shard.write_bytes = TokenBucket(self.limits.write_bytes_per_second, self.clock)
            shard.reads = TokenBucket(self.limits.reads_per_second, self.clock)
            shard.read_bytes = TokenBucket(self.limits.read_bytes_per_second, self.clock)
        return shard

    def _even_shards(self, stream: Stream, count: int, low: int = 0, high: int = HASH_SPACE - 1) -> list[Shard]:
        step = (high - low + 1) // count
        return [
            self._new_shard(stream, low + i * step, high if i == count - 1 else low + (i + 1) * step - 1)
            for i in range(count)
        ]

    def _check_shard_limit(self, more: int) -> None:
        """AWS's account shard limit in a region: opening `more` shards must stay within it."""
        open_now = sum(len(s.open_shards()) for s in self.streams.values())
        if open_now + more > self.limits.shard_limit:
            raise ApiError(
                "LimitExceededException",
                f"This request would exceed the shard limit for the account {self.account} in {self.region}. "
                f"Current shard count for the account: {open_now}. Limit: {self.limits.shard_limit}. "
                f"Number of additional shards that would have resulted from this request: {more}.",
            )

    def _throttled_message(self, stream: Stream, shard: Shard) -> str:
        return f"Rate exceeded for shard {shard.shard_id} in stream {stream.name} under account {self.account}."
