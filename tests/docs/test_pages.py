"""The docs site's pages stay true to the code (mkdocs.yml; the strict build is in scripts/test.sh).

Every ```python block of docs/ compiles, and whatever it names of aiokinesis exists and is public
(in its module's `__all__`): attributes of `aiokinesis` and of its modules, names imported from
them, methods called on `kinesis` (a Client), and the keyword arguments given to any of these (a
renamed parameter or config field fails here). Blocks under `<!-- run -->` are whole programs
and run as they are (against aiokinesis.testing, started by the program); blocks under
`<!-- run: kinesis -->` run with top-level await, `kinesis` an open Client on a fresh local
server holding the stream `orders` (2 shards), and `aiokinesis` imported. Every `aiokinesis ...`
command line in a ```sh block parses with the real command's grammar. And the API reference
covers every public name that is not generated from the model.
"""

from __future__ import annotations

import ast
import asyncio
import functools
import importlib
import inspect
import re
import shlex
import textwrap
import threading
import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import aiokinesis
from aiokinesis._generated import errors as generated_errors
from aiokinesis._generated import models as generated_models
from aiokinesis.cli._parser import build
from aiokinesis.testing import KinesisServer

DOCS = Path(__file__).resolve().parents[2] / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
FENCE = re.compile(r"(?:<!-- (run(?:: kinesis)?) -->\n)?```(\w*)\n(.*?)^```", re.S | re.M)
PUBLIC_MODULES = ("aiokinesis.testing", "aiokinesis.metrics", "aiokinesis.leases", "aiokinesis.aggregation")
TOP_LEVEL_AWAIT = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    language: str
    mark: str | None
    source: str

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(DOCS)}:{self.line}"


def blocks() -> Iterator[Block]:
    for page in PAGES:
        text = page.read_text()
        for found in FENCE.finditer(text):
            line = text.count("\n", 0, found.start(2)) + 1
            yield Block(page, line, found.group(2), found.group(1), found.group(3))


PYTHON = [b for b in blocks() if b.language == "python"]
SHELL = [b for b in blocks() if b.language == "sh"]


def _ids(items: list[Block]) -> list[str]:
    return [b.where for b in items]


