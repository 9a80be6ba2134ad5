"""The committed generated code is what the generator makes from the pinned botocore."""

from __future__ import annotations

import importlib.util
import inspect
import sys
from pathlib import Path
from types import ModuleType

from botocore import xform_name
from botocore.loaders import create_loader

from aiokinesis import Client

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
    generator = load_generator()
    stale = [str(path) for path, text in generator.generate().items() if path.read_text() != text]
    assert stale == [], "run: python scripts/generate.py"


def test_generated_files_say_do_not_edit() -> None:
    paths = list((ROOT / "aiokinesis" / "_generated").rglob("*.py"))
    assert any(path.parent.name == "dynamodb" for path in paths)
    for path in paths:
        assert "do not edit" in path.read_text().split("\n\n", 2)[1], path


def test_every_coroutine_takes_the_model_members_as_keywords() -> None:
    model = create_loader().load_service_model("kinesis", "service-2")
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
