"""aiokinesis.testing over HTTP/2 (h2c, prior knowledge), seen frame by frame with a small h2 client.

Every operation answers as over HTTP/1.1; SubscribeToShard streams on its HTTP/2 stream within
the flow-control windows; the subscription faults show on the wire as AWS's would.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest

from aiokinesis._eventstream import Message
from aiokinesis.testing import Fault, FaultKind, KinesisServer, Limits, _feed
from tests.fakes import FakeTime
from tests.faults.h2client import TARGET, H2Client, H2Stream

SHARD0, SHARD1 = "shardId-000000000000", "shardId-000000000001"


@pytest.fixture
async def server(fake_time: FakeTime) -> AsyncIterator[KinesisServer]:
    async with KinesisServer(streams={"s": 2}, clock=fake_time.clock, max_concurrent_streams=25) as local:
        yield local


@pytest.fixture
def consumer(server: KinesisServer) -> str:
    arn = server.backend.streams["s"].arn
    registered = server.backend.RegisterStreamConsumer({"StreamARN": arn, "ConsumerName": "efo"})
    consumer_arn: str = registered["Consumer"]["ConsumerARN"]
    return consumer_arn


@pytest.fixture
async def client(server: KinesisServer) -> AsyncIterator[H2Client]:
    async with await H2Client.connect(server.endpoint_url) as connection:
        yield connection


def put(server: KinesisServer, shard_id: str, data: bytes, stream: str = "s") -> str:
    shard = server.backend.streams[stream].shard(shard_id)
    request = {
        "StreamName": stream,
        "Data": base64.b64encode(data).decode(),
        "PartitionKey": "k",
        "ExplicitHashKey": str(shard.start_hash),
    }
    sequence: str = server.backend.PutRecord(request)["SequenceNumber"]
    return sequence


async def subscribe(client: H2Client, consumer: str, shard_id: str, start: str = "TRIM_HORIZON") -> H2Stream:
    """Open a subscription and read its initial-response."""
    stream = client.open(
        "SubscribeToShard", {"ConsumerARN": consumer, "ShardId": shard_id, "StartingPosition": {"Type": start}}
    )
    first = await stream.message()
    assert stream.status == 200, stream.headers
    assert stream.headers["content-type"] == "application/vnd.amazon.eventstream"
    assert first is not None
    assert first.headers[":event-type"] == "initial-response"
    return stream


async def first_not_an_event(stream: H2Stream) -> Message | None:
    """The first message that is no event (heartbeats may come before it), or None at the end."""
    for _ in range(20):
        message = await stream.message()
        if message is None or message.headers[":message-type"] != "event":
            return message
    raise AssertionError("only events came")


def data_of(event: dict[str, Any]) -> list[bytes]:
    return [base64.b64decode(r["Data"]) for r in event["Records"]]


async def records(stream: H2Stream, count: int) -> list[bytes]:
    """Events' records until count have arrived."""
    received: list[bytes] = []
    while len(received) < count:
        received += data_of(await stream.event())
    return received


async def test_json_operations_answer_as_over_http_1_1(server: KinesisServer, client: H2Client) -> None:
    assert server.http2
    assert client.conn.remote_settings.max_concurrent_streams == 25
    for operation, body in [
        ("ListShards", {"StreamName": "s"}),
        ("DescribeStreamSummary", {"StreamName": "s"}),
        ("ListShards", {"StreamName": "ghost"}),
        ("Nope", {}),
    ]:
        status, answer = await client.call(operation, body)
        async with (
            aiohttp.ClientSession() as http1,
            http1.post(
                server.endpoint_url,
                data=orjson.dumps(body),
                headers={"X-Amz-Target": TARGET + operation, "Content-Type": "application/x-amz-json-1.1"},
            ) as response,
        ):
            assert (status, answer) == (response.status, orjson.loads(await response.read()))
    assert status == 400
    assert answer["__type"] == "UnknownOperationException"


