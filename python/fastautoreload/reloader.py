"""The reload policy: which modules to check, what to report, what to do on failure.

The work itself (finding changed files, hashing, re-executing, patching objects) is in
the native core; this file keeps the IPython-compatible state and wording around it.
"""

from __future__ import annotations

import logging
import os
import site
import sys
import sysconfig
import time
import traceback
import weakref
from importlib import import_module
from types import ModuleType

from . import _native, fresh_bindings
from .import_tracker import ImportFromTracker

logger = logging.getLogger("autoreload")

# Module attributes that mode 3 never pushes into the user namespace.
_MODULE_DUNDERS = frozenset(
    {
        "__name__",
        "__doc__",
        "__package__",
        "__loader__",
        "__spec__",
        "__file__",
        "__cached__",
        "__builtins__",
        "__path__",
    }
)


def _quiet(msg: str) -> None:
    pass


_quiet.active = False  # nobody asked to see activity: keep detection notes for later


class ModuleReloader:
    """Reloads changed modules; the counterpart of IPython's ``ModuleReloader``."""

    enabled = False
    """Whether this reloader checks modules before each cell."""

    check_all = True
    """Check every module in ``sys.modules``, not just those listed in ``modules``."""

    autoload_obj = False
    """Mode 3: also push new and changed module names into the user namespace."""

    def __init__(self, shell=None):
        self.shell = shell
        self.modules: dict[str, bool] = {}
        """Modules marked by ``%aimport`` (the whitelist of mode 1)."""
        self.skip_modules: dict[str, bool] = {}
        """Modules never reloaded, in every mode."""
        self.failed: dict[str, str] = {}
        """Source path -> content hash of the version that failed to reload."""
        self.old_objects: dict[tuple[str, str], list[weakref.ref]] = {}
        """(module, name) -> weak references to objects registered by ``superreload``."""
        self.hide_errors = False
        self.full_reload = False
        """Re-execute whole modules instead of only what changed (``--full``, ``2-``)."""
        self.import_from_tracker = ImportFromTracker({}, {})
        self._report = _quiet
        self._tracker = _native.Tracker(_library_roots(), poll=_polling_forced())
        self.reload_times: list[tuple[str, float]] = []
        """(module, milliseconds) for every reload done, for ``%autoreload --stats``."""
        self.check(check_all=True, do_reload=False)

    # -- the marks used by %aimport ---------------------------------------------------

    def mark_module_skipped(self, module_name: str) -> None:
        """Never reload the named module."""
        self.modules.pop(module_name, None)
        self.skip_modules[module_name] = True

    def mark_module_reloadable(self, module_name: str) -> None:
        """Reload the named module in mode 1 (once it is imported)."""
        self.skip_modules.pop(module_name, None)
        self.modules[module_name] = True

    def aimport_module(self, module_name: str) -> tuple[ModuleType, str]:
        """Mark a module reloadable, import it, and return its top-level package and name."""
        self.mark_module_reloadable(module_name)
        import_module(module_name)
        top_name = module_name.split(".")[0]
        return sys.modules[top_name], top_name

    def clear_import_tracker(self) -> None:
        self.import_from_tracker = ImportFromTracker({}, {})

    def filename_and_mtime(self, module) -> tuple[str | None, float | None]:
        """The module's source path and its mtime, or ``(None, None)`` if it is not tracked."""
        return _native.filename_and_mtime(module)

    # -- checking and reloading ---------------------------------------------------------

    def check(self, check_all: bool = False, do_reload: bool = True, execution_info=None) -> None:
        """Reload every tracked module whose source content changed since it was loaded."""
        if not self.enabled and not check_all:
            return
        self._tracker.sync(sys.modules)
        names = None if (check_all or self.check_all) else list(self.modules)
        changes = self._tracker.changed(names, list(self.skip_modules))
        self._report_notes()
        if not do_reload:
            for change in changes:
                self._tracker.commit(change)
            return
        self._reload_batch(changes)

    def reload_tree(self, name: str, deep: bool = True) -> list[str]:
        """Reload module ``name`` now (changed or not); with ``deep``, also its changed
        submodules. Modules that bound changed values from them follow. Returns the
        names reloaded, in order."""
        module = sys.modules.get(name)
        if module is None:
            raise ImportError(f"module {name!r} is not imported")
        self._tracker.sync(sys.modules)
        forced = self._tracker.current(name)
        if forced is None:
            raise ImportError(f"cannot reload {name!r}: it has no Python source file")
        batch = [forced]
        if deep:
            library_ok = self._tracker.is_library(name)
            subs = [
                sub
                for sub in list(sys.modules)
                if sub.startswith(name + ".") and (library_ok or not self._tracker.is_library(sub))
            ]
            batch += self._tracker.changed(subs, list(self.skip_modules)) if subs else []
        order = self._tracker.order([c.name for c in batch])
        by_name = {c.name: c for c in batch}
        return self._reload_batch([by_name[n] for n in order], forced=(name,))

    def _reload_batch(self, changes, forced: tuple[str, ...] = ()) -> list[str]:
        """Reloads ``changes`` (already in dependency order) and then the modules that
        bound values from them which changed; returns the names reloaded. ``forced``
        modules run whole, as ``importlib.reload`` would run them."""
        pending = {change.name: change for change in changes}
        order = [change.name for change in changes]
        because: dict[str, str] = {}  # modules run only for stale values, and whose
        stale: dict[str, list[str]] = {}  # names bound from modules reloaded before
        done: list[str] = []
        while order:
            name = order.pop(0)
            change = pending.pop(name)
            result = self._reload(
                change, stale.get(name, []), because.get(name), whole=name in forced
            )
            done.append(name)
            if result is None:
                continue
            added = []
            for importer, names in self._refresh_bindings(name, result).items():
                if importer in done:
                    continue
                stale.setdefault(importer, []).extend(names)
                if importer not in pending:
                    current = self._tracker.current(importer)
                    if current is not None:
                        pending[importer] = current
                        because[importer] = name
                        added.append(importer)
            if added:
                order = self._tracker.order(order + added)
        return done

    def _refresh_bindings(self, modname: str, result) -> dict[str, list[str]]:
        """After ``modname`` reloaded: rebinds the user's stale ``from`` imports and
        returns the modules that must run again because they hold stale values, with the
        names they hold them under."""
        changed = dict(result.previous)  # name -> value before, for names that changed
        if not changed:
            return {}
        module = sys.modules[modname]
        if self.shell is not None:
            fresh_bindings.refresh_user_namespace(
                self.shell.user_ns, self.import_from_tracker, module, changed
            )
        stale = fresh_bindings.stale_importers(self._tracker, modname, changed, self.skip_modules)
        if not self.check_all:  # mode 1: only the modules marked with %aimport
            stale = {name: names for name, names in stale.items() if name in self.modules}
        return stale

    def _reload(self, change, stale=(), because_of=None, whole: bool = False):
        """Reloads one module; returns the native result, or None if it failed.

        ``stale`` names were bound from modules reloaded before and hold old values;
        ``because_of`` names that module when this one runs only for them; ``whole``
        runs it all."""
        module = sys.modules.get(change.name)
        if module is None:
            return None
        plan = self._plan(change, list(stale), because_of is not None, whole)
        if because_of is not None:
            detail = f" (it imports changed values from '{because_of}')"
        elif plan is not None and plan.full is None:
            detail = f" ({plan.summary})"
        else:
            detail = ""  # the whole module runs, as with IPython's autoreload
        self._report(f"Reloading '{change.name}'{detail}.")
        start = time.perf_counter()
        try:
            result = _native.reload_module(module, change.source, change.path, plan)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException:  # the module's own errors, and (never expected) a panic
            self._tracker.fail(change)
            self.failed[change.path] = change.hash
            self._report_failure(change.name, change.path)
            return None
        self.reload_times.append((change.name, (time.perf_counter() - start) * 1e3))
        self._tracker.commit(change)
        self.failed.pop(change.path, None)
        for warning in result.warnings:
            print(f"[autoreload of {change.name}: {warning}]", file=sys.stderr)
        if self.autoload_obj and self.shell is not None:
            self._push_to_user_ns(module, result.rebound)
        return result

    def _plan(self, change, stale: list[str], unchanged: bool, whole: bool):
        """What to run: None for the whole module."""
        if whole or self.full_reload:
            return None
        if unchanged:
            return self._tracker.plan_rerun(change, stale)
        return self._tracker.plan(change, stale)

    def _report_notes(self) -> None:
        """How changes are detected, when that changes (a fallback to polling), said once
        to a user who asked to see activity (``-p``/``-l``)."""
        if getattr(self._report, "active", True):
            for note in self._tracker.take_notes():
                self._report(f"fastautoreload: {note}.")

    def stats(self) -> dict:
        """What the reloader tracks and what its checks and reloads cost."""
        stats = dict(self._tracker.stats())
        stats["reloads_done"] = len(self.reload_times)
        stats["reload_ms"] = [round(ms, 3) for _, ms in self.reload_times[-10:]]
        return stats

    def _report_failure(self, modname: str, path: str) -> None:
        if self.hide_errors:
            return
        # Printed once: IPython logs through a handler-less logger (which lands on stderr
        # through logging.lastResort) and then prints the same traceback again.
        # Logged only where logging is set up, and then as one line, so it never shows twice.
        print(f"[autoreload of {modname} failed: {_format_reload_error()}]", file=sys.stderr)
        if logger.hasHandlers():
            logger.error("Failed to reload module '%s' from file '%s'", modname, path)

    def _push_to_user_ns(self, module: ModuleType, names: list[str]) -> None:
        """Mode 3: bind the module's new or changed names in the user namespace.

        Names the cells imported with ``from m import x [as y]`` go to their aliases.
        For a module only imported whole, the names ``from m import *`` would bind go
        under their own name (public ones, or those in ``__all__``; never modules), so
        the user's namespace does not fill up with the module's internals.
        """
        user_ns = self.shell.user_ns
        namespace = module.__dict__
        public = namespace.get("__all__")
        for name in names:
            if name in _MODULE_DUNDERS or name == "Enum" or name not in namespace:
                continue
            value = namespace[name]
            targets = self.import_from_tracker.targets(module.__name__, name)
            if targets is None:
                exported = name in public if public is not None else not name.startswith("_")
                if not exported or isinstance(value, ModuleType):
                    continue
                targets = [name]
            for target in targets:
                user_ns[target] = value


