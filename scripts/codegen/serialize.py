"""Straight-line request serializers, `_ser_<Shape>(value) -> dict` (`ser_<Shape>` where exported),
with the model's constraints inline.

Wire shapes (DynamoDB's AttributeValue) get a checker instead, `_chk_<Shape>(value, label)`: the
value is already in its wire form, so it is checked against the model and sent as it is.
"""

from __future__ import annotations

from .model import Model, field_name, py_type

TYPE_CHECKS = {
    "string": ("str", "a string"),
    "blob": ("(bytes, bytearray, memoryview)", "bytes"),
    "integer": ("int", "an integer"),
    "long": ("int", "an integer"),
    "boolean": ("bool", "a bool"),
    "timestamp": ("datetime", "a datetime"),
    "list": ("list", "a list"),
    "map": ("dict", "a dict"),
}
# In the wire form a blob is its base64 text.
WIRE_CHECKS = {**TYPE_CHECKS, "blob": ("str", "base64 text"), "structure": ("dict", "a dict")}


def rules_of(model: Model, name: str) -> list[str]:
    """The cross-member rules a structure's serializer ends with."""
    config = model.config
    shape = model.shape(name)
    members, required = shape["members"], set(shape.get("required", []))
    names_stream = "StreamName" in members and "StreamARN" in members and not {"StreamName", "StreamARN"} & required
    rules = [config.stream_rule] if config.stream_rule and names_stream and name != "ListShardsInput" else []
    return rules + ([config.rules[name]] if name in config.rules else [])


