"""The HTTP/2 transport against a scripted h2 server on 127.0.0.1: multiplexing, GOAWAY, RST_STREAM,
connection loss, PING liveness, flow control, error answers, closing, and the HTTP/1.1 fallbacks."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import urlsplit

import orjson
import pytest
from aiohttp import web
from aioresponses import aioresponses
from h2.errors import ErrorCodes

import aiokinesis
from aiokinesis._eventstream import encode
from aiokinesis._http2 import STREAM_WINDOW, Http2Stream
from aiokinesis._http2pool import MISSING_H2, Http2Pool, request_headers
from aiokinesis.config import HttpConfig
from tests.conftest import LOCAL_KEYS
from tests.fakes import FakeTime
from tests.h2server import Request, ScriptedH2Server
from tests.unit.conftest import ANY_URL, make_client

EVENT_HEADERS = {":message-type": "event", ":event-type": "SubscribeToShardEvent", ":content-type": "application/json"}


def event(continuation: str) -> bytes:
    payload = {"Records": [], "ContinuationSequenceNumber": continuation, "MillisBehindLatest": 0}
    return encode(EVENT_HEADERS, orjson.dumps(payload))


class Sleeps:
    """A sleep the test ends by hand: each call is queued with its seconds until released."""

    def __init__(self) -> None:
        self.asked: asyncio.Queue[tuple[float, asyncio.Future[None]]] = asyncio.Queue()

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.asked.put_nowait((seconds, future))
        await future

    async def release(self) -> float:
        """End the next sleep asked for; returns its seconds."""
        seconds, future = await self.asked.get()
        future.set_result(None)
        return seconds


@pytest.fixture
async def server() -> AsyncIterator[ScriptedH2Server]:
    async with ScriptedH2Server() as scripted:
        yield scripted


@pytest.fixture
async def pool() -> AsyncIterator[Http2Pool]:
    made = Http2Pool(HttpConfig(), sleep=Sleeps().sleep)  # PINGs never come due
    yield made
    await made.close()


async def request(pool: Http2Pool, url: str, body: bytes = b"{}") -> Http2Stream:
    host = urlsplit(url).netloc
    signed = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "T", "Host": host}
    headers = request_headers(f"{url}/", host, signed, body)
    stream = await pool.request(f"{url}/", host, headers, body, "SubscribeToShard")
    assert stream is not None
    return stream


async def opened(pool: Http2Pool, server: ScriptedH2Server) -> tuple[Http2Stream, Request]:
    """A stream the server answered 200, and the server's side of it."""
    task = asyncio.ensure_future(request(pool, server.url))
    arrived = await server.next_request()
    arrived.respond()
    return await task, arrived


async def test_streams_beyond_the_server_s_max_concurrent_streams_go_on_new_connections() -> None:
    """MAX_CONCURRENT_STREAMS=2 and 5 streams: 3 connections (a new one when all are full, no queueing)."""
    async with ScriptedH2Server(max_concurrent_streams=2) as server:
        pool = Http2Pool(HttpConfig(), sleep=Sleeps().sleep)
        streams = [(await opened(pool, server))[0] for _ in range(5)]
        assert len(server.connections) == 3
        assert sorted(c.streams for c in pool.connections()) == [1, 2, 2]
        await pool.close()
        for stream in streams:
            with pytest.raises(aiokinesis.ClientClosedError):
                await stream.read_chunk()


async def test_a_burst_of_streams_shares_one_connection(server: ScriptedH2Server, pool: Http2Pool) -> None:
    async def answer() -> None:
        for _ in range(20):
            (await server.next_request()).respond()

    answering = asyncio.ensure_future(answer())
    streams = await asyncio.gather(*(request(pool, server.url) for _ in range(20)))
    await answering
    assert len(server.connections) == 1
    assert pool.opened == 1
    assert len({s.stream_id for s in streams}) == 20


