"""Shared fixtures and helpers for the end-to-end suite.

Every test drives a real ``InteractiveShell``: the extension is loaded with ``%load_ext``,
modules are real files in a temporary directory on ``sys.path``, and cells are run with
``shell.run_cell``.

``FAR_EXT`` selects the extension under test:

- ``FAR_EXT=fastautoreload`` (the default) loads fastautoreload;
- ``FAR_EXT=autoreload`` loads IPython's own ``IPython.extensions.autoreload``, to check the
  tests' logic against the reference implementation. Tests marked ``fastautoreload_only``
  (behaviours where fastautoreload is meant to be better than IPython) are skipped then,
  unless ``FAR_RUN_ALL=1`` (to see each of them fail against IPython).

The helpers (`write`, `touch`, `run`, `unique_name`, `magics_of`, ...) are plain functions;
test modules import them with ``from conftest import ...``.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import itertools
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

EXT = os.environ.get("FAR_EXT", "fastautoreload")
if EXT not in ("fastautoreload", "autoreload"):
    raise pytest.UsageError(f"FAR_EXT must be 'fastautoreload' or 'autoreload', not {EXT!r}")
IS_IPYTHON = EXT == "autoreload"
"""True when the suite runs against IPython's own autoreload."""

EXT_MODULE_NAME = "IPython.extensions.autoreload" if IS_IPYTHON else "fastautoreload"
"""The Python module that holds the extension's public API."""

_TWO_SECONDS_NS = 2_000_000_000
_names = itertools.count()


# -- pytest configuration ----------------------------------------------------------------------
def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "fastautoreload_only: a behaviour where fastautoreload is meant to be better than "
        "IPython's autoreload; skipped when FAR_EXT=autoreload",
    )


def pytest_report_header(config):
    return f"extension under test: {EXT} ({EXT_MODULE_NAME})"


def pytest_collection_modifyitems(config, items):
    # FAR_RUN_ALL=1 runs the fastautoreload_only tests against IPython too, to show that
    # each of them does catch IPython's behaviour (they are expected to fail there).
    if not IS_IPYTHON or os.environ.get("FAR_RUN_ALL") == "1":
        return
    skip = pytest.mark.skip(reason="fastautoreload_only: IPython's autoreload differs here")
    for item in items:
        if item.get_closest_marker("fastautoreload_only"):
            item.add_marker(skip)


# -- helpers -----------------------------------------------------------------------------------
def unique_name(prefix: str = "m") -> str:
    """A module name no other test (or earlier run in this process) uses."""
    return f"far_{prefix}_{os.getpid()}_{next(_names)}"


def _drop_bytecode(path: Path) -> None:
    shutil.rmtree(path.parent / "__pycache__", ignore_errors=True)


def write(path, text: str, *, mtime_delta: float = 2.0) -> Path:
    """Write ``text`` (dedented) to ``path`` and make the change visible to any detector.

    When the file existed before, its mtime is set to the previous mtime plus
    ``mtime_delta`` seconds (or later, if the clock already moved further), so that
    coarse-mtime filesystems and IPython's "strictly newer mtime" rule both see the edit
    without sleeping. A negative ``mtime_delta`` moves the mtime backwards instead, for
    tests of content-based detection. Stale ``__pycache__`` next to the file is removed and
    the import system's directory caches are invalidated.
    """
    path = Path(path)
    before = path.stat().st_mtime_ns if path.exists() else None
    path.write_text(textwrap.dedent(text))
    if before is not None:
        wanted = before + int(mtime_delta * 1_000_000_000)
        if mtime_delta > 0:
            wanted = max(wanted, path.stat().st_mtime_ns)
        os.utime(path, ns=(wanted, wanted))
    _drop_bytecode(path)
    importlib.invalidate_caches()
    return path


def touch(path, *, mtime_delta: float = 2.0) -> Path:
    """Rewrite the identical bytes of ``path`` and move its mtime forward."""
    path = Path(path)
    data = path.read_bytes()
    before = path.stat().st_mtime_ns
    path.write_bytes(data)
    wanted = max(before + int(mtime_delta * 1_000_000_000), path.stat().st_mtime_ns)
    os.utime(path, ns=(wanted, wanted))
    _drop_bytecode(path)
    return path


def run(shell, code: str, *, allow_error: bool = False):
    """Run ``code`` as one cell; raise the cell's exception unless ``allow_error``."""
    result = shell.run_cell(textwrap.dedent(code), store_history=True)
    if not allow_error:
        if result.error_before_exec is not None:
            raise result.error_before_exec
        if result.error_in_exec is not None:
            raise result.error_in_exec
    return result


VERSIONED_EDIT = "1 statement, 1 function patched"
"""What fastautoreload runs for an edit from ``versioned(a)`` to ``versioned(b)``."""


def reloading(name: str, detail: str | None = VERSIONED_EDIT) -> str:
    """The line ``-p`` prints for a reload of ``name``: IPython's exact words, after which
    fastautoreload adds what it ran (``detail``) when it did not run the whole module."""
    if IS_IPYTHON or detail is None:
        return f"Reloading '{name}'."
    return f"Reloading '{name}'. ({detail})"


def without_plan_details(text: str) -> str:
    """``-p`` output with fastautoreload's " (2 statements, ...)" details removed."""
    return re.sub(r"\. \((?:\d+ (?:statement|function|name)s?[^)]*|nothing to run)\)", ".", text)


