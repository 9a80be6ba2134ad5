"""The generated structures are plain slotted classes, and still the dataclasses they were built as.

They were `@dataclass(slots=True, kw_only=True)`; now their methods are written out as source (cheap
to import). What users could rely on stays: keyword construction, repr, equality, unhashability, no
attributes beyond the fields, and what `dataclasses` says of them.
"""

from __future__ import annotations

import dataclasses
import inspect
import pickle
from typing import Any

import orjson
import pytest

from aiokinesis import PutRecordsRequestEntry, PutRecordsResultEntry, StartingPosition
from aiokinesis._generated import models
from aiokinesis._generated.dynamodb import models as dynamodb_models
from aiokinesis._structures import LazyPattern, Structure


def structures() -> list[type[Structure]]:
    found = []
    for module in (models, dynamodb_models):
        for name in module.__all__:
            value = getattr(module, name)
            if isinstance(value, type) and issubclass(value, Structure):
                found.append(value)
    return found


@pytest.mark.parametrize("cls", structures(), ids=lambda cls: f"{cls.__module__.split('.')[-2]}.{cls.__name__}")
def test_the_dataclass_fields_are_the_slots_and_the_keywords_of_init(cls: type[Structure]) -> None:
    assert dataclasses.is_dataclass(cls)
    fields = dataclasses.fields(cls)
    params = inspect.signature(cls).parameters
    assert [f.name for f in fields] == list(cls.__slots__) == list(params)
    for field in fields:
        param = params[field.name]
        assert param.kind is inspect.Parameter.KEYWORD_ONLY
        assert field.kw_only is True
        assert field.type == param.annotation == inspect.get_annotations(cls)[field.name]
        assert field.default is (dataclasses.MISSING if param.default is inspect.Parameter.empty else None)
        assert (field.init, field.repr, field.compare, field.hash) == (True, True, True, None)
    assert dataclasses.fields(cls) == fields  # made once, then kept
    assert cls.__dataclass_params__.frozen is False


def entry(**changes: Any) -> PutRecordsRequestEntry:
    return PutRecordsRequestEntry(**{"data": b"x", "partition_key": "k", **changes})


def test_repr_equality_and_hash_are_a_dataclass_s() -> None:
    assert repr(entry()) == "PutRecordsRequestEntry(data=b'x', explicit_hash_key=None, partition_key='k')"
    assert entry() == entry()
    assert entry() != entry(partition_key="other")
    assert entry() != PutRecordsResultEntry()
    assert entry().__eq__(object()) is NotImplemented
    with pytest.raises(TypeError, match="unhashable"):
        hash(entry())
    with pytest.raises(AttributeError):
        entry().partition_ky = "typo"  # type: ignore[attr-defined]
    with pytest.raises(TypeError, match="partition_ky"):
        PutRecordsRequestEntry(data=b"x", partition_ky="k")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        PutRecordsRequestEntry(b"x", "k")  # type: ignore[call-arg]


def test_dataclasses_functions_work_on_them() -> None:
    record = entry(explicit_hash_key="7")
    assert dataclasses.asdict(record) == {"data": b"x", "explicit_hash_key": "7", "partition_key": "k"}
    assert dataclasses.astuple(record) == (b"x", "7", "k")
    assert dataclasses.replace(record, partition_key="j") == entry(explicit_hash_key="7", partition_key="j")
    nested = StartingPosition.at_sequence_number("42")
    assert dataclasses.asdict(nested) == {"type": "AT_SEQUENCE_NUMBER", "sequence_number": "42", "timestamp": None}
    assert orjson.loads(orjson.dumps(StartingPosition.latest())) == {
        "type": "LATEST",
        "sequence_number": None,
        "timestamp": None,
    }
    assert pickle.loads(pickle.dumps(record)) == record


def test_a_subclass_keeps_its_parent_s_fields() -> None:
    class Tagged(PutRecordsResultEntry):
        pass

    assert [f.name for f in dataclasses.fields(Tagged)] == list(PutRecordsResultEntry.__slots__)
    assert repr(Tagged(shard_id="s")).startswith("test_a_subclass_keeps_its_parent_s_fields.<locals>.Tagged(")
    assert Tagged(shard_id="s") != PutRecordsResultEntry(shard_id="s")


def test_a_recursive_value_repr_does_not_recurse_forever() -> None:
    record = entry()
    record.data = [record]  # type: ignore[assignment]
    assert repr(record) == "PutRecordsRequestEntry(data=[...], explicit_hash_key=None, partition_key='k')"


def test_a_lazy_pattern_matches_as_its_compiled_pattern() -> None:
    pattern = LazyPattern(r"0|([1-9]\d{0,38})")
    assert pattern.pattern == r"0|([1-9]\d{0,38})"
    assert pattern.fullmatch("12") is not None
    assert pattern.fullmatch("012") is None
    assert pattern.fullmatch("7") is not None
