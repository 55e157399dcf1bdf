"""``%autoreload 3`` (complete): pushing new and changed names into the user namespace."""

from __future__ import annotations

import pytest
from conftest import run, value, write

# Module attributes that mode 3 must never push into the user namespace.
MODULE_DUNDERS = (
    "__name__",
    "__doc__",
    "__package__",
    "__loader__",
    "__spec__",
    "__file__",
    "__cached__",
    "__builtins__",
)


def test_new_function_becomes_bare_name_after_import_module(complete, make_module):
    name, path = make_module("def f():\n    return 1\n")
    run(complete, f"import {name}")
    assert "g" not in complete.user_ns
    write(path, "def f():\n    return 1\n\n\ndef g():\n    return 'new g'\n")
    assert value(complete, "g()") == "new g"
    assert value(complete, f"g is {name}.g") is True


def test_new_class_becomes_bare_name(complete, make_module):
    name, path = make_module("X = 1\n")
    run(complete, f"import {name}")
    write(path, "X = 1\n\n\nclass Added:\n    kind = 'added'\n")
    assert value(complete, "Added.kind") == "added"


def test_from_import_alias_tracks_newvalue(complete, make_module):
    name, path = make_module("x = 1\n\n\ndef helper():\n    return 0\n")
    run(complete, f"from {name} import x as y")
    assert complete.user_ns["y"] == 1
    write(path, "x = 2\n\n\ndef helper():\n    return 0\n")
    assert value(complete, "y") == 2
    assert "x" not in complete.user_ns
    assert "helper" not in complete.user_ns


def test_from_import_tracks_several_edits(complete, make_module):
    name, path = make_module("x = 1\n")
    run(complete, f"from {name} import x")
    for version in (2, 3):
        write(path, f"x = {version}\n")
        assert value(complete, "x") == version


def test_from_import_only_pushes_the_imported_names(complete, make_module):
    name, path = make_module("x = 1\n")
    run(complete, f"from {name} import x")
    write(path, "x = 2\n\n\ndef unrelated():\n    return 0\n")
    assert value(complete, "x") == 2
    assert "unrelated" not in complete.user_ns


def test_most_recent_from_import_wins(complete, make_module):
    name, path = make_module("a = 'a1'\nb = 'b1'\n")
    run(complete, f"from {name} import a as v")
    run(complete, f"from {name} import b as v")
    write(path, "a = 'a2'\nb = 'b2'\n")
    assert value(complete, "v") == "b2"


def test_dunders_never_injected(complete, make_module):
    name, path = make_module('"""doc 1"""\n\ndef f():\n    return 1\n')
    run(complete, f"import {name}")
    before = {key: complete.user_ns.get(key, KeyError) for key in MODULE_DUNDERS}
    write(path, '"""doc 2"""\n\ndef f():\n    return 2\n\n\ndef g():\n    return 2\n')
    assert value(complete, "g()") == 2  # the reload did push new names
    after = {key: complete.user_ns.get(key, KeyError) for key in MODULE_DUNDERS}
    assert after == before
    assert all(after[key] is before[key] for key in MODULE_DUNDERS)
    assert complete.user_ns["__name__"] == "__main__"


@pytest.mark.fastautoreload_only  # IPython pushes every new name, privates included (#14839)
def test_private_names_never_injected(complete, make_module):
    name, path = make_module("def f():\n    return 1\n")
    run(complete, f"import {name}")
    write(path, "_private = 1\n\n\ndef _helper():\n    return 0\n\n\ndef g():\n    return 2\n")
    assert value(complete, "g()") == 2
    assert "_private" not in complete.user_ns
    assert "_helper" not in complete.user_ns


def test_mode_3_still_updates_functions_in_place(complete, make_module):
    name, path = make_module("def f():\n    return 1\n")
    run(complete, f"import {name}\nfrom {name} import f")
    write(path, "def f():\n    return 2\n")
    assert value(complete, "f()") == 2
    assert value(complete, f"{name}.f()") == 2


def test_mode_2_does_not_inject_names(shell, make_module):
    run(shell, "%autoreload 2")
    name, path = make_module("def f():\n    return 1\n")
    run(shell, f"import {name}")
    write(path, "def f():\n    return 1\n\n\ndef g():\n    return 2\n")
    assert value(shell, f"{name}.g()") == 2
    assert "g" not in shell.user_ns
