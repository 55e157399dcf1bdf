"""Loading, unloading and reloading the extension, and the public Python API."""

from __future__ import annotations

import importlib
import inspect
import io
import sys

import pytest
from conftest import EXT, IS_IPYTHON, ext_callbacks, magics_of, run, value, versioned, write
from IPython.core.interactiveshell import ExecutionInfo


def _info(code: str) -> ExecutionInfo:
    if "transformed_cell" in inspect.signature(ExecutionInfo).parameters:  # IPython 9
        return ExecutionInfo(code, False, False, True, None, transformed_cell=code + "\n")
    return ExecutionInfo(code, False, False, True, None)


def _side_effect_source(store, tag):
    return f"import {store}\n{store}.runs.append({tag!r})\n\ndef f():\n    return {tag!r}\n"


# -- loading -----------------------------------------------------------------------------------
def test_load_registers_magics_and_hooks(shell):
    line_magics = shell.magics_manager.magics["line"]
    owner = line_magics["autoreload"].__self__
    assert line_magics["aimport"].__self__ is owner
    assert type(owner).__name__ == "AutoreloadMagics"
    assert ext_callbacks(shell, "pre_run_cell") == [owner.pre_run_cell]
    assert ext_callbacks(shell, "post_execute") == [owner.post_execute_hook]


def test_load_twice_keeps_one_reloader(shell, make_module, counter_store, capsys):
    run(shell, f"%load_ext {EXT}")
    assert "already loaded" in capsys.readouterr().out
    assert len(ext_callbacks(shell, "pre_run_cell")) == 1
    run(shell, "%autoreload 2")
    name, path = make_module(_side_effect_source(counter_store, "v1"))
    run(shell, f"import {name}")
    write(path, _side_effect_source(counter_store, "v2"))
    assert value(shell, f"{name}.f()") == "v2"
    assert sys.modules[counter_store].runs == ["v1", "v2"]


@pytest.mark.fastautoreload_only  # IPython's autoreload has no unload function
def test_unload_removes_hooks_and_magics(shell, make_module):
    run(shell, "%autoreload 2")
    name, path = make_module(versioned(1))
    run(shell, f"import {name}")
    run(shell, f"%unload_ext {EXT}")
    assert ext_callbacks(shell, "pre_run_cell") == []
    assert ext_callbacks(shell, "post_execute") == []
    line_magics = shell.magics_manager.magics["line"]
    assert "autoreload" not in line_magics
    assert "aimport" not in line_magics
    write(path, versioned(2))
    assert value(shell, f"{name}.f()") == 1
    result = run(shell, "%autoreload 2", allow_error=True)
    assert result.error_in_exec is not None


@pytest.mark.fastautoreload_only  # IPython's autoreload has no unload function
def test_load_after_unload_works_again(shell, make_module):
    run(shell, f"%unload_ext {EXT}")
    assert ext_callbacks(shell, "pre_run_cell") == []
    run(shell, f"%load_ext {EXT}")
    assert len(ext_callbacks(shell, "pre_run_cell")) == 1
    run(shell, "%autoreload 2")
    name, path = make_module(versioned(1))
    run(shell, f"import {name}")
    write(path, versioned(2))
    assert value(shell, f"{name}.f()") == 2


@pytest.mark.fastautoreload_only  # IPython stacks a second reloader (#13145)
def test_reload_ext_leaves_exactly_one_callback(shell):
    run(shell, "%autoreload 2")
    run(shell, f"%reload_ext {EXT}")
    run(shell, f"%reload_ext {EXT}")
    callbacks = ext_callbacks(shell, "pre_run_cell")
    assert len(callbacks) == 1
    assert len(ext_callbacks(shell, "post_execute")) == 1
    assert callbacks[0].__self__ is magics_of(shell)


