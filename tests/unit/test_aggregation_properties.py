"""Properties of the KPL aggregation format, and fuzzing of deaggregate against protobuf's own parser.

Runs are derandomized and bounded (a fixed set of examples per test, no example database), so the
suite is deterministic and fast; raise max_examples locally to search further.
"""

from __future__ import annotations

import base64
import hashlib

from aws_kinesis_agg.deaggregator import iter_deaggregate_records, messages_pb2
from google.protobuf.message import DecodeError  # type: ignore[import-untyped]
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiokinesis.aggregation import MAGIC, UserRecord, aggregate, deaggregate
from tests.unit.test_aggregation import theirs

BOUNDED = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Any Unicode but lone surrogates (which have no UTF-8), non-BMP characters included.
TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=40)
HASH_KEYS = st.integers(min_value=0, max_value=2**128 - 1).map(str)
RECORDS = st.lists(
    st.builds(UserRecord, TEXT, st.none() | HASH_KEYS | TEXT, st.binary(max_size=300)), min_size=1, max_size=30
)


def wrapped(body: bytes) -> bytes:
    return MAGIC + body + hashlib.md5(body).digest()


def their_deaggregation(data: bytes) -> list[UserRecord] | None:
    wire = {"Data": data, "PartitionKey": "outer", "SequenceNumber": "1", "ApproximateArrivalTimestamp": 0}
    out: list[UserRecord] = []
    for item in iter_deaggregate_records([wire], data_format="Boto3"):
        if "kinesis" not in item or not item["kinesis"].get("aggregated"):
            return None
        inner = item["kinesis"]
        out.append(UserRecord(inner["partitionKey"], inner["explicitHashKey"], base64.b64decode(inner["data"])))
    return out


def protobuf_says(data: bytes) -> list[UserRecord] | None:
    """What deaggregate should answer, by protobuf's parser plus the rules it leaves to its callers:
    the KCL's length check, proto2's required fields (upb skips that check on parse, the KCL's Java
    parser does not), indexes inside their tables, and strings that are UTF-8 (upb hands back bytes)."""
    if len(data) <= len(MAGIC) + 16 or not data.startswith(MAGIC):
        return None
    body = data[len(MAGIC) : -16]
    if hashlib.md5(body).digest() != data[-16:]:
        return None
    parsed = messages_pb2.AggregatedRecord()
    try:
        parsed.ParseFromString(body)
    except DecodeError:
        return None
    if not parsed.IsInitialized():
        return None
    keys, hash_keys = list(parsed.partition_key_table), list(parsed.explicit_hash_key_table)
    tag_strings = [text for record in parsed.records for tag in record.tags for text in (tag.key, tag.value)]
    if not all(isinstance(text, str) for text in keys + hash_keys + tag_strings):
        return None
    out = []
    for record in parsed.records:
        if record.partition_key_index >= len(keys):
            return None
        explicit = None
        if record.HasField("explicit_hash_key_index"):
            if record.explicit_hash_key_index >= len(hash_keys):
                return None
            explicit = hash_keys[record.explicit_hash_key_index]
        out.append(UserRecord(keys[record.partition_key_index], explicit, record.data))
    return out


def check_bounds(data: bytes, got: list[UserRecord] | None) -> None:
    """Whatever the input: a plain record, or user records whose data fits in it (a record costs 6 bytes)."""
    if got is not None:
        assert sum(len(record.data) for record in got) <= len(data)
        assert len(got) <= len(data) // 6


@BOUNDED
@given(RECORDS)
def test_user_records_survive_a_round_trip(records: list[UserRecord]) -> None:
    assert deaggregate(aggregate(records)) == records


@BOUNDED
@given(st.lists(st.builds(UserRecord, TEXT, st.none() | HASH_KEYS, st.binary(max_size=300)), min_size=1, max_size=30))
def test_aggregates_are_byte_identical_to_aws_kinesis_agg(records: list[UserRecord]) -> None:
    assert aggregate(records) == theirs(records)


@BOUNDED
@given(st.booleans(), st.lists(st.tuples(TEXT, HASH_KEYS, st.binary(max_size=300)), min_size=1, max_size=30))
def test_aws_kinesis_agg_deaggregates_ours_to_the_same_records(
    with_hash_keys: bool, fields: list[tuple[str, str, bytes]]
) -> None:
    """All records with an explicit hash key, or none: with a mix, aws-kinesis-agg gives the ones
    without it the table's first key (it reads an unset index as 0)."""
    records = [UserRecord(key, hash_key if with_hash_keys else None, data) for key, hash_key, data in fields]
    assert their_deaggregation(aggregate(records)) == records


@BOUNDED
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    check_bounds(data, deaggregate(data))
    check_bounds(MAGIC + data, deaggregate(MAGIC + data))


@BOUNDED
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_with_a_valid_digest_never_raise(body: bytes) -> None:
    data = wrapped(body)
    got = deaggregate(data)
    check_bounds(data, got)
    assert got == protobuf_says(data)


def _varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _key(number: int, wire: int) -> bytes:
    return _varint(number << 3 | wire)


def _delimited(number: int, payload: bytes) -> bytes:
    return _key(number, 2) + _varint(len(payload)) + payload


# Ways to break a body. A body has none (mostly) or a few, each applied here and there in it.
FAULTS = ("no key index", "no data", "tag without key", "index past table", "not utf-8", "known number", "field 0")


