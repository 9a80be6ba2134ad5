"""Stream operations: create, delete, describe, list streams and shards, and the account's limits."""

from __future__ import annotations

from ._state import (
    ApiError,
    BackendState,
    Json,
    Shard,
    Stream,
    check_distribution,
    check_name,
    page_of,
    validation_error,
    warm_throughput,
)
from ._tags import check_tags
from ._tokens import NextTokenState

ON_DEMAND_STREAMS = 50
"""AWS's default limit of on-demand streams per account and region (DescribeLimits reports it)."""
CREATING_STREAMS = 5
"""AWS: LimitExceededException for "more than five streams in the CREATING state at any point in time"."""


class StreamOperations(BackendState):
    """CreateStream to DescribeLimits: streams themselves (their settings are in _settings)."""

    def create_stream(
        self,
        name: str,
        shard_count: int = 1,
        *,
        mode: str = "PROVISIONED",
        max_record_size_kib: int = 1024,
        distribution: str = "USER_PARTITION_KEY",
    ) -> Stream:
        """Direct creation (pre-created streams, test set-up): ACTIVE at once, in the current region."""
        check_name("streamName", name)
        if name in self.streams:
            raise ApiError("ResourceInUseException", f"Stream {name} under account {self.account} already exists.")
        if not 1024 <= max_record_size_kib <= 10240:
            raise ValueError(f"max_record_size_kib is from 1024 to 10240, not {max_record_size_kib}")
        check_distribution(mode, distribution)
        self._check_shard_limit(shard_count)
        if mode == "ON_DEMAND" and sum(s.mode == "ON_DEMAND" for s in self.streams.values()) >= ON_DEMAND_STREAMS:
            raise ApiError(
                "LimitExceededException",
                f"This request would exceed the limit of {ON_DEMAND_STREAMS} on-demand streams "
                f"under account {self.account}.",
            )
        stream = Stream(
            name=name,
            arn=self._arn(name),
            created=self.clock(),
            shards=[],
            region=self.region,
            mode=mode,
            max_record_size_kib=max_record_size_kib,
            distribution=distribution,
        )
        self._even_shards(stream, shard_count)
        self.streams[name] = stream
        return stream

    def CreateStream(self, request: Json) -> Json:
        name = request.get("StreamName")
        count = request.get("ShardCount", 4)
        mode = (request.get("StreamModeDetails") or {}).get("StreamMode", "PROVISIONED")
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise validation_error("shardCount", count, "Member must have value greater than or equal to 1")
        check_name("streamName", name)
        creating = sum(s.status == "CREATING" for s in self.streams.values())
        if creating >= CREATING_STREAMS and name not in self.streams:
            raise ApiError(
                "LimitExceededException", f"{creating} streams are CREATING: at most {CREATING_STREAMS} at a time."
            )
        warm = request.get("WarmThroughputMiBps")
        if warm is not None and mode != "ON_DEMAND":
            raise ApiError("InvalidArgumentException", "WarmThroughputMiBps is only supported for ON_DEMAND streams.")
        tags = request.get("Tags") or {}
        check_tags(tags, {})
        stream = self.create_stream(
            str(name),
            count,
            mode=mode,
            max_record_size_kib=request.get("MaxRecordSizeInKiB", 1024),
            distribution=request.get("RecordDistributionStrategy", "USER_PARTITION_KEY"),
        )
        stream.warm_throughput_mibps = warm
        stream.tags.update(tags)
        # AWS: "immediately returns and sets the stream status to CREATING"
        self.transitions.through(stream, "CREATING", self.transitions.durations.create)
        return {}

    def DeleteStream(self, request: Json) -> Json:
        """DELETING, then gone once the delete duration passes. AWS: "If the stream is in the ACTIVE
        state, you can delete it" (else ResourceInUseException, as kinesis-mock answers too)."""
        stream = self._active_stream(request)
        if stream.consumers and not request.get("EnforceConsumerDeletion"):
            raise ApiError("ResourceInUseException", f"Stream {stream.name} has registered consumers.")
        if stream.queues:  # AWS: delete every queue on a stream before the stream
            raise ApiError("ResourceInUseException", f"Stream {stream.name} has {len(stream.queues)} queues.")
        stream.status = "DELETING"  # the name stays taken until it is gone
        streams = self.streams  # this region's: the one that finishes the deletion may be another's
        self.transitions.after(self.transitions.durations.delete, lambda: streams.pop(stream.name))
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
            "OpenShardCount": len(self._shown_shards(stream, stream.open_shards())),
            "ConsumerCount": len(stream.consumers),
            "QueueCount": len(stream.queues),
            "MaxRecordSizeInKiB": stream.max_record_size_kib,
            "RecordDistributionStrategy": stream.distribution,
        }
        if stream.warm_throughput_mibps is not None:
            summary["WarmThroughput"] = warm_throughput(stream)
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
        shards = self._shown_shards(stream, stream.shards)
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
        page, more = page_of(self.streams, request.get("NextToken") or request.get("ExclusiveStartStreamName"), limit)
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
            if stream.status == "CREATING":  # the model lists ResourceInUseException for ListShards
                raise ApiError("ResourceInUseException", f"Stream {stream.name} is CREATING, not ACTIVE.")
            shards = self._filtered(stream, request)
        page = shards[:limit]
        answer: Json = {"Shards": [s.describe() for s in page]}
        if len(shards) > limit:
            answer["NextToken"] = self.tokens.next_token(NextTokenState(stream.name, page[-1].shard_id, self.clock()))
        return answer

    @staticmethod
    def _shown_shards(stream: Stream, shards: list[Shard]) -> list[Shard]:
        """The shards DescribeStream shows: none while the stream is CREATING (kinesalite's answer:
        it makes the shards when the stream becomes ACTIVE)."""
        return [] if stream.status == "CREATING" else shards

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

    def DescribeLimits(self, request: Json) -> Json:
        return {
            "ShardLimit": self.limits.shard_limit,
            "OpenShardCount": sum(len(s.open_shards()) for s in self.streams.values()),
            "OnDemandStreamCount": sum(s.mode == "ON_DEMAND" for s in self.streams.values()),
            "OnDemandStreamCountLimit": ON_DEMAND_STREAMS,
        }
