"""Fuzzing the event-stream Decoder: valid frames in any chunking decode as botocore decodes them,
and garbled bytes are a ProtocolError and nothing else.

Runs are derandomized and bounded (no example database), so the suite stays deterministic and fast.
"""

from __future__ import annotations

import itertools
import struct
import uuid
import zlib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.eventstream import EventStreamBuffer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiokinesis import ProtocolError
from aiokinesis._eventstream import Decoder, Message

BOUNDED = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MILLISECOND = timedelta(milliseconds=1)
# The milliseconds a datetime can hold: 0001-01-01 to 9999-12-31 23:59:59.999.
FIRST_MS = (datetime(1, 1, 1, tzinfo=UTC) - EPOCH) // MILLISECOND
LAST_MS = (datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC) - EPOCH) // MILLISECOND


def frame(headers: bytes, payload: bytes) -> bytes:
    """One frame around raw header bytes, both CRCs right."""
    total = 16 + len(headers) + len(payload)
    prelude = struct.pack(">II", total, len(headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + headers + payload
    return body + struct.pack(">I", zlib.crc32(body))


def _sized(data: bytes) -> bytes:
    return struct.pack(">H", len(data)) + data


HEADER_VALUES: dict[int, st.SearchStrategy[bytes]] = {
    0: st.just(b""),
    1: st.just(b""),
    2: st.integers(min_value=-(2**7), max_value=2**7 - 1).map(lambda n: struct.pack(">b", n)),
    3: st.integers(min_value=-(2**15), max_value=2**15 - 1).map(lambda n: struct.pack(">h", n)),
    4: st.integers(min_value=-(2**31), max_value=2**31 - 1).map(lambda n: struct.pack(">i", n)),
    5: st.integers(min_value=-(2**63), max_value=2**63 - 1).map(lambda n: struct.pack(">q", n)),
    6: st.binary(max_size=300).map(_sized),
    7: st.text(max_size=100).map(lambda text: _sized(text.encode())),
    8: st.integers(min_value=FIRST_MS, max_value=LAST_MS).map(lambda n: struct.pack(">q", n)),
    9: st.binary(min_size=16, max_size=16),
}
NAMES = st.text(max_size=20)  # at most 80 bytes of UTF-8: fits the one-byte name length
HEADER_VALUE = st.sampled_from(sorted(HEADER_VALUES)).flatmap(
    lambda kind: HEADER_VALUES[kind].map(lambda value: (kind, value))
)
HEADERS = st.dictionaries(NAMES, HEADER_VALUE)


def encoded(headers: dict[str, tuple[int, bytes]] | list[tuple[str, tuple[int, bytes]]]) -> bytes:
    items = headers.items() if isinstance(headers, dict) else headers
    return b"".join(bytes([len(n.encode())]) + n.encode() + bytes([kind]) + v for n, (kind, v) in items)


FRAMES = st.lists(st.tuples(HEADERS, st.binary(max_size=2000)), min_size=1, max_size=5)


@st.composite
def chunked(draw: st.DrawFn, stream: bytes) -> list[bytes]:
    """stream cut at any points, empty chunks included."""
    cuts = sorted(draw(st.lists(st.integers(min_value=0, max_value=len(stream)), max_size=12)))
    bounds = [0, *cuts, len(stream)]
    return [stream[start:end] for start, end in itertools.pairwise(bounds)]


def decode(chunks: Iterable[bytes]) -> tuple[Decoder, list[Message]]:
    decoder = Decoder()
    out = [message for chunk in chunks for message in decoder.feed(chunk)]
    return decoder, out


def botocore_decodes(stream: bytes) -> list[Any]:
    buffer = EventStreamBuffer()
    buffer.add_data(stream)
    return list(buffer)


def assert_same(ours: Message, theirs: Any) -> None:
    """Equal header for header; botocore keeps timestamps as milliseconds and UUIDs as bytes."""
    assert ours.payload == theirs.payload
    assert list(ours.headers) == list(theirs.headers)
    for name, value in ours.headers.items():
        if isinstance(value, datetime):
            assert (value - EPOCH) // MILLISECOND == theirs.headers[name], name
        elif isinstance(value, uuid.UUID):
            assert value.bytes == theirs.headers[name], name
        else:
            assert value == theirs.headers[name], name
            assert type(value) is type(theirs.headers[name]), name


def in_chunks(streams: st.SearchStrategy[bytes]) -> st.SearchStrategy[tuple[bytes, list[bytes]]]:
    return streams.flatmap(lambda stream: st.tuples(st.just(stream), chunked(stream)))


VALID_STREAMS = FRAMES.map(lambda frames: b"".join(frame(encoded(h), p) for h, p in frames))


@BOUNDED
@given(in_chunks(VALID_STREAMS))
def test_valid_frames_decode_like_botocore_in_any_chunking(stream_and_chunks: tuple[bytes, list[bytes]]) -> None:
    stream, chunks = stream_and_chunks
    decoder, ours = decode(chunks)
    theirs = botocore_decodes(stream)
    assert len(ours) == len(theirs)
    for mine, other in zip(ours, theirs, strict=True):
        assert_same(mine, other)
    assert decoder.pending == 0


def fed(chunks: Iterable[bytes]) -> list[Message] | None:
    """The messages, or None for a ProtocolError: anything else escapes and fails the test."""
    try:
        return decode(chunks)[1]
    except ProtocolError:
        return None


@BOUNDED
@given(st.binary(max_size=3000).flatmap(chunked))
def test_arbitrary_bytes_are_a_protocol_error_or_nothing(chunks: list[bytes]) -> None:
    fed(chunks)


@st.composite
def flipped(draw: st.DrawFn, data: bytes) -> bytes:
    at = draw(st.integers(min_value=0, max_value=len(data) - 1))
    return data[:at] + bytes([data[at] ^ draw(st.integers(min_value=1, max_value=255))]) + data[at + 1 :]


@st.composite
def garbled_streams(draw: st.DrawFn) -> bytes:
    """Valid frames with damage the CRCs miss or catch: a byte flipped, a cut, a prelude (CRC right)
    claiming any sizes, arbitrary header bytes inside right CRCs, or headers that share names."""
    frames = b"".join(frame(encoded(h), p) for h, p in draw(FRAMES))
    kind = draw(st.sampled_from(["flip", "cut", "prelude", "headers", "names"]))
    if kind == "flip":
        return draw(flipped(frames))
    if kind == "cut":
        return frames[: draw(st.integers(min_value=0, max_value=len(frames)))]
    if kind == "prelude":
        sizes = struct.pack(">II", draw(st.integers(0, 2**32 - 1)), draw(st.integers(0, 2**32 - 1)))
        return sizes + struct.pack(">I", zlib.crc32(sizes)) + draw(st.binary(max_size=200)) + frames
    if kind == "headers":  # arbitrary bytes, or real headers with one byte flipped
        raw = draw(st.binary(max_size=300) | HEADERS.map(encoded).filter(bool).flatmap(flipped))
        return frame(raw, draw(st.binary(max_size=50))) + frames
    few_names = st.sampled_from([":message-type", ":event-type", "x"])
    headers = draw(st.lists(st.tuples(few_names, HEADER_VALUE), min_size=1, max_size=4))
    return frame(encoded(headers), b"{}") + frames


@BOUNDED
@given(in_chunks(garbled_streams()))
def test_garbled_streams_are_a_protocol_error_or_decode_like_botocore(
    stream_and_chunks: tuple[bytes, list[bytes]],
) -> None:
    stream, chunks = stream_and_chunks
    ours = fed(chunks)
    assert ours == fed([stream])  # the chunking changes nothing, errors included
    if ours is not None:
        theirs = botocore_decodes(stream)
        assert len(ours) == len(theirs)
        for mine, other in zip(ours, theirs, strict=True):
            assert_same(mine, other)
