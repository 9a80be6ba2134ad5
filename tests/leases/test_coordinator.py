"""Workers coordinating through one in-memory table on virtual time: take, renew, expire, steal,
release, and the fencing that keeps a worker that lost a lease from writing to it.

Time is the KCL's: failover 10 s, renewals every 3.31 s, a look at the table every 5 s and a
balance round every 20.05 s.
"""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

import aiokinesis
from aiokinesis._shardstore import ShardInfo
from aiokinesis.leases import SHARD_END, TRIM_HORIZON, InMemoryLeases, Lease
from tests.fakes import VirtualTime
from tests.leases.helpers import CONFIG, STEP, PausableClock, advance, settle, shard_id, shards, worker

FAILOVER = CONFIG.failover_time
NO_STEALING = dataclasses.replace(CONFIG, max_leases_to_steal=0)
ALL = [shard_id(n) for n in range(4)]


async def test_a_lone_worker_takes_every_lease_at_once_and_keeps_it_renewed() -> None:
    time, table = VirtualTime(), InMemoryLeases()
    a = worker("a", table, time)
    await a.start(shards(4))
    await settle()
    assert a.held(ALL) == ALL  # the first take round runs at once: no wait for a scan interval
    assert a.changes == 1
    holding = a.coordinator.holding(ALL[0])
    assert (holding.held, holding.owner, holding.counter) == (True, "a", 1)
    changed_at = {key: time.now for key in ALL}
    counters = {key: 1 for key in ALL}
    gaps: list[float] = []

    def note() -> None:
        for key in ALL:
            counter = a.coordinator.holding(key).counter
            if counter != counters[key]:
                gaps.append(time.now - changed_at[key])
                counters[key], changed_at[key] = counter or 0, time.now

    await advance(time, 60.0, each=note)
    assert a.held(ALL) == ALL
    assert max(gaps) <= CONFIG.lease_renew_interval + 0.1  # renewed every third of failover, less 25 ms
    assert table.calls["renew"] == len(gaps)
    assert 4 * 17 <= table.calls["renew"] <= 4 * 19  # about 18 renewals per lease a minute
    assert 12 <= table.calls["list_leases"] <= 14  # one look at the table every 5 s (plus the first sync)
    await a.close()


async def test_a_worker_whose_renewals_hang_stops_reading_at_failover_by_its_own_clock() -> None:
    time, table = VirtualTime(), InMemoryLeases()
    a = worker("a", table, time)
    await a.start(shards(4))
    renewed = {"at": time.now, "counter": 1}

    def note() -> None:
        counter = a.coordinator.holding(ALL[0]).counter
        if counter != renewed["counter"]:
            renewed.update(at=time.now, counter=counter or 0)

    await advance(time, 5.0, each=note)
    assert renewed["counter"] == 2
    a.table.hold("renew")  # the table stops answering renewals (it would still take a checkpoint)
    changes = a.changes
    await advance(time, renewed["at"] + FAILOVER - STEP - time.now)
    assert a.held(ALL) == ALL  # still inside failover_time
    await advance(time, STEP)
    assert a.held(ALL) == []  # given up failover_time after its last successful renewal was sent
    assert a.changes > changes  # and the consumer was told
    with pytest.raises(aiokinesis.LeaseLostError, match="does not hold"):
        await a.coordinator.checkpoint(ALL[0], "7", 0)
    assert {lease.owner for lease in await table.list_leases()} == {"a"}  # nobody took them: its clock fenced it
    assert {lease.checkpoint for lease in await table.list_leases()} == {TRIM_HORIZON}  # and nothing was written
    a.table.let_go()
    await a.close()


async def test_a_dead_worker_s_leases_are_taken_within_one_and_a_half_failover_and_never_while_it_may_read() -> None:
    time, table = VirtualTime(), InMemoryLeases()
    a, b = worker("a", table, time), worker("b", table, time, config=NO_STEALING)
    await a.start(shards(4))
    await advance(time, 1.0)
    await b.start(shards(4))
    await advance(time, 7.0)
    assert (a.held(ALL), b.held(ALL)) == (ALL, [])
    await a.kill()  # kill -9: no release
    died = time.now
    overlaps: list[float] = []

    def check() -> None:
        if set(a.held(ALL)) & set(b.held(ALL)):
            overlaps.append(time.now)

    await advance(time, 1.5 * FAILOVER, each=check)
    assert b.held(ALL) == ALL  # within 1.5 x failover_time of the last renewal (it came before the kill)
    assert overlaps == []  # a's own clock gave them up before b could take them
    assert time.now - died <= 2 * FAILOVER
    taken = await table.list_leases()
    assert {(lease.owner, lease.owner_switches) for lease in taken} == {("b", 2)}