@pytest.mark.fastautoreload_only  # IPython's old reloader keeps running in mode 2
def test_mode_0_after_reload_ext_stops_reloading(shell, make_module):
    run(shell, "%autoreload 2")
    run(shell, f"%reload_ext {EXT}")
    run(shell, "%autoreload 0")
    name, path = make_module(versioned(1))
    run(shell, f"import {name}")
    write(path, versioned(2))
    assert value(shell, f"{name}.f()") == 1


@pytest.mark.fastautoreload_only  # loading beside IPython's autoreload
def test_loading_beside_ipython_autoreload_runs_modules_once(
    bare_shell, make_module, counter_store
):
    run(bare_shell, "%load_ext autoreload")
    run(bare_shell, "%autoreload 2")
    run(bare_shell, "%load_ext fastautoreload")
    run(bare_shell, "%autoreload 2")
    name, path = make_module(_side_effect_source(counter_store, "v1"))
    run(bare_shell, f"import {name}")
    write(path, _side_effect_source(counter_store, "v2"))
    assert value(bare_shell, f"{name}.f()") == "v2"
    assert sys.modules[counter_store].runs == ["v1", "v2"]


@pytest.mark.fastautoreload_only
def test_ipython_autoreload_loaded_after_takes_over_and_modules_run_once(
    bare_shell, make_module, counter_store
):
    run(bare_shell, "%load_ext fastautoreload")
    run(bare_shell, "%autoreload 2")
    run(bare_shell, "%load_ext autoreload")
    run(bare_shell, "%autoreload 2")
    name, path = make_module(_side_effect_source(counter_store, "v1"))
    run(bare_shell, f"import {name}")
    write(path, _side_effect_source(counter_store, "v2"))
    assert value(bare_shell, f"{name}.f()") == "v2"
    assert sys.modules[counter_store].runs == ["v1", "v2"]


# -- the public Python API ---------------------------------------------------------------------
PUBLIC_NAMES = (
    "AutoreloadMagics",
    "ModuleReloader",
    "superreload",
    "ImportFromTracker",
    "load_ipython_extension",
)


def test_public_names(ext_module):
    for name in PUBLIC_NAMES:
        assert callable(getattr(ext_module, name)), name
    for method in ("autoreload", "aimport", "pre_run_cell", "post_execute_hook"):
        assert callable(getattr(ext_module.AutoreloadMagics, method)), method
    for method in ("check", "mark_module_skipped", "mark_module_reloadable", "aimport_module"):
        assert callable(getattr(ext_module.ModuleReloader, method)), method


@pytest.mark.fastautoreload_only  # IPython's autoreload has no unload function
def test_import_names_from_the_package():
    from fastautoreload import (  # noqa: F401
        AutoreloadMagics,
        ImportFromTracker,
        ModuleReloader,
        load_ipython_extension,
        superreload,
        unload_ipython_extension,
    )

    assert callable(unload_ipython_extension)


def test_standalone_magics_mode_2(bare_shell, ext_module, make_module):
    name, path = make_module(versioned(1))
    magics = ext_module.AutoreloadMagics(shell=bare_shell)
    magics.autoreload("2")
    magics.aimport(name)
    assert bare_shell.user_ns[name] is sys.modules[name]
    magics.post_execute_hook()
    write(path, versioned(2))
    magics.pre_run_cell(_info("pass"))
    magics.post_execute_hook()
    assert sys.modules[name].f() == 2


def test_standalone_magics_mode_1_and_listing(bare_shell, ext_module, make_module):
    marked, marked_path = make_module(versioned(1))
    other, other_path = make_module(versioned(1))
    magics = ext_module.AutoreloadMagics(shell=bare_shell)
    magics.autoreload("1")
    magics.aimport(marked)
    importlib.import_module(other)
    magics.post_execute_hook()
    stream = io.StringIO()
    magics.aimport("", stream=stream)
    assert stream.getvalue() == f"Modules to reload:\n{marked}\n\nModules to skip:\n\n"
    write(marked_path, versioned(2))
    write(other_path, versioned(2))
    magics.pre_run_cell(_info("pass"))
    assert (sys.modules[marked].f(), sys.modules[other].f()) == (2, 1)


