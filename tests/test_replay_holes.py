"""The four holes a replay of real libraries' releases found (issue 14), each reduced to
a small package edited on disk and reloaded in a real IPython shell.

1. ``from m import *`` in an unchanged importer gains (and loses) the names ``m`` now
   exports.
2. Only real uses of ``exec``/``eval``/``globals()``/... run a whole module again, not a
   keyword argument or a parameter of the same name (toolz's ``_signatures.py``).
3. A statement of another module that used a rebuilt value at import runs again (toolz's
   registry filled by a call in ``toolz/__init__.py``).
4. A class statement that runs again leaves one class alive: the old one, patched, with
   classes built on the temporary one rebased, and references rebound when it cannot be
   patched in place.
"""

from __future__ import annotations

import pytest
from conftest import fresh_repr, reloading, run, value, write

pytestmark = pytest.mark.fastautoreload_only


def _reload(shell, capsys):
    capsys.readouterr()
    run(shell, "pass")
    return capsys.readouterr()


# -- 2. a keyword argument named `eval` is not a use of `eval` ---------------------------------
SIGNATURES = """\
signatures = {{}}


def create_signature_registry(module_info, signatures=signatures):
    for name, sigs in module_info.items():
        signatures[name] = tuple(sigs)


module_info = dict(
    eval=[lambda source, globals: None, lambda source, globals, locals: None],
    globals=[lambda: None],
    vars=[lambda: None, lambda obj: None],
)
create_signature_registry(module_info)


def num_required_args(func):
    return {body}
"""


def test_builtin_names_as_keywords_and_parameters_do_not_run_the_module_whole(
    auto, make_module, capsys
):
    name, path = make_module(SIGNATURES.format(body="1"))
    run(auto, "%autoreload 2 -p")
    run(auto, f"import {name} as m\nheld = m.signatures")
    assert value(auto, "len(held)") == 3
    write(path, SIGNATURES.format(body="2"))
    out, err = _reload(auto, capsys)
    # Only the changed function: the registry and what filled it are left as they were.
    assert out == reloading(name, "1 function patched") + "\n"
    assert err == ""
    assert value(auto, "m.num_required_args(None)") == 2
    assert value(auto, "m.signatures is held and len(held) == 3")


def test_a_real_use_of_eval_still_runs_the_module_whole(auto, make_module, capsys):
    source = "TABLE = {{}}\nTABLE['x'] = eval('{v}')\n\n\ndef f():\n    return {v}\n"
    name, path = make_module(source.format(v=1))
    run(auto, "%autoreload 2 -p")
    run(auto, f"import {name} as m\nheld = m.TABLE")
    write(path, source.format(v=2))
    out, _ = _reload(auto, capsys)
    assert out == reloading(name, None) + "\n"
    assert value(auto, "(m.TABLE, m.TABLE is held)") == ({"x": 2}, False)


# -- 1. `from m import *` in an unchanged importer ---------------------------------------------
MORE = """\
__all__ = {all!r}


def chunked():
    return "chunked"


def windowed():
    return "windowed"


def moved():
    return "moved from more"
"""

RECIPES = """\
def take():
    return "take"
{extra}"""

INIT = "from .more import *\nfrom .recipes import *\n"


def _star_package(make_package, init=INIT):
    return make_package(
        {
            "__init__.py": init,
            "more.py": MORE.format(all=["chunked", "moved"]),
            "recipes.py": RECIPES.format(extra=""),
        }
    )


PUBLIC = "sorted(n for n in vars() if not n.startswith('_'))"


def _public(shell, pkg):
    return value(shell, f"sorted(n for n in vars({pkg}) if not n.startswith('_'))")


def test_a_star_importer_gains_the_names_a_release_adds(auto, make_package, pkgdir):
    pkg, root = _star_package(make_package)
    run(auto, f"import {pkg}\nheld = {pkg}.chunked")
    write(root / "more.py", MORE.format(all=["chunked", "moved", "windowed"]))
    write(root / "recipes.py", RECIPES.format(extra="\n\ndef tail():\n    return 'tail'\n"))
    assert value(auto, f"{pkg}.windowed()") == "windowed"
    assert value(auto, f"{pkg}.tail()") == "tail"
    assert value(auto, f"{pkg}.chunked is held is {pkg}.more.chunked")
    assert repr(_public(auto, pkg)) == fresh_repr(pkgdir, pkg, PUBLIC)


