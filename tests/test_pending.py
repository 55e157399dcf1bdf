"""A change noticed is kept until its module is reloaded: modules that are not reloaded
at the moment an edit is saved (skipped with ``%aimport -m``, not marked in mode 1, off
with ``%autoreload 0``, or left out of ``%autoreload now pkg``) get that edit as soon as
they are reloaded again, with no further save."""

from __future__ import annotations

import pytest
from conftest import run, value, versioned, write

pytestmark = pytest.mark.fastautoreload_only


@pytest.fixture
def module(make_module):
    return make_module(versioned(1))


def test_edit_saved_while_skipped_applies_once_marked_again(auto, module):
    name, path = module
    run(auto, f"import {name}\nfrom {name} import f")
    run(auto, f"%aimport -{name}")
    write(path, versioned(2))
    assert value(auto, "f()") == 1  # skipped: the change waits
    assert value(auto, "f()") == 1
    run(auto, f"%aimport {name}")
    assert value(auto, f"(f(), {name}.VALUE)") == (2, 2)


def test_edit_saved_in_mode_1_applies_in_mode_2(shell, module, make_module):
    name, path = module
    marked, marked_path = make_module(versioned(1))
    run(shell, "%autoreload 1")
    run(shell, f"import {name}\nfrom {name} import f\n%aimport {marked}")
    write(path, versioned(2))
    write(marked_path, versioned(2))
    assert value(shell, f"(f(), {marked}.f())") == (1, 2)  # only the marked one reloads
    run(shell, "%autoreload 2")
    assert value(shell, "f()") == 2


def test_edit_saved_while_off_applies_when_on_again(shell, module):
    name, path = module
    run(shell, f"%autoreload 2\nimport {name}\nfrom {name} import f")
    run(shell, "%autoreload 0")
    write(path, versioned(2))
    assert value(shell, "f()") == 1
    run(shell, "%autoreload 2")
    assert value(shell, "f()") == 2


def test_reloading_one_package_keeps_other_changes_pending(shell, module, make_package):
    name, path = module
    pkg, root = make_package({"__init__.py": "X = 1\n"})
    run(shell, f"%autoreload 0\nimport {name}, {pkg}\nfrom {name} import f")
    write(path, versioned(2))
    write(root / "__init__.py", "X = 2\n")
    run(shell, f"%autoreload now {pkg}")
    assert value(shell, f"({pkg}.X, f())") == (2, 1)
    run(shell, "%autoreload 2")
    assert value(shell, "f()") == 2


def test_edit_reverted_while_skipped_is_not_a_change(auto, module, capsys):
    name, path = module
    run(auto, f"import {name}\n%autoreload 2 -p\n%aimport -{name}")
    write(path, versioned(2))
    run(auto, "pass")
    write(path, versioned(1))
    run(auto, f"%aimport {name}")
    capsys.readouterr()
    run(auto, "pass")
    assert "Reloading" not in capsys.readouterr().out
    assert value(auto, f"{name}.f()") == 1
