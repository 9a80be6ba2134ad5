"""Large records through the producer on virtual time: pacing (bursts, averages, fairness), the
stream's limits read again while running, and receipts that say what really happened."""

from __future__ import annotations

import base64

import pytest

import aiokinesis
from aiokinesis import ProducerConfig
from tests.producer_harness import Harness, make_producer, running, settle

MIB = 1024 * 1024
LARGE = 10 * 1024  # MaxRecordSizeInKiB of a stream taking 10 MiB records
TICK = 0.05


def entry_bytes(entry: dict[str, str]) -> int:
    return len(base64.b64decode(entry["Data"])) + len(entry.get("PartitionKey", "").encode())


def throttled(code: str = "ProvisionedThroughputExceededException") -> aiokinesis.ServiceError:
    return aiokinesis.ProvisionedThroughputExceededException(code, "slow down", status=400, request_id=None)


async def test_large_records_mixed_with_small_ones_and_throttling_all_resolve_within_the_shards_rate() -> None:
    # 1 MiB + 1, 2, 5 and 10 MiB records among small ones; every third request is throttled whole.
    # rate_limit 1: the shard's byte bucket holds 1 MiB and refills at 1 MiB a second.
    config = ProducerConfig(linger=0.01, rate_limit=1, record_ttl=120, retry_base_delay=0.1, retry_max_delay=1)
    harness = make_producer(config, max_record_kib=LARGE)
    sizes = [MIB + 1, 2 * MIB, 5 * MIB, 10 * MIB - 5]
    sends: list[tuple[float, int]] = []  # (time, bytes) of every request, throttled or not
    async with running(harness) as producer:
        receipts: dict[str, aiokinesis.Receipt] = {}
        put_at: dict[str, float] = {}
        for i, size in enumerate(sizes):
            for j in range(3):
                key = f"small-{i}-{j}"
                put_at[key] = harness.time.now
                receipts[key] = await producer.put(b"s" * 1000, partition_key=key)
            key = f"big-{i}"
            put_at[key] = harness.time.now
            receipts[key] = await producer.put(b"b" * size, partition_key=key)
        landed_at: dict[str, float] = {}
        for _ in range(1000):
            harness.time.advance(TICK)
            await settle()
            for call in harness.invoker.pending():
                sends.append((harness.time.now, sum(entry_bytes(e) for e in call.entries)))
                if len(harness.invoker.calls) % 3 == 0:
                    call.raise_(throttled())
                else:
                    for entry in call.entries:
                        landed_at[entry["PartitionKey"]] = harness.time.now
                    call.land()
            await settle()
            if all(r.done() for r in receipts.values()):
                break
    for key, receipt in receipts.items():
        assert receipt.result().shard_id == "shardId-0", key
    assert producer.stats.throttles > 0
    # The shard's average: over any span between two requests, at most 1 MiB a second plus one
    # burst (the largest record: AWS lets a shard take it, then averages it out).
    for a in range(len(sends)):
        for b in range(a, len(sends)):
            span = sends[b][0] - sends[a][0]
            sent = sum(size for _, size in sends[a : b + 1])
            assert sent <= MIB * span + 10 * MIB, (sends[a][0], sends[b][0], sent)
    # Nothing starved: each record landed within its own debt's wait plus the largest one's
    # (9 s at 1 MiB a second) and the retries of the throttled requests.
    for key, at in landed_at.items():
        assert at - put_at[key] < 40, key


async def test_a_large_record_is_not_starved_by_a_steady_stream_of_small_ones() -> None:
    # One key's small records always wait in their lane, ahead of the large record's lane, and
    # each pass one goes: the bucket never refills to full while they take from it first.
    config = ProducerConfig(linger=0.01, rate_limit=1, record_ttl=30)
    harness = make_producer(config, max_record_kib=LARGE)
    async with running(harness) as producer:
        small = [await producer.put(b"s" * 1000, partition_key="steady") for _ in range(3)]
        big = await producer.put(b"b" * (2 * MIB), partition_key="big")
        for _ in range(200):  # ten seconds
            small.append(await producer.put(b"s" * 1000, partition_key="steady"))
            harness.time.advance(TICK)
            await settle()
            for call in harness.invoker.pending():
                call.land()
            await settle()
            if big.done():
                break
        assert big.done()
        assert big.result().attempts == 1
        # It held the shard's turn from the first pass that refused it: the bucket filled within a second.
        sent = [[e["PartitionKey"] for e in call.entries] for call in harness.invoker.calls]
        assert ["big"] in sent
        assert sent.index(["big"]) <= 1.2 / TICK


