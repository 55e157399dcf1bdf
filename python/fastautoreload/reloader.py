"""The reload policy: which modules to check, what to report, what to do after a reload.

The work itself (noticing changed files, ordering, re-executing, patching objects, and
re-running the importers of changed values) is one native call per check,
``Tracker.check(sys.modules, policy)``, which returns events; this file keeps the
IPython-compatible state, turns the state into a ``CheckPolicy``, and acts on the events
(messages, the user's namespace).
"""

from __future__ import annotations

import logging
import os
import site
import sys
import sysconfig
import threading
import weakref
from importlib import import_module
from types import ModuleType

from . import _native, messages
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


class CheckPolicy:
    """What one native check may do (read by ``Tracker.check``, attribute by attribute).

    A plain class: a ``typing.NamedTuple`` took 0.4 ms to define, paid at every
    ``%load_ext``.
    """

    __slots__ = ("only", "skip", "full", "reload", "forced", "importers")

    def __init__(
        self,
        only: tuple[str, ...] | None,
        skip: tuple[str, ...] = (),
        full: bool = False,
        reload: bool = True,
        forced: tuple[str, ...] = (),
        importers: tuple[str, ...] | None = None,
    ):
        self.only = only
        """Check only these modules (mode 1: those marked with ``%aimport``); None: all."""
        self.skip = skip
        """Never reload these (``%aimport -m``). Their changes stay pending."""
        self.full = full
        """Run whole modules, never only what changed (``--full``, ``2-``)."""
        self.reload = reload
        """False: take what the files hold now as what the modules run (at load)."""
        self.forced = forced
        """Reload these now, whole, changed or not (``%autoreload now pkg``)."""
        self.importers = importers
        """Modules that may run again for values they imported that changed; None: any."""

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"CheckPolicy({fields})"


