"""How changes are found: file events drained at the cell boundary, and polling.

These tests write files the way editors and tools do (plain writes without touching the
mtime, atomic renames, delete and re-create) and check that the very next cell sees the
change. None of them sleeps: a change saved before a cell starts must be seen by it.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import subprocess
import sys
import sysconfig
import uuid
from pathlib import Path

import pytest
from conftest import run, value, versioned, without_plan_details

pytestmark = pytest.mark.fastautoreload_only  # IPython polls mtimes, with none of this


def plain_write(path, text: str) -> None:
    """What an editor does: new bytes, mtime left to the file system."""
    path.write_text(text)


def test_same_size_plain_writes_between_and_across_cells(auto, make_module):
    name, path = make_module(versioned(1))
    run(auto, f"import {name}")
    for version in (2, 3, 4):
        plain_write(path, versioned(version))
        assert value(auto, f"{name}.f()") == version


def test_atomic_save_by_rename(auto, make_module):
    name, path = make_module(versioned(1))
    run(auto, f"import {name}")
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(versioned(2))
    os.replace(temp, path)
    assert value(auto, f"{name}.f()") == 2


def test_file_edited_twice_between_two_cells_reloads_once(auto, make_module, capsys):
    name, path = make_module(versioned(1))
    run(auto, f"import {name}")
    run(auto, "%autoreload 2 -p")
    capsys.readouterr()
    plain_write(path, versioned(2))
    plain_write(path, versioned(3))
    assert value(auto, f"{name}.f()") == 3
    assert without_plan_details(capsys.readouterr().out).count(f"Reloading '{name}'.") == 1


def test_edit_in_a_directory_created_after_the_watcher_started(auto, tmp_path):
    late = tmp_path / "created-later"
    late.mkdir()
    sys.path.insert(0, str(late))
    name = f"far_late_{os.getpid()}"
    try:
        (late / f"{name}.py").write_text(versioned(1))
        importlib.invalidate_caches()
        run(auto, f"import {name}")
        plain_write(late / f"{name}.py", versioned(2))
        assert value(auto, f"{name}.f()") == 2
    finally:
        sys.path.remove(str(late))
        sys.modules.pop(name, None)


def test_deleted_then_recreated_file(auto, make_module, capfd):
    name, path = make_module(versioned(1))
    run(auto, f"import {name}")
    path.unlink()
    assert value(auto, f"{name}.f()") == 1
    plain_write(path, versioned(2))
    assert value(auto, f"{name}.f()") == 2
    assert "failed" not in capfd.readouterr().err


def test_stats_report_file_events(auto, make_module, capsys):
    name, _ = make_module(versioned(1))
    run(auto, f"import {name}")
    capsys.readouterr()
    run(auto, "%autoreload --stats")
    out = capsys.readouterr().out
    assert "detection:            file events" in out
    watched = int(out.split("directories watched:")[1].split(",")[0])
    assert watched >= 1


def test_environment_variable_forces_polling(bare_shell, make_module, monkeypatch, capsys):
    monkeypatch.setenv("FASTAUTORELOAD_POLL", "1")
    run(bare_shell, "%load_ext fastautoreload")
    run(bare_shell, "%autoreload 2 -p")
    name, path = make_module(versioned(1))
    run(bare_shell, f"import {name}")
    out = capsys.readouterr().out
    assert out.count("changes are detected by polling") == 1
    assert "FASTAUTORELOAD_POLL" in out
    plain_write(path, versioned(2))
    assert value(bare_shell, f"{name}.f()") == 2
    assert "polling" not in without_plan_details(capsys.readouterr().out).replace(
        f"Reloading '{name}'.", ""
    )
    run(bare_shell, "%autoreload --stats")
    assert "detection:            polling" in capsys.readouterr().out


def test_polling_sees_same_size_edits_too(bare_shell, make_module, monkeypatch):
    monkeypatch.setenv("FASTAUTORELOAD_POLL", "1")
    run(bare_shell, "%load_ext fastautoreload")
    run(bare_shell, "%autoreload 2")
    name, path = make_module(versioned(1))
    run(bare_shell, f"import {name}")
    for version in (2, 3):
        plain_write(path, versioned(version))
        assert value(bare_shell, f"{name}.f()") == version


def test_detection_notes_wait_until_the_user_asks(bare_shell, make_module, monkeypatch, capsys):
    monkeypatch.setenv("FASTAUTORELOAD_POLL", "1")
    run(bare_shell, "%load_ext fastautoreload")
    run(bare_shell, "%autoreload 2")
    run(bare_shell, "pass")
    assert "polling" not in capsys.readouterr().out
    run(bare_shell, "%autoreload 2 -l -p")
    run(bare_shell, "pass")
    assert capsys.readouterr().out.count("changes are detected by polling") == 1


def test_installed_module_edited_in_place_is_reloaded(auto):
    """Installed code is watched too (at no per-cell cost): editing it in place works."""
    purelib = Path(sysconfig.get_paths()["purelib"])
    if not os.access(purelib, os.W_OK):
        pytest.skip(f"site-packages ({purelib}) is not writable: cannot fake installed code")
    name = f"far_installed_{uuid.uuid4().hex}"
    path = purelib / f"{name}.py"
    try:
        path.write_text(versioned(1))
        importlib.invalidate_caches()
        run(auto, f"import {name}")
        plain_write(path, versioned(2))
        assert value(auto, f"{name}.f()") == 2
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        sys.modules.pop(name, None)
        importlib.invalidate_caches()


UNWATCHABLE_TEMP = """\
import sys
from IPython.core.interactiveshell import InteractiveShell
sys.path.insert(0, sys.argv[1])
shell = InteractiveShell.instance()
shell.run_line_magic("load_ext", "fastautoreload")
shell.run_cell("%autoreload 2 -p")
shell.run_cell("import {name}")
with open(sys.argv[2], "w") as f:
    f.write({edited!r})
shell.run_cell("print('value', {name}.f())")
shell.run_cell("%autoreload --stats")
"""


def test_a_temp_directory_that_cannot_be_watched(tmp_path):
    """On Linux a drain reads the kernel's event queue itself: the temp directory plays
    no part, and one that does not exist changes nothing. Elsewhere the drain's sentinels
    go there: when it cannot be watched, the first check says why and polls. Either way
    the edit applies."""
    name = f"unwatchable_{uuid.uuid4().hex[:8]}"
    path = tmp_path / f"{name}.py"
    path.write_text(versioned(1))
    script = UNWATCHABLE_TEMP.format(name=name, edited=versioned(2))
    env = dict(os.environ, TMPDIR=str(tmp_path / "missing"), IPYTHONDIR=str(tmp_path / "ipy"))
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path), str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "value 2" in out, out
    if sys.platform == "linux":
        assert "polling" not in out, out
        assert "detection:            file events" in out, out
    else:
        assert out.count("changes are detected by polling") == 1, out
        missing = tmp_path / "missing"
        assert f"the file watcher could not start (cannot watch {missing}" in out, out
        assert "detection:            polling" in out, out
    assert "Traceback" not in done.stderr, done.stderr