async def test_twenty_subscriptions_on_one_connection_all_receive_their_records(fake_time: FakeTime) -> None:
    async with (
        KinesisServer(streams={"wide": 20}, clock=fake_time.clock) as server,
        await H2Client.connect(server.endpoint_url) as client,
    ):
        arn = server.backend.streams["wide"].arn
        consumer = server.backend.RegisterStreamConsumer({"StreamARN": arn, "ConsumerName": "efo"})
        consumer_arn = consumer["Consumer"]["ConsumerARN"]
        shards = [f"shardId-{i:012d}" for i in range(20)]
        streams = [await subscribe(client, consumer_arn, shard) for shard in shards]
        assert len(server.subscriptions) == 20
        assert {s.stream_id for s in server.subscriptions} == {s.stream_id for s in streams}
        for shard in shards:
            put(server, shard, shard.encode(), stream="wide")
        for shard, stream in zip(shards, streams, strict=True):
            assert await records(stream, 1) == [shard.encode()]


async def test_a_stream_not_read_stops_at_its_window_while_the_others_flow(fake_time: FakeTime) -> None:
    async with (
        KinesisServer(streams={"s": 2}, clock=fake_time.clock, limits=Limits(enabled=False)) as server,
        await H2Client.connect(server.endpoint_url) as client,
    ):
        arn = server.backend.streams["s"].arn
        consumer = server.backend.RegisterStreamConsumer({"StreamARN": arn, "ConsumerName": "efo"})
        consumer_arn = consumer["Consumer"]["ConsumerARN"]
        read, idle = await subscribe(client, consumer_arn, SHARD0), await subscribe(client, consumer_arn, SHARD1)
        big = [bytes([i]) * 200_000 for i in range(3)]
        for data in big:
            put(server, SHARD0, data)
            put(server, SHARD1, data)
        assert await records(read, 3) == big  # 600 kB through a 64 KiB window: it reopens as we read
        blocked = next(s for s in server.subscriptions if s.shard_id == SHARD1)
        await client.until(lambda: blocked.bytes_waiting > 0)
        assert 0 < len(idle.unread) <= 65535  # what its window let through, and no more
        assert blocked.events_sent <= 2  # the empty first event at most: the 200 kB ones wait
        assert await records(idle, 3) == big  # reading it lets the rest through


async def test_goaway_names_the_last_stream_before_the_refused_one_then_closes(
    server: KinesisServer, consumer: str, client: H2Client
) -> None:
    older = await subscribe(client, consumer, SHARD0)
    fault = server.inject(Fault(kind=FaultKind.GOAWAY, operation="SubscribeToShard", shard=SHARD1))
    refused = client.open(
        "SubscribeToShard", {"ConsumerARN": consumer, "ShardId": SHARD1, "StartingPosition": {"Type": "LATEST"}}
    )
    await client.until(lambda: client.eof)
    assert fault.fired == 1
    assert client.goaway is not None
    assert client.goaway.error_code == 0
    assert client.goaway.last_stream_id == older.stream_id < refused.stream_id
    assert refused.status is None  # never answered: the client may retry it elsewhere


async def test_goaway_never_fires_over_http_1_1(server: KinesisServer, consumer: str) -> None:
    fault = server.inject(Fault(kind=FaultKind.GOAWAY, operation="SubscribeToShard"))
    body = {"ConsumerARN": consumer, "ShardId": SHARD0, "StartingPosition": {"Type": "LATEST"}}
    async with (
        aiohttp.ClientSession() as http1,
        http1.post(
            server.endpoint_url, data=orjson.dumps(body), headers={"X-Amz-Target": TARGET + "SubscribeToShard"}
        ) as response,
    ):
        assert response.status == 200
    assert fault.fired == 0


async def test_rst_stream_resets_one_subscription_and_the_others_go_on(
    server: KinesisServer, consumer: str, client: H2Client
) -> None:
    server.inject(Fault(kind=FaultKind.RST_STREAM, operation="SubscribeToShard", shard=SHARD0, events=1))
    doomed = await subscribe(client, consumer, SHARD0)
    other = await subscribe(client, consumer, SHARD1)
    await doomed.event()
    assert await doomed.message() is None
    assert doomed.reset_code == 2  # INTERNAL_ERROR
    assert not doomed.ended
    put(server, SHARD1, b"after the reset")
    assert await records(other, 1) == [b"after the reset"]
    assert other.reset_code is None
    assert client.goaway is None


