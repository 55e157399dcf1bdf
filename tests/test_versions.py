"""Identity across every version a file goes through: an editor that truncates the file and
lets a cell run before writing the new content, a function deleted and restored by an undo,
a decorator added or removed. Old references always behave as the newest definition."""

from __future__ import annotations

import pytest
from conftest import fresh_repr, run, value, write

pytestmark = pytest.mark.fastautoreload_only

ORIGINAL = """\
class Greeter:
    def hello(self):
        return "hello 1"


def f():
    return 1
"""

EDITED = ORIGINAL.replace("hello 1", "hello 2").replace("return 1", "return 2")


def test_truncated_save_then_new_content_keeps_old_references(auto, make_module):
    name, path = make_module(ORIGINAL)
    run(auto, f"import {name}\nfrom {name} import f, Greeter\n_far_g = Greeter()\n_far_f = f")
    write(path, "")  # the editor truncated the file; a cell runs before the rest comes
    run(auto, "pass")
    assert value(auto, f"hasattr(__import__({name!r}), 'f')") is False
    write(path, EDITED)
    assert value(auto, "(f(), _far_f(), _far_g.hello())") == (2, 2, "hello 2")
    assert value(auto, f"_far_f is {name}.f and type(_far_g) is {name}.Greeter") is True


def test_deleted_function_restored_by_undo_is_the_same_object(auto, make_module):
    name, path = make_module(ORIGINAL + "\n\ndef g():\n    return 'g1'\n")
    run(auto, f"import {name}\nfrom {name} import g")
    write(path, ORIGINAL)  # g deleted
    assert value(auto, f"hasattr(__import__({name!r}), 'g')") is False
    write(path, ORIGINAL + "\n\ndef g():\n    return 'g2'\n")  # undo, with a change
    assert value(auto, f"(g(), g is {name}.g)") == ("g2", True)


DECORATED = """\
def incremented(function):
    def inner(*args):
        return function(*args) + 1

    return inner


class Foo:
    @classmethod
    @incremented
    def foo(cls):
        return 1


foo = Foo.foo


@incremented
def bar():
    return 10
"""

PLAIN = DECORATED.replace("    @incremented\n", "").replace("@incremented\ndef bar", "def bar")


@pytest.mark.parametrize(
    ("before", "after", "old_values", "new_values"),
    [(DECORATED, PLAIN, (2, 11), (1, 10)), (PLAIN, DECORATED, (1, 10), (2, 11))],
    ids=["decorator-removed", "decorator-added"],
)
def test_decorator_change_reaches_old_references(
    auto, make_module, pkgdir, before, after, old_values, new_values
):
    name, path = make_module(before)
    run(auto, f"from {name} import foo, bar, Foo\n_far_foo = Foo.foo\n_far_bar = bar")
    assert value(auto, "(foo(), bar(), _far_foo(), _far_bar())") == old_values * 2
    write(path, after)
    expected = fresh_repr(pkgdir, name, "(foo(), Foo.foo(), bar())")
    foo, bar = new_values
    assert repr(value(auto, "(foo(), Foo.foo(), bar())")) == expected == repr((foo, foo, bar))
    assert value(auto, "(_far_foo(), _far_bar())") == new_values
