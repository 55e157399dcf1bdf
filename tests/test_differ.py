"""Statement-level reloading: only what changed runs again.

When a module's file changes, fastautoreload runs only the changed or added top-level
statements and the unchanged ones that read a name those bind (in source order); a function
or method whose body alone changed is patched in place (its decorators and its class
statement do not run again); other class changes re-run the class statement and patch the
existing class; names bound only by removed statements are deleted; a comment-only change
runs nothing. A statement calling a class (``handler = Handler()``) runs again only when code
construction runs changed (``__init__``, ``__new__``, ``__post_init__``, what they call, the
class statement), not for another method's edit; statements using that method do.
``%autoreload 2-`` / ``--full`` and modules using ``global``, ``globals()``, ``exec``, ...
always run whole.

Every module here starts with a side-effect "counter" statement that appends its tag to the
``runs`` list of the ``counter_store`` module (which never changes, so never reloads): the
count must not move unless the counter line itself is edited. Where the result of a reload
can be compared with a fresh import, ``fresh_repr`` computes the latter in a subprocess.

IPython 9's own autoreload (its "deduperreload") also patches a function or method whose
body alone changed and runs nothing for a comment-only edit, so the tests of those cases are
not marked ``fastautoreload_only``.
"""

from __future__ import annotations

import sys
import textwrap
import traceback

import pytest
from conftest import fresh_repr, reloading, run, value, write

TAG = "m"


def _counted(store: str, body: str, tag: str = TAG) -> str:
    """Module source: the counter statement (lines 1-2), then ``body`` (dedented)."""
    return f"import {store}\n{store}.runs.append({tag!r})\n" + textwrap.dedent(body)


def _runs(store: str) -> list:
    """The counter store's list (a copy), one entry per run of a counter statement."""
    return list(sys.modules[store].runs)


def _reload(shell, capsys):
    """Run an empty cell (so the pending reload happens) and return ``(out, err)``."""
    capsys.readouterr()
    run(shell, "pass")
    return capsys.readouterr()


def _line_of(source: str, needle: str) -> int:
    """The 1-based line of the only line of ``source`` containing ``needle``."""
    lines = [n for n, text in enumerate(source.splitlines(), 1) if needle in text]
    assert len(lines) == 1, (needle, lines)
    return lines[0]


@pytest.fixture
def module(auto, make_module, counter_store):
    """``module(body) -> (name, path, write_body)``: a counted module imported as ``m``
    in a shell with ``%autoreload 2 -p``; ``write_body(body)`` rewrites it (counter kept)."""

    def make(body: str):
        name, path = make_module(_counted(counter_store, body))
        run(auto, "%autoreload 2 -p")
        run(auto, f"import {name} as m")
        assert _runs(counter_store) == [TAG]

        def write_body(new_body: str) -> str:
            source = _counted(counter_store, new_body)
            write(path, source)
            return source

        return name, path, write_body

    return make


# -- 1. a function body ------------------------------------------------------------------------
def test_function_body_edit_patches_only_the_function(auto, module, counter_store, capsys):
    name, path, write_body = module("\n\ndef f():\n    return 1\n")
    run(auto, "f_old = m.f")
    write_body("\n\ndef f():\n    return 2\n")
    out, err = _reload(auto, capsys)
    assert out == reloading(name, "1 function patched") + "\n"
    assert err == ""
    assert _runs(counter_store) == [TAG]
    assert value(auto, "m.f()") == 2
    assert value(auto, "f_old()") == 2
    assert value(auto, "f_old is m.f") is True
    assert repr(value(auto, "m.f()")) == fresh_repr(path.parent, name, "f()")


# -- 2. a method body --------------------------------------------------------------------------
METHOD = """\


class C:
    def __init__(self):
        self.state = "kept"

    def method(self):
        return {v}
"""


def test_method_body_edit_patches_without_rerunning_class(auto, module, counter_store, capsys):
    name, path, write_body = module(METHOD.format(v=1))
    run(auto, "C_old = m.C\nobj = m.C()")
    write_body(METHOD.format(v=2))
    out, err = _reload(auto, capsys)
    assert out == reloading(name, "1 function patched") + "\n"
    assert err == ""
    assert _runs(counter_store) == [TAG]
    assert value(auto, "m.C is C_old") is True
    assert value(auto, "obj.method()") == 2
    assert value(auto, "obj.state") == "kept"
    assert value(auto, "type(obj) is m.C") is True
    assert repr(value(auto, "m.C().method()")) == fresh_repr(path.parent, name, "C().method()")


