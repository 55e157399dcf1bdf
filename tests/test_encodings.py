"""Module files in other encodings and line endings: a UTF-8 BOM, a latin-1 coding cookie,
an invalid BOM-plus-cookie file, CRLF line endings. Each edit must apply with the value a
fresh interpreter gives for the new file, on the partial path (a function body, a
top-level statement) and on the whole-module path (``%autoreload 2-``).
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import textwrap
from pathlib import Path

import pytest
from conftest import EXT_MODULE_NAME, IS_IPYTHON, fresh_repr, reloading, run, unique_name, value

BOM = b"\xef\xbb\xbf"


def write_bytes(path: Path, data: bytes) -> Path:
    """As conftest's ``write``, for exact bytes: the mtime moves at least 2 s forward on an
    edit, stale bytecode goes and the import system's caches are invalidated."""
    before = path.stat().st_mtime_ns if path.exists() else None
    path.write_bytes(data)
    if before is not None:
        wanted = max(before + 2_000_000_000, path.stat().st_mtime_ns)
        os.utime(path, ns=(wanted, wanted))
    shutil.rmtree(path.parent / "__pycache__", ignore_errors=True)
    importlib.invalidate_caches()
    return path


def source(text: str, *, encoding: str = "utf-8", bom: bool = False, crlf: bool = False):
    text = textwrap.dedent(text)
    if crlf:
        text = text.replace("\n", "\r\n")
    return (BOM if bom else b"") + text.encode(encoding)


@pytest.fixture
def make_file(pkgdir):
    """``make_file(data) -> (name, path)``: a new module written with exactly ``data``."""

    def make(data: bytes):
        name = unique_name("enc")
        return name, write_bytes(pkgdir / f"{name}.py", data)

    return make


def _needs_full_mode() -> None:
    """``%autoreload 2-`` came with IPython 9; fastautoreload accepts it everywhere."""
    import IPython

    if IS_IPYTHON and int(IPython.__version__.split(".")[0]) < 9:
        pytest.skip("IPython 8's autoreload has no trailing '-' (whole-module) mode")


def _failures(err: str, name: str) -> int:
    return err.count(f"[autoreload of {name} failed:")


BOM_V1 = """\
GREETING = "héllo"
DOUBLE = len(GREETING) * 2


def f():
    return "one é"


def where():
    raise ValueError("here")  # line 10
"""


# -- UTF-8 with a BOM --------------------------------------------------------------------------
def test_bom_function_body_edit_is_patched(shell, make_file, pkgdir, capsys):
    """BOM file, a function body edited (still with a BOM): patched alone, new value."""
    run(shell, "%autoreload 2 -p")
    name, path = make_file(source(BOM_V1, bom=True))
    run(shell, f"import {name}\nfrom {name} import f")
    write_bytes(path, source(BOM_V1.replace('"one é"', '"two ü"'), bom=True))
    capsys.readouterr()
    assert value(shell, "f()") == "two ü"
    out, err = capsys.readouterr()
    assert reloading(name, "1 function patched") in out
    assert err == ""
    assert value(shell, f"{name}.GREETING") == "héllo"
    assert repr(value(shell, "f()")) == fresh_repr(pkgdir, name, "f()")


def test_bom_top_level_statement_edit_reruns_it(shell, make_file, pkgdir, capsys):
    """BOM file, a top-level statement edited: it and its reader run again, new values."""
    run(shell, "%autoreload 2 -p")
    name, path = make_file(source(BOM_V1, bom=True))
    run(shell, f"import {name}\nfrom {name} import f")
    write_bytes(path, source(BOM_V1.replace('"héllo"', '"grüße!"'), bom=True))
    capsys.readouterr()
    assert value(shell, f"{name}.GREETING") == "grüße!"
    assert value(shell, f"{name}.DOUBLE") == 12
    out, err = capsys.readouterr()
    assert reloading(name, "2 statements") in out
    assert err == ""
    assert value(shell, "f()") == "one é"
    assert repr(value(shell, f"{name}.GREETING")) == fresh_repr(pkgdir, name, "GREETING")


def test_bom_whole_module_reload_with_trailing_dash(shell, make_file, capsys):
    """``%autoreload 2-``: a BOM file edited is run whole and gives the new values."""
    _needs_full_mode()
    run(shell, "%autoreload 2- -p")
    name, path = make_file(source(BOM_V1, bom=True))
    run(shell, f"import {name}\nfrom {name} import f")
    edited = BOM_V1.replace('"héllo"', '"grüße!"').replace('"one é"', '"two ü"')
    write_bytes(path, source(edited, bom=True))
    capsys.readouterr()
    assert value(shell, "f()") == "two ü"
    assert value(shell, f"{name}.DOUBLE") == 12
    out, err = capsys.readouterr()
    assert f"Reloading '{name}'.\n" in out
    assert err == ""


