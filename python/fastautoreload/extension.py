"""Loading into and unloading from an IPython shell, without ever stacking two reloaders."""

from __future__ import annotations

import sys

from . import messages
from .magics import AutoreloadMagics

# Where the active instance lives: on the shell, so it survives `%reload_ext`, which
# re-executes this package and would forget a module-level registry.
_ATTR = "_fastautoreload_magics"
_HOOKS = (("pre_run_cell", "pre_run_cell"), ("post_execute", "post_execute_hook"))


def load_ipython_extension(ip) -> None:
    """Register the magics and the cell hooks on ``ip``."""
    unload_ipython_extension(ip)
    _retire_ipython_autoreload(ip)
    magics = AutoreloadMagics(ip)
    ip.register_magics(magics)
    for event, method in _HOOKS:
        ip.events.register(event, getattr(magics, method))
    setattr(ip, _ATTR, magics)


def unload_ipython_extension(ip) -> None:
    """Remove the hooks and magics registered by `load_ipython_extension`."""
    magics = getattr(ip, _ATTR, None)
    if magics is None:
        return
    _unregister_hooks(ip, magics)
    magics._reloader.close()
    line_magics = ip.magics_manager.magics["line"]
    for name in ("autoreload", "aimport"):
        if getattr(line_magics.get(name), "__self__", None) is magics:
            del line_magics[name]
    ip.magics_manager.registry.pop(type(magics).__name__, None)
    setattr(ip, _ATTR, None)


def _unregister_hooks(ip, magics) -> None:
    for event, method in _HOOKS:
        callback = getattr(magics, method)
        if callback in ip.events.callbacks.get(event, []):
            ip.events.unregister(event, callback)


def _retire_ipython_autoreload(ip) -> None:
    """Stop IPython's own autoreload hooks: two reloaders would run each module twice."""
    for event, _method in _HOOKS:
        for callback in list(ip.events.callbacks.get(event, [])):
            owner = getattr(callback, "__self__", None)
            if type(owner).__module__ == "IPython.extensions.autoreload":
                ip.events.unregister(event, callback)
                if event == "pre_run_cell":
                    was_on = bool(owner._reloader.enabled)
                    print(messages.ipython_autoreload_retired(was_on), file=sys.stderr)