# -- 3. a constant and what reads it -----------------------------------------------------------
CONSTANT = """\
X = {x}
Y = X + 1


def g():
    return X
"""


@pytest.mark.fastautoreload_only  # IPython leaves Y stale
def test_constant_edit_reruns_it_and_its_readers(auto, module, counter_store, capsys):
    name, path, write_body = module(CONSTANT.format(x=1))
    run(auto, "g_old = m.g")
    assert value(auto, "(m.X, m.Y, m.g())") == (1, 2, 1)
    write_body(CONSTANT.format(x=2))
    out, err = _reload(auto, capsys)
    assert out == reloading(name, "2 statements") + "\n"
    assert err == ""
    assert _runs(counter_store) == [TAG]
    assert value(auto, "m.Y") == 3
    assert value(auto, "m.g()") == 2
    assert value(auto, "m.g is g_old") is True
    assert repr(value(auto, "(m.X, m.Y, m.g())")) == fresh_repr(path.parent, name, "(X, Y, g())")


# -- 4. decorators -----------------------------------------------------------------------------
DECORATED = """\
REG = []


def register(f):
    REG.append(f.__name__)
    return f


def register_twice(f):
    REG.append(f.__name__)
    REG.append(f.__name__)
    return f


@{decorator}
def f():
    return {v}
"""


@pytest.mark.fastautoreload_only  # IPython re-runs the decorator
def test_decorator_runs_again_only_when_its_line_changes(auto, module, counter_store, capsys):
    name, _, write_body = module(DECORATED.format(decorator="register", v=1))
    run(auto, "f_old = m.f")
    assert value(auto, "m.REG") == ["f"]

    # Body only: patched, the decorator does not run again.
    write_body(DECORATED.format(decorator="register", v=2))
    out, err = _reload(auto, capsys)
    assert out == reloading(name, "1 function patched") + "\n"
    assert err == ""
    assert value(auto, "m.f()") == 2
    assert value(auto, "f_old()") == 2
    assert value(auto, "m.f is f_old") is True
    assert value(auto, "len(m.REG)") == 1

    # The decorator line changed: the decorated definition runs (and only it: REG = [] is
    # unchanged, so the list keeps its entry and gains two).
    write_body(DECORATED.format(decorator="register_twice", v=3))
    out, err = _reload(auto, capsys)
    assert out == reloading(name, "1 statement") + "\n"
    assert err == ""
    assert value(auto, "m.REG") == ["f", "f", "f"]
    assert value(auto, "m.f()") == 3
    assert value(auto, "f_old()") == 3
    assert _runs(counter_store) == [TAG]


# -- 5. a class base ---------------------------------------------------------------------------
BASES = """\


class A:
    def who(self):
        return "A"


class B:
    def who(self):
        return "B"


class C({base}):
    pass
"""


@pytest.mark.fastautoreload_only  # IPython: old instances keep base A
def test_class_base_edit_patches_class_in_place(auto, module, counter_store, capsys):
    name, path, write_body = module(BASES.format(base="A"))
    run(auto, "C_old = m.C\nobj = m.C()")
    write_body(BASES.format(base="B"))
    out, err = _reload(auto, capsys)
    assert out == reloading(name, "1 statement") + "\n"
    assert err == ""
    assert _runs(counter_store) == [TAG]
    assert value(auto, "m.C is C_old") is True
    assert value(auto, "isinstance(obj, m.B)") is True
    assert value(auto, "isinstance(obj, m.A)") is False
    assert value(auto, "obj.who()") == "B"
    mro = "[k.__name__ for k in {}.__mro__]"
    assert repr(value(auto, mro.format("C_old"))) == fresh_repr(path.parent, name, mro.format("C"))


# -- 6. a dataclass field ----------------------------------------------------------------------
DATACLASS = """\
import dataclasses


@dataclasses.dataclass
class P:
    x: int
{extra}"""


