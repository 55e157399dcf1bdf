"""The worker side of ``fastautoreload.dask``: what runs in each Dask worker process.

The session sends the exact sources it reloaded (``(module, bytes, path, whole)``).
Modules the worker imported are brought to them by the same engine as in the session
(``Tracker.apply``: planned against what the worker's module runs, patched in place);
modules it has not imported yet are served those sources when it does (a meta path
finder), so a worker deployed with an old copy of the code still runs the session's.
A worker that joins later gets the sources from the scheduler (``SessionCode``).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import linecache
import os
import sys
import threading
import time
from importlib.machinery import ModuleSpec

from distributed.diagnostics.plugin import WorkerPlugin

from . import _native, messages
from .reloader import CheckPolicy, _library_roots

PLUGIN_NAME = "fastautoreload"
METADATA_KEY = "fastautoreload-sources"
"""Scheduler metadata: ``{module: [source, path]}``, every source the session sent."""


class _SessionSources:
    """A meta path finder and loader for the modules the session sent: a worker that
    imports one of them runs the session's source, not whatever copy it has itself."""

    def __init__(self, worker: _Worker):
        self._worker = worker

    def find_spec(self, name, path=None, target=None):
        sent = self._worker.sources.get(name)
        if sent is None:
            self._worker.importing(name, path)
            return None
        source, session_path, _ = sent
        own = _own_spec(name, path)
        package = os.path.basename(session_path) == "__init__.py"
        # The worker's own file, when it has one, stays `__file__` (data files next to
        # it are found); the code is compiled as the session's file.
        origin = own.origin if own is not None else session_path
        spec = ModuleSpec(name, self, origin=origin, is_package=package)
        spec.has_location = True
        if package:
            own_dirs = own.submodule_search_locations if own is not None else None
            spec.submodule_search_locations = list(own_dirs or [os.path.dirname(session_path)])
        return spec

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        source, path, _ = self._worker.sources[module.__name__]
        code = compile(source, path, "exec", dont_inherit=True)
        exec(code, module.__dict__)
        self._worker.served(module.__name__)

    def get_source(self, name):
        sent = self._worker.sources.get(name)
        return importlib.util.decode_source(sent[0]) if sent is not None else None


def _is_library(name: str, path, roots: tuple[str, ...]) -> bool:
    """Installed code, told without a search where possible: the standard library by
    name, and submodules of packages under the library roots by their package's path."""
    if name.partition(".")[0] in getattr(sys, "stdlib_module_names", ()):
        return True
    return bool(path) and all(str(p).startswith(roots) for p in path)


def _own_spec(name, path):
    """The worker's own source file for ``name``, if it has one."""
    try:
        spec = importlib.machinery.PathFinder.find_spec(name, path)
    except (ImportError, ValueError):
        return None
    if spec is None or not (spec.origin or "").endswith(".py"):
        return None
    return spec


