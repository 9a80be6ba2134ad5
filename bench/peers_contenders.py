"""The peers users would pick instead of aiokinesis, each used as its documentation shows.

Default settings everywhere; what a peer had to be given to run at all is said where it is
given (and in bench/README.md). Each function imports only its own library, so a worker
process holds one contender and runs in that contender's venv (bench/peers.sh).
"""

# ruff: noqa: PLC0415  (each adapter imports its own library, and only it)

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from contenders import BATCH, ITERATOR, KEYS, RECORD, REGION, STREAM, AsyncCall, Timed, _poll_every_second

# The stub's records and the producers' records: the 100 bytes of a JSON string, which
# async-kinesis's default JsonProcessor can decode (json.loads gives a 98-character str).
JSON_RECORD = b'"' + b"x" * 98 + b'"'


@contextlib.asynccontextmanager
async def capo_calls(endpoint: str, workload: str) -> AsyncIterator[AsyncCall]:
    """capo-kinesis 0.11: TypedDict requests and responses; its pool's default (10 connections a host)."""
    from capo_kinesis import AsyncKinesisClient

    credentials = {"access_key": KEYS["aws_access_key_id"], "secret_key": KEYS["aws_secret_access_key"]}
    async with AsyncKinesisClient(region=REGION, endpoint=endpoint, credentials=credentials) as client:  # type: ignore[arg-type]

        async def put_records() -> int:
            out = await client.put_records(
                records=[{"data": d, "partition_key": k} for d, k in BATCH], stream_name=STREAM
            )
            return len(out["records"])

        async def get_records() -> int:
            out = await client.get_records(shard_iterator=ITERATOR)
            return len(out["records"])

        async def put_record() -> int:
            await client.put_record(data=RECORD, stream_name=STREAM, partition_key="pk")
            return 1

        yield {"put_records": put_records, "get_records": get_records, "put_record": put_record}[workload]


def _environment_credentials() -> None:
    """async-kinesis takes credentials only from botocore's chain: the environment, as its README says."""
    os.environ["AWS_ACCESS_KEY_ID"] = KEYS["aws_access_key_id"]
    os.environ["AWS_SECRET_ACCESS_KEY"] = KEYS["aws_secret_access_key"]


async def async_kinesis_produce(endpoint: str, records: int) -> Timed:
    """async-kinesis 3.0: `Producer.put(obj)` (default JsonProcessor: a 98-character str is 100 bytes).

    `put` queues and returns: there is no per-record result. Timing ends when the context
    manager's exit has flushed every queued record.
    """
    from kinesis import Producer

    _environment_credentials()
    item = JSON_RECORD.decode()[1:-1]
    keys = [f"pk-{i % 10000}" for i in range(records)]
    producer = Producer(stream_name=STREAM, endpoint_url=endpoint, region_name=REGION)
    await producer.__aenter__()  # DescribeStream, shards counted for its pacing: set-up, not timed
    cpu, wall = time.process_time(), time.perf_counter()
    for key in keys:
        await producer.put(item, partition_key=key)
    await producer.__aexit__(None, None, None)
    return records, time.process_time() - cpu, time.perf_counter() - wall


async def async_kinesis_consume(endpoint: str, records: int) -> Timed:
    """async-kinesis 3.0: `async for item in consumer`, default JsonProcessor and fetch rate."""
    from kinesis import Consumer

    _environment_credentials()
    got = 0
    cpu, wall = time.process_time(), time.perf_counter()
    async with Consumer(stream_name=STREAM, endpoint_url=endpoint, region_name=REGION) as consumer:
        async for item in consumer:
            got += len(item) > 0
            if got >= records:
                break
    return got, time.process_time() - cpu, time.perf_counter() - wall


async def aiokpl_produce(endpoint: str, records: int) -> Timed:
    """aiokpl 0.2: `await producer.put_record(...)` gives an Outcome; every Outcome is awaited.

    Default Config (aggregation on, 100 ms buffering). It predicts each record's shard from
    ListShards and treats a PutRecords result naming another shard as a wrong-shard retry;
    the stub names shardId-000000000000 for every record, so aiokpl gets a one-shard stub.
    """
    from aiokpl import Config, Producer

    config = Config(
        region=REGION,
        endpoint_url=endpoint,
        aws_access_key_id=KEYS["aws_access_key_id"],
        aws_secret_access_key=KEYS["aws_secret_access_key"],
    )
    keys = [f"pk-{i % 10000}" for i in range(records)]
    async with Producer(config) as producer:
        first = await producer.put_record(stream=STREAM, partition_key="warm-up", data=RECORD)
        await producer.flush()
        await first.wait()  # pipeline built (ListShards, client): set-up, not timed
        cpu, wall = time.process_time(), time.perf_counter()
        outcomes = [await producer.put_record(stream=STREAM, partition_key=key, data=RECORD) for key in keys]
        await producer.flush()
        done = 0
        for outcome in outcomes:
            done += (await outcome.wait()).success
        return done, time.process_time() - cpu, time.perf_counter() - wall


