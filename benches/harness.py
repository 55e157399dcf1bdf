"""Shared pieces of the benchmarks: generated packages, shells with either extension,
and a timer that reports medians.

Every benchmark runs fastautoreload and IPython's own autoreload on the same files, in
the same process, on the same interpreter, and prints the ratio.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from IPython.core.interactiveshell import InteractiveShell

EXTENSIONS = {
    "IPython autoreload": "autoreload",
    "fastautoreload": "fastautoreload",
}


class Package:
    """A generated package of plain modules on sys.path, under a unique name."""

    def __init__(self, prefix: str, count: int, body):
        self.root = Path(tempfile.mkdtemp(prefix=f"far-bench-{prefix}-"))
        self.name = f"{prefix}_{os.getpid()}"
        pkg = self.root / self.name
        pkg.mkdir()
        (pkg / "__init__.py").write_text("")
        self.modules = [f"{self.name}.m{i}" for i in range(count)]
        for i in range(count):
            (pkg / f"m{i}.py").write_text(body(i, 0))
        self._body = body
        self._versions = [0] * count
        sys.path.insert(0, str(self.root))

    def path(self, i: int) -> Path:
        return self.root / self.name / f"m{i}.py"

    def import_all(self) -> None:
        for name in self.modules:
            __import__(name)

    def edit(self, i: int) -> None:
        """Rewrites module i with its next version, moving the mtime forward."""
        self._versions[i] += 1
        path = self.path(i)
        before = path.stat().st_mtime
        path.write_text(self._body(i, self._versions[i]))
        os.utime(path, (before + 1, before + 1))

    def touch_forward(self, i: int) -> None:
        """Moves module i's mtime a second forward: IPython only sees newer mtimes."""
        path = self.path(i)
        mtime = path.stat().st_mtime + 1
        os.utime(path, (mtime, mtime))


def shell_with(extension: str) -> InteractiveShell:
    """A fresh shell with `extension` loaded and `%autoreload 2` on."""
    InteractiveShell.clear_instance()
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", extension)
    shell.run_line_magic("autoreload", "2")
    shell.run_cell("pass")
    settle(shell)
    return shell


def settle(shell: InteractiveShell) -> None:
    """Waits (bounded) until fastautoreload's background reads after loading are done:
    per-cell and reload figures are about a session in use, not one just loaded (that
    is `bench_startup.py`'s)."""
    magics = getattr(shell, "_fastautoreload_magics", None)
    for _ in range(60_000):
        if magics is None or magics._reloader.stats()["baseline_readers"] == 0:
            return
        time.sleep(0.001)


def hooks(shell: InteractiveShell):
    """The extension's two per-cell hooks, as IPython calls them around a cell."""
    pre = shell.events.callbacks["pre_run_cell"][-1]
    post = shell.events.callbacks["post_execute"][-1]
    return pre, post


def median_ms(samples_ns: list[int]) -> float:
    return statistics.median(samples_ns) / 1e6


def timed(fn) -> int:
    start = time.perf_counter_ns()
    fn()
    return time.perf_counter_ns() - start


def report(title: str, rows: list[tuple[str, float | None, float]]) -> None:
    """Prints `(workload, ipython_ms, fast_ms)` rows with the speed-up ratio; an IPython
    figure of None means the row is fastautoreload's alone."""
    print(f"\n{title}")
    print(f"{'workload':<44} {'IPython (ms)':>13} {'fastautoreload (ms)':>20} {'ratio':>8}")
    for workload, slow, fast in rows:
        if slow is None:
            print(f"{workload:<44} {'-':>13} {fast:>20.3f} {'-':>8}")
            continue
        ratio = slow / fast if fast else float("inf")
        print(f"{workload:<44} {slow:>13.3f} {fast:>20.3f} {ratio:>7.1f}x")
