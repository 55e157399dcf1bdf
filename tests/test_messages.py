"""What users read: help, usage errors, notices, failure reports, --stats and --deps,
the watches a session holds, and what a killed session leaves behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest
from conftest import EXT, run, value, versioned, write
from IPython.core.error import UsageError

pytestmark = pytest.mark.fastautoreload_only  # fastautoreload's own words


def _lines(captured) -> list[str]:
    return [line for line in (captured.out + captured.err).splitlines() if line.strip()]


# -- 4. %autoreload? ---------------------------------------------------------------------------
def test_help_shows_the_mode_text_and_no_argparse_internals(shell, capsys):
    run(shell, "%autoreload?")
    out = capsys.readouterr().out
    assert "'%autoreload 2-') is the same as --full" in out
    assert "option_strings" not in out and "argparse" not in out
    assert "--version" in out


def test_a_one_word_line_is_read_as_the_parser_reads_it(shell):
    from fastautoreload.magics import _mode_only

    magic = shell.find_line_magic("autoreload")
    for line in ["", "2", "  now ", "off", "2-", "3", "complete", "7"]:
        assert vars(_mode_only(line)) == vars(magic.parse(line)), line
    for line in ["2 json", "-p", "--full 2", "'2'", "now pkg", "2\xa0", "2\x0b"]:
        assert _mode_only(line) is None, line


def test_the_help_is_what_magic_arguments_formats(shell):
    from IPython.core import magic_arguments

    magic = shell.find_line_magic("autoreload")
    declared = type(magic.__self__).__dict__["autoreload"]

    def autoreload():
        pass

    autoreload.__doc__ = declared.func.__doc__
    for args, kwargs in reversed(declared.arguments):
        autoreload = magic_arguments.argument(*args, **kwargs)(autoreload)
    autoreload = magic_arguments.magic_arguments()(autoreload)
    assert magic.__doc__ == autoreload.__doc__
    assert "usage" not in declared.func.__doc__ and "--hide-errors" in magic.__doc__


def test_loading_and_a_mode_make_no_parser_and_help_makes_it():
    code = textwrap.dedent(
        """
        from IPython.core.interactiveshell import InteractiveShell
        shell = InteractiveShell.instance()
        shell.run_line_magic("load_ext", "fastautoreload")
        shell.run_line_magic("autoreload", "2")
        declared = type(shell._fastautoreload_magics).__dict__["autoreload"]
        print(declared._parser is None)
        shell.run_line_magic("autoreload", "--print 2")
        print(declared._parser is None)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False"], out.stderr


def test_version_flag_prints_the_package_version(shell, capsys):
    import fastautoreload

    run(shell, "%autoreload --version")
    assert capsys.readouterr().out.strip() == f"fastautoreload {fastautoreload.__version__}"
    assert fastautoreload.__version__[0].isdigit()


# -- 5. usage errors are one line ------------------------------------------------------------
def test_bad_mode_is_one_line_and_both_value_and_usage_error(shell, capsys):
    result = run(shell, "%autoreload 7", allow_error=True)
    assert isinstance(result.error_in_exec, ValueError)
    assert isinstance(result.error_in_exec, UsageError)
    assert _lines(capsys.readouterr()) == ['UsageError: Unrecognized autoreload mode "7".']


def test_aimport_of_a_missing_module_is_one_line_and_an_import_error(shell, capsys):
    result = run(shell, "%aimport far_no_such_module", allow_error=True)
    assert isinstance(result.error_in_exec, ImportError)
    assert isinstance(result.error_in_exec, UsageError)
    lines = _lines(capsys.readouterr())
    assert len(lines) == 1, lines
    assert lines[0].startswith("UsageError: %aimport far_no_such_module: ModuleNotFoundError")


def test_modules_without_now_is_one_line(shell, capsys):
    run(shell, "%autoreload 2 json", allow_error=True)
    lines = _lines(capsys.readouterr())
    assert len(lines) == 1 and lines[0].startswith("UsageError: module names go with 'now'")


