"""Hostile input to put_record and put_records: digits that are not ASCII, buffers whose len() is not
their size in bytes. Each is refused by field before anything is sent, or sent as exactly its bytes.

The properties are derandomized and bounded (no example database): the suite stays deterministic.
"""

from __future__ import annotations

import base64
import sys
import unicodedata
from array import array
from typing import Any

import orjson
import pytest
from aioresponses import aioresponses
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import aiokinesis
from aiokinesis import PutRecordsRequestEntry as Entry
from aiokinesis._rules import MAX_HASH_KEY, MAX_RECORD_BYTES

from .conftest import ANY_URL

BOUNDED = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# The zero of every script's decimal digits but ASCII's (each script's ten are in a row): Python's
# \d matches them, Kinesis's (Java's) does not, and int() reads them.
ZEROS = [chr(c) for c in range(128, sys.maxunicode + 1) if unicodedata.decimal(chr(c), None) == 0]


@st.composite
def decimals_with_a_foreign_digit(draw: st.DrawFn, low: int, high: int) -> str:
    """A decimal from low (>= 10) to high, one of its digits (not the first) put in another script."""
    text = str(draw(st.integers(min_value=low, max_value=high)))
    at = draw(st.integers(min_value=1, max_value=len(text) - 1))
    digit = chr(ord(draw(st.sampled_from(ZEROS))) + int(text[at]))
    return text[:at] + digit + text[at + 1 :]


def answer(http: aioresponses) -> None:
    # What PutRecord and a two-entry PutRecords answer, in one body.
    done = {"ShardId": "shardId-0", "SequenceNumber": "1"}
    http.post(ANY_URL, body=orjson.dumps({**done, "FailedRecordCount": 0, "Records": [done] * 2}), repeat=True)


async def refused(kinesis: aiokinesis.Client, http: aioresponses, call: str, **kwargs: Any) -> str:
    """The field the call's ParamValidationError names; nothing may have been sent."""
    with pytest.raises(aiokinesis.ParamValidationError) as caught:
        await getattr(kinesis, call)(**kwargs)
    assert http.requests == {}
    return caught.value.field


@BOUNDED
@given(hash_key=decimals_with_a_foreign_digit(10, MAX_HASH_KEY), sequence=decimals_with_a_foreign_digit(10, 10**60))
async def test_a_decimal_with_a_digit_not_ascii_is_refused_naming_its_field(
    hash_key: str, sequence: str, kinesis: aiokinesis.Client, http: aioresponses
) -> None:
    put = {"stream_name": "s", "data": b"x", "partition_key": "k"}
    assert await refused(kinesis, http, "put_record", **put, explicit_hash_key=hash_key) == "explicit_hash_key"
    field = await refused(kinesis, http, "put_record", **put, sequence_number_for_ordering=sequence)
    assert field == "sequence_number_for_ordering"
    for bad in (Entry(data=b"x", partition_key="k", explicit_hash_key=hash_key), (b"x", "k", hash_key)):
        records = [(b"good", "k"), bad, (b"good", "k")]
        assert await refused(kinesis, http, "put_records", stream_name="s", records=records) == (
            "records[1].explicit_hash_key"
        )


@BOUNDED
@given(account=decimals_with_a_foreign_digit(10**11, 10**12 - 1))
async def test_an_arn_whose_account_has_a_digit_not_ascii_is_refused(
    account: str, kinesis: aiokinesis.Client, http: aioresponses
) -> None:
    arn = f"arn:aws:kinesis:us-east-1:{account}:stream/s"
    assert await refused(kinesis, http, "put_record", stream_arn=arn, data=b"x", partition_key="k") == "stream_arn"
    assert await refused(kinesis, http, "describe_stream_summary", stream_arn=arn) == "stream_arn"


def wide(nbytes: int) -> memoryview:
    """A view of eight-byte items: len() is an eighth of its size in bytes."""
    return memoryview(array("d", bytes(nbytes)))


# Each view is within its limit by len(), not in bytes: 1,310,721 items for 10 MiB and 8 bytes.
OVER = MAX_RECORD_BYTES + 8
HALF = MAX_RECORD_BYTES // 2 + 8  # two of them fill a request past 10 MiB


@pytest.mark.parametrize(
    ("call", "make", "field", "problem"),
    [
        ("put_record", lambda: {"data": wide(OVER), "partition_key": "k"}, "data", "has 10485768 bytes, above"),
        ("put_records", lambda: {"records": [(b"x", "k"), (wide(OVER), "k")]}, "records[1].data", "10485768 bytes"),
        (
            "put_records",
            lambda: {"records": [Entry(data=b"x", partition_key="k"), Entry(data=wide(OVER))]},  # type: ignore[arg-type]
            "records[1].data",
            "has 10485768 bytes",
        ),
        ("put_records", lambda: {"records": [(wide(HALF), "k")] * 2}, "records", "have 10485778 bytes of data and"),
        (
            "put_record",
            lambda: {"data": wide(MAX_RECORD_BYTES - 8), "partition_key": "k" * 9},
            "data",
            "has 10485761 bytes with its partition key",
        ),
    ],
    ids=["put_record", "put_records-tuple", "put_records-entry", "put_records-request", "put_record-with-key"],
)
async def test_a_view_is_measured_in_bytes_not_items(
    call: str, make: Any, field: str, problem: str, kinesis: aiokinesis.Client, http: aioresponses
) -> None:
    with pytest.raises(aiokinesis.ParamValidationError) as caught:
        await getattr(kinesis, call)(stream_name="s", **make())
    assert (caught.value.field, problem in caught.value.problem) == (field, True)
    assert http.requests == {}