def test_a_star_importer_loses_the_names_a_release_drops(auto, make_package, pkgdir):
    pkg, root = _star_package(make_package)
    run(auto, f"import {pkg}")
    # `chunked` leaves `__all__`; `moved` moves from `more` to `recipes`.
    write(root / "more.py", MORE.format(all=["windowed"]).replace("moved from more", "unused"))
    write(root / "recipes.py", RECIPES.format(extra="\n\ndef moved():\n    return 'moved'\n"))
    assert value(auto, f"hasattr({pkg}, 'chunked')") is False
    assert value(auto, f"{pkg}.moved()") == "moved"
    assert value(auto, f"{pkg}.windowed()") == "windowed"
    assert repr(_public(auto, pkg)) == fresh_repr(pkgdir, pkg, PUBLIC)


def test_a_name_the_importer_defines_after_a_star_import_stays_its_own(
    auto, make_package, pkgdir, counter_store
):
    init = (
        f"from {counter_store} import runs\nruns.append('init')\n"
        "from .more import *\n\n\ndef chunked():\n    return 'own'\n"
    )
    pkg, root = _star_package(make_package, init=init)
    run(auto, f"import {pkg}")
    write(root / "more.py", MORE.format(all=["chunked", "moved", "windowed"]))
    assert value(auto, f"({pkg}.chunked(), {pkg}.windowed())") == ("own", "windowed")
    # The star import and the definition after it ran again, not the whole module.
    assert value(auto, f"__import__({counter_store!r}).runs") == ["init"]
    assert repr(_public(auto, pkg)) == fresh_repr(pkgdir, pkg, PUBLIC)


# -- 4. a class statement that runs again leaves one class alive --------------------------------
REGISTERED = """\
class Base:
    def method(self):
        return "base"


class B(Base):
    def method(self):
        return "b+" + super().method()

{helper}


REGISTRY = {{"b": B}}
"""

HELPER = "    def helper(self):\n        return 1\n"
STATIC_HELPER = "    @staticmethod\n    def helper():\n        return 2\n"


def test_a_registry_keeps_the_one_class_when_a_method_becomes_static(auto, make_module):
    name, path = make_module(REGISTERED.format(helper=HELPER))
    run(auto, f"import {name} as m\nold_b = m.B\nold_instance = m.B()")
    write(path, REGISTERED.format(helper=STATIC_HELPER))
    assert value(auto, "m.REGISTRY['b']().method()") == "b+base"
    assert value(auto, "m.REGISTRY['b'] is m.B is old_b")
    assert value(auto, "(m.B.helper(), old_instance.method())") == (2, "b+base")
    assert value(auto, "m.B.method.__closure__[0].cell_contents is m.B")


TAGGED = """\
COUNT = 0


def bump():
    global COUNT
    COUNT += 1


class Base:
    def __init__(self, name):
        self.name = name

    def describe(self):
        return "base " + self.name
{extra}"""

TAG = """

class Tag(Base):
    def __init__(self, name):
        super().__init__(name)
        self.tag = True

    def describe(self):
        return "tag " + super().describe()


TAGS = [Tag]
"""


def test_a_class_added_in_a_whole_module_run_is_built_on_the_canonical_base(auto, make_module):
    name, path = make_module(TAGGED.format(extra=""))
    run(auto, f"import {name} as m\nold_base = m.Base\nkept = m.Base('kept')")
    write(path, TAGGED.format(extra=TAG))
    assert value(auto, "m.Tag('t').describe()") == "tag base t"
    assert value(auto, "m.Base is old_base and m.Tag.__bases__ == (m.Base,)")
    assert value(auto, "isinstance(m.Tag('t'), old_base) and isinstance(kept, m.Base)")
    assert value(auto, "m.TAGS[0] is m.Tag")