class Names(ast.NodeVisitor):
    """Checks what a block names of aiokinesis, and the keyword arguments of calls to it.

    A name is bound by an import from aiokinesis, or by `with ... as NAME` and `NAME = ...` to what
    the call on the right returns (a class for a constructor, else the return annotation), so
    `async with kinesis.producer(...) as producer: producer.put(...)` is checked through.
    `kinesis` is a Client wherever it is not bound otherwise."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.bound: dict[str, Any] = {"aiokinesis": aiokinesis, "kinesis": aiokinesis.Client}
        self.problems: set[str] = set()

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name.split(".")[0] == "aiokinesis":
                module = importlib.import_module(alias.name)
                if alias.asname:
                    self.bound[alias.asname] = module

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module is None or node.module.split(".")[0] != "aiokinesis":
            return
        module = importlib.import_module(node.module)
        for alias in node.names:
            if not _public(module, alias.name):
                self.problems.add(f"{self.where}: {node.module} has no public {alias.name}")
                continue
            self.bound[alias.asname or alias.name] = getattr(module, alias.name)

    def visit_withitem(self, node: ast.withitem) -> None:
        self.generic_visit(node)
        if isinstance(node.optional_vars, ast.Name):
            self._bind(node.optional_vars.id, self.result(node.context_expr))

    def visit_Assign(self, node: ast.Assign) -> None:
        self.generic_visit(node)
        for target in node.targets:
            if isinstance(target, ast.Name):
                self._bind(target.id, self.result(node.value))

    def _bind(self, name: str, value: Any) -> None:
        if value is None:
            self.bound.pop(name, None)
        else:
            self.bound[name] = value

    def result(self, node: ast.expr) -> Any:
        """The class of what an expression evaluates to, when it is a call to something of ours."""
        if isinstance(node, ast.Await):
            return self.result(node.value)
        if not isinstance(node, ast.Call):
            return None
        target = self.resolve(node.func)
        if inspect.isclass(target):
            return target
        return _returns(target)

    def resolve(self, node: ast.expr) -> Any:
        """The aiokinesis object an expression names (None if it names none we can know)."""
        if isinstance(node, ast.Name):
            return self.bound.get(node.id)
        if isinstance(node, ast.Attribute):
            owner = self.resolve(node.value)
            if owner is None:
                return None
            found = inspect.getattr_static(owner, node.attr, None) if inspect.isclass(owner) else None
            if isinstance(found, property | functools.cached_property):
                return _returns(found.fget if isinstance(found, property) else found.func)
            hints = _hints(owner)
            if node.attr in hints:  # a field: what its annotation names
                return _ours(hints[node.attr])
            if inspect.ismodule(owner) and not _public(owner, node.attr):
                self.problems.add(f"{self.where}: {ast.unparse(node)}: not public in {owner.__name__}")
                return None
            if not hasattr(owner, node.attr) and not _is_field(owner, node.attr):
                self.problems.add(f"{self.where}: {ast.unparse(node)}: no attribute {node.attr!r}")
                return None
            return getattr(owner, node.attr, None)
        return None

    def visit_Attribute(self, node: ast.Attribute) -> None:
        self.resolve(node)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        target = self.resolve(node.func)
        if callable(target):
            self._check_keywords(node, target)
        self.generic_visit(node)

    def _check_keywords(self, node: ast.Call, target: Callable[..., Any]) -> None:
        try:
            parameters = inspect.signature(target).parameters
        except (TypeError, ValueError):  # a builtin without a signature
            return
        if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
            return
        for keyword in node.keywords:
            if keyword.arg is not None and keyword.arg not in parameters:
                self.problems.add(f"{self.where}: {ast.unparse(node.func)}() takes no {keyword.arg}=")


def _public(module: types.ModuleType, name: str) -> bool:
    """Whether `name` is public API of an aiokinesis module: in its `__all__` (if it has one), or
    a public submodule; never a private name."""
    if name.startswith("_"):
        return False
    if not hasattr(module, name):  # a submodule not imported yet, or nothing
        try:
            importlib.import_module(f"{module.__name__}.{name}")
        except ImportError:
            return False
        return True
    exported = getattr(module, "__all__", None)
    return exported is None or name in exported or inspect.ismodule(getattr(module, name))


def _returns(function: object) -> Any:
    """The class of ours a function or method says it returns, or None."""
    if not callable(function):
        return None
    try:
        return _ours(typing.get_type_hints(function).get("return"))
    except Exception:  # an annotation that names what only type checkers import
        return None


def _hints(owner: object) -> dict[str, Any]:
    """A class's annotations, resolved; nothing for modules and functions."""
    if not inspect.isclass(owner):
        return {}
    try:
        return typing.get_type_hints(owner)
    except Exception:  # as above
        return {}


def _ours(hint: object) -> Any:
    """The aiokinesis class an annotation names (`X`, `X | None`), or None."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        options = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        hint = options[0] if len(options) == 1 else None
    return hint if inspect.isclass(hint) and hint.__module__.startswith("aiokinesis") else None


def _is_field(cls: object, name: str) -> bool:
    """An instance attribute a class declares (slots, annotations) or sets on `self`, without a class value."""
    if not inspect.isclass(cls):
        return False
    return any(
        name in getattr(klass, "__slots__", ())
        or name in getattr(klass, "__annotations__", {})
        or name in _assigned_on_self(klass)
        for klass in cls.__mro__
        if klass.__module__.startswith("aiokinesis")
    )


@functools.cache
def _assigned_on_self(cls: type) -> frozenset[str]:
    """The `self.NAME = ...` targets in a class's own source."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    return frozenset(
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.ctx, ast.Store)
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
    )


@pytest.mark.parametrize("block", PYTHON, ids=_ids(PYTHON))
def test_python_block_compiles_and_names_what_exists(block: Block) -> None:
    tree = compile(block.source, block.where, "exec", ast.PyCF_ONLY_AST | TOP_LEVEL_AWAIT)
    names = Names(block.where)
    names.visit(tree)
    assert not names.problems, "\n".join(sorted(names.problems))


