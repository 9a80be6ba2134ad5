"""Retention on the backend's clock: records older than the stream's retention period leave it.

AWS: "data records are accessible for 24 hours from the time that they are added to a stream"
by default (PutRecord's documentation), 24 to 8760 hours by Increase/DecreaseStreamRetentionPeriod;
a decrease makes older data inaccessible at once, an increase brings nothing expired back. A record
leaves when its age reaches the retention period (the same rule as a queue's, _queue_records).

Trimmed records are freed, not hidden: each shard drops them from the front of its lists and
counts them in `Shard.base`, so every position (an iterator, a subscription, a queue's frontier)
still names the same record, and one that named a dropped record now reads from the oldest kept
(TRIM_HORIZON, "the last untrimmed record in the shard"). A closed shard goes once its last record
would have expired (ListShards "does not list expired shards"); its children keep their
ParentShardId. Applied lazily, when a request arrives; `Stream.trim_due` makes the check O(1)
while nothing is due.
"""

from __future__ import annotations

from ._state import Stream


def trim(stream: Stream, now: float) -> None:
    """Drop what the retention period passed by `now`, and note when it next passes something."""
    if now < stream.trim_due:
        return
    retention = stream.retention_seconds
    cutoff = now - retention
    due = float("inf")
    kept = []
    for shard in stream.shards:
        if shard.closed_at is not None and shard.closed_at <= cutoff:
            continue  # closed, and everything it held has expired: the shard is gone
        records = shard.records
        gone = 0
        while gone < len(records) and records[gone].arrival <= cutoff:
            gone += 1
        if gone:
            shard.last_dropped = records[gone - 1].sequence
            del records[:gone]
            del shard.sequences[:gone]
            shard.base += gone
        if records:
            due = min(due, records[0].arrival + retention)
        if shard.closed_at is not None:
            due = min(due, shard.closed_at + retention)
        kept.append(shard)
    if len(kept) != len(stream.shards):
        stream.shards = kept  # only closed shards left: the open-shard index stands
    stream.trim_due = due
