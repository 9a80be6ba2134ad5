"""The in-memory Kinesis behind KinesisServer: streams, shards, records, iterators, consumers.

Pure logic on an injected clock, no I/O: each operation takes the request's JSON object
and returns the answer's, or raises ApiError with the code, message and status AWS uses.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .._buckets import TokenBucket
from .._shardmap import hash_key_of as hash_of
from ._limits import Limits
from ._tokens import IteratorState, NextTokenState, Tokens

Json = dict[str, Any]
HASH_SPACE = 2**128
# 56 digits like AWS's; every record of a stream takes the next one, so they grow per shard.
SEQUENCE_BASE = 4959 * 10**52
_NAME = re.compile(r"[a-zA-Z0-9_.-]{1,128}")
_HASH_KEY = re.compile(r"0|[1-9]\d{0,38}")
_SEQUENCE = re.compile(r"0|[1-9]\d{0,128}")
_ARN = re.compile(r"arn:aws[^:]*:kinesis:([^:]*):(\d{12}):stream/([a-zA-Z0-9_.-]{1,128})")
_CONSUMER_ARN = re.compile(r"(arn:aws[^:]*:kinesis:[^:]*:\d{12}:stream/[a-zA-Z0-9_.-]+)/consumer/([a-zA-Z0-9_.-]+):\d+")
SUBSCRIBE_INTERVAL = 5.0  # AWS: a second SubscribeToShard for a consumer and shard within 5 s is refused
ITERATOR_TYPES = ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER", "TRIM_HORIZON", "LATEST", "AT_TIMESTAMP")


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


@dataclass(slots=True)
class StoredRecord:
    sequence: int
    data: bytes
    partition_key: str
    arrival: float


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
    sequences: list[int] = field(default_factory=list)
    """The records' sequence numbers, for bisect."""
    write_records: TokenBucket | None = None
    write_bytes: TokenBucket | None = None
    reads: TokenBucket | None = None
    read_bytes: TokenBucket | None = None

    @property
    def is_open(self) -> bool:
        return self.ending_sequence is None

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


@dataclass
class Stream:
    name: str
    arn: str
    created: float
    shards: list[Shard]
    status: str = "ACTIVE"
    retention_hours: int = 24
    mode: str = "PROVISIONED"
    encryption: str = "NONE"
    key_id: str | None = None
    max_record_size_kib: int = 1024
    metrics: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    consumers: dict[str, Consumer] = field(default_factory=dict)
    policy: str | None = None
    next_sequence: int = SEQUENCE_BASE
    next_shard: int = 0
    _open_index: tuple[list[int], list[Shard]] | None = None
    """Open shards by starting hash key, for bisect; dropped whenever shards open or close."""

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
            shards = sorted(self.open_shards(), key=lambda s: s.start_hash)
            self._open_index = ([s.start_hash for s in shards], shards)
        starts, shards = self._open_index
        i = bisect.bisect_right(starts, point) - 1
        if i < 0 or point > shards[i].end_hash:
            return None
        return shards[i]


@dataclass(slots=True)
class Subscription:
    stream: Stream
    shard: Shard
    position: int
    ends: float
    """When Kinesis ends the subscription (5 minutes after it began, on the server's clock)."""

    @property
    def has_news(self) -> bool:
        return self.position < len(self.shard.records)


