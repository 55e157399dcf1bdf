"""fastautoreload: IPython's autoreload, rebuilt on a Rust core.

Load it in IPython with ``%load_ext fastautoreload`` and turn it on with
``%autoreload 2``. The public names mirror ``IPython.extensions.autoreload``, so code
written against that module works after changing the import.
"""

from importlib.metadata import PackageNotFoundError, version

from ._native import InternalError
from .extension import load_ipython_extension, unload_ipython_extension
from .import_tracker import ImportFromTracker
from .magics import AutoreloadMagics
from .reloader import ModuleReloader, superreload
from .session import dependents, reload

try:
    __version__ = version("fastautoreload")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

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
