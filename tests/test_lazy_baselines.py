"""Loading reads almost nothing: the content of the modules already imported is read in the
background afterwards. No edit is lost to that laziness: an edit saved right after loading
(same size, the mtime moved by less than a second) reaches old references on the next cell,
also while the background reads have not reached that module."""

from __future__ import annotations

import os
import sys
import time

import pytest
from conftest import EXT, run, value, versioned, write

pytestmark = pytest.mark.fastautoreload_only

OLD_NS = 3_600 * 1_000_000_000  # an hour ago: files that are not just written


def _aged_modules(pkgdir, count: int, prefix: str) -> list[tuple[str, object]]:
    """`count` modules written an hour ago (so their baselines may be read lazily)."""
    made = []
    for i in range(count):
        name = f"far_{prefix}_{os.getpid()}_{i}"
        path = pkgdir / f"{name}.py"
        path.write_text(versioned(1))
        then = path.stat().st_mtime_ns - OLD_NS
        os.utime(path, ns=(then, then))
        made.append((name, path))
    return made


def _same_size_edit(path) -> None:
    """Rewrites `path` with a new version of the same size, its mtime moved by 1 µs."""
    before = path.stat().st_mtime_ns
    path.write_text(versioned(2))
    os.utime(path, ns=(before + 1_000, before + 1_000))


@pytest.fixture
def held(ext_module):
    """The background reads are held until the test ends."""
    ext_module._native._hold_baselines(True)
    yield
    ext_module._native._hold_baselines(False)


def _wait_for_background(reloader) -> None:
    """Until the background reads are done (a bounded wait for that event)."""
    for _ in range(6_000):
        if reloader.stats()["baseline_readers"] == 0:
            return
        time.sleep(0.005)
    raise AssertionError("the background reads did not finish within 30 s")


def _load(shell):
    run(shell, f"%load_ext {EXT}\n%autoreload 2")


def test_edit_right_after_load_before_the_background_read(bare_shell, pkgdir, held):
    (name, path), *_ = _aged_modules(pkgdir, 3, "early")
    run(bare_shell, f"import {name}\nfrom {name} import f")
    _load(bare_shell)
    stats = bare_shell._fastautoreload_magics._reloader.stats()
    assert stats["baselines_pending"] >= 3 and stats["baseline_readers"] >= 1
    _same_size_edit(path)
    assert value(bare_shell, f"(f(), {name}.VALUE, f is {name}.f)") == (2, 2, True)


def test_edit_right_after_load_once_the_background_read_is_done(bare_shell, pkgdir):
    (name, path), *_ = _aged_modules(pkgdir, 3, "late")
    run(bare_shell, f"import {name}\nfrom {name} import f")
    _load(bare_shell)
    reloader = bare_shell._fastautoreload_magics._reloader
    _wait_for_background(reloader)
    assert reloader.stats()["baselines_pending"] == 0
    _same_size_edit(path)
    assert value(bare_shell, f"(f(), {name}.VALUE, f is {name}.f)") == (2, 2, True)


def test_module_imported_after_load_is_tracked(shell, make_module, capsys):
    run(shell, "%autoreload 2 -p")
    name, path = make_module(versioned(1))
    run(shell, f"import {name}\nfrom {name} import f")
    write(path, versioned(2))
    capsys.readouterr()
    assert value(shell, "f()") == 2
    # Read at once (not in the background), so only what changed ran.
    assert capsys.readouterr().out == f"Reloading '{name}'. (1 statement, 1 function patched)\n"


def test_unloading_stops_the_background_reads(bare_shell, pkgdir, held):
    for name, _ in _aged_modules(pkgdir, 3, "unload"):
        run(bare_shell, f"import {name}")
    _load(bare_shell)
    reloader = bare_shell._fastautoreload_magics._reloader
    assert reloader.stats()["baseline_readers"] >= 1
    run(bare_shell, f"%unload_ext {EXT}")
    assert reloader.stats()["baseline_readers"] == 0
    assert EXT in sys.modules  # the package stays importable; only its work stopped


def _save_long_ago(path, text: str) -> None:
    """Writes `text` with an old mtime (as when a cell runs well after the save)."""
    path.write_text(text)
    then = path.stat().st_mtime_ns - OLD_NS // 2
    os.utime(path, ns=(then, then))


def test_fix_after_a_failed_reload_of_a_module_whose_baseline_is_pending(bare_shell, pkgdir, held):
    """A failed version must never become the baseline: the module still runs what it
    was loaded from, so the fix (read while other baselines are still pending) runs whole."""
    (name, path), (other, other_path), *_ = _aged_modules(pkgdir, 3, "failfix")
    run(bare_shell, f"import {name}, {other}")
    _load(bare_shell)
    _save_long_ago(path, "raise RuntimeError('broken')\n" + versioned(2))
    run(bare_shell, "pass")  # the reload of the module fails; it still runs v1
    assert value(bare_shell, f"{name}.f()") == 1
    _save_long_ago(other_path, versioned(2))  # this reload reads the pending baselines
    assert value(bare_shell, f"{other}.f()") == 2
    _save_long_ago(path, versioned(2))  # the fix
    assert value(bare_shell, f"({name}.f(), {name}.VALUE)") == (2, 2)