@pytest.mark.fastautoreload_only  # IPython leaves the old class with the old __init__
def test_dataclass_field_added(auto, module, counter_store, capsys):
    name, path, write_body = module(DATACLASS.format(extra=""))
    run(auto, "P_old = m.P\nold = m.P(7)")
    write_body(DATACLASS.format(extra="    y: int = 5\n"))
    out, err = _reload(auto, capsys)
    assert out == reloading(name, "1 statement") + "\n"
    assert err == ""
    assert _runs(counter_store) == [TAG]
    assert value(auto, "m.P is P_old") is True
    assert value(auto, "P_old(1).y") == 5
    assert value(auto, "repr(P_old(1))") == fresh_repr(path.parent, name, "P(1)")
    assert value(auto, "repr(P_old(1, 2))") == fresh_repr(path.parent, name, "P(1, 2)")
    assert value(auto, "old.x") == 7


# -- 7. an Enum member -------------------------------------------------------------------------
ENUM = """\
import enum


class Color(enum.Enum):
    RED = 1
{extra}"""


@pytest.mark.fastautoreload_only  # IPython runs the whole module
def test_enum_member_added(auto, module, counter_store, capsys):
    name, path, write_body = module(ENUM.format(extra=""))
    run(auto, "Color_old = m.Color\nred_old = m.Color.RED")
    write_body(ENUM.format(extra="    BLUE = 2\n"))
    out, err = _reload(auto, capsys)
    assert out == reloading(name, "1 statement") + "\n"
    assert err == ""
    assert _runs(counter_store) == [TAG]
    assert value(auto, "m.Color is Color_old") is True
    assert value(auto, "Color_old.BLUE is m.Color.BLUE") is True
    assert value(auto, "Color_old(2) is Color_old.BLUE") is True
    assert value(auto, "m.Color.RED is red_old") is True
    members = "[(c.name, c.value) for c in {}]"
    assert value(auto, f"repr({members.format('Color_old')})") == fresh_repr(
        path.parent, name, members.format("Color")
    )


# -- 8. the side-effect statement itself -------------------------------------------------------
def test_edited_side_effect_runs_once(auto, make_module, counter_store, capsys):
    body = "\n\ndef f():\n    return 1\n"
    name, path = make_module(_counted(counter_store, body, tag="m"))
    run(auto, "%autoreload 2 -p")
    run(auto, f"import {name} as m")
    write(path, _counted(counter_store, body, tag="m2"))
    out, err = _reload(auto, capsys)
    assert out == reloading(name, "1 statement") + "\n"
    assert err == ""
    assert _runs(counter_store) == ["m", "m2"]
    run(auto, "pass")
    assert _runs(counter_store) == ["m", "m2"]
    assert value(auto, "m.f()") == 1


# -- 9. comments and whitespace ----------------------------------------------------------------
LAYOUT_BEFORE = """\
X = [1, 2]


def f():
    return X[0] + 1


Y = f()
"""

LAYOUT_COMMENTED = """\
# a new comment
X = [1, 2]  # a trailing comment


def f():
    return X[0] + 1  # another one


Y = f()
"""

LAYOUT_SPACED = """\
X = [ 1,  2 ]



def f():
    return X[0]  +  1

Y =  f( )
"""


@pytest.mark.parametrize("edited", [LAYOUT_COMMENTED, LAYOUT_SPACED], ids=["comment", "spaces"])
def test_comment_or_whitespace_edit_runs_nothing(auto, module, counter_store, capsys, edited):
    name, _, write_body = module(LAYOUT_BEFORE)
    run(auto, "snapshot = dict(vars(m))\nf_code = m.f.__code__.co_code")
    write_body(edited)
    out, err = _reload(auto, capsys)
    assert out == reloading(name, "nothing to run") + "\n"
    assert err == ""
    assert _runs(counter_store) == [TAG]
    assert value(auto, "vars(m).keys() == snapshot.keys()") is True
    changed = "[k for k in snapshot if vars(m)[k] is not snapshot[k]]"
    assert value(auto, changed) == []
    assert value(auto, "m.f.__code__.co_code == f_code") is True
    assert value(auto, "(m.X, m.Y, m.f())") == ([1, 2], 2, 2)


