"""What put() accepts, against aiokinesis.testing: any bytes-like record lands as its bytes, and a
bad record is refused alone with a ParamValidationError naming its field, before anything is sent."""

from __future__ import annotations

from array import array
from typing import Any

import pytest

import aiokinesis
from aiokinesis import ProducerConfig, StartingPosition
from aiokinesis.testing import KinesisServer

FAST = ProducerConfig(linger=0.005, retry_base_delay=0.002, retry_max_delay=0.02)
TOP = 2**128 - 1


async def read_back(kinesis: aiokinesis.Client, result: aiokinesis.PutResult) -> list[aiokinesis.ShardRecord]:
    """The user records of the Kinesis record a receipt points at, as a reader sees them."""
    start = StartingPosition.at_sequence_number(result.sequence_number)
    batch = await kinesis.read_shard("s", result.shard_id, start=start).next_batch()
    assert batch is not None
    return [r for r in batch.records if r.sequence_number == result.sequence_number]


def views() -> list[tuple[str, Any]]:
    return [
        ("items of two bytes", memoryview(array("H", [1, 2, 0xFFFF, 0x0102]))),
        ("items of eight bytes", memoryview(array("d", [1.5, -2.25]))),
        ("not contiguous", memoryview(b"abcdefghij")[::3]),
        ("two dimensions", memoryview(bytes(range(12))).cast("B", (3, 4))),
        ("a bytearray", bytearray(b"mutable")),
    ]


@pytest.mark.parametrize("aggregate", [False, True], ids=["plain", "aggregated"])
async def test_buffers_land_as_their_bytes(aggregate: bool, kinesis: aiokinesis.Client) -> None:
    records = [("before", b"plain-before"), *views(), ("after", b"plain-after")]
    async with kinesis.producer("s", config=FAST, aggregate=aggregate) as producer:
        # One key: with aggregation every record goes into one aggregate.
        receipts = [await producer.put(data, partition_key="one-key") for _, data in records]
    results = [receipt.result() for receipt in receipts]
    if aggregate:
        assert len({r.sequence_number for r in results}) == 1
    for (name, data), result in zip(records, results, strict=True):
        expected = bytes(data)
        got = await read_back(kinesis, result)
        mine = got[result.sub_sequence_number or 0]
        assert mine.data == expected, name
        assert mine.aggregated is aggregate, name
    assert producer.stats.bytes_put == sum(len(bytes(d)) + len("one-key") for _, d in records)


async def test_a_buffer_is_copied_when_put(kinesis: aiokinesis.Client) -> None:
    data = bytearray(b"as put")
    async with kinesis.producer("s", config=ProducerConfig(linger=20)) as producer:
        receipt = await producer.put(data, partition_key="k")
        data[:] = b"changed afterwards"
    [record] = await read_back(kinesis, receipt.result())
    assert record.data == b"as put"


@pytest.mark.parametrize("aggregate", [False, True], ids=["plain", "aggregated"])
async def test_a_view_too_large_in_bytes_is_refused_alone(
    aggregate: bool, server: KinesisServer, kinesis: aiokinesis.Client
) -> None:
    wide = memoryview(array("H", bytes(1024 * 1024)))  # 524,288 items: 1 MiB of bytes
    async with kinesis.producer("s", config=FAST, aggregate=aggregate) as producer:
        good = [await producer.put(b"good-1", partition_key="k")]
        with pytest.raises(aiokinesis.ParamValidationError, match="maximum record size of 1048576") as refused:
            await producer.put(wide, partition_key="k")
        good.append(await producer.put(b"good-2", partition_key="k"))
    assert refused.value.field == "data"
    assert [r.result().sequence_number for r in good]  # the good records of the same batch landed
    assert producer.stats.failed == 0


def released() -> memoryview:
    view = memoryview(b"gone")
    view.release()
    return view


