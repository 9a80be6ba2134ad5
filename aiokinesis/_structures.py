"""What the generated request and result classes share, and what makes them cheap to import.

The ~220 generated classes are written out as plain source (`__slots__`, a keyword-only `__init__`),
not built by `@dataclass` at import, which compiled three functions and rebuilt each class for its
slots. They still behave as the `@dataclass(slots=True, kw_only=True)` classes they were: keyword
construction, `repr`, field-wise equality, unhashable, no attributes beyond the fields; and
`dataclasses.fields`, `asdict`, `replace` and `is_dataclass` see the same fields, made on first use.
Their patterns are compiled on first use too.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from collections.abc import Callable
from reprlib import recursive_repr
from typing import TYPE_CHECKING, Any, ClassVar


class _DataclassView:
    """`__dataclass_fields__` and `__dataclass_params__` of a generated class, made on the first read
    (by `dataclasses` or anyone) from the class's slots, annotations and `__init__` defaults, through
    `dataclasses.make_dataclass`: the same fields `@dataclass(slots=True, kw_only=True)` gave."""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    def __get__(self, obj: object, owner: type) -> Any:
        mro = owner.__mro__
        # The generated class: the one right above Structure (a user's subclass has its fields).
        model = owner if owner is Structure else mro[mro.index(Structure) - 1]
        own = vars(model)
        defaults = getattr(own.get("__init__"), "__kwdefaults__", None) or {}
        annotations = inspect.get_annotations(model)
        specs = [
            (name, annotations[name], dataclasses.field(default=defaults[name]))
            if name in defaults
            else (name, annotations[name])
            for name in own["__slots__"]
        ]
        shadow = dataclasses.make_dataclass(
            model.__name__, specs, kw_only=True, namespace={"__module__": model.__module__}
        )
        fields, params = vars(shadow)["__dataclass_fields__"], vars(shadow)["__dataclass_params__"]
        type.__setattr__(model, "__dataclass_fields__", fields)
        type.__setattr__(model, "__dataclass_params__", params)
        return fields if self._name == "__dataclass_fields__" else params


class Structure:
    """The base of every generated structure: `repr` and equality over the slots, in the model's order,
    as `@dataclass` writes them; unhashable, as a mutable dataclass is."""

    __slots__ = ()

    if TYPE_CHECKING:
        __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]]
        __dataclass_params__: ClassVar[Any]
    else:
        __dataclass_fields__ = _DataclassView()
        __dataclass_params__ = _DataclassView()

    @recursive_repr()
    def __repr__(self) -> str:
        names: tuple[str, ...] = self.__slots__
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{self.__class__.__qualname__}({shown})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        names: tuple[str, ...] = self.__slots__
        return tuple(getattr(self, n) for n in names) == tuple(getattr(other, n) for n in names)

    __hash__ = None  # type: ignore[assignment]


class LazyPattern:
    """A model pattern, compiled on its first match: importing the models compiles none of them.

    ASCII, as the service's (Java's) regexes are: Python's `\\d` also matches "٣" (Arabic-Indic three)."""

    __slots__ = ("fullmatch", "pattern")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.fullmatch: Callable[[str], re.Match[str] | None] = self._compile

    def _compile(self, text: str) -> re.Match[str] | None:
        self.fullmatch = re.compile(self.pattern, re.ASCII).fullmatch
        return self.fullmatch(text)