async def test_the_owner_s_deadline_runs_from_before_its_renewal_was_sent_not_from_a_late_answer() -> None:
    """A renewal lands at once but its answer comes 4 s late, and then the owner falls silent.
    The others' clocks started when they saw the counter move, so the owner must count from when
    it sent the write: counting from the answer, it would read on while another took the shard."""
    time, table = VirtualTime(), InMemoryLeases()
    a, b = worker("a", table, time), worker("b", table, time, config=NO_STEALING)
    await a.start(shards(1))
    await advance(time, 0.5)
    await b.start(shards(1))
    late = asyncio.Event()
    a.table.late_answers["renew"] = late  # the next renewal (at 3.375 s) is answered at 7.375 s
    await advance(time, 7.375 - 0.5)
    late.set()
    a.table.hold()  # then a's calls stop getting through
    overlaps: list[float] = []

    def check() -> None:
        if a.held([shard_id(0)]) and b.held([shard_id(0)]):
            overlaps.append(time.now)

    await advance(time, 2 * FAILOVER, each=check)
    assert b.held([shard_id(0)]) == [shard_id(0)]
    assert overlaps == []
    a.table.let_go()
    await a.close()
    await b.close()


async def test_a_joining_worker_steals_one_lease_per_balance_round_until_even() -> None:
    time, table = VirtualTime(), InMemoryLeases()
    keys = [shard_id(n) for n in range(12)]
    a, b = worker("a", table, time), worker("b", table, time)
    await a.start(shards(12))
    await advance(time, 1.0)
    await b.start(shards(12))
    await settle()
    joined, counts = time.now, [len(b.held(keys))]
    for rounds in range(1, 8):  # halfway between balance rounds
        await advance(time, joined + (rounds + 0.5) * CONFIG.lease_balance_interval - time.now)
        counts.append(len(b.held(keys)))
    assert counts == [1, 2, 3, 4, 5, 6, 6, 6]  # one steal a balance round, until both are at target
    assert len(a.held(keys)) == 6  # a noticed each loss at its next renewal
    assert not set(a.held(keys)) & set(b.held(keys))
    await a.close()
    await b.close()


async def test_a_stolen_lease_s_checkpoint_is_refused_before_its_old_holder_notices() -> None:
    time, table = VirtualTime(), InMemoryLeases()
    two = [shard_id(0), shard_id(1)]
    a, b = worker("a", table, time), worker("b", table, time)
    await a.start(shards(2))
    await advance(time, 1.0)
    await b.start(shards(2))  # a holds 2, the target is 1: b's first balance round steals one
    await settle()
    [stolen] = b.held(two)
    assert a.held(two) == two  # a does not know yet: its next renewal is up to 3.3 s away
    with pytest.raises(aiokinesis.LeaseLostError, match="another worker took it"):
        await a.coordinator.checkpoint(stolen, "9", 0)
    assert a.held(two) == [key for key in two if key != stolen]
    lease = await table.get(stolen)
    assert lease is not None
    assert (lease.owner, lease.checkpoint) == ("b", TRIM_HORIZON)  # the zombie's checkpoint did not land
    await a.close()
    await b.close()