def fresh_repr(module_dir, module_name, expr):
    """``repr(expr)`` evaluated in the namespace of ``module_name`` freshly imported.

    Runs a new interpreter with ``module_dir`` on ``PYTHONPATH`` (and no bytecode written),
    so the answer is what the module's current source gives without any reload.
    """
    code = textwrap.dedent(
        f"""\
        import importlib
        module = importlib.import_module({module_name!r})
        print(repr(eval({expr!r}, vars(module))))
        """
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = str(module_dir)
    done = subprocess.run(
        [sys.executable, "-B", "-c", code],
        cwd=str(module_dir),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def versioned(v) -> str:
    """A small module source whose function and constant both report version ``v``."""
    return f"VALUE = {v!r}\n\n\ndef f():\n    return {v!r}\n"


def magics_of(shell):
    """The ``AutoreloadMagics`` instance whose ``%autoreload`` the shell runs now."""
    return shell.magics_manager.magics["line"]["autoreload"].__self__


def ext_callbacks(shell, event: str) -> list:
    """Callbacks registered for ``event`` whose owner comes from the extension under test."""
    module = EXT_MODULE_NAME
    owned = []
    for callback in shell.events.callbacks.get(event, []):
        owner = getattr(callback, "__self__", None)
        owner_module = type(owner).__module__ if owner is not None else ""
        if owner_module == module or owner_module.startswith(module + "."):
            owned.append(callback)
    return owned


@contextlib.contextmanager
def no_log_handlers():
    """Run without any logging handler, as in a plain IPython session.

    pytest's logging plugin puts handlers on the root logger; without them a logger that
    has no handler of its own falls back to ``logging.lastResort`` (stderr), which is what
    users of a terminal or a notebook see.
    """
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers.clear()
    try:
        yield
    finally:
        root.handlers[:] = saved


# -- fixtures ----------------------------------------------------------------------------------
@pytest.fixture(scope="session", autouse=True)
def _isolated_ipython_dir():
    """Keep IPython's profile and history out of the user's home directory."""
    saved = os.environ.get("IPYTHONDIR")
    with tempfile.TemporaryDirectory(prefix="far-ipythondir-") as tmp:
        os.environ["IPYTHONDIR"] = tmp
        try:
            yield tmp
        finally:
            if saved is None:
                os.environ.pop("IPYTHONDIR", None)
            else:
                os.environ["IPYTHONDIR"] = saved


@pytest.fixture(autouse=True)
def _no_bytecode(monkeypatch):
    """Never write ``.pyc`` files, so no test can run stale bytecode."""
    monkeypatch.setattr(sys, "dont_write_bytecode", True)


@pytest.fixture
def ext_module():
    """The module with the public API of the extension under test."""
    return importlib.import_module(EXT_MODULE_NAME)


@pytest.fixture
def bare_shell():
    """A fresh ``InteractiveShell`` with no extension loaded, discarded after the test."""
    saved_main = sys.modules.get("__main__")
    InteractiveShell.clear_instance()
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    shell = InteractiveShell.instance(config=config)
    try:
        yield shell
    finally:
        for name in (EXT, "autoreload", "fastautoreload"):
            with contextlib.suppress(Exception):
                shell.extension_manager.unload_extension(name)
        with contextlib.suppress(Exception):
            shell.history_manager.end_session()
        atexit.unregister(shell.atexit_operations)
        InteractiveShell.clear_instance()
        if saved_main is not None:
            sys.modules["__main__"] = saved_main


@pytest.fixture
def shell(bare_shell):
    """A fresh shell with the extension under test loaded by ``%load_ext``."""
    result = bare_shell.run_line_magic("load_ext", EXT)
    assert result is None, f"%load_ext {EXT} answered {result!r}"
    return bare_shell


@pytest.fixture
def pkgdir(tmp_path):
    """A directory on ``sys.path``; modules imported from it are forgotten afterwards."""
    root = tmp_path / "pkgs"
    root.mkdir()
    sys.path.insert(0, str(root))
    importlib.invalidate_caches()
    try:
        yield root
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(str(root))
        sys.path_importer_cache.pop(str(root), None)
        prefix = str(root)
        for name, module in list(sys.modules.items()):
            file = getattr(module, "__file__", None) or ""
            paths = list(getattr(module, "__path__", None) or [])
            if file.startswith(prefix) or any(str(p).startswith(prefix) for p in paths):
                del sys.modules[name]


@pytest.fixture
def make_module(pkgdir):
    """``make_module(source, prefix="m") -> (name, path)``: a new uniquely named module."""

    def make(source: str = "", prefix: str = "m"):
        name = unique_name(prefix)
        path = write(pkgdir / f"{name}.py", source)
        return name, path

    return make


@pytest.fixture
def make_package(pkgdir):
    """``make_package({"__init__.py": src, "sub.py": src}) -> (name, dir)``."""

    def make(files: dict[str, str], prefix: str = "pkg"):
        name = unique_name(prefix)
        root = pkgdir / name
        root.mkdir()
        for rel, source in files.items():
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            write(target, source)
        return name, root

    return make


@pytest.fixture
def counter_store(make_module):
    """A module with a list ``runs`` that other test modules append to when executed.

    Its source never changes, so it is never reloaded: the list survives reloads of the
    modules that append to it and counts how many times their top level ran.
    """
    name, _ = make_module("runs = []\n", prefix="store")
    return name


@pytest.fixture
def auto(shell):
    """The shell with ``%autoreload 2`` on."""
    run(shell, "%autoreload 2")
    return shell


@pytest.fixture
def complete(shell):
    """The shell with ``%autoreload 3`` on."""
    run(shell, "%autoreload 3")
    return shell


def value(shell, expr):
    """Evaluates ``expr`` in a real cell (so the pre-cell reload runs) and returns it."""
    run(shell, f"_far_result = {expr}")
    return shell.user_ns["_far_result"]
