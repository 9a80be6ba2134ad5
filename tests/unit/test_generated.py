"""The committed generated code is what the generator makes from the pinned botocore's model content.

Another botocore with the same content passes; one whose model differs in substance skips the
freshness test with the changes listed (the project's CI, on the pinned botocore, still fails on a
stale file): a user on a newer botocore gets a report, not a red suite.
"""

from __future__ import annotations

import copy
import importlib.util
import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from botocore import xform_name
from botocore.loaders import create_loader

from aiokinesis import Client
from tests.models import document

ROOT = Path(__file__).resolve().parents[2]


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate", ROOT / "scripts" / "generate.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["generate"] = module
    spec.loader.exec_module(module)
    return module


def test_generated_files_are_up_to_date() -> None:
    result = load_generator().check()
    assert result.stale == [], result.report()
    if result.failed:
        pytest.skip(f"the installed botocore's model differs from the pinned one:\n{result.report()}")


class EditedLoader:
    """botocore's loader, with one document edited on its way out (a copy: botocore caches its own)."""

    def __init__(self, service: str, kind: str, edit: Callable[[dict[str, Any]], None]) -> None:
        self._loader = create_loader()
        self._target = (service, kind)
        self._edit = edit

    def load_service_model(self, service_name: str, type_name: str) -> Any:
        doc = self._loader.load_service_model(service_name, type_name)
        if (service_name, type_name) != self._target:
            return doc
        doc = copy.deepcopy(doc)
        self._edit(doc)
        return doc


def drift_of(service: str, kind: str, edit: Callable[[dict[str, Any]], None]) -> Any:
    result = load_generator().check(EditedLoader(service, kind, edit))
    assert result.stale == []
    assert list(result.drift) == [service]
    return result


def test_a_model_with_the_same_content_in_another_layout_is_not_drift() -> None:
    def shuffle(doc: dict[str, Any]) -> None:
        for shape in doc["shapes"].values():  # key order of every shape reversed: not an order the generator reads
            items = list(shape.items())
            shape.clear()
            shape.update(reversed(items))

    result = load_generator().check(EditedLoader("kinesis", "service-2", shuffle))
    assert (result.stale, result.drift, result.failed) == ([], {}, False)


def test_drift_names_each_change_in_the_service_model() -> None:
    def edit(doc: dict[str, Any]) -> None:
        shapes, ops = doc["shapes"], doc["operations"]
        ops["FrobnicateStream"] = {"name": "FrobnicateStream", "input": {"shape": "PutRecordInput"}}
        del ops["MergeShards"]
        ops["PutRecord"]["errors"].append({"shape": "NewThingException"})
        shapes["NewThingException"] = {"type": "structure", "members": {}, "exception": True}
        del shapes["KMSOptInRequired"]
        shapes["PutRecordInput"]["members"]["Colour"] = {"shape": "PartitionKey"}
        del shapes["PutRecordInput"]["members"]["ExplicitHashKey"]
        shapes["PutRecordInput"]["required"].remove("Data")
        shapes["PutRecordInput"]["members"]["Data"] = {"shape": "PartitionKey"}
        shapes["PartitionKey"]["max"] = 512
        shapes["StreamStatus"]["enum"] = [*shapes["StreamStatus"]["enum"][1:], "FROZEN"]

    result = drift_of("kinesis", "service-2", edit)
    lines = result.drift["kinesis"].lines
    assert result.failed
    assert set(lines) >= {
        "service-2: operation added: FrobnicateStream",
        "service-2: operation removed: MergeShards",
        "service-2: operation PutRecord: errors + NewThingException",
        "service-2: error added: NewThingException",
        "service-2: error removed: KMSOptInRequired",
        "service-2: shape PutRecordInput: member added: Colour (PartitionKey)",
        "service-2: shape PutRecordInput: member removed: ExplicitHashKey",
        "service-2: shape PutRecordInput: member no longer required: Data",
        "service-2: shape PutRecordInput: member Data: shape 'Data' -> 'PartitionKey'",
        "service-2: shape PartitionKey: max 256 -> 512",
        "service-2: shape StreamStatus: enum value added: FROZEN",
        "service-2: shape StreamStatus: enum value removed: CREATING",
    }, lines
    assert "kinesis: botocore" in result.report()


def test_drift_names_waiter_and_paginator_changes() -> None:
    def waiters(doc: dict[str, Any]) -> None:
        doc["waiters"]["StreamExists"]["delay"] = 5
        doc["waiters"]["StreamFrozen"] = {"operation": "DescribeStream", "delay": 1, "maxAttempts": 2, "acceptors": []}

    lines = drift_of("kinesis", "waiters-2", waiters).drift["kinesis"].lines
    assert lines == ["waiters-2: waiter added: StreamFrozen", "waiters-2: waiter StreamExists: delay 10 -> 5"]

    def paginators(doc: dict[str, Any]) -> None:
        doc["pagination"]["ListShards"]["limit_key"] = "Limit"

    result = drift_of("kinesis", "paginators-1", paginators)
    assert result.drift["kinesis"].lines == ["paginators-1: paginator ListShards: limit_key 'MaxResults' -> 'Limit'"]
    assert result.failed


