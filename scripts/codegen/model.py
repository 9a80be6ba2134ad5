"""botocore's service model, read as the generator needs it: shapes, operations, Python types and names."""

from __future__ import annotations

import html
import keyword
import re
from collections.abc import Iterable, Mapping
from typing import Any

from botocore import xform_name

from .config import ServiceConfig

Shape = Mapping[str, Any]
# Operations whose output is an event stream need a streaming transport that the
# generic request/response path does not give; they are written by hand.
STREAMING = "eventstream"
# Error members every error has: the session reads them into ServiceError.message.
MESSAGE_MEMBERS = frozenset({"message", "Message"})
# What of a shape a request check reads (with its references): aiokinesis/testing/_validate.py.
# In this order, whatever order botocore's document has them in.
CHECKED = ("type", "required", "min", "max", "pattern", "enum")


def doc_line(text: str | None) -> str:
    """First sentence of a model documentation string, as plain text."""
    if not text:
        return ""
    plain = html.unescape(re.sub(r"<[^>]+>", "", text))
    plain = " ".join(plain.split())
    match = re.match(r"(.+?[.!?])(\s|$)", plain)
    sentence = match.group(1) if match else plain
    return sentence.replace("\\", "\\\\").replace('"""', "'''")


def field_name(member: str) -> str:
    name = xform_name(member)
    return f"{name}_" if keyword.iskeyword(name) else name


class Model:
    def __init__(self, service: Mapping[str, Any], config: ServiceConfig) -> None:
        self.config = config
        self.service = service
        self.shapes: Mapping[str, Shape] = service["shapes"]
        wanted = config.operations
        self.operations: Mapping[str, Any] = {
            name: op for name, op in service["operations"].items() if wanted is None or name in wanted
        }
        missing = set(wanted or ()) - set(self.operations)
        if missing:
            raise SystemExit(f"{config.service}: no such operations in the model: {sorted(missing)}")
        self.target_prefix: str = service["metadata"]["targetPrefix"]
        self.wire = config.wire_shapes

    def shape(self, name: str) -> Shape:
        return self.shapes[name]

    def is_streaming_output(self, op: Mapping[str, Any]) -> bool:
        out = op.get("output", {}).get("shape")
        if out is None:
            return False
        return any(self.shape(m["shape"]).get(STREAMING) for m in self.shape(out).get("members", {}).values())

    def generated_operations(self) -> list[str]:
        return [n for n, op in self.operations.items() if not self.is_streaming_output(op)]

    def reachable(self, roots: Iterable[str]) -> list[str]:
        """Structures reachable from roots, in a stable order; wire shapes are leaves."""
        seen: dict[str, None] = {}
        stack = list(roots)
        while stack:
            name = stack.pop()
            shape = self.shape(name)
            kind = shape["type"]
            if kind == "structure":
                if name in seen or shape.get("exception") or shape.get(STREAMING) or name in self.wire:
                    continue
                seen[name] = None
                stack.extend(m["shape"] for m in reversed(list(shape["members"].values())))
            elif kind == "list":
                stack.append(shape["member"]["shape"])
            elif kind == "map":
                stack.append(shape["value"]["shape"])
        return sorted(seen)

    def request_shapes(self) -> dict[str, dict[str, Any]]:
        """Every shape the operations' requests reach, keeping what a request check reads: the type,
        the constraints and the references (in botocore's form), sorted by name."""
        kept: dict[str, dict[str, Any]] = {}
        stack = [op["input"]["shape"] for op in self.operations.values() if "input" in op]
        while stack:
            name = stack.pop()
            if name in kept:
                continue
            shape = self.shape(name)
            kept[name] = {k: shape[k] for k in CHECKED if k in shape}
            if "members" in shape:
                kept[name]["members"] = {m: {"shape": ref["shape"]} for m, ref in shape["members"].items()}
            for part in ("member", "key", "value"):
                if part in shape:
                    kept[name][part] = {"shape": shape[part]["shape"]}
            stack += [ref["shape"] for ref in kept[name].get("members", {}).values()]
            stack += [kept[name][part]["shape"] for part in ("member", "key", "value") if part in kept[name]]
        return dict(sorted(kept.items()))

    def input_structures(self) -> list[str]:
        return self.reachable(op["input"]["shape"] for op in self.operations.values() if "input" in op)

    def output_structures(self) -> list[str]:
        roots = [
            op["output"]["shape"]
            for name, op in self.operations.items()
            if "output" in op and name in self.generated_operations()
        ]
        roots += [n for n, s in self.shapes.items() if s.get("event")]
        roots += [ref["shape"] for name in self.errors() for _, ref in self.error_members(name)]
        return self.reachable(roots)

    def has_tokens(self) -> bool:
        """Whether a generated input has an idempotency token (filled in when the caller gives none)."""
        members = (ref for name in self.input_structures() for ref in self.shape(name)["members"].values())
        return any(ref.get("idempotencyToken") for ref in members)

    def enums(self) -> list[str]:
        """The enums the generated structures use (all of them when every operation is generated)."""
        if self.config.operations is None:
            return sorted(n for n, s in self.shapes.items() if "enum" in s)
        used = set()
        for name in set(self.input_structures()) | set(self.output_structures()):
            for ref in self.shape(name)["members"].values():
                used |= self._enums_in(ref["shape"])
        return sorted(used)

    def _enums_in(self, name: str) -> set[str]:
        shape = self.shape(name)
        if "enum" in shape:
            return {name}
        if shape["type"] == "list":
            return self._enums_in(shape["member"]["shape"])
        if shape["type"] == "map":
            return self._enums_in(shape["key"]["shape"]) | self._enums_in(shape["value"]["shape"])
        return set()

    def errors(self) -> list[str]:
        return sorted(n for n, s in self.shapes.items() if s.get("exception"))

    def error_members(self, name: str) -> list[tuple[str, Shape]]:
        """An error's members besides its message (DynamoDB's Item of a failed condition)."""
        return [(m, ref) for m, ref in self.shape(name)["members"].items() if m not in MESSAGE_MEMBERS]


def py_type(model: Model, name: str) -> str:
    shape = model.shape(name)
    kind = shape["type"]
    if "enum" in shape:
        return f"{name} | str"
    if kind == "string":
        return "str"
    if kind == "blob":
        return "bytes"
    if kind in ("integer", "long"):
        return "int"
    if kind == "double" or kind == "float":
        return "float"
    if kind == "boolean":
        return "bool"
    if kind == "timestamp":
        return "datetime"
    if kind == "list":
        return f"list[{py_type(model, shape['member']['shape'])}]"
    if kind == "map":
        key = py_type(model, shape["key"]["shape"])
        return f"dict[{key}, {py_type(model, shape['value']['shape'])}]"
    return name