# -- 10. a removed function --------------------------------------------------------------------
@pytest.mark.fastautoreload_only  # IPython's -p line has no details
def test_removed_function_is_deleted(auto, module, counter_store, capsys):
    kept = "\n\ndef f():\n    return 1\n"
    name, path, write_body = module(kept + "\n\ndef g():\n    return 'g'\n")
    assert value(auto, "m.g()") == "g"
    write_body(kept)
    out, err = _reload(auto, capsys)
    assert "1 name removed" in out
    assert out == reloading(name, "1 name removed") + "\n"
    assert err == ""
    assert _runs(counter_store) == [TAG]
    assert value(auto, "hasattr(m, 'g')") is False
    assert value(auto, "m.f()") == 1
    assert fresh_repr(path.parent, name, "'g' in dir()") == "False"


# -- 11. %autoreload 2- / --full ---------------------------------------------------------------
@pytest.mark.parametrize("line", ["2- -p", "2 --full -p"], ids=["2-", "--full"])
def test_full_mode_runs_the_whole_module(auto, make_module, counter_store, capsys, line):
    name, path = make_module(_counted(counter_store, "\n\ndef f():\n    return 1\n"))
    run(auto, f"%autoreload {line}")
    run(auto, f"import {name} as m\nf_old = m.f")
    write(path, _counted(counter_store, "\n\ndef f():\n    return 2\n"))
    out, err = _reload(auto, capsys)
    assert out == f"Reloading '{name}'.\n"
    assert err == ""
    assert _runs(counter_store) == [TAG, TAG]
    assert value(auto, "m.f()") == 2
    assert value(auto, "f_old()") == 2


# -- 12. modules that use `global` -------------------------------------------------------------
GLOBAL = """\
COUNT = 0


def bump():
    global COUNT
    COUNT += {step}
    return COUNT
"""


@pytest.mark.fastautoreload_only  # IPython patches bump() without running the module
def test_module_with_global_runs_whole(auto, module, counter_store, capsys):
    name, _, write_body = module(GLOBAL.format(step=1))
    assert value(auto, "m.bump()") == 1
    write_body(GLOBAL.format(step=10))
    out, err = _reload(auto, capsys)
    assert out == f"Reloading '{name}'.\n"
    assert err == ""
    assert _runs(counter_store) == [TAG, TAG]
    # The whole module ran: COUNT = 0 ran again too.
    assert value(auto, "m.COUNT") == 0
    assert value(auto, "m.bump()") == 10


# -- 13. traceback line numbers ----------------------------------------------------------------
LINES_BEFORE = """\


def boom():
    raise ValueError("v1")


def other():
    raise KeyError("other")
"""

LINES_AFTER = """\
# two comment lines
# inserted above boom
NEW = 1


def boom():
    x = 1
    raise ValueError("v2")


def other():
    raise KeyError("other")
"""

TRACE_CELL = """\
import traceback
try:
    {call}
except Exception as error:
    last = traceback.extract_tb(error.__traceback__)[-1]
    caught = (type(error).__name__, str(error), last.filename, last.lineno, last.line)
"""


@pytest.mark.fastautoreload_only  # IPython reports wrong lines here
def test_traceback_lines_of_patched_and_shifted_functions(auto, module, counter_store):
    name, path, write_body = module(LINES_BEFORE)
    run(auto, "boom_old = m.boom\nother_old = m.other")
    run(auto, TRACE_CELL.format(call="m.boom()"))
    old_line = _line_of(path.read_text(), 'raise ValueError("v1")')
    assert auto.user_ns["caught"] == (
        "ValueError",
        "v1",
        str(path),
        old_line,
        'raise ValueError("v1")',
    )

    source = write_body(LINES_AFTER)
    boom_line = _line_of(source, 'raise ValueError("v2")')
    other_line = _line_of(source, 'raise KeyError("other")')
    assert boom_line > old_line + 1  # the function moved as well as changed

    run(auto, TRACE_CELL.format(call="boom_old()"))
    assert auto.user_ns["caught"] == (
        "ValueError",
        "v2",
        str(path),
        boom_line,
        'raise ValueError("v2")',
    )
    run(auto, TRACE_CELL.format(call="other_old()"))
    assert auto.user_ns["caught"] == (
        "KeyError",
        "'other'",
        str(path),
        other_line,
        'raise KeyError("other")',
    )
    assert value(auto, "m.boom is boom_old and m.other is other_old") is True
    assert value(auto, "m.NEW") == 1
    assert _runs(counter_store) == [TAG]


