"""Enhanced fan-out: stream consumers (register, describe, list, deregister) and SubscribeToShard.

The server streams a subscription's events; this module opens it (`subscribe`) and makes each
event (`next_event`) from the shard's records.
"""

from __future__ import annotations

import re

from ._records import millis_behind, records_json, start_position, take
from ._state import ApiError, BackendState, Consumer, Json, Stream, Subscription, check_name, page_of, validation_error

_CONSUMER_ARN = re.compile(r"(arn:aws[^:]*:kinesis:[^:]*:\d{12}:stream/[a-zA-Z0-9_.-]+)/consumer/([a-zA-Z0-9_.-]+):\d+")
SUBSCRIBE_INTERVAL = 5.0  # AWS: a second SubscribeToShard for a consumer and shard within 5 s is refused


class ConsumerOperations(BackendState):
    """Consumers of a stream, and their subscriptions to its shards."""

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
        check_name("consumerName", name)
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
        page, more = page_of(stream.consumers, request.get("NextToken"), request.get("MaxResults", 100))
        answer: Json = {"Consumers": [self._describe_consumer(stream, stream.consumers[n]) for n in page]}
        if more:
            answer["NextToken"] = page[-1]
        return answer

    def DeregisterStreamConsumer(self, request: Json) -> Json:
        stream, consumer = self._consumer(request)
        del stream.consumers[consumer.name]
        return {}

    def subscribe(self, request: Json) -> Subscription:
        """Check a SubscribeToShard request and open its subscription (the server streams it)."""
        stream, consumer = self._consumer({"ConsumerARN": request.get("ConsumerARN")})
        shard = stream.shard(str(request.get("ShardId")))
        start = request.get("StartingPosition")
        if not isinstance(start, dict):
            raise ApiError("InvalidArgumentException", "StartingPosition is required.")
        position = start_position(stream, shard, start.get("Type"), start.get("SequenceNumber"), start.get("Timestamp"))
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
        chosen, _ = take(shard, subscription.position, 10000, self.limits.max_get_records_bytes)
        subscription.position += len(chosen)
        position = subscription.position
        continuation = shard.records[position - 1].sequence if position else shard.starting_sequence
        event: Json = {
            "Records": records_json(chosen),
            "ContinuationSequenceNumber": str(continuation),
            "MillisBehindLatest": millis_behind(shard, position, self.clock()),
        }
        ended = position >= len(shard.records) and not shard.is_open
        if ended:
            event["ChildShards"] = [subscription.stream.child(child) for child in shard.children]
        return event, ended
