"""The enhanced fan-out consumer used as a hostile user would: cancelled anywhere, closed while
opening, its client closed under it, odd names, racing registrations, hundreds of renewals.

Afterwards nothing may be left behind: no subscription open on the server, no task, no unclosed
stream (the suite turns warnings into errors). Server and consumer share one injected clock, as in
test_fanout_faults.py.
"""

from __future__ import annotations

import asyncio
import gc
import random
from collections.abc import AsyncIterator

import aiohttp
import pytest

import aiokinesis
from aiokinesis.subscriptions import Events
from aiokinesis.testing import Fault, FaultKind, KinesisServer, StateDurations
from aiokinesis.testing._feed import OpenSubscription
from aiokinesis.testing._state import Subscription
from tests.conftest import LOCAL_KEYS
from tests.fakes import SharedTime
from tests.faults.test_consumer import consume, put_direct
from tests.faults.test_fanout_faults import TRIM, assert_once, until, values


@pytest.fixture
def shared() -> SharedTime:
    return SharedTime()


@pytest.fixture
async def server(shared: SharedTime) -> AsyncIterator[KinesisServer]:
    async with KinesisServer(streams={"s": 4}, clock=shared.clock, seed=3) as local:
        yield local


@pytest.fixture
async def kinesis(server: KinesisServer, shared: SharedTime) -> AsyncIterator[aiokinesis.Client]:
    async with aiokinesis.Client(
        endpoint_url=server.endpoint_url, clock=shared.clock, sleep=shared.sleep, rand=lambda: 0.5, **LOCAL_KEYS
    ) as client:
        yield client


def live_events() -> int:
    gc.collect()
    return sum(isinstance(o, Events) for o in gc.get_objects())


def held_by() -> list[str]:
    """What keeps the live Events alive (for the failure message: once in 19 busy runs some were)."""
    return sorted(
        f"{type(referrer).__qualname__} {getattr(referrer, 'f_code', None) or ''}"
        for o in gc.get_objects()
        if isinstance(o, Events)
        for referrer in gc.get_referrers(o)
    )


async def assert_no_events() -> None:
    """No Events left. The last streams are let go a loop turn or so after the consumer's own tasks
    end, once the tasks consumer_tasks() does not see (asyncio.wait's unnamed helpers, the server's
    handlers) have finished: counted at once, some were live in about 1 busy run of 10. A leak is
    never let go."""
    for _ in range(200):
        if not live_events():
            return
        await asyncio.sleep(0.005)
    assert live_events() == 0, held_by()


def consumer_tasks() -> set[asyncio.Task[object]]:
    """The SDK's tasks but the client's HTTP/2 connections (pooled: they outlive a consumer)."""
    return {
        t
        for t in asyncio.all_tasks()
        if t.get_name().startswith("aiokinesis") and not t.get_name().startswith("aiokinesis-http2")
    }


async def settled(server: KinesisServer, tasks: set[asyncio.Task[object]]) -> None:
    """Nothing of the consumer left: no subscription open on the server, no task of its own."""
    await until(lambda: not server.subscriptions)
    await until(lambda: not consumer_tasks() - tasks)


async def test_cancelled_at_any_point_it_leaves_nothing_open(server: KinesisServer, kinesis: aiokinesis.Client) -> None:
    put_direct(server, values(0, 200))
    before = consumer_tasks()
    draw = random.Random(11)

    async def read(name: str) -> None:
        async with kinesis.consumer("s", start=TRIM, enhanced_fan_out=name) as consumer:
            async for batch in consumer:
                await batch.checkpoint()

    for round_ in range(60):
        task = asyncio.create_task(read(f"app-{round_ % 3}"))
        # cancel it at a point of its run that moves each round: opening, subscribing, reading
        await asyncio.sleep(draw.random() * 0.03)
        for _ in range(draw.randrange(0, 5)):
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await settled(server, before)
    await assert_no_events()


