"""Names bound with ``from m import x`` elsewhere, after ``m`` reloaded.

A reload keeps functions and classes as the same objects, so references to those stay
good by themselves. Other values (numbers, strings, tuples, new instances) are new
objects: a module that did ``from config import BATCH`` and the user's ``from config
import BATCH`` still hold the old value. These helpers find such stale bindings; a name
that no longer holds the old value (the user or the module reassigned it) is left alone.
"""

from __future__ import annotations

import sys
from types import ModuleType


def stale_importers(tracker, modname: str, changed: dict[str, object], skip) -> dict:
    """Modules that bound, at import time, a name from ``modname`` whose value changed
    and that still hold the old value, each with the names it bound that way: those
    statements (and what reads them) must run again to compute from the new values.

    Installed code (standard library, site-packages) and skipped modules are left alone.
    """
    stale = {}
    for importer, names in tracker.binders_of(modname):
        if importer in skip or tracker.is_library(importer):
            continue
        module = sys.modules.get(importer)
        if isinstance(module, ModuleType):
            held = _old_values_held(module.__dict__, names, changed)
            if held:
                stale[importer] = held
    return stale


def _old_values_held(namespace: dict, names: list[tuple[str, str]], changed: dict) -> list[str]:
    """The names in ``namespace`` bound from the reloaded module that still hold an old
    value (``*`` for a star import that does)."""
    held = []
    for name, bound_as in names:
        if name == "*":
            if any(namespace.get(n, namespace) is old for n, old in changed.items()):
                held.append("*")
        elif name in changed and namespace.get(bound_as, namespace) is changed[name]:
            held.append(bound_as)
    return held


def refresh_user_namespace(
    user_ns: dict, import_tracker, module: ModuleType, changed: dict
) -> list[str]:
    """Rebinds the user's ``from m import x [as y]`` names that still hold an old value.

    Returns the user names rebound.
    """
    mapping = import_tracker.symbol_map.get(module.__name__, {})
    rebound = []
    for name, old in changed.items():
        if name not in module.__dict__:
            continue
        for alias in mapping.get(name, ()):
            if user_ns.get(alias, user_ns) is old:
                user_ns[alias] = module.__dict__[name]
                rebound.append(alias)
    return rebound