def test_documentation_and_endpoint_rules_alone_are_reported_without_failing() -> None:
    def document(doc: dict[str, Any]) -> None:
        doc["shapes"]["PutRecordInput"]["documentation"] = "<p>Reworded.</p>"

    result = drift_of("kinesis", "service-2", document)
    assert result.drift["kinesis"].lines == ["service-2: documentation only (the generated docstrings would change)"]
    assert not result.failed

    def rules(doc: dict[str, Any]) -> None:
        doc["rules"] = []

    result = drift_of("kinesis", "endpoint-rule-set-1", rules)
    assert [line.split(" (")[0] for line in result.drift["kinesis"].lines] == ["endpoint-rule-set-1: changed"]
    assert not result.failed


def test_a_dynamodb_change_outside_the_operations_used_is_not_drift() -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["shapes"]["ImportTableInput"]["members"]["Extra"] = {"shape": "TableName"}
        del doc["operations"]["ListBackups"]

    result = load_generator().check(EditedLoader("dynamodb", "service-2", edit))
    assert (result.stale, result.drift) == ([], {})
    inside = drift_of("dynamodb", "service-2", lambda doc: doc["shapes"]["GetItemInput"]["required"].clear())
    assert "service-2: shape GetItemInput: member no longer required: TableName" in inside.drift["dynamodb"].lines


def test_the_dynamodb_part_generates_what_the_whole_model_does() -> None:
    """The generator is fed only the used part of DynamoDB's model (what the hash covers): it misses nothing."""
    generator = load_generator()
    config = generator.SERVICES[1]
    assert config.service == "dynamodb"
    whole = create_loader().load_service_model("dynamodb", "service-2")
    docs = generator.inputs.load(create_loader(), config)
    assert len(docs["service-2"]["shapes"]) < len(whole["shapes"])
    for what in ("gen_models", "gen_errors", "gen_shapes", "gen_operations"):
        emit = getattr(generator, what)
        assert emit(generator.Model(docs["service-2"], config), "x") == emit(generator.Model(whole, config), "x"), what


def test_generated_files_say_do_not_edit() -> None:
    paths = list((ROOT / "aiokinesis" / "_generated").rglob("*.py"))
    assert any(path.parent.name == "dynamodb" for path in paths)
    for path in paths:
        assert "do not edit" in path.read_text().split("\n\n", 2)[1], path


def test_every_coroutine_takes_the_model_members_as_keywords() -> None:
    model = document("kinesis", "service-2")
    for name, op in model["operations"].items():
        method = getattr(Client, xform_name(name))
        assert inspect.iscoroutinefunction(method), name
        params = inspect.signature(method).parameters
        members = model["shapes"][op["input"]["shape"]]["members"] if "input" in op else {}
        assert set(params) - {"self"} == {xform_name(m) for m in members}, name
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for n, p in params.items() if n != "self"), name
        required = set(model["shapes"][op["input"]["shape"]].get("required", [])) if "input" in op else set()
        for member in members:
            assert (params[xform_name(member)].default is inspect.Parameter.empty) == (member in required), (
                name,
                member,
            )


def test_boto2_connection_operations_are_reachable_with_their_names() -> None:
    """The operations of boto 2's KinesisConnection (shared/seeds) keep their snake_case names."""
    boto2 = [
        "add_tags_to_stream", "create_stream", "decrease_stream_retention_period", "delete_stream",
        "describe_stream", "disable_enhanced_monitoring", "enable_enhanced_monitoring", "get_records",
        "get_shard_iterator", "increase_stream_retention_period", "list_streams", "list_tags_for_stream",
        "merge_shards", "put_record", "put_records", "remove_tags_from_stream", "split_shard",
    ]  # fmt: skip
    for name in boto2:
        assert inspect.iscoroutinefunction(getattr(Client, name)), name
    assert "sequence_number_for_ordering" in inspect.signature(Client.put_record).parameters


def test_a_botocore_release_with_the_same_model_is_up_to_date(monkeypatch: pytest.MonkeyPatch) -> None:
    """The version is not part of what is compared: a new botocore with the same model changes nothing."""
    import botocore

    monkeypatch.setattr(botocore, "__version__", "9.99.0")
    result = load_generator().check()
    assert (result.stale, result.drift, result.failed) == ([], {}, False)