VIEWS = [
    memoryview(array("H", [1, 2, 0xFFFF, 0x0102])),
    memoryview(array("d", [1.5, -2.25])),
    memoryview(b"abcdefghij")[::3],  # not contiguous
    memoryview(bytes(range(12))).cast("B", (3, 4)),  # two dimensions
    memoryview(bytearray(b"plain")),
]


@pytest.mark.parametrize("view", VIEWS, ids=["H", "d", "strided", "2d", "bytearray"])
async def test_a_view_is_sent_as_its_bytes(view: memoryview, kinesis: aiokinesis.Client, http: aioresponses) -> None:
    answer(http)
    # Typed bytes, taken as any bytes-like object (as the producer's put() is typed).
    await kinesis.put_record(stream_name="s", data=view, partition_key="k")  # type: ignore[arg-type]
    await kinesis.put_records(stream_name="s", records=[(b"good", "k"), (view, "k")])  # type: ignore[list-item]
    await kinesis.put_records(stream_name="s", records=[Entry(data=view, partition_key="k")])  # type: ignore[arg-type]
    [calls] = http.requests.values()
    sent = [orjson.loads(call.kwargs["data"]) for call in calls]
    datas = [sent[0]["Data"], sent[1]["Records"][1]["Data"], sent[2]["Records"][0]["Data"]]
    assert [base64.b64decode(d) for d in datas] == [view.tobytes()] * 3


async def test_a_released_view_is_refused_naming_its_field(kinesis: aiokinesis.Client, http: aioresponses) -> None:
    view = memoryview(b"gone")
    view.release()
    assert await refused(kinesis, http, "put_record", stream_name="s", data=view, partition_key="k") == "data"
    records = [(b"good", "k"), (view, "k")]
    assert await refused(kinesis, http, "put_records", stream_name="s", records=records) == "records[1].data"


# Kinesis counts a partition key's 256 as Java does (String.length(), as the KPL checks it and
# kinesis-mock answers): in UTF-16 code units, two for each character past U+FFFF.
EMOJI = "\U0001f600"


@pytest.mark.parametrize(
    "key", [EMOJI * 128, EMOJI * 127 + "kk", "é" * 256, "k" * 256, "\U00010000" * 128, "k" * 128 + "é" * 128]
)
async def test_a_key_of_256_utf_16_code_units_is_sent(key: str, kinesis: aiokinesis.Client, http: aioresponses) -> None:
    answer(http)
    await kinesis.put_record(stream_name="s", data=b"x", partition_key=key)
    await kinesis.put_records(stream_name="s", records=[(b"x", "k"), (b"x", key)])
    await kinesis.put_records(stream_name="s", records=[Entry(data=b"x", partition_key=key)] * 2)
    [calls] = http.requests.values()
    assert orjson.loads(calls[1].kwargs["data"])["Records"][1]["PartitionKey"] == key
    assert len(calls) == 3


@st.composite
def keys_past_256_units(draw: st.DrawFn) -> str:
    """A key of at most 256 characters, past 256 UTF-16 code units: enough of them past U+FFFF."""
    wide = draw(st.integers(min_value=1, max_value=256))
    narrow = draw(st.integers(min_value=max(0, 257 - 2 * wide), max_value=256 - wide))
    chars = draw(st.lists(st.characters(codec="utf-8", min_codepoint=0x10000), min_size=wide, max_size=wide))
    chars += draw(st.lists(st.characters(codec="utf-8", max_codepoint=0xFFFF), min_size=narrow, max_size=narrow))
    return "".join(draw(st.permutations(chars)))


@BOUNDED
@given(
    key=keys_past_256_units() | st.sampled_from([EMOJI * 129, EMOJI * 127 + "kkk", "k" * 255 + EMOJI, EMOJI * 256]),
    at=st.integers(min_value=0, max_value=499),
)
async def test_a_key_past_256_utf_16_code_units_is_refused_naming_its_entry(
    key: str, at: int, kinesis: aiokinesis.Client, http: aioresponses
) -> None:
    units = len(key.encode("utf-16-le")) // 2
    field = await refused(kinesis, http, "put_record", stream_name="s", data=b"x", partition_key=key)
    assert field == "partition_key"
    records: list[Any] = [(b"good", "k")] * 500
    for bad in ((b"x", key), Entry(data=b"x", partition_key=key)):
        records[at] = bad
        with pytest.raises(aiokinesis.ParamValidationError) as caught:
            await kinesis.put_records(stream_name="s", records=records)
        assert caught.value.field == f"records[{at}].partition_key"
        assert f"{units} UTF-16 code units" in caught.value.problem
        assert "above the maximum of 256" in caught.value.problem
    assert http.requests == {}
