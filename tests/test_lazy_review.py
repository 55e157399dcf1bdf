"""Review reproducers for lazy baselines (branch review2)."""

from __future__ import annotations

import time

from conftest import EXT, run, value, versioned, write
import pytest

from test_lazy_baselines import _aged_modules, held  # noqa: F401  (fixture)

pytestmark = pytest.mark.fastautoreload_only


def test_review_fix_after_failed_reload_of_pending_module(bare_shell, pkgdir, held):  # noqa: F811
    """m's baseline is pending; an edit that raises fails to reload (m still runs v1);
    another module's reload builds the import graph, which reads m's pending baseline now,
    from the failed version; the fix is then applied as a diff from the failed version, so
    the new f (added by the failed edit) never runs."""
    (name, path), (other, opath), *_ = _aged_modules(pkgdir, 3, "failfix")
    run(bare_shell, f"import {name}, {other}")
    run(bare_shell, f"%load_ext {EXT}\n%autoreload 2")
    assert bare_shell._fastautoreload_magics._reloader.stats()["baselines_pending"] >= 2
    write(path, "raise RuntimeError('broken')\n" + versioned(2))
    time.sleep(0.2)  # the user saves, then runs a cell (past the 50 ms racy window)
    run(bare_shell, "pass", allow_error=True)  # the whole reload of m fails
    assert value(bare_shell, f"{name}.f()") == 1
    write(opath, versioned(2))  # reloads fine; the graph is built (binders looked up)
    assert value(bare_shell, f"{other}.f()") == 2
    write(path, versioned(2))  # the fix: only the raise goes
    assert value(bare_shell, f"({name}.f(), {name}.VALUE)") == (2, 2)