BAD: list[tuple[str, dict[str, Any], str]] = [
    ("data released view", {"data": released()}, "data"),
    ("data str", {"data": "text"}, "data"),
    ("data None", {"data": None}, "data"),
    ("data int", {"data": 7}, "data"),
    ("data list", {"data": [1, 2]}, "data"),
    ("key None", {"partition_key": None}, "partition_key"),
    ("key bytes", {"partition_key": b"k"}, "partition_key"),
    ("key int", {"partition_key": 5}, "partition_key"),
    ("key empty", {"partition_key": ""}, "partition_key"),
    ("key 257", {"partition_key": "k" * 257}, "partition_key"),
    ("key of 258 UTF-16 code units", {"partition_key": "\U0001f600" * 129}, "partition_key"),
    ("key lone surrogate", {"partition_key": "k\ud800"}, "partition_key"),
    ("key lone low surrogate", {"partition_key": "\udfff"}, "partition_key"),
    ("hash int", {"explicit_hash_key": 5}, "explicit_hash_key"),
    ("hash bytes", {"explicit_hash_key": b"5"}, "explicit_hash_key"),
    ("hash negative", {"explicit_hash_key": "-1"}, "explicit_hash_key"),
    ("hash 2**128", {"explicit_hash_key": str(2**128)}, "explicit_hash_key"),
    ("hash 40 digits", {"explicit_hash_key": "1" * 40}, "explicit_hash_key"),
    ("hash leading zeros", {"explicit_hash_key": "007"}, "explicit_hash_key"),
    ("hash 00", {"explicit_hash_key": "00"}, "explicit_hash_key"),
    ("hash empty", {"explicit_hash_key": ""}, "explicit_hash_key"),
    ("hash decimal point", {"explicit_hash_key": "1.5"}, "explicit_hash_key"),
    ("hash spaces", {"explicit_hash_key": " 1"}, "explicit_hash_key"),
    ("hash newline", {"explicit_hash_key": "1\n"}, "explicit_hash_key"),
    ("hash arabic digits", {"explicit_hash_key": "\u0661\u0662"}, "explicit_hash_key"),
    ("hash fullwidth digits", {"explicit_hash_key": "\uff11"}, "explicit_hash_key"),
]


@pytest.mark.parametrize("aggregate", [False, True], ids=["plain", "aggregated"])
async def test_each_bad_record_is_refused_alone_naming_its_field(
    aggregate: bool, server: KinesisServer, kinesis: aiokinesis.Client
) -> None:
    async with kinesis.producer("s", config=FAST, aggregate=aggregate) as producer:
        good = [await producer.put(b"good-first", partition_key="k")]
        for name, bad, field in BAD:
            record: dict[str, Any] = {"data": b"bad", "partition_key": "k", **bad}
            with pytest.raises(aiokinesis.ParamValidationError) as refused:
                await producer.put(record.pop("data"), **record)
            assert refused.value.field == field, name
            good.append(await producer.put(f"good-after-{name}".encode(), partition_key="k"))
    assert all(r.result().sequence_number for r in good)
    stored = sorted(r.data for shard in server.backend.streams["s"].shards for r in shard.records)
    if not aggregate:
        assert stored == sorted([b"good-first", *(f"good-after-{name}".encode() for name, _, _ in BAD)])
    assert producer.stats.records_put == len(good)
    assert producer.stats.failed == 0


@pytest.mark.parametrize("key", ["\U0001f600" * 128, "\U0001f600" * 127 + "kk", "\u4e2d" * 256, "k" * 256])
async def test_keys_of_256_utf_16_code_units_land(key: str, kinesis: aiokinesis.Client) -> None:
    async with kinesis.producer("s", config=FAST) as producer:
        receipt = await producer.put(b"x", partition_key=key)
    [record] = await read_back(kinesis, receipt.result())
    assert record.partition_key == key


@pytest.mark.parametrize(("hash_key", "shard"), [("0", "shardId-000000000000"), (str(TOP), "shardId-000000000003")])
async def test_explicit_hash_keys_at_the_ends_of_the_range_land(
    hash_key: str, shard: str, kinesis: aiokinesis.Client
) -> None:
    async with kinesis.producer("s", config=FAST) as producer:
        receipt = await producer.put(b"x", partition_key="k", explicit_hash_key=hash_key)
    assert receipt.result().shard_id == shard