class _Worker:
    """What one worker process keeps: its tracker, the sources sent, their outcomes."""

    def __init__(self):
        self.tracker = _native.Tracker(_library_roots(), poll=True)  # it never detects
        self.sources: dict[str, tuple[bytes, str, bool]] = {}
        self._failures: dict[str, tuple[str, bool]] = {}  # module -> error text, internal
        self._fresh: list[str] = []  # served at import, not yet the tracker's baseline
        # Imported from the worker's own files, with the bytes read as they were: the
        # tracker's baseline is read later (at the next sync), when the file may hold an
        # edit the module never ran (a cluster sharing the session's files).
        self._imported: dict[str, tuple[bytes, str]] = {}
        self._roots = tuple(_library_roots())
        self._lock = threading.RLock()
        self._in_tracker = False
        self.finder = _SessionSources(self)
        sys.meta_path.insert(0, self.finder)
        # The baselines of the user's modules imported so far are what their files hold
        # now, read at once (the import graph needs them all) rather than in the
        # background, where an edit of a file the worker shares could come first.
        self.tracker.sync(sys.modules)
        self.tracker.dependents("")

    def apply(self, sources, full: bool) -> dict:
        start = time.perf_counter()
        with self._lock:
            for module, source, path, whole in sources:
                self.sources[module] = (source, path, whole)
            self._record_fresh()
            given = [s for s in sources if s[0] in sys.modules]
            events = self._tracked(self.tracker.apply, sys.modules, given, _policy(full))
            self._record_fresh()
        report = self._report(sources, events)
        report["ms"] = (time.perf_counter() - start) * 1e3
        return report

    def served(self, module: str) -> None:
        """``module`` was imported from a sent source: that is its baseline. Recorded now
        unless the tracker is busy (an import during a reload, or in another thread:
        then the next call records it)."""
        self._fresh.append(module)
        if self._lock.acquire(blocking=False):
            try:
                if not self._in_tracker:
                    self._record_fresh()
            finally:
                self._lock.release()

    def importing(self, name: str, path) -> None:
        """``name`` is being imported, not from a sent source: keep what its file holds
        now, which is what it runs (installed code is left to the tracker)."""
        if _is_library(name, path, self._roots):
            return
        own = _own_spec(name, path)
        if own is None or own.origin.startswith(self._roots):
            return
        try:
            with open(own.origin, "rb") as file:
                self._imported[name] = (file.read(), own.origin)
        except OSError:
            pass

    def _record_fresh(self) -> None:
        while self._fresh:
            module = self._fresh.pop()
            source, path, _ = self.sources[module]
            self._tracked(self.tracker.runs, sys.modules, module, source, path)
        for module in [m for m in self._imported if m in sys.modules]:
            source, path = self._imported.pop(module)
            self._tracked(self.tracker.runs, sys.modules, module, source, path)

    def _tracked(self, call, *args):
        self._in_tracker = True
        try:
            return call(*args)
        finally:
            self._in_tracker = False

    def _report(self, sources, events) -> dict:
        report: dict = {"reloaded": [], "failed": [], "warnings": []}
        for event in events:
            if event.kind == "failed":
                text = messages.error_text(event.error)
                self._failures[event.module] = (text, event.internal)
            elif event.kind == "reloaded":
                self._failures.pop(event.module, None)
                report["reloaded"].append(event.module)
                report["warnings"].extend(messages.warnings(event))
                _cache_lines(event.path, event.source)
        for module, *_ in sources:
            failure = self._failures.get(module)
            if failure is not None:
                report["failed"].append((module, *failure))
        return report

    def close(self) -> None:
        if self.finder in sys.meta_path:
            sys.meta_path.remove(self.finder)
        self.tracker.close()


def _policy(full: bool) -> CheckPolicy:
    return CheckPolicy(only=None, full=full)


def _cache_lines(path: str, source: bytes | None) -> None:
    """Tracebacks on the worker read their lines from the source it runs, not from a
    file of that path the worker may not have (or have in another version)."""
    if source is None:
        return
    text = importlib.util.decode_source(source)
    lines = text.splitlines(keepends=True)
    # No mtime: linecache.checkcache never drops an entry without one.
    linecache.cache[path] = (len(text), None, lines, path)


_state: _Worker | None = None
_state_lock = threading.Lock()


def _worker() -> _Worker:
    global _state
    with _state_lock:
        if _state is None:
            _state = _Worker()
        return _state


def apply(sources, full: bool = False) -> dict:
    """Run by ``Client.run``: bring this worker to ``sources``; what happened. A bug of
    ours is reported as the failure of each module sent (an exception here would read,
    in the session, as a worker that could not be reached)."""
    try:
        return _worker().apply(sources, full)
    except Exception as error:
        text = f"{type(error).__name__}: {error}"
        failed = [(module, text, True) for module, *_ in sources]
        return {"reloaded": [], "failed": failed, "warnings": [], "ms": 0.0}


def forget() -> None:
    """Stop serving the session's sources (the code already applied stays)."""
    global _state
    with _state_lock:
        state, _state = _state, None
    if state is not None:
        state.close()


class SessionCode(WorkerPlugin):
    """Registered once per attached client: every worker, present or joining later,
    gets the sources the session sent so far from the scheduler's metadata."""

    name = PLUGIN_NAME
    idempotent = False

    async def setup(self, worker):
        sent = await worker.scheduler.get_metadata(keys=[METADATA_KEY], default=None)
        sources = [(module, bytes(s), path, False) for module, (s, path) in (sent or {}).items()]
        _worker().apply(sources, full=False)

    def teardown(self, worker):
        forget()