def test_standalone_magics_mode_3_tracks_from_imports(bare_shell, ext_module, make_module):
    name, path = make_module("x = 1\n")
    magics = ext_module.AutoreloadMagics(shell=bare_shell)
    magics.autoreload("3")
    code = f"from {name} import x as y"
    magics.pre_run_cell(_info(code))
    exec(code, bare_shell.user_ns)
    magics.post_execute_hook()
    write(path, "x = 2\n")
    magics.pre_run_cell(_info("y"))
    assert bare_shell.user_ns["y"] == 2
    assert "x" not in bare_shell.user_ns


@pytest.mark.fastautoreload_only  # IPython's pre_run_cell requires the info argument
def test_standalone_pre_run_cell_without_info(bare_shell, ext_module, make_module):
    name, path = make_module(versioned(1))
    magics = ext_module.AutoreloadMagics(shell=bare_shell)
    magics.autoreload("2")
    importlib.import_module(name)
    magics.post_execute_hook()
    write(path, versioned(2))
    magics.pre_run_cell()
    magics.post_execute_hook()
    assert sys.modules[name].f() == 2


def test_reloader_attributes_have_ipythons_meaning(shell, make_module):
    name, _ = make_module(versioned(1))
    reloader = magics_of(shell)._reloader
    assert (reloader.enabled, reloader.check_all, reloader.autoload_obj) == (False, False, False)
    run(shell, "%autoreload 1")
    assert (reloader.enabled, reloader.check_all, reloader.autoload_obj) == (True, False, False)
    run(shell, "%autoreload 2")
    assert (reloader.enabled, reloader.check_all, reloader.autoload_obj) == (True, True, False)
    run(shell, "%autoreload 3")
    assert (reloader.enabled, reloader.check_all, reloader.autoload_obj) == (True, True, True)
    run(shell, "%autoreload 0")
    assert (reloader.enabled, reloader.check_all, reloader.autoload_obj) == (False, True, True)
    run(shell, f"%aimport {name}, -other_far_module")
    assert reloader.modules == {name: True}
    assert reloader.skip_modules == {"other_far_module": True}
    reloader.mark_module_skipped(name)
    assert name not in reloader.modules
    assert reloader.skip_modules[name] is True
    reloader.mark_module_reloadable(name)
    assert reloader.modules[name] is True
    assert name not in reloader.skip_modules


def test_reloader_check_reloads_when_enabled(shell, make_module):
    name, path = make_module(versioned(1))
    run(shell, f"import {name}")
    reloader = magics_of(shell)._reloader
    write(path, versioned(2))
    reloader.check()  # not enabled, not check_all: nothing happens
    assert sys.modules[name].f() == 1
    reloader.check(check_all=True)
    assert sys.modules[name].f() == 2


def test_reloader_aimport_module_returns_top_package(shell, make_package):
    pkg, _ = make_package({"__init__.py": "", "sub.py": versioned(1)})
    reloader = magics_of(shell)._reloader
    top, top_name = reloader.aimport_module(f"{pkg}.sub")
    assert (top, top_name) == (sys.modules[pkg], pkg)
    assert f"{pkg}.sub" in sys.modules
    assert reloader.modules[f"{pkg}.sub"] is True


def test_superreload_reloads_from_disk_and_returns_module(ext_module, make_module):
    name, path = make_module(versioned(1) + "\n\ndef gone():\n    return 0\n")
    module = importlib.import_module(name)
    write(path, versioned(2))
    result = ext_module.superreload(module)
    assert result is module
    assert sys.modules[name] is module
    assert module.f() == 2
    assert module.VALUE == 2
    assert not hasattr(module, "gone")


