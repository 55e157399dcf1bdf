"""What a reload does to functions, classes, module contents and side effects (mode 2)."""

from __future__ import annotations

import sys

import pytest
from conftest import EXT, reloading, run, touch, value, versioned, write


# -- functions ---------------------------------------------------------------------------------
def test_edited_function_seen_through_module(auto, make_module):
    name, path = make_module(versioned(1))
    run(auto, f"import {name}")
    write(path, versioned(2))
    assert value(auto, f"{name}.f()") == 2


def test_edited_function_seen_through_from_import(auto, make_module):
    name, path = make_module(versioned(1))
    run(auto, f"from {name} import f")
    write(path, versioned(2))
    assert value(auto, "f()") == 2


@pytest.mark.fastautoreload_only  # IPython's superreload makes a new function object
def test_edited_function_keeps_identity(auto, make_module):
    name, path = make_module(versioned(1))
    run(auto, f"import {name}\nfrom {name} import f\n_far_old_f = f")
    write(path, versioned(2))
    assert value(auto, "f()") == 2
    assert value(auto, f"f is {name}.f is _far_old_f") is True


def test_function_signature_and_default_change(auto, make_module):
    name, path = make_module("def f(a, b=1):\n    return a + b\n")
    run(auto, f"from {name} import f")
    write(path, "def f(a, b=10, *, c=100):\n    return a + b + c\n")
    assert value(auto, "f(1)") == 111
    assert value(auto, "f(1, c=0)") == 11


def test_edited_function_sees_new_module_global(auto, make_module):
    name, path = make_module("SCALE = 1\n\ndef f(x):\n    return x * SCALE\n")
    run(auto, f"from {name} import f")
    write(path, "SCALE = 3\n\ndef f(x):\n    return x * SCALE\n")
    assert value(auto, "f(2)") == 6


def test_decorated_function_body_edit_is_seen(auto, make_module):
    source = """\
        import functools

        def deco(fn):
            @functools.wraps(fn)
            def wrapper(*args, **kwargs):
                return ("wrapped", fn(*args, **kwargs))
            return wrapper

        @deco
        def f():
            return {v}
        """
    name, path = make_module(source.format(v=1))
    run(auto, f"import {name}")
    write(path, source.format(v=2))
    assert value(auto, f"{name}.f()") == ("wrapped", 2)


@pytest.mark.fastautoreload_only  # IPython cannot replace the wrapper's closure
def test_decorated_function_held_before_edit_sees_new_body(auto, make_module):
    source = """\
        import functools

        def deco(fn):
            @functools.wraps(fn)
            def wrapper(*args, **kwargs):
                return ("wrapped", fn(*args, **kwargs))
            return wrapper

        @deco
        def f():
            return {v}
        """
    name, path = make_module(source.format(v=1))
    run(auto, f"from {name} import f")
    write(path, source.format(v=2))
    assert value(auto, "f()") == ("wrapped", 2)


def test_closure_returned_by_module_function_sees_new_body(auto, make_module):
    source = """\
        def make(n):
            def inner():
                return n * {v}
            return inner

        g = make(5)
        """
    name, path = make_module(source.format(v=1))
    run(auto, f"import {name}")
    write(path, source.format(v=2))
    assert value(auto, f"{name}.g()") == 10
    assert value(auto, f"{name}.make(3)()") == 6


@pytest.mark.fastautoreload_only  # IPython only updates functions bound in the module
def test_closure_made_before_edit_sees_new_body(auto, make_module):
    source = """\
        def make(n):
            def inner():
                return n * {v}
            return inner
        """
    name, path = make_module(source.format(v=1))
    run(auto, f"import {name}\n_far_g = {name}.make(5)")
    write(path, source.format(v=2))
    assert value(auto, "_far_g()") == 10


# -- classes -----------------------------------------------------------------------------------
CLASS_SOURCE = """\
    class C:
        def __init__(self):
            self.state = "kept"

        def method(self):
            return "method {v}"

        @property
        def prop(self):
            return "prop {v}"

        @classmethod
        def cm(cls):
            return ("cm {v}", cls.__name__)

        @staticmethod
        def sm():
            return "sm {v}"
    """


