"""The client's PutRecords: tuple and object entries send the same bytes and raise the same errors as the
generated serializer, results are decoded as they are read, and the body is hashed once per call.

The properties are derandomized and bounded (no example database): the suite stays deterministic.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
import pytest
from aioresponses import aioresponses
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import aiokinesis
from aiokinesis import PutRecordsRequestEntry as Entry
from aiokinesis import _put_records
from aiokinesis._generated.models import PutRecordsInput, ser_PutRecordsInput
from aiokinesis._generated.shapes import REQUEST_SHAPES
from aiokinesis._put_records import PutRecordsResults, request_body
from aiokinesis._rules import MAX_HASH_KEY, MAX_REQUEST_BYTES
from tests.fakes import FakeTime

from .conftest import ANY_URL, make_client

ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/s"

BOUNDED = settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Values of every kind the serializer must judge: valid ones, the edges of each limit, wrong types.
DATA = st.one_of(
    st.binary(max_size=40),
    st.binary(max_size=8).map(bytearray),
    st.binary(max_size=8).map(lambda b: memoryview(b)),
    st.just(b"x" * (MAX_REQUEST_BYTES + 1)),
    st.text(max_size=4),
    st.none(),
    st.integers(),
)
KEYS = st.one_of(
    st.none(),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=8),
    st.sampled_from(["", "k" * 256, "k" * 257, "é" * 256, "\U0001f600" * 256]),
    st.integers(),
    st.binary(max_size=3),
)
HASH_KEYS = st.one_of(
    st.none(),
    st.integers(min_value=0, max_value=MAX_HASH_KEY).map(str),
    st.sampled_from(
        [str(MAX_HASH_KEY + 1), "9" * 39, "1" * 40, "0", "00", "01", "-1", "+1", " 1", "1\n", "١٢", "", "x"]
    ),
    st.integers(max_value=10),
)
TUPLES = st.one_of(st.tuples(DATA, KEYS), st.tuples(DATA, KEYS, HASH_KEYS))
ODD_ITEMS = st.one_of(st.tuples(DATA), st.tuples(DATA, KEYS, HASH_KEYS, KEYS), st.just("not an entry"), st.none())
STREAMS = st.one_of(st.just("s"), st.none(), st.sampled_from(["has space", "s" * 129, ""]))


def as_object(entry: object) -> object:
    """The entry a tuple of two or three stands for; anything else as it is."""
    if isinstance(entry, tuple) and len(entry) in (2, 3):
        return Entry(data=entry[0], partition_key=entry[1], explicit_hash_key=entry[2] if len(entry) == 3 else None)
    return entry


def outcome(make: Any) -> tuple[str, Any]:
    """The body's bytes as sent, or the error's class, field and problem."""
    try:
        body = make()
    except aiokinesis.ParamValidationError as exc:
        return ("error", (type(exc), exc.field, exc.problem))
    try:
        return ("body", orjson.dumps(body))
    except orjson.JSONEncodeError:  # a lone surrogate: the session names it (tests/unit/test_unencodable.py)
        return ("unencodable", repr(body))


@BOUNDED
@given(
    items=st.lists(st.one_of(TUPLES, TUPLES, TUPLES, ODD_ITEMS), max_size=6),
    stream_name=STREAMS,
    container=st.sampled_from([list, tuple]),
)
def test_tuples_and_objects_send_the_same_bytes_and_raise_the_same_errors(
    items: list[Any], stream_name: str | None, container: type
) -> None:
    objects = [as_object(item) for item in items]
    from_tuples = outcome(lambda: request_body(container(items), stream_name, None, None, None))
    from_objects = outcome(lambda: request_body(objects, stream_name, None, None, None))  # type: ignore[arg-type]
    assert from_tuples == from_objects
    if all(isinstance(item, Entry) for item in objects):  # the generated serializer's own verdict
        generated = outcome(
            lambda: ser_PutRecordsInput(PutRecordsInput(records=objects, stream_name=stream_name))  # type: ignore[arg-type]
        )
        assert from_objects == generated


@BOUNDED
@given(
    entries=st.lists(
        st.tuples(
            st.binary(max_size=30),
            st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=12),
            st.none() | st.integers(min_value=0, max_value=MAX_HASH_KEY).map(str),
        ),
        min_size=1,
        max_size=20,
    ),
    dry_run=st.none() | st.booleans(),
)
def test_valid_requests_take_the_fast_path_to_the_generated_bytes(
    entries: list[tuple[bytes, str, str | None]], dry_run: bool | None
) -> None:
    objects = [Entry(data=d, partition_key=k, explicit_hash_key=h) for d, k, h in entries]
    generated = orjson.dumps(ser_PutRecordsInput(PutRecordsInput(records=objects, stream_arn=ARN, dry_run=dry_run)))
    pairs = [(d, k) if h is None else (d, k, h) for d, k, h in entries]
    for uniform in (_put_records._uniform, lambda records: None):  # the comprehension, and the loop alone
        with pytest.MonkeyPatch.context() as patch:  # no detour through the generated serializer
            patch.setattr(_put_records, "_checked", None)
            patch.setattr(_put_records, "_uniform", uniform)
            for records in (entries, pairs, objects):
                body = request_body(records, None, ARN, None, dry_run)
                assert orjson.dumps(body) == generated


@pytest.mark.parametrize("count", [0, 501])
def test_the_count_of_entries_is_checked_before_the_entries(count: int) -> None:
    with pytest.raises(aiokinesis.ParamValidationError) as caught:
        request_body(["not an entry"] * count, "s", None, None, None)  # type: ignore[list-item]
    assert caught.value.field == "records"
    assert "items" in caught.value.problem


@pytest.mark.parametrize("make", [lambda d, k: (d, k), lambda d, k: Entry(data=d, partition_key=k)])
def test_the_10_mib_of_a_request_are_counted_in_utf_8_near_the_limit(make: Any) -> None:
    data = b"x" * (MAX_REQUEST_BYTES // 2 - 600)
    within = [make(data, "k" * 256), make(data, "k" * 256)]  # 4 bytes a character would not fit: counted
    assert request_body(within, "s", None, None, None)["Records"][1]["PartitionKey"] == "k" * 256
    over = [make(data, "é" * 256), make(data, "\u4e2d" * 256)]  # 512 and 768 bytes: three a character past U+07FF
    with pytest.raises(aiokinesis.ParamValidationError) as caught:
        request_body(over, "s", None, None, None)
    assert caught.value.field == "records"
    assert f"above the maximum of {MAX_REQUEST_BYTES} per request" in caught.value.problem


async def test_tuples_and_objects_go_on_the_wire_as_the_same_bytes(
    kinesis: aiokinesis.Client, http: aioresponses
) -> None:
    answer = {"FailedRecordCount": 0, "Records": [{"SequenceNumber": "1", "ShardId": "shardId-0"}] * 2}
    http.post(ANY_URL, body=orjson.dumps(answer), repeat=True)
    tuples: list[tuple[bytes, str] | tuple[bytes, str, str]] = [(b"one", "a"), (b"two", "b", "12")]
    await kinesis.put_records(stream_name="s", records=tuples)
    await kinesis.put_records(stream_name="s", records=[as_object(t) for t in tuples])  # type: ignore[misc]
    [calls] = http.requests.values()
    assert calls[0].kwargs["data"] == calls[1].kwargs["data"]
    assert orjson.loads(calls[0].kwargs["data"])["Records"][1] == {
        "Data": "dHdv",
        "ExplicitHashKey": "12",
        "PartitionKey": "b",
    }


async def test_a_bad_tuple_is_refused_by_index_before_sending(kinesis: aiokinesis.Client, http: aioresponses) -> None:
    with pytest.raises(aiokinesis.ParamValidationError) as caught:
        await kinesis.put_records(stream_name="s", records=[(b"x", "k"), (b"x", "k", None, "extra")])  # type: ignore[list-item]
    assert (
        str(caught.value) == "invalid records[1]: is a tuple of 4 items, not (data, partition_key[, explicit_hash_key])"
    )
    with pytest.raises(aiokinesis.ParamValidationError) as caught:
        await kinesis.put_records(stream_name="s", records=[(b"x", "k" * 257)])
    assert str(caught.value) == "invalid records[0].partition_key: has 257 characters, above the maximum of 256"
    assert http.requests == {}


async def test_results_are_decoded_as_they_are_read(kinesis: aiokinesis.Client, http: aioresponses) -> None:
    wire = [
        {"SequenceNumber": "1", "ShardId": "shardId-0"},
        {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "slow down"},
        {"SequenceNumber": "3", "ShardId": "shardId-1"},
    ]
    http.post(ANY_URL, body=orjson.dumps({"FailedRecordCount": 1, "Records": wire, "EncryptionType": "KMS"}))
    out = await kinesis.put_records(stream_name="s", records=[(b"x", "k")] * 3)
    assert out.failed_record_count == 1
    assert out.encryption_type is aiokinesis.EncryptionType.KMS
    records = out.records
    assert isinstance(records, PutRecordsResults)
    assert records._built is None  # nothing decoded yet
    assert len(records) == 3
    failed = records[1]
    assert failed == aiokinesis.PutRecordsResultEntry(
        error_code="ProvisionedThroughputExceededException", error_message="slow down"
    )
    assert records[1] is failed
    assert records._built == [None, failed, None]
    assert records[-1].sequence_number == "3"
    assert records[0:3:2] == [records[0], records[2]]
    expected = [
        aiokinesis.PutRecordsResultEntry(sequence_number="1", shard_id="shardId-0"),
        failed,
        aiokinesis.PutRecordsResultEntry(sequence_number="3", shard_id="shardId-1"),
    ]
    assert list(records) == expected
    assert records[1] is failed  # an iteration decodes the rest, keeps what was read
    assert records == expected
    assert expected == records
    assert records != expected[:2]
    assert records != tuple(expected)  # a list never equals a tuple either
    assert repr(records) == repr(expected)
    assert out == aiokinesis.PutRecordsOutput(failed_record_count=1, records=expected, encryption_type="KMS")
    with pytest.raises(IndexError):
        records[3]


@pytest.mark.parametrize("records", [[{"SequenceNumber": "1"}, "text"], {"a": 1}, None])
async def test_a_malformed_answer_fails_the_call_not_a_later_read(
    records: object, kinesis: aiokinesis.Client, http: aioresponses
) -> None:
    http.post(ANY_URL, body=orjson.dumps({"FailedRecordCount": 0, "Records": records}))
    with pytest.raises(aiokinesis.ProtocolError):
        await kinesis.put_records(stream_name="s", records=[(b"x", "k")] * 2)


async def test_a_retried_body_is_hashed_once(
    fake_time: FakeTime, http: aioresponses, monkeypatch: pytest.MonkeyPatch
) -> None:
    internal = orjson.dumps({"__type": "InternalFailureException", "message": "oops"})
    http.post(ANY_URL, status=500, body=internal)
    http.post(ANY_URL, status=500, body=internal)
    http.post(ANY_URL, body=orjson.dumps({"FailedRecordCount": 0, "Records": [{"SequenceNumber": "1"}]}))
    hashed: list[bytes] = []
    sha256 = hashlib.sha256

    def counting(data: bytes = b"") -> Any:
        hashed.append(bytes(data))
        return sha256(data)

    monkeypatch.setattr(hashlib, "sha256", counting)  # what aiokinesis._signing calls
    async with make_client(fake_time) as kinesis:
        await kinesis.put_records(stream_name="s", records=[(b"payload", "k")])
    [calls] = http.requests.values()
    assert len(calls) == 3
    assert hashed.count(calls[0].kwargs["data"]) == 1


def test_the_fast_checks_rest_on_the_model_s_limits() -> None:
    # A request's data within 10 MiB holds no entry above the model's own limit, and the
    # comprehension's key bound is the model's: if botocore's model moved either, this says so.
    shapes = REQUEST_SHAPES
    assert shapes["Data"]["max"] >= MAX_REQUEST_BYTES
    assert shapes["PartitionKey"]["min"] == 1
    assert shapes["PartitionKey"]["max"] == _put_records._MAX_KEY
    assert shapes["HashKey"]["pattern"] == "^(0|([1-9]\\d{0,38}))$"
