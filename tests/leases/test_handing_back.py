"""A clean close leaves nothing owned by the closing worker: besides the leases it holds, it
releases those it gave up while the table may still name it (by its own clock, or after a write
whose answer came late, never came, or was cut short by the close itself), each at the counter it
wrote or, if that write's outcome is unknown, the one above. The interleavings of issue #10.

Time is the KCL's: failover 10 s, renewals every 3.31 s, a look at the table every 5.01 s.
"""

from __future__ import annotations

import asyncio

from aiokinesis.leases import InMemoryLeases, Lease, Lost
from tests.fakes import VirtualTime
from tests.leases.helpers import CONFIG, advance, settle, shard_id, shards, worker

FAILOVER = CONFIG.failover_time
KEY = shard_id(0)


async def stored(table: InMemoryLeases) -> Lease:
    lease = await table.get(KEY)
    assert lease is not None
    return lease


async def test_a_renewal_answered_after_the_worker_gave_the_lease_up_by_its_clock_is_released_at_close() -> None:
    """The renewal lands at once, its answer comes after failover: the worker's clock gave the
    lease up first (it stops reading), yet the table names it, one counter on (CI of #10)."""
    time, table = VirtualTime(), InMemoryLeases()
    a = worker("a", table, time)
    late = asyncio.Event()
    a.table.late_answers["renew"] = late  # the first renewal (at 3.31 s) lands, answered late
    await a.start(shards(1))
    await advance(time, FAILOVER + 1.0)
    assert a.held([KEY]) == []  # given up at 10 s by its own clock
    late.set()
    await settle()
    assert ((await stored(table)).owner, (await stored(table)).counter) == ("a", 2)
    await a.close()
    assert (await stored(table)).owner is None


async def test_a_renewal_cut_short_by_the_close_is_released_one_counter_on() -> None:
    """The close cancels a renewal that had landed but not been answered: the counter the
    worker knows is one behind the table's, and a release at it alone would be refused."""
    time, table = VirtualTime(), InMemoryLeases()
    a = worker("a", table, time)
    a.table.late_answers["renew"] = asyncio.Event()  # never answered
    await a.start(shards(1))
    await advance(time, 4.0)
    assert ((await stored(table)).owner, (await stored(table)).counter) == ("a", 2)
    await a.close()
    assert ((await stored(table)).owner, (await stored(table)).counter) == (None, 3)


async def test_a_lease_lost_after_a_renewal_whose_answer_was_lost_is_released_at_close() -> None:
    """A renewal times out after it landed; the next, at the old counter, is refused, so the
    worker stops reading the shard, though the table names it still."""
    time, table = VirtualTime(), InMemoryLeases()
    a = worker("a", table, time)
    a.table.lost_answers.add("renew")
    await a.start(shards(1))
    await advance(time, 7.5)  # renewals at 3.31 s (landed, no answer) and 6.62 s (refused)
    assert a.held([KEY]) == []
    assert ((await stored(table)).owner, (await stored(table)).counter) == ("a", 2)
    await a.close()
    assert ((await stored(table)).owner, (await stored(table)).counter) == (None, 3)


async def test_a_take_whose_answer_was_lost_is_released_at_close() -> None:
    time, table = VirtualTime(), InMemoryLeases()
    a = worker("a", table, time)
    a.table.lost_answers.add("take")
    await a.start(shards(1))
    await settle()
    assert a.held([KEY]) == []
    assert (await stored(table)).owner == "a"
    await a.close()
    assert (await stored(table)).owner is None


async def test_a_stale_renewal_s_refusal_does_not_drop_the_lease_the_worker_took_back_since() -> None:
    """Renewals stop getting through; the worker gives the lease up at failover and, the lease
    expired in its own view, takes it back. The old renewal then arrives, at the old counter, and
    is refused: that refusal is about the lease given up, not the one held now."""
    time, table = VirtualTime(), InMemoryLeases()
    a = worker("a", table, time)
    await a.start(shards(1))
    await settle()
    a.table.hold("renew")
    await advance(time, 14.0)  # given up at 10 s, taken back at 10.03 s (counter 2)
    assert a.held([KEY]) == [KEY]
    assert ((await stored(table)).owner, (await stored(table)).counter) == ("a", 2)
    a.table.let_go()  # the renewal sent at 3.31 s (counter 1) arrives, then the one of 13.23 s
    await settle()
    assert a.held([KEY]) == [KEY]
    assert ((await stored(table)).owner, (await stored(table)).counter) == ("a", 3)
    await a.close()
    assert (await stored(table)).owner is None


async def test_a_release_one_counter_on_never_clears_a_lease_another_worker_took() -> None:
    """The close cuts short a renewal that never reached the table, and b took the lease from the
    counter a knew: neither of a's releases (at that counter, and the one above) may land."""
    time, table = VirtualTime(), InMemoryLeases()
    a = worker("a", table, time)
    await a.start(shards(1))
    await settle()
    a.table.hold("renew")
    await advance(time, 4.0)  # the renewal of 3.31 s waits at the gate: a does not know its outcome
    taken = await table.take(await stored(table), "b")
    assert not isinstance(taken, Lost)
    await a.close()
    assert ((await stored(table)).owner, (await stored(table)).counter) == ("b", 2)
    assert table.calls["release"] == 2  # both tried, both refused
