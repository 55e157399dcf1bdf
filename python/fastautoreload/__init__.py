"""fastautoreload: IPython's autoreload, rebuilt on a Rust core.

Load it in IPython with ``%load_ext fastautoreload`` and turn it on with
``%autoreload 2``. The public names mirror ``IPython.extensions.autoreload``, so code
written against that module works after changing the import.

Without IPython: ``python -m fastautoreload`` (a prompt, or ``script.py`` / ``-m
module``), or ``fastautoreload.enable()`` in the current process. Importing this package
never imports IPython: the names that need it are loaded when first used.
"""

from importlib import import_module

from ._native import InternalError
from .import_tracker import ImportFromTracker
from .reloader import ModuleReloader, superreload

# The IPython host, imported on first use (``%load_ext`` looks up the first two).
_NEEDS_IPYTHON = {
    "load_ipython_extension": ".extension",
    "unload_ipython_extension": ".extension",
    "AutoreloadMagics": ".magics",
}

# The process-wide session (the plain prompt, programs, ``enable``), also imported on
# first use: ``%load_ext`` never needs it, and it costs a few milliseconds at each start.
_LAZY = {
    "enable": ".live",
    "disable": ".live",
    "dependents": ".session",
    "reload": ".session",
}


def _version() -> str:
    # Asked for on first use: importlib.metadata costs more to import than the rest of
    # the package, and a program run under `python -m fastautoreload` pays it at start.
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("fastautoreload")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"


def __getattr__(name: str):
    if name == "__version__":
        globals()[name] = value = _version()
        return value
    if name in _LAZY:
        globals()[name] = value = getattr(import_module(_LAZY[name], __name__), name)
        return value
    home = _NEEDS_IPYTHON.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        value = getattr(import_module(home, __name__), name)
    except ModuleNotFoundError as error:
        if error.name != "IPython":
            raise
        raise ModuleNotFoundError(
            f"fastautoreload.{name} needs IPython, which is not installed: "
            "pip install 'fastautoreload[ipython]' (without IPython, use "
            "python -m fastautoreload or fastautoreload.enable())",
            name="IPython",
        ) from None
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_NEEDS_IPYTHON) | set(_LAZY) | {"__version__"})


__all__ = [
    "AutoreloadMagics",
    "ImportFromTracker",
    "InternalError",
    "ModuleReloader",
    "dependents",
    "disable",
    "enable",
    "load_ipython_extension",
    "reload",
    "superreload",
    "unload_ipython_extension",
]
