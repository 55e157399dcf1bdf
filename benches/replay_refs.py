"""References a session holds to a library's public names, and whether each is still
current after a pull.

A held function is current when its code is the code a fresh compile of its file gives
now (compared without line numbers; a function whose logic matches but whose lines do not
is counted apart, as "lines stale"). A held class is current when the module still
exposes that very object under the name and every method it defines has the fresh code
(and none the new release added is missing). A held instance is current when its class
is the class of what the module exposes now and that class is current. Names the new
release no longer defines are "gone", not counted.

Needs Python 3.11+ (code objects' `co_qualname`).
"""

from __future__ import annotations

import dis
import sys
import types
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Held:
    module: str
    name: str
    kind: str  # "function", "class" or "instance"
    obj: object


def hold(module_names: list[str], prefixes: tuple[str, ...]) -> list[Held]:
    """References to the public functions, classes and library-typed instances of the
    modules: what `from m import name` in a notebook would keep."""
    held = []
    for module_name in module_names:
        module = sys.modules.get(module_name)
        if module is None:
            continue
        for name, value in sorted(vars(module).items()):
            kind = _kind(value, prefixes)
            if kind and not name.startswith("_"):
                held.append(Held(module_name, name, kind, value))
    return held


def _kind(value: object, prefixes: tuple[str, ...]) -> str | None:
    def ours(module: object) -> bool:
        return isinstance(module, str) and module.split(".")[0] in prefixes

    if isinstance(value, types.FunctionType):
        return "function" if ours(value.__module__) else None
    if isinstance(value, type):
        return "class" if ours(value.__module__) else None
    if isinstance(value, types.ModuleType):
        return None
    return "instance" if ours(type(value).__module__) else None


class FreshCode:
    """Code objects of the files as they are now, compiled afresh, by qualified name."""

    def __init__(self) -> None:
        self._files: dict[str, dict[str, list[tuple]] | None] = {}

    def of(self, filename: str) -> dict[str, list[tuple]] | None:
        if filename not in self._files:
            self._files[filename] = self._compile(filename)
        return self._files[filename]

    @staticmethod
    def _compile(filename: str) -> dict[str, list[tuple]] | None:
        try:
            source = Path(filename).read_bytes()
            top = compile(source, filename, "exec", dont_inherit=True)
        except (OSError, SyntaxError, ValueError):
            return None
        table: dict[str, list[tuple]] = {}
        stack = [top]
        while stack:
            code = stack.pop()
            table.setdefault(code.co_qualname, []).append((logic_key(code), line_key(code)))
            stack.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
        return table


def logic_key(code: types.CodeType) -> tuple:
    """What a code object does, without where its lines are."""
    consts = tuple(
        logic_key(c) if isinstance(c, types.CodeType) else (type(c).__name__, repr(c))
        for c in code.co_consts
    )
    return (
        _instructions(code),
        code.co_varnames,
        code.co_freevars,
        code.co_cellvars,
        code.co_argcount,
        code.co_posonlyargcount,
        code.co_kwonlyargcount,
        code.co_flags,
        consts,
    )


def _instructions(code: types.CodeType) -> tuple:
    """The instructions by name and argument, jumps by the index of their target.

    Raw bytecode is not comparable: a function compiled alone (as a reloader compiles
    one changed definition) calls `chain.from_iterable(...)` through LOAD_METHOD, while
    the whole module, where the compiler sees that `chain` was imported, emits
    LOAD_ATTR (and PUSH_NULL before the object when the object's name, in any scope, is
    also a module-level import: `import typing as t` then `t.method()`); all do the same,
    at different offsets.
    """
    listing = _kept(code)
    index = {}
    for ins in dis.get_instructions(code):
        index[ins.offset] = sum(1 for kept in listing if kept.offset < ins.offset)
    steps = []
    for ins in listing:
        name = "LOAD_ATTR" if ins.opname == "LOAD_METHOD" else ins.opname
        if ins.opcode in dis.hasjrel or ins.opcode in dis.hasjabs:
            steps.append((name, index.get(ins.argval, ins.argval)))
        elif isinstance(ins.argval, types.CodeType):
            steps.append((name, "<code>"))
        else:
            steps.append((name, repr(ins.argval)))
    return tuple(steps)


