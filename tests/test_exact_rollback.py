"""Exactly as before, and exactly as a fresh import: an alias kept while a decorator is
added, caches kept by a failed reload, a class dict's order after a rollback."""

from __future__ import annotations

import sys

import pytest
from conftest import fresh_repr, run, value, write

pytestmark = pytest.mark.fastautoreload_only

ALIAS_V1 = """\
def f():
    return 1


h = f
"""

# The alias keeps the undecorated function, then the name gets the decorated one:
# a common "keep the raw version" idiom.
ALIAS_V2 = """\
import functools


def deco(fn):
    @functools.wraps(fn)
    def inner():
        return fn() + 100

    return inner


def f():
    return 2


h = f
f = deco(f)
"""

# Same, but the alias's key comes first in the module's namespace.
ALIAS_V2_H_FIRST = ALIAS_V2.replace("import functools\n", "import functools\n\nh = None\n", 1)


def test_alias_then_added_decorator_module_names_match_fresh_import(auto, make_module, pkgdir):
    name, path = make_module(ALIAS_V1)
    run(auto, f"import {name}")
    write(path, ALIAS_V2)
    expected = fresh_repr(pkgdir, name, "(f(), h())")
    assert expected == "(102, 2)"
    assert repr(value(auto, f"({name}.f(), {name}.h())")) == expected


def test_alias_first_then_added_decorator_no_infinite_recursion(auto, make_module, pkgdir):
    name, path = make_module(ALIAS_V1)
    run(auto, "%autoreload 2-")  # whole module: the namespace is rebuilt in v2's order
    run(auto, f"import {name}")
    write(path, ALIAS_V2_H_FIRST)
    expected = fresh_repr(pkgdir, name, "(f(), h())")
    assert expected == "(102, 2)"
    run(auto, "pass")
    cell = (
        f"try:\n    _far_r = ({name}.f(), {name}.h())\n"
        "except RecursionError:\n    _far_r = 'RecursionError'"
    )
    run(auto, cell)
    assert repr(auto.user_ns["_far_r"]) == expected


LRU_V1 = """\
import functools


@functools.lru_cache(maxsize=None)
def g(x):
    return x


X = 1
"""

# A body edit plus a statement that raises: the reload fails and must change nothing.
LRU_V2 = """\
import functools


@functools.lru_cache(maxsize=None)
def g(x):
    return x * 10


X = 1 / 0
"""


def test_failed_partial_reload_keeps_lru_cache(auto, make_module, capsys):
    name, path = make_module(LRU_V1)
    run(auto, f"import {name}\n{name}.g(1); {name}.g(2); {name}.g(1)")
    before = value(auto, f"{name}.g.cache_info()")
    assert before.currsize == 2
    write(path, LRU_V2)
    capsys.readouterr()
    run(auto, "pass")
    assert f"[autoreload of {name} failed:" in capsys.readouterr().err
    assert value(auto, f"({name}.X, {name}.g(3))") == (1, 3)  # rolled back
    after = value(auto, f"{name}.g.cache_info()")
    # g(3) added one entry and one miss; nothing else may have changed
    assert (after.currsize, after.hits, after.misses) == (3, before.hits, before.misses + 1)


CLS_V1 = """\
class C:
    def a(self):
        return 1

    def b(self):
        return 1

    def c(self):
        return 1
"""

CLS_V2 = """\
class C:
    def b(self):
        return 2

    def c(self):
        return 2


X = 1 / 0
"""


@pytest.mark.parametrize("mode", ["partial", "whole"])
def test_failed_reload_keeps_class_dict_order(auto, make_module, capsys, mode):
    name, path = make_module(CLS_V1)
    if mode == "whole":
        run(auto, "%autoreload 2-")
    run(auto, f"import {name}")
    keys = list(vars(sys.modules[name].C))
    write(path, CLS_V2)
    capsys.readouterr()
    run(auto, "pass")
    assert f"[autoreload of {name} failed:" in capsys.readouterr().err
    assert list(vars(sys.modules[name].C)) == keys


CLS_V2_OK = CLS_V2.replace("X = 1 / 0\n", "")


@pytest.fixture
def faults(ext_module):
    native = ext_module._native
    yield native
    native._inject_fault(None)


@pytest.mark.parametrize("mode", ["partial", "whole"])
def test_fault_after_adopt_keeps_class_dict_order(auto, make_module, capsys, faults, mode):
    name, path = make_module(CLS_V1)
    if mode == "whole":
        run(auto, "%autoreload 2-")
    run(auto, f"import {name}")
    keys = list(vars(sys.modules[name].C))
    faults._inject_fault("heap")
    write(path, CLS_V2_OK)
    capsys.readouterr()
    run(auto, "pass")
    assert "fault injected at step 'heap'" in capsys.readouterr().err
    assert list(vars(sys.modules[name].C)) == keys


def test_fault_after_adopt_keeps_lru_cache(auto, make_module, capsys, faults):
    name, path = make_module(LRU_V1)
    run(auto, "%autoreload 2-")
    run(auto, f"import {name}\n{name}.g(1); {name}.g(2)")
    faults._inject_fault("heap")
    write(path, LRU_V2.replace("X = 1 / 0", "X = 2"))
    capsys.readouterr()
    run(auto, "pass")
    assert "fault injected at step 'heap'" in capsys.readouterr().err
    assert value(auto, f"{name}.g.cache_info().currsize") == 2
