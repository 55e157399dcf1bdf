"""Module-level functions that act on the running session's reloader.

Inside IPython with the extension loaded they use its reloader (its skip list, its
reporting flags, its record of what changed); with ``fastautoreload.enable()`` on, that
one's; elsewhere a reloader of their own.
"""

from __future__ import annotations

import sys
from types import ModuleType

from . import live
from .reloader import ModuleReloader

_standalone: ModuleReloader | None = None


def _reloader() -> ModuleReloader:
    global _standalone
    # Without IPython imported there is no shell (and importing it would cost ~0.2 s).
    get_ipython = getattr(sys.modules.get("IPython"), "get_ipython", None)
    shell = get_ipython() if get_ipython is not None else None
    magics = getattr(shell, "_fastautoreload_magics", None) if shell is not None else None
    if magics is not None:
        return magics._reloader
    enabled = live.active_reloader()
    if enabled is not None:
        return enabled
    if _standalone is None:
        _standalone = ModuleReloader(shell)
    return _standalone


def reload(module: str | ModuleType, deep: bool = True) -> list[str]:
    """Reload ``module`` now, changed or not, keeping its objects' identity.

    With ``deep`` (the default), every changed submodule of a package is reloaded too.
    Modules that bound values from a reloaded module which changed (``from config
    import BATCH``) run again after it, in dependency order; the standard library and
    site-packages are never touched unless named. Returns the names reloaded, in order.
    """
    name = module.__name__ if isinstance(module, ModuleType) else module
    return _reloader().reload_tree(name, deep=deep)


def dependents(module: str | ModuleType) -> list[str]:
    """The modules of your own code that import ``module`` at import time, directly or
    through others, nearest first."""
    name = module.__name__ if isinstance(module, ModuleType) else module
    return _reloader().dependents(name, include_library=False)