def _kept(code: types.CodeType) -> list[dis.Instruction]:
    # EXTENDED_ARG comes and goes with the offsets of the jumps it widens.
    dropped = ("PUSH_NULL", "EXTENDED_ARG")
    return [ins for ins in dis.get_instructions(code) if ins.opname not in dropped]


def line_key(code: types.CodeType) -> tuple:
    """Where each instruction's source is (not the raw line table: it counts inline cache
    entries, which differ with the instructions `_instructions` treats as equal)."""
    nested = tuple(line_key(c) for c in code.co_consts if isinstance(c, types.CodeType))
    spans = tuple(tuple(ins.positions) for ins in _kept(code))
    return (code.co_firstlineno, spans, nested)


@dataclass
class Verdict:
    status: str  # "current", "stale", "lines stale", "gone"
    identity: bool  # the module exposes the held object itself


def judge(held: Held, fresh: FreshCode) -> Verdict:
    module = sys.modules.get(held.module)
    now = vars(module).get(held.name) if module is not None else None
    identity = now is held.obj
    if held.kind == "function":
        return Verdict(_function(held.obj, fresh), identity)
    if held.kind == "class":
        status = _class(held.obj, fresh)
        if status != "gone" and not identity:
            status = "stale"
        return Verdict(status, identity)
    if now is None or type(now).__module__ != type(held.obj).__module__:
        # The new release exposes something else there (a builtin where a wrapper of
        # its own was): no instance held before could become it.
        return Verdict("gone", identity)
    status = _class(type(held.obj), fresh)
    if status != "gone" and type(now) is not type(held.obj):
        status = "stale"
    return Verdict(status, identity)


def _function(func, fresh: FreshCode) -> str:
    code = func.__code__
    table = fresh.of(code.co_filename)
    if table is None or code.co_qualname not in table:
        return "gone"
    versions = table[code.co_qualname]
    if (logic_key(code), line_key(code)) in versions:
        return "current"
    if any(logic == logic_key(code) for logic, _ in versions):
        return "lines stale"
    return "stale"


def _class(cls: type, fresh: FreshCode) -> str:
    module = sys.modules.get(cls.__module__)
    filename = getattr(module, "__file__", None)
    table = fresh.of(filename) if filename else None
    if table is None or cls.__qualname__ not in table:
        return "gone"
    statuses = [_function(f, fresh) for f in _methods(cls)]
    prefix = cls.__qualname__ + "."
    missing = [
        q
        for q in table
        if q.startswith(prefix) and "." not in q[len(prefix) :] and not q.endswith(">")
        if _mangled(cls, q[len(prefix) :]) not in vars(cls)
    ]
    if missing or "stale" in statuses:
        return "stale"
    return "lines stale" if "lines stale" in statuses else "current"


def _mangled(cls: type, name: str) -> str:
    """The name a class body stores `name` under (`__x` becomes `_Class__x`)."""
    if name.startswith("__") and not name.endswith("__"):
        return f"_{cls.__name__.lstrip('_')}{name}"
    return name


def _methods(cls: type) -> list[types.FunctionType]:
    """The plain functions a class body defined, unwrapped from the descriptors that
    hold them."""
    found = []
    for value in vars(cls).values():
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
        if isinstance(value, property):
            found.extend(f for f in (value.fget, value.fset, value.fdel) if f is not None)
            continue
        if isinstance(value, types.FunctionType) and value.__qualname__.startswith(
            cls.__qualname__ + "."
        ):
            found.append(value)
    return [f for f in found if isinstance(f, types.FunctionType)]


def summary(held: list[Held], fresh: FreshCode) -> dict:
    """Counts of each verdict, and the references that are not current."""
    counts = {"held": len(held), "current": 0, "stale": 0, "lines stale": 0, "gone": 0}
    identity_lost = 0
    stale: list[str] = []
    lines: list[str] = []
    for h in held:
        verdict = judge(h, fresh)
        counts[verdict.status] += 1
        if verdict.status != "gone" and not verdict.identity:
            identity_lost += 1
        label = f"{h.module}.{h.name} ({h.kind})"
        if verdict.status == "stale":
            stale.append(label)
        elif verdict.status == "lines stale":
            lines.append(label)
    counts["identity lost"] = identity_lost
    return {"counts": counts, "stale": stale, "lines_stale": lines}
