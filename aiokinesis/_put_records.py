"""The client's PutRecords: entries as objects or tuples, one fused check per entry, results decoded on read.

The generated serializer is the one home of PutRecords' rules: it checks every entry as a
`PutRecordsRequestEntry`, then the 10 MiB of the whole request in a second pass (`_rules.records_size`).
Here one pass over the entries serializes those it can prove valid with a few type and length
tests (bytes data, a str key of 1-256 characters or none, an ASCII-digit hash key within 2**128 - 1)
and adds up the request's size as it goes. Anything else (a bytearray, a wrong type, a limit
passed or near) hands the whole request, tuples made objects, to the generated serializer: it
raises its own error, naming the entry, the field and the limit, or serializes what the fast test
was too strict for. So both paths send the same body and raise the same error as the generated
code, which the property tests check.
"""

from __future__ import annotations

from binascii import b2a_base64
from collections.abc import Iterator, Sequence
from typing import Any, TypeAlias, overload

from . import _rules
from ._generated.models import (
    PutRecordsInput,
    PutRecordsOutput,
    PutRecordsRequestEntry,
    PutRecordsResultEntry,
    _de_PutRecordsOutput,
    _de_PutRecordsResultEntry,
    _ser_PutRecordsInput,
)
from ._protocol import _at, _type_error
from .errors import ParamValidationError

EntryTuple: TypeAlias = tuple[bytes, str | None] | tuple[bytes, str | None, str | None]
"""`(data, partition_key)` or `(data, partition_key, explicit_hash_key)`: a PutRecordsRequestEntry's fields."""
Entry: TypeAlias = PutRecordsRequestEntry | EntryTuple

_Entry = PutRecordsRequestEntry
_ENTRY_KINDS = "PutRecordsRequestEntry or a (data, partition_key[, explicit_hash_key]) tuple"
_MAX_DATA = _rules.MAX_RECORD_BYTES  # the model's limit of one entry's data
_MAX_KEY = 256  # characters of a partition key (the model's)
_HASH_DIGITS = 39  # the model's pattern: 0, or up to 39 digits without a leading zero
_PROBE = [_Entry(data=b"", partition_key="k")]


def _as_entry(entry: object) -> object:
    """A tuple of two or three items as the entry it stands for; anything else as it is."""
    if type(entry) is tuple and 2 <= len(entry) <= 3:
        hash_key = entry[2] if len(entry) == 3 else None
        return _Entry(data=entry[0], partition_key=entry[1], explicit_hash_key=hash_key)
    return entry


def _kind_error(index: int, entry: object) -> ParamValidationError:
    field = _at("records", index)
    if isinstance(entry, tuple):
        return ParamValidationError(
            field, f"is a tuple of {len(entry)} items, not (data, partition_key[, explicit_hash_key])"
        )
    return _type_error(field, entry, _ENTRY_KINDS)


def _checked(records: object, members: dict[str, Any]) -> dict[str, Any]:
    """The generated serializer's body or error for the request, tuples given to it as entries; an item
    that is neither an entry nor such a tuple is refused where it refuses it, in these words."""
    if isinstance(records, tuple):
        records = list(records)
    if not isinstance(records, list) or not 1 <= len(records) <= 500:
        return _ser_PutRecordsInput(PutRecordsInput(records=records, **members))  # type: ignore[arg-type]
    entries = [_as_entry(entry) for entry in records]
    try:
        return _ser_PutRecordsInput(PutRecordsInput(records=entries, **members))  # type: ignore[arg-type]
    except ParamValidationError as exc:
        for index, entry in enumerate(entries):
            if exc.field == _at("records", index) and not isinstance(entry, _Entry):
                raise _kind_error(index, entry) from None
        raise


def _valid_hash_key(key: object) -> bool:
    """Within the model's pattern (ASCII digits only: stricter) and 2**128 - 1."""
    if type(key) is not str or not key.isascii() or not key.isdigit() or len(key) > _HASH_DIGITS:
        return False
    if key[0] == "0":
        return len(key) == 1
    return len(key) < _HASH_DIGITS or int(key) <= _rules.MAX_HASH_KEY


