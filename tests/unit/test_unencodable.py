"""Strings JSON cannot carry (lone surrogates) and integers past 64 bits: refused by field, nothing sent."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from aioresponses import aioresponses
from botocore import xform_name

import aiokinesis

from .samples import operation_sample
from .test_operations import GENERATED, SERVICE

LONE = "x\ud800"


def string_leaves(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    """(field path, value with that one string replaced by LONE) for every string inside value."""
    if isinstance(value, str):
        yield path, LONE
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            for where, item in string_leaves(getattr(value, field.name), f"{path}.{field.name}"):
                yield where, dataclasses.replace(value, **{field.name: item})
    elif isinstance(value, list):
        for index, item in enumerate(value):
            for where, new in string_leaves(item, f"{path}[{index}]"):
                yield where, [*value[:index], new, *value[index + 1 :]]
    elif isinstance(value, dict):
        for key, item in value.items():
            yield f"{path}[{LONE!r}]", {**{k: v for k, v in value.items() if k != key}, LONE: item}
            for where, new in string_leaves(item, f"{path}[{key!r}]"):
                yield where, {**value, key: new}


def cases() -> Iterator[Any]:
    for operation in GENERATED:
        kwargs, _ = operation_sample(SERVICE, operation)
        for name, value in kwargs.items():
            for path, bad in string_leaves(value, name):
                yield pytest.param(operation, {**kwargs, name: bad}, path, id=f"{operation}:{path}")


@pytest.mark.parametrize(("operation", "kwargs", "field"), list(cases()))
async def test_a_lone_surrogate_anywhere_is_refused_naming_the_field(
    operation: str, kwargs: dict[str, Any], field: str, kinesis: aiokinesis.Client, http: aioresponses
) -> None:
    with pytest.raises(aiokinesis.ParamValidationError) as caught:
        await getattr(kinesis, xform_name(operation))(**kwargs)
    assert caught.value.field == field
    assert http.requests == {}


async def test_the_message_says_what_and_where(kinesis: aiokinesis.Client, http: aioresponses) -> None:
    with pytest.raises(aiokinesis.ParamValidationError) as caught:
        await kinesis.put_record(stream_name="s", data=b"x", partition_key="ab\udc00")
    assert caught.value.field == "partition_key"
    assert "lone surrogate (U+DC00) at index 2" in str(caught.value)
    assert isinstance(caught.value, aiokinesis.ClientError)
    assert http.requests == {}


async def test_a_put_records_entry_is_named_by_index(kinesis: aiokinesis.Client, http: aioresponses) -> None:
    entries = [aiokinesis.PutRecordsRequestEntry(data=b"x", partition_key=k) for k in ("a", "b", "\ud800")]
    with pytest.raises(aiokinesis.ParamValidationError) as caught:
        await kinesis.put_records(stream_name="s", records=entries)
    assert caught.value.field == "records[2].partition_key"
    assert http.requests == {}


async def test_an_integer_past_64_bits_is_refused(kinesis: aiokinesis.Client, http: aioresponses) -> None:
    with pytest.raises(aiokinesis.ParamValidationError) as caught:
        await kinesis.update_stream_warm_throughput(stream_name="s", warm_throughput_mi_bps=2**70)
    assert caught.value.field == "warm_throughput_mi_bps"
    assert "64-bit" in caught.value.problem
    assert http.requests == {}