def test_traceback_line_via_error_in_exec(auto, module):
    name, path, write_body = module("\n\ndef boom():\n    raise ValueError('v1')\n")
    source = write_body("\n\n\n\n\ndef boom():\n    pass\n    raise ValueError('v2')\n")
    result = run(auto, "m.boom()", allow_error=True)
    error = result.error_in_exec
    assert isinstance(error, ValueError) and str(error) == "v2"
    tb = error.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    assert tb.tb_frame.f_code.co_filename == str(path)
    assert tb.tb_lineno == _line_of(source, "raise ValueError('v2')")


NESTED = """\
X = 1
try:
    import functools
except ImportError:
    pass
else:
    def deco(f):
        @functools.wraps(f)
        def wrapper(*args):
            return f(*args)

        return wrapper

    @deco
    def nested():
        raise ValueError("nested")

    other = nested  # one function, two names: it moves once

    class Nested:
        def method(self):
            raise ValueError("method")

    Alias = Nested
"""


def test_definitions_inside_a_moved_compound_statement_get_their_new_lines(
    auto, module, counter_store
):
    name, path, write_body = module(NESTED)
    run(auto, "f_old, C_old = m.nested, m.Nested")
    source = write_body(NESTED.replace("X = 1\n", "X = 1\nY = 2\nZ = 3\n"))
    cases = (
        ("m.nested()", ["return f(*args)", 'raise ValueError("nested")']),
        ("m.other()", ["return f(*args)", 'raise ValueError("nested")']),
        ("m.Alias().method()", ['raise ValueError("method")']),
    )
    for call, needles in cases:
        error = run(auto, call, allow_error=True).error_in_exec
        frames = traceback.extract_tb(error.__traceback__)
        lines = [frame.lineno for frame in frames if frame.filename == str(path)]
        assert lines == [_line_of(source, needle) for needle in needles], call
    assert value(auto, "m.nested is f_old and m.Nested is C_old") is True
    assert value(auto, "m.deco.__code__.co_firstlineno") == _line_of(source, "def deco")
    assert _runs(counter_store) == [TAG]  # nothing ran again


# -- 14. a value computed by a changed function ------------------------------------------------
BUILD = """\


def build():
    return [n * {k} for n in range(3)]


TABLE = build()
"""


@pytest.mark.fastautoreload_only  # IPython leaves TABLE stale
def test_value_built_by_changed_function_is_recomputed(auto, module, counter_store, capsys):
    name, path, write_body = module(BUILD.format(k=1))
    run(auto, "build_old = m.build\ntable_old = m.TABLE")
    write_body(BUILD.format(k=10))
    out, err = _reload(auto, capsys)
    assert out == reloading(name, "1 statement, 1 function patched") + "\n"
    assert err == ""
    assert _runs(counter_store) == [TAG]
    assert value(auto, "m.TABLE") == [0, 10, 20]
    assert repr(value(auto, "m.TABLE")) == fresh_repr(path.parent, name, "TABLE")
    assert value(auto, "table_old") == [0, 1, 2]
    assert value(auto, "m.build is build_old") is True


# -- 15. a re-run statement that raises --------------------------------------------------------
FAILING = """\


def f():
    return {v}


VALUE = {value}
"""