@pytest.mark.fastautoreload_only  # IPython's source differ misses the second edit
def test_bom_added_then_removed_changes_values_only_when_code_changes(shell, make_file):
    """A BOM added by an editor on the same code, then an edit without it: values right."""
    run(shell, "%autoreload 2")
    name, path = make_file(source(BOM_V1))
    run(shell, f"from {name} import f")
    write_bytes(path, source(BOM_V1, bom=True))
    assert value(shell, "f()") == "one é"
    write_bytes(path, source(BOM_V1.replace('"one é"', '"three"')))
    assert value(shell, "f()") == "three"


@pytest.mark.parametrize("bom", [False, True], ids=["plain", "bom"])
def test_traceback_line_after_body_edit(shell, make_file, bom):
    """After a body edit (with or without a BOM) a traceback points at the real line."""
    run(shell, "%autoreload 2")
    name, path = make_file(source(BOM_V1, bom=bom))
    run(shell, f"from {name} import where")
    edited = BOM_V1.replace('raise ValueError("here")  # line 10', 'raise KeyError("now")  # 10')
    write_bytes(path, source(edited, bom=bom))
    run(
        shell,
        """
        import traceback
        try:
            where()
        except KeyError as error:
            _far_line = traceback.extract_tb(error.__traceback__)[-1].lineno
        """,
    )
    assert shell.user_ns["_far_line"] == 10


# -- latin-1 with a coding cookie --------------------------------------------------------------
LATIN1_V1 = """\
# -*- coding: latin-1 -*-
TEXT = "café"
thé = 1
noël = 2


def f():
    return "naïve"


def g():
    return thé
"""


@pytest.mark.parametrize(
    ("old", "new", "expr"),
    [
        pytest.param('"naïve"', '"déjà vu"', "f()"),
        pytest.param('"café"', '"crème brûlée"', "TEXT"),
        pytest.param("return thé", "return noël", "g()"),
        pytest.param('"naïve"', '"naïve!"', "f()"),
        ('return "naïve"', 'return "naïve" * 2', "f()"),  # the edit is in ASCII tokens
    ],
    ids=["function-body", "statement", "identifier", "same-string", "ascii-tokens"],
)
def test_latin1_cookie_edit_gives_the_right_string(shell, make_file, pkgdir, old, new, expr):
    """A latin-1 file with a coding cookie, edited: the value is what a fresh interpreter
    gives for the new file."""
    run(shell, "%autoreload 2")
    name, path = make_file(source(LATIN1_V1, encoding="latin-1"))
    run(shell, f"import {name}\nfrom {name} import f")
    before = value(shell, f"{name}.{expr}")
    assert repr(before) == fresh_repr(pkgdir, name, expr)
    write_bytes(path, source(LATIN1_V1.replace(old, new), encoding="latin-1"))
    got = value(shell, f"{name}.{expr}")
    assert repr(got) == fresh_repr(pkgdir, name, expr)
    assert got != before


def test_latin1_cookie_whole_module_reload(shell, make_file, pkgdir):
    """``%autoreload 2-`` on a latin-1 file: the whole module runs with the right strings."""
    _needs_full_mode()
    run(shell, "%autoreload 2-")
    name, path = make_file(source(LATIN1_V1, encoding="latin-1"))
    run(shell, f"import {name}")
    edited = LATIN1_V1.replace('"café"', '"crème"').replace('"naïve"', '"Noël"')
    write_bytes(path, source(edited, encoding="latin-1"))
    assert value(shell, f"({name}.TEXT, {name}.f())") == ("crème", "Noël")
    assert repr(value(shell, f"{name}.f()")) == fresh_repr(pkgdir, name, "f()")


# -- a BOM with a latin-1 cookie: not valid Python ---------------------------------------------
@pytest.fixture
def bom_with_latin1(shell, make_file, capsys):
    """A BOM module imported, then saved with a BOM and a latin-1 cookie (a SyntaxError).

    Returns ``(name, path, stderr of the first cell after the edit)``.
    """
    run(shell, "%autoreload 2")
    name, path = make_file(source(BOM_V1, bom=True))
    run(shell, f"import {name}\nfrom {name} import f")
    broken = "# -*- coding: latin-1 -*-\n" + BOM_V1.replace('"one é"', '"broken"')
    write_bytes(path, source(broken, bom=True))
    capsys.readouterr()
    run(shell, "pass")
    return name, path, capsys.readouterr().err


