"""Throughput of aiokinesis.testing: records put and read back through it, client in the same process.

    .venv/bin/python bench/testing_server.py [--records 100000] [--shards 4]

Issue #4 asks for at least 50,000 records/s so that tests with 100k+ records take seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import aiokinesis
from aiokinesis.testing import KinesisServer, Limits


async def main(records: int, shards: int) -> None:
    async with (
        KinesisServer(streams={"bench": shards}, limits=Limits(enabled=False)) as server,
        aiokinesis.Client(
            endpoint_url=server.endpoint_url, region="us-east-1", aws_access_key_id="a", aws_secret_access_key="b"
        ) as kinesis,
    ):
        batch = [aiokinesis.PutRecordsRequestEntry(data=b"x" * 100, partition_key=str(i)) for i in range(500)]
        started, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(kinesis.put_records(stream_name="bench", records=batch) for _ in range(records // 500)))
        put_seconds = time.perf_counter() - started
        read = 0
        started = time.perf_counter()
        async for shard in kinesis.paginate.list_shards(stream_name="bench"):
            it = await kinesis.get_shard_iterator(
                stream_name="bench", shard_id=shard.shard_id, shard_iterator_type="TRIM_HORIZON"
            )
            iterator = it.shard_iterator
            while iterator is not None:
                page = await kinesis.get_records(shard_iterator=iterator)
                read += len(page.records)
                if not page.records:
                    break
                iterator = page.next_shard_iterator
        read_seconds = time.perf_counter() - started
        total = records // 500 * 500
        print(
            f"put {total:,} records in {put_seconds:.2f} s ({total / put_seconds:,.0f}/s); "
            f"read back {read:,} in {read_seconds:.2f} s ({read / read_seconds:,.0f}/s); "
            f"CPU {time.process_time() - cpu:.2f} s, client and server together"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--shards", type=int, default=4)
    args = parser.parse_args()
    asyncio.run(main(args.records, args.shards))