# -- 6. IPython's autoreload beside it, in both orders -----------------------------------------
def test_ipython_autoreload_loaded_after_is_announced_at_once(bare_shell, capsys):
    run(bare_shell, f"%load_ext {EXT}")
    run(bare_shell, "%autoreload 2")
    capsys.readouterr()
    run(bare_shell, "%load_ext autoreload")
    err = capsys.readouterr().err
    assert "IPython's autoreload was loaded after it" in err
    assert "%reload_ext fastautoreload" in err
    run(bare_shell, "pass")
    assert "stands down" not in capsys.readouterr().err  # said once


@pytest.mark.parametrize("was_on", [True, False])
def test_fastautoreload_loaded_after_ipython_autoreload_is_announced(bare_shell, capsys, was_on):
    run(bare_shell, "%load_ext autoreload")
    if was_on:
        run(bare_shell, "%autoreload 2")
    capsys.readouterr()
    run(bare_shell, f"%load_ext {EXT}")
    err = capsys.readouterr().err
    assert "%autoreload is now fastautoreload's" in err
    assert ("it is now off" in err) is was_on


# -- 7. one shape for every failure ----------------------------------------------------------
@pytest.mark.parametrize(
    "broken, line",
    [("VALUE = 2\n\ndef f(:\n    return 2\n", 3), ("VALUE = 2\n\n\nraise RuntimeError('x')\n", 4)],
    ids=["syntax", "runtime"],
)
def test_failures_start_with_the_file_and_line(auto, make_module, capsys, broken, line):
    name, path = make_module(versioned(1))
    run(auto, f"import {name}")
    write(path, broken)
    capsys.readouterr()
    run(auto, "pass")
    err = capsys.readouterr().err
    assert err.splitlines()[0] == (
        f"[autoreload of {name} failed: error in {path}, line {line}; the module is unchanged."
    )
    assert f'File "{path}", line {line}' in err
    assert err.rstrip().endswith("]")


# -- 8. --stats, --deps, now pkg -----------------------------------------------------------------
def test_stats_use_ms_name_reloads_and_count_library_modules(auto, make_module, capsys):
    name, path = make_module(versioned(1))
    run(auto, f"import {name}")
    write(path, versioned(2))
    run(auto, "pass")
    capsys.readouterr()
    run(auto, "%autoreload --stats")
    out = capsys.readouterr().out
    assert " us" not in out
    assert "last check:" in out and " ms" in out.split("last check:")[1].splitlines()[0]
    assert f"{name} " in out.split("reloads done:")[1]
    assert "from the standard library and site-packages" in out
    assert "of yours" in out


def test_deps_of_a_module_nobody_binds_from_says_only_it(auto, make_module, capsys):
    name, _ = make_module(versioned(1))
    run(auto, f"import {name}")
    capsys.readouterr()
    run(auto, f"%autoreload --deps {name}")
    out = capsys.readouterr().out
    assert out.startswith(f"A change to {name!r} reloads {name!r} only: no module binds")
    assert "(no module binds" not in out


def test_now_with_a_module_reports_without_print_flag(auto, make_module, capsys):
    name, _ = make_module(versioned(1))
    run(auto, f"import {name}")
    capsys.readouterr()
    run(auto, f"%autoreload now {name}")
    assert f"Reloading '{name}'." in capsys.readouterr().out
    # The request is answered; the flags it reset stay reset for later cells.
    assert value(auto, f"{name}.f()") == 1


# -- 9. watches and temp files ---------------------------------------------------------------
def _watched_inodes() -> set[int]:
    """Inodes this process has inotify watches on (Linux: /proc/self/fdinfo)."""
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            with open(f"/proc/self/fdinfo/{fd}") as info:
                for line in info:
                    if line.startswith("inotify wd:"):
                        found.add(int(line.split("ino:")[1].split()[0], 16))
        except OSError:
            continue
    return found


linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify")