async def test_small_records_behind_a_large_one_wait_out_its_debt_then_go() -> None:
    config = ProducerConfig(linger=0.01, rate_limit=1)
    harness = make_producer(config, max_record_kib=LARGE)
    async with running(harness) as producer:
        big = await producer.put(b"b" * (10 * MIB - 3), partition_key="big")
        harness.time.advance(TICK)
        await settle()
        harness.invoker.pending()[0].land()
        await settle()
        assert big.done()
        start = harness.time.now
        small = [await producer.put(b"s" * 100, partition_key=f"k{i}") for i in range(5)]
        for _ in range(400):
            harness.time.advance(TICK)
            await settle()
            for call in harness.invoker.pending():
                call.land()
            await settle()
            if all(r.done() for r in small):
                break
        waited = harness.time.now - start
    assert all(r.result().attempts == 1 for r in small)
    # A 10 MiB record into a 1 MiB bucket leaves 9 MiB of debt: nine seconds at 1 MiB a second.
    assert 8.5 <= waited <= 9.5


async def test_a_record_above_the_streams_limit_is_refused_before_the_wire() -> None:
    harness = make_producer(ProducerConfig(linger=0.01))  # the default 1 MiB stream
    async with running(harness) as producer:
        harness.time.advance(5)
        with pytest.raises(aiokinesis.ParamValidationError) as caught:
            await producer.put(b"x" * MIB, partition_key="k")  # 1 MiB + the key's byte
        assert caught.value.field == "data"
        assert "1048577 bytes" in str(caught.value)
        assert "maximum record size of 1048576 bytes" in str(caught.value)
        assert harness.kinesis.describe_calls == 2  # read again once, before refusing
        with pytest.raises(aiokinesis.ParamValidationError):
            await producer.put(b"x" * MIB, partition_key="k")
        assert harness.kinesis.describe_calls == 2  # not again within a second
        with pytest.raises(aiokinesis.ParamValidationError, match="10485761 bytes"):
            await producer.put(b"x" * (10 * MIB), partition_key="k")  # no stream takes it: no read
        assert harness.kinesis.describe_calls == 2
    assert harness.invoker.calls == []


async def test_the_streams_limit_raised_while_the_producer_runs_is_picked_up() -> None:
    harness = make_producer(ProducerConfig(linger=0.01, rate_limit=0))
    async with running(harness) as producer:
        assert producer.max_record_bytes == MIB
        harness.kinesis.max_record_kib = LARGE  # UpdateMaxRecordSize while the producer runs
        harness.time.advance(2)
        receipt = await producer.put(b"x" * (2 * MIB), partition_key="k")
        assert producer.max_record_bytes == 10 * MIB
        harness.time.advance(TICK)
        await settle()
        [call] = harness.invoker.pending()
        assert entry_bytes(call.entries[0]) == 2 * MIB + 1
        call.land()
        await settle()
    assert receipt.result().shard_id == "shardId-0"


async def test_a_request_refused_after_the_limit_was_lowered_fails_only_the_records_above_it() -> None:
    harness = make_producer(ProducerConfig(linger=0.01, rate_limit=0), max_record_kib=LARGE)
    async with running(harness) as producer:
        big = await producer.put(b"x" * (2 * MIB), partition_key="big")
        small = await producer.put(b"y" * 10, partition_key="small")
        harness.kinesis.max_record_kib = 1024
        harness.time.advance(2)
        await settle()
        [call] = harness.invoker.pending()
        call.raise_(
            aiokinesis.InvalidArgumentException(
                "InvalidArgumentException", "record too large", status=400, request_id=None
            )
        )
        await settle()
        error = big.exception()
        assert isinstance(error, aiokinesis.InvalidArgumentException)
        assert not small.done()  # back in its lane
        harness.time.advance(TICK)
        await settle()
        [again] = harness.invoker.pending()
        assert [e["PartitionKey"] for e in again.entries] == ["small"]
        again.land()
        await settle()
    assert small.result().attempts == 2
    assert producer.max_record_bytes == MIB


