"""A canned-response Kinesis for client benchmarks: as cheap as a server can be.

Raw asyncio protocol on 127.0.0.1, HTTP/1.1 keep-alive, no signature checks; every
answer is precomputed bytes keyed on X-Amz-Target, so the server's own CPU stays out
of the way of the client being measured (it runs in its own process).
    python bench/stub_server.py --port 8123
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import bisect
import hashlib
import json
import re

SEQUENCE = "49590338271490256608559692538361571095921575989136588898"
ITERATOR = "AAAAAAAAAAF" + "x" * 200
RECORD_DATA = base64.b64encode(bytes(range(100))).decode()
_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)
_TARGET = re.compile(rb"\r\nx-amz-target:\s*([^\r]+)", re.IGNORECASE)


def bodies(records_per_get: int, shards: int, max_record_size_kib: int | None = None) -> dict[str, object]:
    records = [
        {
            "SequenceNumber": f"{int(SEQUENCE) + i}",
            "ApproximateArrivalTimestamp": 1_700_000_000.123 + i / 1000,
            "Data": RECORD_DATA,
            "PartitionKey": f"pk-{i}",
        }
        for i in range(records_per_get)
    ]
    shard_list = [
        {
            "ShardId": f"shardId-{n:012d}",
            "HashKeyRange": {
                "StartingHashKey": str(n * (2**128 // shards)),
                "EndingHashKey": str((n + 1) * (2**128 // shards) - 1 if n < shards - 1 else 2**128 - 1),
            },
            "SequenceNumberRange": {"StartingSequenceNumber": SEQUENCE},
        }
        for n in range(shards)
    ]
    return {
        "PutRecord": {"SequenceNumber": SEQUENCE, "ShardId": "shardId-000000000000"},
        "GetRecords": {"Records": records, "NextShardIterator": ITERATOR, "MillisBehindLatest": 0},
        "GetShardIterator": {"ShardIterator": ITERATOR},
        "ListShards": {"Shards": shard_list},
        "DescribeStreamSummary": {
            "StreamDescriptionSummary": {
                "StreamName": "bench",
                "StreamARN": "arn:aws:kinesis:us-east-1:123456789012:stream/bench",
                "StreamStatus": "ACTIVE",
                "RetentionPeriodHours": 24,
                "StreamCreationTimestamp": 1_700_000_000,
                "EnhancedMonitoring": [],
                "OpenShardCount": shards,
                **({} if max_record_size_kib is None else {"MaxRecordSizeInKiB": max_record_size_kib}),
            }
        },
    }


def http_response(body: object) -> bytes:
    payload = json.dumps(body, separators=(",", ":")).encode()
    head = (
        "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\n"
        f"Content-Length: {len(payload)}\r\nx-amzn-RequestId: stub\r\n\r\n"
    )
    return head.encode() + payload


def put_records_answer(entries: int) -> bytes:
    return http_response(
        {"FailedRecordCount": 0, "Records": [{"SequenceNumber": SEQUENCE, "ShardId": "shardId-000000000000"}] * entries}
    )


# PutRecords answers as many entries as it was sent (callers check), precomputed per count.
PUT_RECORDS_ANSWERS = tuple(put_records_answer(n) for n in range(501))


class Router:
    """PutRecords answered with the shard each entry's hash key falls in (as Kinesis routes it), so
    a producer that predicts shards sees its predictions hold; answers are memoized per key."""

    def __init__(self, shards: int) -> None:
        self._starts = [n * (2**128 // shards) for n in range(shards)]
        self._shard_of: dict[str, str] = {}

    def _shard(self, entry: dict[str, str]) -> str:
        key = entry.get("ExplicitHashKey") or entry.get("PartitionKey", "")
        shard = self._shard_of.get(key)
        if shard is None:
            point = (
                int(key) if "ExplicitHashKey" in entry else int.from_bytes(hashlib.md5(key.encode()).digest(), "big")
            )
            shard = self._shard_of[key] = f"shardId-{bisect.bisect_right(self._starts, point) - 1:012d}"
        return shard

    def answer(self, body: bytes) -> bytes:
        entries = json.loads(body)["Records"]
        records = [{"SequenceNumber": SEQUENCE, "ShardId": self._shard(e)} for e in entries]
        return http_response({"FailedRecordCount": 0, "Records": records})


class StubProtocol(asyncio.Protocol):
    def __init__(self, answers: dict[bytes, bytes], default: bytes, router: Router | None = None) -> None:
        self._answers = answers
        self._default = default
        self._router = router
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buffer[:end])
            length_match = _LENGTH.search(head)
            length = int(length_match.group(1)) if length_match else 0
            if len(buffer) < end + 4 + length:
                return
            body = bytes(buffer[end + 4 : end + 4 + length])
            del buffer[: end + 4 + length]
            target = _TARGET.search(head)
            operation = target.group(1).rpartition(b".")[2].strip() if target else b""
            assert self._transport is not None
            if operation == b"PutRecords" and self._router is not None:
                self._transport.write(self._router.answer(body))
            elif operation == b"PutRecords":
                self._transport.write(PUT_RECORDS_ANSWERS[min(500, body.count(b'"PartitionKey"'))])
            else:
                self._transport.write(self._answers.get(operation, self._default))


async def serve(
    port: int, records_per_get: int, shards: int, max_record_size_kib: int | None = None, *, route: bool = False
) -> None:
    stubbed = bodies(records_per_get, shards, max_record_size_kib)
    answers = {name.encode(): http_response(body) for name, body in stubbed.items()}
    default = http_response({})
    router = Router(shards) if route else None
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: StubProtocol(answers, default, router), "127.0.0.1", port)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description="Canned-response Kinesis stub on 127.0.0.1.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--records-per-get", type=int, default=1000)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--max-record-size-kib", type=int, default=None, help="MaxRecordSizeInKiB to report")
    parser.add_argument(
        "--route", action="store_true", help="answer PutRecords entries with the shard of their key (not shard 0)"
    )
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.records_per_get, args.shards, args.max_record_size_kib, route=args.route))


if __name__ == "__main__":
    main()
