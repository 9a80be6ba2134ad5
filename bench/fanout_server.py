"""The server process of bench/fanout.py: aiokinesis.testing on 127.0.0.1, optionally with a backlog.

    python bench/fanout_server.py --shards 1000 --backlog 100 [--limits]

Creates the stream `fanout` of N shards (the account's shard limit raised to N, as the default
500 would refuse 1000), puts `backlog` records of 100 bytes on every shard straight into the
backend (no HTTP: the set-up costs no one anything measured), prints one JSON line with the
endpoint once it listens, and serves until SIGTERM. Its own CPU is never counted.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import signal

from aiokinesis.testing import KinesisServer, Limits

STREAM = "fanout"
RECORD = b"r" * 100


def preload(server: KinesisServer, per_shard: int) -> int:
    """Put `per_shard` records on every shard (ExplicitHashKey at the shard's start); the count put."""
    backend = server.backend
    stream = backend.streams[STREAM]
    data = base64.b64encode(RECORD).decode()
    put = 0
    for shard in stream.shards:
        key = str(shard.start_hash)
        left = per_shard
        while left > 0:
            batch = min(left, 500)
            entries = [{"Data": data, "PartitionKey": "k", "ExplicitHashKey": key} for _ in range(batch)]
            answer = backend.PutRecords({"StreamName": STREAM, "Records": entries})
            if answer.get("FailedRecordCount"):
                raise RuntimeError(f"preload of {shard.shard_id} failed: {answer}")
            left -= batch
            put += batch
    return put


async def serve(shards: int, backlog: int, limits_on: bool) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    limits = Limits(enabled=limits_on, shard_limit=max(500, shards))
    async with KinesisServer(streams={STREAM: shards}, limits=limits) as server:
        put = preload(server, backlog)
        print(json.dumps({"endpoint": server.endpoint_url, "http2": server.http2, "records": put}), flush=True)
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shards", type=int, required=True)
    parser.add_argument("--backlog", type=int, default=0, help="records of 100 bytes put on every shard first")
    parser.add_argument("--limits", action="store_true", help="enforce AWS's per-shard rates (off by default)")
    args = parser.parse_args()
    asyncio.run(serve(args.shards, args.backlog, args.limits))


if __name__ == "__main__":
    main()
