"""Other threads change ``sys.modules`` while cells run and modules reload.

A background thread adds and removes dummy modules (some of them lazy: reading their
``__file__`` runs Python code that releases the GIL) while the main thread edits a real
module between cells. Every edit must apply, every cell must succeed, and nothing may be
reported on stderr (no exception, no ``PanicException``, no internal error).
"""

from __future__ import annotations

import sys
import threading
import time
import types

import pytest
from conftest import run, value, versioned, write

CHURN_ITERATIONS = 1_000_000  # the bound; the tests stop the churn after their cells
EDITS = 25
JOIN_TIMEOUT = 60.0


class LazyModule(types.ModuleType):
    """A module whose missing attributes (``__file__`` first) are looked up by Python code
    that releases the GIL, so other threads run in the middle of a ``sys.modules`` walk."""

    def __getattr__(self, name):
        time.sleep(0)  # not timing: a GIL release point
        raise AttributeError(name)


class Churn(threading.Thread):
    """Adds and removes entries of ``sys.modules`` in a bounded loop."""

    def __init__(self, prefix: str, iterations: int = CHURN_ITERATIONS, lazy: bool = True):
        super().__init__(daemon=True, name="far-churn")
        self.prefix = prefix
        self.iterations = iterations
        self.lazy = lazy
        self.errors: list[BaseException] = []
        self.done = 0
        self.stop = threading.Event()

    def run(self):
        try:
            for i in range(self.iterations):
                if self.stop.is_set():
                    break
                name = f"{self.prefix}_{i % 64}"
                kind = LazyModule if self.lazy and i % 3 == 0 else types.ModuleType
                sys.modules[name] = kind(name)
                if i % 2:
                    sys.modules.pop(f"{self.prefix}_{(i * 7) % 64}", None)
                self.done = i + 1
        except BaseException as error:  # reported by the test
            self.errors.append(error)
        finally:
            for name in [n for n in list(sys.modules) if n.startswith(self.prefix + "_")]:
                sys.modules.pop(name, None)


@pytest.fixture
def fast_switching():
    """Switch threads as often as CPython allows, so the churn interleaves with the checks."""
    saved = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(saved)


def assert_clean(err: str) -> None:
    for bad in ("PanicException", "internal error", "Traceback", "Error", "panicked"):
        assert bad not in err, err


def _edit_while_churning(auto, name, path, churn, capsys) -> list[tuple[int, int]]:
    """Edits ``path`` between ``EDITS`` cells while ``churn`` runs; returns, per cell, how
    far the churn was when the cell started and when it ended."""
    progress = []
    churn.start()
    try:
        for version in range(2, EDITS + 2):
            write(path, versioned(version))
            before = churn.done
            assert value(auto, "f()") == version
            assert value(auto, f"{name}.VALUE") == version
            progress.append((before, churn.done))
            assert_clean(capsys.readouterr().err)
    finally:
        churn.stop.set()
        churn.join(JOIN_TIMEOUT)
    assert not churn.is_alive(), "the churn thread did not finish"
    assert churn.errors == []
    return progress


@pytest.mark.fastautoreload_only  # IPython's post_execute_hook: KeyError when sys.modules changes
@pytest.mark.parametrize("lazy", [False, True], ids=["plain", "lazy"])
def test_edits_apply_while_another_thread_churns_sys_modules(
    auto, make_module, capsys, fast_switching, lazy
):
    """Each edit applies, cells succeed and stderr stays empty while a thread churns; the
    churn demonstrably ran during the cells."""
    name, path = make_module(versioned(1))
    run(auto, f"import {name}\nfrom {name} import f")
    churn = Churn(f"_far_churn_{name}", lazy=lazy)
    progress = _edit_while_churning(auto, name, path, churn, capsys)
    overlapped = [(a, b) for a, b in progress if a < b < churn.iterations]
    assert overlapped, f"no cell ran while the churn was running: {progress}"
    write(path, versioned("after"))
    assert value(auto, "f()") == "after"
    assert_clean(capsys.readouterr().err)


@pytest.mark.fastautoreload_only  # IPython's post_execute_hook: KeyError when sys.modules changes
def test_lazy_module_reading_file_mid_sync_with_imports(auto, make_module, capsys):
    """A cell that imports a module and adds lazy modules whose ``__file__`` lookup itself
    changes ``sys.modules`` (from the same thread, during the walk)."""
    name, path = make_module(versioned(1))
    prefix = f"_far_meddler_{name}"

    class Meddler(types.ModuleType):
        def __getattr__(self, attr):
            # Adds and removes entries while the reloader reads this module's __file__.
            sys.modules[f"{prefix}_added_{attr}"] = types.ModuleType("x")
            sys.modules.pop(f"{prefix}_victim", None)
            raise AttributeError(attr)

    auto.user_ns["_far_Meddler"] = Meddler
    try:
        run(
            auto,
            f"""
            import sys, types, {name}
            from {name} import f
            sys.modules["{prefix}_victim"] = types.ModuleType("victim")
            for _i in range(20):
                sys.modules[f"{prefix}_{{_i}}"] = _far_Meddler(f"{prefix}_{{_i}}")
            """,
        )
        write(path, versioned(2))
        assert value(auto, "f()") == 2
        assert_clean(capsys.readouterr().err)
    finally:
        for key in [k for k in list(sys.modules) if k.startswith(prefix)]:
            sys.modules.pop(key, None)


