"""put_many() against aiokinesis.testing: a receipt per record, bad records failed alone by index."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

import aiokinesis
from aiokinesis import ProducerConfig
from aiokinesis.testing import KinesisServer
from tests.faults.test_producer import FAST, assert_key_order, stored


async def test_every_record_lands_once_and_its_receipt_says_where(
    server: KinesisServer, kinesis: aiokinesis.Client
) -> None:
    records = [(f"v{i}".encode(), f"key-{i % 50}") for i in range(1500)]
    async with kinesis.producer("s", config=FAST) as producer:
        receipts = await producer.put_many(records[:700])
        receipts += await producer.put_many(iter(records[700:]))  # any iterable
    assert len(receipts) == 1500
    results = [receipt.result() for receipt in receipts]
    held = {data: (shard, seq) for shard, seq, data, _ in stored(server)}
    assert len(held) == 1500 == len(stored(server))  # each once
    for (data, _), result in zip(records, results, strict=True):
        assert held[data] == (result.shard_id, result.sequence_number)
        assert result.attempts == 1
        assert result.sub_sequence_number is None
    assert_key_order(stored(server))
    assert producer.stats.records_put == 1500


async def test_a_key_keeps_its_order_across_put_and_put_many(server: KinesisServer, kinesis: aiokinesis.Client) -> None:
    async with kinesis.producer("s", config=FAST) as producer:
        for n in range(0, 600, 30):
            await producer.put(f"v{n}".encode(), partition_key="one")
            await producer.put_many([(f"v{i}".encode(), "one") for i in range(n + 1, n + 30)])
    assert [data for _, _, data, _ in sorted(stored(server), key=lambda r: int(r[1]))] == [
        f"v{i}".encode() for i in range(600)
    ]


async def test_a_bad_record_fails_its_own_receipt_by_index_and_field_and_the_others_land(
    server: KinesisServer, kinesis: aiokinesis.Client
) -> None:
    bad: list[object] = [
        (b"a", ""),  # 1: key too short
        ("text", "k"),  # 3: data not bytes
        [b"a", "k"],  # 5: not a tuple
        (b"a", "k", None, None),  # 7: four fields
        (b"a", "k", "007"),  # 9: a hash key with a leading zero
        (b"a", 42),  # 11: key not a str
        (b"x" * (1024 * 1024), "k"),  # 13: above the stream's 1 MiB with its key
    ]
    records = []
    for n, record in enumerate(bad):
        records += [(f"good-{n}".encode(), f"k{n}"), record]
    fields = [
        "records[1].partition_key",
        "records[3].data",
        "records[5]",
        "records[7]",
        "records[9].explicit_hash_key",
        "records[11].partition_key",
        "records[13].data",
    ]
    async with kinesis.producer("s", config=FAST) as producer:
        receipts = await producer.put_many(records)  # type: ignore[arg-type]
        failed = {i: r for i, r in enumerate(receipts) if i % 2}
        for index, receipt in failed.items():  # failed at once, before anything was sent
            assert receipt.done(), index
        errors = [failed[i].exception() for i in sorted(failed)]
    assert all(isinstance(e, aiokinesis.ParamValidationError) for e in errors)
    assert [e.field for e in errors if isinstance(e, aiokinesis.ParamValidationError)] == fields
    assert "1048577 bytes with its partition key" in str(errors[-1])
    assert "must be a (data, partition_key) or (data, partition_key, explicit_hash_key) tuple, not list" in str(
        errors[2]
    )
    assert sorted(data for _, _, data, _ in stored(server)) == sorted(f"good-{n}".encode() for n in range(len(bad)))
    assert all(receipts[i].result().shard_id for i in range(0, len(records), 2))
    assert (producer.stats.records_put, producer.stats.failed) == (len(bad), 0)  # refused, not failed in flight


@pytest.mark.parametrize("records", [b"not records", "text", None, 5], ids=["bytes", "str", "None", "int"])
async def test_records_that_are_no_iterable_of_records_are_refused_whole(
    records: object, kinesis: aiokinesis.Client
) -> None:
    async with kinesis.producer("s", config=FAST) as producer:
        with pytest.raises(aiokinesis.ParamValidationError) as caught:
            await producer.put_many(records)  # type: ignore[arg-type]
    assert caught.value.field == "records"
    assert f"not {type(records).__name__}" in caught.value.problem


async def test_an_iterator_that_raises_admits_no_record(server: KinesisServer, kinesis: aiokinesis.Client) -> None:
    """Drawn lazily, the records admitted before a wait for room went out with no receipt to
    tell the caller, whose put_many raised."""

    def records() -> Iterator[tuple[bytes, str]]:
        yield from ((f"v{i}".encode(), "k") for i in range(5))
        raise RuntimeError("the caller's source failed")

    config = ProducerConfig(linger=0.001, max_buffered_records=2)
    async with kinesis.producer("s", config=config) as producer:
        with pytest.raises(RuntimeError, match="source failed"):
            await producer.put_many(records())
        assert producer.stats.buffered_records == 0
    assert stored(server) == []
    assert producer.stats.records_put == 0


async def test_with_when_full_raise_the_records_that_find_no_room_fail_theirs(
    server: KinesisServer, kinesis: aiokinesis.Client
) -> None:
    config = ProducerConfig(linger=5, max_buffered_records=5, when_full="raise")
    async with kinesis.producer("s", config=config) as producer:
        receipts = await producer.put_many([(f"v{i}".encode(), "k") for i in range(8)])
        assert producer.stats.buffered_records == 5
        assert [r.done() for r in receipts] == [False] * 5 + [True] * 3
        assert all(isinstance(r.exception(), aiokinesis.BufferFullError) for r in receipts[5:])
    assert [data for _, _, data, _ in stored(server)] == [f"v{i}".encode() for i in range(5)]


async def test_with_when_full_wait_put_many_waits_for_room_and_keeps_the_order(
    server: KinesisServer, kinesis: aiokinesis.Client
) -> None:
    config = ProducerConfig(linger=0.001, max_buffered_records=7, max_buffered_bytes=64)
    async with kinesis.producer("s", config=config) as producer:
        receipts = await producer.put_many([(f"v{i:03d}".encode(), "k") for i in range(100)])
        assert producer.stats.buffered_records <= 7
    assert all(r.result().attempts == 1 for r in receipts)
    assert [data for _, _, data, _ in stored(server)] == [f"v{i:03d}".encode() for i in range(100)]


async def test_put_many_after_close_raises(kinesis: aiokinesis.Client) -> None:
    async with kinesis.producer("s", config=FAST) as producer:
        pass
    with pytest.raises(aiokinesis.ProducerClosedError):
        await producer.put_many([(b"late", "k")])


async def test_records_not_yet_admitted_when_the_producer_closes_fail_with_producer_closed(
    server: KinesisServer, kinesis: aiokinesis.Client
) -> None:
    config = ProducerConfig(linger=5, max_buffered_records=2)
    async with kinesis.producer("s", config=config) as producer:
        putting = asyncio.create_task(producer.put_many([(f"v{i}".encode(), "k") for i in range(4)]))
        for _ in range(10):
            await asyncio.sleep(0)
        assert not putting.done()  # two admitted, waiting for room for the third
    receipts = await putting
    assert [r.result().attempts for r in receipts[:2]] == [1, 1]
    assert all(isinstance(r.exception(), aiokinesis.ProducerClosedError) for r in receipts[2:])
    assert [data for _, _, data, _ in stored(server)] == [b"v0", b"v1"]
