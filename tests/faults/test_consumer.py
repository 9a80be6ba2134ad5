"""The fan-in consumer against aiokinesis.testing: every record, in order per key, through faults.

Intervals are shrunk to milliseconds (a fake clock would make every polling loop spin);
outcomes are deterministic, and each test is bounded by asyncio.timeout.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from pathlib import Path

import pytest

import aiokinesis
from aiokinesis import PutRecordsRequestEntry as Entry
from aiokinesis import StartingPosition
from aiokinesis.aggregation import UserRecord, aggregate
from aiokinesis.testing import Fault, FaultKind, KinesisServer, Limits
from tests.conftest import LOCAL_KEYS as KEYS

READER = aiokinesis.ReaderConfig(
    min_interval=0.002, idle_interval=0.01, throttle_base_delay=0.005, error_base_delay=0.002, max_delay=0.02
)
FAST = aiokinesis.ConsumerConfig(reader=READER, list_shards_interval=0.05)
TRIM = StartingPosition.trim_horizon()


def put_direct(server: KinesisServer, values: list[str], keys: int = 7) -> None:
    """Records straight into the server's state: fast set-up for large volumes."""
    import base64

    entries = [
        {"Data": base64.b64encode(v.encode()).decode(), "PartitionKey": f"key-{i % keys}"} for i, v in enumerate(values)
    ]
    for start in range(0, len(entries), 500):
        server.backend.PutRecords({"StreamName": "s", "Records": entries[start : start + 500]})


async def consume(
    consumer: aiokinesis.StreamConsumer, count: int, *, checkpoint: bool = True, max_wait: float = 30
) -> list[aiokinesis.ShardRecord]:
    got: list[aiokinesis.ShardRecord] = []
    async with asyncio.timeout(max_wait):
        async for batch in consumer:
            got += batch.records
            if checkpoint:
                await batch.checkpoint()
            if len(got) >= count:
                break
    return got


def assert_key_order(got: list[aiokinesis.ShardRecord]) -> None:
    """Values were put as 'v<n>' in increasing n per key: each key's must come out increasing."""
    by_key: dict[str | None, list[int]] = {}
    for record in got:
        by_key.setdefault(record.partition_key, []).append(int(record.data.decode().split("v")[1]))
    for key, values in by_key.items():
        assert values == sorted(values), key


async def test_every_record_of_every_shard_in_order_per_key(server: KinesisServer, kinesis: aiokinesis.Client) -> None:
    put_direct(server, [f"v{i}" for i in range(400)])
    async with kinesis.consumer("s", start=TRIM, config=FAST) as consumer:
        got = await consume(consumer, 400)
        shards = {p.shard_id: p for p in consumer.progress()}
    assert sorted(r.data for r in got) == sorted(f"v{i}".encode() for i in range(400))
    assert_key_order(got)
    assert len(shards) == 4
    assert sum(p.records for p in shards.values()) == 400
    busy = [p for p in shards.values() if p.records]
    assert all(p.record_age is not None and 0 <= p.record_age < 60 for p in busy)
    assert all(p.records_per_second > 0 for p in busy)
    assert all(p.millis_behind_latest == 0 for p in busy)  # caught up


