"""The shard syncer's rules: which leases a listing adds, the children at a shard's end, and cleanup."""

from __future__ import annotations

import dataclasses

from aiokinesis._shardstore import ShardInfo
from aiokinesis.leases import LATEST, SHARD_END, TRIM_HORIZON, InMemoryLeases, Lease
from aiokinesis.leases._syncer import ShardSyncer, finished, missing
from aiokinesis.leases._view import TableView

P, Q, C1, C2, M, G = (f"shardId-00000000000{n}" for n in range(6))


def info(shard_id: str, *parents: str, hash_range: tuple[int, int] = (0, 9)) -> ShardInfo:
    return ShardInfo(shard_id, tuple(parents), hash_range)


def view_of(*leases: Lease) -> TableView:
    view = TableView(10.0)
    view.observe(leases, 0.0)
    return view


# P splits into C1 and C2; C2 and Q merge into M; M splits into G (and one more, unlisted here).
LISTING = [info(G, M), info(M, C2, Q), info(C2, P), info(C1, P), info(Q), info(P)]


def test_a_fresh_table_gets_every_shard_parents_first() -> None:
    created = missing(LISTING, view_of(), LATEST)
    order = [lease.key for lease in created]
    assert sorted(order) == sorted(shard.shard_id for shard in LISTING)
    for shard in LISTING:
        assert all(order.index(parent) < order.index(shard.shard_id) for parent in shard.parents)
    by_key = {lease.key: lease for lease in created}
    assert by_key[P].checkpoint == by_key[Q].checkpoint == LATEST  # roots start where the consumer starts
    assert {by_key[key].checkpoint for key in (C1, C2, M, G)} == {TRIM_HORIZON}  # continuations from their start
    assert by_key[M].parents == tuple(sorted((C2, Q)))
    assert (by_key[G].owner, by_key[G].counter, by_key[G].hash_range) == (None, 0, (0, 9))


def test_a_child_of_a_leased_parent_out_of_the_listing_still_continues_it() -> None:
    created = missing([info(C1, P)], view_of(Lease(key=P, checkpoint="5")), LATEST)
    assert [(lease.key, lease.checkpoint) for lease in created] == [(C1, TRIM_HORIZON)]


def test_shards_with_leases_or_leased_descendants_get_none() -> None:
    # P was read and its lease deleted once C1 and C2 had started: P must not be read again.
    view = view_of(Lease(key=C1, parents=(P,), checkpoint="7"), Lease(key=C2, parents=(P,), checkpoint="8"))
    created = missing(LISTING, view, TRIM_HORIZON)
    assert sorted(lease.key for lease in created) == [Q, M, G]
    # Deeper: P and C2 both gone, only M (their grandchild) leased.
    view = view_of(Lease(key=M, parents=(C2, Q), checkpoint="9"), Lease(key=C1, parents=(P,), checkpoint="3"))
    assert sorted(lease.key for lease in missing(LISTING, view, TRIM_HORIZON)) == [G]


def test_finished_leases_go_once_children_started_and_parents_are_gone() -> None:
    parent = Lease(key=P, checkpoint=SHARD_END, children=(C1, C2))
    waiting = Lease(key=C1, parents=(P,))  # TRIM_HORIZON: not started yet
    started = Lease(key=C2, parents=(P,), checkpoint="12")
    assert finished(view_of(parent, waiting, started)) == []
    assert finished(view_of(parent, started)) == []  # a child with no lease yet keeps its parent
    assert finished(view_of(parent, dataclasses.replace(waiting, checkpoint="3"), started)) == [P]
    assert finished(view_of(parent, dataclasses.replace(waiting, checkpoint=SHARD_END), started)) == [P]
    grand = Lease(key=Q, checkpoint=SHARD_END, children=(P,))
    below = dataclasses.replace(parent, parents=(Q,))
    assert finished(view_of(grand, below, dataclasses.replace(waiting, checkpoint="3"), started)) == [Q]  # top first
    assert finished(view_of(dataclasses.replace(parent, checkpoint="99"), started)) == []  # not at its end
    assert finished(view_of(dataclasses.replace(parent, children=()))) == []  # children unknown: kept


async def test_a_split_parent_creates_its_children_and_records_them() -> None:
    store = InMemoryLeases()
    parent = Lease(key=P, owner="a", counter=4, checkpoint="10")
    assert await store.create(parent)
    view = view_of(parent)
    syncer = ShardSyncer(store, view, worker_id="a", start=LATEST, clock=lambda: 0.0)
    await syncer.create_children(parent, [info(C1, P, hash_range=(0, 4)), info(C2, P, hash_range=(5, 9))])
    assert await store.get(C1) == Lease(key=C1, parents=(P,), hash_range=(0, 4))
    assert await store.get(C2) == Lease(key=C2, parents=(P,), hash_range=(5, 9))
    assert await store.get(P) == dataclasses.replace(parent, children=(C1, C2))
    assert view.get(C1) is not None


async def test_a_merge_child_waits_for_its_other_parent_s_lease() -> None:
    store = InMemoryLeases()
    first = Lease(key=C2, owner="a", counter=4, checkpoint="10")
    assert await store.create(first)
    syncer = ShardSyncer(store, view_of(first), worker_id="a", start=LATEST, clock=lambda: 0.0)
    await syncer.create_children(first, [info(M, C2, Q)])
    assert await store.get(M) is None  # Q has no lease yet: a child created now would not wait for it
    assert (await store.get(C2) or first).children == (M,)
    assert await store.create(Lease(key=Q, owner="b", counter=1))
    await syncer.create_children(first, [info(M, C2, Q)])
    assert await store.get(M) == Lease(key=M, parents=(C2, Q), hash_range=(0, 9))


async def test_sync_and_cleanup_write_only_what_is_missing_or_done() -> None:
    store = InMemoryLeases()
    assert await store.create(Lease(key=P, owner="b", counter=3, checkpoint="44"))
    view = view_of(*await store.list_leases())
    syncer = ShardSyncer(store, view, worker_id="a", start=LATEST, clock=lambda: 0.0)
    assert await syncer.sync([info(P), info(Q)]) == 1
    assert await store.get(P) == Lease(key=P, owner="b", counter=3, checkpoint="44")  # untouched
    assert await store.get(Q) == Lease(key=Q, checkpoint=LATEST, hash_range=(0, 9))
    assert await syncer.sync([info(P), info(Q)]) == 0
    assert await syncer.clean_up() == 0
    assert store.calls["delete"] == 0