class Faults:
    def __init__(self, draw: st.DrawFn, chosen: frozenset[str]) -> None:
        self.draw, self.chosen = draw, chosen

    def __call__(self, fault: str) -> bool:
        """Whether to break this part of the body this way."""
        return fault in self.chosen and self.draw(st.booleans())


@st.composite
def strings(draw: st.DrawFn, faults: Faults) -> bytes:
    return draw(st.binary(min_size=1, max_size=8)) if faults("not utf-8") else draw(TEXT).encode()


@st.composite
def unknown_field(draw: st.DrawFn, faults: Faults, depth: int = 0) -> bytes:
    """Any wire type, under a number the message does not know, a known one (with any wire type),
    or 0 (invalid; not inside a group, where upb lets it pass but the KCL's Java parser does not)."""
    if depth == 0 and faults("field 0"):
        number = 0
    elif faults("known number"):
        number = draw(st.integers(min_value=1, max_value=4))
    else:
        number = draw(st.integers(min_value=5, max_value=40) | st.integers(min_value=5, max_value=2**29 - 1))
    kinds = ["varint", "fixed64", "fixed32", "bytes"] + (["group"] if depth < 3 else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "varint":
        return _key(number, 0) + _varint(draw(st.integers(min_value=0, max_value=2**64 - 1)))
    if kind == "fixed64":
        return _key(number, 1) + draw(st.binary(min_size=8, max_size=8))
    if kind == "fixed32":
        return _key(number, 5) + draw(st.binary(min_size=4, max_size=4))
    if kind == "bytes":
        return _delimited(number, draw(st.binary(max_size=10)))
    inner = draw(st.lists(unknown_field(faults, depth + 1), max_size=3))
    return _key(number, 3) + b"".join(inner) + _key(number, 4)


def shuffled_with_unknowns(draw: st.DrawFn, faults: Faults, fields: list[bytes]) -> bytes:
    fields = fields + draw(st.lists(unknown_field(faults), max_size=2))
    return b"".join(draw(st.permutations(fields)))


@st.composite
def index_into(draw: st.DrawFn, faults: Faults, size: int) -> int:
    """Inside a table of size entries, or past it; either now and then plus 2**64 (which wraps)."""
    index = size if not size or faults("index past table") else draw(st.integers(min_value=0, max_value=size - 1))
    return index + 2**64 if draw(st.integers(min_value=0, max_value=7)) == 3 else index


@st.composite
def tag_message(draw: st.DrawFn, faults: Faults) -> bytes:
    fields = [] if faults("tag without key") else [_delimited(1, draw(strings(faults)))]
    if draw(st.booleans()):
        fields.append(_delimited(2, draw(strings(faults))))
    return shuffled_with_unknowns(draw, faults, fields)


@st.composite
def record_message(draw: st.DrawFn, faults: Faults, keys: int, hash_keys: int) -> bytes:
    fields = [_delimited(4, tag) for tag in draw(st.lists(tag_message(faults), max_size=2))]
    if not faults("no key index"):
        fields.append(_key(1, 0) + _varint(draw(index_into(faults, keys))))
    if (hash_keys and draw(st.booleans())) or faults("index past table"):
        fields.append(_key(2, 0) + _varint(draw(index_into(faults, hash_keys))))
    if not faults("no data"):
        fields.append(_delimited(3, draw(st.binary(max_size=20))))
    return shuffled_with_unknowns(draw, faults, fields)


@st.composite
def aggregated_body(draw: st.DrawFn) -> bytes:
    """A body much like a real aggregate (tables, records indexing them, in any order, unknown
    fields among them), with a few faults or none; now and then cut short or with a byte flipped."""
    faults = Faults(draw, draw(st.frozensets(st.sampled_from(FAULTS), max_size=2)))
    keys = draw(st.lists(strings(faults), min_size=1, max_size=4))
    hash_keys = draw(st.lists(strings(faults), max_size=3))
    records = draw(st.lists(record_message(faults, len(keys), len(hash_keys)), min_size=1, max_size=6))
    fields = [_delimited(1, key) for key in keys] + [_delimited(2, key) for key in hash_keys]
    body = shuffled_with_unknowns(draw, faults, fields + [_delimited(3, record) for record in records])
    damage = draw(st.sampled_from(["none", "none", "none", "none", "none", "none", "cut", "flip"]))
    at = draw(st.integers(min_value=0, max_value=len(body) - 1))
    if damage == "cut":
        body = body[:at]
    elif damage == "flip":
        body = body[:at] + bytes([body[at] ^ draw(st.integers(min_value=1, max_value=255))]) + body[at + 1 :]
    return body


@BOUNDED
@given(aggregated_body())
def test_protobuf_shaped_bodies_decode_as_protobuf_says(body: bytes) -> None:
    data = wrapped(body)
    got = deaggregate(data)
    check_bounds(data, got)
    assert got == protobuf_says(data)


def test_the_oracle_accepts_what_aggregate_writes() -> None:
    """protobuf_says is a real check: it decodes a real aggregate, and rejects a broken one."""
    records = [UserRecord("k", None, b"a"), UserRecord("ключ", "7", b"")]
    assert protobuf_says(aggregate(records)) == records
    assert protobuf_says(wrapped(b"\x1a\x02\x08\x00")) is None  # no data
    assert protobuf_says(wrapped(b"\x0a\x01k\x1a\x04\x08\x01\x1a\x00")) is None  # index outside the table
