"""Dependency-aware reloading: reload order, modules re-run for stale ``from`` imports,
the user's ``from`` imports rebound, ``reload()``, ``dependents()`` and ``--deps``.

A module's "counter" is an entry it appends to the list of the ``counter_store`` module
each time its top level runs; that list survives reloads (the store never changes).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import sysconfig
import uuid
from pathlib import Path

import pytest
from conftest import run, value, without_plan_details, write


def _runs(store: str, tag: str) -> int:
    """How many times the module tagged ``tag`` ran its top level."""
    return sys.modules[store].runs.count(tag)


def _counted(store: str, tag: str, body: str) -> str:
    """Module source that records one run under ``tag`` and then runs ``body``."""
    return f"import {store}\n{store}.runs.append({tag!r})\n{body}"


def _reloading(*names: str, because: dict[str, str] | None = None) -> str:
    """The ``-p`` output for reloading ``names`` in this order (compared after
    ``without_plan_details``: which statements ran is tested in test_differ.py)."""
    because = because or {}
    lines = []
    for name in names:
        if name in because:
            lines.append(f"Reloading '{name}'. (it imports changed values from '{because[name]}')")
        else:
            lines.append(f"Reloading '{name}'.")
    return "".join(line + "\n" for line in lines)


@pytest.fixture
def config_train(make_module, counter_store):
    """``config`` (``BATCH = 1``) and ``train``, which binds ``BATCH`` at import time."""
    config, config_path = make_module("BATCH = 1\n", prefix="config")
    train_body = f"""\
from {config} import BATCH


def get():
    return BATCH


