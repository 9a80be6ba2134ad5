"""Stream operations: create, delete, describe, list streams and shards, and a stream's settings."""

from __future__ import annotations

from ._state import ApiError, BackendState, Json, Shard, Stream, check_name, page_of, validation_error
from ._tokens import NextTokenState


class StreamOperations(BackendState):
    """CreateStream to DescribeLimits: everything about streams but their records and resharding."""

    def create_stream(self, name: str, shard_count: int = 1) -> Stream:
        """Direct creation (pre-created streams, test set-up): ACTIVE at once."""
        check_name("streamName", name)
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
        check_name("streamName", name)
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
        page, more = page_of(stream.tags, request.get("ExclusiveStartTagKey"), request.get("Limit", 50))
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