RUN = [b for b in PYTHON if b.mark == "run"]
RUN_WITH_KINESIS = [b for b in PYTHON if b.mark == "run: kinesis"]


@pytest.mark.parametrize("block", RUN, ids=_ids(RUN))
def test_program_runs(block: Block) -> None:
    """A whole program: its own asyncio.run, in a thread with no loop of its own."""
    failure: list[BaseException] = []

    def main() -> None:
        try:
            exec(compile(block.source, block.where, "exec"), {"__name__": "__main__"})
        except BaseException as exc:  # re-raised in the test's thread
            failure.append(exc)

    thread = threading.Thread(target=main, name=f"docs-{block.where}")
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive(), f"{block.where} did not end within 60 s"
    if failure:
        raise failure[0]


@pytest.mark.parametrize("block", RUN_WITH_KINESIS, ids=_ids(RUN_WITH_KINESIS))
async def test_snippet_runs_with_a_client(block: Block) -> None:
    code = compile(block.source, block.where, "exec", TOP_LEVEL_AWAIT)
    async with (
        KinesisServer(streams={"orders": 2}, seed=1) as server,
        aiokinesis.Client(
            endpoint_url=server.endpoint_url, region="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
        ) as kinesis,
    ):
        namespace: dict[str, Any] = {"aiokinesis": aiokinesis, "kinesis": kinesis, "__name__": "docs"}
        result = eval(code, namespace)
        if inspect.iscoroutine(result):
            await asyncio.wait_for(result, timeout=60)


@pytest.mark.parametrize("block", SHELL, ids=_ids(SHELL))
def test_command_lines_parse(block: Block) -> None:
    parser = build()
    for line in _command_lines(block.source):
        words = shlex.split(line, comments=True)
        start = words.index("aiokinesis") + 1
        try:
            parser.parse_args(words[start:])
        except SystemExit as exc:
            raise AssertionError(f"{block.where}: `{line}` does not parse (exit {exc.code})") from None


def _command_lines(source: str) -> Iterator[str]:
    """`aiokinesis ...` invocations (after a pipe too), with line continuations joined."""
    for line in source.replace("\\\n", " ").splitlines():
        command = line.split("#", 1)[0].rsplit("|", 1)[-1].strip().rstrip("&").strip()
        if command.startswith("aiokinesis ") and "testing-server" not in command:
            yield command


def test_the_reference_covers_the_public_api() -> None:
    """Each hand-written name of aiokinesis.__all__ and of the public modules has a `:::` entry."""
    directives: set[str] = set()
    for page in (DOCS / "reference").glob("*.md"):
        for name, options in re.findall(r"^::: ([\w.]+)\n((?:[ ]+.*\n)*)", page.read_text(), re.M):
            directives.add(name)
            listed = re.search(r"members: \[([^\]]*)\]|members:\n((?:[ ]+- .*\n)+)", options)
            if listed:
                inline, block = listed.groups()
                members = inline.split(",") if inline is not None else re.findall(r"- (.*)", block)
                directives |= {f"{name}.{member.strip()}" for member in members}
    generated = set(generated_models.__all__) | set(generated_errors.__all__)
    wanted = {f"aiokinesis.{name}" for name in aiokinesis.__all__ if name not in generated}
    for module in ("aiokinesis.testing", "aiokinesis.metrics", "aiokinesis.queues"):
        wanted |= {f"{module}.{name}" for name in importlib.import_module(module).__all__}
    shown = {_canonical(name) for name in directives}
    missing = sorted(name for name in wanted if _canonical(name) not in shown)
    assert not missing, f"no ::: entry in docs/reference for {missing}"


def _canonical(dotted: str) -> object:
    """The object a dotted name stands for, so aiokinesis.X and aiokinesis.module.X count alike."""
    module, _, name = dotted.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return dotted


def test_pages_are_found() -> None:
    """The patterns above see the pages: a fence syntax change must not make every test vacuous."""
    assert len(PYTHON) > 20
    assert SHELL
    assert RUN
    assert RUN_WITH_KINESIS
