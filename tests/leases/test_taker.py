"""The taker's choice, as a pure function of the table it saw: targets, expiry, oldest first, stealing."""

from __future__ import annotations

import random
from collections import Counter

from aiokinesis.leases import SHARD_END, Lease
from aiokinesis.leases._taker import Take, choose
from aiokinesis.leases._view import TableView

FAILOVER = 10.0


def key(n: int) -> str:
    return f"shardId-{n:012d}"


def view_of(*batches: tuple[float, list[Lease]]) -> TableView:
    """A view that saw each batch of leases at its time (later batches update earlier ones)."""
    view = TableView(FAILOVER)
    for at, leases in batches:
        for lease in leases:
            view.note(lease, at)
    view.scanned = True
    return view


def owned(counts: dict[str | None, int]) -> list[Lease]:
    leases, n = [], 0
    for owner, count in counts.items():
        for _ in range(count):
            leases.append(Lease(key=key(n), owner=owner, counter=1))
            n += 1
    return leases


def pick(view: TableView, *, me: str = "me", now: float = 0.0, **options: object) -> list[Take]:
    held = [lease.key for lease in view.leases() if lease.owner == me]
    settings: dict[str, object] = {
        "max_leases": None,
        "max_steal": 1,
        "may_steal": True,
        "rand": random.Random(1).random,
    }
    settings.update(options)
    return choose(view, me=me, held=held, now=now, **settings)  # type: ignore[arg-type]


def test_a_lone_worker_takes_every_free_lease() -> None:
    view = view_of((0.0, owned({None: 12})))
    assert sorted(take.lease.key for take in pick(view)) == [key(n) for n in range(12)]


def test_the_target_is_the_ceiling_of_leases_over_workers() -> None:
    view = view_of((0.0, owned({"a": 5, "b": 2, None: 5})))  # 12 leases, workers a, b, me: target 4
    takes = pick(view)
    assert len(takes) == 4
    assert all(take.lease.owner is None and take.stolen_from is None for take in takes)


def test_one_lease_each_when_workers_outnumber_leases() -> None:
    view = view_of((0.0, owned({"a": 1, "b": 1, None: 1})))
    assert len(pick(view)) == 1
    assert pick(view_of((0.0, owned({"a": 1, "b": 1, "me": 1})))) == []


def test_max_leases_caps_the_target() -> None:
    view = view_of((0.0, owned({None: 12})))
    assert len(pick(view, max_leases=5)) == 5


def test_available_leases_untouched_longest_go_first_ties_at_random() -> None:
    old = [Lease(key=key(n), counter=3) for n in range(3)]
    new = [Lease(key=key(n), counter=1) for n in range(3, 9)]
    theirs = [Lease(key=key(20 + n), owner="a", counter=1) for n in range(9)]
    takes = pick(view_of((0.0, old), (5.0, new), (0.0, theirs)), now=5.0)  # 18 leases, a and me: target 9
    assert len(takes) == 9
    assert {take.lease.key for take in takes[:3]} == {key(n) for n in range(3)}  # the oldest first
    free = view_of((0.0, old), (5.0, new))
    orders = {tuple(take.lease.key for take in pick(free, rand=random.Random(seed).random)) for seed in range(10)}
    assert len(orders) > 1  # ties are broken at random, so workers starting together spread out


def test_an_expired_lease_is_available_and_its_owner_no_longer_counts() -> None:
    dead = [Lease(key=key(n), owner="dead", counter=4) for n in range(6)]
    alive = [Lease(key=key(n), owner="a", counter=2) for n in range(6, 12)]
    view = view_of((0.0, dead), (0.0, alive), (9.0, [Lease(key=key(n), owner="a", counter=3) for n in range(6, 12)]))
    assert pick(view, now=9.99, may_steal=False) == []  # not yet: the dead worker's leases moved 9.99 s ago
    takes = pick(view, now=10.0)  # workers a and me (dead is not counted): target 6
    assert sorted(take.lease.key for take in takes) == [key(n) for n in range(6)]
    assert all(take.stolen_from is None and take.lease.owner == "dead" for take in takes)


def test_a_lease_seen_owned_for_the_first_time_is_fresh() -> None:
    view = view_of((100.0, owned({"other": 4})))
    assert pick(view, now=109.0, may_steal=False) == []
    assert len(pick(view, now=110.0, may_steal=False)) == 4


def test_steal_one_from_the_most_loaded_worker_only_above_target() -> None:
    view = view_of((0.0, owned({"a": 8, "b": 4})))  # 12 leases, 3 workers: target 4
    takes = pick(view)
    assert len(takes) == 1
    assert takes[0].stolen_from == "a"
    assert takes[0].lease.owner == "a"
    assert pick(view, max_steal=3)[0].stolen_from == "a"
    assert len(pick(view, max_steal=3)) == 3  # a is 4 above target, this worker 4 below: 3 allowed
    assert pick(view, may_steal=False) == []  # only balance rounds steal
    assert pick(view, max_steal=0) == []


def test_no_steal_while_leases_are_available() -> None:
    view = view_of((0.0, owned({"a": 10, None: 2})))
    takes = pick(view)
    assert len(takes) == 2
    assert all(take.stolen_from is None for take in takes)


def test_no_steal_from_a_worker_at_target_unless_two_short() -> None:
    assert pick(view_of((0.0, owned({"a": 4, "b": 4, "me": 3})))) == []  # 11 leases: target 4, one short
    takes = pick(view_of((0.0, owned({"a": 4, "b": 4, "me": 2}))))  # 10 leases: 4/4/2 would never move
    assert len(takes) == 1
    assert takes[0].stolen_from in {"a", "b"}


def test_steals_spread_over_rounds_reach_an_even_share() -> None:
    leases = {lease.key: lease for lease in owned({"a": 12})}
    rand = random.Random(7).random
    for _ in range(10):
        for me in ("b", "c"):
            view = view_of((0.0, list(leases.values())))
            for take in pick(view, me=me, rand=rand):
                leases[take.lease.key] = Lease(key=take.lease.key, owner=me, counter=take.lease.counter + 1)
    assert Counter(lease.owner for lease in leases.values()) == {"a": 4, "b": 4, "c": 4}


def test_finished_and_blocked_leases_count_for_nobody_and_are_never_taken() -> None:
    parent = Lease(key=key(0), owner="a", counter=5, children=(key(1), key(2)))
    children = [Lease(key=key(n), parents=(key(0),)) for n in (1, 2)]
    other = Lease(key="WorkerMetricStats-host-1")  # a row that does not name a shard
    view = view_of((0.0, [parent, *children, other]))
    assert pick(view) == []  # the children wait for their parent; the other row is nobody's
    ended = view_of((0.0, [Lease(key=key(0), owner="a", counter=6, checkpoint=SHARD_END), *children, other]))
    assert sorted(take.lease.key for take in pick(ended)) == [key(1), key(2)]  # a's finished lease counts for nobody
