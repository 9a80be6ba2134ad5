"""Naming the member at fault, on error paths only.

Parsers and the request encoder run straight-line on success; when one fails, these walkers
go over the same document again, against the model's shapes as data, to say which member
broke and how. Nothing here runs on a call that succeeds.
"""

from __future__ import annotations

from binascii import a2b_base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._generated import shapes as _kinesis
from ._protocol import read_timestamp
from .errors import ParamValidationError, ProtocolError

_INT64_MIN = -(2**63)
_UINT64_MAX = 2**64 - 1
Misfit = tuple[str, str]


@dataclass(frozen=True, slots=True)
class ShapeTables:
    """One service's generated shapes module (`_generated/.../shapes.py`) as the walkers read it."""

    field_names: Mapping[str, str]
    inputs: Mapping[str, str]
    outputs: Mapping[str, str]
    structures: Mapping[str, tuple[tuple[str, bool, str], ...]]


KINESIS_SHAPES = ShapeTables(_kinesis.FIELD_NAMES, _kinesis.INPUTS, _kinesis.OUTPUTS, _kinesis.STRUCTURES)


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a bool"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 64 else text[:61] + "..."


def _leaf(kind: str, value: object, path: str) -> Misfit | None:
    if kind == "timestamp":
        try:
            read_timestamp(value)  # type: ignore[arg-type]
        except Exception as exc:  # whatever the parser met, said in words
            return path, f"is {_shown(value)}, not a timestamp ({exc})"
    elif kind == "blob":
        try:
            a2b_base64(value)  # type: ignore[arg-type]
        except Exception as exc:
            return path, f"is {_shown(value)}, not base64 ({exc})"
    elif kind == "enum" and not isinstance(value, str):
        return path, f"is {_json_type(value)}, not a string"
    return None


def _value(kind: str, value: object, path: str, shapes: ShapeTables) -> Misfit | None:
    if kind.startswith("S:"):
        return _structure(kind[2:], value, path, shapes)
    if kind.startswith("L:"):
        if not isinstance(value, list):
            return path, f"is {_json_type(value)}, not a list"
        inner = kind[2:]
        for index, item in enumerate(value):
            found = _value(inner, item, f"{path}[{index}]", shapes)
            if found is not None:
                return found
        return None
    if kind.startswith("M:"):
        if not isinstance(value, dict):
            return path, f"is {_json_type(value)}, not an object"
        inner = kind[2:]
        for key, item in value.items():
            found = _value(inner, item, f"{path}[{key!r}]", shapes)
            if found is not None:
                return found
        return None
    return _leaf(kind, value, path)


def _structure(name: str, value: object, path: str, shapes: ShapeTables) -> Misfit | None:
    if not isinstance(value, dict):
        return path, f"is {_json_type(value)}, not an object"
    for member, required, kind in shapes.structures[name]:
        where = f"{path}.{member}" if path else member
        item = value.get(member)
        if item is None:
            if required and member not in value:
                return where, "is missing"
            if required and kind != "plain":
                return where, "is null"
            continue
        found = _value(kind, item, where, shapes)
        if found is not None:
            return found
    return None


def response_misfit(
    what: str, answer: object, error: Exception, shape: str | None = None, shapes: ShapeTables = KINESIS_SHAPES
) -> ProtocolError:
    """The ProtocolError for an answer its parser failed on, naming the member when the model can.

    `shape` defaults to the operation's output structure; events name theirs. `shapes` are the
    answering service's."""
    shape = shape or shapes.outputs.get(what)
    found = None if shape is None else _structure(shape, answer, "", shapes)
    if found is None:
        return ProtocolError(f"{what}: the response does not fit the model ({error!r})")
    member, problem = found
    if not member:
        return ProtocolError(f"{what}: the response {problem}")
    return ProtocolError(f"{what}: the response's {member} {problem}", member=member)


def _request_leaf(value: object, path: str) -> Misfit | None:
    if isinstance(value, str):
        for index, char in enumerate(value):
            if "\ud800" <= char <= "\udfff":
                return path, f"has a lone surrogate (U+{ord(char):04X}) at index {index}: it cannot be sent as UTF-8"
    elif isinstance(value, int) and not isinstance(value, bool) and not _INT64_MIN <= value <= _UINT64_MAX:
        return path, f"is {value}, outside the 64-bit range of JSON numbers"
    return None


def _request_value(kind: str, value: object, path: str, shapes: ShapeTables) -> Misfit | None:
    if kind.startswith("S:") and isinstance(value, dict):
        for member, _, inner in shapes.structures[kind[2:]]:
            if member in value:
                field = shapes.field_names[member]
                found = _request_value(inner, value[member], f"{path}.{field}" if path else field, shapes)
                if found is not None:
                    return found
    elif kind.startswith("L:") and isinstance(value, list):
        for index, item in enumerate(value):
            found = _request_value(kind[2:], item, f"{path}[{index}]", shapes)
            if found is not None:
                return found
    elif kind.startswith("M:") and isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}[{key!r}]"
            found = _request_leaf(key, where)
            if found is not None:
                return where, f"(the key) {found[1]}"
            found = _request_value(kind[2:], item, where, shapes)
            if found is not None:
                return found
    else:
        return _request_leaf(value, path)
    return None


def request_misfit(
    operation: str, body: dict[str, Any], error: Exception, shapes: ShapeTables = KINESIS_SHAPES
) -> ParamValidationError:
    """The ParamValidationError for a request body the JSON encoder refused, naming the field."""
    shape = shapes.inputs.get(operation)
    found = None if shape is None else _request_value(f"S:{shape}", body, "", shapes)
    if found is None:
        return ParamValidationError(operation, f"the request cannot be encoded as JSON ({error})")
    return ParamValidationError(*found)
