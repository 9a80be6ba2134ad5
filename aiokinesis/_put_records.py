"""The client's PutRecords: entries as objects or tuples, one fused check per entry, results decoded on read.

The generated serializer is the one home of PutRecords' rules: it checks every entry as a
`PutRecordsRequestEntry`, then the 10 MiB of the whole request in a second pass (`_rules.records_size`).
Here one pass over the entries serializes a request it can prove valid with a few type and length
tests per entry (bytes data, a str key of 1-128 characters or 1-256 ASCII ones or none, an
ASCII-digit hash key within 2**128 - 1) and adds up the request's size: a comprehension for the
usual request (all pairs, or all entries keyed without a hash key), a loop for any mix. Anything
else (a bytearray, a wrong type, a limit passed or near) hands the whole request, tuples made
objects, to the generated serializer: it raises its own error, naming the entry, the field and
the limit, or serializes what the fast test was too strict for. So both paths send the same body
and raise the same error as the generated code, which the property tests check.
"""

from __future__ import annotations

from binascii import b2a_base64
from collections.abc import Callable, Iterator, Sequence
from operator import attrgetter, itemgetter
from typing import Any, TypeAlias, overload

from . import _rules
from ._generated.models import (
    PutRecordsInput,
    PutRecordsOutput,
    PutRecordsRequestEntry,
    PutRecordsResultEntry,
    de_PutRecordsOutput,
    de_PutRecordsResultEntry,
    ser_PutRecordsInput,
)
from ._protocol import field_at, type_error
from .errors import ParamValidationError

EntryTuple: TypeAlias = tuple[bytes, str | None] | tuple[bytes, str | None, str | None]
"""`(data, partition_key)` or `(data, partition_key, explicit_hash_key)`: a PutRecordsRequestEntry's fields."""
Entry: TypeAlias = PutRecordsRequestEntry | EntryTuple

_Entry = PutRecordsRequestEntry
_ENTRY_KINDS = "PutRecordsRequestEntry or a (data, partition_key[, explicit_hash_key]) tuple"
_MAX_KEY = 256  # characters of a partition key (the model's), UTF-16 code units as Kinesis counts them
_SURE_KEY = _MAX_KEY // 2  # a key this long is within 256 code units, whatever its characters
_HASH_DIGITS = 39  # the model's pattern: 0, or up to 39 digits without a leading zero
_PROBE = [_Entry(data=b"", partition_key="k")]
_FIRST, _SECOND = itemgetter(0), itemgetter(1)
_DATA, _KEY = attrgetter("data"), attrgetter("partition_key")


def _as_entry(entry: object) -> object:
    """A tuple of two or three items as the entry it stands for; anything else as it is."""
    if type(entry) is tuple and 2 <= len(entry) <= 3:
        hash_key = entry[2] if len(entry) == 3 else None
        return _Entry(data=entry[0], partition_key=entry[1], explicit_hash_key=hash_key)
    return entry


def _kind_error(index: int, entry: object) -> ParamValidationError:
    field = field_at("records", index)
    if isinstance(entry, tuple):
        return ParamValidationError(
            field, f"is a tuple of {len(entry)} items, not (data, partition_key[, explicit_hash_key])"
        )
    return type_error(field, entry, _ENTRY_KINDS)


def _checked(records: object, members: dict[str, Any]) -> dict[str, Any]:
    """The generated serializer's body or error for the request, tuples given to it as entries; an item
    that is neither an entry nor such a tuple is refused where it refuses it, in these words."""
    if isinstance(records, tuple):
        records = list(records)
    if not isinstance(records, list) or not 1 <= len(records) <= 500:
        return ser_PutRecordsInput(PutRecordsInput(records=records, **members))  # type: ignore[arg-type]
    entries = [_as_entry(entry) for entry in records]
    try:
        return ser_PutRecordsInput(PutRecordsInput(records=entries, **members))  # type: ignore[arg-type]
    except ParamValidationError as exc:
        for index, entry in enumerate(entries):
            if exc.field == field_at("records", index) and not isinstance(entry, _Entry):
                raise _kind_error(index, entry) from None
        raise


def _valid_hash_key(key: object) -> bool:
    """Within the model's pattern (ASCII digits only: stricter) and 2**128 - 1."""
    if type(key) is not str or not key.isascii() or not key.isdigit() or len(key) > _HASH_DIGITS:
        return False
    if key[0] == "0":
        return len(key) == 1
    return len(key) < _HASH_DIGITS or int(key) <= _rules.MAX_HASH_KEY