@pytest.mark.fastautoreload_only  # IPython runs the whole module
def test_failing_statement_rolls_back_the_whole_edit(auto, module, counter_store, capsys):
    name, path, write_body = module(FAILING.format(v=1, value="1"))
    run(auto, "f_old = m.f\nsnapshot = dict(vars(m))")
    source = write_body(FAILING.format(v=2, value="1 // 0") + "\nNEW = 1\n")
    out, err = _reload(auto, capsys)
    assert err.count(f"[autoreload of {name} failed:") == 1
    assert err.count("ZeroDivisionError") == 1
    assert f'{path.name}", line {_line_of(source, "VALUE = 1 // 0")}' in err
    assert _runs(counter_store) == [TAG]
    # Exactly as before, including the function patched in the same edit.
    assert value(auto, "f_old()") == 1
    assert value(auto, "m.f()") == 1
    assert value(auto, "m.f is f_old") is True
    assert value(auto, "m.VALUE") == 1
    assert value(auto, "vars(m).keys() == snapshot.keys()") is True
    assert value(auto, "[k for k in snapshot if vars(m)[k] is not snapshot[k]]") == []

    # Not retried while the file stays broken.
    assert _reload(auto, capsys) == ("", "")

    write_body(FAILING.format(v=3, value="3"))
    out, err = _reload(auto, capsys)
    assert out.startswith(f"Reloading '{name}'. (")
    assert err == ""
    assert value(auto, "(m.f(), f_old(), m.VALUE)") == (3, 3, 3)
    assert value(auto, "hasattr(m, 'NEW')") is False
    assert _runs(counter_store) == [TAG]


# -- 16. a syntax error in a changed function --------------------------------------------------
SYNTAX = """\
VALUE = {value}


def f():
    x = 1
    return {expr}
"""


def test_syntax_error_in_changed_function_changes_nothing(auto, module, counter_store, capsys):
    name, path, write_body = module(SYNTAX.format(value=1, expr="x"))
    run(auto, "f_old = m.f\nsnapshot = dict(vars(m))")
    source = write_body(SYNTAX.format(value=2, expr="x )"))
    _, err = _reload(auto, capsys)
    assert err.count(f"[autoreload of {name} failed:") == 1
    assert "SyntaxError" in err
    assert f'{path.name}", line {_line_of(source, "return x )")}' in err
    assert value(auto, "(m.VALUE, m.f(), f_old())") == (1, 1, 1)
    assert value(auto, "[k for k in snapshot if vars(m)[k] is not snapshot[k]]") == []
    assert _runs(counter_store) == [TAG]

    write_body(SYNTAX.format(value=2, expr="x + 1"))
    out, err = _reload(auto, capsys)
    assert err == ""
    assert value(auto, "(m.VALUE, m.f(), f_old())") == (2, 2, 2)
    assert _runs(counter_store) == [TAG]


# -- 17. postponed annotations -----------------------------------------------------------------
ANNOTATED = """\


def f(x: {arg}) -> Undefined:
    return {v}
"""


def _future_source(store: str, arg: str, v: int) -> str:
    body = _counted(store, ANNOTATED.format(arg=arg, v=v))
    return "from __future__ import annotations\n\n" + body


@pytest.fixture
def future_module(auto, make_module, counter_store):
    """A ``from __future__ import annotations`` module whose ``f`` has annotations naming
    undefined names, imported as ``m`` (``f_old = m.f``) with ``%autoreload 2 -p``."""
    name, path = make_module(_future_source(counter_store, "Missing", 1))
    run(auto, "%autoreload 2 -p")
    run(auto, f"import {name} as m\nf_old = m.f")
    assert value(auto, "m.f(0)") == 1
    return name, path


@pytest.mark.fastautoreload_only  # IPython replaces f (identity lost)
def test_future_annotations_body_edit(auto, future_module, counter_store, capsys):
    name, path = future_module
    write(path, _future_source(counter_store, "Missing", 2))
    out, err = _reload(auto, capsys)
    assert err == ""
    assert out == reloading(name, "1 function patched") + "\n"
    assert value(auto, "m.f(0)") == 2
    assert value(auto, "f_old(0)") == 2
    assert value(auto, "m.f is f_old") is True
    assert _runs(counter_store) == [TAG]


@pytest.mark.fastautoreload_only  # IPython runs the whole module
def test_future_annotations_signature_edit(auto, future_module, counter_store, capsys):
    # The annotation changes too: the definition runs again, still without evaluating it.
    name, path = future_module
    write(path, _future_source(counter_store, "AlsoMissing", 3))
    out, err = _reload(auto, capsys)
    assert err == ""
    assert out == reloading(name, "1 statement") + "\n"
    assert value(auto, "m.f(0)") == 3
    assert value(auto, "f_old(0)") == 3
    assert value(auto, "repr(f_old.__annotations__)") == fresh_repr(
        path.parent, name, "f.__annotations__"
    )
    assert value(auto, "m.f.__annotations__['x']") == "AlsoMissing"
    assert _runs(counter_store) == [TAG]