async def test_the_request_carries_pseudo_headers_and_the_signed_headers_lower_cased(
    server: ScriptedH2Server, pool: Http2Pool
) -> None:
    _, arrived = await opened(pool, server)
    host = urlsplit(server.url).netloc
    assert arrived.headers[":method"] == "POST"
    assert arrived.headers[":scheme"] == "http"
    assert arrived.headers[":authority"] == host
    assert arrived.headers[":path"] == "/"
    assert arrived.headers["x-amz-target"] == "T"
    assert "host" not in arrived.headers
    assert arrived.body == b"{}"


async def test_rst_stream_fails_that_stream_only(server: ScriptedH2Server, pool: Http2Pool) -> None:
    reset, reset_there = await opened(pool, server)
    other, other_there = await opened(pool, server)
    reset_there.reset(ErrorCodes.INTERNAL_ERROR)
    other_there.send(b"still here")
    assert await other.read_chunk() == b"still here"
    with pytest.raises(aiokinesis.ConnectionLostError, match="reset the stream"):
        await reset.read_chunk()
    assert reset.closed
    other_there.end()
    assert await other.read_chunk() == b""
    assert len(pool.connections()) == 1


async def test_closing_a_stream_cancels_it_alone(server: ScriptedH2Server, pool: Http2Pool) -> None:
    closed, closed_there = await opened(pool, server)
    other, other_there = await opened(pool, server)
    closed_there.send(b"unread")
    closed.close()
    connection = server.connections[0]
    await connection.round_trip()
    assert connection.resets == [(closed.stream_id, ErrorCodes.CANCEL)]
    other_there.send(b"more")
    assert await other.read_chunk() == b"more"
    assert pool.connections()[0].streams == 1


async def test_a_connection_lost_mid_data_fails_all_its_streams(server: ScriptedH2Server, pool: Http2Pool) -> None:
    first, first_there = await opened(pool, server)
    second, _ = await opened(pool, server)
    first_there.send(b"half an ev")
    await server.connections[0].round_trip()  # the bytes are in
    server.connections[0].drop()
    assert await first.read_chunk() == b"half an ev"  # what came before the loss is delivered first
    with pytest.raises(aiokinesis.ConnectionLostError):
        await first.read_chunk()
    with pytest.raises(aiokinesis.ConnectionLostError):
        await second.read_chunk()
    assert pool.connections() == []


async def test_a_connection_that_does_not_answer_a_ping_is_closed(server: ScriptedH2Server) -> None:
    sleeps = Sleeps()
    pool = Http2Pool(HttpConfig(ping_interval=7.0, ping_timeout=3.0), sleep=sleeps.sleep)
    stream, _ = await opened(pool, server)
    server.connections[0].deaf = True
    while await sleeps.release() == 7.0:  # intervals with traffic pass; the first quiet one sends a PING
        pass
    with pytest.raises(aiokinesis.ConnectionLostError, match="did not answer an HTTP/2 PING in 3 s"):
        await stream.read_chunk()
    assert pool.connections() == []
    await pool.close()


async def test_a_connection_that_answers_its_ping_stays(server: ScriptedH2Server) -> None:
    sleeps = Sleeps()
    pool = Http2Pool(HttpConfig(ping_interval=7.0, ping_timeout=3.0), sleep=sleeps.sleep)
    stream, there = await opened(pool, server)
    connection = server.connections[0]
    for _ in range(10):
        seconds, ended = await sleeps.asked.get()
        if seconds == 3.0:  # the PING is out: its timeout is running
            break
        ended.set_result(None)
    await connection.pinged.get()
    await connection.round_trip()  # the client has had the answer to its PING
    ended.set_result(None)
    seconds, ended = await sleeps.asked.get()  # the timeout passed without a failure: the next interval
    assert seconds == 7.0
    there.send(b"alive")
    assert await stream.read_chunk() == b"alive"
    await pool.close()