def _uniform(records: list[Any] | tuple[Any, ...]) -> list[dict[str, str]] | None:
    """The wire entries of the usual request, in one comprehension: every entry a `(bytes, str)` pair,
    or every one a PutRecordsRequestEntry of bytes and a str key without a hash key, each key of 1-128
    characters or 1-256 ASCII ones, the whole surely within 10 MiB. None for any other request."""
    kinds = set(map(type, records))
    data_of: Callable[[Any], Any]
    key_of: Callable[[Any], Any]
    if kinds == {tuple}:
        try:
            wire = [
                {"Data": b2a_base64(data, newline=False).decode(), "PartitionKey": key}
                for data, key in records
                if type(data) is bytes
                and type(key) is str
                and key  # a str's truth: not empty
                and (len(key) <= _SURE_KEY or (len(key) <= _MAX_KEY and key.isascii()))
            ]
        except ValueError:  # a tuple of another length than two
            return None
        data_of, key_of = _FIRST, _SECOND
    elif kinds == {_Entry}:
        wire = [
            {"Data": b2a_base64(entry.data, newline=False).decode(), "PartitionKey": entry.partition_key}
            for entry in records
            if type(entry.data) is bytes
            and entry.explicit_hash_key is None
            and type(entry.partition_key) is str
            and entry.partition_key
            and (
                len(entry.partition_key) <= _SURE_KEY
                or (len(entry.partition_key) <= _MAX_KEY and entry.partition_key.isascii())
            )
        ]
        data_of, key_of = _DATA, _KEY
    else:
        return None
    if len(wire) < len(records):
        return None
    # Within 10 MiB in all, each entry's data is within its own limit (the same number) too. Keys
    # are counted only if 256 characters each might not fit.
    data_bytes = sum(map(len, map(data_of, records)))
    if _rules.surely_within_request(data_bytes, _MAX_KEY * len(records)):
        return wire
    return wire if _rules.surely_within_request(data_bytes, sum(map(len, map(key_of, records)))) else None


def _fused(records: list[Any] | tuple[Any, ...]) -> list[dict[str, str]] | None:
    """The wire entries of any mix of entries, tuples, hash keys and keyless records, one fused check
    (types, data size, key length, hash key) per entry and the 10 MiB added up on the way. None as
    soon as an entry is not surely valid."""
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
                return None
        elif type(entry) is _Entry:
            data, key, hash_key = entry.data, entry.partition_key, entry.explicit_hash_key
        else:
            return None
        if type(data) is not bytes:
            return None
        encoded = b2a_base64(data, newline=False).decode()
        if (
            type(key) is str
            and key  # not empty
            and (len(key) <= _SURE_KEY or (len(key) <= _MAX_KEY and key.isascii()))
        ):
            if hash_key is None:
                append({"Data": encoded, "PartitionKey": key})
            elif _valid_hash_key(hash_key):
                append({"Data": encoded, "ExplicitHashKey": hash_key, "PartitionKey": key})
            else:
                return None
            key_chars += len(key)
        elif key is None and (hash_key is None or _valid_hash_key(hash_key)):
            append({"Data": encoded} if hash_key is None else {"Data": encoded, "ExplicitHashKey": hash_key})
        else:
            return None
        data_bytes += len(data)
    return wire if _rules.surely_within_request(data_bytes, key_chars) else None


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
    wire = _uniform(records)  # type: ignore[arg-type]
    if wire is None:
        wire = _fused(records)  # type: ignore[arg-type]
        if wire is None:
            return _checked(records, members)
    body = ser_PutRecordsInput(PutRecordsInput(records=_PROBE, **members))  # the other members, by their rules
    body["Records"] = wire
    return body


class PutRecordsResults(Sequence[PutRecordsResultEntry]):
    """PutRecords' result entries as a sequence, each decoded the first time it is read: a caller that
    only checks `failed_record_count`, or reads a few failures, builds no or few objects.

    Compares equal to a list of the same entries, as the list it replaces did."""

    __slots__ = ("_all", "_built", "_wire")

    def __init__(self, wire: list[dict[str, Any]]) -> None:
        self._wire = wire
        self._built: list[PutRecordsResultEntry | None] | None = None
        """The entries read so far, by index (None: not read); None until one is."""
        self._all: list[PutRecordsResultEntry] | None = None
        """Every entry, once an iteration decoded those not read yet."""

    def __len__(self) -> int:
        return len(self._wire)

    @overload
    def __getitem__(self, index: int) -> PutRecordsResultEntry: ...
    @overload
    def __getitem__(self, index: slice) -> list[PutRecordsResultEntry]: ...
    def __getitem__(self, index: int | slice) -> PutRecordsResultEntry | list[PutRecordsResultEntry]:
        if self._all is not None:
            return self._all[index]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self._wire)))]
        built = self._built
        if built is None:
            built = self._built = [None] * len(self._wire)
        entry = built[index]
        if entry is None:
            entry = built[index] = de_PutRecordsResultEntry(self._wire[index])
        return entry

    def __iter__(self) -> Iterator[PutRecordsResultEntry]:
        """Decodes every entry not read yet at once: iterating costs what decoding the list did."""
        every = self._all
        if every is None:
            built = self._built
            if built is None:
                every = list(map(de_PutRecordsResultEntry, self._wire))
            else:
                every = [
                    de_PutRecordsResultEntry(w) if e is None else e for e, w in zip(built, self._wire, strict=True)
                ]
            self._all = every
            self._built = None
        return iter(every)

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
    out = de_PutRecordsOutput({**answer, "Records": ()})
    out.records = PutRecordsResults(wire)
    return out