async def test_a_second_request_refused_after_the_first_read_the_lowered_limit_keeps_its_small_records() -> None:
    harness = make_producer(ProducerConfig(linger=0.01, rate_limit=0), max_record_kib=LARGE)
    invalid = aiokinesis.InvalidArgumentException("InvalidArgumentException", "too large", status=400, request_id=None)
    receipts = []
    async with running(harness) as producer:
        for key in ("a", "b"):  # two requests in flight, each a large record and a small one
            receipts += [await producer.put(b"x" * (2 * MIB), partition_key=f"big-{key}")]
            receipts += [await producer.put(b"y", partition_key=key)]
            harness.time.advance(TICK)
            await settle()
        calls = harness.invoker.pending()
        assert [len(call.entries) for call in calls] == [2, 2]
        harness.kinesis.max_record_kib = 1024
        harness.time.advance(2)
        for call in calls:
            call.raise_(invalid)
            await settle()
        assert harness.kinesis.describe_calls == 2  # read again by the first refusal only
        harness.time.advance(TICK)
        await settle()
        for call in harness.invoker.pending():
            call.land()
        await settle()
    assert all(isinstance(r.exception(), aiokinesis.InvalidArgumentException) for r in receipts[::2])
    assert [r.result().attempts for r in receipts[1::2]] == [2, 2]


@pytest.mark.parametrize(("max_record_kib", "per_request"), [(LARGE, 12), (None, 6)])
async def test_requests_fill_up_to_what_the_stream_allows(max_record_kib: int | None, per_request: int) -> None:
    # 800 KiB records: twelve fit a 10 MiB request (a large-record stream), six a 5 MiB one.
    harness = make_producer(ProducerConfig(linger=0.01, rate_limit=0), max_record_kib=max_record_kib)
    async with running(harness) as producer:
        for i in range(12):
            await producer.put(b"x" * (800 * 1024 - 2), partition_key=f"k{i}")
        harness.time.advance(TICK)
        await settle()
        assert len(harness.invoker.pending()[0].entries) == per_request


async def expire_after(harness: Harness, receipt: aiokinesis.Receipt, answer: str) -> None:
    """Answer every request as `answer` says (throttle it whole, or fail its entries) until the receipt resolves."""
    for _ in range(2000):
        harness.time.advance(TICK)
        await settle()
        for call in harness.invoker.pending():
            if answer == "throttle":
                call.raise_(throttled())
            else:
                call.fail_entries(answer)
        await settle()
        if receipt.done():
            return


@pytest.mark.parametrize("answer", ["throttle", "ProvisionedThroughputExceededException", "InternalFailure"])
async def test_a_receipt_says_how_often_a_record_was_sent_before_its_time_to_live_ran_out(answer: str) -> None:
    config = ProducerConfig(linger=0.01, rate_limit=0, record_ttl=3, retry_base_delay=0.1, retry_max_delay=0.4)
    harness = make_producer(config)
    async with running(harness) as producer:
        receipt = await producer.put(b"x", partition_key="k")
        await expire_after(harness, receipt, answer)
    error = receipt.exception()
    assert isinstance(error, aiokinesis.RecordFailedError)
    sent = len(harness.invoker.calls)
    assert sent > 3
    code = "InternalFailure" if answer == "InternalFailure" else "ProvisionedThroughputExceededException"
    assert (error.code, error.expired, error.attempts, error.last_code) == ("Expired", True, sent, code)
    assert f"sent {sent} times" in str(error)
    assert code in str(error)
    if answer != "InternalFailure":
        assert f"throttled {sent} of them" in str(error)
    else:
        assert "throttled" not in str(error)


async def test_a_receipt_says_when_a_record_expired_before_it_was_ever_sent() -> None:
    # 1% of a shard's rate (about 10 KiB a second): the second record waits behind the first.
    harness = make_producer(ProducerConfig(linger=0.01, record_ttl=1, rate_limit=0.01))
    async with running(harness) as producer:
        first = await producer.put(b"x" * 9000, partition_key="a")
        second = await producer.put(b"y" * 9000, partition_key="b")
        harness.time.advance(TICK)
        await settle()
        harness.invoker.pending()[0].land()
        harness.time.advance(2)
        await settle()
    assert first.result().attempts == 1
    error = second.exception()
    assert isinstance(error, aiokinesis.RecordFailedError)
    assert (error.code, error.expired, error.attempts, error.last_code) == ("Expired", True, 0, None)
    assert "before it was ever sent" in str(error)