async def test_closed_while_its_subscriptions_open_it_leaves_nothing_open(
    server: KinesisServer, kinesis: aiokinesis.Client
) -> None:
    put_direct(server, values(0, 100))
    before = consumer_tasks()
    for round_ in range(12):
        consumer = kinesis.consumer("s", start=TRIM, enhanced_fan_out="app", deregister_on_close=True)
        await consumer.__aenter__()
        opened = round_ % 4
        await until(lambda opened=opened: len(server.subscriptions) >= opened)  # 0 to 3 of the 4 open so far
        await consumer.aclose()
        await consumer.aclose()  # idempotent
        with pytest.raises(StopAsyncIteration):
            await anext(consumer)
        await settled(server, before)
        assert "app" not in server.backend.streams["s"].consumers, round_  # deregistered each time
    del consumer  # its finished shard tasks keep their tracebacks, and the streams (closed) in them
    await assert_no_events()


async def test_the_client_closed_under_the_consumer_ends_it_with_client_closed(
    server: KinesisServer, shared: SharedTime, caplog: pytest.LogCaptureFixture
) -> None:
    """The iteration raises ClientClosedError; leaving the block does not raise it again, though
    deregister_on_close cannot deregister through a closed client: it says so in the log."""
    put_direct(server, values(0, 100))
    client = aiokinesis.Client(endpoint_url=server.endpoint_url, clock=shared.clock, sleep=shared.sleep, **LOCAL_KEYS)
    async with client.consumer("s", start=TRIM, enhanced_fan_out="app", deregister_on_close=True) as consumer:
        got = await consume(consumer, 100)
        await client.aclose()
        with pytest.raises(aiokinesis.ClientClosedError):
            await consume(consumer, 1)
    assert_once(got, 100)
    assert any("still registered: the client was closed" in r.getMessage() for r in caplog.records)
    await until(lambda: not server.subscriptions)
    assert all(events.closed for events in gc.get_objects() if isinstance(events, Events))


async def test_closed_while_its_consumer_is_still_creating_it_closes_at_once_and_deregisters_it(
    shared: SharedTime,
) -> None:
    """The close does not wait (on the clock) for the registration to turn ACTIVE, up to
    FanOutConfig.active_timeout: it stops, and deregister_on_close still deregisters the name."""
    async with (
        KinesisServer(streams={"s": 2}, clock=shared.clock, durations=StateDurations(create=60)) as server,
        aiokinesis.Client(
            endpoint_url=server.endpoint_url, clock=shared.clock, sleep=shared.sleep, **LOCAL_KEYS
        ) as kinesis,
    ):
        consumers = server.backend.streams["s"].consumers
        opened = shared.now
        consumer = kinesis.consumer("s", start=TRIM, enhanced_fan_out="app", deregister_on_close=True)
        await consumer.__aenter__()
        await until(lambda: "app" in consumers)
        await consumer.aclose()
        assert shared.now < opened + 60  # it did not wait out CREATING
        assert "app" not in consumers
        with pytest.raises(StopAsyncIteration):
            await anext(consumer)


async def test_closed_while_its_registration_is_answered_it_deregisters_what_was_registered(
    server: KinesisServer, kinesis: aiokinesis.Client
) -> None:
    """The close cuts the registration short while its answer is on the way (a slow answer): the
    name registered all the same, and deregister_on_close deregisters it once the answer is in."""
    registered: list[object] = []
    register = server.backend.RegisterStreamConsumer

    def noting(request: dict[str, object]) -> dict[str, object]:
        registered.append(request.get("ConsumerName"))
        return register(request)

    server.backend.RegisterStreamConsumer = noting  # type: ignore[method-assign]
    slow = server.inject(Fault(kind=FaultKind.SLOW, operation="RegisterStreamConsumer", delay=0.2))
    consumer = kinesis.consumer("s", start=TRIM, enhanced_fan_out="app", deregister_on_close=True)
    await consumer.__aenter__()
    await until(lambda: slow.fired == 1)
    await consumer.aclose()
    await until(lambda: registered == ["app"])  # the server registered it, after its slow start
    assert "app" not in server.backend.streams["s"].consumers


@pytest.mark.parametrize("name", ["a", "A.b-c_9", "-", ".", "..", "x" * 128])
async def test_odd_but_valid_consumer_names_are_registered_and_read(
    server: KinesisServer, kinesis: aiokinesis.Client, name: str
) -> None:
    put_direct(server, values(0, 40))
    async with kinesis.consumer("s", start=TRIM, enhanced_fan_out=name, deregister_on_close=True) as consumer:
        got = await consume(consumer, 40)
        assert name in server.backend.streams["s"].consumers
    assert name not in server.backend.streams["s"].consumers
    assert_once(got, 40)