class _OneCallerAtATime:
    """The native tracker, called by one thread at a time.

    Its calls release the GIL while they read files, so another thread (one calling
    ``fastautoreload.reload()`` while cells run, say) could otherwise call in meanwhile
    and find it busy. Waiting on the lock releases the GIL, so the first call finishes.
    """

    def __init__(self, tracker):
        self._tracker = tracker
        self._lock = threading.RLock()

    def __getattr__(self, name):
        method = getattr(self._tracker, name)

        def call(*args, **kwargs):
            with self._lock:
                return method(*args, **kwargs)

        return call

    def call_if_free(self, name: str, *args) -> bool:
        """Calls ``tracker.name(*args)`` unless another thread is in a call; returns
        whether it ran. For callers that must never wait (in the middle of an import,
        waiting on a thread that may be waiting on that import would deadlock)."""
        if not self._lock.acquire(blocking=False):
            return False
        try:
            getattr(self._tracker, name)(*args)
            return True
        finally:
            self._lock.release()


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

    def __init__(self, shell=None, *, poll: bool | None = None):
        """``poll``: detect changes by polling only (None: as ``FASTAUTORELOAD_POLL``
        says)."""
        self.shell = shell
        self.modules: dict[str, bool] = {}
        """Modules marked by ``%aimport`` (the whitelist of mode 1)."""
        self.skip_modules: dict[str, bool] = {}
        """Modules never reloaded, in every mode."""
        self.old_objects: dict[tuple[str, str], list[weakref.ref]] = {}
        """(module, name) -> weak references to objects registered by ``superreload``."""
        self.hide_errors = False
        self.full_reload = False
        """Re-execute whole modules instead of only what changed (``--full``, ``2-``)."""
        self.interrupts_propagate = False
        """A Ctrl-C that stopped a reload is raised after the check (a program's Ctrl-C
        is the program's), rather than only said (a cell runs anyway, as in IPython)."""
        self.import_from_tracker = ImportFromTracker({}, {})
        self._report = _quiet
        poll = _polling_forced() if poll is None else poll
        self.library_roots = _library_roots()
        self._tracker = _OneCallerAtATime(_native.Tracker(self.library_roots, poll=poll))
        self.reload_times: list[tuple[str, float]] = []
        """(module, milliseconds) for every reload done, for ``%autoreload --stats``."""
        self._notes: list[str] = []  # detection notes nobody asked to see yet
        self._internal_errors: set[str] = set()  # each reported once
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
        only = None if (check_all or self.check_all) else tuple(self.modules)
        self._check(self._policy(only, reload=do_reload))

    def reload_tree(self, name: str, deep: bool = True) -> list[str]:
        """Reload module ``name`` now (changed or not); with ``deep``, also its changed
        submodules. Modules that bound changed values from them follow. Returns the
        names reloaded, in order."""
        module = sys.modules.get(name)
        if module is None:
            raise ImportError(f"module {name!r} is not imported")
        if _native.source_path(module) is None:
            raise ImportError(f"cannot reload {name!r}: it has no Python source file")
        subs: tuple[str, ...] = ()
        if deep:
            self._tracker.sync(sys.modules)
            library_ok = self._tracker.is_library(name)
            subs = tuple(
                sub
                for sub in list(sys.modules)
                if sub.startswith(name + ".") and (library_ok or not self._tracker.is_library(sub))
            )
        return self._check(self._policy(subs, forced=(name,)))

    def _policy(self, only, reload: bool = True, forced: tuple[str, ...] = ()) -> CheckPolicy:
        return CheckPolicy(
            only=only,
            skip=tuple(self.skip_modules),
            full=self.full_reload,
            reload=reload,
            forced=forced,
            importers=None if self.check_all else tuple(self.modules),
        )

    def _check(self, policy: CheckPolicy) -> list[str]:
        """One native check; returns the names reloaded, in order."""
        events = self._tracker.check(sys.modules, policy)
        done = []
        for event in events:
            if event.kind == "note":
                self._notes.append(messages.note(event))
            elif event.kind == "failed":
                self._report_failure(event)
            else:
                done.append(event.module)
                self._after_reload(event)
        self._report_notes()
        if done:
            self._publish(events, policy)
        if self.interrupts_propagate and any(_interrupted(event) for event in events):
            # The reload was undone and said; the Ctrl-C itself is the program's.
            raise KeyboardInterrupt
        return done

    def _publish(self, events, policy: CheckPolicy) -> None:
        """Hand what was reloaded to those who follow the session (a cluster's workers):
        their trouble is reported, never raised into the cell. `batches` is imported at
        the first reload, not at ``%load_ext``: most sessions follow nobody."""
        from . import batches

        batch = batches.record(events, policy)
        if batch is None:
            return
        for follower in batches.followers():
            try:
                follower(batch)
            except (Exception, KeyboardInterrupt) as error:
                self.report_internal_error(error)

    def _after_reload(self, event) -> None:
        self.reload_times.append((event.module, event.ms))
        self._report(messages.reloading(event))
        for line in messages.warnings(event):
            print(line, file=sys.stderr)
        module = sys.modules.get(event.module)
        if module is None or self.shell is None:
            return
        user_ns = getattr(self.shell, "user_ns", None)
        if user_ns is not None and event.previous:
            from . import fresh_bindings  # at the first reload, not at `%load_ext`

            fresh_bindings.refresh_user_namespace(
                user_ns, self.import_from_tracker, module, event.previous
            )
        if self.autoload_obj and user_ns is not None:
            self._push_to_user_ns(module, event.rebound)

    def report_internal_error(self, error: BaseException) -> None:
        """A bug of ours outside a module's reload (or a Ctrl-C between two reloads):
        said once per kind, never raised."""
        if isinstance(error, KeyboardInterrupt):
            print(messages.interrupted(), file=sys.stderr)
            return
        key = f"{type(error).__name__}: {error}"
        if key not in self._internal_errors:
            self._internal_errors.add(key)
            print(messages.internal_error(error), file=sys.stderr)

    def _report_notes(self) -> None:
        """How changes are detected, when that changes (a fallback to polling and why),
        said once to a user who asked to see activity (``-p``/``-l``)."""
        if self._notes and getattr(self._report, "active", True):
            for note in self._notes:
                self._report(note)
            self._notes.clear()

    def close(self) -> None:
        """Stops the background work (reading the baselines of modules loaded before)
        and ends the file watches."""
        self._tracker.close()

    def set_watching(self, watch: bool) -> None:
        """Hold OS file watches (reloading on) or release them (off); changes saved
        meanwhile are still found, by looking at every file once."""
        self._tracker.set_watching(watch)

    def sync(self, wait: bool = True) -> bool:
        """Start following the modules imported since the last call (after each cell).
        With ``wait=False``, only if no other thread is using the tracker; returns
        whether it synced."""
        if not wait:
            return self._tracker.call_if_free("sync", sys.modules)
        self._tracker.sync(sys.modules)
        return True

    def change_signal(self):
        """What a thread waits on to learn that a check may find something: see
        ``_native.ChangeSignal``. A program has no cell hook to check before."""
        return self._tracker.change_signal()

    # -- what the import graph says ------------------------------------------------------

    def binders_of(self, name: str) -> list[tuple[str, list[tuple[str, str]]]]:
        """Modules that bind names from ``name`` at import time, with their names."""
        self._tracker.sync(sys.modules)
        return self._tracker.binders_of(name)

    def dependents(self, name: str, include_library: bool = True) -> list[str]:
        """Modules that import ``name`` at import time, directly or not, nearest first."""
        self._tracker.sync(sys.modules)
        found = self._tracker.dependents(name)
        if include_library:
            return found
        return [m for m in found if not self._tracker.is_library(m)]

    def is_tracked(self, name: str) -> bool:
        """Whether ``name`` is a module with Python source that this reloader follows."""
        self._tracker.sync(sys.modules)
        return self._tracker.path_of(name) is not None

    def stats(self) -> dict:
        """What the reloader tracks and what its checks and reloads cost."""
        stats = dict(self._tracker.stats())
        stats["reloads_done"] = len(self.reload_times)
        stats["reload_ms"] = [round(ms, 3) for _, ms in self.reload_times[-10:]]
        return stats

    def _report_failure(self, event) -> None:
        if self.hide_errors:
            return
        # Printed once: IPython logs through a handler-less logger (which lands on stderr
        # through logging.lastResort) and then prints the same traceback again.
        # Logged only where logging is set up, and then as one line, so it never shows twice.
        print(messages.failure(event), file=sys.stderr)
        if logger.hasHandlers():
            logger.error("Failed to reload module '%s' from file '%s'", event.module, event.path)

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


