"""Lease workers as separate processes on DynamoDB Local, a 12-shard stream served by
aiokinesis.testing in its own process: killed (-9), paused (SIGSTOP/SIGCONT), closed (SIGTERM),
joined and resharded under them while records flow in.

Outcomes are read from the workers' logs (tests/leases/worker_process.py) and the lease table;
wall-clock figures are printed, and bounded only generously (the exact timing rules are pinned on
virtual time in test_workers.py).
"""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

import aiokinesis
from tests.conftest import LOCAL_KEYS
from tests.leases.process_logs import assert_outcomes, handled
from tests.leases.processes import LeaseFleet
from tests.processes import Producer, kinesis_process, until

pytestmark = pytest.mark.integration
FAILOVER = 2.0
BALANCE = 2 * (FAILOVER + 0.025)
TWELVE = {f"shardId-{n:012d}" for n in range(12)}
STREAMS = {"kill": 12, "pause": 12, "reshard": 12}


@pytest.fixture(scope="module")
def kinesis_url() -> Iterator[str]:
    with kinesis_process(STREAMS) as url:
        yield url


@pytest.fixture
async def kinesis(kinesis_url: str) -> AsyncIterator[aiokinesis.Client]:
    async with aiokinesis.Client(endpoint_url=kinesis_url, **LOCAL_KEYS) as client:
        yield client


def fleet(kinesis_url: str, dynamodb_local_url: str, stream: str, folder: Path) -> LeaseFleet:
    table = f"{stream}-app-{uuid.uuid4().hex[:8]}"
    return LeaseFleet(
        endpoint=kinesis_url, dynamodb=dynamodb_local_url, table=table, stream=stream, folder=folder, failover=FAILOVER
    )


async def flowing(producer: Producer, count: int) -> None:
    """Records in the background, a hundred at a time, about a thousand a second."""
    await producer.put(count, per_call=50, pause=0.05)


async def test_a_killed_worker_s_shards_are_taken_and_resumed_from_its_checkpoints_and_joiners_get_their_share(
    kinesis_url: str, dynamodb_local_url: str, kinesis: aiokinesis.Client, tmp_path: Path
) -> None:
    crew = fleet(kinesis_url, dynamodb_local_url, "kill", tmp_path)
    producer = Producer(kinesis, "kill", keys=120)
    try:
        async with asyncio.timeout(150):
            for name in ("w0", "w1", "w2"):
                crew.start(name)
            await producer.put(600)
            await until(
                lambda: set(crew.owners()) == TWELVE and None not in crew.owners().values(),
                within=60,
                what="every shard owned",
            )
            flow = asyncio.create_task(flowing(producer, 1500))
            crew.start("w3")
            joined = await until(
                lambda: Counter(crew.owners().values())["w3"] >= 3, within=20 * BALANCE, what="w3 holds its share of 3"
            )
            print(f"\nw3 joined and held 3 leases after {joined:.1f} s; shares {dict(Counter(crew.owners().values()))}")
            # The victim is chosen once stealing is over: while one worker holds 4 and another 2, the
            # busiest loses a lease it is still reading, and may stop on that shard instead of its own.
            await until(
                lambda: sorted(Counter(crew.owners().values()).values()) == [3, 3, 3, 3],
                within=20 * BALANCE,
                what="three leases each",
            )
            shares = Counter(crew.owners().values())

            victim = crew.workers[str(max(shares, key=lambda w: (shares[w], str(w))))]
            its = {shard for shard, owner in crew.owners().items() if owner == victim.name}
            flow = asyncio.create_task(flowing(producer, 900))  # records keep coming to the dead one's shards
            # Killed where it hurts most: a batch handled, its checkpoint not yet written (it stops
            # itself there, then dies stopped), so a shard has records past its checkpoint.
            victim.stop_file.touch()
            await until(victim.stopped, within=30, what=f"{victim.name} stopped before a checkpoint")
            victim.signal(signal.SIGKILL)
            killed = time.time()  # the logs' clock
            victim.process.wait(10)
            at_kill = crew.leases()  # no checkpoint of these can change until another worker holds it
            # Restarted at once, as a supervisor does, under a new worker id (as the default worker_id
            # gives every process): it joins while the dead one's leases are still running out.
            restarted = crew.start("w4")
            took = await until(
                lambda: all(crew.owners()[s] not in {None, victim.name} for s in its),
                within=6 * FAILOVER,
                what="the others own the killed worker's shards",
            )
            owners = {str(crew.owners()[s]) for s in its}
            print(
                f"kill -9 {victim.name}: its {len(its)} shards taken by {sorted(owners)} after {took:.1f} s "
                f"(failover_time {FAILOVER} s, {took / FAILOVER:.2f} x)"
            )
            rejoined = took + await until(
                lambda: Counter(crew.owners().values())["w4"] >= 3, within=20 * BALANCE, what="w4 holds its share of 3"
            )
            shares = Counter(crew.owners().values())
            print(f"{victim.name} restarted as w4: it held 3 leases {rejoined:.1f} s after the kill; {dict(shares)}")
            assert set(shares) == set(crew.workers) - {victim.name}
            assert max(shares.values()) <= 4
            await flow
            await producer.put(300)  # and some for w4's shards, now it has them
            await flow
            await until(lambda: producer.sent <= crew.values(), within=60, what="every record handled")
    finally:
        crew.close()
    saved_at_kill = {s: int(at_kill[s]["checkpoint"]) for s in its if at_kill[s]["checkpoint"].isdigit()}
    outcome = assert_outcomes(crew, producer.sent, last_words={(victim.name, s): n for s, n in saved_at_kill.items()})
    print(f"outcome: {outcome}")
    log = handled(crew)
    assert any(h.worker == restarted.name for h in log)
    [stopped_on] = [e["shard"] for e in victim.events("stopping")]
    assert stopped_on in its
    past = 0
    for shard in its:
        checkpoint = at_kill[shard]["checkpoint"]
        after = [h for h in log if h.shard == shard and h.t > killed]
        assert after, shard
        assert {h.worker for h in after} <= set(crew.workers) - {victim.name}
        if checkpoint.isdigit():
            expected = min(h.seq for h in log if h.shard == shard and h.seq > int(checkpoint))
            assert after[0].seq == expected, f"{shard}: resumed at {after[0].seq}, checkpoint {checkpoint}"
        else:
            assert checkpoint == "TRIM_HORIZON"
            assert after[0].seq == min(h.seq for h in log if h.shard == shard)
        # What was handled twice is exactly what the dead one handled past the checkpoint its
        # successor resumed from: never a record that checkpoint covered, and every one past it.
        last_holding = max((h.holding for h in log if h.worker == victim.name and h.shard == shard), default=0)
        dead = [h for h in log if h.worker == victim.name and h.shard == shard and h.holding == last_holding]
        gap = {(h.key, h.n) for h in dead if h.seq > saved_at_kill.get(shard, -1)}
        again = {(h.key, h.n) for h in after} & {(h.key, h.n) for h in dead}
        assert again == gap, (
            f"{shard}: handled again {sorted(again - gap)} not past the checkpoint, or {sorted(gap - again)} lost"
        )
        assert gap or shard != stopped_on, f"{shard}: the batch {victim.name} died with was checkpointed"
        past += len(gap)
    print(f"{past} records {victim.name} handled past its last checkpoints, all handled again; nothing else was")


