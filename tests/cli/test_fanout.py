"""tail --enhanced-fan-out, run as the real command against aiokinesis.testing: the same records as
polling, pushed through the named consumer (registered by the run); bad combinations refused."""

from __future__ import annotations

import json

import aiokinesis
from tests.cli.conftest import run_cli


async def test_tail_through_an_enhanced_fan_out_consumer_prints_what_polling_prints(
    kinesis: aiokinesis.Client, endpoint: list[str]
) -> None:
    for i in range(30):
        await kinesis.put_record(stream_name="orders", data=f"v{i}".encode(), partition_key=f"k{i % 4}")

    pushed = await run_cli("tail", "orders", "--enhanced-fan-out", "cli-tail", "--output", "json", *endpoint)
    assert pushed.code == 0, pushed.stderr
    polled = await run_cli("tail", "orders", "--output", "json", *endpoint)
    assert polled.code == 0, polled.stderr

    def by_shard(stdout: str) -> dict[str, list[tuple[str, str]]]:
        shards: dict[str, list[tuple[str, str]]] = {}
        for line in stdout.splitlines():
            record = json.loads(line)
            shards.setdefault(record["shard_id"], []).append((record["sequence_number"], record["data"]))
        return shards

    pushed_shards = by_shard(pushed.stdout)
    assert pushed_shards == by_shard(polled.stdout)  # the same records, in the same order per shard
    assert sorted(data for records in pushed_shards.values() for _, data in records) == sorted(
        f"v{i}" for i in range(30)
    )
    arn = (await kinesis.describe_stream_summary(stream_name="orders")).stream_description_summary.stream_arn
    consumers = [c async for c in kinesis.paginate.list_stream_consumers(stream_arn=arn)]
    assert [c.consumer_name for c in consumers] == ["cli-tail"]  # pushed through it, left registered

    one = await run_cli("tail", "orders", "--enhanced-fan-out", "cli-tail", "-n", "3", *endpoint)
    assert (one.code, len(one.stdout.splitlines())) == (0, 3), one.stderr


async def test_tail_refuses_enhanced_fan_out_with_one_shard_or_a_bad_name(endpoint: list[str]) -> None:
    both = await run_cli("tail", "orders", "--shard", "shardId-000000000000", "--enhanced-fan-out", "x", *endpoint)
    assert both.code == 2
    assert "argument --enhanced-fan-out: not allowed with argument --shard" in both.stderr
    bad = await run_cli("tail", "orders", "--enhanced-fan-out", "no spaces", *endpoint)
    assert bad.code == 1
    assert bad.stderr.startswith("aiokinesis tail: ")
    assert "no spaces" in bad.stderr
    assert bad.stdout == ""
