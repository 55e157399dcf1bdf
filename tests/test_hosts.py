"""A drop-in works wherever IPython's ``AutoreloadMagics`` works.

Test harnesses and custom front-ends build ``AutoreloadMagics(shell=host)`` on a host that
offers only what IPython's own class uses of its shell (``user_ns`` and ``push``), call the
magics as methods, and drive the hooks themselves around each cell: ``pre_run_cell(info)``,
``exec`` in ``host.user_ns``, ``post_execute_hook()``. Every test runs against
fastautoreload's class and, as a reference, against IPython's own; where fastautoreload
is meant to differ the test (or the parameter) is marked ``fastautoreload_only``.
"""

from __future__ import annotations

import builtins
import importlib
import io
import os
import sys
import textwrap

import pytest
from conftest import versioned, write

ORIGINAL = versioned(1)
SYNTAX_ERROR = "VALUE = 2\n\ndef f(:\n    return 2\n"


# -- the host and the front-end that drives the hooks ------------------------------------------
class MinimalHost:
    """Only what IPython's ``AutoreloadMagics`` uses of its shell.

    ``__slots__``: a drop-in that set or read anything else on its host would fail here
    with an AttributeError (``hasattr`` probes, as IPython's ``Magics`` makes for
    ``configurables`` and ``config``, just answer False).
    """

    __slots__ = ("user_ns", "pushed")

    def __init__(self):
        self.user_ns = {"__name__": "__main__", "__builtins__": builtins}
        self.pushed: list[dict] = []

    def push(self, variables, interactive=True):
        self.pushed.append(dict(variables))
        self.user_ns.update(variables)


class RawInfo:
    """A pre-run info with only ``raw_cell`` (as older front-ends build it)."""

    __slots__ = ("raw_cell",)

    def __init__(self, code):
        self.raw_cell = code


class TransformedInfo:
    """A pre-run info with ``raw_cell`` and ``transformed_cell`` (as IPython 9 builds it)."""

    __slots__ = ("raw_cell", "transformed_cell")

    def __init__(self, code):
        self.raw_cell = code
        self.transformed_cell = code


_NO_ARGUMENT = object()

INFO_KINDS = {
    "none": lambda code: None,
    "raw": RawInfo,
    "transformed": TransformedInfo,
    # IPython 8 and 9 call pre_run_cell(info); a harness written for IPython 7 calls it
    # without one, which IPython's own class (a required `info`) rejects.
    "no-argument": lambda code: _NO_ARGUMENT,
}
ALL_INFO = [
    "none",
    "raw",
    "transformed",
    pytest.param("no-argument", marks=pytest.mark.fastautoreload_only),
]
# IPython's post_execute_hook reads `info.transformed_cell` in mode 3 (AttributeError for
# an info without one), and it cannot learn `from m import x` names without the cell text.
MODE3_INFO = [
    "none",
    pytest.param("raw", marks=pytest.mark.fastautoreload_only),
    "transformed",
    pytest.param("no-argument", marks=pytest.mark.fastautoreload_only),
]


class FrontEnd:
    """Drives an ``AutoreloadMagics`` the way a custom front-end would, with no IPython shell."""

    def __init__(self, magics_class, info_kind):
        self.host = MinimalHost()
        self.magics = magics_class(shell=self.host)
        self.make_info = INFO_KINDS[info_kind]

    def cell(self, code: str) -> None:
        code = textwrap.dedent(code)
        info = self.make_info(code)
        if info is _NO_ARGUMENT:
            self.magics.pre_run_cell()
        else:
            self.magics.pre_run_cell(info)
        exec(compile(code, "<cell>", "exec"), self.host.user_ns)
        self.magics.post_execute_hook()

    def value(self, expr: str):
        self.cell(f"_far_result = {expr}")
        return self.host.user_ns["_far_result"]


def _fastautoreload_magics():
    return importlib.import_module("fastautoreload").AutoreloadMagics


def _ipython_magics():
    return importlib.import_module("IPython.extensions.autoreload").AutoreloadMagics