async def test_a_drop_mid_event_leaves_half_a_frame_then_eof(
    server: KinesisServer, consumer: str, client: H2Client
) -> None:
    put(server, SHARD0, b"first")
    server.inject(Fault(kind=FaultKind.DROP_MID_EVENT, operation="SubscribeToShard", events=1))
    stream = await subscribe(client, consumer, SHARD0)
    assert data_of(await stream.event()) == [b"first"]
    put(server, SHARD0, b"cut")
    assert await stream.message() is None
    assert client.eof
    assert stream.decoder.pending > 0  # a frame begun, never finished
    assert not stream.ended
    assert stream.reset_code is None


async def test_a_silent_subscription_sends_nothing_until_the_client_goes(
    server: KinesisServer, consumer: str, client: H2Client, fake_time: FakeTime
) -> None:
    server.inject(Fault(kind=FaultKind.SILENT, operation="SubscribeToShard", shard=SHARD0))
    silent = await subscribe(client, consumer, SHARD0)
    put(server, SHARD0, b"never sent")
    fake_time.advance(400)  # past its 5 minutes too: a hung subscription does not even end
    control = await subscribe(client, consumer, SHARD1)
    await control.event()  # the server has streamed since; the silent one still has sent nothing
    (state,) = [s for s in server.subscriptions if s.shard_id == SHARD0]
    assert state.events_sent == 0
    assert not silent.unread
    assert not silent.ended
    client.reset(silent)
    await client.until(lambda: all(s.shard_id != SHARD0 for s in server.subscriptions))


async def test_an_exception_event_after_n_events_ends_the_stream(
    server: KinesisServer, consumer: str, client: H2Client
) -> None:
    server.inject(
        Fault(
            kind=FaultKind.EXCEPTION_EVENT,
            operation="SubscribeToShard",
            events=1,
            exception_type="KMSAccessDeniedException",
        )
    )
    put(server, SHARD0, b"one")
    stream = await subscribe(client, consumer, SHARD0)
    assert data_of(await stream.event()) == [b"one"]
    message = await stream.message()
    assert message is not None
    assert message.headers[":message-type"] == "exception"
    assert message.headers[":exception-type"] == "KMSAccessDeniedException"
    assert "message" in orjson.loads(message.payload)
    assert await stream.message() is None
    assert stream.ended


async def _refusal(client: H2Client, consumer: str, shard_id: str = SHARD0) -> tuple[int, str]:
    status, answer = await client.call(
        "SubscribeToShard", {"ConsumerARN": consumer, "ShardId": shard_id, "StartingPosition": {"Type": "LATEST"}}
    )
    return status, answer["__type"]


async def test_resource_in_use_within_5_s_on_the_injected_clock_and_one_call_a_second(
    server: KinesisServer, consumer: str, client: H2Client, fake_time: FakeTime
) -> None:
    await subscribe(client, consumer, SHARD0, "LATEST")
    fake_time.advance(0.5)
    assert await _refusal(client, consumer) == (400, "LimitExceededException")
    fake_time.advance(3.5)  # 4 s after the subscription: still in use
    assert await _refusal(client, consumer) == (400, "ResourceInUseException")
    fake_time.advance(1)
    await subscribe(client, consumer, SHARD0, "LATEST")  # 5 s on: accepted (and it takes over)
    fault = server.inject(Fault(kind=FaultKind.RESOURCE_IN_USE, operation="SubscribeToShard", shard=SHARD1))
    assert await _refusal(client, consumer, SHARD1) == (400, "ResourceInUseException")
    assert fault.fired == 1
    await subscribe(client, consumer, SHARD1, "LATEST")  # the fault refused it; nothing was in use


async def test_a_subscription_5_s_newer_takes_over_and_the_older_ends_with_resource_in_use(
    server: KinesisServer, consumer: str, client: H2Client, fake_time: FakeTime
) -> None:
    older = await subscribe(client, consumer, SHARD0)
    await older.event()
    fake_time.advance(5)
    await subscribe(client, consumer, SHARD0)
    message = await first_not_an_event(older)
    assert message is not None
    assert message.headers[":exception-type"] == "ResourceInUseException"
    assert await older.message() is None
    assert older.ended


