"""bench/stub_server.py with what the peers need to start at their default settings.

Two additions, both canned like the rest: a DescribeStream answer (async-kinesis's producer
and consumer call it on start by default; aiokinesis and aiobotocore never do), and record
data that is JSON (async-kinesis's default JsonProcessor decodes every record it reads):
each record is the 100 bytes of a JSON string, `"xxx..."`, so every contender reads and
writes 100-byte records.
    python bench/peers_stub.py --port 8123 --shards 4
"""

from __future__ import annotations

import argparse
import asyncio
import base64

import stub_server
from peers_contenders import JSON_RECORD


def answers(shards: int, records_per_get: int) -> dict[bytes, bytes]:
    stubbed = stub_server.bodies(records_per_get, shards)
    data = base64.b64encode(JSON_RECORD).decode()
    get_records = stubbed["GetRecords"]
    assert isinstance(get_records, dict)
    for record in get_records["Records"]:
        record["Data"] = data
    listed = stubbed["ListShards"]
    assert isinstance(listed, dict)
    stubbed["DescribeStream"] = {
        "StreamDescription": {
            "StreamName": "bench",
            "StreamARN": "arn:aws:kinesis:us-east-1:123456789012:stream/bench",
            "StreamStatus": "ACTIVE",
            "Shards": listed["Shards"],
            "HasMoreShards": False,
            "RetentionPeriodHours": 24,
            "StreamCreationTimestamp": 1_700_000_000,
            "EnhancedMonitoring": [],
        }
    }
    return {name.encode(): stub_server.http_response(body) for name, body in stubbed.items()}


async def serve(port: int, shards: int, records_per_get: int) -> None:
    canned = answers(shards, records_per_get)
    default = stub_server.http_response({})
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: stub_server.StubProtocol(canned, default), "127.0.0.1", port)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--records-per-get", type=int, default=1000)
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.shards, args.records_per_get))


if __name__ == "__main__":
    main()
