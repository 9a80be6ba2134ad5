"""The checks of config fields: one home for every config class's `__post_init__`.

Each names the field as `ClassName.field`, the value and what is allowed: a wrong type is a
TypeError, a value out of range a ValueError. NaN and infinity are refused everywhere.
"""

from __future__ import annotations

import math

MIB = 1024 * 1024


def name(config: object, field: str) -> str:
    return f"{type(config).__name__}.{field}"


def _show(bound: float, unit: str) -> str:
    text = str(bound) if isinstance(bound, int) else f"{bound:g}"
    if bound == 1:
        unit = unit.replace("bytes", "byte").replace("seconds", "second")
    if unit == "bytes" and bound >= MIB and bound % MIB == 0:
        return f"{text} bytes ({int(bound) // MIB} MiB)"
    return f"{text} {unit}" if unit else text


def number(
    config: object,
    field: str,
    *,
    low: float,
    high: float | None = None,
    above: bool = False,
    unit: str = "",
    integer: bool = False,
    zero: bool = False,
) -> None:
    """Refuse a field that is not a number (bool is not), or is outside [low, high] (low excluded
    if `above`; 0 allowed besides if `zero`), or is NaN or infinite."""
    value: object = getattr(config, field)
    if isinstance(value, bool) or not isinstance(value, int if integer else int | float):
        kind = "an int" if integer else "a number" + (f" of {unit}" if unit else "")
        raise TypeError(f"{name(config, field)} must be {kind}, not {value!r} ({type(value).__name__})")
    if zero and value == 0:
        return
    finite = not isinstance(value, float) or math.isfinite(value)
    if finite and (value > low if above else value >= low) and (high is None or value <= high):
        return
    if high is None:
        allowed = f"{'>' if above else '>='} {_show(low, unit)}"
    elif above:
        allowed = f"> {_show(low, unit)} and <= {_show(high, unit)}"
    else:
        allowed = f"between {_show(low, unit)} and {_show(high, unit)}"
    if zero:
        allowed = f"0 (off) or {allowed}"
    if not finite:
        allowed += " (a finite number)"
    raise ValueError(f"{name(config, field)} must be {allowed}, not {value!r}")


def seconds(config: object, field: str, *, low: float = 0.0, above: bool = False) -> None:
    number(config, field, low=low, above=above, unit="seconds")


def not_above(config: object, smaller: str, larger: str, *, strictly: bool = False) -> None:
    """Refuse `smaller` > `larger` (or >= if `strictly`); both already checked as numbers."""
    low, high = getattr(config, smaller), getattr(config, larger)
    if low < high or (not strictly and low == high):
        return
    relation = "<" if strictly else "<="
    raise ValueError(f"{name(config, smaller)} must be {relation} {name(config, larger)} ({high!r}), not {low!r}")


def flag(config: object, field: str) -> None:
    value: object = getattr(config, field)
    if not isinstance(value, bool):
        raise TypeError(f"{name(config, field)} must be True or False, not {value!r} ({type(value).__name__})")


def choice(config: object, field: str, choices: tuple[str, ...]) -> None:
    value: object = getattr(config, field)
    allowed = " or ".join(repr(choice) for choice in choices)
    if not isinstance(value, str):
        raise TypeError(f"{name(config, field)} must be {allowed}, not {value!r} ({type(value).__name__})")
    if value not in choices:
        raise ValueError(f"{name(config, field)} must be {allowed}, not {value!r}")