async def test_moving_the_clock_past_5_minutes_ends_the_subscription_with_a_last_event(
    server: KinesisServer, consumer: str, client: H2Client, fake_time: FakeTime
) -> None:
    sequence = put(server, SHARD0, b"kept")
    stream = await subscribe(client, consumer, SHARD0)
    assert await records(stream, 1) == [b"kept"]
    fake_time.advance(300)
    last = await stream.event()  # the subscription's last event, then the stream just ends
    while (more := await stream.message()) is not None:  # (an empty heartbeat may have come first)
        last = orjson.loads(more.payload)
    assert stream.ended
    assert last["ContinuationSequenceNumber"] == sequence
    assert server.subscriptions == []


async def test_a_split_mid_subscription_ends_it_with_child_shards_and_no_continuation(
    server: KinesisServer, consumer: str, client: H2Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_feed, "SUBSCRIPTION_HEARTBEAT", 3600.0)  # the shard's end comes at once, not at a heartbeat
    stream = await subscribe(client, consumer, SHARD0)
    put(server, SHARD0, b"before")
    assert await records(stream, 1) == [b"before"]
    backend = server.backend
    children = backend.split_shard(backend.streams["s"], backend.streams["s"].shard(SHARD0), 2**126)
    event = await stream.event()
    while "ChildShards" not in event:
        event = await stream.event()
    assert event["ContinuationSequenceNumber"] is None
    assert sorted(c["ShardId"] for c in event["ChildShards"]) == sorted(c.shard_id for c in children)
    assert all(c["ParentShards"] == [SHARD0] for c in event["ChildShards"])
    assert await stream.message() is None
    assert stream.ended


async def test_deregistering_the_consumer_ends_its_subscriptions_with_resource_not_found(
    server: KinesisServer, consumer: str, client: H2Client
) -> None:
    stream = await subscribe(client, consumer, SHARD0)
    await stream.event()
    server.backend.DeregisterStreamConsumer({"ConsumerARN": consumer})
    message = await first_not_an_event(stream)
    assert message is not None
    assert message.headers[":exception-type"] == "ResourceNotFoundException"
    assert stream.ended


async def test_a_truncated_json_answer_resets_its_stream_only(server: KinesisServer, client: H2Client) -> None:
    server.inject(Fault(kind=FaultKind.TRUNCATED_BODY, operation="ListShards"))
    stream = client.open("ListShards", {"StreamName": "s"})
    body = await stream.read_body()
    assert stream.reset_code == 2
    assert 0 < len(body) < int(stream.headers["content-length"])
    status, answer = await client.call("ListShards", {"StreamName": "s"})
    assert status == 200
    assert len(answer["Shards"]) == 2


def test_max_concurrent_streams_is_checked() -> None:
    with pytest.raises(ValueError, match=r"KinesisServer\.max_concurrent_streams"):
        KinesisServer(max_concurrent_streams=0)


@pytest.mark.parametrize("leaves", ["resets the stream", "closes the connection"])
async def test_a_queue_long_poll_ends_when_its_client_resets_the_stream_or_goes_away(
    server: KinesisServer, client: H2Client, leaves: str
) -> None:
    backend = server.backend
    backend.create_stream("od", 1, mode="ON_DEMAND")
    created = backend.CreateQueue(
        {"QueueName": "q", "StreamConfigurationList": [{"StreamARN": backend.streams["od"].arn}]}
    )
    arn = created["QueueDescription"]["QueueARN"]
    async with await H2Client.connect(server.endpoint_url) as leaver:
        poll = leaver.open("ReceiveQueueRecords", {"QueueARN": arn, "WaitTimeSeconds": 20})
        await client.until(lambda: backend.receives_waiting == 1)
        if leaves == "resets the stream":
            leaver.reset(poll)
        else:
            await leaver.close()
        # Bounded at 10 s (`until`): a poll that waited out its 20 s would fail here.
        await client.until(lambda: backend.receives_waiting == 0)
    put(server, "shardId-000000000000", b"after", stream="od")
    status, answer = await client.call("ReceiveQueueRecords", {"QueueARN": arn})
    assert status == 200
    assert [(base64.b64decode(r["Data"]), r["ReceiveCount"]) for r in answer["QueueRecords"]] == [(b"after", 1)]