PRIVATE = """\
class Vault:
    def __init__(self):
        self.__secret = 41

    def reveal(self):
        return self.__secret + {v}

    def plain(self):
        return {v}
"""


@pytest.mark.fastautoreload_only  # IPython reloads differently; the -p wording is ours
def test_patched_methods_keep_name_mangling(auto, make_module, capsys):
    name, path = make_module(PRIVATE.format(v=0))
    run(auto, f"import {name}\nvault = {name}.Vault()")
    run(auto, "%autoreload 2 -p")
    write(path, PRIVATE.format(v=1))
    capsys.readouterr()
    assert value(auto, "(vault.reveal(), vault.plain())") == (42, 1)
    assert capsys.readouterr().out == reloading(name, "2 functions patched") + "\n"


# -- 18. a module-level singleton --------------------------------------------------------------
SINGLETON = """\


class Handler:
    def __init__(self):
        {store}.runs.append("built")
        self.state = {state}

    def describe(self):
        return "v{v}"


handler = Handler()
LABEL = handler.describe()
"""


@pytest.fixture
def singleton(auto, make_module, counter_store):
    """``singleton(state, v) -> (name, path)``: writes the SINGLETON module; the first call
    also imports it as ``m`` with ``%autoreload 2 -p``. Constructions append ``"built"``
    to the counter store's ``runs``, after the module's own tag."""
    made = []

    def write_singleton(state: str, v: int) -> str:
        source = _counted(counter_store, SINGLETON.format(store=counter_store, state=state, v=v))
        if made:
            write(made[0][1], source)
        else:
            made.append(make_module(source))
            run(auto, "%autoreload 2 -p")
            run(auto, f"import {made[0][0]} as m")
        return made[0]

    return write_singleton


@pytest.mark.fastautoreload_only  # IPython runs the module again (LABEL calls a method)
def test_method_edit_keeps_a_module_level_singleton(auto, singleton, counter_store, capsys):
    singleton("[]", 1)
    assert _runs(counter_store) == [TAG, "built"]
    run(auto, "old_handler = m.handler\nold_handler.state.append('kept')\nHandler_old = m.Handler")

    name, path = singleton("[]", 2)
    _, err = _reload(auto, capsys)
    assert err == ""
    assert value(auto, "m.handler is old_handler") is True
    assert value(auto, "m.handler.state") == ["kept"]
    assert value(auto, "old_handler.describe()") == "v2"
    assert value(auto, "m.Handler is Handler_old") is True
    # LABEL calls the changed method at import: it ran again, as a fresh import would.
    assert value(auto, "m.LABEL") == "v2"
    assert repr(value(auto, "m.LABEL")) == fresh_repr(path.parent, name, "LABEL")
    assert _runs(counter_store) == [TAG, "built"]


@pytest.mark.fastautoreload_only  # IPython runs the whole module
def test_init_edit_rebuilds_a_module_level_singleton(auto, singleton, counter_store, capsys):
    singleton("[]", 1)
    run(auto, "old_handler = m.handler\nHandler_old = m.Handler")

    name, path = singleton("['fresh']", 1)
    _, err = _reload(auto, capsys)
    assert err == ""
    assert _runs(counter_store) == [TAG, "built", "built"]
    assert value(auto, "m.handler is old_handler") is False
    assert value(auto, "m.Handler is Handler_old") is True
    assert value(auto, "type(m.handler) is Handler_old") is True
    fresh = fresh_repr(path.parent, name, "(handler.state, LABEL)")
    assert repr(value(auto, "(m.handler.state, m.LABEL)")) == fresh
    # A later method edit keeps the rebuilt one.
    rebuilt = value(auto, "id(m.handler)")
    singleton("['fresh']", 3)
    _reload(auto, capsys)
    assert value(auto, "id(m.handler)") == rebuilt
    assert value(auto, "(m.handler.describe(), m.LABEL)") == ("v3", "v3")
    assert _runs(counter_store) == [TAG, "built", "built"]
