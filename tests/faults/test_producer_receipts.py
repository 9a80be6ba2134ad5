"""A receipt speaks asyncio's future protocol: await, wait, gather, wait_for, shield, callbacks, cancel."""

from __future__ import annotations

import asyncio
import sys

import pytest

import aiokinesis
from aiokinesis.testing import KinesisServer
from tests.faults.test_producer import FAST, stored


async def test_a_receipt_works_wherever_asyncio_takes_a_future(kinesis: aiokinesis.Client) -> None:
    async with kinesis.producer("s", config=FAST) as producer:
        receipts = [await producer.put(f"v{i}".encode(), partition_key=f"k{i}") for i in range(6)]
        assert all(isinstance(r, aiokinesis.Receipt) and asyncio.isfuture(r) for r in receipts)
        assert not receipts[0].done()
        with pytest.raises(asyncio.InvalidStateError):
            receipts[0].result()
        seen: list[aiokinesis.Receipt] = []
        receipts[1].add_done_callback(seen.append)
        removed = receipts[2].add_done_callback, receipts[2].remove_done_callback
        removed[0](seen.append)
        assert removed[1](seen.append) == 1
        done, pending = await asyncio.wait(receipts[:2])  # type: ignore[type-var]  # typeshed wants Futures
        assert done == set(receipts[:2])
        assert not pending
        first = await receipts[0]
        gathered = await asyncio.gather(receipts[2], receipts[3])
        waited = await asyncio.wait_for(receipts[4], timeout=60)
        shielded = await asyncio.shield(receipts[5])
        await asyncio.sleep(0)  # callbacks run on the loop, as a future's do
    assert seen == [receipts[1]]
    assert first == receipts[0].result()
    assert receipts[0].result() is receipts[0].result()  # made once, on first read
    assert receipts[0].exception() is None
    assert [first.shard_id, *(r.shard_id for r in gathered), waited.shard_id, shielded.shard_id] == [
        r.result().shard_id for r in receipts if r is not receipts[1]
    ]


async def test_a_failed_receipt_raises_its_error_when_awaited(kinesis: aiokinesis.Client) -> None:
    async with kinesis.producer("s", config=FAST) as producer:
        [receipt] = await producer.put_many([(b"x", "")])
    with pytest.raises(aiokinesis.ParamValidationError):
        await receipt
    assert isinstance(receipt.exception(), aiokinesis.ParamValidationError)
    results = await asyncio.gather(receipt, return_exceptions=True)
    assert list(results) == [receipt.exception()]


async def test_cancelling_a_receipt_stops_the_wait_not_the_record(
    server: KinesisServer, kinesis: aiokinesis.Client
) -> None:
    async with kinesis.producer("s", config=FAST) as producer:
        receipt = await producer.put(b"kept", partition_key="k")
        waiter = asyncio.ensure_future(asyncio.wait_for(receipt, timeout=60))
        await asyncio.sleep(0)
        assert receipt.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
    assert receipt.cancelled()
    assert not receipt.cancel()  # once
    with pytest.raises(asyncio.CancelledError):
        receipt.result()
    assert [data for _, _, data, _ in stored(server)] == [b"kept"]
    assert producer.stats.records_put == 1


async def test_a_resolved_receipt_lets_go_of_the_records_data(kinesis: aiokinesis.Client) -> None:
    data = b"held only by this test " + bytes(1000)
    before = sys.getrefcount(data)
    async with kinesis.producer("s", config=FAST) as producer:
        receipt = await producer.put(data, partition_key="k")
        assert sys.getrefcount(data) > before  # buffered: the producer holds it
    assert receipt.result().attempts == 1
    assert sys.getrefcount(data) == before  # a caller keeping receipts keeps no record's bytes
