"""A reload is a transaction: whatever fails, at whatever step, the module and every object
it touched are exactly as before, the error is reported once, the user's cell still runs,
and the module is tried again when its content changes.

Failures come from the module's own code (``SystemExit``, ``KeyboardInterrupt``, Ctrl-C
while it runs) and, through a test-only hook of the native core, from each step of the
transaction in turn (compile, patch, exec, delete, adopt, shift lines, heap, commit...).
"""

from __future__ import annotations

import gc
import sys

import pytest
from conftest import run, value, write

pytestmark = pytest.mark.fastautoreload_only

V1 = """\
import enum

CONST = 1


def f():
    return 1


def gone():
    return "gone"


class C:
    def m(self):
        return 1


class Color(enum.Enum):
    RED = 1


def factory():
    def inner():
        return 1

    return inner


made = factory()
"""

# Every kind of change at once: a constant, function and method bodies, a removed
# function, a new method, a new Enum member, a closure's code, and lines that move.
V2 = """\
import enum

# a new line moves everything below it

CONST = 2


def f():
    return 2


class C:
    def m(self):
        return 2

    def extra(self):
        return 3


class Color(enum.Enum):
    RED = 1
    BLUE = 2


def factory():
    def inner():
        return 2

    return inner


made = factory()
"""

V3 = V2.replace("CONST = 2", "CONST = 3")


def _state(module):
    """Everything a reload of ``module`` may touch, as identities and code objects."""
    cls, color = module.C, module.Color
    return {
        "namespace": {k: id(v) for k, v in vars(module).items()},
        "f_code": module.f.__code__,
        "C_dict": {k: id(v) for k, v in vars(cls).items()},
        "m_code": cls.m.__code__,
        "Color_dict": {k: id(v) for k, v in vars(color).items()},
        "Color_members": dict(color.__members__),
        "made_code": module.made.__code__,
        "gc_enabled": gc.isenabled(),
    }


@pytest.fixture
def faults(ext_module):
    native = ext_module._native
    yield native
    native._inject_fault(None)


STEPS_BY_PATH = {
    # statements and bodies: the differ's plan
    "partial": ["decode", "compile", "patch_bodies", "exec", "delete", "adopt", "shift_lines"],
    # the whole module (`%autoreload 2-`)
    "whole": ["compile", "exec", "keep_submodules", "adopt"],
}
CASES = [(path, step) for path, steps in STEPS_BY_PATH.items() for step in steps] + [
    (path, step) for path in STEPS_BY_PATH for step in ("heap", "commit")
]


@pytest.mark.parametrize(("path", "step"), CASES, ids=[f"{p}-{s}" for p, s in CASES])
def test_a_fault_at_any_step_changes_nothing(auto, make_module, faults, capsys, path, step):
    name, source = make_module(V1)
    if path == "whole":
        run(auto, "%autoreload 2-")
    run(auto, f"import {name}\nfrom {name} import f, C, Color, made\n_far_obj = C()")
    module = sys.modules[name]
    before = _state(module)
    faults._inject_fault(step)
    write(source, V2)
    capsys.readouterr()
    result = run(auto, "_far_cell_ran = True")
    err = capsys.readouterr().err
    assert result.success and auto.user_ns["_far_cell_ran"] is True
    assert f"fault injected at step '{step}'" in err, err  # the fault did fire
    assert err.count(f"[autoreload of {name} failed:") == 1
    assert "bug in fastautoreload" in err
    assert _state(module) == before
    assert value(auto, "(f(), C().m(), _far_obj.m(), made(), hasattr(C, 'extra'))") == (
        1,
        1,
        1,
        1,
        False,
    )
    assert value(auto, f"{name}.gone()") == "gone"
    # Not retried while the content stays the same, then applied once it changes.
    faults._inject_fault(None)
    capsys.readouterr()
    run(auto, "pass")
    assert capsys.readouterr().err == ""
    write(source, V3)
    assert value(auto, "(f(), _far_obj.m(), made(), _far_obj.extra())") == (2, 2, 2, 3)
    assert value(auto, f"({name}.CONST, hasattr({name}, 'gone'), len(Color))") == (3, False, 2)


@pytest.mark.parametrize(
    "raising",
    ["raise SystemExit(3)", "import sys; sys.exit('bye')", "raise KeyboardInterrupt"],
    ids=["SystemExit", "sys.exit", "KeyboardInterrupt"],
)
def test_base_exceptions_at_import_are_failed_reloads(auto, make_module, capsys, raising):
    name, source = make_module("X = 1\n\n\ndef f():\n    return 1\n")
    run(auto, f"import {name}\nfrom {name} import f")
    write(source, f"X = 2\n\n\ndef f():\n    return 2\n\n\n{raising}\n")
    capsys.readouterr()
    result = run(auto, "_far_cell_ran = True", allow_error=True)
    err = capsys.readouterr().err
    assert result.success, result.error_in_exec or result.error_before_exec
    assert auto.user_ns["_far_cell_ran"] is True
    assert err.count(f"[autoreload of {name} failed:") == 1
    assert value(auto, f"({name}.X, f())") == (1, 1)
    capsys.readouterr()
    run(auto, "pass")
    assert capsys.readouterr().err == ""  # not retried until the content changes
    write(source, "X = 3\n\n\ndef f():\n    return 3\n")
    assert value(auto, f"({name}.X, f())") == (3, 3)


def test_ctrl_c_during_a_slow_reload_abandons_it(auto, make_module, capsys):
    """A SIGINT that arrives while the module's new code runs (here sent by the code
    itself, so the test is deterministic) abandons that reload only."""
    name, source = make_module("X = 1\n\n\ndef f():\n    return 1\n")
    run(auto, f"import {name}\nfrom {name} import f")
    slow = (
        "X = 2\n\n\ndef f():\n    return 2\n\n\n"
        "import signal\nsignal.raise_signal(signal.SIGINT)\n"
        "TOTAL = sum(range(10**6))\n"
    )
    write(source, slow)
    capsys.readouterr()
    result = run(auto, "_far_cell_ran = True", allow_error=True)
    err = capsys.readouterr().err
    assert result.success
    assert err.count(f"[autoreload of {name} failed:") == 1
    assert "KeyboardInterrupt" in err
    assert value(auto, f"({name}.X, f(), hasattr({name}, 'TOTAL'))") == (1, 1, False)
    assert gc.isenabled()


def test_unknown_fault_step_is_refused(faults):
    with pytest.raises(ValueError, match="unknown step"):
        faults._inject_fault("nope")
