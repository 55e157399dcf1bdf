"""``%aimport``: listing, importing and marking, skipping, aliases."""

from __future__ import annotations

import io
import sys

import pytest
from conftest import magics_of, run, unique_name, versioned, write


def _listing(reload_line: str, skip: list[str]) -> str:
    return f"Modules to reload:\n{reload_line}\n\nModules to skip:\n{' '.join(sorted(skip))}\n"


# -- listing -----------------------------------------------------------------------------------
def test_listing_when_nothing_is_marked(shell, capsys):
    capsys.readouterr()
    run(shell, "%aimport")
    assert capsys.readouterr().out == _listing("", [])


def test_listing_in_mode_1(shell, make_module, capsys):
    a, _ = make_module(versioned(1))
    b, _ = make_module(versioned(1))
    skipped = unique_name("skipped")
    run(shell, "%autoreload 1")
    run(shell, f"%aimport {b}, {a}")
    run(shell, f"%aimport -{skipped}")
    capsys.readouterr()
    run(shell, "%aimport")
    assert capsys.readouterr().out == _listing(" ".join(sorted([a, b])), [skipped])


def test_listing_in_mode_2_says_all_except_skipped(shell, make_module, capsys):
    a, _ = make_module(versioned(1))
    skipped = [unique_name("skipped"), unique_name("skipped")]
    run(shell, "%autoreload 2")
    run(shell, f"%aimport {a}")
    run(shell, f"%aimport -{skipped[1]}, -{skipped[0]}")
    capsys.readouterr()
    run(shell, "%aimport")
    assert capsys.readouterr().out == _listing("all-except-skipped", skipped)


def test_listing_goes_to_the_stream_argument(shell, make_module, capsys):
    a, _ = make_module(versioned(1))
    skipped = unique_name("skipped")
    run(shell, f"%aimport {a}, -{skipped}")
    magics = magics_of(shell)
    stream = io.StringIO()
    capsys.readouterr()
    magics.aimport("", stream=stream)
    assert stream.getvalue() == _listing(a, [skipped])
    assert capsys.readouterr().out == ""
    run(shell, "%autoreload 3")
    stream = io.StringIO()
    magics.aimport("", stream=stream)
    assert stream.getvalue() == _listing("all-except-skipped", [skipped])


# -- importing and marking ---------------------------------------------------------------------
def test_aimport_two_modules_imports_marks_and_binds_both(shell, make_module):
    a, _ = make_module(versioned(1))
    b, _ = make_module(versioned(1))
    run(shell, f"%aimport {a}, {b}")
    reloader = magics_of(shell)._reloader
    for name in (a, b):
        assert name in sys.modules
        assert shell.user_ns[name] is sys.modules[name]
        assert name in reloader.modules
        assert name not in reloader.skip_modules


def test_aimport_marked_module_reloads_in_mode_1(shell, make_module):
    a, path = make_module(versioned(1))
    run(shell, "%autoreload 1")
    run(shell, f"%aimport {a}")
    write(path, versioned(2))
    run(shell, f"_far_result = {a}.f()")
    assert shell.user_ns["_far_result"] == 2


def test_aimport_unknown_module_raises(shell):
    missing = unique_name("missing")
    with pytest.raises(ModuleNotFoundError):
        shell.run_line_magic("aimport", missing)
    assert missing not in shell.user_ns


# -- skipping ----------------------------------------------------------------------------------
def test_skipped_module_not_reloaded_in_mode_2(shell, make_module):
    skipped, skipped_path = make_module(versioned(1))
    other, other_path = make_module(versioned(1))
    run(shell, "%autoreload 2")
    run(shell, f"import {skipped}, {other}")
    run(shell, f"%aimport -{skipped}")
    write(skipped_path, versioned(2))
    write(other_path, versioned(2))
    run(shell, f"_far_result = ({skipped}.f(), {other}.f())")
    assert shell.user_ns["_far_result"] == (1, 2)
    reloader = magics_of(shell)._reloader
    assert skipped in reloader.skip_modules
    assert skipped not in reloader.modules


def test_skipped_module_not_reloaded_by_now(shell, make_module):
    skipped, path = make_module(versioned(1))
    run(shell, f"import {skipped}")
    run(shell, f"%aimport -{skipped}")
    write(path, versioned(2))
    run(shell, "%autoreload now")
    run(shell, f"_far_result = {skipped}.f()")
    assert shell.user_ns["_far_result"] == 1


def test_skip_does_not_import(shell):
    name = unique_name("never")
    run(shell, f"%aimport -{name}")
    assert name not in sys.modules
    assert name not in shell.user_ns
    assert name in magics_of(shell)._reloader.skip_modules


def test_aimport_after_skip_makes_module_reloadable_again(shell, make_module):
    name, path = make_module(versioned(1))
    run(shell, "%autoreload 1")
    run(shell, f"%aimport -{name}")
    run(shell, f"%aimport {name}")
    reloader = magics_of(shell)._reloader
    assert name in reloader.modules
    assert name not in reloader.skip_modules
    write(path, versioned(2))
    run(shell, f"_far_result = {name}.f()")
    assert shell.user_ns["_far_result"] == 2


def test_mixed_skip_and_import_in_one_line(shell, make_module):
    foo = unique_name("foo")
    bar, _ = make_module(versioned(1))
    run(shell, f"%aimport -{foo}, {bar}")
    reloader = magics_of(shell)._reloader
    assert foo in reloader.skip_modules
    assert foo not in sys.modules
    assert bar in reloader.modules
    assert shell.user_ns[bar] is sys.modules[bar]


# -- aliases and packages ----------------------------------------------------------------------
def test_aimport_as_binds_the_alias(shell, make_module):
    name, path = make_module(versioned(1))
    run(shell, "%autoreload 1")
    run(shell, f"%aimport {name} as alias_m")
    assert shell.user_ns["alias_m"] is sys.modules[name]
    assert name not in shell.user_ns
    assert name in magics_of(shell)._reloader.modules
    write(path, versioned(2))
    run(shell, "_far_result = alias_m.f()")
    assert shell.user_ns["_far_result"] == 2


def test_aimport_dotted_without_alias_binds_top_package(shell, make_package):
    pkg, _ = make_package({"__init__.py": "", "sub.py": versioned(1)})
    run(shell, f"%aimport {pkg}.sub")
    assert shell.user_ns[pkg] is sys.modules[pkg]
    assert f"{pkg}.sub" in magics_of(shell)._reloader.modules


@pytest.mark.fastautoreload_only  # IPython binds the top-level package (a bug)
def test_aimport_dotted_as_binds_the_submodule(shell, make_package):
    pkg, root = make_package({"__init__.py": "", "sub.py": versioned(1)})
    run(shell, "%autoreload 1")
    run(shell, f"%aimport {pkg}.sub as x")
    assert shell.user_ns["x"] is sys.modules[f"{pkg}.sub"]
    write(root / "sub.py", versioned(2))
    run(shell, "_far_result = x.f()")
    assert shell.user_ns["_far_result"] == 2


def test_aimport_alias_and_plain_in_one_line(shell, make_module):
    a, _ = make_module(versioned(1))
    b, _ = make_module(versioned(1))
    run(shell, f"%aimport {a} as first, {b}")
    assert shell.user_ns["first"] is sys.modules[a]
    assert shell.user_ns[b] is sys.modules[b]
    assert {a, b} <= set(magics_of(shell)._reloader.modules)