async def test_splits_and_merges_during_consumption_keep_key_order(
    server: KinesisServer, kinesis: aiokinesis.Client
) -> None:
    put_direct(server, [f"v{i}" for i in range(200)])
    async with kinesis.consumer("s", start=TRIM, config=FAST) as consumer:
        got = await consume(consumer, 100)
        stream = server.backend.streams["s"]
        shard0 = stream.shard("shardId-000000000000")
        server.backend.split_shard(stream, shard0, (shard0.start_hash + shard0.end_hash) // 2)
        server.backend.merge_shards(stream, stream.shard("shardId-000000000002"), stream.shard("shardId-000000000003"))
        put_direct(server, [f"v{i}" for i in range(200, 400)])
        got += await consume(consumer, 400 - len(got))
        progress = {p.shard_id: p for p in consumer.progress()}
    assert sorted(r.data for r in got) == sorted(f"v{i}".encode() for i in range(400))
    assert_key_order(got)
    assert len(progress) == 7
    assert all(progress[s].ended for s in ("shardId-000000000000", "shardId-000000000002", "shardId-000000000003"))


async def test_a_restart_from_sqlite_loses_nothing_and_repeats_only_after_the_last_checkpoint(
    server: KinesisServer, kinesis: aiokinesis.Client, tmp_path: Path
) -> None:
    total = 100_000
    put_direct(server, [f"v{i}" for i in range(total)], keys=50)
    config = aiokinesis.ConsumerConfig(reader=aiokinesis.ReaderConfig(limit=1000, min_interval=0, idle_interval=0.01))
    checkpoints = aiokinesis.SqliteCheckpoints(tmp_path / "app.db")
    first: list[aiokinesis.ShardRecord] = []
    checkpointed: dict[str, int] = {}  # shard -> records of it delivered up to its last checkpoint

    async def run_until_killed() -> None:
        async with kinesis.consumer("s", checkpoints=checkpoints, start=TRIM, config=config) as consumer:
            async for batch in consumer:
                first.extend(batch.records)
                if len(first) % 3000 < 1000:  # checkpoint about a third of the batches
                    await batch.checkpoint()
                    checkpointed[batch.shard_id] = sum(r.shard_id == batch.shard_id for r in first)
                if len(first) >= total // 2:
                    raise asyncio.CancelledError  # killed mid-stream: no orderly close

    with pytest.raises(asyncio.CancelledError):
        await run_until_killed()
    await checkpoints.aclose()

    reopened = aiokinesis.SqliteCheckpoints(tmp_path / "app.db")
    async with kinesis.consumer("s", checkpoints=reopened, start=TRIM, config=config) as consumer:
        expected_second = total - sum(checkpointed.values())
        second = await consume(consumer, expected_second, max_wait=60)
    await reopened.aclose()

    everything = Counter(r.data for r in first + second)
    assert set(everything) == {f"v{i}".encode() for i in range(total)}  # nothing missing
    repeated = {data for data, n in everything.items() if n > 1}
    for shard_id, upto in checkpointed.items():
        mine = [r.data for r in first if r.shard_id == shard_id]
        assert not repeated & set(mine[:upto])  # nothing at or before a checkpoint came twice
    assert len(second) == expected_second  # the rest, each exactly once after the restart


async def test_a_slow_user_pauses_fetching(server: KinesisServer, kinesis: aiokinesis.Client) -> None:
    put_direct(server, [f"v{i}" for i in range(100)], keys=1)
    config = aiokinesis.ConsumerConfig(
        reader=aiokinesis.ReaderConfig(limit=5, min_interval=0, idle_interval=0.01), max_buffered_batches=2
    )
    async with kinesis.consumer("s", start=TRIM, config=config) as consumer:
        batch = await anext(consumer)
        await asyncio.sleep(0.2)  # a slow user: readers must not run ahead of the buffer
        handed_out = sum(p.records for p in consumer.progress())
        assert handed_out <= len(batch) + 2 * 5
        got = list(batch) + await consume(consumer, 100 - len(batch))
    assert [r.data for r in got] == [f"v{i}".encode() for i in range(100)]


async def test_progress_hands_out_copies_that_neither_change_nor_change_the_consumer(
    server: KinesisServer, kinesis: aiokinesis.Client
) -> None:
    put_direct(server, [f"v{i}" for i in range(30)], keys=1)
    config = aiokinesis.ConsumerConfig(
        reader=aiokinesis.ReaderConfig(limit=5, min_interval=0, idle_interval=0.01), max_buffered_batches=1
    )
    async with kinesis.consumer("s", start=TRIM, config=config) as consumer:
        got = list(await anext(consumer))
        early = {p.shard_id: p for p in consumer.progress()}
        shard = got[0].shard_id
        handed_out = early[shard].records
        with pytest.raises(dataclasses.FrozenInstanceError):
            early[shard].ended = True  # type: ignore[misc]
        got += await consume(consumer, 30 - len(got))
        late = {p.shard_id: p for p in consumer.progress()}
    assert len(got) == 30
    assert handed_out < 30
    assert early[shard].records == handed_out  # the copy held on to did not move
    assert late[shard].records == 30
    assert not late[shard].ended


async def test_a_throttling_storm_on_one_shard_leaves_the_others_flowing(
    server: KinesisServer, kinesis: aiokinesis.Client
) -> None:
    put_direct(server, [f"v{i}" for i in range(200)])
    server.inject(Fault(kind=FaultKind.THROTTLE, operation="GetRecords", shard="shardId-000000000001", times=None))
    stored = {s.shard_id: len(s.records) for s in server.backend.streams["s"].shards}
    async with kinesis.consumer("s", start=TRIM, config=FAST) as consumer:
        got = await consume(consumer, 200 - stored["shardId-000000000001"])
        flowing = {shard for shard, count in stored.items() if count and shard != "shardId-000000000001"}
        assert {r.shard_id for r in got} == flowing
        server.faults.clear()
        got += await consume(consumer, stored["shardId-000000000001"])
        throttles = {p.shard_id: p.throttles for p in consumer.progress()}
    assert sorted(r.data for r in got) == sorted(f"v{i}".encode() for i in range(200))
    assert throttles["shardId-000000000001"] > 0
    assert throttles["shardId-000000000000"] == 0


async def test_expiry_5xx_and_resets_lose_and_repeat_nothing(server: KinesisServer, kinesis: aiokinesis.Client) -> None:
    put_direct(server, [f"v{i}" for i in range(300)])
    server.inject(Fault(kind=FaultKind.INTERNAL_FAILURE, operation="GetRecords", probability=0.2, times=None))
    server.inject(Fault(kind=FaultKind.RESET_MID_RESPONSE, operation="GetRecords", probability=0.1, times=None))
    server.inject(Fault(kind=FaultKind.EXPIRED_ITERATOR, operation="GetRecords", probability=0.1, times=None))
    config = aiokinesis.ConsumerConfig(
        reader=aiokinesis.ReaderConfig(
            limit=7,
            min_interval=0,
            idle_interval=0.01,
            throttle_base_delay=0.001,
            error_base_delay=0.001,
            max_delay=0.01,
        )
    )
    async with kinesis.consumer("s", start=TRIM, config=config) as consumer:
        got = await consume(consumer, 300)
    assert sorted(r.data for r in got) == sorted(f"v{i}".encode() for i in range(300))  # and no duplicates
    assert_key_order(got)


async def test_500_shards_in_one_loop() -> None:
    async with (
        KinesisServer(streams={"wide": 500}, limits=Limits(enabled=False)) as wide,
        aiokinesis.Client(endpoint_url=wide.endpoint_url, **KEYS) as client,
    ):
        entries = [Entry(data=f"v{i}".encode(), partition_key=f"k{i}") for i in range(1000)]
        for start in range(0, 1000, 500):
            await client.put_records(stream_name="wide", records=entries[start : start + 500])
        config = aiokinesis.ConsumerConfig(reader=aiokinesis.ReaderConfig(min_interval=0, idle_interval=0.5))
        async with client.consumer("wide", start=TRIM, config=config) as consumer:
            got = await consume(consumer, 1000, checkpoint=False)
            assert len(consumer.progress()) == 500
    assert sorted(r.data for r in got) == sorted(e.data for e in entries)


async def test_resuming_inside_a_kpl_aggregate(server: KinesisServer, kinesis: aiokinesis.Client) -> None:
    users = [UserRecord("k", None, f"u{i}".encode()) for i in range(5)]
    out = await kinesis.put_record(stream_name="s", data=aggregate(users), partition_key="k")
    await kinesis.put_record(stream_name="s", data=b"after", partition_key="k")
    checkpoints = aiokinesis.MemoryCheckpoints()
    await checkpoints.set("s", out.shard_id, out.sequence_number, 2)  # u0..u2 processed
    async with kinesis.consumer("s", checkpoints=checkpoints, start=TRIM, config=FAST) as consumer:
        got = await consume(consumer, 3)
    assert [r.data for r in got] == [b"u3", b"u4", b"after"]


async def test_auto_checkpoints_cover_processed_batches_only(server: KinesisServer, kinesis: aiokinesis.Client) -> None:
    put_direct(server, [f"v{i}" for i in range(20)], keys=1)
    shard = next(s.shard_id for s in server.backend.streams["s"].shards if s.records)
    checkpoints = aiokinesis.MemoryCheckpoints()
    config = aiokinesis.ConsumerConfig(
        reader=aiokinesis.ReaderConfig(limit=5, min_interval=0, idle_interval=0.01), checkpoint_interval=0.01
    )
    with pytest.raises(RuntimeError, match="handler failed"):  # noqa: PT012 - the failure happens mid-iteration
        async with kinesis.consumer("s", checkpoints=checkpoints, start=TRIM, config=config) as consumer:
            seen = 0
            async for batch in consumer:
                seen += len(batch)
                if seen == 10:
                    raise RuntimeError("handler failed on the second batch")
    saved = await checkpoints.get("s", shard)
    assert saved is not None
    fifth = server.backend.streams["s"].shard(shard).records[4]
    assert saved.sequence_number == str(fifth.sequence)  # the batch in hand failed: not checkpointed


async def test_auto_checkpoints_leave_an_ended_shard_ended(server: KinesisServer, kinesis: aiokinesis.Client) -> None:
    put_direct(server, [f"v{i}" for i in range(10)], keys=1)
    stream = server.backend.streams["s"]
    parent = next(s for s in stream.shards if s.records)
    server.backend.split_shard(stream, parent, (parent.start_hash + parent.end_hash) // 2)
    put_direct(server, [f"v{i}" for i in range(10, 20)], keys=1)
    checkpoints = aiokinesis.MemoryCheckpoints()
    config = aiokinesis.ConsumerConfig(reader=READER, list_shards_interval=0.05, checkpoint_interval=3600)
    async with kinesis.consumer("s", checkpoints=checkpoints, start=TRIM, config=config) as consumer:
        got = await consume(consumer, 20, checkpoint=False)
    assert [r.data for r in got] == [f"v{i}".encode() for i in range(20)]
    saved = await checkpoints.get("s", parent.shard_id)
    assert saved is not None
    assert saved.ended  # the close's checkpoint of its processed batches did not undo its end


async def test_errors_that_retrying_cannot_mend_end_the_iteration(
    server: KinesisServer, kinesis: aiokinesis.Client
) -> None:
    put_direct(server, [f"v{i}" for i in range(10)])
    server.inject(Fault(kind=FaultKind.LIMIT_EXCEEDED, operation="GetShardIterator", times=None))
    server.inject(Fault(kind=FaultKind.THROTTLE, operation="ListShards"))
    async with kinesis.consumer("s", start=TRIM, config=FAST) as consumer:
        with pytest.raises(aiokinesis.LimitExceededException):
            await consume(consumer, 10)
        with pytest.raises(aiokinesis.LimitExceededException):
            await anext(consumer)  # stays failed


async def test_closing_early_leaves_no_task_behind(server: KinesisServer, kinesis: aiokinesis.Client) -> None:
    put_direct(server, [f"v{i}" for i in range(50)])
    async with kinesis.consumer("s", start=TRIM, config=FAST) as consumer:
        await consume(consumer, 1)
        names = {task.get_name() for task in asyncio.all_tasks()}
        assert {"aiokinesis-consumer-s", "aiokinesis-list-shards-s", "aiokinesis-shard-shardId-000000000000"} <= names
    await consumer.aclose()  # idempotent
    with pytest.raises(StopAsyncIteration):
        await anext(consumer)
    assert not [task for task in asyncio.all_tasks() if task.get_name().startswith("aiokinesis-")]