def request_body(
    records: Sequence[Entry],
    stream_name: str | None,
    stream_arn: str | None,
    stream_id: str | None,
    dry_run: bool | None,
) -> dict[str, Any]:
    """PutRecords' wire body, byte for byte what the generated serializer makes of the same entries."""
    members: dict[str, Any] = {
        "stream_name": stream_name,
        "stream_arn": stream_arn,
        "stream_id": stream_id,
        "dry_run": dry_run,
    }
    kind = type(records)
    if (kind is not list and kind is not tuple) or not 1 <= len(records) <= 500:
        return _checked(records, members)
    wire: list[dict[str, str]] = []
    append = wire.append
    data_bytes = key_chars = 0
    for entry in records:
        if type(entry) is tuple:
            if len(entry) == 2:
                data, key = entry
                hash_key = None
            elif len(entry) == 3:
                data, key, hash_key = entry
            else:
                return _checked(records, members)
        elif type(entry) is _Entry:
            data, key, hash_key = entry.data, entry.partition_key, entry.explicit_hash_key
        else:
            return _checked(records, members)
        if type(data) is not bytes or len(data) > _MAX_DATA:
            return _checked(records, members)
        if type(key) is str and 0 < len(key) <= _MAX_KEY:
            if hash_key is None:
                append({"Data": b2a_base64(data, newline=False).decode(), "PartitionKey": key})
            elif _valid_hash_key(hash_key):
                append(
                    {"Data": b2a_base64(data, newline=False).decode(), "ExplicitHashKey": hash_key, "PartitionKey": key}
                )
            else:
                return _checked(records, members)
            key_chars += len(key)
        elif key is None and (hash_key is None or _valid_hash_key(hash_key)):
            keyless = {"Data": b2a_base64(data, newline=False).decode()}
            if hash_key is not None:
                keyless["ExplicitHashKey"] = hash_key
            append(keyless)
        else:
            return _checked(records, members)
        data_bytes += len(data)
    if not _rules.surely_within_request(data_bytes, key_chars):  # near 10 MiB: the keys' bytes counted there
        return _checked(records, members)
    body = _ser_PutRecordsInput(PutRecordsInput(records=_PROBE, **members))  # the other members, by their rules
    body["Records"] = wire
    return body


class PutRecordsResults(Sequence[PutRecordsResultEntry]):
    """PutRecords' result entries as a sequence, each decoded the first time it is read: a caller that
    only checks `failed_record_count`, or reads a few failures, builds no or few objects.

    Compares equal to a list of the same entries, as the list it replaces did."""

    __slots__ = ("_built", "_wire")

    def __init__(self, wire: list[dict[str, Any]]) -> None:
        self._wire = wire
        self._built: list[PutRecordsResultEntry | None] | None = None

    def __len__(self) -> int:
        return len(self._wire)

    @overload
    def __getitem__(self, index: int) -> PutRecordsResultEntry: ...
    @overload
    def __getitem__(self, index: slice) -> list[PutRecordsResultEntry]: ...
    def __getitem__(self, index: int | slice) -> PutRecordsResultEntry | list[PutRecordsResultEntry]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self._wire)))]
        built = self._built
        if built is None:
            built = self._built = [None] * len(self._wire)
        entry = built[index]
        if entry is None:
            entry = built[index] = _de_PutRecordsResultEntry(self._wire[index])
        return entry

    def __iter__(self) -> Iterator[PutRecordsResultEntry]:
        for index in range(len(self._wire)):
            yield self[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PutRecordsResults):
            other = list(other)
        return list(self) == other if isinstance(other, list) else NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(list(self))


def parse_results(answer: dict[str, Any]) -> PutRecordsOutput:
    """The answer's members other than Records decoded by the generated parser; Records when read.

    The entries are checked to be objects here, so a malformed answer fails the call (a
    ProtocolError naming the member), not a later read."""
    wire = answer["Records"]
    if type(wire) is not list or not set(map(type, wire)) <= {dict}:
        raise TypeError("Records must be a list of objects")
    out = _de_PutRecordsOutput({**answer, "Records": ()})
    out.records = PutRecordsResults(wire)
    return out