def test_patch_dict_of_sys_modules_inside_a_cell(auto, make_module, capsys):
    """`mock.patch.dict(sys.modules, ...)` in a cell (it clears and refills sys.modules on
    exit): the cell succeeds and later edits still apply."""
    name, path = make_module(versioned(1))
    run(auto, f"import {name}\nfrom {name} import f")
    fake = f"_far_fake_{name}"
    run(
        auto,
        f"""
        import sys, types
        from unittest import mock
        with mock.patch.dict(sys.modules, {{"{fake}": types.ModuleType("{fake}")}}):
            import {fake}
            _far_seen = {fake}.__name__
        """,
    )
    assert auto.user_ns["_far_seen"] == fake
    assert fake not in sys.modules
    write(path, versioned(2))
    assert value(auto, "f()") == 2
    run(
        auto,
        """
        with mock.patch.dict(sys.modules, clear=True):
            _far_empty = len(sys.modules)
        """,
    )
    assert auto.user_ns["_far_empty"] == 0
    write(path, versioned(3))
    assert value(auto, "f()") == 3
    assert value(auto, f"{name}.VALUE") == 3
    assert_clean(capsys.readouterr().err)


def test_patch_dict_replacing_tracked_module_across_cells(auto, make_module, capsys):
    """A patcher started in one cell replaces the tracked module by a fake; an edit made
    meanwhile leaves the fake alone, and applies once the patcher is stopped."""
    name, path = make_module(versioned(1))
    run(auto, f"import {name}\nfrom {name} import f")
    real = sys.modules[name]
    run(
        auto,
        f"""
        import sys, types
        from unittest import mock
        _far_fake = types.ModuleType("{name}")
        _far_fake.VALUE = "fake"
        _far_patcher = mock.patch.dict(sys.modules, {{"{name}": _far_fake}})
        _far_patcher.start()
        """,
    )
    try:
        write(path, versioned(2))
        run(auto, "pass")
        assert sys.modules[name] is auto.user_ns["_far_fake"]
        assert auto.user_ns["_far_fake"].VALUE == "fake"
    finally:
        run(auto, "_far_patcher.stop()")
    assert sys.modules[name] is real
    assert value(auto, "f()") == 2
    assert value(auto, f"{name}.VALUE") == 2
    assert_clean(capsys.readouterr().err)


@pytest.mark.fastautoreload_only  # IPython's post_execute_hook: KeyError when sys.modules changes
def test_patch_dict_with_a_thread_churning(auto, make_module, capsys, fast_switching):
    """`mock.patch.dict(sys.modules)` in cells while a thread churns: cells and edits work."""
    name, path = make_module(versioned(1))
    run(auto, f"import sys, types, {name}\nfrom unittest import mock\nfrom {name} import f")
    churn = Churn(f"_far_churn_{name}")
    churn.start()
    try:
        for version in range(2, 12):
            write(path, versioned(version))
            run(
                auto,
                f"""
                with mock.patch.dict(sys.modules, {{"_far_p{version}": types.ModuleType("p")}}):
                    _far_r = f()
                """,
            )
            assert auto.user_ns["_far_r"] == version
            assert f"_far_p{version}" not in sys.modules
    finally:
        churn.stop.set()
        churn.join(JOIN_TIMEOUT)
    assert not churn.is_alive()
    assert churn.errors == []
    assert_clean(capsys.readouterr().err)


@pytest.mark.fastautoreload_only  # fastautoreload.reload() is fastautoreload's own API
def test_reload_called_from_another_thread_while_cells_run(auto, make_module, capsys):
    """A thread calling ``fastautoreload.reload(m)`` in a bounded loop while cells run:
    no internal error, and each cell sees the edit made before it."""
    import fastautoreload

    name, path = make_module(versioned(1))
    run(auto, f"import {name}\nfrom {name} import f")
    errors: list[BaseException] = []
    stop = threading.Event()

    def reload_loop():
        try:
            for _ in range(5_000):
                if stop.is_set():
                    break
                fastautoreload.reload(name)
        except BaseException as error:
            errors.append(error)

    worker = threading.Thread(target=reload_loop, daemon=True)
    worker.start()
    seen = []
    try:
        for version in range(2, 32):
            write(path, versioned(version))
            seen.append((version, value(auto, "f()")))
    finally:
        stop.set()
        worker.join(JOIN_TIMEOUT)
    assert not worker.is_alive()
    assert errors == []
    assert_clean(capsys.readouterr().err)
    assert [v for v, got in seen if got != v] == []
