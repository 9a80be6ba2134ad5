"""botocore's documents as the generated code was made from them (scripts/codegen/snapshots), for the tests
that hold our operations, rules, errors, waiters and paginators to the model.

The snapshot, not the installed botocore's model: at the declared botocore floor the model is older, and a
user's newer botocore may have more; the freshness test (tests/unit/test_generated.py) and
`scripts/generate.py --check` report that drift. botocore's serializers, parsers and signer are still the
installed ones: they are what our wire format is compared with.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from botocore.model import ServiceModel

SNAPSHOTS = Path(__file__).resolve().parents[1] / "scripts" / "codegen" / "snapshots"


@cache
def _snapshot(service: str) -> dict[str, Any]:
    snap: dict[str, Any] = json.loads((SNAPSHOTS / f"{service}.json").read_text())
    return snap


def document(service: str, kind: str) -> dict[str, Any]:
    """One document's content without documentation (the snapshot keeps none for the endpoint rules)."""
    content: dict[str, Any] = _snapshot(service)["documents"][kind]["content"]
    return content


def service_model(service: str) -> ServiceModel:
    return ServiceModel(document(service, "service-2"), service)
