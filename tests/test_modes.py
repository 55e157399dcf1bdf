"""``%autoreload``: every mode and spelling, the flags, and the argument errors."""

from __future__ import annotations

import logging

import pytest
from conftest import EXT, magics_of, reloading, run, versioned, write
from IPython.core.error import UsageError


@pytest.fixture
def module(make_module):
    """A module at version 1: ``(name, path)``."""
    return make_module(versioned(1))


def _import_then_edit(shell, module, new_version=2):
    name, path = module
    run(shell, f"import {name}")
    write(path, versioned(new_version))
    return name


def _f(shell, name):
    run(shell, f"_far_result = {name}.f()")
    return shell.user_ns["_far_result"]


# -- before any mode is set --------------------------------------------------------------------
def test_nothing_reloads_before_a_mode_is_set(shell, module):
    name = _import_then_edit(shell, module)
    assert _f(shell, name) == 1
    assert _f(shell, name) == 1
    assert magics_of(shell)._reloader.enabled is False


# -- now / no argument -------------------------------------------------------------------------
@pytest.mark.parametrize("spelling", ["", "now", "NOW", "-"], ids=["blank", "now", "NOW", "dash"])
def test_now_reloads_immediately_while_off(shell, module, spelling):
    name = _import_then_edit(shell, module)
    assert _f(shell, name) == 1  # automatic reloading is off
    run(shell, f"%autoreload {spelling}")
    assert _f(shell, name) == 2
    assert magics_of(shell)._reloader.enabled is False  # `now` does not change the mode


def test_now_reloads_after_mode_0(shell, module):
    run(shell, "%autoreload 2")
    run(shell, "%autoreload 0")
    name = _import_then_edit(shell, module)
    assert _f(shell, name) == 1
    run(shell, "%autoreload now")
    assert _f(shell, name) == 2


def test_now_reloads_inside_the_same_cell(shell, module):
    name = _import_then_edit(shell, module)
    run(shell, f"%autoreload\n_far_result = {name}.f()")
    assert shell.user_ns["_far_result"] == 2


# -- 0 / off -----------------------------------------------------------------------------------
@pytest.mark.parametrize("spelling", ["0", "off", "OFF", "Off"])
def test_off_stops_reloading(shell, module, spelling):
    run(shell, "%autoreload 2")
    name = _import_then_edit(shell, module)
    assert _f(shell, name) == 2  # mode 2 is on
    run(shell, f"%autoreload {spelling}")
    write(module[1], versioned(3))
    assert _f(shell, name) == 2
    assert _f(shell, name) == 2


def test_off_keeps_check_all_and_turning_back_on_reloads(shell, module):
    run(shell, "%autoreload 2")
    run(shell, "%autoreload off")
    reloader = magics_of(shell)._reloader
    assert reloader.enabled is False
    assert reloader.check_all is True
    name = _import_then_edit(shell, module)
    assert _f(shell, name) == 1
    run(shell, "%autoreload 2")
    assert _f(shell, name) == 2


# -- 1 / explicit ------------------------------------------------------------------------------
@pytest.mark.parametrize("spelling", ["1", "explicit", "EXPLICIT", "Explicit"])
def test_explicit_reloads_only_aimported_modules(shell, make_module, spelling):
    marked, marked_path = make_module(versioned(1))
    other, other_path = make_module(versioned(1))
    run(shell, f"%autoreload {spelling}")
    run(shell, f"%aimport {marked}")
    run(shell, f"import {other}")
    write(marked_path, versioned(2))
    write(other_path, versioned(2))
    assert _f(shell, marked) == 2
    assert _f(shell, other) == 1
    reloader = magics_of(shell)._reloader
    assert (reloader.enabled, reloader.check_all, reloader.autoload_obj) == (True, False, False)


def test_explicit_module_keeps_reloading_on_later_edits(shell, module):
    name, path = module
    run(shell, "%autoreload 1")
    run(shell, f"%aimport {name}")
    for version in (2, 3, 4):
        write(path, versioned(version))
        assert _f(shell, name) == version


