"""What changed between two snapshots of a service's documents, named the way a reviewer reads a model.

Substantive: a change to what the generated code is made from (service-2 without documentation) or to
what waiters.py and paginators.py follow by hand. Not substantive: documentation alone (docstrings
would change, nothing else) and the endpoint rules (read at runtime from the installed botocore, so
a newer botocore's rules are the ones used).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

CONSTRAINTS = ("min", "max", "pattern")
RUNTIME = frozenset({"endpoint-rule-set-1"})


@dataclass
class Drift:
    lines: list[str] = field(default_factory=list)
    """One change a line, prefixed with the document it is in."""
    substantive: bool = False


def compare(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> Drift:
    drift = Drift()
    if old is None:
        drift.lines.append("no snapshot: nothing was generated yet")
        drift.substantive = True
        return drift
    old_docs, new_docs = old["documents"], new["documents"]
    for kind in sorted(set(old_docs) - set(new_docs)):
        drift.lines.append(f"{kind}: no longer hashed")
        drift.substantive = True
    for kind, entry in new_docs.items():
        before = old_docs.get(kind)
        if before is None:
            drift.lines.append(f"{kind}: newly hashed")
            drift.substantive = True
            continue
        if before["hash"] == entry["hash"]:
            continue
        if before["substance"] == entry["substance"]:
            drift.lines.append(f"{kind}: documentation only (the generated docstrings would change)")
            continue
        if kind in RUNTIME:
            drift.lines.append(f"{kind}: changed (read at runtime from the installed botocore: nothing to regenerate)")
            continue
        changes = _document(kind, before.get("content", {}), entry.get("content", {}))
        drift.lines += [f"{kind}: {line}" for line in changes or ["changed in order only"]]
        drift.substantive = True
    return drift


def _document(kind: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    if kind == "service-2":
        return _service(old, new)
    if kind == "waiters-2":
        return _named("waiter", old.get("waiters", {}), new.get("waiters", {}))
    if kind == "paginators-1":
        return _named("paginator", old.get("pagination", {}), new.get("pagination", {}))
    return _keys(kind, old, new)


def _service(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    out = _keys("metadata", old.get("metadata", {}), new.get("metadata", {}))
    old_ops, new_ops = old.get("operations", {}), new.get("operations", {})
    out += _named("operation", old_ops, new_ops)
    if [n for n in old_ops if n in new_ops] != [n for n in new_ops if n in old_ops]:
        out.append("operations reordered")
    old_shapes, new_shapes = old.get("shapes", {}), new.get("shapes", {})
    errors = {n for n, s in {**old_shapes, **new_shapes}.items() if s.get("exception")}
    for name in sorted(set(new_shapes) - set(old_shapes)):
        out.append(f"{'error' if name in errors else 'shape'} added: {name}")
    for name in sorted(set(old_shapes) - set(new_shapes)):
        out.append(f"{'error' if name in errors else 'shape'} removed: {name}")
    for name in sorted(set(old_shapes) & set(new_shapes)):
        if old_shapes[name] != new_shapes[name]:
            out += [f"shape {name}: {line}" for line in _shape(old_shapes[name], new_shapes[name])]
    return out


def _shape(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    if old.get("type") != new.get("type"):
        out.append(f"type {old.get('type')} -> {new.get('type')}")
    old_values, new_values = old.get("enum", []), new.get("enum", [])
    out += [f"enum value added: {v}" for v in new_values if v not in old_values]
    out += [f"enum value removed: {v}" for v in old_values if v not in new_values]
    if bool(old.get("exception")) != bool(new.get("exception")):
        out.append("now an error" if new.get("exception") else "no longer an error")
    for key in CONSTRAINTS:
        if old.get(key) != new.get(key):
            out.append(f"{key} {old.get(key)!r} -> {new.get(key)!r}")
    old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
    out += [f"member now required: {m}" for m in sorted(new_required - old_required)]
    out += [f"member no longer required: {m}" for m in sorted(old_required - new_required)]
    old_members, new_members = old.get("members", {}), new.get("members", {})
    out += [f"member added: {m} ({new_members[m].get('shape')})" for m in new_members if m not in old_members]
    out += [f"member removed: {m}" for m in old_members if m not in new_members]
    for member in (m for m in new_members if m in old_members):
        out += [f"member {member}: {line}" for line in _keys("", old_members[member], new_members[member])]
    if [m for m in old_members if m in new_members] != [m for m in new_members if m in old_members]:
        out.append("members reordered")
    seen = {"type", "enum", "exception", "required", "members", *CONSTRAINTS}
    rest_old = {k: v for k, v in old.items() if k not in seen}
    rest_new = {k: v for k, v in new.items() if k not in seen}
    return out + _keys("", rest_old, rest_new)


def _named(what: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Entries of a name -> definition map added, removed or changed (key by key)."""
    out = [f"{what} added: {name}" for name in new if name not in old]
    out += [f"{what} removed: {name}" for name in old if name not in new]
    for name in (n for n in new if n in old and old[n] != new[n]):
        out += [f"{what} {name}: {line}" for line in _keys("", old[name], new[name])]
    return out


def _keys(prefix: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Top-level keys of two mappings that differ, with both values (short ones in full)."""
    out = []
    label = f"{prefix}." if prefix else ""
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        if isinstance(before, list) and isinstance(after, list):
            out += [f"{label}{key} + {_item(x)}" for x in after if x not in before]
            out += [f"{label}{key} - {_item(x)}" for x in before if x not in after]
            if all(x in before for x in after) and all(x in after for x in before):
                out.append(f"{label}{key} reordered")
        else:
            out.append(f"{label}{key} {_short(before)} -> {_short(after)}")
    return out


def _item(value: Any) -> str:
    """A list item: a shape reference by its shape's name (an operation's errors), else in full."""
    if isinstance(value, Mapping) and set(value) == {"shape"}:
        return str(value["shape"])
    return _short(value)


def _short(value: Any) -> str:
    text = "(none)" if value is None else repr(value)
    return text if len(text) <= 100 else text[:97] + "..."