async def aiokinesis_produce_default(endpoint: str, records: int) -> Timed:
    """aiokinesis's producer at its default ProducerConfig (pacing on), a receipt per record awaited."""
    import aiokinesis

    keys = [f"pk-{i % 10000}" for i in range(records)]
    async with aiokinesis.Client(endpoint_url=endpoint, region=REGION, **KEYS) as client:
        producer = client.producer(STREAM)
        await producer.__aenter__()
        cpu, wall = time.process_time(), time.perf_counter()
        receipts = [await producer.put(RECORD, partition_key=key) for key in keys]
        await producer.aclose()
        done = sum(1 for receipt in receipts if receipt.result().sequence_number)
        return done, time.process_time() - cpu, time.perf_counter() - wall


async def aiokinesis_consume_default(endpoint: str, records: int) -> Timed:
    """aiokinesis's consumer at its default ConsumerConfig (reads paced as AWS allows) from TRIM_HORIZON."""
    import aiokinesis

    got = 0
    start = aiokinesis.StartingPosition.trim_horizon()
    async with aiokinesis.Client(endpoint_url=endpoint, region=REGION, **KEYS) as client:
        cpu, wall = time.process_time(), time.perf_counter()
        async with client.consumer(STREAM, start=start) as consumer:
            async for batch in consumer:
                for record in batch:
                    got += len(record.data) > 0
                if got >= records:
                    break
        return got, time.process_time() - cpu, time.perf_counter() - wall


async def fan_in_floor_signing_each(name: str, endpoint: str, shards: int, seconds: float) -> None:
    """bench/contenders.py's fan-in floor signs its headers once; this one signs every call, with
    aiokinesis's own SigV4 signer (hashlib and hmac, nothing cached but the day's key), and sends
    each shard's body serialized anew, as any client must."""
    import aiohttp
    import orjson

    from aiokinesis._signing import FrozenCredentials, SigV4Signer

    signer = SigV4Signer(REGION)
    creds = FrozenCredentials(KEYS["aws_access_key_id"], KEYS["aws_secret_access_key"], None)
    host = endpoint.removeprefix("http://")
    target = "Kinesis_20131202.GetRecords"
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100)) as http:

        async def poll(shard_id: str) -> None:
            body = orjson.dumps({"ShardIterator": ITERATOR})
            headers = signer.headers(host, target, body, creds, time.time())
            async with http.post(endpoint + "/", data=body, headers=headers) as response:
                orjson.loads(await response.read())

        await _poll_every_second([f"shardId-{n:012d}" for n in range(shards)], poll, seconds)


def frozen(run: Callable[[str, int], Awaitable[Timed]]) -> Callable[[str, int], Awaitable[Timed]]:
    """`run` after gc.freeze(): what is alive at start-up (imported modules, the client) is never
    scanned again by the collector; the figure that tuning buys (Python's docs suggest it)."""

    async def after_freeze(endpoint: str, records: int) -> Timed:
        gc.freeze()
        return await run(endpoint, records)

    return after_freeze


async def cold_put_record(name: str, endpoint: str) -> None:
    """Import, make a client, one PutRecord: what a fresh process (a Lambda cold start) pays.

    `none` imports nothing and runs an empty loop: the interpreter's and this harness's share.
    """
    if name == "none":
        pass
    elif name == "aiokinesis":
        import aiokinesis

        async with aiokinesis.Client(endpoint_url=endpoint, region=REGION, **KEYS) as client:
            await client.put_record(stream_name=STREAM, data=RECORD, partition_key="pk")
    elif name == "aiobotocore":
        from aiobotocore.session import get_session

        async with get_session().create_client(
            "kinesis", region_name=REGION, endpoint_url=endpoint, **KEYS
        ) as botocore_client:
            await botocore_client.put_record(StreamName=STREAM, Data=RECORD, PartitionKey="pk")
    else:
        from capo_kinesis import AsyncKinesisClient

        credentials = {"access_key": KEYS["aws_access_key_id"], "secret_key": KEYS["aws_secret_access_key"]}
        async with AsyncKinesisClient(region=REGION, endpoint=endpoint, credentials=credentials) as capo:  # type: ignore[arg-type]
            await capo.put_record(data=RECORD, stream_name=STREAM, partition_key="pk")
    await asyncio.sleep(0)


IMPORTS = {"aiokinesis": "aiokinesis", "aiobotocore": "aiobotocore.session", "capo": "capo_kinesis"}
