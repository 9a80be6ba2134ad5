"""One suite every LeaseStore passes: each write's condition, what it moves, what it keeps, and races.

Parametrized over the stores: InMemoryLeases, and DynamoDBLeases on DynamoDB Local (started once
per run by the `dynamodb_local_url` fixture). Each test gets a fresh, empty table from `store`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import uuid
from collections.abc import AsyncIterator

import pytest

import aiokinesis
from aiokinesis.leases import SHARD_END, TRIM_HORIZON, DynamoDBLeases, InMemoryLeases, Lease, LeaseStore, Lost
from tests.conftest import LOCAL_KEYS


@pytest.fixture(params=["memory", pytest.param("dynamodb", marks=pytest.mark.integration)])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[LeaseStore]:
    if request.param == "memory":
        yield InMemoryLeases()
        return
    endpoint: str = request.getfixturevalue("dynamodb_local_url")
    async with aiokinesis.Client(**LOCAL_KEYS) as kinesis:
        table = DynamoDBLeases(f"leases-{uuid.uuid4().hex[:12]}", endpoint_url=endpoint)
        table.attach(kinesis._dynamodb(endpoint_url=endpoint))
        await table.prepare()
        yield table


def lease(key: str = "shardId-000000000001", **fields: object) -> Lease:
    defaults: dict[str, object] = {"parents": ("shardId-000000000000",), "hash_range": (0, 99)}
    return Lease(key=key, **{**defaults, **fields})  # type: ignore[arg-type]


async def owned(store: LeaseStore, owner: str = "a", key: str = "shardId-000000000001") -> Lease:
    assert await store.create(lease(key))
    taken = await store.take(lease(key), owner)
    assert isinstance(taken, Lease)
    return taken


async def test_create_writes_only_if_absent(store: LeaseStore) -> None:
    first = lease(checkpoint="42", sub_sequence_number=3)
    assert await store.create(first)
    assert not await store.create(lease(checkpoint="99"))
    assert await store.get(first.key) == first  # the second create changed nothing
    assert await store.get("shardId-000000000009") is None


async def test_list_returns_every_lease_once(store: LeaseStore) -> None:
    keys = [f"shardId-{n:012d}" for n in range(250)]
    for key in keys:
        assert await store.create(lease(key))
    listed = await store.list_leases()
    assert sorted(item.key for item in listed) == keys
    assert len(listed) == len(keys)
    assert all(item == lease(item.key) for item in listed)


async def test_take_moves_owner_counter_and_switches_and_keeps_the_rest(store: LeaseStore) -> None:
    original = lease(checkpoint="42", sub_sequence_number=3, children=("shardId-000000000005",))
    assert await store.create(original)
    taken = await store.take(original, "a")
    assert taken == dataclasses.replace(original, owner="a", counter=1, owner_switches=1)
    again = await store.take(taken, "b")  # another worker takes it from a, on the counter it saw
    assert again == dataclasses.replace(original, owner="b", counter=2, owner_switches=2)
    assert await store.get(original.key) == again


async def test_take_is_conditioned_on_the_counter_alone(store: LeaseStore) -> None:
    taken = await owned(store, "a")
    assert await store.take(dataclasses.replace(taken, counter=0), "b") == Lost(taken.key)  # a stale view
    assert await store.take(dataclasses.replace(taken, owner="someone"), "b") != Lost(taken.key)  # owner not checked
    assert await store.take(lease("shardId-000000000077"), "b") == Lost("shardId-000000000077")  # gone


async def test_renew_moves_the_counter_only(store: LeaseStore) -> None:
    taken = await owned(store, "a")
    renewed = await store.renew(taken)
    assert renewed == dataclasses.replace(taken, counter=taken.counter + 1)
    assert await store.get(taken.key) == renewed


async def test_renew_is_refused_on_an_old_counter_another_owner_or_no_lease(store: LeaseStore) -> None:
    taken = await owned(store, "a")
    renewed = await store.renew(taken)
    assert isinstance(renewed, Lease)
    stolen = await store.take(renewed, "b")
    assert isinstance(stolen, Lease)
    assert await store.renew(renewed) == Lost(taken.key)  # a's counter is behind: b took it
    assert await store.renew(dataclasses.replace(stolen, owner="a")) == Lost(taken.key)  # right counter, not a's
    assert await store.renew(lease("shardId-000000000077", owner="a")) == Lost("shardId-000000000077")
    free = await store.release(stolen)
    assert isinstance(free, Lease)
    assert await store.renew(free) == Lost(taken.key)  # a free lease is nobody's to renew
    assert await store.get(taken.key) == free


async def test_release_removes_the_owner_and_moves_the_counter(store: LeaseStore) -> None:
    taken = await owned(store, "a")
    released = await store.release(taken)
    assert released == dataclasses.replace(taken, owner=None, counter=taken.counter + 1)
    assert await store.release(taken) == Lost(taken.key)  # its counter moved on
    assert isinstance(released, Lease)
    assert await store.release(released) == Lost(taken.key)  # nobody holds it
    retaken = await store.take(released, "b")
    assert retaken == dataclasses.replace(released, owner="b", counter=released.counter + 1, owner_switches=2)


async def test_release_by_another_worker_is_refused(store: LeaseStore) -> None:
    taken = await owned(store, "a")
    assert await store.release(dataclasses.replace(taken, owner="b")) == Lost(taken.key)
    assert await store.get(taken.key) == taken


async def test_checkpoint_sets_position_resets_switches_and_moves_the_counter(store: LeaseStore) -> None:
    taken = await owned(store, "a")
    first = await store.checkpoint(taken, "1000", 2)
    assert first == dataclasses.replace(
        taken, checkpoint="1000", sub_sequence_number=2, owner_switches=0, counter=taken.counter + 1
    )
    assert isinstance(first, Lease)
    ended = await store.checkpoint(first, SHARD_END, 0)
    assert isinstance(ended, Lease)
    assert (ended.checkpoint, ended.sub_sequence_number, ended.counter) == (SHARD_END, 0, taken.counter + 2)
    assert (ended.parents, ended.hash_range, ended.owner) == (taken.parents, taken.hash_range, "a")


async def test_checkpoint_is_fenced(store: LeaseStore) -> None:
    taken = await owned(store, "a")
    stolen = await store.take(taken, "b")
    assert isinstance(stolen, Lease)
    assert await store.checkpoint(taken, "1000", 0) == Lost(taken.key)  # a zombie's checkpoint
    assert await store.checkpoint(dataclasses.replace(stolen, owner="a"), "1000", 0) == Lost(taken.key)
    assert await store.checkpoint(lease("shardId-000000000077", owner="b"), "1", 0) == Lost("shardId-000000000077")
    assert await store.get(taken.key) == stolen  # nothing of the refused writes landed


async def test_set_children_needs_the_lease_and_leaves_the_counter(store: LeaseStore) -> None:
    taken = await owned(store, "a")
    children = ("shardId-000000000003", "shardId-000000000004")
    assert await store.set_children(taken.key, children)
    assert await store.get(taken.key) == dataclasses.replace(taken, children=children)
    assert not await store.set_children("shardId-000000000077", children)
    assert await store.get("shardId-000000000077") is None
    renewed = await store.renew(taken)  # the counter was not moved, so the holder's view still fences right
    assert isinstance(renewed, Lease)
    assert renewed.children == children


async def test_delete_only_a_finished_lease(store: LeaseStore) -> None:
    taken = await owned(store, "a")
    assert not await store.delete(taken.key)  # still being read
    ended = await store.checkpoint(taken, SHARD_END, 0)
    assert isinstance(ended, Lease)
    assert await store.delete(taken.key)
    assert await store.get(taken.key) is None
    assert not await store.delete(taken.key)
    assert await store.create(lease(taken.key))  # the key is free again


async def test_a_lease_round_trips_every_field(store: LeaseStore) -> None:
    full = Lease(
        key="shardId-000000000010",
        owner="worker-1",
        counter=17,
        checkpoint="49590338271490256608559692538361571095921575989136588898",
        sub_sequence_number=4,
        owner_switches=2,
        parents=("shardId-000000000007", "shardId-000000000008"),
        children=("shardId-000000000011",),
        hash_range=(0, 2**128 - 1),
    )
    sparse = Lease(key="shardId-000000000012", checkpoint=TRIM_HORIZON)
    assert await store.create(full)
    assert await store.create(sparse)
    assert await store.get(full.key) == full
    assert await store.get(sparse.key) == sparse
    assert sorted(await store.list_leases(), key=lambda item: item.key) == [full, sparse]


async def test_concurrent_takes_one_winner_per_counter_value(store: LeaseStore) -> None:
    """N workers x M rounds: each round every worker tries to take the lease at the counter it last
    saw. Exactly one take lands per counter value, and none is lost (the counter counts them)."""
    workers, rounds = 8, 25
    key = "shardId-000000000001"
    assert await store.create(lease(key))
    wins: list[tuple[int, str]] = []

    async def worker(name: str) -> None:
        jitter = random.Random(name)
        for _ in range(rounds):
            for _ in range(jitter.randrange(4)):  # workers out of step, as network delays put them
                await asyncio.sleep(0)
            seen = await store.get(key)
            assert seen is not None
            result = await store.take(seen, name)
            if isinstance(result, Lease):
                assert result.counter == seen.counter + 1
                wins.append((result.counter, name))

    async with asyncio.TaskGroup() as group:
        for n in range(workers):
            group.create_task(worker(f"w{n}"))
    final = await store.get(key)
    assert final is not None
    counters = [counter for counter, _ in wins]
    assert sorted(counters) == list(range(1, final.counter + 1))  # one winner per value, none missing
    assert final.owner == max(wins)[1]
    assert final.owner_switches == len(wins)
    assert len({name for _, name in wins}) > 1  # the tasks really interleaved


async def test_concurrent_renewals_and_takes_never_lose_an_update(store: LeaseStore) -> None:
    """Holders renew on their own view while thieves take: every landed write moved the counter by
    exactly one, and a holder's renewal never lands after its lease was taken."""
    keys = [f"shardId-{n:012d}" for n in range(4)]
    # Each holder starts from the lease it took, as a worker's renewer does. Read back once the tasks
    # run, a thief could have taken it first: the holder then "renewed" as the thief (renewals write
    # for the owner they are given) and its write landed after the take (failed 1 busy-core run).
    taken = {key: await owned(store, "holder", key) for key in keys}
    landed: list[tuple[str, int, str]] = []

    async def holder(key: str) -> None:
        view = taken[key]
        for _ in range(30):
            result = await store.renew(view)
            if isinstance(result, Lost):
                return
            landed.append((key, result.counter, "renew"))
            view = result

    async def thief(name: str) -> None:
        for round_ in range(30):
            key = keys[round_ % len(keys)]
            seen = await store.get(key)
            assert seen is not None
            if seen.owner == "holder" and round_ % 3 == 0:
                result = await store.take(seen, name)
                if isinstance(result, Lease):
                    landed.append((key, result.counter, name))

    async with asyncio.TaskGroup() as group:
        for key in keys:
            group.create_task(holder(key))
        for n in range(3):
            group.create_task(thief(f"t{n}"))
    for key in keys:
        final = await store.get(key)
        assert final is not None
        mine = sorted(counter for k, counter, _ in landed if k == key)
        assert mine == list(range(2, final.counter + 1))  # the first take (counter 1) was set-up
        takes = [(counter, who) for k, counter, who in landed if k == key and who != "renew"]
        if takes:
            first_take = min(takes)[0]
            assert all(c < first_take for k, c, who in landed if k == key and who == "renew")
