"""Every request checked against the Kinesis model, as AWS checks it before the operation runs.

Each member's constraints (required, length, range, pattern, enum) give a ValidationException
naming the member the way AWS does (`records.1.member.partitionKey`, lists counted from 1) and
listing every broken constraint; a value of the wrong JSON type is a SerializationException.

The model is the one the client was generated from (its request shapes, generated as data in
_generated/shapes.py), so the server takes what the client sends whatever botocore is installed: the
declared floor's model (1.34.0) has 1 MiB records and no MaxRecordSizeInKiB, and checking against it
refused 10 MiB records. Each structure's members are tabled on first use; a request then costs a walk
over its own members (a 500-entry PutRecords about 1 ms).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

from .._generated.shapes import INPUTS, REQUEST_SHAPES
from .._rules import java_length
from ._state import ApiError, Json

Shape = Mapping[str, Any]
UNCHECKED_PATTERNS = frozenset({("PutRecordInput", "ExplicitHashKey"), ("PutRecordsRequestEntry", "ExplicitHashKey")})
"""Members whose model pattern AWS does not check: an ExplicitHashKey out of its pattern ("-5") is
an InvalidArgumentException naming the range (what kinesalite, built against AWS, answers), which
the operation itself reports."""


@functools.cache
def model_checker() -> ModelChecker:
    """The checker of the Kinesis model the client was generated from (made on first use, then kept)."""
    return ModelChecker(INPUTS, REQUEST_SHAPES)


class ModelChecker:
    """Checks operations' requests against a service model's input shapes."""

    def __init__(self, inputs: Mapping[str, str], shapes: Mapping[str, Shape]) -> None:
        self._inputs = inputs
        """Operation -> the shape of its request."""
        self._shapes = shapes
        """Shape name -> the shape, in botocore's form (references as {"shape": name})."""
        self._patterns: dict[str, re.Pattern[str]] = {}
        self._members: dict[str, list[tuple[str, str, bool, str, Shape]]] = {}
        """Per structure: (member, its name in errors, required, shape name, shape), made once."""

    def check(self, operation: str, request: Json) -> None:
        """Raise ValidationException (every broken constraint) or SerializationException (a wrong type)."""
        shape = self._inputs.get(operation)
        if shape is None:
            return
        errors: list[str] = []
        self._structure(shape, request, "", errors)
        if errors:
            count = f"{len(errors)} validation error{'s' if len(errors) > 1 else ''} detected"
            raise ApiError("ValidationException", f"{count}: {'; '.join(errors)}")

    def _structure(self, name: str, value: Json, prefix: str, errors: list[str]) -> None:
        members = self._members.get(name)
        if members is None:
            members = self._members[name] = self._table(name)
        for member, label, required, inner_name, inner in members:
            item = value.get(member)
            if item is None:
                if required:
                    errors.append(
                        f"Value null at '{prefix}{label}' failed to satisfy constraint: Member must not be null"
                    )
                continue
            self._value(inner_name, inner, item, prefix + label, errors)

    def _table(self, name: str) -> list[tuple[str, str, bool, str, Shape]]:
        shape = self._shapes[name]
        required = set(shape.get("required", ()))
        table = []
        for member, ref in shape.get("members", {}).items():
            inner = self._shapes[ref["shape"]]
            if (name, member) in UNCHECKED_PATTERNS:
                inner = {k: v for k, v in inner.items() if k != "pattern"}
            table.append((member, member[:1].lower() + member[1:], member in required, ref["shape"], inner))
        return table

    def _value(self, name: str, shape: Shape, value: object, path: str, errors: list[str]) -> None:
        kind = shape["type"]
        if kind == "structure":
            if not isinstance(value, dict):
                raise _wrong_type(path, "a structure", value)
            self._structure(name, value, f"{path}.", errors)
        elif kind == "list":
            if not isinstance(value, list):
                raise _wrong_type(path, "a list", value)
            self._length(shape, len(value), None, path, errors)
            member = shape["member"]["shape"]
            for i, item in enumerate(value, 1):
                if item is None:
                    raise _wrong_type(f"{path}.{i}.member", "a value", item)
                self._value(member, self._shapes[member], item, f"{path}.{i}.member", errors)
        elif kind == "map":
            self._map(shape, value, path, errors)
        elif kind == "string":
            if not isinstance(value, str):
                raise _wrong_type(path, "a string", value)
            self._string(shape, value, path, errors)
        elif kind in ("integer", "long"):
            if not isinstance(value, int) or isinstance(value, bool):
                raise _wrong_type(path, "an integer", value)
            self._range(shape, value, path, errors)
        elif kind == "boolean":
            if not isinstance(value, bool):
                raise _wrong_type(path, "a boolean", value)
        elif kind in ("timestamp", "double", "float"):
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise _wrong_type(path, "a number", value)
        elif kind == "blob":
            if not isinstance(value, str):
                raise _wrong_type(path, "base64 text", value)
            self._length(shape, _decoded_length(value, path), None, path, errors)

    def _string(self, shape: Shape, value: str, path: str, errors: list[str]) -> None:
        enum = shape.get("enum")
        if enum is not None and value not in enum:
            errors.append(_broken(value, path, f"Member must satisfy enum value set: [{', '.join(enum)}]"))
        pattern = shape.get("pattern")
        if pattern is not None and self._pattern(pattern).fullmatch(value) is None:
            errors.append(_broken(value, path, f"Member must satisfy regular expression pattern: {pattern}"))
        self._length(shape, java_length(value), value, path, errors)

    def _map(self, shape: Shape, value: object, path: str, errors: list[str]) -> None:
        if not isinstance(value, dict):
            raise _wrong_type(path, "a map", value)
        self._length(shape, len(value), None, path, errors)
        for part, items in (("keys", value.keys()), ("value", value.values())):
            inner = self._shapes[shape["key" if part == "keys" else "value"]["shape"]]
            broken: list[str] = []
            for item in items:
                if not isinstance(item, str):
                    raise _wrong_type(path, "a map of strings", value)
                found: list[str] = []
                self._string(inner, item, path, found)
                broken += [f.rpartition("failed to satisfy constraint: ")[2] for f in found if f not in broken]
            if broken:
                unique = list(dict.fromkeys(broken))
                errors.append(
                    f"Value at '{path}' failed to satisfy constraint: Map {part} must satisfy constraint: "
                    f"[{', '.join(unique)}]"
                )

    @staticmethod
    def _length(shape: Shape, length: int, shown: object, path: str, errors: list[str]) -> None:
        low, high = shape.get("min"), shape.get("max")
        if low is not None and length < low:
            errors.append(_broken(shown, path, f"Member must have length greater than or equal to {low}"))
        if high is not None and length > high:
            errors.append(_broken(shown, path, f"Member must have length less than or equal to {high}"))

    @staticmethod
    def _range(shape: Shape, value: int, path: str, errors: list[str]) -> None:
        low, high = shape.get("min"), shape.get("max")
        if low is not None and value < low:
            errors.append(_broken(value, path, f"Member must have value greater than or equal to {low}"))
        if high is not None and value > high:
            errors.append(_broken(value, path, f"Member must have value less than or equal to {high}"))

    def _pattern(self, pattern: str) -> re.Pattern[str]:
        compiled = self._patterns.get(pattern)
        if compiled is None:
            # Java's regular expressions, which AWS uses, match \d, \s and \w in ASCII only.
            compiled = self._patterns[pattern] = re.compile(pattern, re.ASCII)
        return compiled


def _broken(value: object, path: str, constraint: str) -> str:
    """AWS's wording of one broken constraint; values that are not text or numbers are not shown."""
    shown = "" if value is None else f" '{value}'"
    return f"Value{shown} at '{path}' failed to satisfy constraint: {constraint}"


def _wrong_type(path: str, expected: str, value: object) -> ApiError:
    return ApiError("SerializationException", f"{path}: expected {expected}, not {type(value).__name__}")


def _decoded_length(text: str, path: str) -> int:
    """Bytes a base64 text decodes to, without decoding it (a record's data may be 10 MiB)."""
    if len(text) % 4:
        raise ApiError("SerializationException", f"{path}: not valid base64 (length {len(text)})")
    return len(text) // 4 * 3 - (text[-2:].count("=") if text else 0)
