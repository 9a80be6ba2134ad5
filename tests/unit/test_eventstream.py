"""Event-stream framing checked against botocore's decoder, and SubscribeToShard through the client."""

from __future__ import annotations

import base64
import struct
import uuid
import zlib
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from aioresponses import aioresponses
from botocore.eventstream import EventStreamBuffer

import aiokinesis
from aiokinesis._eventstream import Decoder, encode

from .conftest import ANY_URL

CONSUMER = "arn:aws:kinesis:us-east-1:123456789012:stream/s/consumer/c:1"


def frame_with_every_header_type() -> bytes:
    """A frame built by hand: bool, byte, short, int, long, bytes, string, timestamp, uuid."""
    headers = b""
    values: list[tuple[str, int, bytes]] = [
        ("t", 0, b""),
        ("f", 1, b""),
        ("i8", 2, struct.pack(">b", -5)),
        ("i16", 3, struct.pack(">h", -300)),
        ("i32", 4, struct.pack(">i", 70000)),
        ("i64", 5, struct.pack(">q", 2**40)),
        ("bin", 6, struct.pack(">H", 3) + b"\x00\x01\x02"),
        ("str", 7, struct.pack(">H", 5) + "héll".encode()),
        ("ts", 8, struct.pack(">q", 1_700_000_000_123)),
        ("id", 9, uuid.UUID(int=42).bytes),
    ]
    for name, kind, value in values:
        headers += bytes([len(name)]) + name.encode() + bytes([kind]) + value
    payload = b'{"x": 1}'
    total = 16 + len(headers) + len(payload)
    prelude = struct.pack(">II", total, len(headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + headers + payload
    return body + struct.pack(">I", zlib.crc32(body))


def test_every_header_type_decodes_like_botocore() -> None:
    frame = frame_with_every_header_type()
    [ours] = list(Decoder().feed(frame))
    theirs_buffer = EventStreamBuffer()
    theirs_buffer.add_data(frame)
    [theirs] = list(theirs_buffer)
    assert ours.payload == theirs.payload == b'{"x": 1}'
    assert set(ours.headers) == set(theirs.headers)
    for name in ("t", "f", "i8", "i16", "i32", "i64", "bin", "str"):
        assert ours.headers[name] == theirs.headers[name], name
    assert ours.headers["ts"] == datetime.fromtimestamp(1_700_000_000.123, UTC)
    assert theirs.headers["ts"] == 1_700_000_000_123
    assert ours.headers["id"] == uuid.UUID(int=42)
    assert theirs.headers["id"] == uuid.UUID(int=42).bytes


def raw_frame(headers: bytes, payload: bytes = b"") -> bytes:
    """A frame around header bytes written by hand, both CRCs right."""
    total = 16 + len(headers) + len(payload)
    prelude = struct.pack(">II", total, len(headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + headers + payload
    return body + struct.pack(">I", zlib.crc32(body))


def timestamp_frame(milliseconds: int) -> bytes:
    return raw_frame(b"\x02ts\x08" + struct.pack(">q", milliseconds))


@pytest.mark.parametrize(
    ("milliseconds", "expected"),
    [
        (15_533_899_199_998, datetime(2462, 4, 1, 11, 59, 59, 998000, tzinfo=UTC)),  # was .997999
        (253_402_300_799_999, datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)),
        (-62_135_596_800_000, datetime(1, 1, 1, tzinfo=UTC)),
        (-1, datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)),
    ],
)
def test_timestamps_are_exact_to_the_millisecond(milliseconds: int, expected: datetime) -> None:
    [message] = list(Decoder().feed(timestamp_frame(milliseconds)))
    assert message.headers["ts"] == expected


@pytest.mark.parametrize("milliseconds", [253_402_300_800_000, -62_135_596_800_001, 2**63 - 1, -(2**63)])
def test_a_timestamp_no_datetime_holds_is_a_protocol_error(milliseconds: int) -> None:
    with pytest.raises(aiokinesis.ProtocolError, match=f"header 'ts': timestamp {milliseconds} ms is outside"):
        list(Decoder().feed(timestamp_frame(milliseconds)))


def test_a_header_that_appears_twice_is_a_protocol_error() -> None:
    frame = raw_frame(b"\x0d:message-type\x07\x00\x05event" + b"\x0d:message-type\x07\x00\x09exception")
    with pytest.raises(aiokinesis.ProtocolError, match="header ':message-type' appears twice"):
        list(Decoder().feed(frame))


def test_a_prelude_claiming_over_128_kib_of_headers_is_refused_at_once() -> None:
    """Not buffered until the frame's end arrives: the format allows 128 KiB of headers."""
    sizes = struct.pack(">II", 16 + 128 * 1024 + 1, 128 * 1024 + 1)
    with pytest.raises(aiokinesis.ProtocolError, match=r"impossible size 131089 \(headers 131073\)"):
        list(Decoder().feed(sizes + struct.pack(">I", zlib.crc32(sizes))))


def test_headers_of_128_kib_are_allowed() -> None:
    first, second = b"a" * 65535, b"b" * (128 * 1024 - 10 - 65535)
    headers = (
        b"\x01a\x06" + struct.pack(">H", len(first)) + first + b"\x01b\x06" + struct.pack(">H", len(second)) + second
    )
    assert len(headers) == 128 * 1024
    [message] = list(Decoder().feed(raw_frame(headers)))
    assert message.headers == {"a": first, "b": second}


def test_our_frames_decode_in_botocore() -> None:
    frame = encode({":message-type": "event", ":event-type": "X", "flag": True, "raw": b"\x00"}, b"payload")
    buffer = EventStreamBuffer()
    buffer.add_data(frame)
    [message] = list(buffer)
    assert message.headers == {":message-type": "event", ":event-type": "X", "flag": True, "raw": b"\x00"}
    assert message.payload == b"payload"


def test_frames_split_at_any_byte_are_reassembled() -> None:
    frames = [encode({"n": str(i)}, b"p" * i) for i in range(4)]
    stream = b"".join(frames)
    for cut in range(len(stream) + 1):
        decoder = Decoder()
        got = list(decoder.feed(stream[:cut])) + list(decoder.feed(stream[cut:]))
        assert [m.headers["n"] for m in got] == ["0", "1", "2", "3"], cut
        assert decoder.pending == 0


@pytest.mark.parametrize(
    ("corrupt", "match"),
    [
        (lambda f: f[:5] + bytes([f[5] ^ 1]) + f[6:], "prelude CRC"),
        (lambda f: f[:-5] + bytes([f[-5] ^ 1]) + f[-4:], "message CRC"),
        (
            lambda f: struct.pack(">II", 8, 0) + struct.pack(">I", zlib.crc32(struct.pack(">II", 8, 0))) + f[12:],
            "impossible size",
        ),
    ],
)
def test_corrupt_frames_are_protocol_errors(corrupt: Any, match: str) -> None:
    frame = encode({":message-type": "event"}, b"{}")
    with pytest.raises(aiokinesis.ProtocolError, match=match):
        list(Decoder().feed(corrupt(frame)))


def event(records: list[dict[str, Any]], continuation: str = "9") -> bytes:
    payload = {"Records": records, "ContinuationSequenceNumber": continuation, "MillisBehindLatest": 0}
    headers = {":message-type": "event", ":event-type": "SubscribeToShardEvent", ":content-type": "application/json"}
    return encode(headers, orjson.dumps(payload))


def record(n: int) -> dict[str, Any]:
    return {
        "SequenceNumber": str(n),
        "Data": base64.b64encode(f"r{n}".encode()).decode(),
        "PartitionKey": "k",
        "ApproximateArrivalTimestamp": 1700000000.5,
    }


async def subscribe(kinesis: aiokinesis.Client) -> aiokinesis.SubscribeToShardOutput:
    return await kinesis.subscribe_to_shard(
        consumer_arn=CONSUMER,
        shard_id="shardId-000000000000",
        starting_position=aiokinesis.StartingPosition(type=aiokinesis.ShardIteratorType.TRIM_HORIZON),
    )


async def test_subscribe_to_shard_streams_typed_events(kinesis: aiokinesis.Client, http: aioresponses) -> None:
    initial = encode({":message-type": "event", ":event-type": "initial-response"}, b"{}")
    future = encode({":message-type": "event", ":event-type": "SomethingNew"}, b"{}")
    body = initial + event([record(1), record(2)], "2") + future + event([], "2")
    http.post(
        ANY_URL, body=body, headers={"x-amzn-RequestId": "rid"}, content_type="application/vnd.amazon.eventstream"
    )
    out = await subscribe(kinesis)
    async with out.event_stream as events:
        assert events.request_id == "rid"
        got = [e async for e in events]
    assert [[r.data for r in e.records] for e in got] == [[b"r1", b"r2"], []]
    assert [e.continuation_sequence_number for e in got] == ["2", "2"]
    assert got[0].records[0].approximate_arrival_timestamp == datetime.fromtimestamp(1700000000.5, UTC)
    [(_, url)] = list(http.requests)
    [request] = http.requests[("POST", url)]
    assert request.kwargs["headers"]["X-Amz-Target"] == "Kinesis_20131202.SubscribeToShard"
    assert orjson.loads(request.kwargs["data"])["StartingPosition"] == {"Type": "TRIM_HORIZON"}


@pytest.mark.parametrize(
    ("message", "error", "text"),
    [
        (
            encode({":message-type": "exception", ":exception-type": "ResourceInUseException"}, b'{"message": "busy"}'),
            aiokinesis.ResourceInUseException,
            "busy",
        ),
        (
            encode({":message-type": "exception", ":exception-type": "BrandNewException"}, b"not json"),
            aiokinesis.UnknownServiceError,
            "BrandNewException",
        ),
        (
            encode({":message-type": "error", ":error-code": "InternalError", ":error-message": "boom"}, b""),
            aiokinesis.UnknownServiceError,
            "boom",
        ),
    ],
)
async def test_exception_events_raise_after_the_events_before_them(
    message: bytes, error: type[Exception], text: str, kinesis: aiokinesis.Client, http: aioresponses
) -> None:
    http.post(ANY_URL, body=event([record(1)]) + message)
    out = await subscribe(kinesis)
    got: list[aiokinesis.SubscribeToShardEvent] = []

    async def drain(events: aiokinesis.EventStream) -> None:
        async for item in events:
            got.append(item)

    async with out.event_stream as events:
        with pytest.raises(error, match=text):
            await drain(events)
    assert len(got) == 1


def corrupted(frame: bytes) -> bytes:
    """The frame with one bit of its payload flipped: its message CRC no longer matches."""
    return frame[:-5] + bytes([frame[-5] ^ 1]) + frame[-4:]


EXCEPTION = encode({":message-type": "exception", ":exception-type": "ResourceInUseException"}, b'{"message": "busy"}')


@pytest.mark.parametrize(
    ("end", "error"),
    [
        (corrupted(event([record(3)])), aiokinesis.ProtocolError),  # the good frames share its chunk
        (EXCEPTION + event([record(3)]), aiokinesis.ResourceInUseException),  # nothing follows an exception
    ],
    ids=["corrupt-frame", "exception-event"],
)
async def test_the_events_before_an_error_come_first_and_none_after_it(
    end: bytes, error: type[Exception], kinesis: aiokinesis.Client, http: aioresponses
) -> None:
    http.post(ANY_URL, body=event([record(1)]) + event([record(2)]) + end)
    out = await subscribe(kinesis)
    async with out.event_stream as events:
        assert [r.data for r in (await anext(events)).records] == [b"r1"]
        assert [r.data for r in (await anext(events)).records] == [b"r2"]
        with pytest.raises(error):
            await anext(events)
        # A caller who carries on after the error is told the stream is over, not given later events.
        with pytest.raises(StopAsyncIteration):
            await anext(events)
        assert [e async for e in events] == []


async def test_a_stream_cut_mid_frame_is_a_protocol_error(kinesis: aiokinesis.Client, http: aioresponses) -> None:
    http.post(ANY_URL, body=event([record(1)]) + event([record(2)])[:30])
    out = await subscribe(kinesis)
    async with out.event_stream as events:
        assert len((await anext(events)).records) == 1
        with pytest.raises(aiokinesis.ProtocolError, match="inside a frame"):
            await anext(events)


async def test_an_error_answer_before_the_stream_is_raised(kinesis: aiokinesis.Client, http: aioresponses) -> None:
    http.post(ANY_URL, status=400, body=b'{"__type": "ResourceNotFoundException", "message": "no consumer"}')
    with pytest.raises(aiokinesis.ResourceNotFoundException, match="no consumer"):
        await subscribe(kinesis)


async def test_an_event_stream_left_open_warns(kinesis: aiokinesis.Client, http: aioresponses) -> None:
    http.post(ANY_URL, body=event([]))
    out = await subscribe(kinesis)
    holder = [out]
    del out
    with pytest.warns(ResourceWarning, match="unclosed EventStream"):
        holder.clear()