# -- 2 / all -----------------------------------------------------------------------------------
@pytest.mark.parametrize("spelling", ["2", "all", "ALL", "All"])
def test_all_reloads_every_changed_module(shell, make_module, spelling):
    first, first_path = make_module(versioned(1))
    second, second_path = make_module(versioned(1))
    run(shell, f"%autoreload {spelling}")
    run(shell, f"import {first}, {second}")
    write(first_path, versioned(2))
    write(second_path, versioned(2))
    assert _f(shell, first) == 2
    assert _f(shell, second) == 2
    reloader = magics_of(shell)._reloader
    assert (reloader.enabled, reloader.check_all, reloader.autoload_obj) == (True, True, False)


def test_all_reloads_modules_imported_before_the_extension(bare_shell, module):
    name, path = module
    run(bare_shell, f"import {name}")
    run(bare_shell, f"%load_ext {EXT}")
    run(bare_shell, "%autoreload 2")
    write(path, versioned(2))
    assert _f(bare_shell, name) == 2


# -- 3 / complete ------------------------------------------------------------------------------
@pytest.mark.parametrize("spelling", ["3", "complete", "COMPLETE", "Complete"])
def test_complete_reloads_and_sets_mode_3(shell, module, spelling):
    run(shell, f"%autoreload {spelling}")
    name = _import_then_edit(shell, module)
    assert _f(shell, name) == 2
    reloader = magics_of(shell)._reloader
    assert (reloader.enabled, reloader.check_all, reloader.autoload_obj) == (True, True, True)


# -- trailing "-" and --full -------------------------------------------------------------------
@pytest.mark.parametrize(
    "line", ["2-", "all-", "2 --full", "--full 2", "1-"], ids=lambda line: line.replace(" ", "_")
)
def test_full_reload_spellings_are_accepted_and_reload(shell, module, line):
    name, _ = module
    if line.startswith("1"):
        run(shell, f"%aimport {name}")
    run(shell, f"%autoreload {line}")
    _import_then_edit(shell, module)
    assert _f(shell, name) == 2
    assert magics_of(shell)._reloader.enabled is True


def test_full_now_reloads(shell, module):
    name = _import_then_edit(shell, module)
    run(shell, "%autoreload --full")
    assert _f(shell, name) == 2


# -- -p / --print ------------------------------------------------------------------------------
@pytest.mark.parametrize("flag", ["-p", "--print"])
def test_print_flag_prints_exact_message(shell, module, capsys, flag):
    run(shell, f"%autoreload 2 {flag}")
    name = _import_then_edit(shell, module)
    capsys.readouterr()
    run(shell, "_far_x = 1")
    out, err = capsys.readouterr()
    assert out == reloading(name) + "\n"
    assert err == ""
    assert _f(shell, name) == 2


def test_print_flag_is_silent_when_nothing_changed(shell, module, capsys):
    run(shell, "%autoreload 2 -p")
    run(shell, f"import {module[0]}")
    capsys.readouterr()
    run(shell, "_far_x = 1")
    assert capsys.readouterr().out == ""


def test_print_flag_with_now(shell, module, capsys):
    name = _import_then_edit(shell, module)
    capsys.readouterr()
    run(shell, "%autoreload now -p")
    assert capsys.readouterr().out == reloading(name) + "\n"


# -- -l / --log --------------------------------------------------------------------------------
@pytest.mark.parametrize("flag", ["-l", "--log"])
def test_log_flag_logs_at_info(shell, module, caplog, capsys, flag):
    caplog.set_level(logging.INFO, logger="autoreload")
    run(shell, f"%autoreload 2 {flag}")
    name = _import_then_edit(shell, module)
    caplog.clear()
    capsys.readouterr()
    run(shell, "_far_x = 1")
    records = [r for r in caplog.records if r.name == "autoreload"]
    assert [(r.levelno, r.getMessage()) for r in records] == [(logging.INFO, reloading(name))]
    assert capsys.readouterr().out == ""  # logging only, no print
    assert _f(shell, name) == 2


def test_print_and_log_together(shell, module, caplog, capsys):
    caplog.set_level(logging.INFO, logger="autoreload")
    run(shell, "%autoreload 2 -p -l")
    name = _import_then_edit(shell, module)
    caplog.clear()
    capsys.readouterr()
    run(shell, "_far_x = 1")
    assert capsys.readouterr().out == reloading(name) + "\n"
    messages = [r.getMessage() for r in caplog.records if r.name == "autoreload"]
    assert messages == [reloading(name)]