def _is_ipython_8(magics_class) -> bool:
    import IPython

    reference = magics_class.__module__.startswith("IPython.")
    return reference and int(IPython.__version__.split(".")[0]) < 9


MAGICS = {"fastautoreload": _fastautoreload_magics, "ipython": _ipython_magics}


@pytest.fixture(params=sorted(MAGICS))
def magics_class(request):
    """Each ``AutoreloadMagics`` class; IPython's skips what is marked ``fastautoreload_only``
    (unless ``FAR_RUN_ALL=1``, to see those expectations fail against IPython)."""
    marked = request.node.get_closest_marker("fastautoreload_only") is not None
    if request.param == "ipython" and marked and os.environ.get("FAR_RUN_ALL") != "1":
        pytest.skip("fastautoreload_only: IPython's AutoreloadMagics differs here")
    return MAGICS[request.param]()


@pytest.fixture(params=ALL_INFO)
def front(request, magics_class):
    return FrontEnd(magics_class, request.param)


def assert_quiet(err: str) -> None:
    """Nothing went wrong inside the hooks (fastautoreload reports its own bugs there)."""
    assert "internal error" not in err
    assert "Traceback" not in err
    assert "Error" not in err, err


# -- tests -------------------------------------------------------------------------------------
def test_host_builds_magics_and_hooks_accept_every_info(front, make_module, capsys):
    """Construction, the magics and both hooks run on the minimal host; nothing escapes."""
    name, _ = make_module(ORIGINAL)
    front.magics.autoreload("2")
    front.cell("x = 1")
    front.cell(f"import {name}")
    front.cell("y = x + 1")
    assert front.host.user_ns["y"] == 2
    assert front.value(f"{name}.f()") == 1
    assert_quiet(capsys.readouterr().err)


def test_edit_reloads_through_old_from_import_reference(front, make_module, capsys):
    """Mode 2 on the minimal host: `from m import f` taken before the edit runs the new code."""
    name, path = make_module(ORIGINAL)
    front.magics.autoreload("2")
    front.cell(f"import {name}\nfrom {name} import f")
    old_f = front.host.user_ns["f"]
    assert front.value("f()") == 1
    write(path, versioned(2))
    assert front.value("f()") == 2
    assert front.value(f"{name}.VALUE") == 2
    assert front.host.user_ns["f"] is old_f
    write(path, versioned(3))
    front.cell("pass")
    assert old_f() == 3
    assert_quiet(capsys.readouterr().err)


@pytest.mark.fastautoreload_only  # IPython's `from m import f` gets a new f object
def test_edit_keeps_function_identity_on_minimal_host(front, make_module, capsys):
    """The module's `f` stays the object the host namespace holds."""
    name, path = make_module(ORIGINAL)
    front.magics.autoreload("2")
    front.cell(f"import {name}\nfrom {name} import f")
    write(path, versioned(2))
    assert front.value(f"f is {name}.f") is True
    assert_quiet(capsys.readouterr().err)


def test_autoreload_now_as_a_method_reloads(front, make_module, capsys):
    """`magics.autoreload("now")` with automatic reloading off reloads an edited module."""
    name, path = make_module(ORIGINAL)
    front.cell(f"import {name}")
    write(path, versioned(2))
    front.magics.autoreload("0")
    assert front.value(f"{name}.f()") == 1
    front.magics.autoreload("now")
    assert front.value(f"{name}.f()") == 2
    assert_quiet(capsys.readouterr().err)


@pytest.mark.parametrize("info_kind", MODE3_INFO)
def test_mode3_pushes_new_names_into_host_user_ns(magics_class, info_kind, make_module, capsys):
    """Mode 3: names a reload adds to a module imported whole land in ``host.user_ns``."""
    front = FrontEnd(magics_class, info_kind)
    name, path = make_module(ORIGINAL)
    front.magics.autoreload("3")
    front.cell(f"import {name}")
    assert "g" not in front.host.user_ns
    write(path, versioned(1) + "\n\ndef g():\n    return 'g'\n\n\nADDED = 5\n")
    front.cell("pass")
    assert front.host.user_ns["ADDED"] == 5
    assert front.value("g()") == "g"
    assert_quiet(capsys.readouterr().err)


