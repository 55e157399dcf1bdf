"""fastautoreload: IPython's autoreload, rebuilt on a Rust core.

Load it in IPython with ``%load_ext fastautoreload`` and turn it on with
``%autoreload 2``. The public names mirror ``IPython.extensions.autoreload``, so code
written against that module works after changing the import.
"""

from ._native import InternalError
from .extension import load_ipython_extension, unload_ipython_extension
from .import_tracker import ImportFromTracker
from .magics import AutoreloadMagics
from .reloader import ModuleReloader, superreload
from .session import dependents, reload

__all__ = [
    "AutoreloadMagics",
    "ImportFromTracker",
    "InternalError",
    "ModuleReloader",
    "dependents",
    "load_ipython_extension",
    "reload",
    "superreload",
    "unload_ipython_extension",
]


def __getattr__(name: str) -> str:
    # `__version__` is looked up when asked for: `importlib.metadata` imports some fifty
    # modules (email, zipfile, csv...), which would add megabytes and milliseconds to
    # every `%load_ext` for a line almost nobody reads.
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("fastautoreload")
    except PackageNotFoundError:  # running from a source tree that was never installed
        found = "0+unknown"
    globals()["__version__"] = found
    return found