async def test_a_paused_worker_s_checkpoint_is_refused_and_it_reads_nothing_more_and_a_clean_close_hands_over(
    kinesis_url: str, dynamodb_local_url: str, kinesis: aiokinesis.Client, tmp_path: Path
) -> None:
    crew = fleet(kinesis_url, dynamodb_local_url, "pause", tmp_path)
    producer = Producer(kinesis, "pause", keys=120)
    try:
        async with asyncio.timeout(150):
            sleeper, other = crew.start("w0"), crew.start("w1")
            await producer.put(600)
            # Six each before w0 is stopped: while the split still moves, w0 can stop before the
            # checkpoint of a shard whose lease w1 has just taken (failed 1 CI run).
            await until(
                lambda: set(crew.owners()) == TWELVE and sorted(Counter(crew.owners().values()).values()) == [6, 6],
                within=60,
                what="six shards each",
            )
            await until(lambda: producer.sent <= crew.values(), within=60, what="the first records handled")
            sleeper.stop_file.touch()  # w0 stops itself (SIGSTOP) before it checkpoints its next batch
            flow = asyncio.create_task(flowing(producer, 600))
            await until(sleeper.stopped, within=30, what="w0 stopped")
            stopped = time.monotonic()
            its = {shard for shard, owner in crew.owners().items() if owner == "w0"}
            # And the shard it stopped on, which the table may show as w1's: the steal that made the
            # split even can land just before, while w0 reads on until its next renewal (failed 1 run).
            [stopped_on] = [e["shard"] for e in sleeper.events("stopping")]
            its.add(stopped_on)
            await until(lambda: set(crew.owners().values()) == {"w1"}, within=6 * FAILOVER, what="w1 took them all")
            await asyncio.sleep(max(0.0, stopped + 1.5 * FAILOVER - time.monotonic()))
            # Before the signal: a worker woken on the other core can log its checkpoint before
            # this process reads the clock again, and that event must count as after the wake-up.
            woke = time.time()
            sleeper.signal(signal.SIGCONT)
            await until(
                lambda: any(e["t"] > woke for e in sleeper.events("checkpoint")),
                within=30,
                what="w0 checkpoints once awake",
            )
            await flow
            await until(lambda: producer.sent <= crew.values(), within=60, what="every record handled")

            other.signal(signal.SIGTERM)  # a clean close: w1 hands its leases back as it ends
            closing = time.time()  # the logs' clock
            other.process.wait(30)
            exited = time.time() - closing
            left = crew.owners()
            handed = await until(
                lambda: set(crew.owners().values()) == {"w0"}, within=6 * FAILOVER, what="w0 takes w1's shards"
            )
            print(
                f"\nSIGTERM w1: exited after {exited:.2f} s, w0 held all 12 {exited + handed:.2f} s after "
                f"the signal (failover_time {FAILOVER} s)"
            )
            await producer.put(300)
            await until(lambda: producer.sent <= crew.values(), within=60, what="the last records handled")
    finally:
        crew.close()
    assert other.events()[-1]["e"] == "closed"
    assert set(left.values()) <= {None, "w0"}  # nothing of w1's left owned by it once it exited

    events = sleeper.events()
    wake = next(n for n, e in enumerate(events) if e["e"] == "woke")
    after = events[wake + 1 :]
    first = next(e for e in after if e["e"] == "checkpoint")
    assert first["shard"] == stopped_on
    assert first["ok"] is False  # LeaseLostError: the lease moved on
    assert "lease" in first["error"]
    retaken: set[str] = set()
    for event in after:
        if event["e"] == "lease" and event["held"]:
            retaken.add(event["shard"])
        if event["e"] == "handled" and event["shard"] in its:
            assert event["shard"] in retaken, f"w0 read {event['shard']} after waking without taking it again"
        if event["e"] == "checkpoint" and event["shard"] in its and event["shard"] not in retaken:
            assert event["ok"] is False
    outcome = assert_outcomes(crew, producer.sent)
    print(f"outcome: {outcome}")
    log = handled(crew)
    taken = [h for h in log if h.worker == "w0" and h.t > closing]
    of_w1 = {(h.key, h.n) for h in log if h.worker == "w1"}
    assert [h for h in taken if (h.key, h.n) in of_w1] == []  # w1 checkpointed all it handled before it left