def test_superreload_updates_registered_old_objects(ext_module, make_module):
    name, path = make_module(versioned(1) + "\n\nclass C:\n    def m(self):\n        return 1\n")
    module = importlib.import_module(name)
    old_f, old_instance = module.f, module.C()
    old_objects = {}
    write(path, versioned(2) + "\n\nclass C:\n    def m(self):\n        return 2\n")
    ext_module.superreload(module, old_objects=old_objects)
    assert old_f() == 2
    assert old_instance.m() == 2
    assert (name, "f") in old_objects


@pytest.mark.fastautoreload_only  # IPython's superreload leaves names of the failed run
def test_superreload_failure_raises_and_keeps_module(ext_module, make_module):
    name, path = make_module(versioned(1))
    module = importlib.import_module(name)
    write(path, "VALUE = 2\nNEW = 1\nraise RuntimeError('boom')\n")
    with pytest.raises(RuntimeError, match="boom"):
        ext_module.superreload(module)
    assert module.f() == 1
    assert module.VALUE == 1
    assert not hasattr(module, "NEW")


# -- ImportFromTracker -------------------------------------------------------------------------
def test_tracker_records_imports(ext_module):
    tracker = ext_module.ImportFromTracker({}, {})
    tracker.add_import("m", "foo", "foo")
    tracker.add_import("m", "bar", "baz")
    assert tracker.imports_froms == {"m": ["foo", "bar"]}
    assert tracker.symbol_map == {"m": {"foo": ["foo"], "bar": ["baz"]}}


def test_tracker_one_original_several_aliases(ext_module):
    tracker = ext_module.ImportFromTracker({}, {})
    tracker.add_import("m", "foo", "bar")
    tracker.add_import("m", "foo", "foo")
    tracker.add_import("m", "foo", "foo")
    assert tracker.imports_froms == {"m": ["foo"]}
    assert tracker.symbol_map == {"m": {"foo": ["bar", "foo"]}}


def test_tracker_most_recent_import_wins(ext_module):
    tracker = ext_module.ImportFromTracker({}, {})
    tracker.add_import("m", "foo", "x")
    tracker.add_import("m", "foo", "foo")
    tracker.add_import("m", "bar", "x")  # `x` now comes from bar
    assert tracker.symbol_map == {"m": {"foo": ["foo"], "bar": ["x"]}}
    assert tracker.imports_froms == {"m": ["foo", "bar"]}
    tracker.add_import("m", "bar", "foo")  # foo loses its last alias
    assert tracker.symbol_map == {"m": {"bar": ["x", "foo"]}}
    assert tracker.imports_froms == {"m": ["bar"]}


def test_tracker_modules_are_independent(ext_module):
    tracker = ext_module.ImportFromTracker({}, {})
    tracker.add_import("a", "foo", "x")
    tracker.add_import("b", "bar", "x")
    assert tracker.symbol_map == {"a": {"foo": ["x"]}, "b": {"bar": ["x"]}}


def test_tracker_constructor_copies_and_wraps(ext_module):
    aliases = ["y"]
    tracker = ext_module.ImportFromTracker({"m": ["x", "z"]}, {"m": {"x": aliases, "z": "w"}})
    assert tracker.symbol_map == {"m": {"x": ["y"], "z": ["w"]}}
    tracker.add_import("m", "x", "y2")
    assert aliases == ["y"]
    assert tracker.symbol_map["m"]["x"] == ["y", "y2"]


def test_clear_import_tracker(shell, make_module):
    name, _ = make_module("x = 1\n")
    run(shell, "%autoreload 3")
    run(shell, f"from {name} import x as y")
    reloader = magics_of(shell)._reloader
    assert reloader.import_from_tracker.symbol_map[name] == {"x": ["y"]}
    reloader.clear_import_tracker()
    assert reloader.import_from_tracker.imports_froms == {}
    assert reloader.import_from_tracker.symbol_map == {}


def test_ext_module_matches_selection():
    module = importlib.import_module("IPython.extensions.autoreload" if IS_IPYTHON else EXT)
    assert hasattr(module, "load_ipython_extension")
