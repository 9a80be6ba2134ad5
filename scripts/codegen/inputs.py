"""The botocore documents a service's generated code is made from, in canonical form, hashed and snapshotted.

Canonical: parsed and dumped with sorted keys, so botocore's formatting and key order do not count;
except that the order the generator reads (a structure's members, the operations) is kept, since it
is the order of the generated fields and methods.

The hash covers the documentation too: the docstrings are made from it, so one hash always means
one set of generated files, byte for byte. The snapshot (snapshots/<service>.json, written next to
the generated code) keeps each document's hash, its hash without documentation (its substance) and,
for all but the endpoint rules, its content without documentation: what --check diffs a newer
botocore against, and what the waiter and paginator tests read.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

from .config import ServiceConfig

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
ORDERED = frozenset({"members", "operations"})
"""Maps whose order the generator reads: they stay in botocore's order."""
NAMED = frozenset({"members", "operations", "shapes", "waiters", "pagination", "staticContextParams", "parameters"})
"""Maps keyed by names (a member called "documentation" would still be a member)."""
DOCS = frozenset({"documentation", "documentationUrl"})
SUMMARIZED = frozenset({"endpoint-rule-set-1"})
"""Documents the snapshot keeps only the hashes of: used at runtime from the installed botocore."""


class Loader(Protocol):
    def load_service_model(self, service_name: str, type_name: str) -> Any: ...


def canonical(value: Any, *, docs: bool, key: str | None = None) -> Any:
    """value with sorted keys (but for ORDERED maps), without documentation unless docs."""
    if isinstance(value, Mapping):
        named = key in NAMED
        items = list(value.items()) if key in ORDERED else sorted(value.items())
        return {
            k: canonical(v, docs=docs, key=None if named else k) for k, v in items if docs or named or k not in DOCS
        }
    if isinstance(value, list):
        return [canonical(v, docs=docs, key=key) for v in value]
    return value


def digest(value: Any) -> str:
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def used_part(service: Mapping[str, Any], config: ServiceConfig) -> dict[str, Any]:
    """What of service-2 the generator reads: for a service generated in part (DynamoDB), only its
    operations and the shapes they, the errors and the event shapes reach. Generating from this part
    is what makes the hash cover the generator's whole input and nothing else."""
    used = {k: service[k] for k in ("version", "metadata", "operations", "shapes") if k in service}
    wanted = config.operations
    if wanted is None:
        return used
    operations = {name: op for name, op in service["operations"].items() if name in wanted}
    shapes: Mapping[str, Any] = service["shapes"]
    roots = [ref["shape"] for op in operations.values() for part in ("input", "output") if (ref := op.get(part))]
    roots += [ref["shape"] for op in operations.values() for ref in op.get("errors", ())]
    roots += [name for name, shape in shapes.items() if shape.get("exception") or shape.get("event")]
    reached = _closure(shapes, roots)
    used["operations"] = operations
    used["shapes"] = {name: shape for name, shape in shapes.items() if name in reached}
    return used


def _closure(shapes: Mapping[str, Any], roots: Iterable[str]) -> set[str]:
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        shape = shapes[name]
        refs = list(shape.get("members", {}).values())
        refs += [shape[part] for part in ("member", "key", "value") if part in shape]
        stack.extend(ref["shape"] for ref in refs)
    return seen


def load(loader: Loader, config: ServiceConfig) -> dict[str, Any]:
    """The service's documents as the generator uses them (service-2 reduced to its used part)."""
    docs = {kind: loader.load_service_model(config.service, kind) for kind in config.documents}
    docs["service-2"] = used_part(docs["service-2"], config)
    return docs


def snapshot(config: ServiceConfig, docs: Mapping[str, Any]) -> dict[str, Any]:
    documents: dict[str, Any] = {}
    for kind, doc in docs.items():
        substance = canonical(doc, docs=False)
        entry: dict[str, Any] = {"hash": digest(canonical(doc, docs=True)), "substance": digest(substance)}
        if kind not in SUMMARIZED:
            entry["content"] = substance
        documents[kind] = entry
    whole = digest([[kind, entry["hash"]] for kind, entry in documents.items()])
    return {"service": config.service, "hash": whole, "documents": documents}


def snapshot_path(config: ServiceConfig) -> Path:
    return SNAPSHOTS / f"{config.service}.json"


def snapshot_text(snap: Mapping[str, Any]) -> str:
    return json.dumps(snap, indent=1, ensure_ascii=False) + "\n"


def read_snapshot(config: ServiceConfig) -> dict[str, Any] | None:
    """The committed snapshot, or None before the first generation."""
    path = snapshot_path(config)
    if not path.exists():
        return None
    snap: dict[str, Any] = json.loads(path.read_text())
    return snap