# -- flags are reset by a later call that omits them -------------------------------------------
def test_print_flag_reset_by_later_call(shell, module, capsys):
    run(shell, "%autoreload 2 -p")
    run(shell, "%autoreload 2")
    name = _import_then_edit(shell, module)
    capsys.readouterr()
    run(shell, "_far_x = 1")
    assert capsys.readouterr().out == ""
    assert _f(shell, name) == 2


def test_log_flag_reset_by_later_call(shell, module, caplog):
    caplog.set_level(logging.INFO, logger="autoreload")
    run(shell, "%autoreload 2 --log")
    run(shell, "%autoreload 2")
    name = _import_then_edit(shell, module)
    caplog.clear()
    run(shell, "_far_x = 1")
    assert [r for r in caplog.records if r.name == "autoreload"] == []
    assert _f(shell, name) == 2


def test_hide_errors_reset_by_later_call(shell, module, capsys):
    run(shell, "%autoreload 2 --hide-errors")
    run(shell, "%autoreload 2")
    name, path = module
    run(shell, f"import {name}")
    write(path, "def f(:\n")
    capsys.readouterr()
    run(shell, "_far_x = 1")
    assert f"[autoreload of {name} failed:" in capsys.readouterr().err


# -- --hide-errors -----------------------------------------------------------------------------
def test_hide_errors_hides_failure_output(shell, module, capsys, caplog):
    run(shell, "%autoreload 2 --hide-errors")
    name, path = module
    run(shell, f"import {name}")
    write(path, "def f(:\n")
    capsys.readouterr()
    caplog.clear()
    run(shell, "_far_x = 1")
    out, err = capsys.readouterr()
    assert (out, err) == ("", "")
    assert not [r for r in caplog.records if r.name == "autoreload"]
    assert _f(shell, name) == 1  # the old module is still there


# -- argument errors ---------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["7", "4", "fast"])
def test_bad_mode_raises_value_error(shell, mode):
    with pytest.raises(ValueError) as excinfo:
        shell.run_line_magic("autoreload", mode)
    assert str(excinfo.value) == f'Unrecognized autoreload mode "{mode}".'
    assert magics_of(shell)._reloader.enabled is False


def test_bad_mode_in_a_cell_is_the_cells_error(shell):
    result = run(shell, "%autoreload 7", allow_error=True)
    assert isinstance(result.error_in_exec, ValueError)
    assert str(result.error_in_exec) == 'Unrecognized autoreload mode "7".'


def test_unknown_flag_raises_usage_error(shell):
    with pytest.raises(UsageError, match="unrecognized arguments: --bogus"):
        shell.run_line_magic("autoreload", "2 --bogus")
    assert magics_of(shell)._reloader.enabled is False


def test_unknown_flag_in_a_cell_shows_usage_error_not_traceback(shell, capsys):
    result = run(shell, "%autoreload --bogus", allow_error=True)
    assert isinstance(result.error_in_exec, UsageError)
    out, err = capsys.readouterr()
    assert "UsageError: unrecognized arguments: --bogus" in err
    assert "Traceback" not in out + err


@pytest.mark.fastautoreload_only
def test_print_says_what_ran_after_a_fallback(shell, module, capsys):
    """A plan that cannot be followed (the function to patch was replaced by the user)
    runs the whole module, and `-p` says so: the line is printed after the run."""
    name, path = module
    run(shell, f"%autoreload 2 -p\nimport {name}\n{name}.f = lambda: 'monkeypatched'")
    write(path, versioned(1).replace("return 1", "return 'one'"))
    capsys.readouterr()
    run(shell, "pass")
    assert capsys.readouterr().out == f"Reloading '{name}'.\n"
    run(shell, f"_far_result = {name}.f()")
    assert shell.user_ns["_far_result"] == "one"


@pytest.mark.fastautoreload_only
def test_print_line_starts_with_ipythons_words(shell, module, capsys):
    name, path = module
    run(shell, f"%autoreload 2 -p\nimport {name}")
    write(path, versioned(2))
    capsys.readouterr()
    run(shell, "pass")
    out = capsys.readouterr().out
    assert out.startswith(f"Reloading '{name}'. (")  # IPython's words, then what ran
    assert out.count("\n") == 1
