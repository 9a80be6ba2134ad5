"""Shard iterators, ListShards NextTokens and queue receipt handles that describe themselves, sealed
with this server's key.

A token carries what the server needs to answer it (stream, shard, position, when it was
issued) and an HMAC, so the server keeps no table of the tokens it issued: a long test run
holds flat memory, and a forged, garbled or foreign token still gets AWS's error. An
iterator with a 128-character stream name is 252 characters, within AWS's 512.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import struct
from dataclasses import dataclass

_MAC_BYTES = 16
_ITERATOR = struct.Struct(">QdQ")  # serial, issued, position; then "stream/shard"
_NEXT_TOKEN = struct.Struct(">d")  # issued; then "stream/last shard id"
_ITERATOR_PURPOSE = b"shard-iterator\0"
_NEXT_TOKEN_PURPOSE = b"list-shards-next-token\0"
_RECEIPT = struct.Struct(">QB")  # delivery serial, dead letter; then "queue id/sequence number"
_RECEIPT_PURPOSE = b"queue-receipt-handle\0"


@dataclass(frozen=True, slots=True)
class IteratorState:
    """Where a shard iterator points, and which one it is."""

    stream: str
    shard_id: str
    position: int
    """Index into the shard's records of the next one to read."""
    issued: float
    serial: int
    """Counts up per iterator issued, so a fault can expire all iterators issued so far at once."""


@dataclass(frozen=True, slots=True)
class NextTokenState:
    """Where a ListShards NextToken resumes: after `after` in `stream`."""

    stream: str
    after: str
    issued: float


@dataclass(frozen=True, slots=True)
class ReceiptState:
    """Which delivery of which queue record a receipt handle names."""

    queue_id: str
    sequence: int
    serial: int
    """Counts up per delivery, so a handle from an earlier delivery of the record is told apart."""
    dead_letter: bool
    """Issued by ReceiveDeadLetterQueueRecords (True) or ReceiveQueueRecords (False)."""


class Tokens:
    """Seals and opens the tokens of one server (each server has its own random key)."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)

    def iterator(self, state: IteratorState) -> str:
        header = _ITERATOR.pack(state.serial, state.issued, state.position)
        return self._seal(_ITERATOR_PURPOSE, header + f"{state.stream}/{state.shard_id}".encode())

    def open_iterator(self, token: str) -> IteratorState | None:
        """The iterator's state, or None if this server did not issue it (forged, garbled, foreign)."""
        payload = self._open(_ITERATOR_PURPOSE, token)
        if payload is None or len(payload) < _ITERATOR.size:
            return None
        serial, issued, position = _ITERATOR.unpack_from(payload)
        stream, _, shard_id = payload[_ITERATOR.size :].decode().partition("/")
        return IteratorState(stream, shard_id, position, issued, serial)

    def next_token(self, state: NextTokenState) -> str:
        header = _NEXT_TOKEN.pack(state.issued)
        return self._seal(_NEXT_TOKEN_PURPOSE, header + f"{state.stream}/{state.after}".encode())

    def open_next_token(self, token: str) -> NextTokenState | None:
        """The token's state, or None if this server did not issue it."""
        payload = self._open(_NEXT_TOKEN_PURPOSE, token)
        if payload is None or len(payload) < _NEXT_TOKEN.size:
            return None
        (issued,) = _NEXT_TOKEN.unpack_from(payload)
        stream, _, after = payload[_NEXT_TOKEN.size :].decode().partition("/")
        return NextTokenState(stream, after, issued)

    def receipt_handle(self, state: ReceiptState) -> str:
        header = _RECEIPT.pack(state.serial, state.dead_letter)
        return self._seal(_RECEIPT_PURPOSE, header + f"{state.queue_id}/{state.sequence}".encode())

    def open_receipt_handle(self, token: str) -> ReceiptState | None:
        """The handle's delivery, or None if this server did not issue it."""
        payload = self._open(_RECEIPT_PURPOSE, token)
        if payload is None or len(payload) < _RECEIPT.size:
            return None
        serial, dead = _RECEIPT.unpack_from(payload)
        queue_id, _, sequence = payload[_RECEIPT.size :].decode().partition("/")
        return ReceiptState(queue_id, int(sequence), serial, bool(dead))

    def _mac(self, purpose: bytes, payload: bytes) -> bytes:
        return hmac.new(self._key, purpose + payload, hashlib.sha256).digest()[:_MAC_BYTES]

    def _seal(self, purpose: bytes, payload: bytes) -> str:
        return base64.b64encode(payload + self._mac(purpose, payload)).decode("ascii")

    def _open(self, purpose: bytes, token: str) -> bytes | None:
        try:
            raw = base64.b64decode(token, validate=True)
        except (binascii.Error, ValueError):  # not base64, or not ASCII
            return None
        payload, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
        if len(raw) <= _MAC_BYTES or not hmac.compare_digest(mac, self._mac(purpose, payload)):
            return None
        return payload
