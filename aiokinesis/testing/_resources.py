"""Operations on any Kinesis resource by its ARN: a stream, an enhanced fan-out consumer or a queue.

TagResource, UntagResource and ListTagsForResource work on the same tags as AddTagsToStream,
RemoveTagsFromStream and ListTagsForStream (a stream's), RegisterStreamConsumer's and CreateQueue's.
PutResourcePolicy, GetResourcePolicy and DeleteResourcePolicy keep one policy per resource, which
goes with it (a stream made again under the same name has none).

Choices where AWS's documentation is silent or this server cannot know:
- An ARN that the model's pattern takes but that none of the documented request patterns
  (stream, consumer, queue) matches is a ValidationException naming resourceARN; a channel's ARN
  is not found (this server has no channels).
- A policy is stored and answered as given, once it parses as a JSON object (AWS documents it
  as a JSON policy document and checks its grammar, which is IAM's, not reproduced here); the
  model and the documentation give no size limit, so none is enforced.
- GetResourcePolicy of a resource without a policy is ResourceNotFoundException (as AWS's own
  controllers and kinesis-mock treat it); DeleteResourcePolicy of one succeeds.
- A stream's tags change only while it is ACTIVE (AWS's CreateStream documentation); consumers'
  and queues' whatever their state.
"""

from __future__ import annotations

import re
from typing import Protocol

import orjson

from ._queues import QueueOperations
from ._state import ApiError, Json, validation_error
from ._tags import check_tags, tag_list

_STREAM = re.compile(r"arn:aws[^:]*:kinesis:[^:]*:\d{12}:stream/([a-zA-Z0-9_.-]{1,128})")
_CONSUMER = re.compile(
    r"arn:aws[^:]*:kinesis:[^:]*:\d{12}:stream/([a-zA-Z0-9_.-]{1,128})/consumer/([a-zA-Z0-9_.-]{1,128}):[0-9]+"
)
_QUEUE = re.compile(r"arn:aws[^:]*:kinesis:[^:]*:\d{12}:queue/\S+")
_CHANNEL = re.compile(r"arn:aws[^:]*:kinesis:[^:]*:\d{12}:.*channel/\S+")
DOCUMENTED = "a stream, consumer or queue ARN (arn:aws:kinesis:REGION:ACCOUNT:stream/NAME[/consumer/NAME:N] | queue/ID)"


class Resource(Protocol):
    """What a stream, a consumer and a queue share: tags and a resource-based policy."""

    tags: dict[str, str]
    policy: str | None


class ResourceOperations(QueueOperations):
    """Tags and resource-based policies by ResourceARN."""

    def _resource(self, request: Json, *, changing: bool) -> Resource:
        """The resource a ResourceARN names in this account and the request's region."""
        arn = str(request.get("ResourceARN"))
        if (found := _CONSUMER.fullmatch(arn)) is not None:
            stream = self.streams.get(found.group(1))
            consumer = stream.consumers.get(found.group(2)) if stream is not None else None
            if consumer is None or consumer.arn != arn:
                raise ApiError("ResourceNotFoundException", f"Consumer {arn} not found.")
            return consumer
        if (found := _STREAM.fullmatch(arn)) is not None:
            stream = self.streams.get(found.group(1))
            if stream is None or stream.arn != arn:
                raise ApiError("ResourceNotFoundException", f"Stream {arn} not found.")
            return self._active_stream({"StreamARN": arn}) if changing else stream
        if _QUEUE.fullmatch(arn) is not None:
            queue = self.queues.get(arn)
            if queue is None or queue.region != self.region:
                raise ApiError("ResourceNotFoundException", f"Queue {arn} not found.")
            return queue
        if _CHANNEL.fullmatch(arn) is not None:
            raise ApiError("ResourceNotFoundException", f"Channel {arn} not found.")
        raise validation_error("resourceARN", arn, f"Member must be {DOCUMENTED}")

    def TagResource(self, request: Json) -> Json:
        resource = self._resource(request, changing=True)
        tags = request.get("Tags") or {}
        check_tags(tags, resource.tags)
        resource.tags.update(tags)
        return {}

    def UntagResource(self, request: Json) -> Json:
        """Keys the resource does not have are ignored, as RemoveTagsFromStream ignores them."""
        resource = self._resource(request, changing=True)
        for key in request.get("TagKeys") or []:
            resource.tags.pop(key, None)
        return {}

    def ListTagsForResource(self, request: Json) -> Json:
        return {"Tags": tag_list(self._resource(request, changing=False).tags)}

    def PutResourcePolicy(self, request: Json) -> Json:
        resource = self._resource(request, changing=False)
        policy = str(request.get("Policy"))
        try:
            document = orjson.loads(policy)
        except orjson.JSONDecodeError:
            document = None
        if not isinstance(document, dict):
            raise ApiError("InvalidArgumentException", "Policy must be a JSON policy document (a JSON object).")
        resource.policy = policy
        return {}

    def GetResourcePolicy(self, request: Json) -> Json:
        arn = request.get("ResourceARN")
        policy = self._resource(request, changing=False).policy
        if policy is None:
            raise ApiError("ResourceNotFoundException", f"No resource policy exists for {arn}.")
        return {"Policy": policy}

    def DeleteResourcePolicy(self, request: Json) -> Json:
        self._resource(request, changing=False).policy = None
        return {}
