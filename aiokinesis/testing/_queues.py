"""Queues on a stream: the 12 queue operations (control: create, describe, update, delete, list;
data: receive, acknowledge, change visibility, and the dead-letter forms, restore).

The delivery state is in _queue_records. Choices where AWS's documentation is silent:
- CreateQueue's answer says CREATING and UpdateQueue's UPDATING, as AWS's do; the queue stays so
  for the server's create / update duration (none by default), and a deleted one DELETING for the
  delete duration. While CREATING or DELETING the data operations answer ResourceNotFoundException
  (AWS: "You can begin receiving records after the queue is ACTIVE", "A queue in the DELETING
  state does not deliver records", and the model lists no ResourceInUseException for them);
  UPDATING serves them ("You can continue to receive and acknowledge records while the queue is
  UPDATING"); UpdateQueue on a queue that is not ACTIVE is ResourceInUseException.
- A receipt handle is sealed and self-describing (queue, record, delivery serial): a new one per
  delivery. Per entry: a handle this server or queue did not issue, or of the other kind (dead
  letter or not), is InvalidArgumentException; an earlier delivery's handle, or one whose
  visibility passed, is InvalidArgumentException ("expired"); a record acknowledged or past
  the stream's retention is ResourceNotFoundException.
- A dead letter's receives count in its ReceiveCount too; RestoreDeadLetterQueueRecords resets it.
- The queue operations have no rate limits here (AWS documents none): ThrottlingException comes
  from the THROTTLE fault only.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._faults import Fault, FaultKind
from ._queue_records import MAX_RECEIVE_COUNT, Delivery, Queue, Refusal
from ._state import ApiError, BackendState, Json
from ._tags import check_tags
from ._tokens import ReceiptState

QUEUE_CONTROL = frozenset({"CreateQueue", "DescribeQueue", "UpdateQueue", "DeleteQueue", "ListQueues"})
QUEUE_DATA = frozenset(
    {
        "ReceiveQueueRecords",
        "AcknowledgeQueueRecords",
        "UpdateQueueRecordsVisibility",
        "ReceiveDeadLetterQueueRecords",
        "AcknowledgeDeadLetterQueueRecords",
        "RestoreDeadLetterQueueRecords",
        "UpdateDeadLetterQueueRecordsVisibility",
    }
)
RECEIVES = frozenset({"ReceiveQueueRecords", "ReceiveDeadLetterQueueRecords"})
QUEUE_FAULTS = frozenset({FaultKind.PARTIAL_FAILURE, FaultKind.DUPLICATE_DELIVERY, FaultKind.EXPIRED_RECEIPT_HANDLE})
CONSUMER_LIMIT = 20
"""AWS: a queue counts as a registered consumer of its stream (20 on On-demand Standard)."""
_QUEUE_ID = re.compile(r"arn:aws[^:]*:kinesis:([^:]*):\d{12}:queue/(\S+)")


@dataclass(eq=False)
class QueueFault:
    """A fault striking one queue request (set by the dispatcher around the handler)."""

    fault: Fault
    draw: Callable[[], float]
    struck: bool = False

    def settle(self) -> None:
        """A DUPLICATE_DELIVERY that found nothing in flight has not fired: it stays pending."""
        if not self.struck:
            self.fault.fired -= 1


class QueueOperations(BackendState):
    """The queues of every region, by ARN; the operations on them."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.queues: dict[str, Queue] = {}
        self.queue_fault: QueueFault | None = None
        """Set by the server for one queue request: the fault that strikes it."""
        self.receives_waiting = 0
        """Receives long-polling now (no record was visible yet): tests see a wait without timing it."""
        self._serial = 0

    def queue_stream(self, request: Json) -> str | None:
        """The stream a queue request touches, for targeting faults; never raises."""
        queue = self.queues.get(str(request.get("QueueARN")))
        if queue is not None:
            return queue.stream.name
        configs = request.get("StreamConfigurationList")
        if isinstance(configs, list) and configs and isinstance(configs[0], dict):
            found = re.search(r":stream/([a-zA-Z0-9_.-]+)", str(configs[0].get("StreamARN")))
            return found.group(1) if found else None
        return None

    def _queue(self, request: Json, *, delivering: bool = True) -> Queue:
        """The queue a request names; with `delivering`, one that is ACTIVE or UPDATING."""
        arn = str(request.get("QueueARN"))
        queue = self.queues.get(arn)
        if queue is None or queue.region != self.region or (delivering and queue.status in ("CREATING", "DELETING")):
            raise ApiError("ResourceNotFoundException", f"Queue {arn} under account {self.account} not found.")
        fault = self.queue_fault
        if fault is not None and fault.fault.kind is FaultKind.EXPIRED_RECEIPT_HANDLE:
            fault.struck = True
            queue.expire_all(self.clock())
        return queue

    def _next_serial(self) -> int:
        self._serial += 1
        return self._serial

    def _describe_queue(self, queue: Queue, status: str | None = None) -> Json:
        """The queue's description, as it is now or (`status`) as an answer says it is."""
        status = status or queue.status
        start: Json = {"Type": queue.start_type}
        if status != "CREATING":
            start["Timestamp"] = queue.effective_start
        elif queue.start_timestamp is not None:
            start["Timestamp"] = queue.start_timestamp
        dead_letters: Json = {"TargetType": "NONE" if queue.max_receive_count is None else "BUILT_IN"}
        if queue.max_receive_count is not None:
            dead_letters["MaxReceiveCount"] = queue.max_receive_count
        return {
            "QueueName": queue.name,
            "QueueARN": queue.arn,
            "QueueStatus": status,
            "QueueCreationTimestamp": queue.created,
            "StreamConfigurationList": [{"StreamARN": queue.stream.arn, "StartingPosition": start}],
            "QueueAttributes": {"VisibilityTimeoutSeconds": queue.visibility, "DeadLetterConfiguration": dead_letters},
        }

    def CreateQueue(self, request: Json) -> Json:
        name = str(request.get("QueueName"))
        configs = request.get("StreamConfigurationList") or []
        if len(configs) != 1:
            raise ApiError(
                "InvalidArgumentException",
                f"StreamConfigurationList must contain exactly one entry (a queue delivers from one stream), "
                f"not {len(configs)}.",
            )
        stream = self._stream({"StreamARN": configs[0].get("StreamARN")})
        start = configs[0].get("StartingPosition") or {"Type": "LATEST"}
        kind, timestamp = start.get("Type"), start.get("Timestamp")
        if (kind == "AT_TIMESTAMP") != (timestamp is not None):
            raise ApiError(
                "ValidationException",
                "StartingPosition.Timestamp is required when Type is AT_TIMESTAMP, and not allowed otherwise.",
            )
        if any(q.name == name and q.region == self.region for q in self.queues.values()):
            raise ApiError("ResourceInUseException", f"Queue {name} under account {self.account} already exists.")
        if stream.status != "ACTIVE":
            raise ApiError("ResourceInUseException", f"Stream {stream.name} is {stream.status}, not ACTIVE.")
        if stream.mode != "ON_DEMAND":
            raise ApiError(
                "InvalidArgumentException",
                f"Stream {stream.name} is {stream.mode}: queues are supported only on streams in ON_DEMAND mode.",
            )
        if len(stream.consumers) + len(stream.queues) >= CONSUMER_LIMIT:
            raise ApiError(
                "LimitExceededException",
                f"Stream {stream.name} has {CONSUMER_LIMIT} registered consumers and queues: the limit.",
            )
        tags = request.get("Tags") or {}
        check_tags(tags, {})
        visibility, max_receive = self._attributes(request.get("QueueAttributes") or {}, 30, MAX_RECEIVE_COUNT)
        now = self.clock()
        serial = self._next_serial()
        queue_id = hashlib.sha256(f"{self.account}/{self.region}/{serial}/{now}".encode()).hexdigest()[:24]
        earliest = max(stream.created, now - stream.retention_seconds)
        queue = Queue(
            queue_id=queue_id,
            name=name,
            arn=f"arn:aws:kinesis:{self.region}:{self.account}:queue/{queue_id}",
            region=self.region,
            created=now,
            stream=stream,
            start_type=str(kind),
            start_timestamp=float(timestamp) if timestamp is not None else None,
            effective_start={"LATEST": now, "TRIM_HORIZON": earliest}.get(str(kind), max(earliest, timestamp or 0.0)),
            visibility=visibility,
            max_receive_count=max_receive,
            tags=dict(tags),
        )
        if kind == "LATEST":
            queue.frontier = {shard.shard_id: shard.end for shard in stream.shards}
        self.queues[queue.arn] = queue
        stream.queues.add(queue.arn)
        self.transitions.through(queue, "CREATING", self.transitions.durations.create)
        return {"QueueDescription": self._describe_queue(queue, "CREATING")}

    @staticmethod
    def _attributes(attributes: Json, visibility: int, max_receive: int | None) -> tuple[int, int | None]:
        """The visibility timeout and MaxReceiveCount (None: TargetType NONE) that QueueAttributes set."""
        visibility = attributes.get("VisibilityTimeoutSeconds", visibility)
        dead_letters = attributes.get("DeadLetterConfiguration")
        if dead_letters is not None:
            target, count = dead_letters.get("TargetType"), dead_letters.get("MaxReceiveCount")
            if target == "BUILT_IN" and count is None:
                raise ApiError("ValidationException", "MaxReceiveCount is required when TargetType is BUILT_IN.")
            if target == "NONE" and count is not None:  # AWS's answer is not documented
                raise ApiError("ValidationException", "MaxReceiveCount applies only to TargetType BUILT_IN.")
            max_receive = count
        return visibility, max_receive

    def DescribeQueue(self, request: Json) -> Json:
        return {"QueueDescription": self._describe_queue(self._queue(request, delivering=False))}

    def UpdateQueue(self, request: Json) -> Json:
        """New attributes apply to records received from now on (those in flight keep their timeout)."""
        queue = self._queue(request, delivering=False)
        if queue.status != "ACTIVE":
            raise ApiError("ResourceInUseException", f"Queue {queue.arn} is {queue.status}, not ACTIVE.")
        queue.visibility, queue.max_receive_count = self._attributes(
            request.get("QueueAttributes") or {}, queue.visibility, queue.max_receive_count
        )
        self.transitions.through(queue, "UPDATING", self.transitions.durations.update)
        return {"QueueDescription": self._describe_queue(queue, "UPDATING")}

    def DeleteQueue(self, request: Json) -> Json:
        """DELETING (its receipt handles stop being valid at once), then gone once the delete duration
        passes; the stream keeps its records. The model lists no ResourceInUseException: a queue in
        any state may be deleted, a DELETING one again (nothing changes)."""
        queue = self._queue(request, delivering=False)
        if queue.status == "DELETING":
            return {}
        queue.status = "DELETING"

        def gone() -> None:
            del self.queues[queue.arn]
            queue.stream.queues.discard(queue.arn)

        self.transitions.after(self.transitions.durations.delete, gone)
        return {}

    def ListQueues(self, request: Json) -> Json:
        limit = request.get("MaxResults", 100)
        queues = sorted((q for q in self.queues.values() if q.region == self.region), key=lambda q: q.arn)
        filters = request.get("StreamFilter")
        if filters:
            wanted = [(f.get("StreamARN"), f.get("StreamCreationTimestamp")) for f in filters]
            queues = [
                q
                for q in queues
                if any(arn == q.stream.arn and created in (None, q.stream.created) for arn, created in wanted)
            ]
        after = request.get("NextToken")
        if after is not None:
            if not str(after).startswith(f"arn:aws:kinesis:{self.region}:"):
                raise ApiError("InvalidArgumentException", f"NextToken {after} is not valid.")
            queues = [q for q in queues if q.arn > after]
        answer: Json = {
            "QueueSummaries": [
                {
                    "QueueName": q.name,
                    "QueueARN": q.arn,
                    "QueueStatus": q.status,
                    "QueueCreationTimestamp": q.created,
                    "Streams": [{"StreamARN": q.stream.arn, "StreamCreationTimestamp": q.stream.created}],
                }
                for q in queues[:limit]
            ]
        }
        if len(queues) > limit:
            answer["NextToken"] = queues[limit - 1].arn
        return answer

    def ReceiveQueueRecords(self, request: Json) -> Json:
        return self._receive(request, dead=False)

    def ReceiveDeadLetterQueueRecords(self, request: Json) -> Json:
        return self._receive(request, dead=True)

    def _receive(self, request: Json, *, dead: bool) -> Json:
        """Up to Limit visible records, now in flight for the visibility timeout (one pass: the
        server long-polls by calling again)."""
        queue = self._queue(request)
        now = self.clock()
        limit = request.get("Limit", 10)
        visibility = request.get("VisibilityTimeoutSeconds", queue.visibility)
        fault = self.queue_fault
        duplicate = None
        if fault is not None and fault.fault.kind is FaultKind.DUPLICATE_DELIVERY:
            duplicate = queue.in_flight(now, dead=dead)
            fault.struck = duplicate is not None
        chosen = [duplicate] if duplicate is not None else []
        chosen += queue.choose(now, limit - len(chosen), dead=dead)
        records = []
        for delivery in chosen:
            serial = self._next_serial()
            if delivery is duplicate:
                delivery.handles.add(serial)  # the earlier delivery's handle stays valid
            else:
                delivery.handles = {serial}
            delivery.receive_count += 1
            delivery.visible_at = now + visibility
            handle = self.tokens.receipt_handle(ReceiptState(queue.queue_id, delivery.record.sequence, serial, dead))
            records.append(_record_json(delivery, handle))
        return {"QueueRecords": records}

    def AcknowledgeQueueRecords(self, request: Json) -> Json:
        return self._batch(request, lambda queue, delivery: queue.deliveries.pop(delivery.record.sequence), dead=False)

    def AcknowledgeDeadLetterQueueRecords(self, request: Json) -> Json:
        return self._batch(request, lambda queue, delivery: queue.deliveries.pop(delivery.record.sequence), dead=True)

    def UpdateQueueRecordsVisibility(self, request: Json) -> Json:
        return self._batch(request, None, dead=False)

    def UpdateDeadLetterQueueRecordsVisibility(self, request: Json) -> Json:
        return self._batch(request, None, dead=True)

    def RestoreDeadLetterQueueRecords(self, request: Json) -> Json:
        def restore(queue: Queue, delivery: Delivery) -> None:
            delivery.dead = False
            delivery.receive_count = 0
            delivery.handles.clear()
            delivery.visible_at = self.clock()

        return self._batch(request, restore, dead=True)

    def _batch(self, request: Json, act: Callable[[Queue, Delivery], object] | None, *, dead: bool) -> Json:
        """Each entry by its receipt handle: `act` on its record (None: set its visibility), or a
        Failed entry saying why not. The request as a whole succeeds (HTTP 200)."""
        queue = self._queue(request)
        now = self.clock()
        fault = self.queue_fault
        injected = fault if fault is not None and fault.fault.kind is FaultKind.PARTIAL_FAILURE else None
        if injected is not None:
            injected.struck = True
        successful: list[Json] = []
        failed: list[Json] = []
        for entry in request.get("Entries") or []:
            handle = str(entry.get("ReceiptHandle"))
            found: Delivery | Refusal
            if injected is not None and injected.draw() < injected.fault.share:
                code = injected.fault.error_code
                found = Refusal(
                    "InternalFailureException" if code == "InternalFailure" else code, "Injected per-entry failure."
                )
            else:
                found = queue.find(self.tokens.open_receipt_handle(handle), now, dead=dead)
            if isinstance(found, Refusal):
                failed.append({"ReceiptHandle": handle, "ErrorCode": found.code, "ErrorMessage": found.message})
                continue
            if act is not None:
                act(queue, found)
            else:
                found.visible_at = now + entry.get("VisibilityTimeoutSeconds", 0)
            successful.append({"ReceiptHandle": handle})
        return {"Successful": successful, "Failed": failed}


def _record_json(delivery: Delivery, handle: str) -> Json:
    """A QueueRecord; a keyless record (AUTO stream) has no PartitionKey."""
    record = delivery.record
    answer: Json = {
        "ReceiptHandle": handle,
        "RecordId": str(record.sequence),
        "Data": base64.b64encode(record.data).decode(),
        "ApproximateArrivalTimestamp": record.arrival,
        "FirstReceiveTimestamp": delivery.first_receive,
        "ReceiveCount": delivery.receive_count,
    }
    if record.partition_key is not None:
        answer["PartitionKey"] = record.partition_key
    return answer
