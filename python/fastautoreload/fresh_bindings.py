"""Names bound with ``from m import x`` elsewhere, after ``m`` reloaded.

A reload keeps functions and classes as the same objects, so references to those stay
good by themselves. Other values (numbers, strings, tuples, new instances) are new
objects: a module that did ``from config import BATCH`` and the user's ``from config
import BATCH`` still hold the old value. The native check re-runs the modules that
hold such stale values; this helper rebinds the user's own. A name that no longer holds
the old value (the user reassigned it) is left alone.
"""

from __future__ import annotations

from types import ModuleType


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
