"""Large records end to end against kinesis-mock (tests/faults/test_producer_large.py does the same
against aiokinesis.testing): put through the producer, read back byte-identical and in order by
the reader and the consumer.

kinesis-mock stores 10 MiB records but answers HTTP 500 to a GetRecords that would return one
(measured: 8 MiB reads fine), so the largest record here is 8 MiB; 10 MiB pages are read on
virtual time in tests/unit/test_reader_large.py.

kinesis-mock's time per large request grows with the machine's load: on a busy 2-core machine (load
~14) an 8 MiB PutRecords took 63 s and the GetRecords returning it 29 s, past the default 30 s read
timeout. The producer then rightly sent the record again (no answer says nothing of whether it
landed: a duplicate on the shard, which failed the comparison), and a reader asked for the page
again until the test's guard ran out. Timeouts are not what these tests are about: the client waits
for each answer as long as the one guard around the test, so every request is sent once and answered.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator

import pytest

import aiokinesis
from aiokinesis import ProducerConfig, StartingPosition
from tests.conftest import LOCAL_KEYS, create_active_stream

pytestmark = pytest.mark.integration
MIB = 1024 * 1024
SIZES = [100, MIB + 1, 10, 2 * MIB, 8 * MIB, 20]
# kinesis-mock never throttles: the readers need not wait out a shard's 2 MiB/s read limit.
READER = aiokinesis.ReaderConfig(min_interval=0.05, idle_interval=0.05, read_bytes_per_second=100 * MIB, limit=1)
GUARD = 900.0
"""Seconds a test may take at most (a hang guard), and each request's answer."""


@pytest.fixture
async def kinesis(kinesis_mock_url: str) -> AsyncIterator[aiokinesis.Client]:
    http = aiokinesis.HttpConfig(read_timeout=GUARD)
    async with aiokinesis.Client(endpoint_url=kinesis_mock_url, http=http, **LOCAL_KEYS) as client:
        yield client


def payload(i: int, size: int) -> bytes:
    return (bytes([i]) + hashlib.sha256(str(i).encode()).digest()) * (size // 33) + b"x" * (size % 33)


async def test_large_records_through_producer_reader_and_consumer(kinesis: aiokinesis.Client, stream_name: str) -> None:
    async with asyncio.timeout(GUARD):
        arn = await create_active_stream(kinesis, stream_name)
        await kinesis.update_max_record_size(stream_arn=arn, max_record_size_in_ki_b=10240)
        await kinesis.wait.stream_exists(stream_arn=arn, delay=0.05, max_wait=30)
        records = [payload(i, size) for i, size in enumerate(SIZES)]
        # Nor is the records' time to live: a large PutRecords takes kinesis-mock up to a minute here.
        config = ProducerConfig(linger=0.01, rate_limit=0, record_ttl=GUARD)
        async with kinesis.producer(stream_name, config=config) as producer:
            assert producer.max_record_bytes == 10 * MIB
            with pytest.raises(aiokinesis.ParamValidationError, match="maximum record size of 10485760"):
                await producer.put(b"x" * (10 * MIB), partition_key="k")
            receipts = [await producer.put(data, partition_key="k") for data in records]
            results = [await receipt for receipt in receipts]
        assert len({r.shard_id for r in results}) == 1
        assert [r.attempts for r in results] == [1] * len(records)  # sent once each: no duplicates on the shard
        expected = [hashlib.sha256(data).hexdigest() for data in records]

        read: list[str] = []
        async for record in kinesis.read_shard(
            stream_name, results[0].shard_id, start=StartingPosition.trim_horizon(), config=READER
        ):
            read.append(hashlib.sha256(record.data).hexdigest())
            if len(read) == len(records):
                break
        assert read == expected

        consumed: list[str] = []
        async with kinesis.consumer(
            stream_name, start=StartingPosition.trim_horizon(), config=aiokinesis.ConsumerConfig(reader=READER)
        ) as consumer:
            async for batch in consumer:
                consumed += [hashlib.sha256(r.data).hexdigest() for r in batch.records]
                if len(consumed) >= len(records):
                    break
        assert consumed == expected


async def test_a_keyless_put_on_a_stream_routed_by_key_is_refused(kinesis: aiokinesis.Client, stream_name: str) -> None:
    # The client sends what the model allows (no PartitionKey); the server's refusal surfaces as
    # a ServiceError (kinesis-mock: SerializationException, HTTP 400), nothing swallowed.
    await create_active_stream(kinesis, stream_name)
    with pytest.raises(aiokinesis.ServiceError) as caught:
        await kinesis.put_record(stream_name=stream_name, data=b"no key")
    assert caught.value.status == 400
    async with kinesis.producer(stream_name) as producer:
        with pytest.raises(aiokinesis.ParamValidationError, match="partition_key"):
            await producer.put(b"no key")
