"""Enhanced fan-out: stream consumers (register, describe, list, deregister) and SubscribeToShard.

The server streams a subscription's events; this module opens it (`subscribe`) and makes each
event (`next_event`) from the shard's records.
"""

from __future__ import annotations

import re

from ._records import millis_behind, records_json, start_position, take
from ._state import (
    ApiError,
    BackendState,
    Consumer,
    Json,
    Shard,
    Stream,
    Subscription,
    check_name,
    page_of,
    validation_error,
)
from ._tags import check_tags

_CONSUMER_ARN = re.compile(r"(arn:aws[^:]*:kinesis:[^:]*:\d{12}:stream/[a-zA-Z0-9_.-]+)/consumer/([a-zA-Z0-9_.-]+):\d+")
CREATING_CONSUMERS = 5  # AWS: "you cannot have more than 5 consumers in a CREATING status at the same time"
SUBSCRIBE_INTERVAL = 5.0  # AWS: a second SubscribeToShard for a consumer and shard within 5 s is refused
CALL_INTERVAL = 1.0  # AWS: one SubscribeToShard call a second per consumer and shard


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
        """The consumer is CREATING, then ACTIVE once the create duration passes (as the answer says,
        like AWS's, even when that is at once). A stream that is CREATING or DELETING is refused with
        ResourceInUseException (the model lists it; AWS documents no rule for UPDATING: it is served)."""
        stream = self._stream({"StreamARN": request.get("StreamARN")})
        if stream.status in ("CREATING", "DELETING"):
            raise ApiError("ResourceInUseException", f"Stream {stream.name} is {stream.status}, not ACTIVE.")
        name = request.get("ConsumerName")
        check_name("consumerName", name)
        if name in stream.consumers:
            raise ApiError("ResourceInUseException", f"Consumer {name} already exists on stream {stream.name}.")
        if len(stream.consumers) + len(stream.queues) >= 20:  # AWS: a queue counts as a registered consumer
            raise ApiError("LimitExceededException", "A stream can have at most 20 consumers (queues included).")
        creating = sum(c.status == "CREATING" for s in self.streams.values() for c in s.consumers.values())
        if creating >= CREATING_CONSUMERS:
            raise ApiError(
                "LimitExceededException", f"{creating} consumers are CREATING: at most {CREATING_CONSUMERS} at a time."
            )
        tags = request.get("Tags") or {}
        check_tags(tags, {})
        arn = f"{stream.arn}/consumer/{name}:{int(self.clock())}"
        consumer = Consumer(str(name), arn, self.clock(), "CREATING", tags=dict(tags))
        stream.consumers[consumer.name] = consumer
        answer = {"Consumer": self._describe_consumer(stream, consumer)}
        self.transitions.through(consumer, "CREATING", self.transitions.durations.create)
        return answer

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
        """DELETING, then gone once the delete duration passes; the model lists no ResourceInUseException
        here, so a CREATING consumer may be deregistered, and a DELETING one again (nothing changes)."""
        stream, consumer = self._consumer(request)
        if consumer.status == "DELETING":
            return {}
        consumer.status = "DELETING"  # the name stays taken until it is gone
        self.transitions.after(self.transitions.durations.delete, lambda: stream.consumers.pop(consumer.name))
        return {}

    def subscribe(self, request: Json) -> Subscription:
        """Check a SubscribeToShard request and open its subscription (the server streams it).

        AWS: one call a second per consumer and shard (LimitExceededException, when limits are
        on); a subscription within 5 s of the last one is refused (ResourceInUseException); one
        5 s or more later takes over, and the older one ends with a ResourceInUseException event.
        """
        stream, consumer = self._consumer({"ConsumerARN": request.get("ConsumerARN")})
        if consumer.status != "ACTIVE":  # the model lists ResourceInUseException: "must be in the ACTIVE state"
            raise ApiError("ResourceInUseException", f"Consumer {consumer.arn} is {consumer.status}, not ACTIVE.")
        shard = stream.shard(str(request.get("ShardId")))
        start = request.get("StartingPosition")
        if not isinstance(start, dict):
            raise ApiError("InvalidArgumentException", "StartingPosition is required.")
        position = start_position(stream, shard, start.get("Type"), start.get("SequenceNumber"), start.get("Timestamp"))
        key = (consumer.arn, shard.shard_id)
        now = self.clock()
        # Only the last 5 s matter: forget older calls, so memory stays flat over a long run.
        self._subscribed = {k: when for k, when in self._subscribed.items() if now - when < SUBSCRIBE_INTERVAL}
        self._subscribe_calls = {k: when for k, when in self._subscribe_calls.items() if now - when < CALL_INTERVAL}
        last_call = self._subscribe_calls.get(key, float("-inf"))
        self._subscribe_calls[key] = now
        if self.limits.enabled and now - last_call < CALL_INTERVAL:
            self.throttled += 1
            raise ApiError(
                "LimitExceededException",
                f"Rate exceeded for consumer {consumer.arn} and shard {shard.shard_id}: one SubscribeToShard a second.",
            )
        if now - self._subscribed.get(key, float("-inf")) < SUBSCRIBE_INTERVAL:
            raise ApiError(
                "ResourceInUseException",
                f"Another active subscription exists for consumer {consumer.arn} and shard {shard.shard_id}.",
            )
        self._subscribed[key] = now
        older = self._subscriptions.get(key)
        if older is not None:
            older.taken_over = True
        subscription = Subscription(stream, shard, consumer, position, now + self.limits.subscription_seconds)
        self._subscriptions[key] = subscription
        return subscription

    def subscription_error(self, subscription: Subscription) -> ApiError | None:
        """Why an open subscription must end now with an exception event, if it must."""
        stream, consumer = subscription.stream, subscription.consumer
        current = self.streams_in(stream.region).get(stream.name)
        if current is not stream or stream.consumers.get(consumer.name) is not consumer:
            # AWS's behaviour is not documented; this is what a new SubscribeToShard would get.
            return ApiError("ResourceNotFoundException", f"Consumer {consumer.arn} not found.")
        if subscription.taken_over:
            return ApiError(
                "ResourceInUseException",
                f"A newer subscription of consumer {consumer.arn} to shard {subscription.shard.shard_id} took over.",
            )
        return None

    def next_event(self, subscription: Subscription) -> tuple[Json, bool]:
        """The next SubscribeToShardEvent, and whether the shard has ended with it.

        As AWS does, the shard's last event has ChildShards and a null ContinuationSequenceNumber.
        """
        shard = subscription.shard
        chosen, _, position = take(shard, subscription.position, 10000, self.limits.max_get_records_bytes)
        subscription.position = position
        event: Json = {
            "Records": records_json(chosen),
            "ContinuationSequenceNumber": str(continuation(shard, position)),
            "MillisBehindLatest": millis_behind(shard, position, self.clock()),
        }
        ended = position >= shard.end and not shard.is_open
        if ended:
            event["ContinuationSequenceNumber"] = None
            event["ChildShards"] = [subscription.stream.child(child) for child in shard.children]
        return event, ended


def continuation(shard: Shard, position: int) -> int:
    """The sequence number of the record before `position` (to resubscribe AFTER): one kept, or the
    newest one retention dropped (positions are never behind `base` after a take), or, before the
    first record, the shard's starting sequence number."""
    index = position - 1 - shard.base
    if index >= 0:
        return shard.records[index].sequence
    if shard.last_dropped is not None:
        return shard.last_dropped
    return shard.starting_sequence