DOUBLE = BATCH * 2
"""
    train, train_path = make_module(_counted(counter_store, "train", train_body), prefix="train")
    return config, config_path, train, train_path


# -- 1. a changed constant re-runs the modules that bound it -----------------------------------
@pytest.mark.fastautoreload_only
def test_changed_constant_reruns_importer_and_rebinds_user_name(
    auto, config_train, counter_store, capsys
):
    config, config_path, train, _ = config_train
    run(auto, "%autoreload 2 -p")
    run(auto, f"import {train}\nfrom {config} import BATCH\n_far_old_get = {train}.get")
    assert value(auto, f"({train}.get(), {train}.DOUBLE, BATCH)") == (1, 2, 1)
    assert _runs(counter_store, "train") == 1

    write(config_path, "BATCH = 5\n")
    capsys.readouterr()
    run(auto, "_far_x = 1")
    out, err = capsys.readouterr()
    assert without_plan_details(out) == _reloading(config, train, because={train: config})
    assert err == ""

    assert value(auto, f"{train}.get()") == 5
    assert value(auto, f"{train}.DOUBLE") == 10
    assert value(auto, "BATCH") == 5
    # Only the import and the statement reading it ran again, not the side effect.
    assert _runs(counter_store, "train") == 1
    # Re-executed, but its own function is still the same object.
    assert value(auto, f"{train}.get is _far_old_get") is True


@pytest.mark.fastautoreload_only
def test_stale_values_propagate_transitively(
    auto, config_train, counter_store, make_module, capsys
):
    config, config_path, train, _ = config_train
    body = f"from {train} import DOUBLE\n\nQUAD = DOUBLE * 2\n"
    report, _ = make_module(_counted(counter_store, "report", body), prefix="report")
    run(auto, "%autoreload 2 -p")
    run(auto, f"import {report}")
    assert value(auto, f"{report}.QUAD") == 4

    write(config_path, "BATCH = 5\n")
    capsys.readouterr()
    run(auto, "_far_x = 1")
    assert without_plan_details(capsys.readouterr().out) == _reloading(
        config, train, report, because={train: config, report: train}
    )
    assert value(auto, f"{report}.QUAD") == 20
    # Statement-level: the imports and what reads them ran, the side effects did not.
    assert _runs(counter_store, "train") == 1
    assert _runs(counter_store, "report") == 1


def test_unchanged_constant_does_not_rerun_importer(auto, config_train, counter_store):
    config, config_path, train, _ = config_train
    run(auto, f"import {config}, {train}")
    write(config_path, "BATCH = 1\nOTHER = 'new'\n")
    assert value(auto, f"{config}.OTHER") == "new"
    assert _runs(counter_store, "train") == 1


def test_changed_function_does_not_rerun_importer(auto, make_module, counter_store):
    lib, lib_path = make_module("def f():\n    return 1\n", prefix="lib")
    user, _ = make_module(_counted(counter_store, "user", f"from {lib} import f\n"), prefix="user")
    run(auto, f"import {user}")
    write(lib_path, "def f():\n    return 2\n")
    assert value(auto, f"{user}.f()") == 2
    assert _runs(counter_store, "user") == 1


# -- 2. several changed modules reload dependencies first -------------------------------------
@pytest.mark.fastautoreload_only
def test_both_edited_reload_dependency_first(auto, make_module, capsys):
    # `app` is imported first and only starts importing `lib` after an edit: `lib` is
    # imported during that reload, so `app` precedes `lib` in sys.modules (an import at
    # the first import would not do: importlib moves a module to the end once it ran).
    lib, lib_path = make_module("VALUE = 1\n", prefix="lib")
    app, app_path = make_module("RESULT = 0\n", prefix="app")
    run(auto, "%autoreload 2 -p")
    run(auto, f"import {app}")
    write(app_path, f"from {lib} import VALUE\n\nRESULT = VALUE + 1\n")
    assert value(auto, f"{app}.RESULT") == 2
    names = list(sys.modules)
    assert names.index(app) < names.index(lib)

    write(lib_path, "VALUE = 10\n")
    write(app_path, f"from {lib} import VALUE\n\nRESULT = VALUE + 100\n")
    capsys.readouterr()
    run(auto, "_far_x = 1")
    out, err = capsys.readouterr()
    assert without_plan_details(out) == _reloading(lib, app)
    assert err == ""
    assert value(auto, f"{app}.RESULT") == 110


# -- 3. reload() and %autoreload now pkg --------------------------------------------------------
def _three_module_package(make_package, store):
    files = {
        "__init__.py": _counted(store, "pkg", ""),
        "a.py": _counted(store, "a", "X = 1\n"),
        "b.py": _counted(store, "b", "Y = 1\n"),
    }
    return make_package(files)


@pytest.mark.fastautoreload_only
def test_reload_function_forces_package_and_changed_submodules(
    shell, make_package, counter_store, ext_module
):
    pkg, root = _three_module_package(make_package, counter_store)
    run(shell, "%autoreload 0")
    run(shell, f"import {pkg}.a, {pkg}.b")
    write(root / "a.py", _counted(counter_store, "a", "X = 2\n"))

    assert ext_module.reload(pkg) == [pkg, f"{pkg}.a"]
    assert sys.modules[f"{pkg}.a"].X == 2
    # The forced package runs whole; the changed submodule runs only its changed line.
    assert _runs(counter_store, "pkg") == 2
    assert _runs(counter_store, "a") == 1
    assert _runs(counter_store, "b") == 1
    # Nothing changed since: a forced reload runs the package alone.
    assert ext_module.reload(sys.modules[pkg]) == [pkg]
    assert _runs(counter_store, "pkg") == 3
    assert _runs(counter_store, "a") == 1


@pytest.mark.fastautoreload_only
def test_autoreload_now_with_package_name(shell, make_package, counter_store, capsys):
    pkg, root = _three_module_package(make_package, counter_store)
    run(shell, "%autoreload 0")
    run(shell, f"import {pkg}.a, {pkg}.b")
    write(root / "a.py", _counted(counter_store, "a", "X = 2\n"))
    # Mode 0: a plain cell reloads nothing.
    run(shell, "_far_x = 1")
    assert sys.modules[f"{pkg}.a"].X == 1

    capsys.readouterr()
    run(shell, f"%autoreload now {pkg} -p")
    assert without_plan_details(capsys.readouterr().out) == _reloading(pkg, f"{pkg}.a")
    assert sys.modules[f"{pkg}.a"].X == 2
    assert _runs(counter_store, "pkg") == 2
    assert _runs(counter_store, "a") == 1  # only its changed line ran
    assert _runs(counter_store, "b") == 1


@pytest.mark.fastautoreload_only
def test_reload_not_deep_reloads_the_package_alone(shell, make_package, counter_store, ext_module):
    pkg, root = _three_module_package(make_package, counter_store)
    run(shell, "%autoreload 0")
    run(shell, f"import {pkg}.a, {pkg}.b")
    write(root / "a.py", _counted(counter_store, "a", "X = 2\n"))
    assert ext_module.reload(pkg, deep=False) == [pkg]
    assert sys.modules[f"{pkg}.a"].X == 1
    assert _runs(counter_store, "a") == 1


@pytest.mark.fastautoreload_only
def test_reload_of_a_module_not_imported_raises(shell, ext_module):
    with pytest.raises(ImportError):
        ext_module.reload(f"far_never_imported_{uuid.uuid4().hex}")


@pytest.mark.fastautoreload_only
def test_autoreload_now_with_several_names(shell, make_module, capsys):
    one, _ = make_module("X = 1\n", prefix="one")
    two, _ = make_module("X = 2\n", prefix="two")
    run(shell, f"import {one}, {two}")
    capsys.readouterr()
    run(shell, f"%autoreload now {one} {two} -p")
    assert without_plan_details(capsys.readouterr().out) == _reloading(one, two)


@pytest.mark.fastautoreload_only  # IPython's superreload also drops them
def test_package_reload_keeps_submodule_attributes(shell, make_package, counter_store, ext_module):
    # `import pkg.a` sets `pkg.a`; importlib.reload(pkg) keeps it, and so should we.
    pkg, _ = _three_module_package(make_package, counter_store)
    run(shell, "%autoreload 0")
    run(shell, f"import {pkg}.a, {pkg}.b")
    assert ext_module.reload(pkg) == [pkg]
    assert value(shell, f"({pkg}.a.X, {pkg}.b.Y)") == (1, 1)


@pytest.mark.fastautoreload_only
def test_installed_module_is_never_rerun_as_dependent(
    auto, make_package, make_module, counter_store, ext_module
):
    purelib = Path(sysconfig.get_paths()["purelib"])
    if not os.access(purelib, os.W_OK):
        pytest.skip(f"site-packages ({purelib}) is not writable: cannot fake installed code")
    pkg, root = make_package({"__init__.py": "", "a.py": "X = 1\n"})
    body = f"from {pkg}.a import X\n"
    thirdparty = f"far_thirdparty_{uuid.uuid4().hex}"
    path = purelib / f"{thirdparty}.py"
    # A module of the user's own code that binds the same name: its import runs again.
    user, _ = make_module(_counted(counter_store, "user", body), prefix="user")
    try:
        path.write_text(_counted(counter_store, "thirdparty", body))
        importlib.invalidate_caches()
        run(auto, f"import {thirdparty}, {user}")
        assert _runs(counter_store, "thirdparty") == 1
        assert thirdparty not in ext_module.dependents(f"{pkg}.a")

        write(root / "a.py", "X = 2\n")
        assert value(auto, f"{user}.X") == 2
        assert sys.modules[f"{pkg}.a"].X == 2
        # The user's module re-bound X (its side effect did not run again); the
        # installed module was not touched at all and still holds the old value.
        assert _runs(counter_store, "user") == 1
        assert _runs(counter_store, "thirdparty") == 1
        assert value(auto, f"{thirdparty}.X") == 1
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        sys.modules.pop(thirdparty, None)
        importlib.invalidate_caches()


# -- 4. import cycles ---------------------------------------------------------------------------
def test_import_cycle_both_edited(auto, pkgdir, capsys):
    tag = f"{os.getpid()}_{uuid.uuid4().hex[:8]}"
    a, b = f"far_cyc_a_{tag}", f"far_cyc_b_{tag}"
    source = """\
        import {other}


        def mine():
            return "{me}{v}"


        def theirs():
            return {other}.mine()
        """
    a_path = write(pkgdir / f"{a}.py", source.format(me="a", other=b, v=1))
    b_path = write(pkgdir / f"{b}.py", source.format(me="b", other=a, v=1))
    run(auto, "%autoreload 2 -p")
    run(auto, f"import {a}")
    # `import a` runs `import b` to its end before a's own end: b completes first and
    # precedes a in sys.modules, the order they were imported in.
    names = list(sys.modules)
    assert names.index(b) < names.index(a)
    run(auto, f"import {b}")
    assert value(auto, f"({a}.theirs(), {b}.theirs())") == ("b1", "a1")

    write(a_path, source.format(me="a", other=b, v=2))
    write(b_path, source.format(me="b", other=a, v=2))
    capsys.readouterr()
    run(auto, "_far_x = 1")
    out, err = capsys.readouterr()
    assert without_plan_details(out) == _reloading(b, a)
    assert err == ""
    assert value(auto, f"({a}.mine(), {a}.theirs(), {b}.mine(), {b}.theirs())") == (
        "a2",
        "b2",
        "b2",
        "a2",
    )


# -- 5. relative imports ------------------------------------------------------------------------
@pytest.mark.fastautoreload_only
def test_relative_from_import_is_a_dependency(auto, make_package, counter_store):
    files = {
        "__init__.py": "",
        "config.py": "X = 1\n",
        "train.py": _counted(counter_store, "train", "from .config import X\n\nY = X + 1\n"),
    }
    pkg, root = make_package(files)
    run(auto, f"import {pkg}.train")
    assert value(auto, f"{pkg}.train.Y") == 2

    write(root / "config.py", "X = 10\n")
    assert value(auto, f"{pkg}.train.Y") == 11
    assert _runs(counter_store, "train") == 1  # the import and Y ran, not the side effect


# -- 6. the user's from-imports ----------------------------------------------------------------
@pytest.mark.fastautoreload_only
def test_user_alias_rebound_unless_reassigned(auto, make_module):
    config, path = make_module("X = 1\n", prefix="config")
    run(auto, f"from {config} import X as Y\nfrom {config} import X as Z")
    run(auto, "Y = 100")
    write(path, "X = 2\n")
    assert value(auto, "Z") == 2
    assert value(auto, "Y") == 100


# -- 7. a module that reassigned the imported name ---------------------------------------------
def test_module_that_reassigned_imported_name_is_not_rerun(auto, make_module, counter_store):
    config, path = make_module("X = 1\n", prefix="config")
    body = f"from {config} import X\n\nX = 42\n"
    keeper, _ = make_module(_counted(counter_store, "keeper", body), prefix="keeper")
    run(auto, f"import {config}, {keeper}")
    write(path, "X = 2\n")
    assert value(auto, f"{config}.X") == 2
    assert value(auto, f"{keeper}.X") == 42
    assert _runs(counter_store, "keeper") == 1


# -- 8. dependents() and --deps -----------------------------------------------------------------
@pytest.mark.fastautoreload_only
def test_dependents_lists_importers_nearest_first(auto, config_train, make_module, ext_module):
    config, _, train, _ = config_train
    top, _ = make_module(f"import {train}\n", prefix="top")
    run(auto, f"import {top}")
    assert ext_module.dependents(config) == [train, top]
    assert ext_module.dependents(sys.modules[train]) == [top]
    assert ext_module.dependents(top) == []


@pytest.mark.fastautoreload_only
def test_deps_flag_describes_and_keeps_print_flag(auto, config_train, capsys):
    config, config_path, train, _ = config_train
    run(auto, "%autoreload 2 -p")
    run(auto, f"import {train}")
    capsys.readouterr()
    run(auto, f"%autoreload --deps {config}")
    out = capsys.readouterr().out
    assert train in out
    assert "BATCH" in out
    assert f"{train} (from {config} import BATCH)" in out

    write(config_path, "BATCH = 3\n")
    capsys.readouterr()
    run(auto, "_far_x = 1")
    assert without_plan_details(capsys.readouterr().out) == _reloading(
        config, train, because={train: config}
    )
    assert value(auto, f"{train}.DOUBLE") == 6


# -- 9 and 10. imports that do not bind at import time ------------------------------------------
def test_function_level_import_does_not_rerun_module(auto, make_module, counter_store):
    config, path = make_module("X = 1\n", prefix="config")
    body = f"def f():\n    from {config} import X\n\n    return X\n"
    lazy, _ = make_module(_counted(counter_store, "lazy", body), prefix="lazy")
    run(auto, f"import {lazy}")
    assert value(auto, f"{lazy}.f()") == 1
    write(path, "X = 2\n")
    assert value(auto, f"{lazy}.f()") == 2
    assert _runs(counter_store, "lazy") == 1


def test_type_checking_import_does_not_rerun_module(auto, make_module, counter_store):
    config, path = make_module("X = 1\n", prefix="config")
    body = f"""\