@pytest.fixture
def class_module(auto, make_module):
    """A module with class C; the cell made ``obj = C()`` and imported ``C``."""
    name, path = make_module(CLASS_SOURCE.format(v=1))
    run(auto, f"import {name}\nfrom {name} import C\nobj = C()")
    write(path, CLASS_SOURCE.format(v=2))
    return name


def test_method_edit_reaches_old_instance(auto, class_module):
    assert value(auto, "obj.method()") == "method 2"
    assert value(auto, "obj.state") == "kept"


def test_old_instance_type_is_module_class(auto, class_module):
    run(auto, "pass")
    assert value(auto, f"type(obj) is {class_module}.C") is True


@pytest.mark.fastautoreload_only  # IPython moves instances to a new class object
def test_class_identity_kept_for_names_imported_before_edit(auto, class_module):
    assert value(auto, "obj.method()") == "method 2"
    assert value(auto, "isinstance(obj, C)") is True
    assert value(auto, f"C is {class_module}.C") is True
    assert value(auto, "type(obj) is C") is True
    assert value(auto, "isinstance(C(), C)") is True


def test_property_edit_reaches_old_instance(auto, class_module):
    assert value(auto, "obj.prop") == "prop 2"


def test_classmethod_edit(auto, class_module):
    assert value(auto, f"{class_module}.C.cm()") == ("cm 2", "C")
    assert value(auto, "obj.cm()") == ("cm 2", "C")


def test_staticmethod_edit(auto, class_module):
    assert value(auto, f"{class_module}.C.sm()") == "sm 2"
    assert value(auto, "obj.sm()") == "sm 2"


def test_class_method_called_through_old_class_name(auto, class_module):
    assert value(auto, "C().method()") == "method 2"
    assert value(auto, "C.sm()") == "sm 2"


def test_method_added_to_class_reaches_old_instance(auto, make_module):
    name, path = make_module("class C:\n    def a(self):\n        return 1\n")
    run(auto, f"import {name}\nobj = {name}.C()")
    write(
        path, "class C:\n    def a(self):\n        return 1\n\n    def b(self):\n        return 2\n"
    )
    assert value(auto, "obj.b()") == 2


@pytest.mark.fastautoreload_only  # IPython: new __class__ cell -> ValueError / wrong class
def test_method_gaining_zero_arg_super(auto, make_module):
    before = """\
        class Base:
            def hello(self):
                return "base"

        class Child(Base):
            def hello(self):
                return "child"
        """
    after = """\
        class Base:
            def hello(self):
                return "base"

        class Child(Base):
            def hello(self):
                return "child+" + super().hello()
        """
    name, path = make_module(before)
    run(auto, f"from {name} import Child\nobj = Child()")
    write(path, after)
    assert value(auto, "obj.hello()") == "child+base"
    assert value(auto, "Child().hello()") == "child+base"


# -- module contents ---------------------------------------------------------------------------
def test_new_function_appears_in_module(auto, make_module):
    name, path = make_module(versioned(1))
    run(auto, f"import {name}")
    write(path, versioned(1) + "\n\ndef g():\n    return 'g'\n")
    assert value(auto, f"{name}.g()") == "g"


def test_deleted_function_disappears_from_module(auto, make_module):
    name, path = make_module(versioned(1) + "\n\ndef g():\n    return 'g'\n")
    run(auto, f"import {name}")
    write(path, versioned(1))
    assert value(auto, f"hasattr({name}, 'g')") is False
    assert value(auto, f"{name}.f()") == 1


def test_constant_change_seen_through_module(auto, make_module):
    name, path = make_module(versioned(1))
    run(auto, f"import {name}")
    write(path, versioned(2))
    assert value(auto, f"{name}.VALUE") == 2


def test_several_successive_edits(auto, make_module):
    name, path = make_module(versioned(1))
    run(auto, f"import {name}")
    for version in range(2, 6):
        write(path, versioned(version))
        assert value(auto, f"{name}.f()") == version
        assert value(auto, f"{name}.VALUE") == version


# IPython: the first edit goes through superreload, later ones through the deduper, which
# patches only the module's current function, so the user's `f` stays at version 2.
@pytest.mark.fastautoreload_only
def test_several_successive_edits_seen_through_from_import(auto, make_module):
    name, path = make_module(versioned(1))
    run(auto, f"from {name} import f")
    for version in range(2, 6):
        write(path, versioned(version))
        assert value(auto, "f()") == version


