"""Failed reloads, retries, deleted files, and modules that cannot be reloaded."""

from __future__ import annotations

import importlib
import os
import shutil
import sys

import pytest
from conftest import no_log_handlers, run, touch, value, versioned, write

ORIGINAL = versioned(1) + "\n\ndef g():\n    return 'g'\n"
SYNTAX_ERROR = "VALUE = 2\n\ndef f(:\n    return 2\n"  # the error is on line 3
RUNTIME_ERROR = """\
VALUE = 2


def f():
    return 2


NEW = 1
raise RuntimeError("boom")
"""  # the raise is on line 9
RUNTIME_ERROR_LINE = 9


def _failure_count(err: str, name: str) -> int:
    return err.count(f"[autoreload of {name} failed:")


# -- syntax errors -----------------------------------------------------------------------------
@pytest.fixture
def broken(auto, make_module, capsys):
    """A module imported with ``from m import f``, then edited into a syntax error.

    Returns ``(name, path, stderr of the first cell after the edit)``.
    """
    name, path = make_module(ORIGINAL)
    run(auto, f"import {name}\nfrom {name} import f")
    write(path, SYNTAX_ERROR)
    capsys.readouterr()
    run(auto, "pass")
    return name, path, capsys.readouterr().err


def test_syntax_error_reported_once_with_file_and_line(broken):
    name, path, err = broken
    assert _failure_count(err, name) == 1
    assert f'{path.name}", line 3' in err
    assert "SyntaxError" in err


def test_syntax_error_keeps_old_module(auto, broken):
    name, _, _ = broken
    assert value(auto, f"{name}.f()") == 1
    assert value(auto, "f()") == 1
    assert value(auto, f"{name}.VALUE") == 1
    assert value(auto, f"{name}.g()") == "g"


def test_syntax_error_not_repeated_while_file_unchanged(auto, broken, capsys):
    run(auto, "pass")
    run(auto, "pass")
    assert capsys.readouterr().err == ""


def test_fix_after_syntax_error_loads_new_code(auto, broken, capsys):
    name, path, _ = broken
    write(path, versioned(3))
    assert value(auto, f"{name}.f()") == 3
    assert value(auto, "f()") == 3
    assert capsys.readouterr().err == ""


def test_second_different_syntax_error_is_reported_again(auto, broken, capsys):
    name, path, _ = broken
    write(path, "VALUE = 2\n\n\n\ndef f(:\n    return 2\n")  # now on line 5
    run(auto, "pass")
    err = capsys.readouterr().err
    assert _failure_count(err, name) == 1
    assert f'{path.name}", line 5' in err


@pytest.mark.fastautoreload_only  # IPython retries on any newer mtime
def test_failed_module_not_retried_when_touched(auto, broken, capsys):
    _, path, _ = broken
    touch(path)
    run(auto, "pass")
    assert capsys.readouterr().err == ""


# -- exceptions raised while the new module executes -------------------------------------------
@pytest.fixture
def raising(auto, make_module, capsys):
    """A module edited to define ``NEW`` and then raise; ``(name, path, stderr)``."""
    name, path = make_module(ORIGINAL)
    run(auto, f"import {name}\nfrom {name} import f")
    write(path, RUNTIME_ERROR)
    capsys.readouterr()
    run(auto, "pass")
    return name, path, capsys.readouterr().err


def test_exception_at_import_reported_once_with_file_and_line(raising):
    name, path, err = raising
    assert _failure_count(err, name) == 1
    assert f'{path.name}", line {RUNTIME_ERROR_LINE}' in err
    assert "RuntimeError: boom" in err


def test_exception_at_import_keeps_old_values(auto, raising):
    name, _, _ = raising
    assert value(auto, f"{name}.VALUE") == 1
    assert value(auto, f"{name}.f()") == 1
    assert value(auto, "f()") == 1
    assert value(auto, f"{name}.g()") == "g"


@pytest.mark.fastautoreload_only  # IPython leaves names made by the partial execution
def test_exception_at_import_leaves_no_new_names(auto, raising):
    name, _, _ = raising
    assert value(auto, f"hasattr({name}, 'NEW')") is False


@pytest.mark.fastautoreload_only  # IPython leaves NEW behind
def test_exception_at_import_leaves_namespace_exactly_as_before(auto, make_module):
    name, path = make_module(ORIGINAL)
    run(auto, f"import {name}")
    module = sys.modules[name]
    before = dict(module.__dict__)
    write(path, RUNTIME_ERROR)
    run(auto, "pass")
    after = dict(module.__dict__)
    assert after.keys() == before.keys()
    assert all(after[key] is before[key] for key in before)
    assert sys.modules[name] is module


def test_exception_at_import_not_repeated_and_fix_loads(auto, raising, capsys):
    name, path, _ = raising
    run(auto, "pass")
    assert capsys.readouterr().err == ""
    write(path, versioned(3))
    assert value(auto, f"{name}.f()") == 3
    assert value(auto, "f()") == 3
    assert capsys.readouterr().err == ""