from typing import TYPE_CHECKING

import {config}

if TYPE_CHECKING:
    from {config} import X


def get():
    return {config}.X
"""
    typed, _ = make_module(_counted(counter_store, "typed", body), prefix="typed")
    run(auto, f"import {typed}")
    write(path, "X = 2\n")
    assert value(auto, f"{typed}.get()") == 2
    assert _runs(counter_store, "typed") == 1


@pytest.mark.fastautoreload_only
def test_order_follows_imports_the_edit_adds(auto, make_package, counter_store, capsys):
    """`pkg/__init__.py` starts importing from `pkg/sub.py` and both are saved together:
    `sub` reloads first, so `__init__` runs once and computes from the new value."""
    pkg, root = make_package(
        {
            "__init__.py": _counted(counter_store, "pkg", "X = ['old']\n"),
            "sub.py": _counted(counter_store, "sub", "Y = ['one']\n"),
        }
    )
    run(auto, f"import {pkg}, {pkg}.sub\n%autoreload 2 -p")
    write(root / "__init__.py", _counted(counter_store, "pkg", "from .sub import Y\nX = Y * 2\n"))
    write(root / "sub.py", _counted(counter_store, "sub", "Y = ['two']\n"))
    capsys.readouterr()
    assert value(auto, f"{pkg}.X") == ["two", "two"]
    # In the old imports' order, `pkg` would run first, then again for the stale `Y`.
    assert without_plan_details(capsys.readouterr().out) == _reloading(f"{pkg}.sub", pkg)
