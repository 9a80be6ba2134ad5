"""The package's layers point down only: no module imports one of a layer above its own.

Every module of aiokinesis/ is placed in a layer below; a new module fails this test until it is
placed. Imports under `if TYPE_CHECKING:` count too: a type that names an upper layer is the same
inversion, only hidden from the interpreter. The layers, bottom up, are those of the design:
values and policies, the JSON wire format, the generated models, the session, the operations,
the shard reader, the consumer and producer, the client that wires them for the user, and the command line on top.
`aiokinesis.testing` sits beside the SDK and may use only its lower layers.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "aiokinesis"

LAYERS: dict[str, list[str]] = {
    "values": [
        "_version",
        "errors",
        "_checks",
        "config",
        "_queue_config",
        "_runtime",
        "_closing",
        "_metrics",
        "records",
        "aggregation",
        "_buckets",
        "_eventstream",
        "_generated",
        "_generated.errors",
        "_generated.dynamodb",
    ],
    "wire format": ["_protocol", "_rules"],
    "models": [
        "_structures",
        "_generated.models",
        "_generated.shapes",
        "_generated.dynamodb.models",
        "_generated.dynamodb.shapes",
        "_generated.dynamodb.errors",
        "_diagnose",
        "_shardmap",
        "_service",
    ],
    "session": [
        "_signing",
        "_credentials",
        "_endpoints",
        "_retry",
        "_invoker",
        "_http1",
        "_http2stream",
        "_http2",
        "_http2pool",
        "_session",
    ],
    "operations": [
        "_generated.operations",
        "_put_records",
        "_generated.dynamodb.operations",
        "_dynamodb",
        "paginators",
        "waiters",
        "subscriptions",
    ],
    "reader": ["_shardrecords", "reader", "_subscription", "_recordsource", "_fanout"],
    "consumer and producer": [
        "checkpoints",
        "checkpoints._protocol",
        "checkpoints.memory",
        "checkpoints.sqlite",
        "_shardstore",
        "_shardstate",
        "leases",
        "leases._lease",
        "leases._store",
        "leases._memory",
        "leases._dynamodb",
        "leases._view",
        "leases._taker",
        "leases._renewer",
        "leases._syncer",
        "leases._coordinator",
        "_checkpointing",
        "consumer",
        "_produce_receipt",
        "_produce_model",
        "_produce_lanes",
        "_produce_metrics",
        "_produce_entries",
        "_produce_pacing",
        "_produce_limits",
        "_produce_checks",
        "_produce_shards",
        "_produce_buffer",
        "_produce_maps",
        "_produce_sender",
        "producer",
        "queues",
        "queues._message",
        "queues._acker",
        "queues._receiver",
        "queues._extender",
        "queues._deadletters",
        "queues._names",
        "queues._worker",
    ],
    "client": ["client", "", "metrics", "metrics._opentelemetry", "metrics._prometheus"],
    "command line": [
        "cli",
        "cli._parser",
        "cli._context",
        "cli._run",
        "cli._streams",
        "cli._lines",
        "cli._put",
        "cli._tail",
        "cli._leases",
        "__main__",
    ],
}
BESIDE = "testing"
"""aiokinesis.testing and its modules: a local Kinesis, built on the layers up to the models only
(it speaks the wire format; it never uses the client it stands in for the server of)."""

RANK = {module: rank for rank, modules in enumerate(LAYERS.values()) for module in modules}


def _modules() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names.append(".".join(parts))
    return names


def _imports(module: str) -> set[str]:
    """The aiokinesis modules `module` imports (relative or absolute), as dotted names under the package."""
    path = PACKAGE.joinpath(*module.split(".")) if module else PACKAGE
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    package = [p for p in package if p]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = [*base, *(node.module.split(".") if node.module else [])]
            elif node.module and node.module.split(".")[0] == "aiokinesis":
                target = node.module.split(".")[1:]
            else:
                continue
            names = [alias.name for alias in node.names]
            for name in names:  # `from . import errors` names a module, `from .x import y` a member
                candidate = ".".join([*target, name])
                found.add(candidate if candidate in RANK or candidate.split(".")[0] == BESIDE else ".".join(target))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "aiokinesis":
                    found.add(".".join(alias.name.split(".")[1:]))
    found.discard(module)
    return found


def test_every_module_is_placed_in_a_layer() -> None:
    unplaced = [m for m in _modules() if m.split(".")[0] != BESIDE and m not in RANK]
    assert unplaced == [], f"place these modules in a layer of {__name__}.LAYERS"


@pytest.mark.parametrize("module", [m for m in _modules() if m.split(".")[0] != BESIDE])
def test_no_module_imports_a_layer_above_its_own(module: str) -> None:
    if module not in RANK:
        pytest.skip("unplaced: reported by test_every_module_is_placed_in_a_layer")
    above = sorted(i for i in _imports(module) if i.split(".")[0] != BESIDE and RANK.get(i, -1) > RANK[module])
    assert above == [], f"{module or 'aiokinesis'} ({_layer(module)}) imports upper layers: {above}"


@pytest.mark.parametrize("module", [m for m in _modules() if m.split(".")[0] == BESIDE])
def test_the_local_server_uses_only_the_layers_up_to_the_models(module: str) -> None:
    used = sorted(i for i in _imports(module) if i.split(".")[0] != BESIDE)
    assert [i for i in used if RANK.get(i, 99) > RANK["_shardmap"]] == [], f"{module} imports {used}"


def _layer(module: str) -> str:
    return next(name for name, modules in LAYERS.items() if module in modules)
