"""The `application/vnd.amazon.eventstream` framing SubscribeToShard answers with.

A frame is: total length u32 | headers length u32 | CRC32 of those 8 bytes | headers |
payload | CRC32 of everything before it (all big-endian). A header is: name length u8,
name, type u8, value. The decoder is incremental: feed it chunks as they arrive.
"""

from __future__ import annotations

import struct
import uuid
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .errors import ProtocolError

HeaderValue = bool | int | bytes | str | datetime | uuid.UUID
_PRELUDE = struct.Struct(">III")
_PRELUDE_SIZE = 12
_CRC_SIZE = 4
_MIN_FRAME = _PRELUDE_SIZE + _CRC_SIZE
_MAX_FRAME = 24 * 1024 * 1024  # far above Kinesis's 10 MiB per event; guards against garbage
_MAX_HEADERS = 128 * 1024  # the format's limit, botocore's too
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Message:
    headers: Mapping[str, HeaderValue]
    payload: bytes


def _timestamp(name: str, milliseconds: int) -> datetime:
    """Exact to the millisecond (a float of seconds is not, far from 1970)."""
    try:
        return _EPOCH + timedelta(milliseconds=milliseconds)
    except OverflowError:
        raise ProtocolError(
            f"event stream header {name!r}: timestamp {milliseconds} ms is outside the years 1 to 9999"
        ) from None


def _read_headers(raw: bytes) -> dict[str, HeaderValue]:
    headers: dict[str, HeaderValue] = {}
    pos = 0
    end = len(raw)
    try:
        while pos < end:
            name_len = raw[pos]
            name = raw[pos + 1 : pos + 1 + name_len].decode("utf-8")
            pos += 1 + name_len
            kind = raw[pos]
            pos += 1
            value: HeaderValue
            if kind in (0, 1):
                value = kind == 0
            elif kind == 2:
                value = struct.unpack_from(">b", raw, pos)[0]
                pos += 1
            elif kind == 3:
                value = struct.unpack_from(">h", raw, pos)[0]
                pos += 2
            elif kind == 4:
                value = struct.unpack_from(">i", raw, pos)[0]
                pos += 4
            elif kind == 5:
                value = struct.unpack_from(">q", raw, pos)[0]
                pos += 8
            elif kind == 8:
                value = _timestamp(name, struct.unpack_from(">q", raw, pos)[0])
                pos += 8
            elif kind in (6, 7):
                (size,) = struct.unpack_from(">H", raw, pos)
                data = raw[pos + 2 : pos + 2 + size]
                value = data if kind == 6 else data.decode("utf-8")
                pos += 2 + size
            elif kind == 9:
                value = uuid.UUID(bytes=raw[pos : pos + 16])
                pos += 16
            else:
                raise ProtocolError(f"event stream header {name!r} has unknown type {kind}")
            if name in headers:  # which one to believe? botocore refuses such a frame too
                raise ProtocolError(f"event stream header {name!r} appears twice")
            headers[name] = value
    except (IndexError, struct.error, UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError(f"event stream headers are malformed: {exc}") from exc
    if pos != end:
        raise ProtocolError("event stream headers overrun their length")
    return headers


class Decoder:
    """Turns a byte stream into Messages, checking both CRCs of every frame."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    @property
    def pending(self) -> int:
        """Bytes received that do not yet make a whole frame."""
        return len(self._buffer)

    def feed(self, chunk: bytes) -> Iterator[Message]:
        """Add bytes; yield each message they complete."""
        buffer = self._buffer
        buffer += chunk
        while len(buffer) >= _PRELUDE_SIZE:
            total, headers_len, prelude_crc = _PRELUDE.unpack_from(buffer)
            if zlib.crc32(buffer[:8]) != prelude_crc:
                raise ProtocolError("event stream prelude CRC mismatch")
            if headers_len > _MAX_HEADERS or not _MIN_FRAME + headers_len <= total <= _MAX_FRAME:
                raise ProtocolError(f"event stream frame of impossible size {total} (headers {headers_len})")
            if len(buffer) < total:
                return
            frame = bytes(buffer[:total])
            del buffer[:total]
            (message_crc,) = struct.unpack_from(">I", frame, total - _CRC_SIZE)
            if zlib.crc32(frame[: total - _CRC_SIZE]) != message_crc:
                raise ProtocolError("event stream message CRC mismatch")
            headers_end = _PRELUDE_SIZE + headers_len
            yield Message(_read_headers(frame[_PRELUDE_SIZE:headers_end]), frame[headers_end : total - _CRC_SIZE])


def _encode_header(name: str, value: str | bytes | bool) -> bytes:
    raw_name = name.encode("utf-8")
    if isinstance(value, bool):
        return bytes([len(raw_name)]) + raw_name + bytes([0 if value else 1])
    data, kind = (value.encode("utf-8"), 7) if isinstance(value, str) else (value, 6)
    return bytes([len(raw_name)]) + raw_name + bytes([kind]) + struct.pack(">H", len(data)) + data


def encode(headers: Mapping[str, str | bytes | bool], payload: bytes) -> bytes:
    """One frame; what a server sends (our tests and the local test server use it)."""
    raw_headers = b"".join(_encode_header(name, value) for name, value in headers.items())
    total = _MIN_FRAME + len(raw_headers) + len(payload)
    prelude = struct.pack(">II", total, len(raw_headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + raw_headers + payload
    return body + struct.pack(">I", zlib.crc32(body))
