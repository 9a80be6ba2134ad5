"""Where a lease-table request's CPU goes: our DynamoDB client against a bare aiohttp POST of the same bytes.

    .venv/bin/python bench/dynamodb_call.py [--runs 5] [--calls 1000]

Issue #10 (bench/leases.py measured ~600 us of our process's CPU per lease-table request). One
UpdateItem at a time, A/B in the same run, each run a fresh client:
- ours: `DynamoDB.update_item` (model checks, JSON, SigV4, retries, the x-amz-crc32 check, parse);
- bare: aiohttp posting the same body with headers signed once, the same pool and timeout settings
  as the client's own session, answer only `orjson.loads`ed: the floor aiohttp and the loop set.
Against DynamoDB Local (tests/dynamodb_local, Java on PATH) and against a trivial stub in its own
process answering `{}` with its x-amz-crc32 (keep-alive), to tell the server's share from ours.
Connections opened during the measured calls are counted. 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import orjson

import aiokinesis
from aiokinesis._generated.dynamodb.models import AttributeDefinition, KeySchemaElement  # bench-only: the table

ROOT = Path(__file__).resolve().parents[1]
KEYS: dict[str, Any] = {"region": "us-east-1", "aws_access_key_id": "a", "aws_secret_access_key": "b"}
KEY = {"leaseKey": {"S": "shardId-000000000001"}}
RENEW: dict[str, Any] = {
    "key": KEY,
    "update_expression": "SET leaseCounter = leaseCounter + :one",
    "condition_expression": "leaseOwner = :owner",
    "expression_attribute_values": {":one": {"N": "1"}, ":owner": {"S": "w"}},
    "return_values": "ALL_NEW",
}
STUB = r"""
import asyncio, re, zlib
HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\nx-amz-crc32: "
        + str(zlib.crc32(b"{}")).encode() + b"\r\nContent-Length: 2\r\n\r\n{}")
LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.I)
class Stub(asyncio.Protocol):
    def connection_made(self, transport): self.transport, self.buffer = transport, b""
    def data_received(self, data):
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            found = LENGTH.search(self.buffer, 0, end + 2)
            size = end + 4 + (int(found.group(1)) if found else 0)
            if len(self.buffer) < size: return
            self.buffer = self.buffer[size:]
            self.transport.write(HEAD)
async def main():
    server = await asyncio.get_running_loop().create_server(Stub, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()
asyncio.run(main())
"""


class Connections:
    """Counts connections aiohttp opens, as a trace config on the session it is given."""

    def __init__(self) -> None:
        self.opened = 0
        self.trace = aiohttp.TraceConfig()
        self.trace.on_connection_create_end.append(self._opened)

    async def _opened(self, *_: object) -> None:
        self.opened += 1

    def session(self) -> aiohttp.ClientSession:
        """A pool set as the client's own (HttpConfig's defaults)."""
        return aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=100, keepalive_timeout=30.0),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=5.0, sock_read=30.0),
            trace_configs=[self.trace],
        )


async def ours(url: str, table: str, calls: int) -> tuple[float, int]:
    counted = Connections()
    async with counted.session() as http, aiokinesis.Client(http_session=http, **KEYS) as kinesis:
        dynamo = kinesis._dynamodb(endpoint_url=url)  # noqa: SLF001 - what a consumer on DynamoDBLeases makes
        for _ in range(20):
            await dynamo.update_item(table_name=table, **RENEW)
        opened, began = counted.opened, time.process_time()
        for _ in range(calls):
            await dynamo.update_item(table_name=table, **RENEW)
        return (time.process_time() - began) / calls * 1e6, counted.opened - opened


async def bare(url: str, table: str, calls: int) -> tuple[float, int]:
    body = orjson.dumps(
        {
            "TableName": table,
            "Key": KEY,
            "UpdateExpression": RENEW["update_expression"],
            "ConditionExpression": RENEW["condition_expression"],
            "ExpressionAttributeValues": RENEW["expression_attribute_values"],
            "ReturnValues": "ALL_NEW",
        }
    )
    headers = {  # DynamoDB Local wants a signature present, not a right one
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": "DynamoDB_20120810.UpdateItem",
        "X-Amz-Date": "20260101T000000Z",
        "Authorization": "AWS4-HMAC-SHA256 Credential=a/20260101/us-east-1/dynamodb/aws4_request, "
        "SignedHeaders=host, Signature=0",
        "User-Agent": "aiokinesis-bench",
        "Accept-Encoding": "identity",
    }
    counted = Connections()
    async with counted.session() as http:
        for _ in range(20):
            async with http.post(url, data=body, headers=headers) as answer:
                assert answer.status == 200, await answer.read()
                await answer.read()
        opened, began = counted.opened, time.process_time()
        for _ in range(calls):
            async with http.post(url, data=body, headers=headers) as answer:
                orjson.loads(await answer.read())
        return (time.process_time() - began) / calls * 1e6, counted.opened - opened


async def make_table(url: str) -> str:
    async with aiokinesis.Client(**KEYS) as kinesis:
        dynamo = kinesis._dynamodb(endpoint_url=url)  # noqa: SLF001
        name = f"bench-call-{uuid.uuid4().hex[:8]}"
        await dynamo.create_table(
            table_name=name,
            attribute_definitions=[AttributeDefinition(attribute_name="leaseKey", attribute_type="S")],
            key_schema=[KeySchemaElement(attribute_name="leaseKey", key_type="HASH")],
            billing_mode="PAY_PER_REQUEST",
        )
        await dynamo.wait_table_active(name, delay=0.05)
        await dynamo.put_item(table_name=name, item={**KEY, "leaseCounter": {"N": "0"}, "leaseOwner": {"S": "w"}})
        return name


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench/dynamodb_call.py")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--calls", type=int, default=1000)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from tests.dynamodb_local.launch import dynamodb_local  # noqa: PLC0415 - needs the repo root on sys.path

    stub = subprocess.Popen([sys.executable, "-c", STUB], stdout=subprocess.PIPE)
    try:
        assert stub.stdout is not None
        stub_url = f"http://127.0.0.1:{int(stub.stdout.readline())}/"
        with dynamodb_local() as local:
            table = asyncio.run(make_table(local))
            results: dict[str, list[tuple[float, int]]] = {}
            for _ in range(args.runs):
                for server, url in (("DynamoDB Local", local), ("stub", stub_url)):
                    for name, run in (("ours", ours), ("bare aiohttp", bare)):
                        results.setdefault(f"{server}, {name}", []).append(asyncio.run(run(url, table, args.calls)))
    finally:
        stub.kill()
        stub.wait()
    for label, runs in results.items():
        cpu = [us for us, _ in runs]
        print(
            f"{label:28s} CPU {statistics.median(cpu):5.0f} us a call (median; {min(cpu):.0f}-{max(cpu):.0f}), "
            f"connections opened while measured: {sum(n for _, n in runs)}"
        )


if __name__ == "__main__":
    main()
