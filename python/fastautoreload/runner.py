"""``python -m fastautoreload [options] script.py [args]`` and ``... -m module [args]``:
the program runs as ``python`` would run it (``__main__``, ``sys.argv``, ``sys.path[0]``,
``-m`` semantics through ``runpy``, exit status, uncaught exceptions), while the edits
saved to its modules are applied as it runs.
"""

from __future__ import annotations

import builtins
import importlib.util
import os
import runpy
import sys
import zipfile
from importlib.machinery import BuiltinImporter, SourceFileLoader
from types import ModuleType

from . import live

_OWN_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "")
_RUNPY_FILES = ("<frozen runpy>", runpy.__file__)


def run_script(path: str, args: list[str], options: live.Options) -> None:
    """Runs the file (or directory, or zip file with a ``__main__.py``) at ``path``."""
    if not os.path.exists(path):
        message = f"can't open file {os.path.abspath(path)!r}: [Errno 2] No such file or directory"
        print(f"{sys.executable}: {message}", file=sys.stderr)
        raise SystemExit(2)
    sys.argv = [path, *args]
    if not getattr(sys.flags, "safe_path", False):
        # `python -m` put the working directory first; `python script.py` puts the
        # script's directory there instead.
        sys.path[0] = os.path.dirname(os.path.realpath(path))
    session = live.start(options, at_prompt=False)
    session.track_program_source(path)
    if os.path.isfile(path) and not zipfile.is_zipfile(path):
        _run(lambda: _run_file(path))
    else:  # a directory or a zip file with a __main__.py: runpy finds it, as python does
        _run(lambda: runpy.run_path(path, run_name="__main__"))


def run_stdin(argv0: str, args: list[str], options: live.Options) -> None:
    """Runs the program read from standard input, as ``python -`` (``argv0`` "-") and
    ``python < file`` (``argv0`` "", a prompt with no terminal) do."""
    sys.argv = [argv0, *args]
    if not getattr(sys.flags, "safe_path", False):
        sys.path[0] = ""
    live.start(options, at_prompt=False)
    main = _fresh_main(None)
    source = sys.stdin.buffer.read()
    _run(lambda: exec(compile(source, "<stdin>", "exec", dont_inherit=True), vars(main)))


def _fresh_main(file: str | None) -> ModuleType:
    """The ``__main__`` module python runs a program in (kept afterwards); ``file`` None:
    a program read from standard input, which python names ``<stdin>``."""
    main = ModuleType("__main__")
    main.__builtins__ = builtins
    main.__cached__ = None
    main.__file__ = "<stdin>" if file is None else file
    main.__loader__ = BuiltinImporter if file is None else SourceFileLoader("__main__", file)
    sys.modules["__main__"] = main
    return main


def _run_file(path: str) -> None:
    """Runs a script as ``python script.py`` does: in a fresh ``__main__`` module (kept
    afterwards), ``__file__`` absolute (3.9+), ``argv[0]`` as typed, the builtins module
    as ``__builtins__``, a source loader, no ``__spec__``. The source is compiled from
    its bytes, so its coding declaration and BOM are honoured."""
    full = os.path.abspath(path)
    main = _fresh_main(full)
    with open(full, "rb") as f:
        source = f.read()
    exec(compile(source, full, "exec", dont_inherit=True), vars(main))


def run_module(name: str, args: list[str], options: live.Options) -> None:
    """Runs module ``name`` (a package: its ``__main__``) as ``python -m name``."""
    sys.argv = ["-m", *args]  # as python has it while it looks for the module
    session = live.start(options, at_prompt=False)  # first: it follows the parents' imports
    spec = _run(lambda: _find(name))
    if spec is None:
        live.shut_down()
        print(f"{sys.executable}: No module named {name}", file=sys.stderr)
        raise SystemExit(1)
    session.track_program_source(spec.origin)
    _run(lambda: runpy.run_module(name, run_name="__main__", alter_sys=True))


def _find(name: str):
    """The spec of what ``python -m name`` runs (a package's ``__main__``), or None."""
    spec = importlib.util.find_spec(name)
    if spec is not None and spec.submodule_search_locations is not None:
        return importlib.util.find_spec(f"{name}.__main__") or spec
    return spec


def _run(function):
    """Calls ``function``; an exception from the program is left to python's own handling
    (its traceback printed, exit status 1, Ctrl-C's exit), from the program's first frame."""
    try:
        return function()
    except SystemExit:
        raise
    except BaseException:
        sys.excepthook = _from_program_frames(sys.excepthook)
        raise


def _from_program_frames(hook):
    def excepthook(kind, value, tb):
        tb = _program_traceback(tb)
        if isinstance(value, BaseException):  # python prints the traceback it holds
            value = value.with_traceback(tb)
        hook(kind, value, tb)

    return excepthook


def _program_traceback(tb):
    """``tb`` without the frames of runpy and fastautoreload it starts with."""
    while tb is not None and _is_ours(tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next
    return tb


def _is_ours(filename: str) -> bool:
    return filename in _RUNPY_FILES or filename.startswith(_OWN_DIR)