def test_bom_with_latin1_cookie_reported_once_as_syntax_error(bom_with_latin1):
    """Exactly one failure report, and it is a SyntaxError naming the file."""
    name, path, err = bom_with_latin1
    assert _failures(err, name) == 1
    assert err.count("SyntaxError") == 1
    assert f'File "{path}"' in err
    assert "internal error" not in err


@pytest.mark.fastautoreload_only  # IPython's report shows its own and importlib's frames
def test_bom_with_latin1_cookie_report_has_no_frames_of_the_reloader(bom_with_latin1):
    """The report is the error as Python words it: no traceback frames of the reloader's
    own files (nor importlib's), only the file's location."""
    name, _, err = bom_with_latin1
    assert "Traceback (most recent call last)" not in err
    frames = re.findall(r'File "([^"]+)", line \d+, in ', err)
    own = os.path.dirname(importlib.import_module(EXT_MODULE_NAME).__file__)
    assert [f for f in frames if f.startswith(own)] == [], err


def test_bom_with_latin1_cookie_keeps_old_code_and_fix_applies(shell, bom_with_latin1, capsys):
    """The old code keeps working, the failure is not repeated, and a fix applies."""
    name, path, _ = bom_with_latin1
    assert value(shell, "f()") == "one é"
    assert value(shell, f"{name}.GREETING") == "héllo"
    assert capsys.readouterr().err == ""
    write_bytes(path, source(BOM_V1.replace('"one é"', '"fixed"'), bom=True))
    assert value(shell, "f()") == "fixed"
    assert value(shell, f"{name}.f()") == "fixed"
    assert capsys.readouterr().err == ""


# -- CRLF line endings -------------------------------------------------------------------------
CRLF_V1 = """\
VALUE = 1
DOUBLE = VALUE * 2


def f():
    return "one"


class C:
    def m(self):
        return "m1"
"""


# IPython's source differ does not re-run DOUBLE = VALUE * 2 in a CRLF file.
@pytest.mark.parametrize("mode", [pytest.param("2", marks=pytest.mark.fastautoreload_only), "2-"])
def test_crlf_edits_apply(shell, make_file, pkgdir, mode):
    """A CRLF file: a body edit, a method edit and a statement edit all apply."""
    if mode == "2-":
        _needs_full_mode()
    run(shell, f"%autoreload {mode}")
    name, path = make_file(source(CRLF_V1, crlf=True))
    run(shell, f"import {name}\nfrom {name} import f, C\nobj = C()")
    write_bytes(path, source(CRLF_V1.replace('"one"', '"two"'), crlf=True))
    assert value(shell, "f()") == "two"
    write_bytes(path, source(CRLF_V1.replace('"m1"', '"m2"'), crlf=True))
    assert value(shell, "obj.m()") == "m2"
    write_bytes(path, source(CRLF_V1.replace("VALUE = 1", "VALUE = 5"), crlf=True))
    assert value(shell, f"({name}.VALUE, {name}.DOUBLE)") == (5, 10)
    assert value(shell, "f()") == "one"
    assert repr(value(shell, f"{name}.DOUBLE")) == fresh_repr(pkgdir, name, "DOUBLE")


@pytest.mark.fastautoreload_only  # IPython's source differ misses the edit back to CRLF
def test_crlf_file_edited_to_lf_and_back(shell, make_file):
    """Line endings changed by an editor with the code, both ways: the edits apply."""
    run(shell, "%autoreload 2")
    name, path = make_file(source(CRLF_V1, crlf=True))
    run(shell, f"from {name} import f")
    write_bytes(path, source(CRLF_V1.replace('"one"', '"lf"')))
    assert value(shell, "f()") == "lf"
    write_bytes(path, source(CRLF_V1.replace('"one"', '"crlf"'), crlf=True))
    assert value(shell, "f()") == "crlf"


@pytest.mark.fastautoreload_only  # IPython's source differ does not re-run DOUBLE
def test_cr_only_line_endings_edits_apply(shell, make_file, pkgdir):
    """Old Mac line endings (a lone CR, which Python accepts): body and statement edits
    apply with the values a fresh interpreter gives."""
    run(shell, "%autoreload 2")
    text = CRLF_V1.replace("\n", "\r")
    name, path = make_file(text.encode())
    run(shell, f"import {name}\nfrom {name} import f")
    write_bytes(path, text.replace('"one"', '"two"').encode())
    assert value(shell, "f()") == "two"
    write_bytes(path, text.replace('"one"', '"two"').replace("VALUE = 1", "VALUE = 5").encode())
    assert value(shell, f"({name}.VALUE, {name}.DOUBLE)") == (5, 10)
    assert repr(value(shell, f"{name}.DOUBLE")) == fresh_repr(pkgdir, name, "DOUBLE")
