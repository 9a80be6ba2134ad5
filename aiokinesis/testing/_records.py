"""Record operations: PutRecord(s), GetShardIterator and GetRecords, on AWS's per-shard limits.

Shard iterators are sealed, self-describing tokens (see _tokens): none is stored, so reading
for hours holds flat memory. The EXPIRED_ITERATOR fault expires every iterator issued so far
by raising a watermark over their serial numbers, in constant time.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import re

from .._buckets import TokenBucket
from .._rules import java_length
from .._shardmap import hash_key_of
from ._limits import MIB
from ._state import (
    HASH_KEY,
    HASH_SPACE,
    ApiError,
    BackendState,
    Json,
    Shard,
    StoredRecord,
    Stream,
    validation_error,
)
from ._tokens import IteratorState

ITERATOR_TYPES = ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER", "TRIM_HORIZON", "LATEST", "AT_TIMESTAMP")
_SEQUENCE = re.compile(r"0|[1-9]\d{0,128}")


class RecordOperations(BackendState):
    """Writing records to shards and reading them back through shard iterators."""

    def _route(self, stream: Stream, entry: Json, field_prefix: str) -> tuple[Shard, bytes, str | None, int]:
        """Check one record as AWS does and pick its shard; also its size (data and key).

        On an AUTO stream a record needs no key, and keys and ExplicitHashKey are ignored: the
        records go round the open shards. Elsewhere the key (or ExplicitHashKey) routes it.
        """
        key = entry.get("PartitionKey")
        auto = stream.distribution == "AUTO"
        if key is None and not auto:
            raise ApiError(
                "ValidationException",
                f"1 validation error detected: Value null at '{field_prefix}partitionKey' failed to satisfy "
                f"constraint: Member must not be null (stream {stream.name} is routed by partition key: "
                "RecordDistributionStrategy USER_PARTITION_KEY)",
            )
        if key is not None and (not isinstance(key, str) or not 1 <= java_length(key) <= 256):
            raise validation_error(f"{field_prefix}partitionKey", key, "Member must have length between 1 and 256")
        try:
            data = binascii.a2b_base64(entry.get("Data", ""), strict_mode=True)
        except (binascii.Error, TypeError, ValueError) as exc:
            raise ApiError("SerializationException", f"{field_prefix}data is not valid base64") from exc
        key_bytes = len(key.encode()) if key is not None else 0
        size = len(data) + key_bytes
        limit = stream.max_record_size_kib * 1024
        if len(data) > limit:
            raise validation_error(
                f"{field_prefix}data", "...", f"Member must have length less than or equal to {limit}"
            )
        if size > limit:  # the data fits alone, not with its key (AWS's exact answer is not documented)
            raise ApiError(
                "InvalidArgumentException",
                f"The size of {field_prefix}data and {field_prefix}partitionKey together ({len(data)} + "
                f"{key_bytes} bytes) exceeds the maximum record size of stream {stream.name}: {limit} bytes.",
            )
        explicit = entry.get("ExplicitHashKey")
        if explicit is not None and (
            not isinstance(explicit, str) or HASH_KEY.fullmatch(explicit) is None or int(explicit) >= HASH_SPACE
        ):
            raise ApiError(
                "InvalidArgumentException",
                "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. "
                f"Specified value was {explicit}",
            )
        if auto:
            return self._spread(stream), data, key, size
        point = int(explicit) if explicit is not None else hash_key_of(key or "")
        shard = stream.open_shard_at(point)
        if shard is None:
            raise ApiError("InternalFailureException", "no open shard covers the hash key", 500)
        return shard, data, key, size

    @staticmethod
    def _spread(stream: Stream) -> Shard:
        """AUTO: the open shards in turn, so every shard's rate is used."""
        shards = stream.open_shards()
        shard = shards[stream.spread % len(shards)]
        stream.spread += 1
        return shard

    def _admit(self, shard: Shard, size: int) -> bool:
        """Whether the shard's write limits let a record of this size in now (spent if so, counted if not).

        AWS lets a shard burst to take one record larger than a second of its rate (a large record,
        up to 10 MiB) while it averages 1 MiB/s: such a record goes once the byte bucket is full and
        spends it into debt, which the shard's writes then wait out.
        """
        if shard.write_records is None or shard.write_bytes is None:
            return True
        if shard.write_records.available(1) and shard.write_bytes.available(min(size, shard.write_bytes.capacity)):
            shard.write_records.take(1)
            shard.write_bytes.spend(size)
            return True
        self.throttled += 1
        return False

    def _append(self, stream: Stream, shard: Shard, data: bytes, key: str | None, now: float) -> StoredRecord:
        record = StoredRecord(stream.next_sequence, data, key, now)
        stream.next_sequence += 1
        shard.records.append(record)
        shard.sequences.append(record.sequence)
        stream.expires(now)
        return record

    def PutRecord(self, request: Json) -> Json:
        stream = self._serving_stream(request)
        shard, data, key, size = self._route(stream, request, "")
        if not self._admit(shard, size):
            raise ApiError("ProvisionedThroughputExceededException", self._throttled_message(stream, shard))
        record = self._append(stream, shard, data, key, self.clock())
        return {"ShardId": shard.shard_id, "SequenceNumber": str(record.sequence), "EncryptionType": stream.encryption}

    def PutRecords(self, request: Json) -> Json:
        stream = self._serving_stream(request)
        entries = request.get("Records")
        if not isinstance(entries, list) or not 1 <= len(entries) <= self.limits.max_put_records_entries:
            raise validation_error(
                "records",
                len(entries) if isinstance(entries, list) else entries,
                f"Member must have length between 1 and {self.limits.max_put_records_entries}",
            )
        routed = [self._route(stream, entry, f"records.{i}.member.") for i, entry in enumerate(entries, 1)]
        total = sum(size for *_, size in routed)
        if total > self.limits.max_put_records_request_bytes:
            raise ApiError(
                "InvalidArgumentException",
                f"Records size exceeds {self.limits.max_put_records_request_bytes // MIB} MiB limit: "
                f"{total} bytes of data and partition keys",
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

    def GetShardIterator(self, request: Json) -> Json:
        stream = self._serving_stream(request)
        shard = stream.shard(str(request.get("ShardId")))
        position = start_position(
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
        stream = self._serving_stream({"StreamName": state.stream})
        shard = stream.shard(state.shard_id)
        limit = request.get("Limit", 10000)
        if not isinstance(limit, int) or not 1 <= limit <= 10000:
            raise validation_error("limit", limit, "Member must have value between 1 and 10000")
        if (
            shard.reads is not None
            and shard.read_bytes is not None
            and (not shard.reads.take(1) or shard.read_bytes.in_debt())
        ):
            self.throttled += 1
            raise ApiError("ProvisionedThroughputExceededException", self._throttled_message(stream, shard))
        chosen, size, position = take(shard, state.position, limit, self.limits.max_get_records_bytes)
        if shard.read_bytes is not None:
            spend_read(shard.read_bytes, size)
        at_end = position >= shard.end
        answer: Json = {
            "Records": records_json(chosen),
            "MillisBehindLatest": millis_behind(shard, position, self.clock()),
        }
        if at_end and not shard.is_open:
            answer["NextShardIterator"] = None
            answer["ChildShards"] = [stream.child(child) for child in shard.children]
        else:
            answer["NextShardIterator"] = self._new_iterator(stream, shard, position)
        return answer

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


def start_position(stream: Stream, shard: Shard, kind: object, sequence: object, timestamp: object) -> int:
    """The shard position (see Shard.base) a starting position of any of the five types points at.

    A timestamp or sequence number older than the records kept points at the oldest kept: AWS says
    so of AT_TIMESTAMP ("if the time stamp is older than the current trim horizon, the iterator
    returned is for the oldest untrimmed data record"), and documents no error for a sequence number
    that retention passed, so it is read the same way.
    """
    if kind not in ITERATOR_TYPES:
        raise validation_error("shardIteratorType", kind, f"Member must satisfy enum value set: {list(ITERATOR_TYPES)}")
    if kind == "TRIM_HORIZON":
        return shard.base
    if kind == "LATEST":
        return shard.end
    if kind == "AT_TIMESTAMP":
        if not isinstance(timestamp, int | float):
            raise ApiError("InvalidArgumentException", "Timestamp is required for AT_TIMESTAMP.")
        kept = shard.records
        return shard.base + next((i for i, r in enumerate(kept) if r.arrival >= timestamp), len(kept))
    if not isinstance(sequence, str) or _SEQUENCE.fullmatch(sequence) is None:
        raise ApiError("InvalidArgumentException", f"StartingSequenceNumber {sequence} is invalid.")
    number = int(sequence)
    upper = shard.ending_sequence if shard.ending_sequence is not None else stream.next_sequence
    if not shard.starting_sequence <= number <= upper:
        account = stream.arn.split(":")[4]
        raise ApiError(
            "InvalidArgumentException",
            f"StartingSequenceNumber {sequence} on shard {shard.shard_id} in stream {stream.name} "
            f"under account {account} is invalid because it did not come from this stream.",
        )
    find = bisect.bisect_left if kind == "AT_SEQUENCE_NUMBER" else bisect.bisect_right
    return shard.base + find(shard.sequences, number)


def spend_read(budget: TokenBucket, size: int) -> None:
    """Charge a read to its shard's 2 MiB/s as AWS does: a read up to a second's worth draws on the
    bucket (into debt at most that far); a larger one bars the shard's reads for size / rate seconds
    from now, whatever the bucket held ("if a call returns 10 MiB, subsequent calls made within the
    next 5 seconds throw ProvisionedThroughputExceededException")."""
    if size > budget.capacity:
        budget.owe(size)
    else:
        budget.spend(size)


def take(shard: Shard, position: int, limit: int, max_bytes: int) -> tuple[list[StoredRecord], int, int]:
    """Records from position (the oldest kept, if retention passed it): at most limit of them and
    max_bytes (but at least one); their size; and the position after them."""
    chosen: list[StoredRecord] = []
    size = 0
    start = max(position, shard.base) - shard.base
    for record in shard.records[start : start + limit]:
        record_size = record.size
        if chosen and size + record_size > max_bytes:
            break
        chosen.append(record)
        size += record_size
    return chosen, size, shard.base + start + len(chosen)


def millis_behind(shard: Shard, position: int, now: float) -> int:
    """MillisBehindLatest: the age of the first record not yet read (and kept), 0 when caught up."""
    index = max(position, shard.base) - shard.base
    if index >= len(shard.records):
        return 0
    return int(max(0.0, now - shard.records[index].arrival) * 1000)


def records_json(records: list[StoredRecord]) -> list[Json]:
    """Records as GetRecords and SubscribeToShard answer them; a keyless record has no PartitionKey."""
    answer: list[Json] = []
    for r in records:
        record: Json = {
            "SequenceNumber": str(r.sequence),
            "ApproximateArrivalTimestamp": r.arrival,
            "Data": base64.b64encode(r.data).decode(),
        }
        if r.partition_key is not None:
            record["PartitionKey"] = r.partition_key
        answer.append(record)
    return answer