@linux_only
def test_mode_0_releases_the_watches_and_mode_2_catches_up(auto, make_module, pkgdir):
    name, path = make_module(versioned(1))
    run(auto, f"import {name}")
    directory = pkgdir.stat().st_ino
    assert directory in _watched_inodes()
    run(auto, "%autoreload 0")
    assert directory not in _watched_inodes()
    write(path, versioned(2))  # saved while nothing watches it
    run(auto, "%autoreload 2")
    assert directory in _watched_inodes()
    assert value(auto, f"{name}.f()") == 2


@linux_only
def test_unload_releases_the_watches(auto, make_module, pkgdir):
    name, _ = make_module(versioned(1))
    run(auto, f"import {name}")
    assert pkgdir.stat().st_ino in _watched_inodes()
    run(auto, f"%unload_ext {EXT}")
    assert pkgdir.stat().st_ino not in _watched_inodes()


SESSION = """\
import sys
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
shell.run_line_magic("load_ext", "fastautoreload")
shell.run_cell("%autoreload 2")
shell.run_cell("import json")
shell.run_cell("pass")
print("ready", flush=True)
sys.stdin.read()
"""


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP")
def test_a_session_killed_by_sighup_leaves_nothing_in_the_temp_dir(tmp_path):
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = dict(os.environ, TMPDIR=str(temp), IPYTHONDIR=str(tmp_path / "ipython"))
    session = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(SESSION)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        cwd=str(tmp_path),
    )
    try:
        assert session.stdout.readline().strip() == b"ready"
        session.send_signal(signal.SIGHUP)
        assert session.wait(timeout=60) == -signal.SIGHUP
    finally:
        if session.poll() is None:
            session.kill()
            session.wait()
    assert sorted(p.name for p in temp.iterdir()) == []


# -- 10. a replaced class: one message, and a true one -----------------------------------------
SLOTS = """\
    class Slotted:
        __slots__ = {slots}

        def __init__(self):
            self.a = 1
    """


def test_replaced_class_with_live_instances_says_they_keep_the_old_class(auto, make_module, capfd):
    name, path = make_module(textwrap.dedent(SLOTS.format(slots="('a',)")))
    run(auto, f"import {name}\nobj = {name}.Slotted()")
    write(path, SLOTS.format(slots="('a', 'b')"))
    capfd.readouterr()
    run(auto, "pass")
    lines = [line for line in capfd.readouterr().err.splitlines() if "Slotted" in line]
    assert len(lines) == 1, lines
    assert "existing instances keep the old class" in lines[0]
    assert "moved" not in lines[0]
    assert value(auto, f"type(obj) is not {name}.Slotted") is True


def test_replaced_class_with_no_instance_says_none_was_alive(auto, make_module, capfd):
    name, path = make_module(textwrap.dedent(SLOTS.format(slots="('a',)")))
    run(auto, f"import {name}")
    write(path, SLOTS.format(slots="('a', 'b')"))
    capfd.readouterr()
    run(auto, "pass")
    lines = [line for line in capfd.readouterr().err.splitlines() if "Slotted" in line]
    assert len(lines) == 1 and lines[0].endswith("(no instance of it was alive)]"), lines


METACLASS = """\
    class First(type):
        pass


    class Second(type):
        pass


    class Classy(metaclass={meta}):
        def get(self):
            return {meta!r}
    """


def test_replaced_class_whose_instances_moved_counts_them(auto, make_module, capfd):
    name, path = make_module(textwrap.dedent(METACLASS.format(meta="First")))
    run(auto, f"import {name}\nobj = {name}.Classy()")
    write(path, METACLASS.format(meta="Second"))
    capfd.readouterr()
    run(auto, "pass")
    lines = [line for line in capfd.readouterr().err.splitlines() if "Classy" in line]
    assert len(lines) == 1 and lines[0].endswith("1 existing instance moved to the new class]")
    assert value(auto, f"type(obj) is {name}.Classy") is True