SLOTTED = """\
REGISTRY = {{}}
KINDS = []


class Point:
    __slots__ = {slots!r}

    def __init__(self, x):
        self.x = x
{extra}"""


def test_references_to_a_replaced_class_move_to_the_new_one(auto, make_module, capsys):
    name, path = make_module(SLOTTED.format(slots=("x",), extra=""))
    run(auto, f"import {name} as m\nm.REGISTRY['p'] = m.Point\nm.KINDS.append((m.Point, 1))")
    extra = "        self.y = 0\n"
    write(path, SLOTTED.format(slots=("x", "y"), extra=extra))
    out, err = _reload(auto, capsys)
    assert value(auto, "m.REGISTRY['p'] is m.Point and m.KINDS == [(m.Point, 1)]")
    assert value(auto, "m.REGISTRY['p'](1).y") == 0
    lines = [line for line in (out + err).splitlines() if "Point" in line]
    assert len(lines) == 1, out + err
    assert "could not be updated in place" in lines[0]
    assert "2 references to it in the module's names and containers" in lines[0]


def test_a_failed_reload_puts_the_moved_references_back(auto, make_module, ext_module, capsys):
    name, path = make_module(SLOTTED.format(slots=("x",), extra=""))
    run(auto, f"import {name} as m\nold = m.Point\nm.REGISTRY['p'] = old\nm.KINDS.append((old, 1))")
    ext_module._native._inject_fault("heap")
    try:
        write(path, SLOTTED.format(slots=("x", "y"), extra="        self.y = 0\n"))
        _, err = _reload(auto, capsys)
    finally:
        ext_module._native._inject_fault(None)
    assert "fault injected at step 'heap'" in err
    assert value(auto, "m.Point is old and m.REGISTRY['p'] is old and m.KINDS == [(old, 1)]")
    write(path, SLOTTED.format(slots=("x", "y"), extra="        self.y = 1\n"))
    assert value(auto, "m.REGISTRY['p'] is m.Point is not old and m.KINDS[0][0] is m.Point")


# -- 3. a statement that filled another module's state at import runs again ---------------------
SIGS = """\
signatures = {{}}

module_info = dict(
    abs=[lambda x: None],
{extra})


def create_signature_registry(module_info=module_info, signatures=signatures):
    for name, sigs in module_info.items():
        signatures[name] = tuple(sigs)


def unrelated():
    return 1
"""

FUNCTOOLZ = """\
from . import _signatures as _sigs


def num_signatures(name):
    return len(_sigs.signatures.get(name, ()))
"""

# As in toolz, `functoolz` is the package's attribute set by importing the submodule.
TOOLZ_INIT = """\
from {store} import runs
runs.append("init")
from .functoolz import *

functoolz._sigs.create_signature_registry()
"""

OTHER = """\
from {store} import runs
from {pkg} import _signatures
runs.append("other")
ONE = _signatures.unrelated()
"""


def _toolz(make_package, store):
    pkg, root = make_package(
        {
            "__init__.py": TOOLZ_INIT.format(store=store),
            "_signatures.py": SIGS.format(extra=""),
            "functoolz.py": FUNCTOOLZ,
        }
    )
    write(root / "other.py", OTHER.format(store=store, pkg=pkg))
    return pkg, root


def test_a_registry_filled_by_a_call_in_the_package_is_filled_again(
    auto, make_package, counter_store, pkgdir
):
    pkg, root = _toolz(make_package, counter_store)
    run(auto, f"import {pkg}, {pkg}.other\nheld = {pkg}._signatures.signatures")
    assert value(auto, "sorted(held)") == ["abs"]
    extra = "    eval=[lambda source: None, lambda source, globals: None],\n"
    write(root / "_signatures.py", SIGS.format(extra=extra))
    assert value(auto, f"{pkg}.num_signatures('eval')") == 2
    assert value(auto, f"held is {pkg}._signatures.signatures")
    mine = value(auto, "sorted((k, len(v)) for k, v in held.items())")
    expr = "sorted((k, len(v)) for k, v in _sigs.signatures.items())"
    assert repr(mine) == fresh_repr(pkgdir, f"{pkg}.functoolz", expr)
    # Only the call ran again: not the package's other statements, nor `other`, which
    # uses nothing that changed.
    assert value(auto, f"__import__({counter_store!r}).runs") == ["init", "other"]