class Backend:
    """All state of one server; every public method named like an operation handles it."""

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        limits: Limits = Limits(),  # noqa: B008 - frozen
        region: str = "us-east-1",
        account: str = "123456789012",
    ) -> None:
        self.clock = clock
        self.limits = limits
        self.region = region
        self.account = account
        self.streams: dict[str, Stream] = {}
        self.tokens = Tokens()
        """Seals shard iterators and NextTokens: they describe themselves, so none is kept here."""
        self._iterator_serial = 0
        """The serial number of the last iterator issued."""
        self._expired_through = 0
        """Iterators with a serial up to this one have expired (the EXPIRED_ITERATOR fault)."""
        self._subscribed: dict[tuple[str, str], float] = {}  # (consumer ARN, shard) -> when
        self.entry_fault: Callable[[Shard], str | None] | None = None
        """Set by the server for one PutRecords: the error code an entry for that shard fails with."""

    # -- helpers ---------------------------------------------------------------------------

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
        self._check_name("streamName", name)
        stream = self.streams.get(name)
        if stream is None or (arn is not None and stream.arn != arn):
            raise ApiError("ResourceNotFoundException", f"Stream {name} under account {self.account} not found.")
        return stream

    def _active_stream(self, request: Json) -> Stream:
        stream = self._stream(request)
        if stream.status != "ACTIVE":
            raise ApiError("ResourceInUseException", f"Stream {stream.name} is {stream.status}, not ACTIVE.")
        return stream

    @staticmethod
    def _check_name(field_name: str, name: object) -> None:
        if not isinstance(name, str) or _NAME.fullmatch(name) is None:
            raise validation_error(
                field_name, name, "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+ and length 1-128"
            )

    def _new_shard(
        self, stream: Stream, start: int, end: int, parent: str | None = None, adjacent: str | None = None
    ) -> Shard:
        shard = Shard(
            shard_id=f"shardId-{stream.next_shard:012d}",
            start_hash=start,
            end_hash=end,
            starting_sequence=stream.next_sequence,
            parent=parent,
            adjacent_parent=adjacent,
        )
        stream.next_shard += 1
        stream.next_sequence += 1
        stream._open_index = None
        if self.limits.enabled:
            shard.write_records = TokenBucket(self.limits.write_records_per_second, self.clock)
            shard.write_bytes = TokenBucket(self.limits.write_bytes_per_second, self.clock)
            shard.reads = TokenBucket(self.limits.reads_per_second, self.clock)
            shard.read_bytes = TokenBucket(self.limits.read_bytes_per_second, self.clock)
        stream.shards.append(shard)
        return shard

    def _close(self, stream: Stream, shard: Shard) -> None:
        shard.ending_sequence = stream.next_sequence
        stream.next_sequence += 1
        stream._open_index = None

    def _even_shards(self, stream: Stream, count: int, low: int = 0, high: int = HASH_SPACE - 1) -> list[Shard]:
        step = (high - low + 1) // count
        return [
            self._new_shard(stream, low + i * step, high if i == count - 1 else low + (i + 1) * step - 1)
            for i in range(count)
        ]

    def _new_iterator(self, stream: Stream, shard: Shard, position: int) -> str:
        self._iterator_serial += 1
        return self.tokens.iterator(
            IteratorState(stream.name, shard.shard_id, position, self.clock(), self._iterator_serial)
        )

    def expire_iterators(self) -> int:
        """Expire every iterator issued so far (the fault 'iterator expired'); returns how many were
        issued since the last time (some may have expired already). Nothing is walked: iterators
        are not stored, and those issued up to now are told apart by their serial number."""
        newly = self._iterator_serial - self._expired_through
        self._expired_through = self._iterator_serial
        return newly

    # -- streams ---------------------------------------------------------------------------

    def create_stream(self, name: str, shard_count: int = 1) -> Stream:
        """Direct creation (pre-created streams, test set-up): ACTIVE at once."""
        self._check_name("streamName", name)
        if name in self.streams:
            raise ApiError("ResourceInUseException", f"Stream {name} under account {self.account} already exists.")
        stream = Stream(name=name, arn=self._arn(name), created=self.clock(), shards=[])
        self._even_shards(stream, shard_count)
        self.streams[name] = stream
        return stream

    def CreateStream(self, request: Json) -> Json:
        name = request.get("StreamName")
        count = request.get("ShardCount", 4)
        mode = (request.get("StreamModeDetails") or {}).get("StreamMode", "PROVISIONED")
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise validation_error("shardCount", count, "Member must have value greater than or equal to 1")
        self._check_name("streamName", name)
        stream = self.create_stream(str(name), count)
        stream.mode = mode
        stream.tags.update(request.get("Tags") or {})
        return {}

    def DeleteStream(self, request: Json) -> Json:
        stream = self._stream(request)
        if stream.consumers and not request.get("EnforceConsumerDeletion"):
            raise ApiError("ResourceInUseException", f"Stream {stream.name} has registered consumers.")
        del self.streams[stream.name]
        return {}

    def _summary(self, stream: Stream) -> Json:
        summary: Json = {
            "StreamName": stream.name,
            "StreamARN": stream.arn,
            "StreamStatus": stream.status,
            "StreamModeDetails": {"StreamMode": stream.mode},
            "RetentionPeriodHours": stream.retention_hours,
            "StreamCreationTimestamp": stream.created,
            "EnhancedMonitoring": [{"ShardLevelMetrics": list(stream.metrics)}],
            "EncryptionType": stream.encryption,
            "OpenShardCount": len(stream.open_shards()),
            "ConsumerCount": len(stream.consumers),
            "MaxRecordSizeInKiB": stream.max_record_size_kib,
        }
        if stream.key_id:
            summary["KeyId"] = stream.key_id
        return summary

    def DescribeStreamSummary(self, request: Json) -> Json:
        return {"StreamDescriptionSummary": self._summary(self._stream(request))}

    def DescribeStream(self, request: Json) -> Json:
        stream = self._stream(request)
        limit = request.get("Limit", 100)
        if not isinstance(limit, int) or not 1 <= limit <= 10000:
            raise validation_error("limit", limit, "Member must have value between 1 and 10000")
        start = request.get("ExclusiveStartShardId")
        shards = stream.shards
        if start is not None:
            shards = [s for s in shards if s.shard_id > start]
        page = shards[:limit]
        summary = self._summary(stream)
        description = {
            key: summary[key]
            for key in (
                "StreamName", "StreamARN", "StreamStatus", "StreamModeDetails", "RetentionPeriodHours",
                "StreamCreationTimestamp", "EnhancedMonitoring", "EncryptionType",
            )
        }  # fmt: skip
        description["Shards"] = [s.describe() for s in page]
        description["HasMoreShards"] = len(shards) > limit
        if stream.key_id:
            description["KeyId"] = stream.key_id
        return {"StreamDescription": description}

    def ListStreams(self, request: Json) -> Json:
        limit = request.get("Limit", 100)
        if not isinstance(limit, int) or not 1 <= limit <= 10000:
            raise validation_error("limit", limit, "Member must have value between 1 and 10000")
        page, more = _page(self.streams, request.get("NextToken") or request.get("ExclusiveStartStreamName"), limit)
        answer: Json = {
            "StreamNames": page,
            "HasMoreStreams": more,
            "StreamSummaries": [
                {
                    "StreamName": n,
                    "StreamARN": self.streams[n].arn,
                    "StreamStatus": self.streams[n].status,
                    "StreamModeDetails": {"StreamMode": self.streams[n].mode},
                    "StreamCreationTimestamp": self.streams[n].created,
                }
                for n in page
            ],
        }
        if more:
            answer["NextToken"] = page[-1]
        return answer

    def ListShards(self, request: Json) -> Json:
        token = request.get("NextToken")
        limit = request.get("MaxResults", 1000)
        if not isinstance(limit, int) or not 1 <= limit <= 10000:
            raise validation_error("maxResults", limit, "Member must have value between 1 and 10000")
        if token is not None:
            if request.get("StreamName") or request.get("StreamARN"):
                raise ApiError("InvalidArgumentException", "NextToken and StreamName cannot be provided together.")
            found = self.tokens.open_next_token(token) if isinstance(token, str) else None
            if found is None:
                raise ApiError("InvalidArgumentException", "Invalid NextToken.")
            if self.clock() >= found.issued + self.limits.next_token_ttl:
                raise ApiError("ExpiredNextTokenException", "The NextToken has expired.")
            stream = self.streams.get(found.stream)
            if stream is None:
                raise ApiError(
                    "ResourceNotFoundException", f"Stream {found.stream} under account {self.account} not found."
                )
            shards = [s for s in stream.shards if s.shard_id > found.after]
        else:
            stream = self._stream(request)
            shards = self._filtered(stream, request)
        page = shards[:limit]
        answer: Json = {"Shards": [s.describe() for s in page]}
        if len(shards) > limit:
            answer["NextToken"] = self.tokens.next_token(NextTokenState(stream.name, page[-1].shard_id, self.clock()))
        return answer

    def _filtered(self, stream: Stream, request: Json) -> list[Shard]:
        shards = list(stream.shards)
        start = request.get("ExclusiveStartShardId")
        if start is not None:
            shards = [s for s in shards if s.shard_id > start]
        shard_filter = request.get("ShardFilter")
        if not shard_filter:
            return shards
        kind = shard_filter.get("Type")
        if kind == "AFTER_SHARD_ID":
            return [s for s in shards if s.shard_id > shard_filter.get("ShardId", "")]
        if kind in ("AT_LATEST", "FROM_TIMESTAMP", "AT_TIMESTAMP"):
            return [s for s in shards if s.is_open] if kind == "AT_LATEST" else shards
        if kind in ("AT_TRIM_HORIZON", "FROM_TRIM_HORIZON"):
            return shards
        raise validation_error("shardFilter.type", kind, "Member must satisfy enum value set")

    # -- records ---------------------------------------------------------------------------

    def _route(self, stream: Stream, entry: Json, field_prefix: str) -> tuple[Shard, bytes, str, int]:
        """Check one record as AWS does and pick its shard; also its size (data and key)."""
        key = entry.get("PartitionKey")
        if not isinstance(key, str) or not 1 <= len(key) <= 256:
            raise validation_error(f"{field_prefix}partitionKey", key, "Member must have length between 1 and 256")
        try:
            data = binascii.a2b_base64(entry.get("Data", ""), strict_mode=True)
        except (binascii.Error, TypeError, ValueError) as exc:
            raise ApiError("SerializationException", f"{field_prefix}data is not valid base64") from exc
        size = len(data) + len(key.encode())
        if size > stream.max_record_size_kib * 1024:
            raise validation_error(
                f"{field_prefix}data",
                "...",
                f"Member must have length less than or equal to {stream.max_record_size_kib * 1024}",
            )
        explicit = entry.get("ExplicitHashKey")
        if explicit is not None:
            if not isinstance(explicit, str) or _HASH_KEY.fullmatch(explicit) is None or int(explicit) >= HASH_SPACE:
                raise ApiError("InvalidArgumentException", f"Invalid ExplicitHashKey. ExplicitHashKey: {explicit}")
            point = int(explicit)
        else:
            point = hash_of(key)
        shard = stream.open_shard_at(point)
        if shard is None:
            raise ApiError("InternalFailureException", "no open shard covers the hash key", 500)
        return shard, data, key, size

    def _admit(self, shard: Shard, size: int) -> bool:
        if shard.write_records is None or shard.write_bytes is None:
            return True
        if shard.write_records.available(1) and shard.write_bytes.available(size):
            shard.write_records.take(1)
            shard.write_bytes.take(size)
            return True
        return False

    def _append(self, stream: Stream, shard: Shard, data: bytes, key: str, now: float) -> StoredRecord:
        record = StoredRecord(stream.next_sequence, data, key, now)
        stream.next_sequence += 1
        shard.records.append(record)
        shard.sequences.append(record.sequence)
        return record

    def _throttled_message(self, stream: Stream, shard: Shard) -> str:
        return f"Rate exceeded for shard {shard.shard_id} in stream {stream.name} under account {self.account}."

    def PutRecord(self, request: Json) -> Json:
        stream = self._active_stream(request)
        shard, data, key, size = self._route(stream, request, "")
        if not self._admit(shard, size):
            raise ApiError("ProvisionedThroughputExceededException", self._throttled_message(stream, shard))
        record = self._append(stream, shard, data, key, self.clock())
        return {"ShardId": shard.shard_id, "SequenceNumber": str(record.sequence), "EncryptionType": stream.encryption}

    def PutRecords(self, request: Json) -> Json:
        stream = self._active_stream(request)
        entries = request.get("Records")
        if not isinstance(entries, list) or not 1 <= len(entries) <= self.limits.max_put_records_entries:
            raise validation_error(
                "records",
                len(entries) if isinstance(entries, list) else entries,
                f"Member must have length between 1 and {self.limits.max_put_records_entries}",
            )
        routed = [self._route(stream, entry, f"records.{i}.member.") for i, entry in enumerate(entries)]
        total = sum(size for *_, size in routed)
        if total > self.limits.max_put_records_request_bytes:
            raise ApiError(
                "InvalidArgumentException",
                f"Records size exceeds {self.limits.max_put_records_request_bytes} bytes: {total}",
            )
        results: list[Json] = []
        failed = 0
        now = self.clock()
        for shard, data, key, size in routed:
            code = self.entry_fault(shard) if self.entry_fault is not None else None
            if code is None and self._admit(shard, size):
                record = self._append(stream, shard, data, key, now)
                results.append({"SequenceNumber": str(record.sequence), "ShardId": shard.shard_id})
                continue
            failed += 1
            code = code or "ProvisionedThroughputExceededException"
            message = (
                self._throttled_message(stream, shard)
                if code == "ProvisionedThroughputExceededException"
                else "Internal service failure."
            )
            results.append({"ErrorCode": code, "ErrorMessage": message})
        return {"FailedRecordCount": failed, "Records": results, "EncryptionType": stream.encryption}

    def _position(self, stream: Stream, shard: Shard, kind: object, sequence: object, timestamp: object) -> int:
        """Index into the shard's records where a starting position (of any of the five types) points."""
        if kind not in ITERATOR_TYPES:
            raise validation_error(
                "shardIteratorType", kind, f"Member must satisfy enum value set: {list(ITERATOR_TYPES)}"
            )
        if kind == "TRIM_HORIZON":
            return 0
        if kind == "LATEST":
            return len(shard.records)
        if kind == "AT_TIMESTAMP":
            if not isinstance(timestamp, int | float):
                raise ApiError("InvalidArgumentException", "Timestamp is required for AT_TIMESTAMP.")
            return next((i for i, r in enumerate(shard.records) if r.arrival >= timestamp), len(shard.records))
        if not isinstance(sequence, str) or _SEQUENCE.fullmatch(sequence) is None:
            raise ApiError("InvalidArgumentException", f"StartingSequenceNumber {sequence} is invalid.")
        number = int(sequence)
        upper = shard.ending_sequence if shard.ending_sequence is not None else stream.next_sequence
        if not shard.starting_sequence <= number <= upper:
            raise ApiError(
                "InvalidArgumentException",
                f"StartingSequenceNumber {sequence} on shard {shard.shard_id} in stream {stream.name} "
                f"under account {self.account} is invalid because it did not come from this stream.",
            )
        find = bisect.bisect_left if kind == "AT_SEQUENCE_NUMBER" else bisect.bisect_right
        return find(shard.sequences, number)

    def GetShardIterator(self, request: Json) -> Json:
        stream = self._stream(request)
        shard = stream.shard(str(request.get("ShardId")))
        position = self._position(
            stream,
            shard,
            request.get("ShardIteratorType"),
            request.get("StartingSequenceNumber"),
            request.get("Timestamp"),
        )
        return {"ShardIterator": self._new_iterator(stream, shard, position)}

    def GetRecords(self, request: Json) -> Json:
        token = request.get("ShardIterator")
        if not isinstance(token, str) or not 1 <= len(token) <= 512:
            raise validation_error("shardIterator", token, "Member must have length between 1 and 512")
        state = self.tokens.open_iterator(token)
        if state is None:
            raise ApiError("InvalidArgumentException", f"Invalid ShardIterator: {token[:32]}...")
        if self.clock() >= state.issued + self.limits.iterator_ttl or state.serial <= self._expired_through:
            raise ApiError(
                "ExpiredIteratorException", f"Iterator expired. The iterator was created at time {state.issued}"
            )
        stream = self.streams.get(state.stream)
        if stream is None:
            raise ApiError(
                "ResourceNotFoundException", f"Stream {state.stream} under account {self.account} not found."
            )
        shard = stream.shard(state.shard_id)
        limit = request.get("Limit", 10000)
        if not isinstance(limit, int) or not 1 <= limit <= 10000:
            raise validation_error("limit", limit, "Member must have value between 1 and 10000")
        if (
            shard.reads is not None
            and shard.read_bytes is not None
            and (not shard.reads.take(1) or shard.read_bytes.in_debt())
        ):
            raise ApiError("ProvisionedThroughputExceededException", self._throttled_message(stream, shard))
        chosen, size = self._take(shard, state.position, limit)
        if shard.read_bytes is not None:
            shard.read_bytes.spend(size)
        position = state.position + len(chosen)
        at_end = position >= len(shard.records)
        answer: Json = {"Records": _records_json(chosen), "MillisBehindLatest": self._behind(shard, position)}
        if at_end and not shard.is_open:
            answer["NextShardIterator"] = None
            answer["ChildShards"] = [self._child(stream, child) for child in shard.children]
        else:
            answer["NextShardIterator"] = self._new_iterator(stream, shard, position)
        return answer

    def _take(self, shard: Shard, position: int, limit: int) -> tuple[list[StoredRecord], int]:
        """Records from position: at most limit of them and the read size cap; and their size."""
        chosen: list[StoredRecord] = []
        size = 0
        for record in shard.records[position : position + limit]:
            record_size = len(record.data) + len(record.partition_key.encode())
            if chosen and size + record_size > self.limits.max_get_records_bytes:
                break
            chosen.append(record)
            size += record_size
        return chosen, size

    def _behind(self, shard: Shard, position: int) -> int:
        """MillisBehindLatest: the age of the first record not yet read, 0 when caught up."""
        if position >= len(shard.records):
            return 0
        return int(max(0.0, self.clock() - shard.records[position].arrival) * 1000)

    # -- enhanced fan-out ------------------------------------------------------------------

    def subscribe(self, request: Json) -> Subscription:
        """Check a SubscribeToShard request and open its subscription (the server streams it)."""
        stream, consumer = self._consumer({"ConsumerARN": request.get("ConsumerARN")})
        shard = stream.shard(str(request.get("ShardId")))
        start = request.get("StartingPosition")
        if not isinstance(start, dict):
            raise ApiError("InvalidArgumentException", "StartingPosition is required.")
        position = self._position(stream, shard, start.get("Type"), start.get("SequenceNumber"), start.get("Timestamp"))
        key = (consumer.arn, shard.shard_id)
        now = self.clock()
        # Only the last 5 s matter: forget older subscriptions, so memory stays flat over a long run.
        self._subscribed = {k: when for k, when in self._subscribed.items() if now - when < SUBSCRIBE_INTERVAL}
        if now - self._subscribed.get(key, float("-inf")) < SUBSCRIBE_INTERVAL:
            raise ApiError(
                "ResourceInUseException",
                f"Another active subscription exists for consumer {consumer.arn} and shard {shard.shard_id}.",
            )
        self._subscribed[key] = now
        return Subscription(stream, shard, position, now + self.limits.subscription_seconds)

    def next_event(self, subscription: Subscription) -> tuple[Json, bool]:
        """The next SubscribeToShardEvent, and whether the shard has ended with it."""
        shard = subscription.shard
        chosen, _ = self._take(shard, subscription.position, 10000)
        subscription.position += len(chosen)
        position = subscription.position
        continuation = shard.records[position - 1].sequence if position else shard.starting_sequence
        event: Json = {
            "Records": _records_json(chosen),
            "ContinuationSequenceNumber": str(continuation),
            "MillisBehindLatest": self._behind(shard, position),
        }
        ended = position >= len(shard.records) and not shard.is_open
        if ended:
            event["ChildShards"] = [self._child(subscription.stream, child) for child in shard.children]
        return event, ended

    def _child(self, stream: Stream, shard_id: str) -> Json:
        child = stream.shard(shard_id)
        return {
            "ShardId": child.shard_id,
            "ParentShards": [p for p in (child.parent, child.adjacent_parent) if p is not None],
            "HashKeyRange": {"StartingHashKey": str(child.start_hash), "EndingHashKey": str(child.end_hash)},
        }

    # -- resharding ------------------------------------------------------------------------

    def split_shard(self, stream: Stream, shard: Shard, at: int) -> tuple[Shard, Shard]:
        if not shard.is_open:
            raise ApiError("ResourceInUseException", f"Shard {shard.shard_id} is closed.")
        if not shard.start_hash < at <= shard.end_hash:
            raise ApiError("InvalidArgumentException", f"NewStartingHashKey {at} is not inside shard {shard.shard_id}.")
        self._close(stream, shard)
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
        self._close(stream, first)
        self._close(stream, second)
        child = self._new_shard(stream, low.start_hash, high.end_hash, parent=first.shard_id, adjacent=second.shard_id)
        first.children = second.children = [child.shard_id]
        return child

    def SplitShard(self, request: Json) -> Json:
        stream = self._active_stream(request)
        shard = stream.shard(str(request.get("ShardToSplit")))
        raw = request.get("NewStartingHashKey")
        if not isinstance(raw, str) or _HASH_KEY.fullmatch(raw) is None:
            raise validation_error(
                "newStartingHashKey", raw, "Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38})"
            )
        self.split_shard(stream, shard, int(raw))
        return {}

    def MergeShards(self, request: Json) -> Json:
        stream = self._active_stream(request)
        first = stream.shard(str(request.get("ShardToMerge")))
        second = stream.shard(str(request.get("AdjacentShardToMerge")))
        self.merge_shards(stream, first, second)
        return {}

    def UpdateShardCount(self, request: Json) -> Json:
        stream = self._active_stream(request)
        target = request.get("TargetShardCount")
        current = len(stream.open_shards())
        if not isinstance(target, int) or target < 1:
            raise validation_error("targetShardCount", target, "Member must have value greater than or equal to 1")
        if not current / 2 <= target <= current * 2:
            raise ApiError(
                "ValidationException", f"TargetShardCount {target} must be between 50% and 200% of {current}."
            )
        for shard in stream.open_shards():
            self._close(stream, shard)
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
        return {
            "StreamName": stream.name,
            "StreamARN": stream.arn,
            "CurrentShardCount": current,
            "TargetShardCount": target,
        }

    # -- stream settings -------------------------------------------------------------------

    def IncreaseStreamRetentionPeriod(self, request: Json) -> Json:
        stream = self._active_stream(request)
        return self._set_retention(stream, request.get("RetentionPeriodHours"), stream.retention_hours, 8760)

    def DecreaseStreamRetentionPeriod(self, request: Json) -> Json:
        stream = self._active_stream(request)
        return self._set_retention(stream, request.get("RetentionPeriodHours"), 24, stream.retention_hours)

    @staticmethod
    def _set_retention(stream: Stream, hours: object, low: int, high: int) -> Json:
        if not isinstance(hours, int) or not low <= hours <= high:
            raise ApiError(
                "InvalidArgumentException", f"RetentionPeriodHours {hours} must be between {low} and {high}."
            )
        stream.retention_hours = hours
        return {}

    def AddTagsToStream(self, request: Json) -> Json:
        stream = self._stream(request)
        tags = request.get("Tags") or {}
        if len({**stream.tags, **tags}) > 50:
            raise ApiError("InvalidArgumentException", "A stream cannot have more than 50 tags.")
        stream.tags.update(tags)
        return {}

    def RemoveTagsFromStream(self, request: Json) -> Json:
        stream = self._stream(request)
        for key in request.get("TagKeys") or []:
            stream.tags.pop(key, None)
        return {}

    def ListTagsForStream(self, request: Json) -> Json:
        stream = self._stream(request)
        page, more = _page(stream.tags, request.get("ExclusiveStartTagKey"), request.get("Limit", 50))
        return {"Tags": [{"Key": k, "Value": stream.tags[k]} for k in page], "HasMoreTags": more}

    def EnableEnhancedMonitoring(self, request: Json) -> Json:
        return self._monitoring(request, enable=True)

    def DisableEnhancedMonitoring(self, request: Json) -> Json:
        return self._monitoring(request, enable=False)

    def _monitoring(self, request: Json, *, enable: bool) -> Json:
        stream = self._active_stream(request)
        before = list(stream.metrics)
        asked = request.get("ShardLevelMetrics") or []
        every = [
            "IncomingBytes", "IncomingRecords", "OutgoingBytes", "OutgoingRecords",
            "WriteProvisionedThroughputExceeded", "ReadProvisionedThroughputExceeded", "IteratorAgeMilliseconds",
        ]  # fmt: skip
        named = every if "ALL" in asked else asked
        if enable:
            stream.metrics = [m for m in every if m in set(before) | set(named)]
        else:
            stream.metrics = [m for m in before if m not in named]
        return {
            "StreamName": stream.name,
            "StreamARN": stream.arn,
            "CurrentShardLevelMetrics": before,
            "DesiredShardLevelMetrics": list(stream.metrics),
        }

    def StartStreamEncryption(self, request: Json) -> Json:
        stream = self._active_stream(request)
        stream.encryption = str(request.get("EncryptionType"))
        stream.key_id = request.get("KeyId")
        return {}

    def StopStreamEncryption(self, request: Json) -> Json:
        stream = self._active_stream(request)
        stream.encryption = "NONE"
        stream.key_id = None
        return {}

    def UpdateStreamMode(self, request: Json) -> Json:
        stream = self._active_stream(request)
        stream.mode = (request.get("StreamModeDetails") or {}).get("StreamMode", stream.mode)
        return {}

    def DescribeLimits(self, request: Json) -> Json:
        return {
            "ShardLimit": 500,
            "OpenShardCount": sum(len(s.open_shards()) for s in self.streams.values()),
            "OnDemandStreamCount": sum(s.mode == "ON_DEMAND" for s in self.streams.values()),
            "OnDemandStreamCountLimit": 50,
        }

    # -- consumers -------------------------------------------------------------------------

    def _consumer(self, request: Json) -> tuple[Stream, Consumer]:
        arn = request.get("ConsumerARN")
        if arn is not None:
            match = _CONSUMER_ARN.fullmatch(str(arn))
            if match is None:
                raise validation_error("consumerARN", arn, "Member must satisfy regular expression pattern")
            stream = self._stream({"StreamARN": match.group(1)})
            consumer = stream.consumers.get(match.group(2))
            if consumer is None or consumer.arn != arn:
                raise ApiError("ResourceNotFoundException", f"Consumer {arn} not found.")
            return stream, consumer
        stream = self._stream({"StreamARN": request.get("StreamARN")})
        name = request.get("ConsumerName")
        consumer = stream.consumers.get(str(name))
        if consumer is None:
            raise ApiError("ResourceNotFoundException", f"Consumer {name} under stream {stream.name} not found.")
        return stream, consumer

    def _describe_consumer(self, stream: Stream, consumer: Consumer) -> Json:
        return {
            "ConsumerName": consumer.name,
            "ConsumerARN": consumer.arn,
            "ConsumerStatus": consumer.status,
            "ConsumerCreationTimestamp": consumer.created,
        }

    def RegisterStreamConsumer(self, request: Json) -> Json:
        stream = self._stream({"StreamARN": request.get("StreamARN")})
        name = request.get("ConsumerName")
        self._check_name("consumerName", name)
        if name in stream.consumers:
            raise ApiError("ResourceInUseException", f"Consumer {name} already exists on stream {stream.name}.")
        if len(stream.consumers) >= 20:
            raise ApiError("LimitExceededException", "A stream can have at most 20 consumers.")
        consumer = Consumer(str(name), f"{stream.arn}/consumer/{name}:{int(self.clock())}", self.clock())
        stream.consumers[consumer.name] = consumer
        return {"Consumer": self._describe_consumer(stream, consumer)}

    def DescribeStreamConsumer(self, request: Json) -> Json:
        stream, consumer = self._consumer(request)
        description = self._describe_consumer(stream, consumer)
        description["StreamARN"] = stream.arn
        return {"ConsumerDescription": description}

    def ListStreamConsumers(self, request: Json) -> Json:
        stream = self._stream({"StreamARN": request.get("StreamARN")})
        page, more = _page(stream.consumers, request.get("NextToken"), request.get("MaxResults", 100))
        answer: Json = {"Consumers": [self._describe_consumer(stream, stream.consumers[n]) for n in page]}
        if more:
            answer["NextToken"] = page[-1]
        return answer

    def DeregisterStreamConsumer(self, request: Json) -> Json:
        stream, consumer = self._consumer(request)
        del stream.consumers[consumer.name]
        return {}

    def scope(self, operation: str, request: Json) -> tuple[str | None, set[str]]:
        """The stream and shards a request touches, for targeting faults; never raises."""
        name = request.get("StreamName")
        arn = request.get("StreamARN") or request.get("ConsumerARN")
        if name is None and isinstance(arn, str):
            found = re.search(r":stream/([a-zA-Z0-9_.-]+)", arn)
            name = found.group(1) if found else None
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
                shard = self._shard_for(stream, entry)
                if shard is not None:
                    shards.add(shard.shard_id)
        return (name if isinstance(name, str) else None), shards

    @staticmethod
    def _shard_for(stream: Stream, entry: object) -> Shard | None:
        if not isinstance(entry, dict):
            return None
        explicit, key = entry.get("ExplicitHashKey"), entry.get("PartitionKey")
        if isinstance(explicit, str) and explicit.isdigit():
            point = int(explicit)
        elif isinstance(key, str):
            point = hash_of(key)
        else:
            return None
        return stream.open_shard_at(point)

    def operation(self, name: str) -> Callable[[Json], Json] | None:
        """The handler of an operation by its wire name, if this server has it."""
        handler = getattr(self, name, None)
        return handler if name[:1].isupper() and callable(handler) else None


def _records_json(records: list[StoredRecord]) -> list[Json]:
    return [
        {
            "SequenceNumber": str(r.sequence),
            "ApproximateArrivalTimestamp": r.arrival,
            "Data": base64.b64encode(r.data).decode(),
            "PartitionKey": r.partition_key,
        }
        for r in records
    ]


def _page(names: Iterable[str], after: object, limit: int) -> tuple[list[str], bool]:
    """One page of names in order, after `after` (exclusive) if given, and whether more follow."""
    ordered = sorted(names)
    if isinstance(after, str):
        ordered = [name for name in ordered if name > after]
    return ordered[:limit], len(ordered) > limit
