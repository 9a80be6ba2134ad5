"""The clients compared, each doing the same work per call against the stub.

Every contender builds its request from the same raw (bytes, key) tuples on each call
and, for GetRecords, hands back records with data as bytes and timestamps as datetimes,
so the CPU measured is what a user of each client pays.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

RECORD = bytes(range(100))
BATCH = [(RECORD, f"pk-{i}") for i in range(500)]
ITERATOR = "AAAAAAAAAAF" + "x" * 200
STREAM = "bench"
KEYS = {"aws_access_key_id": "AKIDBENCH", "aws_secret_access_key": "bench-secret"}
REGION = "us-east-1"

AsyncCall = Callable[[], Any]  # a coroutine function returning the records it handled


@contextlib.asynccontextmanager
async def aiokinesis_calls(endpoint: str, workload: str, connections: int) -> AsyncIterator[AsyncCall]:
    import aiokinesis

    async with aiokinesis.Client(
        endpoint_url=endpoint, region=REGION, http=aiokinesis.HttpConfig(max_connections=connections), **KEYS
    ) as client:
        entry = aiokinesis.PutRecordsRequestEntry

        async def put_records() -> int:
            out = await client.put_records(
                stream_name=STREAM, records=[entry(data=d, partition_key=k) for d, k in BATCH]
            )
            return len(out.records)

        async def get_records() -> int:
            out = await client.get_records(shard_iterator=ITERATOR)
            return len(out.records)

        async def put_record() -> int:
            await client.put_record(stream_name=STREAM, data=RECORD, partition_key="pk")
            return 1

        yield {"put_records": put_records, "get_records": get_records, "put_record": put_record}[workload]


@contextlib.asynccontextmanager
async def aiobotocore_calls(endpoint: str, workload: str, connections: int) -> AsyncIterator[AsyncCall]:
    from aiobotocore.config import AioConfig
    from aiobotocore.session import get_session

    config = AioConfig(max_pool_connections=connections)
    async with get_session().create_client(
        "kinesis", region_name=REGION, endpoint_url=endpoint, config=config, **KEYS
    ) as client:

        async def put_records() -> int:
            out = await client.put_records(
                StreamName=STREAM, Records=[{"Data": d, "PartitionKey": k} for d, k in BATCH]
            )
            return len(out["Records"])

        async def get_records() -> int:
            out = await client.get_records(ShardIterator=ITERATOR)
            return len(out["Records"])

        async def put_record() -> int:
            await client.put_record(StreamName=STREAM, Data=RECORD, PartitionKey="pk")
            return 1

        yield {"put_records": put_records, "get_records": get_records, "put_record": put_record}[workload]


def _floor_request(workload: str) -> tuple[str, dict[str, Any]]:
    if workload == "put_records":
        records = [{"Data": base64.b64encode(d).decode(), "PartitionKey": k} for d, k in BATCH]
        return "PutRecords", {"StreamName": STREAM, "Records": records}
    if workload == "get_records":
        return "GetRecords", {"ShardIterator": ITERATOR}
    return "PutRecord", {"StreamName": STREAM, "Data": base64.b64encode(RECORD).decode(), "PartitionKey": "pk"}


def _botocore_signed_headers(endpoint: str, target: str, body: bytes) -> dict[str, str]:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(
        method="POST",
        url=endpoint + "/",
        data=body,
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"Kinesis_20131202.{target}"},
    )
    SigV4Auth(Credentials(KEYS["aws_access_key_id"], KEYS["aws_secret_access_key"]), "kinesis", REGION).add_auth(
        request
    )
    return dict(request.headers.items())


@contextlib.asynccontextmanager
async def floor_calls(endpoint: str, workload: str, connections: int, *, sign_each: bool) -> AsyncIterator[AsyncCall]:
    """The least a client can do: one aiohttp POST, orjson, stdlib base64, botocore SigV4."""
    import aiohttp
    import orjson

    url = endpoint + "/"
    operation, _ = _floor_request(workload)
    reused = _botocore_signed_headers(endpoint, operation, orjson.dumps(_floor_request(workload)[1]))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections)) as http:

        async def call() -> int:
            target, request = _floor_request(workload)
            body = orjson.dumps(request)
            headers = _botocore_signed_headers(endpoint, target, body) if sign_each else reused
            async with http.post(url, data=body, headers=headers) as response:
                doc = orjson.loads(await response.read())
            if workload == "get_records":
                decoded = [
                    (
                        base64.b64decode(r["Data"]),
                        datetime.fromtimestamp(r["ApproximateArrivalTimestamp"], UTC),
                        r["SequenceNumber"],
                        r["PartitionKey"],
                    )
                    for r in doc["Records"]
                ]
                return len(decoded)
            return len(doc.get("Records", ())) or 1

        yield call


SyncCall = Callable[[], int]


@contextlib.contextmanager
def boto3_calls(endpoint: str, workload: str, connections: int) -> Iterator[SyncCall]:
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "kinesis", region_name=REGION, endpoint_url=endpoint, config=Config(max_pool_connections=connections), **KEYS
    )

    def put_records() -> int:
        out = client.put_records(StreamName=STREAM, Records=[{"Data": d, "PartitionKey": k} for d, k in BATCH])
        return len(out["Records"])

    def get_records() -> int:
        return len(client.get_records(ShardIterator=ITERATOR)["Records"])

    def put_record() -> int:
        client.put_record(StreamName=STREAM, Data=RECORD, PartitionKey="pk")
        return 1

    try:
        yield {"put_records": put_records, "get_records": get_records, "put_record": put_record}[workload]
    finally:
        client.close()


IMPORTS = {
    "aiokinesis": "aiokinesis",
    "aiobotocore": "aiobotocore.session",
    "boto3": "boto3",
}


# -- producer, consumer and fan-in (whole-run workloads) --------------------------------------


Timed = tuple[int, float, float]  # records moved, CPU seconds, wall seconds: set-up excluded


async def aiokinesis_produce(endpoint: str, records: int) -> Timed:
    """Push `records` 100-byte records through the producer; the stub takes every PutRecords."""
    import aiokinesis

    # The stub has no shard limits to keep under: pacing off; 10,000 keys, ordering on.
    config = aiokinesis.ProducerConfig(rate_limit=0, linger=0.01)
    keys = [f"pk-{i % 10000}" for i in range(records)]
    async with aiokinesis.Client(endpoint_url=endpoint, region=REGION, **KEYS) as client:
        producer = client.producer(STREAM, config=config)
        await producer.__aenter__()
        cpu, wall = time.process_time(), time.perf_counter()
        for key in keys:
            await producer.put(RECORD, partition_key=key)
        await producer.aclose()  # every receipt resolved
        return producer.stats.records_put, time.process_time() - cpu, time.perf_counter() - wall


async def aiokinesis_consume(endpoint: str, records: int, *, arrivals: bool = False) -> Timed:
    """Read `records` records of the stub's 4 shards through the public consumer iterator; with
    `arrivals`, every record's arrival time is read too (a ShardRecord makes it on first read)."""
    import aiokinesis

    # No pacing: the stub has no read limits, and the figure wanted is CPU per record.
    reader = aiokinesis.ReaderConfig(min_interval=0, read_bytes_per_second=1e15, idle_interval=0.01)
    start = aiokinesis.StartingPosition.trim_horizon()
    got = 0
    async with aiokinesis.Client(endpoint_url=endpoint, region=REGION, **KEYS) as client:
        await client.describe_stream_summary(stream_name=STREAM)  # pool and credentials ready before timing
        cpu, wall = time.process_time(), time.perf_counter()
        async with client.consumer(STREAM, start=start, config=aiokinesis.ConsumerConfig(reader=reader)) as consumer:
            async for batch in consumer:
                for record in batch:
                    got += len(record.data) > 0
                    if arrivals and record.approximate_arrival_timestamp is None:
                        raise RuntimeError("the stub's records all carry an arrival time")
                if got >= records:
                    break
        return got, time.process_time() - cpu, time.perf_counter() - wall