class SerializerWriter:
    """Writes `_ser_<Shape>(value) -> dict` with the model's constraints inline."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.patterns: dict[str, str] = {}
        self._temps: dict[str, str] = {}

    def temp(self, prefix: str, depth: int, holds: str) -> str:
        """A local of the function being written for values of the Python type `holds`: a name
        two members share only if their values are of one type (mypy types a local once)."""
        base = name = f"{prefix}{depth}"
        suffix = 0
        while self._temps.setdefault(name, holds) != holds:
            suffix += 1
            name = f"{base}_{suffix}"
        return name

    def pattern_name(self, pattern: str) -> str:
        if pattern not in self.patterns:
            self.patterns[pattern] = f"_P{len(self.patterns)}"
        return self.patterns[pattern]

    def checks(self, var: str, label: str, name: str, indent: str, required: bool = False) -> list[str]:
        """Type and constraint checks of one value; label is the field path for errors.

        A required value's None check rides on its type check: one test on the success path."""
        shape = self.model.shape(name)
        kind = shape["type"]
        lines: list[str] = []
        wire = name in self.model.wire
        if wire:
            pytype, what = WIRE_CHECKS["structure"]
        else:
            pytype, what = (name, name) if kind == "structure" else TYPE_CHECKS[kind]
        cond = f"not isinstance({var}, {pytype})"
        if kind in ("integer", "long"):
            cond = f"{cond} or isinstance({var}, bool)"
        lines.append(f"{indent}if {cond}:")
        if required:
            lines.append(
                f"{indent}    raise _missing({label}) if {var} is None else type_error({label}, {var}, {what!r})"
            )
        else:
            lines.append(f"{indent}    raise type_error({label}, {var}, {what!r})")
        if wire:
            lines.append(f"{indent}_chk_{name}({var}, {label})")
            return lines
        if kind == "structure":
            return lines
        if kind == "blob":  # a view's limits count its bytes, and its base64 needs them in a row
            lines.append(f"{indent}if isinstance({var}, memoryview):")
            lines.append(f"{indent}    {var} = view_bytes({label}, {var})")
        return lines + self.limits(var, label, name, indent)

    def limits(self, var: str, label: str, name: str, indent: str) -> list[str]:
        """The model's min/max/pattern checks of a value already known to be of its type."""
        shape = self.model.shape(name)
        kind = shape["type"]
        lines: list[str] = []
        if kind == "timestamp":
            lines.append(f"{indent}if {var}.tzinfo is None:")
            lines.append(f"{indent}    raise _naive({label})")
        limits = {**shape, **self.model.config.extra_limits.get(name, {})}
        low, high = limits.get("min"), limits.get("max")
        if kind in ("integer", "long"):
            if low is not None:
                lines.append(f"{indent}if {var} < {low}:")
                lines.append(f"{indent}    raise _below({label}, {var}, {low})")
            if high is not None:
                lines.append(f"{indent}if {var} > {high}:")
                lines.append(f"{indent}    raise _above({label}, {var}, {high})")
        elif kind in ("string", "blob", "list", "map"):
            unit = {"string": "characters", "blob": "bytes", "list": "items", "map": "entries"}[kind]
            if low and high is not None:
                lines.append(f"{indent}if not {low} <= len({var}) <= {high}:")
                lines.append(f"{indent}    raise _length({label}, len({var}), {low}, {high}, {unit!r})")
            elif low:
                lines.append(f"{indent}if len({var}) < {low}:")
                lines.append(f"{indent}    raise _length({label}, len({var}), {low}, None, {unit!r})")
            elif high is not None:
                lines.append(f"{indent}if len({var}) > {high}:")
                lines.append(f"{indent}    raise _length({label}, len({var}), 0, {high}, {unit!r})")
        if name in self.model.config.utf16_shapes and high is not None:
            lines.append(f"{indent}if len({var}) > {high // 2}:")
            lines.append(f"{indent}    _rules.utf16_length({label}, {var}, {high})")
        if "pattern" in shape:
            pat = self.pattern_name(shape["pattern"])
            lines.append(f"{indent}if {pat}.fullmatch({var}) is None:")
            lines.append(f"{indent}    raise _mismatch({label}, {var}, {pat}.pattern)")
        if name == self.model.config.hash_key_shape:
            lines.append(f"{indent}if len({var}) == 39 and int({var}) > _rules.MAX_HASH_KEY:")
            lines.append(f"{indent}    raise _rules.hash_key_above({label}, {var})")
        return lines

    def value(
        self, var: str, name: str, label: str, indent: str, depth: int, required: bool = False
    ) -> tuple[list[str], str]:
        """Lines that check var, and the expression of its wire form."""
        shape = self.model.shape(name)
        kind = shape["type"]
        lines = self.checks(var, label, name, indent, required)
        if name in self.model.wire:
            return lines, var
        if kind == "structure":
            tmp = self.temp("_s", depth, "dict[str, Any]")  # a serialized structure
            lines.append(f"{indent}try:")
            lines.append(f"{indent}    {tmp} = {self.model.config.name('_ser_' + name)}({var})")
            lines.append(f"{indent}except ParamValidationError as exc:")
            lines.append(f"{indent}    raise exc.within({label}) from None")
            return lines, tmp
        if kind == "blob":
            return lines, f"b2a_base64({var}, newline=False).decode()"
        if kind == "timestamp":
            return lines, f"{var}.timestamp()"
        member = shape["member"]["shape"] if kind == "list" else None
        if member is not None and self.model.shape(member)["type"] == "structure" and member not in self.model.wire:
            item, idx, target = self.temp("_i", depth, member), f"_n{depth}", f"_l{depth}"
            # Fast path: one comprehension. Only when it fails is each item checked again,
            # to name the index (or re-raise, if no item is at fault).
            lines += [
                f"{indent}try:",
                f"{indent}    {target} = [{self.model.config.name('_ser_' + member)}({item}) for {item} in {var}]",
                f"{indent}except (ParamValidationError, AttributeError):",
                f"{indent}    for {idx}, {item} in enumerate({var}):",
                f"{indent}        if not isinstance({item}, {member}):",
                f"{indent}            raise type_error(field_at({label}, {idx}), {item}, {member!r}) from None",
                f"{indent}        try:",
                f"{indent}            {self.model.config.name('_ser_' + member)}({item})",
                f"{indent}        except ParamValidationError as exc:",
                f"{indent}            raise exc.within(field_at({label}, {idx})) from None",
                f"{indent}    raise",
            ]
            return lines, target
        if kind == "list":
            item = self.temp("_i", depth, py_type(self.model, shape["member"]["shape"]))
            idx = f"_n{depth}"
            item_lines, expr = self.value(
                item, shape["member"]["shape"], f"field_at({label}, {idx})", indent + "    ", depth + 1
            )
            if not item_lines and expr == item:
                return lines, f"list({var})"
            if not item_lines:
                return lines, f"[{expr} for {item} in {var}]"
            target = self.temp("_l", depth, py_type(self.model, name))
            lines.append(f"{indent}{target} = []")
            lines.append(f"{indent}for {idx}, {item} in enumerate({var}):")
            lines += item_lines
            lines.append(f"{indent}    {target}.append({expr})")
            return lines, target
        if kind == "map":
            key = self.temp("_k", depth, py_type(self.model, shape["key"]["shape"]))
            val = self.temp("_v", depth, py_type(self.model, shape["value"]["shape"]))
            key_lines, key_expr = self.value(
                key, shape["key"]["shape"], f"field_at({label}, {key})", indent + "    ", depth + 1
            )
            val_lines, val_expr = self.value(
                val, shape["value"]["shape"], f"field_at({label}, {key})", indent + "    ", depth + 1
            )
            target = self.temp("_m", depth, py_type(self.model, name))
            lines.append(f"{indent}{target} = {{}}")
            lines.append(f"{indent}for {key}, {val} in {var}.items():")
            lines += key_lines + val_lines
            lines.append(f"{indent}    {target}[{key_expr}] = {val_expr}")
            return lines, target
        return lines, var

    def function(self, name: str) -> list[str]:
        shape = self.model.shape(name)
        required = set(shape.get("required", []))
        self._temps = {}
        function = self.model.config.name(f"_ser_{name}")
        out = ["", "", f"def {function}(v: {name}) -> dict[str, Any]:", "    d: dict[str, Any] = {}"]
        for member, ref in shape["members"].items():
            attr = field_name(member)
            var = f"x_{attr}"
            label = repr(attr)
            out.append(f"    {var} = v.{attr}")
            if ref.get("idempotencyToken"):  # as botocore does: one token per call, the same on every retry
                out.append(f"    if {var} is None:")
                out.append(f"        {var} = _token()")
            if member in required:
                lines, expr = self.value(var, ref["shape"], label, "    ", 0, required=True)
                out += lines
                out.append(f"    d[{member!r}] = {expr}")
            else:
                out.append(f"    if {var} is not None:")
                lines, expr = self.value(var, ref["shape"], label, "        ", 0)
                out += lines
                out.append(f"        d[{member!r}] = {expr}")
        out += [f"    {rule}" for rule in rules_of(self.model, name)]
        out.append("    return d")
        return out

    def wire_checker(self, name: str) -> list[str]:
        """`_chk_<Shape>(v, label)`: a tagged union in its wire form, {tag: value}, one tag of the
        model's members, its value of the member's type (recursively, for nested wire shapes)."""
        members = self.model.shape(name)["members"]
        allowed = ", ".join(members)
        out = [
            "",
            "",
            f"def _chk_{name}(v: dict[str, Any], label: str) -> None:",
            f'    """{name} in its wire form: exactly one of {allowed}."""',
            "    if len(v) != 1:",
            f"        raise _union(label, [str(k) for k in v], {allowed!r})",
            "    for tag, x in v.items():",
        ]
        first = True
        for member, ref in members.items():
            out.append(f"        {'if' if first else 'elif'} tag == {member!r}:")
            first = False
            out += self._wire_value("x", ref["shape"], f'label + ".{member}"', "            ", 0)
        out += ["        else:", f"            raise _union(label, [str(tag)], {allowed!r})"]
        return out

    def _wire_value(self, var: str, name: str, label: str, indent: str, depth: int) -> list[str]:
        shape = self.model.shape(name)
        kind = shape["type"]
        wire = name in self.model.wire
        if not wire and (kind not in WIRE_CHECKS or kind == "structure"):
            raise SystemExit(f"{name}: a {kind} inside a wire shape is not supported")
        pytype, what = WIRE_CHECKS["structure" if wire else kind]
        lines = [
            f"{indent}if not isinstance({var}, {pytype}):",
            f"{indent}    raise type_error({label}, {var}, {what!r})",
        ]
        if wire:
            return [*lines, f"{indent}_chk_{name}({var}, {label})"]
        if kind != "blob":  # a blob's limits count bytes, not base64 characters
            lines += self.limits(var, label, name, indent)
        inner = indent + "    "
        if kind == "list":
            item, idx = f"_i{depth}", f"_n{depth}"
            lines.append(f"{indent}for {idx}, {item} in enumerate({var}):")
            lines += self._wire_value(item, shape["member"]["shape"], f"field_at({label}, {idx})", inner, depth + 1)
        elif kind == "map":
            key, val = f"_k{depth}", f"_v{depth}"
            lines.append(f"{indent}for {key}, {val} in {var}.items():")
            lines += self._wire_value(key, shape["key"]["shape"], f"field_at({label}, {key})", inner, depth + 1)
            lines += self._wire_value(val, shape["value"]["shape"], f"field_at({label}, {key})", inner, depth + 1)
        return lines