def _polling_forced() -> bool:
    """``FASTAUTORELOAD_POLL=1`` asks for polling instead of file events."""
    return os.environ.get("FASTAUTORELOAD_POLL", "").strip().lower() in ("1", "true", "yes", "on")


def _library_roots() -> list[str]:
    """Where installed code lives: the standard library and site-packages directories."""
    paths = sysconfig.get_paths()
    roots = {paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib") if key in paths}
    roots.update(site.getsitepackages() if hasattr(site, "getsitepackages") else [])
    return sorted(roots | {os.path.realpath(root) for root in roots})


def _format_reload_error() -> str:
    """The current exception, without the frames of the reload machinery itself."""
    etype, value, tb = sys.exc_info()
    # Drop our own frame (the call into the native core) so the traceback starts in the
    # user's module; a SyntaxError has no frames of its own and keeps its file and line.
    if tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    return "".join(traceback.format_exception(etype, value, tb, limit=10))


def superreload(
    module: ModuleType, reload=None, old_objects=None, shell=None, import_from_tracker=None
) -> ModuleType:
    """Reload ``module`` from its source file, keeping its objects' identity.

    The same call shape as IPython's ``superreload``. ``reload`` is accepted for
    compatibility and unused: the source is compiled from the file itself, never from a
    cached ``.pyc``. When ``old_objects`` is given, the functions and classes the module
    defined are registered there (once each) and every still-alive object registered under
    the same name is brought up to date too. With ``shell``, changed and new names are
    pushed into ``shell.user_ns`` as mode 3 does. Raises what the module's code raised,
    leaving the module as it was.
    """
    path = _native.source_path(module)
    if path is None:
        raise ImportError(f"cannot reload {module.__name__!r}: no Python source file")
    with open(path, "rb") as f:
        source = f.read()
    stale = _register_old_objects(module, old_objects)
    result = _native.reload_module(module, source, path)
    for name, old in stale:
        if name in module.__dict__:
            _native.update_object(old, module.__dict__[name])
    if shell is not None:
        reloader = ModuleReloader.__new__(ModuleReloader)
        reloader.shell = shell
        reloader.import_from_tracker = import_from_tracker or ImportFromTracker({}, {})
        reloader._push_to_user_ns(module, result.rebound)
    return module


def _register_old_objects(module: ModuleType, old_objects) -> list[tuple[str, object]]:
    """Register the module's own objects in ``old_objects`` (no duplicates).

    Returns ``(name, object)`` for each live registered object that is no longer the one
    the module holds under that name, i.e. the stale versions to bring up to date.
    """
    if old_objects is None:
        return []
    stale = []
    modname = module.__name__
    for name, obj in list(module.__dict__.items()):
        if getattr(obj, "__module__", None) != modname:
            continue
        refs = old_objects.setdefault((modname, name), [])
        live = [r for r in refs if r() is not None]
        try:
            ref = weakref.ref(obj)
        except TypeError:
            continue
        if ref not in live:
            live.append(ref)
        refs[:] = live
        stale.extend((name, r()) for r in live if r() is not obj)
    return stale