async def test_a_split_and_a_merge_while_workers_run_keep_every_key_in_order(
    kinesis_url: str, dynamodb_local_url: str, kinesis: aiokinesis.Client, tmp_path: Path
) -> None:
    crew = fleet(kinesis_url, dynamodb_local_url, "reshard", tmp_path)
    producer = Producer(kinesis, "reshard", keys=120)
    try:
        async with asyncio.timeout(150):
            for name in ("w0", "w1"):
                crew.start(name)
            await producer.put(600)
            await until(
                lambda: set(crew.owners()) >= TWELVE and None not in crew.owners().values(),
                within=60,
                what="every shard owned",
            )
            flow = asyncio.create_task(flowing(producer, 1500))
            shards = {s.shard_id: s for s in (await kinesis.list_shards(stream_name="reshard")).shards or []}
            first = shards["shardId-000000000000"].hash_key_range
            middle = (int(first.starting_hash_key) + int(first.ending_hash_key)) // 2
            await kinesis.split_shard(
                stream_name="reshard", shard_to_split="shardId-000000000000", new_starting_hash_key=str(middle)
            )
            await kinesis.wait.stream_exists(stream_name="reshard", delay=0.1, max_wait=30)
            await kinesis.merge_shards(
                stream_name="reshard",
                shard_to_merge="shardId-000000000002",
                adjacent_shard_to_merge="shardId-000000000003",
            )
            await flow
            await until(lambda: producer.sent <= crew.values(), within=90, what="every record handled")
            listed = (await kinesis.list_shards(stream_name="reshard")).shards or []
    finally:
        crew.close()
    outcome = assert_outcomes(crew, producer.sent)
    print(f"\noutcome: {outcome}")
    log = handled(crew)
    children = {h.shard for h in log} - TWELVE
    assert len(children) == 3  # two from the split, one from the merge, every one read
    leases = crew.leases()
    for shard in listed:
        parents = [p for p in (shard.parent_shard_id, shard.adjacent_parent_shard_id) if p]
        if shard.shard_id not in children:
            continue
        assert parents
        for parent in parents:  # ended: its lease says so, or it was cleaned up once its children began
            assert parent not in leases or leases[parent]["checkpoint"] == "SHARD_END", leases[parent]
            assert max(h.t for h in log if h.shard == parent) < min(h.t for h in log if h.shard == shard.shard_id)