def test_submodule_of_package_reloads(auto, make_package):
    pkg, root = make_package({"__init__.py": "", "sub.py": versioned(1)})
    run(auto, f"from {pkg}.sub import f")
    write(root / "sub.py", versioned(2))
    assert value(auto, "f()") == 2


def test_module_state_object_survives_function_edit(auto, make_module):
    name, path = make_module("CACHE = {}\n\ndef put(k):\n    CACHE[k] = 1\n    return len(CACHE)\n")
    run(auto, f"import {name}\n{name}.put('a')")
    write(path, "CACHE = {}\n\ndef put(k):\n    CACHE[k] = 2\n    return len(CACHE)\n")
    assert value(auto, f"{name}.put('b')") >= 1
    assert value(auto, f"{name}.CACHE['b']") == 2


# -- re-execution and change detection ---------------------------------------------------------
def _side_effect_source(store, tag):
    return f"import {store}\n{store}.runs.append({tag!r})\n\ndef f():\n    return {tag!r}\n"


def test_edit_reexecutes_changed_side_effect_once(auto, make_module, counter_store):
    name, path = make_module(_side_effect_source(counter_store, "v1"))
    run(auto, f"import {name}")
    write(path, _side_effect_source(counter_store, "v2"))
    run(auto, "pass")
    assert sys.modules[counter_store].runs == ["v1", "v2"]
    assert value(auto, f"{name}.f()") == "v2"


@pytest.mark.fastautoreload_only  # IPython stacks reloaders on %reload_ext (#13145)
def test_reload_ext_does_not_execute_module_twice(auto, make_module, counter_store):
    run(auto, f"%reload_ext {EXT}")
    run(auto, "%autoreload 2")
    name, path = make_module(_side_effect_source(counter_store, "v1"))
    run(auto, f"import {name}")
    write(path, _side_effect_source(counter_store, "v2"))
    run(auto, "pass")
    assert sys.modules[counter_store].runs == ["v1", "v2"]
    write(path, _side_effect_source(counter_store, "v3"))
    run(auto, "pass")
    assert sys.modules[counter_store].runs == ["v1", "v2", "v3"]


@pytest.mark.fastautoreload_only  # IPython reloads on any newer mtime
def test_touch_without_content_change_does_not_reload(shell, make_module, counter_store, capsys):
    run(shell, "%autoreload 2 -p")
    name, path = make_module(_side_effect_source(counter_store, "v1"))
    run(shell, f"import {name}")
    touch(path)
    capsys.readouterr()
    run(shell, "pass")
    assert capsys.readouterr().out == ""
    assert sys.modules[counter_store].runs == ["v1"]


def test_identical_rewrite_after_an_edit_does_not_reload(auto, make_module, counter_store):
    name, path = make_module(_side_effect_source(counter_store, "v1"))
    run(auto, f"import {name}")
    write(path, _side_effect_source(counter_store, "v2"))
    run(auto, "pass")
    write(path, _side_effect_source(counter_store, "v2"))
    run(auto, "pass")
    assert sys.modules[counter_store].runs == ["v1", "v2"]


@pytest.mark.fastautoreload_only  # IPython only reloads when the mtime moves forward
def test_new_content_with_older_mtime_reloads(auto, make_module):
    name, path = make_module(versioned(1))
    run(auto, f"from {name} import f")
    write(path, versioned(2), mtime_delta=-30)
    assert value(auto, "f()") == 2


def test_unchanged_module_not_reloaded_when_another_changes(shell, make_module, capsys):
    run(shell, "%autoreload 2 -p")
    changed, changed_path = make_module(versioned(1))
    quiet, _ = make_module(versioned(1))
    run(shell, f"import {changed}, {quiet}")
    write(changed_path, versioned(2))
    capsys.readouterr()
    run(shell, "pass")
    assert capsys.readouterr().out == reloading(changed) + "\n"


def test_silent_cell_does_not_reload(auto, make_module):
    name, path = make_module(versioned(1))
    run(auto, f"import {name}")
    write(path, versioned(2))
    auto.run_cell(f"_far_result = {name}.f()", silent=True)
    assert auto.user_ns["_far_result"] == 1
    assert value(auto, f"{name}.f()") == 2