async def test_a_server_that_never_answers_times_out(server: ScriptedH2Server) -> None:
    pool = Http2Pool(HttpConfig(read_timeout=0.01), sleep=Sleeps().sleep)
    with pytest.raises(aiokinesis.RequestTimeoutError, match="no answer"):
        await request(pool, server.url)
    await server.connections[0].round_trip()
    assert server.connections[0].resets == [(1, ErrorCodes.CANCEL)]  # the stream is given up, not left open
    await pool.close()


async def test_a_reader_that_does_not_read_holds_the_server_at_the_window(
    server: ScriptedH2Server, pool: Http2Pool
) -> None:
    stream, there = await opened(pool, server)
    connection = server.connections[0]
    assert connection.h2.outbound_flow_control_window >= 100 * STREAM_WINDOW  # room for the cap's streams
    body = bytes(range(256)) * (STREAM_WINDOW // 256 + 400)
    sent = there.send(body)
    assert sent == STREAM_WINDOW  # blocked by the stream window alone
    await connection.round_trip()
    await connection.round_trip()  # whatever the client would send after the DATA has arrived
    assert there.window == 0
    assert [s for s, _ in connection.window_updates if s == stream.stream_id] == []

    received = bytearray()
    while len(received) < STREAM_WINDOW:
        received += await stream.read_chunk()
    await connection.round_trip()
    assert there.window > 0  # reading opened it
    while sent < len(body):
        sent += there.send(body[sent:])
        while len(received) < sent:
            received += await stream.read_chunk()
        await connection.round_trip()
    there.end()
    assert await stream.read_chunk() == b""
    assert bytes(received) == body


async def test_an_idle_spare_connection_is_closed_when_another_has_room() -> None:
    async with ScriptedH2Server(max_concurrent_streams=1) as server:
        pool = Http2Pool(HttpConfig(), sleep=Sleeps().sleep)
        first, _ = await opened(pool, server)
        second, _ = await opened(pool, server)
        assert len(pool.connections()) == 2
        first.close()
        assert len(pool.connections()) == 2  # the other has no room: the empty one stays for the next stream
        second.close()
        assert len(pool.connections()) == 1  # two empty: one is enough
        await pool.close()


# -- through the client: signing, retries, error mapping, closing -------------------------------------


@pytest.fixture
async def kinesis(server: ScriptedH2Server) -> AsyncIterator[aiokinesis.Client]:
    time = FakeTime()
    async with aiokinesis.Client(endpoint_url=server.url, sleep=time.sleep, rand=lambda: 0.5, **LOCAL_KEYS) as client:
        yield client


def subscribe(kinesis: aiokinesis.Client) -> Awaitable[aiokinesis.SubscribeToShardOutput]:
    return kinesis.subscribe_to_shard(
        consumer_arn="arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/c:1",
        shard_id="shardId-000000000000",
        starting_position=aiokinesis.StartingPosition(type="LATEST"),
    )


async def answered(
    kinesis: aiokinesis.Client, server: ScriptedH2Server, answer: Callable[[Request], None] = Request.respond
) -> tuple[aiokinesis.SubscribeToShardOutput, Request]:
    task = asyncio.ensure_future(subscribe(kinesis))
    arrived = await server.next_request()
    answer(arrived)
    return await task, arrived


async def test_subscriptions_are_signed_and_decoded_over_http2(
    kinesis: aiokinesis.Client, server: ScriptedH2Server
) -> None:
    out, there = await answered(kinesis, server)
    assert there.headers["x-amz-target"] == "Kinesis_20131202.SubscribeToShard"
    assert there.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDLOCAL/")
    assert "SignedHeaders=content-type;host;x-amz-date;x-amz-target" in there.headers["authorization"]
    there.send(event("41") + event("42"), end=True)
    async with out.event_stream as events:
        assert [e.continuation_sequence_number async for e in events] == ["41", "42"]
    assert out.event_stream.request_id == f"req-{there.stream_id}"


async def test_streams_above_goaway_s_last_stream_id_are_retried_on_a_new_connection(
    kinesis: aiokinesis.Client, server: ScriptedH2Server
) -> None:
    kept, kept_there = await answered(kinesis, server)
    moved = asyncio.ensure_future(subscribe(kinesis))
    refused = await server.next_request()
    assert refused.connection is server.connections[0]
    refused.connection.goaway(last_stream_id=kept_there.stream_id)
    retried = await server.next_request()
    assert retried.connection is server.connections[1]
    retried.respond()
    retried.send(event("2"))
    kept_there.send(event("1"), end=True)  # a stream at or below last_stream_id finishes
    async with kept.event_stream as events:
        assert [e.continuation_sequence_number async for e in events] == ["1"]
    async with (await moved).event_stream as events:
        assert (await anext(events)).continuation_sequence_number == "2"
    pool = kinesis._session.http2
    assert pool is not None
    assert len(pool.connections()) == 1  # the GOAWAY'd one closed once its last stream ended


async def test_an_error_answer_raises_the_modeled_error(kinesis: aiokinesis.Client, server: ScriptedH2Server) -> None:
    def refuse(request: Request) -> None:
        request.respond(400, {"content-type": "application/x-amz-json-1.1"})
        request.send(b'{"__type": "ResourceNotFoundException", "message": "no consumer c"}', end=True)

    with pytest.raises(aiokinesis.ResourceNotFoundException, match="no consumer c") as caught:
        await answered(kinesis, server, refuse)
    assert caught.value.status == 400
    assert caught.value.request_id == "req-1"


async def test_a_5xx_answer_is_retried(kinesis: aiokinesis.Client, server: ScriptedH2Server) -> None:
    task = asyncio.ensure_future(subscribe(kinesis))
    first = await server.next_request()
    first.respond(503, end=True)
    second = await server.next_request()
    second.respond()
    second.send(event("7"))
    async with (await task).event_stream as events:
        assert (await anext(events)).continuation_sequence_number == "7"
    assert len(server.connections) == 1


async def test_closing_the_client_mid_read_raises_client_closed(
    kinesis: aiokinesis.Client, server: ScriptedH2Server
) -> None:
    out, _ = await answered(kinesis, server)
    reading = asyncio.ensure_future(anext(out.event_stream))
    await server.connections[0].round_trip()
    await kinesis.aclose()
    with pytest.raises(aiokinesis.ClientClosedError):
        await reading
    assert out.event_stream._stream.closed


# -- HTTP/1.1 fallbacks ----------------------------------------------------------------------------


async def test_without_h2_streams_go_over_http1_and_it_is_logged_once(
    http: aioresponses, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "h2.connection", None)  # `import h2.connection` now fails
    monkeypatch.setattr(MISSING_H2, "given", False)
    caplog.set_level(logging.INFO, logger="aiokinesis._http2pool")
    for _ in range(2):
        http.post(ANY_URL, body=event("5"), status=200)
        async with make_client(FakeTime(), http=HttpConfig()) as client:
            async with (await subscribe(client)).event_stream as events:
                assert (await anext(events)).continuation_sequence_number == "5"
            assert client._session.http2 is None
    notes = [r for r in caplog.records if r.name == "aiokinesis._http2pool"]
    assert [r.levelno for r in notes] == [logging.INFO]
    assert "h2 is not installed" in notes[0].getMessage()


async def test_a_server_that_answers_the_preface_in_http1_gets_http1() -> None:
    async def handle(request: web.Request) -> web.StreamResponse:
        return web.Response(body=event("3"), content_type="application/vnd.amazon.eventstream")

    app = web.Application()
    app.router.add_post("/", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with aiokinesis.Client(endpoint_url=f"http://127.0.0.1:{port}", **LOCAL_KEYS) as client:
            for _ in range(2):  # the second goes straight to HTTP/1.1
                async with (await subscribe(client)).event_stream as events:
                    assert (await anext(events)).continuation_sequence_number == "3"
            pool = client._session.http2
            assert pool is not None
            assert pool.opened == 1
            assert pool.connections() == []
    finally:
        await runner.cleanup()
