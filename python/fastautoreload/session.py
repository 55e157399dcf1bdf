"""Module-level functions that act on the running session's reloader.

Inside IPython with the extension loaded they use its reloader (its skip list, its
reporting flags, its record of what changed); elsewhere a reloader of their own.
"""

from __future__ import annotations

from types import ModuleType

from .reloader import ModuleReloader

_standalone: ModuleReloader | None = None


def _reloader() -> ModuleReloader:
    global _standalone
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:  # pragma: no cover - IPython is a dependency
        shell = None
    magics = getattr(shell, "_fastautoreload_magics", None) if shell is not None else None
    if magics is not None:
        return magics._reloader
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