@pytest.mark.fastautoreload_only  # IPython 8 pushes `VALUE`, never the alias
@pytest.mark.parametrize("info_kind", ["raw", "transformed"])
def test_mode3_rebinds_from_import_alias_in_host(magics_class, info_kind, make_module, capsys):
    """Mode 3: `from m import VALUE as v` in a host cell is rebound to the new value."""
    front = FrontEnd(magics_class, info_kind)
    name, path = make_module(ORIGINAL)
    front.magics.autoreload("3")
    front.cell(f"from {name} import VALUE as v")
    write(path, versioned(7))
    assert front.value("v") == 7
    assert_quiet(capsys.readouterr().err)


def test_aimport_binds_into_host_through_push(front, make_module, capsys):
    """`magics.aimport("m")` imports m and binds it in the host with ``push``."""
    name, _ = make_module(ORIGINAL)
    front.magics.aimport(name)
    assert front.host.pushed == [{name: sys.modules[name]}]
    assert front.host.user_ns[name] is sys.modules[name]
    listing = io.StringIO()
    front.magics.aimport("", stream=listing)
    assert listing.getvalue() == f"Modules to reload:\n{name}\n\nModules to skip:\n\n"
    assert_quiet(capsys.readouterr().err)


def test_aimport_alias_binds_alias_through_push(front, make_module, capsys):
    """`magics.aimport("m as x")` binds ``x`` in the host."""
    if _is_ipython_8(type(front.magics)):
        pytest.skip("IPython 8's %aimport has no `as` form")
    name, _ = make_module(ORIGINAL)
    front.magics.aimport(f"{name} as far_alias")
    assert front.host.pushed == [{"far_alias": sys.modules[name]}]
    assert front.value("far_alias.f()") == 1
    assert_quiet(capsys.readouterr().err)


def test_mode1_reloads_only_aimported_module(front, make_module, capsys):
    """Mode 1 on the minimal host: the `%aimport`-ed module reloads, another one does not."""
    marked, marked_path = make_module(ORIGINAL)
    other, other_path = make_module(ORIGINAL)
    front.magics.autoreload("1")
    front.magics.aimport(marked)
    front.cell(f"import {other}")
    write(marked_path, versioned(2))
    write(other_path, versioned(2))
    assert front.value(f"{marked}.f()") == 2
    assert front.value(f"{other}.f()") == 1
    assert_quiet(capsys.readouterr().err)


def test_syntax_error_reported_once_and_old_code_works(front, make_module, capsys):
    """A syntax error in the edited module: one report on stderr, nothing escapes the hook,
    the old code keeps working, and a fix applies."""
    name, path = make_module(ORIGINAL)
    front.magics.autoreload("2")
    front.cell(f"import {name}\nfrom {name} import f")
    capsys.readouterr()
    write(path, SYNTAX_ERROR)
    front.cell("pass")
    err = capsys.readouterr().err
    assert err.count(f"[autoreload of {name} failed:") == 1
    assert "SyntaxError" in err
    assert "internal error" not in err
    assert front.value("f()") == 1
    assert front.value(f"{name}.VALUE") == 1
    assert capsys.readouterr().err == ""
    write(path, versioned(3))
    assert front.value("f()") == 3
    assert_quiet(capsys.readouterr().err)


def test_failing_cell_then_edit_applies(front, make_module, capsys):
    """A cell that raises (the front-end still calls post_execute_hook) breaks nothing."""
    name, path = make_module(ORIGINAL)
    front.magics.autoreload("2")
    front.cell(f"from {name} import f")
    with pytest.raises(ZeroDivisionError):
        front.cell("1 / 0")
    front.magics.post_execute_hook()
    write(path, versioned(2))
    assert front.value("f()") == 2
    assert_quiet(capsys.readouterr().err)