def test_a_rebuilt_registry_is_filled_again_too(auto, make_package, counter_store):
    pkg, root = _toolz(make_package, counter_store)
    run(auto, f"import {pkg}")
    extra = "    eval=[lambda source: None],\n"
    # `signatures = {}` changes: the registry is a new dict, filled by the package's call.
    source = SIGS.format(extra=extra).replace("signatures = {}", "signatures = dict()")
    write(root / "_signatures.py", source)
    assert value(auto, f"sorted({pkg}._signatures.signatures)") == ["abs", "eval"]
    assert value(auto, f"{pkg}.num_signatures('eval')") == 1


def test_a_value_computed_from_a_function_patched_elsewhere_is_computed_again(
    auto, make_package, counter_store
):
    pkg, root = make_package(
        {
            "__init__.py": "",
            "lib.py": "def scale():\n    return 2\n",
            "app.py": (
                f"from {counter_store} import runs\nruns.append('app')\n"
                "from .lib import scale\nfrom . import lib\n\n"
                "SIZE = scale() * 10\nDIRECT = lib.scale() + 1\nFIXED = 3\n"
            ),
        }
    )
    run(auto, f"from {pkg} import app\n%autoreload 2 -p")
    write(root / "lib.py", "def scale():\n    return 5\n")
    assert value(auto, "(app.SIZE, app.DIRECT, app.FIXED)") == (50, 6, 3)
    assert value(auto, f"__import__({counter_store!r}).runs") == ["app"]


# toolz/curried: a package that re-exports, a cycle (`curried` imports `curried.exceptions`,
# which imports the package, which imports `curried`), and a module deleted at the end.
CORE = """\
class curry:
    def __init__(self, func):
        self.func = func
        self.version = {v}

    def __call__(self, *args):
        return self.func(*args)


def double(x):
    return 2 * x


def merge(*dicts):
    out = {{}}
    for d in dicts:
        out.update(d)
    return out
"""

CURRIED = """\
import {pkg}
from {pkg} import double as plain_double
from .exceptions import merge

double = {pkg}.curry({pkg}.double)
del {pkg}
"""

EXCEPTIONS = """\
import {pkg}

__all__ = ["merge"]


@{pkg}.curry
def merge(*dicts):
    return {pkg}.merge(*dicts)
"""


def test_a_cycle_of_curried_modules_ends_with_one_version_of_each(auto, make_package, pkgdir):
    pkg, root = make_package(
        {
            "__init__.py": "from .core import *\nfrom . import curried\n",
            "core.py": CORE.format(v=1),
            "curried/__init__.py": "",
            "curried/exceptions.py": "",
        }
    )
    write(root / "curried" / "__init__.py", CURRIED.format(pkg=pkg))
    write(root / "curried" / "exceptions.py", EXCEPTIONS.format(pkg=pkg))
    run(auto, f"import {pkg}\nfrom {pkg} import curried")
    assert value(auto, "(curried.double.version, curried.merge.version)") == (1, 1)
    # `curry.__init__` changed: every curried object is built again with it.
    write(root / "core.py", CORE.format(v=2))
    assert value(auto, "(curried.double.version, curried.merge.version)") == (2, 2)
    assert value(auto, "curried.merge is curried.exceptions.merge")
    assert value(auto, f"curried.double(4) == 8 and curried.plain_double is {pkg}.double")
    assert value(auto, f"hasattr(curried, {pkg!r})") is False
    fresh = fresh_repr(pkgdir, f"{pkg}.curried", "sorted(n for n in vars() if '__' not in n)")
    assert repr(value(auto, "sorted(n for n in vars(curried) if '__' not in n)")) == fresh


METACLASS = """\
def deco(f):
    return f


class Meta(type):
{decorator}    def tag(cls):
        return "meta"


class Base(metaclass=Meta):
    def __init__(self):
        self.ok = True
{extra}"""