@pytest.mark.parametrize("name", ["", "a/b", "a:b", "é", "a b", "a\nb", "x" * 129])
def test_invalid_consumer_names_are_refused_before_anything_is_sent(kinesis: aiokinesis.Client, name: str) -> None:
    with pytest.raises(ValueError, match="enhanced_fan_out must be 1 to 128 characters"):
        kinesis.consumer("s", enhanced_fan_out=name)


async def test_two_readers_registering_one_name_at_once_both_read(
    server: KinesisServer, kinesis: aiokinesis.Client
) -> None:
    """Both call RegisterStreamConsumer together: one registers it, the other is told it is in use,
    finds it and reads through it all the same (taking the shards over in turn, as two readers of one
    name do without leases: see test_fanout_faults.py)."""
    put_direct(server, values(0, 200))
    registered: list[str] = []
    register = server.backend.RegisterStreamConsumer

    def counting(request: dict[str, object]) -> dict[str, object]:
        registered.append(str(request.get("ConsumerName")))
        return register(request)

    server.backend.RegisterStreamConsumer = counting  # type: ignore[method-assign]
    async with (
        kinesis.consumer("s", start=TRIM, enhanced_fan_out="app") as first,
        kinesis.consumer("s", start=TRIM, enhanced_fan_out="app") as second,
    ):
        got = await asyncio.gather(consume(first, 200), consume(second, 200))
    assert registered == ["app", "app"]  # both tried; one was refused as in use
    assert list(server.backend.streams["s"].consumers) == ["app"]
    for each in got:
        assert_once(each, 200)


def census() -> dict[str, int]:
    """Live objects a renewal makes, by kind: none may pile up over many renewals."""
    gc.collect()
    kinds = {"Events": Events, "Subscription": Subscription, "OpenSubscription": OpenSubscription}
    counts = {name: 0 for name in kinds}
    counts["ClientResponse"] = 0
    for obj in gc.get_objects():
        for name, kind in kinds.items():
            if isinstance(obj, kind):
                counts[name] += 1
        if isinstance(obj, aiohttp.ClientResponse):
            counts["ClientResponse"] += 1
    counts["tasks"] = len(asyncio.all_tasks())
    return counts


async def test_two_hundred_renewals_leave_the_consumer_and_the_server_no_bigger(shared: SharedTime) -> None:
    config = aiokinesis.ConsumerConfig(fan_out=aiokinesis.FanOutConfig(silence_timeout=1000))
    async with (
        KinesisServer(streams={"s": 2}, clock=shared.clock) as server,
        aiokinesis.Client(
            endpoint_url=server.endpoint_url, clock=shared.clock, sleep=shared.sleep, **LOCAL_KEYS
        ) as kinesis,
        kinesis.consumer("s", start=TRIM, enhanced_fan_out="app", config=config) as consumer,
    ):
        got: list[aiokinesis.ShardRecord] = []
        counts: dict[str, int] = {}
        for renewal in range(200):
            if renewal % 20 == 0:
                put_direct(server, values(renewal // 20 * 10, renewal // 20 * 10 + 10))
                got += await consume(consumer, 10)
            if renewal == 20:
                await until(lambda: live_events() == 2)  # both subscriptions open on this side too
                counts = census()
            await until(lambda: len(server.subscriptions) == 2)
            current = server.subscriptions  # held, so that no new subscription can reuse an old one's id
            shared.advance(301)  # Kinesis ends every subscription after 5 minutes
            await until(
                lambda old=current: (
                    len(server.subscriptions) == 2 and not {id(s) for s in old} & {id(s) for s in server.subscriptions}
                )
            )
            del current
        await until(lambda: live_events() == 2)
        # Tasks that served an ended subscription (the server's among them) may take a moment to
        # finish on a busy machine: a leak never does.
        await until(lambda: len(asyncio.all_tasks()) <= counts["tasks"])
        after = census()
        renewed = [p.retries for p in consumer.progress()]
    # Counted at like moments (both subscriptions open); anything kept per renewal would show 180 times over.
    assert {name: n for name, n in after.items() if n > counts[name]} == {}
    assert renewed == [0, 0]  # every one a renewal at Kinesis's end, none after a fault
    assert server.backend.throttled == 0
    assert_once(got, 100)
