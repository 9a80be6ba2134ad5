"""Create a stream, write records through the producer, and read every one back with the consumer.

Against a local kinesis-mock: scripts/run_local.sh (sets AIOKINESIS_ENDPOINT_URL).
Against AWS: python examples/put_and_read.py --region eu-west-1 (credentials from the
usual chain: env, ~/.aws, SSO, instance role).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import uuid

import aiokinesis


async def main(args: argparse.Namespace) -> int:
    endpoint_url = os.environ.get("AIOKINESIS_ENDPOINT_URL")
    async with aiokinesis.Client(region=args.region, endpoint_url=endpoint_url) as kinesis:
        try:
            await kinesis.create_stream(stream_name=args.stream, shard_count=args.shards)
            print(f"creating stream {args.stream} with {args.shards} shards")
        except aiokinesis.ResourceInUseException:
            print(f"stream {args.stream} exists")
        await kinesis.wait.stream_exists(stream_name=args.stream, delay=0.2 if endpoint_url else 5)

        # Write through the producer: batched, paced per shard, failed entries retried in order.
        run = uuid.uuid4().hex[:8]
        sent = [f"{run}:{i}".encode() for i in range(args.records)]
        async with kinesis.producer(args.stream, aggregate=args.aggregate) as producer:
            receipts = [await producer.put(data, partition_key=f"user-{i % 97}") for i, data in enumerate(sent)]
        failed = [r.exception() for r in receipts if r.exception() is not None]
        if failed:
            print(f"{len(failed)} records could not be put, e.g. {failed[0]}", file=sys.stderr)
            return 1
        print(f"put {len(sent)} records in {producer.stats.requests} PutRecords calls")

        # Read everything back through the consumer: every shard, in order per key, checkpointed.
        received: list[bytes] = []
        start = aiokinesis.StartingPosition.trim_horizon()
        async with kinesis.consumer(args.stream, start=start) as consumer, asyncio.timeout(args.timeout):
            async for batch in consumer:
                received += [r.data for r in batch if r.data.startswith(run.encode())]
                await batch.checkpoint()
                if len(received) >= len(sent):
                    break
            for shard in consumer.progress():
                print(f"  {shard.shard_id}: {shard.records} records")
        missing = set(sent) - set(received)
        print(f"read back {len(received)} of {len(sent)} records; missing: {len(missing)}")

        if args.delete:
            await kinesis.delete_stream(stream_name=args.stream)
            print(f"deleted stream {args.stream}")
        return 1 if missing else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stream", default="aiokinesis-demo")
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--region", default=None, help="AWS region (default: from your AWS configuration)")
    parser.add_argument("--delete", action="store_true", help="delete the stream at the end")
    parser.add_argument("--aggregate", action="store_true", help="pack records into KPL aggregates")
    parser.add_argument("--timeout", type=float, default=120, help="seconds to wait for every record to come back")
    sys.exit(asyncio.run(main(parser.parse_args())))
