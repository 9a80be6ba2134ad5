"""Data plane against both servers: put, every iterator type, paging, resharding."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import aiokinesis
from aiokinesis import PutRecordsRequestEntry, StartingPosition
from tests.conformance.reading import READER, Paced, read_to_end_or
from tests.conftest import create_active_stream

pytestmark = pytest.mark.integration


async def test_put_record_and_read_it_back(kinesis: aiokinesis.Client, stream_name: str) -> None:
    await create_active_stream(kinesis, stream_name)
    out = await kinesis.put_record(stream_name=stream_name, data=b"\x00hi\xff", partition_key="42")
    assert out.shard_id == "shardId-000000000000"
    it = await kinesis.get_shard_iterator(
        stream_name=stream_name, shard_id=out.shard_id, shard_iterator_type=aiokinesis.ShardIteratorType.TRIM_HORIZON
    )
    assert it.shard_iterator is not None
    page = await kinesis.get_records(shard_iterator=it.shard_iterator)
    [record] = page.records
    assert (record.data, record.partition_key, record.sequence_number) == (b"\x00hi\xff", "42", out.sequence_number)
    assert record.approximate_arrival_timestamp is not None
    assert abs(record.approximate_arrival_timestamp - datetime.now(UTC)) < timedelta(minutes=5)
    assert page.millis_behind_latest is not None


async def test_put_records_keep_order_per_key_and_report_each_entry(
    kinesis: aiokinesis.Client, stream_name: str
) -> None:
    await create_active_stream(kinesis, stream_name, shards=2)
    entries = [PutRecordsRequestEntry(data=f"{i}".encode(), partition_key=f"key-{i % 5}") for i in range(40)]
    out = await kinesis.put_records(stream_name=stream_name, records=entries)
    assert out.failed_record_count == 0
    assert len(out.records) == 40
    by_shard: dict[str, list[str]] = {}
    for result in out.records:
        assert result.shard_id is not None
        assert result.sequence_number is not None
        by_shard.setdefault(result.shard_id, []).append(result.sequence_number)

    read: list[aiokinesis.ShardRecord] = []
    small_pages = dataclasses.replace(READER, limit=3)
    for shard_id in sorted(by_shard):
        reader = kinesis.read_shard(stream_name, shard_id, start=StartingPosition.trim_horizon(), config=small_pages)
        got = await read_to_end_or(reader, len(by_shard[shard_id]))
        assert [r.sequence_number for r in got] == by_shard[shard_id]
        read += got
    assert sorted(int(r.data) for r in read) == list(range(40))
    for key in {e.partition_key for e in entries}:
        in_order = [int(r.data) for r in read if r.partition_key == key]
        assert in_order == sorted(in_order)


async def test_every_iterator_type(kinesis: aiokinesis.Client, stream_name: str) -> None:
    await create_active_stream(kinesis, stream_name)
    shard = "shardId-000000000000"
    before = datetime.now(UTC) - timedelta(seconds=1)
    seqs = [
        (await kinesis.put_record(stream_name=stream_name, data=f"{i}".encode(), partition_key="k")).sequence_number
        for i in range(4)
    ]

    paced = Paced(kinesis)  # five reads of one shard, each of a page or two

    async def read_from(kind: str, **where: Any) -> list[bytes]:
        it = await kinesis.get_shard_iterator(
            stream_name=stream_name, shard_id=shard, shard_iterator_type=kind, **where
        )
        return [r.data for r in await paced.read_all(it.shard_iterator)]

    assert await read_from("TRIM_HORIZON") == [b"0", b"1", b"2", b"3"]
    assert await read_from("AT_SEQUENCE_NUMBER", starting_sequence_number=seqs[1]) == [b"1", b"2", b"3"]
    assert await read_from("AFTER_SEQUENCE_NUMBER", starting_sequence_number=seqs[1]) == [b"2", b"3"]
    assert await read_from("AT_TIMESTAMP", timestamp=before) == [b"0", b"1", b"2", b"3"]
    assert await read_from("LATEST") == []


async def test_list_shards_small_pages_and_filters(kinesis: aiokinesis.Client, stream_name: str) -> None:
    arn = await create_active_stream(kinesis, stream_name, shards=4)
    ids = [s.shard_id async for s in kinesis.paginate.list_shards(stream_name=stream_name, max_results=1)]
    assert ids == [f"shardId-{n:012d}" for n in range(4)]
    by_arn = [s.shard_id async for s in kinesis.paginate.list_shards(stream_arn=arn, max_results=3)]
    assert by_arn == ids
    after = [
        s.shard_id
        async for s in kinesis.paginate.list_shards(
            stream_name=stream_name,
            shard_filter=aiokinesis.ShardFilter(type=aiokinesis.ShardFilterType.AFTER_SHARD_ID, shard_id=ids[1]),
        )
    ]
    assert after == ids[2:]


async def test_split_then_merge_ends_parents_with_child_shards(kinesis: aiokinesis.Client, stream_name: str) -> None:
    await create_active_stream(kinesis, stream_name)
    parent = "shardId-000000000000"
    await kinesis.put_record(stream_name=stream_name, data=b"before", partition_key="k")
    await kinesis.split_shard(stream_name=stream_name, shard_to_split=parent, new_starting_hash_key=str(2**127))
    await kinesis.wait.stream_exists(stream_name=stream_name, delay=0.05, max_wait=30)

    shards = {s.shard_id: s async for s in kinesis.paginate.list_shards(stream_name=stream_name)}
    children = sorted(sid for sid, s in shards.items() if s.parent_shard_id == parent)
    assert len(children) == 2
    assert shards[parent].sequence_number_range.ending_sequence_number is not None

    it = await kinesis.get_shard_iterator(stream_name=stream_name, shard_id=parent, shard_iterator_type="TRIM_HORIZON")
    iterator: str | None = it.shard_iterator
    data: list[bytes] = []
    child_shards: list[aiokinesis.ChildShard] | None = None
    paced = Paced(kinesis)
    for _ in range(20):
        assert iterator is not None
        page = await paced.get_records(iterator)
        data += [r.data for r in page.records]
        iterator = page.next_shard_iterator
        if iterator is None:
            child_shards = page.child_shards
            break
    assert data == [b"before"]
    assert iterator is None, "a closed shard's iterator ends"
    assert child_shards is not None
    assert sorted(c.shard_id for c in child_shards) == children
    assert all(c.parent_shards == [parent] for c in child_shards)

    await kinesis.merge_shards(stream_name=stream_name, shard_to_merge=children[0], adjacent_shard_to_merge=children[1])
    await kinesis.wait.stream_exists(stream_name=stream_name, delay=0.05, max_wait=30)
    merged = [
        s async for s in kinesis.paginate.list_shards(stream_name=stream_name) if s.adjacent_parent_shard_id is not None
    ]
    assert len(merged) == 1
    assert {merged[0].parent_shard_id, merged[0].adjacent_parent_shard_id} == set(children)


async def test_update_shard_count(kinesis: aiokinesis.Client, stream_name: str) -> None:
    await create_active_stream(kinesis, stream_name, shards=2)
    out = await kinesis.update_shard_count(
        stream_name=stream_name, target_shard_count=4, scaling_type=aiokinesis.ScalingType.UNIFORM_SCALING
    )
    assert (out.current_shard_count, out.target_shard_count) == (2, 4)
    summary = await kinesis.wait.stream_exists(stream_name=stream_name, delay=0.05, max_wait=30)
    assert summary.open_shard_count == 4
    open_shards = [
        s
        async for s in kinesis.paginate.list_shards(
            stream_name=stream_name, shard_filter=aiokinesis.ShardFilter(type=aiokinesis.ShardFilterType.AT_LATEST)
        )
    ]
    assert len(open_shards) == 4


async def test_keys_and_hash_keys_at_the_clients_limits_are_taken(kinesis: aiokinesis.Client, stream_name: str) -> None:
    # The client refuses a key past 256 UTF-16 code units (129 emoji): kinesis-mock counts so too.
    # Whatever it lets through, both servers take.
    await create_active_stream(kinesis, stream_name)
    keys = ["\U0001f600" * 128, "\U0001f600" * 127 + "kk", "é" * 256, "\u4e2d" * 256, "k" * 256, "\U0010ffff" * 128]
    hash_keys = [None, "0", str(2**128 - 1), "9" * 38]
    entries = [(f"{i}".encode(), key, hash_keys[i % 4]) for i, key in enumerate(keys)]
    out = await kinesis.put_records(stream_name=stream_name, records=entries)
    assert out.failed_record_count == 0
    for data, key, hash_key in entries:
        await kinesis.put_record(stream_name=stream_name, data=data, partition_key=key, explicit_hash_key=hash_key)
    it = await kinesis.get_shard_iterator(
        stream_name=stream_name, shard_id="shardId-000000000000", shard_iterator_type="TRIM_HORIZON"
    )
    assert it.shard_iterator is not None
    page = await kinesis.get_records(shard_iterator=it.shard_iterator)
    assert [r.partition_key for r in page.records] == keys * 2


KEYS = st.one_of(
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=256),
    st.text(alphabet=st.characters(codec="utf-8", min_codepoint=0x10000), min_size=100, max_size=140),
    st.sampled_from(["\x00", "\n", " ", "\ufeff", "\uffff", "\U0010ffff", "\U0001f600" * 128, "\U0001f600" * 129]),
)
HASH_KEYS = st.none() | st.integers(min_value=0, max_value=2**128 - 1).map(str) | st.sampled_from(["00", "1\u0663"])


@pytest.fixture
def made() -> list[str]:
    """The stream the examples of a property share, once made."""
    return []


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(entries=st.lists(st.tuples(st.binary(max_size=40), KEYS, HASH_KEYS), min_size=1, max_size=4))
async def test_what_the_client_lets_through_both_servers_take(
    entries: list[tuple[bytes, str, str | None]], kinesis: aiokinesis.Client, stream_name: str, made: list[str]
) -> None:
    if not made:  # one stream for every example: the fixtures are the same across them
        made.append(await create_active_stream(kinesis, stream_name, shards=2))
    try:
        out = await kinesis.put_records(stream_name=stream_name, records=entries)
    except aiokinesis.ParamValidationError:
        return
    assert out.failed_record_count == 0
    for data, key, hash_key in entries:
        await kinesis.put_record(stream_name=stream_name, data=data, partition_key=key, explicit_hash_key=hash_key)
