"""A small in-memory stand-in for a Kinesis queue's operations, typed as the generated client's.

It keeps each record's receive count, visibility deadline and current receipt handle on a
VirtualTime clock, dead-letters a record received MaxReceiveCount times once it is visible again,
refuses a stale or lapsed receipt handle as AWS documents (InvalidArgumentException in Failed),
and takes scripted faults: per-entry error codes, and whole-call errors.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokinesis._generated.models import (
    AcknowledgeDeadLetterQueueRecordsErrorEntry,
    AcknowledgeDeadLetterQueueRecordsOutput,
    AcknowledgeDeadLetterQueueRecordsRequestEntry,
    AcknowledgeDeadLetterQueueRecordsResultEntry,
    AcknowledgeQueueRecordsErrorEntry,
    AcknowledgeQueueRecordsOutput,
    AcknowledgeQueueRecordsRequestEntry,
    AcknowledgeQueueRecordsResultEntry,
    DeadLetterConfiguration,
    DescribeQueueOutput,
    ListQueuesOutput,
    QueueAttributes,
    QueueDescription,
    QueueRecord,
    QueueStreamConfiguration,
    QueueStreamIdentifier,
    QueueSummary,
    ReceiveDeadLetterQueueRecordsOutput,
    ReceiveQueueRecordsOutput,
    RestoreDeadLetterQueueRecordsErrorEntry,
    RestoreDeadLetterQueueRecordsOutput,
    RestoreDeadLetterQueueRecordsRequestEntry,
    RestoreDeadLetterQueueRecordsResultEntry,
    UpdateQueueRecordsVisibilityErrorEntry,
    UpdateQueueRecordsVisibilityOutput,
    UpdateQueueRecordsVisibilityRequestEntry,
    UpdateQueueRecordsVisibilityResultEntry,
)
from aiokinesis._runtime import Runtime
from aiokinesis.errors import service_error
from tests.fakes import VirtualTime

ARN = "arn:aws:kinesis:us-east-1:123456789012:queue/q-0123456789abcdef"
STREAM_ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/orders"
NAME = "orders-work"


@dataclass
class FakeRecord:
    record_id: str
    data: bytes
    partition_key: str
    receive_count: int = 0
    visible_at: float = 0.0
    handle: str | None = None
    first_receive: datetime | None = None
    state: str = "ready"  # ready, acked, dead, discarded


@dataclass
class FakeQueue:
    """The queue operations of one queue (and a few other queues, to page ListQueues through)."""

    time: VirtualTime
    visibility: int = 30
    max_receives: int | None = 6
    records: dict[str, FakeRecord] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    entry_codes: dict[str, deque[dict[str, str]]] = field(default_factory=dict)
    """Operation -> per call, record id -> ErrorCode to answer for that entry."""
    errors: dict[str, deque[Exception]] = field(default_factory=dict)
    """Operation -> errors to raise, one per call."""
    gone: bool = False
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _handles: int = 0

    # -- the test's side ------------------------------------------------------------------------

    def put(self, count: int = 1) -> list[str]:
        ids = []
        for _ in range(count):
            record_id = f"r{len(self.records):04d}"
            self.records[record_id] = FakeRecord(record_id, f"data-{record_id}".encode(), f"key-{record_id}")
            ids.append(record_id)
        self._changed.set()
        return ids

    def fail_entries(self, operation: str, codes: dict[str, str]) -> None:
        self.entry_codes.setdefault(operation, deque()).append(codes)

    def fail_call(self, operation: str, error: Exception) -> None:
        self.errors.setdefault(operation, deque()).append(error)

    def of(self, operation: str) -> list[dict[str, Any]]:
        return [kwargs for name, kwargs in self.calls if name == operation]

    def in_flight(self) -> list[str]:
        """Records received and not visible again yet (neither acknowledged nor released)."""
        now = self.time.now
        return [r.record_id for r in self.records.values() if r.state == "ready" and r.visible_at > now]

    # -- the operations -------------------------------------------------------------------------

    def _enter(self, operation: str, **kwargs: Any) -> None:
        self.calls.append((operation, kwargs))
        waiting = self.errors.get(operation)
        if waiting:
            raise waiting.popleft()
        if self.gone or kwargs.get("queue_arn", ARN) != ARN:
            raise service_error("ResourceNotFoundException", "Queue not found", status=400, request_id="r")

    def _dead_letter(self) -> None:
        now = self.time.now
        for record in self.records.values():
            limit = self.max_receives
            if record.state == "ready" and limit and record.receive_count >= limit and record.visible_at <= now:
                record.state = "dead"
                record.handle = None

    def _hand_out(self, record: FakeRecord, seconds: int) -> QueueRecord:
        self._handles += 1
        record.receive_count += 1
        record.handle = f"h{self._handles}-{record.record_id}"
        record.visible_at = self.time.now + seconds
        record.first_receive = record.first_receive or datetime.fromtimestamp(self.time.now, UTC)
        return QueueRecord(
            receipt_handle=record.handle,
            record_id=record.record_id,
            partition_key=record.partition_key,
            data=record.data,
            approximate_arrival_timestamp=datetime.fromtimestamp(self.time.now, UTC),
            first_receive_timestamp=record.first_receive,
            receive_count=record.receive_count,
        )

    async def _poll(self, state: str, limit: int, wait: int, seconds: int) -> list[QueueRecord]:
        deadline = self.time.now + wait
        runtime = Runtime(clock=self.time.clock, sleep=self.time.sleep)
        while True:
            self._dead_letter()
            now = self.time.now
            visible = [r for r in self.records.values() if r.state == state and r.visible_at <= now]
            if visible or now >= deadline:
                return [self._hand_out(record, seconds) for record in visible[:limit]]
            self._changed.clear()
            wakes = [r.visible_at for r in self.records.values() if r.state in ("ready", "dead") and r.visible_at > now]
            await runtime.wait(self._changed, min([deadline, *wakes]) - now)

    async def receive_queue_records(
        self,
        *,
        queue_arn: str,
        limit: int | None = None,
        wait_time_seconds: int | None = None,
        visibility_timeout_seconds: int | None = None,
    ) -> ReceiveQueueRecordsOutput:
        self._enter("receive", queue_arn=queue_arn, limit=limit, wait=wait_time_seconds)
        seconds = self.visibility if visibility_timeout_seconds is None else visibility_timeout_seconds
        return ReceiveQueueRecordsOutput(
            queue_records=await self._poll("ready", limit or 10, wait_time_seconds or 9, seconds)
        )

    def _apply(
        self, operation: str, handles: Sequence[tuple[str, int | None]], state: str
    ) -> tuple[list[str], list[tuple[str, str]]]:
        assert 1 <= len(handles) <= 10, handles
        assert len({h for h, _ in handles}) == len(handles), "one receipt handle twice in a call"
        codes = self.entry_codes[operation].popleft() if self.entry_codes.get(operation) else {}
        now = self.time.now
        by_handle = {r.handle: r for r in self.records.values() if r.handle is not None}
        ok, failed = [], []
        for handle, seconds in handles:
            record = by_handle.get(handle)
            code = codes.get(record.record_id) if record is not None else None
            if code is None and (record is None or record.state != state or record.visible_at <= now):
                code = "InvalidArgumentException"
            if code is not None:
                failed.append((handle, code))
                continue
            assert record is not None
            if operation in ("ack", "discard"):
                record.state = "acked" if operation == "ack" else "discarded"
            elif operation == "restore":
                record.state, record.receive_count, record.visible_at = "ready", 0, now
            else:
                record.visible_at = now + (seconds or 0)
            ok.append(handle)
        self._changed.set()
        return ok, failed

    async def acknowledge_queue_records(
        self, *, queue_arn: str, entries: list[AcknowledgeQueueRecordsRequestEntry]
    ) -> AcknowledgeQueueRecordsOutput:
        handles = [(e.receipt_handle, None) for e in entries]
        self._enter("ack", queue_arn=queue_arn, handles=[h for h, _ in handles])
        await asyncio.sleep(0)
        ok, failed = self._apply("ack", handles, "ready")
        return AcknowledgeQueueRecordsOutput(
            successful=[AcknowledgeQueueRecordsResultEntry(receipt_handle=h) for h in ok],
            failed=[
                AcknowledgeQueueRecordsErrorEntry(receipt_handle=h, error_code=c, error_message="no") for h, c in failed
            ],
        )

    async def update_queue_records_visibility(
        self, *, queue_arn: str, entries: list[UpdateQueueRecordsVisibilityRequestEntry]
    ) -> UpdateQueueRecordsVisibilityOutput:
        handles = [(e.receipt_handle, e.visibility_timeout_seconds) for e in entries]
        self._enter("visibility", queue_arn=queue_arn, entries=handles, at=self.time.now)
        await asyncio.sleep(0)
        ok, failed = self._apply("visibility", handles, "ready")
        return UpdateQueueRecordsVisibilityOutput(
            successful=[UpdateQueueRecordsVisibilityResultEntry(receipt_handle=h) for h in ok],
            failed=[
                UpdateQueueRecordsVisibilityErrorEntry(receipt_handle=h, error_code=c, error_message="no")
                for h, c in failed
            ],
        )

    async def describe_queue(self, *, queue_arn: str) -> DescribeQueueOutput:
        self._enter("describe", queue_arn=queue_arn)
        dead = (
            DeadLetterConfiguration(target_type="NONE")
            if self.max_receives is None
            else DeadLetterConfiguration(target_type="BUILT_IN", max_receive_count=self.max_receives)
        )
        return DescribeQueueOutput(
            queue_description=QueueDescription(
                queue_name=NAME,
                queue_arn=ARN,
                queue_status="ACTIVE",
                queue_creation_timestamp=datetime.fromtimestamp(0, UTC),
                stream_configuration_list=[QueueStreamConfiguration(stream_arn=STREAM_ARN)],
                queue_attributes=QueueAttributes(
                    visibility_timeout_seconds=self.visibility, dead_letter_configuration=dead
                ),
            )
        )

    async def list_queues(
        self, *, max_results: int | None = None, next_token: str | None = None, stream_filter: Any = None
    ) -> ListQueuesOutput:
        """Three queues, one a page: ours is the last."""
        self._enter("list", next_token=next_token)
        page = int(next_token or 0)
        names = ["other-a", "other-b", NAME]
        arn = ARN if names[page] == NAME else ARN.replace("q-0", f"q-{page}")
        summary = QueueSummary(
            queue_name=names[page],
            queue_arn=arn,
            queue_status="ACTIVE",
            queue_creation_timestamp=datetime.fromtimestamp(0, UTC),
            streams=[
                QueueStreamIdentifier(stream_arn=STREAM_ARN, stream_creation_timestamp=datetime.fromtimestamp(0, UTC))
            ],
        )
        return ListQueuesOutput(queue_summaries=[summary], next_token=str(page + 1) if page < 2 else None)

    async def receive_dead_letter_queue_records(
        self,
        *,
        queue_arn: str,
        limit: int | None = None,
        wait_time_seconds: int | None = None,
        visibility_timeout_seconds: int | None = None,
    ) -> ReceiveDeadLetterQueueRecordsOutput:
        self._enter("receive dead", queue_arn=queue_arn, limit=limit, wait=wait_time_seconds)
        seconds = self.visibility if visibility_timeout_seconds is None else visibility_timeout_seconds
        records = await self._poll("dead", limit or 10, wait_time_seconds or 9, seconds)
        return ReceiveDeadLetterQueueRecordsOutput(queue_records=records)

    async def acknowledge_dead_letter_queue_records(
        self, *, queue_arn: str, entries: list[AcknowledgeDeadLetterQueueRecordsRequestEntry]
    ) -> AcknowledgeDeadLetterQueueRecordsOutput:
        handles = [(e.receipt_handle, None) for e in entries]
        self._enter("discard", queue_arn=queue_arn, handles=[h for h, _ in handles])
        ok, failed = self._apply("discard", handles, "dead")
        return AcknowledgeDeadLetterQueueRecordsOutput(
            successful=[AcknowledgeDeadLetterQueueRecordsResultEntry(receipt_handle=h) for h in ok],
            failed=[AcknowledgeDeadLetterQueueRecordsErrorEntry(receipt_handle=h, error_code=c) for h, c in failed],
        )

    async def restore_dead_letter_queue_records(
        self, *, queue_arn: str, entries: list[RestoreDeadLetterQueueRecordsRequestEntry]
    ) -> RestoreDeadLetterQueueRecordsOutput:
        handles = [(e.receipt_handle, None) for e in entries]
        self._enter("restore", queue_arn=queue_arn, handles=[h for h, _ in handles])
        ok, failed = self._apply("restore", handles, "dead")
        return RestoreDeadLetterQueueRecordsOutput(
            successful=[RestoreDeadLetterQueueRecordsResultEntry(receipt_handle=h) for h in ok],
            failed=[RestoreDeadLetterQueueRecordsErrorEntry(receipt_handle=h, error_code=c) for h, c in failed],
        )
