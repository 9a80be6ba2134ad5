"""A stream's settings: retention, tags, monitoring, encryption, capacity mode, the largest record,
warm throughput and how records are distributed over shards.

Every change takes effect at once. Those AWS documents as asynchronous (StartStreamEncryption,
StopStreamEncryption, UpdateStreamWarmThroughput: "sets the status of the stream to UPDATING") and
UpdateStreamMode (kinesis-mock's UPDATE_STREAM_MODE_DURATION; AWS's page is silent) leave the stream
UPDATING for the update duration; the others (retention, monitoring, tags, the largest record,
record distribution) keep it ACTIVE, as their pages say nothing of UPDATING.
"""

from __future__ import annotations

from ._state import ApiError, BackendState, Json, Stream, page_of, warm_throughput
from ._tags import check_tags, tag_list

WARM_THROUGHPUT_LIMIT = 10 * 1024
"""AWS: an on-demand stream cannot be scaled to more than 10 GiBps of warm throughput."""


class SettingsOperations(BackendState):
    """The operations that change or report one stream's settings."""

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
        stream.trim_due = float("-inf")  # _retention drops what a shorter period passed, at the next request
        return {}

    def AddTagsToStream(self, request: Json) -> Json:
        """The same tags as TagResource's on the stream's ARN; AWS: changed only while ACTIVE."""
        stream = self._active_stream(request)
        tags = request.get("Tags") or {}
        check_tags(tags, stream.tags)
        stream.tags.update(tags)
        return {}

    def RemoveTagsFromStream(self, request: Json) -> Json:
        stream = self._active_stream(request)
        for key in request.get("TagKeys") or []:
            stream.tags.pop(key, None)
        return {}

    def ListTagsForStream(self, request: Json) -> Json:
        stream = self._stream(request)
        page, more = page_of(stream.tags, request.get("ExclusiveStartTagKey"), request.get("Limit", 50))
        return {"Tags": tag_list(stream.tags, page), "HasMoreTags": more}

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
        self.transitions.through(stream, "UPDATING", self.transitions.durations.update)
        return {}

    def StopStreamEncryption(self, request: Json) -> Json:
        stream = self._active_stream(request)
        stream.encryption = "NONE"
        stream.key_id = None
        self.transitions.through(stream, "UPDATING", self.transitions.durations.update)
        return {}

    def UpdateStreamMode(self, request: Json) -> Json:
        stream = self._active_stream(request)
        mode = (request.get("StreamModeDetails") or {}).get("StreamMode", stream.mode)
        if stream.queues and mode != "ON_DEMAND":  # AWS: delete every queue first
            raise ApiError("ResourceInUseException", f"Stream {stream.name} has queues: it stays ON_DEMAND.")
        stream.mode = mode
        if stream.mode != "ON_DEMAND":  # settings of on-demand streams only (AWS's exact rule is unknown)
            stream.distribution = "USER_PARTITION_KEY"
            stream.warm_throughput_mibps = None
        elif request.get("WarmThroughputMiBps") is not None:
            stream.warm_throughput_mibps = self._warm(request.get("WarmThroughputMiBps"))
        self.transitions.through(stream, "UPDATING", self.transitions.durations.update)
        return {}

    def UpdateMaxRecordSize(self, request: Json) -> Json:
        """The largest record (data and key) the stream takes, 1024 to 10240 KiB (the model's range)."""
        stream = self._active_stream(request)
        size = request.get("MaxRecordSizeInKiB")
        if not isinstance(size, int) or not 1024 <= size <= 10240:  # direct calls: the model checks requests
            raise ApiError("ValidationException", f"MaxRecordSizeInKiB {size} must be between 1024 and 10240.")
        stream.max_record_size_kib = size
        return {}

    def UpdateStreamWarmThroughput(self, request: Json) -> Json:
        stream = self._active_stream(request)
        if stream.mode != "ON_DEMAND":
            raise ApiError(
                "InvalidArgumentException", f"Stream {stream.name} is PROVISIONED: warm throughput is for ON_DEMAND."
            )
        stream.warm_throughput_mibps = self._warm(request.get("WarmThroughputMiBps"))
        self.transitions.through(stream, "UPDATING", self.transitions.durations.update)
        return {"StreamARN": stream.arn, "StreamName": stream.name, "WarmThroughput": warm_throughput(stream)}

    @staticmethod
    def _warm(mibps: object) -> int:
        if not isinstance(mibps, int) or mibps < 0:
            raise ApiError("ValidationException", f"WarmThroughputMiBps {mibps} must be at least 0.")
        if mibps > WARM_THROUGHPUT_LIMIT:
            raise ApiError(
                "LimitExceededException", f"WarmThroughputMiBps {mibps} exceeds the limit of {WARM_THROUGHPUT_LIMIT}."
            )
        return mibps

    def UpdateStreamRecordDistributionStrategy(self, request: Json) -> Json:
        """AUTO or USER_PARTITION_KEY, on-demand streams only; records already stored stay where they are."""
        stream = self._active_stream(request)
        strategy = str(request.get("RecordDistributionStrategy"))
        if stream.mode != "ON_DEMAND":
            raise ApiError(
                "InvalidArgumentException",
                f"Stream {stream.name} is PROVISIONED: the record distribution strategy is for ON_DEMAND streams.",
            )
        stream.distribution = strategy
        return {}