async def test_a_worker_that_wakes_after_its_lease_was_taken_can_never_write_to_it() -> None:
    """A suspended machine: its process and its monotonic clock stop; on waking, its own clock says
    its leases are still good. Only the counter stops it, and it does."""
    time, table = VirtualTime(), InMemoryLeases()
    a_clock = PausableClock(time)
    a = worker("a", table, time, clock=a_clock)
    b = worker("b", table, time, config=NO_STEALING)
    await a.start(shards(2))
    await advance(time, 1.0)
    a.table.hold()
    a_clock.pause()
    await b.start(shards(2))
    await advance(time, 2 * FAILOVER)
    two = [shard_id(0), shard_id(1)]
    assert b.held(two) == two
    b_view = {lease.key: lease for lease in await table.list_leases()}
    a_clock.resume()
    assert a.held(two) == two  # by its own clock, less than a second has passed
    writing = asyncio.create_task(a.coordinator.checkpoint(two[0], "5", 0))
    await settle()
    a.table.let_go()  # its calls go through now, with the counters it saw before it stopped
    with pytest.raises(aiokinesis.LeaseLostError, match="another worker took it"):
        await writing
    await advance(time, 1.0)
    assert a.held(two) == []
    with pytest.raises(aiokinesis.LeaseLostError):
        await a.coordinator.checkpoint(two[1], "5", 0)
    after = {lease.key: lease for lease in await table.list_leases()}
    assert {key: (lease.owner, lease.checkpoint) for key, lease in after.items()} == {
        key: ("b", lease.checkpoint) for key, lease in b_view.items()
    }
    await a.close()
    await b.close()


async def test_a_closing_worker_releases_its_leases_and_another_takes_them_at_its_next_look() -> None:
    time, table = VirtualTime(), InMemoryLeases()
    a, b = worker("a", table, time), worker("b", table, time, config=NO_STEALING)
    await a.start(shards(4))
    await advance(time, 1.0)
    await b.start(shards(4))
    await advance(time, 2.0)
    assert b.held(ALL) == []
    await a.close()
    assert {lease.owner for lease in await table.list_leases()} == {None}
    closed = time.now
    await advance(time, CONFIG.lease_scan_interval)
    assert b.held(ALL) == ALL  # at b's next look at the table, not after failover_time
    assert time.now - closed < FAILOVER
    await b.close()


async def test_a_split_parent_s_children_wait_for_its_end_then_go_at_once() -> None:
    time, table = VirtualTime(), InMemoryLeases()
    parent, low, high = shard_id(0), shard_id(1), shard_id(2)
    a = worker("a", table, time)
    await a.start(shards(1))
    await settle()
    children = [ShardInfo(low, (parent,), (0, 9)), ShardInfo(high, (parent,), (10, 19))]
    await a.coordinator.checkpoint(parent, "100", 0)
    await a.coordinator.mark_ended(parent, children)
    await settle()  # the end woke the taker: the children are taken without waiting for a scan
    assert a.held([parent, low, high]) == [low, high]
    ended = await table.get(parent)
    assert ended is not None
    assert (ended.owner, ended.checkpoint, ended.children, ended.counter) == (None, SHARD_END, (low, high), 4)
    assert await table.get(low) == Lease(
        key=low, owner="a", counter=1, owner_switches=1, parents=(parent,), hash_range=(0, 9)
    )
    assert a.coordinator.finished(parent)
    assert not a.coordinator.finished(low)
    start = await a.coordinator.start(low)
    assert start is not None
    assert start.position == aiokinesis.StartingPosition.trim_horizon()
    await a.coordinator.checkpoint(low, "7", 0)
    await a.coordinator.discovered(shards(1))  # cleanup: high has not started, so the parent stays
    assert await table.get(parent) is not None
    await a.coordinator.checkpoint(high, "8", 2)
    await a.coordinator.discovered(shards(1))
    assert await table.get(parent) is None  # both children past their start: the finished lease goes
    assert a.coordinator.finished(parent)  # gone counts as finished
    resumed = await a.coordinator.start(high)
    assert resumed is not None
    assert (resumed.position, resumed.processed) == (aiokinesis.StartingPosition.at_sequence_number("8"), ("8", 2))
    await a.close()


async def test_a_lease_taken_as_the_worker_closes_is_released_with_the_others() -> None:
    """Closing cancels the take round; a take whose write had landed but whose answer had not
    come back is waited for and released, not left owned by a gone worker until it expires."""
    time, table = VirtualTime(), InMemoryLeases()
    a = worker("a", table, time)
    answer = asyncio.Event()
    a.table.late_answers["take"] = answer  # the first take is written at once, answered later
    await a.start(shards(1))
    await settle()
    taken = await table.get(shard_id(0))
    assert taken is not None
    assert taken.owner == "a"  # written; the worker does not know it yet
    closing = asyncio.create_task(a.close())  # cancels the run loop in the middle of that take
    await settle()
    answer.set()
    await closing
    released = await table.get(shard_id(0))
    assert released is not None
    assert released.owner is None