METACLASS_EXTRA = """

class Tag(Base):
    def __init__(self):
        super().__init__()


class Free(metaclass=Meta):
    pass
"""


def test_classes_built_on_a_temporary_metaclass_move_to_the_canonical_one(auto, make_module):
    name, path = make_module(METACLASS.format(decorator="", extra=""))
    run(auto, f"import {name} as m\nold_meta, old_base = m.Meta, m.Base")
    write(path, METACLASS.format(decorator="    @deco\n", extra=METACLASS_EXTRA))
    assert value(auto, "(m.Meta is old_meta, m.Base is old_base)") == (True, True)
    assert value(auto, "(type(m.Tag) is m.Meta, type(m.Free) is m.Meta)") == (True, True)
    assert value(auto, "m.Tag.__bases__ == (m.Base,) and m.Tag().ok and m.Free.tag()") == "meta"


DECORATED = """\
REGISTRY = {{}}


def register(cls):
    REGISTRY[cls.__name__] = cls
    return cls


@register
class B:
    def method(self):
        return "b" + str(self.helper())

{helper}"""


def test_a_registry_a_decorator_fills_holds_the_canonical_class(auto, make_module):
    name, path = make_module(DECORATED.format(helper=HELPER))
    run(auto, f"import {name} as m\nold_b, held = m.B, m.REGISTRY")
    write(path, DECORATED.format(helper=STATIC_HELPER))
    assert value(auto, "m.REGISTRY is held and m.REGISTRY['B'] is m.B is old_b")
    assert value(auto, "m.REGISTRY['B']().method()") == "b2"


# -- a module that borrows another's file (toolz's `tlz`) ---------------------------------------
REAL = """\
class Curry:
    def call(self):
        return {v}


def helper():
    return {v}
"""

ALIAS_FINDER = """\
import importlib, sys, types


class _Spec:
    def __init__(self, name, loader):
        self.name, self.loader, self.origin = name, loader, None
        self.submodule_search_locations, self.loader_state, self.cached = None, None, None
        self.parent, self.has_location = "", False
        self._uninitialized_submodules = []  # read by the import system for packages


class AliasLoader:
    # As toolz's TlzLoader: a module made from another's namespace, with its __file__
    # (`tlz.functoolz` from `toolz/functoolz.py`: a dotted alias, made in its package).
    def find_spec(self, fullname, path, target=None):
        if fullname == {alias!r}:
            return _Spec(fullname, self)
        if {alias!r}.startswith(fullname + "."):
            spec = _Spec(fullname, self)
            spec.submodule_search_locations = []
            return spec

    def create_module(self, spec):
        return types.ModuleType(spec.name)

    def exec_module(self, module):
        if module.__name__ != {alias!r}:
            module.__path__ = []
            return
        real = importlib.import_module({real!r})
        module.__dict__.update({{k: v for k, v in vars(real).items() if not k.startswith("__")}})
        module.__file__ = real.__file__


sys.meta_path.append(AliasLoader())
"""


@pytest.mark.parametrize("dotted", [False, True], ids=["top-level", "dotted"])
def test_a_module_that_borrows_another_modules_file_is_not_run_from_it(
    auto, make_module, capsys, dotted
):
    real, real_path = make_module(REAL.format(v=1))
    # Dotted, its last part is the borrowed file's name, as `tlz.functoolz`'s is.
    alias = f"far_borrowing.{real}" if dotted else real + "_alias"
    finder, _ = make_module(ALIAS_FINDER.format(alias=alias, real=real), prefix="finder")
    run(auto, "%autoreload 2 -p")
    run(auto, f"import {finder}, {real}, {alias}\nheld = {alias}.Curry")
    assert value(auto, f"{alias}.__file__ == {real}.__file__") is True
    write(real_path, REAL.format(v=2) + "\n\nclass Added(Curry):\n    pass\n")
    out, err = _reload(auto, capsys)
    assert f"Reloading '{real}'." in out, out + err
    assert f"'{alias}'" not in out + err
    assert value(auto, f"held is {real}.Curry is {alias}.Curry") is True
    assert value(auto, f"{alias}.Curry().call(), {alias}.helper()") == (2, 2)