async def _poll_every_second(shard_ids: list[str], poll: Callable[[str], Any], seconds: float) -> None:
    async def one(shard_id: str) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await poll(shard_id)
            await asyncio.sleep(max(0.0, 1.0 - (loop.time() - started)))

    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(one(s)) for s in shard_ids]
        await asyncio.sleep(seconds)
        for task in tasks:
            task.cancel()


async def fan_in(name: str, endpoint: str, shards: int, seconds: float) -> None:
    """Every shard read once a second for `seconds` (the stub's GetRecords answer no records)."""
    shard_ids = [f"shardId-{n:012d}" for n in range(shards)]
    if name == "aiokinesis":
        import aiokinesis

        config = aiokinesis.ConsumerConfig(reader=aiokinesis.ReaderConfig(idle_interval=1.0))
        async with (
            aiokinesis.Client(endpoint_url=endpoint, region=REGION, **KEYS) as client,
            client.consumer(STREAM, config=config),
        ):
            await asyncio.sleep(seconds)
    elif name == "aiobotocore":
        from aiobotocore.config import AioConfig
        from aiobotocore.session import get_session

        async with get_session().create_client(
            "kinesis", region_name=REGION, endpoint_url=endpoint, config=AioConfig(max_pool_connections=100), **KEYS
        ) as client:

            async def poll_botocore(shard_id: str) -> None:
                await client.get_records(ShardIterator=ITERATOR)

            await _poll_every_second(shard_ids, poll_botocore, seconds)
    else:
        import aiohttp
        import orjson

        body = orjson.dumps({"ShardIterator": ITERATOR})
        headers = _botocore_signed_headers(endpoint, "GetRecords", body)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100)) as http:

            async def poll_floor(shard_id: str) -> None:
                async with http.post(endpoint + "/", data=body, headers=headers) as response:
                    orjson.loads(await response.read())

            await _poll_every_second(shard_ids, poll_floor, seconds)
