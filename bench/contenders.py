"""The clients compared, each doing the same work per call against the stub.

Every contender builds its request from the same raw (bytes, key) tuples on each call
and, for GetRecords, hands back records with data as bytes and timestamps as datetimes,
so the CPU measured is what a user of each client pays.
"""

from __future__ import annotations

import base64
import contextlib
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
