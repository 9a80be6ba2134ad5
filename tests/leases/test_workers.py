"""Several consumers in one process, each standing for a worker, share one local stream's shards
through one lease table: balance, failover, joining, clean handover and resharding.

Virtual time on both sides of the wire; the KCL's timing (failover 10 s). Bounds are on virtual
time, which only the lease actors' own schedule decides.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator

import pytest

import aiokinesis
from aiokinesis.testing import KinesisServer
from tests.fakes import VirtualTime
from tests.leases.crew import Crew, assert_key_order, put

CONFIG = aiokinesis.ConsumerConfig()
FAILOVER = CONFIG.failover_time
BALANCE = CONFIG.lease_balance_interval
TWELVE = [f"shardId-{n:012d}" for n in range(12)]


@pytest.fixture
async def crew(server: KinesisServer, time: VirtualTime) -> AsyncIterator[Crew]:
    crew = Crew(server, time, "wide", CONFIG)
    yield crew
    await crew.aclose()


async def even(crew: Crew, names: list[str], each: int, *, within: float) -> None:
    await crew.drive(lambda: [crew.shares().get(name) for name in names] == [each] * len(names), within=within)


async def test_three_workers_share_twelve_shards_evenly_and_handle_every_record_once(
    crew: Crew, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="aiokinesis.leases")
    put(crew.server, "wide", [f"v{n}" for n in range(1200)], keys=60)
    for name in ("w0", "w1", "w2"):
        await crew.join(name)
    await even(crew, ["w0", "w1", "w2"], 4, within=6 * BALANCE)
    await crew.drive(lambda: len(crew.values()) == 1200, within=60)
    owners = {w: crew.workers[w].held() for w in crew.workers}
    assert sorted(shard for shards in owners.values() for shard in shards) == TWELVE  # each shard, one worker
    assert_key_order(crew.log)
    assert "took the lease of shardId-" in caplog.text
    handled = Counter(handled.record.data for handled in crew.log)
    repeated = [data for data, count in handled.items() if count > 1]
    refused = sum(len(worker.refused) for worker in crew.workers.values())
    assert not repeated or refused  # a record comes twice only when a stolen lease's checkpoint was refused


async def test_a_worker_that_stops_renewing_has_its_shards_taken_within_two_failovers_resumed_from_checkpoints(
    crew: Crew,
) -> None:
    put(crew.server, "wide", [f"v{n}" for n in range(600)], keys=60)
    for name in ("w0", "w1", "w2"):
        await crew.join(name)
    await even(crew, ["w0", "w1", "w2"], 4, within=6 * BALANCE)
    await crew.drive(lambda: len(crew.values()) == 600, within=60)
    stopped = crew.workers["w0"]
    its_shards = stopped.held()
    stopped.table.hold("checkpoint")
    put(crew.server, "wide", [f"v{n}" for n in range(600, 1200)], keys=60)
    await crew.drive(lambda: stopped.checkpointing is not None, within=30)  # w0 handled a batch of the new ones
    stopped.table.hold()  # w0 stops there: every table call hangs, its renewals among them
    halted = crew.time.now
    took = await crew.drive(
        lambda: crew.workers["w1"].held() | crew.workers["w2"].held() == set(TWELVE), within=2 * FAILOVER
    )
    assert took <= 2 * FAILOVER

    def resumed_everywhere() -> bool:
        """w1 and w2 have handled the last record of each of w0's shards. Every value handled is not
        enough: w0 handled the batch it was checkpointing, and the one taking over that shard
        handles it again only when it gets there (on a busy machine, after all the other values)."""
        last = {shard.shard_id: str(shard.records[-1].sequence) for shard in crew.server.backend.streams["wide"].shards}
        done = {
            h.record.shard_id
            for h in crew.log
            if h.worker != "w0" and h.record.sequence_number == last[h.record.shard_id]
        }
        return its_shards <= done

    await crew.drive(lambda: len(crew.values()) == 1200 and resumed_everywhere(), within=120)
    assert_key_order(crew.log)
    late = [h for h in crew.log if h.worker == "w0" and h.at > halted + FAILOVER]
    assert late == []  # w0 handed out nothing once its leases ran out by its own clock
    for shard in its_shards:
        resumed = [int(h.record.sequence_number) for h in crew.log if h.worker != "w0" and h.record.shard_id == shard]
        assert resumed
        assert min(resumed) > stopped.saved.get(shard, -1)  # from after w0's last checkpoint, nothing before it
    pending = stopped.checkpointing
    assert pending in its_shards  # w0 stopped in the middle of a checkpoint of one of its shards
    stopped.table.let_go()  # w0 wakes: that checkpoint goes through now, and is refused
    await crew.drive(lambda: stopped.refused == [pending], within=5)
    for shard in its_shards:
        lease = await crew.table.get(shard)
        assert lease is not None
        assert lease.owner in {"w1", "w2"}


async def test_a_fourth_worker_gets_its_share_within_a_few_balance_rounds(crew: Crew) -> None:
    for name in ("w0", "w1", "w2"):
        await crew.join(name)
    await even(crew, ["w0", "w1", "w2"], 4, within=6 * BALANCE)
    await crew.join("w3")
    took = await crew.drive(lambda: sorted(crew.shares().values()) == [3, 3, 3, 3], within=4 * BALANCE)
    assert took <= 3 * BALANCE + CONFIG.lease_scan_interval  # one lease stolen per balance round


async def test_a_clean_close_hands_its_shards_over_at_once_from_what_it_handled(
    server: KinesisServer, time: VirtualTime
) -> None:
    crew = Crew(server, time, "wide", aiokinesis.ConsumerConfig(checkpoint_interval=30.0))
    try:
        put(server, "wide", [f"v{n}" for n in range(600)], keys=60)
        for name in ("w0", "w1"):
            await crew.join(name)
        await even(crew, ["w0", "w1"], 6, within=8 * BALANCE)
        await crew.drive(lambda: len(crew.values()) == 600, within=60)
        await crew.stop("w0")
        took = await crew.drive(lambda: crew.workers["w1"].held() == set(TWELVE), within=FAILOVER)
        assert took <= CONFIG.lease_scan_interval + 0.25  # at w1's next look at the table
        put(server, "wide", [f"v{n}" for n in range(600, 900)], keys=60)
        await crew.drive(lambda: len(crew.values()) == 900, within=60)
    finally:
        await crew.aclose()
    handled = Counter(handled.record.data for handled in crew.log)
    assert [data for data, count in handled.items() if count > 1] == []  # w0 checkpointed all it handled
    assert_key_order(crew.log)


async def test_a_split_and_a_merge_keep_every_key_in_order_and_children_wait_for_parents(
    server: KinesisServer, time: VirtualTime
) -> None:
    crew = Crew(server, time, "s", CONFIG)
    try:
        put(server, "s", [f"v{n}" for n in range(200)], keys=40)
        for name in ("w0", "w1"):
            await crew.join(name)
        await even(crew, ["w0", "w1"], 2, within=6 * BALANCE)
        await crew.drive(lambda: len(crew.values()) == 200, within=60)
        stream = server.backend.streams["s"]
        first = stream.shard("shardId-000000000000")
        low, high = server.backend.split_shard(stream, first, (first.start_hash + first.end_hash) // 2)
        merged = server.backend.merge_shards(
            stream, stream.shard("shardId-000000000002"), stream.shard("shardId-000000000003")
        )
        put(server, "s", [f"v{n}" for n in range(200, 400)], keys=40)
        await crew.drive(lambda: len(crew.values()) == 400, within=120)
    finally:
        await crew.aclose()
    assert_key_order(crew.log)
    order = {(h.record.shard_id, h.record.data): n for n, h in enumerate(crew.log)}
    parents = {low.shard_id: ["shardId-000000000000"], high.shard_id: ["shardId-000000000000"]}
    parents[merged.shard_id] = ["shardId-000000000002", "shardId-000000000003"]
    for child, its_parents in parents.items():
        assert stream.shard(child).records  # 40 keys: every child got some
        child_first = min(n for (shard, _), n in order.items() if shard == child)
        last_of_parents = max(n for (shard, _), n in order.items() if shard in its_parents)
        assert last_of_parents < child_first  # every parent record was handled before the child's first
    for parent in ("shardId-000000000000", "shardId-000000000002", "shardId-000000000003"):
        lease = await crew.table.get(parent)
        assert lease is None or lease.ended