MODES = {
    "0": "off",
    "off": "off",
    "1": "explicit",
    "explicit": "explicit",
    "2": "all",
    "all": "all",
    "3": "complete",
    "complete": "complete",
}
"""``%autoreload`` modes by every name they are given, to the setting they mean."""


def apply_mode(reloader: ModuleReloader, setting: str) -> None:
    """Turns ``reloader`` on or off as mode ``setting`` (a value of ``MODES``) says."""
    reloader.enabled = setting != "off"
    if setting != "off":
        reloader.check_all = setting in ("all", "complete")
        reloader.autoload_obj = setting == "complete"
    # Off: no OS watches held for nothing; on again, a full look catches up.
    reloader.set_watching(reloader.enabled)


def reporter(print_: bool, log: bool):
    """Where ``Reloading 'm'.`` lines go: printed (``-p``), logged at INFO to the
    ``autoreload`` logger (``-l``), both, or nowhere."""
    log_info = logging.getLogger("autoreload").info
    sinks = [sink for sink, on in ((print, print_), (log_info, log)) if on]

    def report(msg: str) -> None:
        for sink in sinks:
            sink(msg)

    report.active = bool(sinks)
    return report


def _polling_forced() -> bool:
    """``FASTAUTORELOAD_POLL=1`` asks for polling instead of file events."""
    return os.environ.get("FASTAUTORELOAD_POLL", "").strip().lower() in ("1", "true", "yes", "on")


def _library_roots() -> list[str]:
    """Where installed code lives: the standard library and site-packages directories."""
    paths = sysconfig.get_paths()
    roots = {paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib") if key in paths}
    roots.update(site.getsitepackages() if hasattr(site, "getsitepackages") else [])
    return sorted(roots | {os.path.realpath(root) for root in roots})


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
    for line in messages.warnings(result):
        print(line, file=sys.stderr)
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


def _interrupted(event) -> bool:
    """Whether ``event`` is a reload that a Ctrl-C (or a ``KeyboardInterrupt``) stopped."""
    return event.kind == "failed" and isinstance(event.error, KeyboardInterrupt)