@pytest.mark.fastautoreload_only  # IPython also logs through logging.lastResort: twice
def test_failure_printed_once_without_logging_configured(auto, make_module, capsys):
    name, path = make_module(ORIGINAL)
    run(auto, f"import {name}")
    write(path, RUNTIME_ERROR)
    capsys.readouterr()
    with no_log_handlers():
        run(auto, "pass")
    err = capsys.readouterr().err
    assert _failure_count(err, name) == 1
    assert err.count("RuntimeError: boom") == 1
    assert err.count(f'{path.name}", line {RUNTIME_ERROR_LINE}') == 1


def test_failing_module_does_not_stop_other_reloads(auto, make_module, capsys):
    bad, bad_path = make_module(ORIGINAL)
    good, good_path = make_module(versioned(1))
    run(auto, f"import {bad}, {good}")
    write(bad_path, SYNTAX_ERROR)
    write(good_path, versioned(2))
    capsys.readouterr()
    run(auto, "pass")
    assert _failure_count(capsys.readouterr().err, bad) == 1
    assert value(auto, f"{good}.f()") == 2
    assert value(auto, f"{bad}.f()") == 1


def test_failure_shown_by_now_too(shell, make_module, capsys):
    name, path = make_module(ORIGINAL)
    run(shell, f"import {name}")
    write(path, SYNTAX_ERROR)
    capsys.readouterr()
    run(shell, "%autoreload now")
    assert _failure_count(capsys.readouterr().err, name) == 1
    assert value(shell, f"{name}.f()") == 1


# -- deleted files -----------------------------------------------------------------------------
def test_deleted_file_is_ignored(shell, make_module, capsys):
    run(shell, "%autoreload 2 -p")
    name, path = make_module(versioned(1))
    run(shell, f"import {name}")
    os.remove(path)
    importlib.invalidate_caches()
    capsys.readouterr()
    run(shell, "pass")
    run(shell, "%autoreload now")
    assert capsys.readouterr() == ("", "")
    assert value(shell, f"{name}.f()") == 1


# -- modules that cannot be reloaded -----------------------------------------------------------
def _stdlib_extension_modules():
    found = []
    for candidate in ("_json", "array", "math", "_decimal", "_bisect"):
        try:
            module = importlib.import_module(candidate)
        except ImportError:
            continue
        file = getattr(module, "__file__", None) or ""
        if file.endswith((".so", ".pyd")) and sys.modules.get(candidate) is module:
            found.append((candidate, module))
    return found


def test_stdlib_c_extension_is_skipped(shell, capsys):
    modules = _stdlib_extension_modules()
    if not modules:
        pytest.skip("no stdlib C extension with a .so/.pyd __file__ in this Python")
    names = [name for name, _ in modules]
    run(shell, "%autoreload 2 -p")
    run(shell, "import " + ", ".join(names))
    capsys.readouterr()
    run(shell, "%autoreload now -p")
    run(shell, "pass")
    assert capsys.readouterr() == ("", "")
    assert all(sys.modules[name] is module for name, module in modules)


def test_changed_c_extension_file_is_skipped(shell, make_package, capsys):
    """A copy of a stdlib extension, imported as ``pkg._json``, then its file replaced."""
    modules = [m for name, m in _stdlib_extension_modules() if name in ("_json", "array")]
    if not modules:
        pytest.skip("no stdlib C extension to copy")
    original = modules[0]
    basename = os.path.basename(original.__file__)
    pkg, root = make_package({"__init__.py": ""})
    target = root / basename
    shutil.copyfile(original.__file__, target)
    importlib.invalidate_caches()
    run(shell, "%autoreload 2 -p")
    run(shell, f"import {pkg}.{original.__name__} as _far_ext")
    loaded = shell.user_ns["_far_ext"]
    assert loaded.__file__ == str(target)
    # Replace the file (a new inode: the loaded copy stays mapped) with different content.
    staged = root / (basename + ".new")
    staged.write_bytes(target.read_bytes() + b"\0fastautoreload-test")
    stat = target.stat()
    os.replace(staged, target)
    os.utime(target, ns=(stat.st_mtime_ns + 2_000_000_000,) * 2)
    capsys.readouterr()
    run(shell, "pass")
    run(shell, "%autoreload now -p")
    assert capsys.readouterr() == ("", "")
    assert sys.modules[f"{pkg}.{original.__name__}"] is loaded


def test_main_module_is_not_reloaded(auto, capsys):
    main = sys.modules["__main__"]
    run(auto, "_far_marker = 42")
    run(auto, "%autoreload now")
    assert capsys.readouterr().err == ""
    assert sys.modules["__main__"] is main
    assert auto.user_ns["_far_marker"] == 42
