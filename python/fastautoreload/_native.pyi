"""Type stubs for fastautoreload's native core (written by hand; see src/bindings)."""

from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any, Literal, final

class InternalError(Exception):
    """A bug in fastautoreload itself (not in the module being reloaded)."""

@final
class Event:
    """One thing a check did: a module reloaded or failed, or a note on detection."""

    @property
    def kind(self) -> Literal["reloaded", "failed", "note"]: ...
    @property
    def module(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def whole(self) -> bool:
        """The whole module ran (else only ``statements`` and ``functions``)."""
    @property
    def whole_reason(self) -> str | None: ...
    @property
    def statements(self) -> int: ...
    @property
    def functions(self) -> int: ...
    @property
    def removed(self) -> int: ...
    @property
    def because_of(self) -> str | None:
        """Reloaded only because it imports values that changed in this module."""
    @property
    def rebound(self) -> list[str]:
        """Names whose value is new or different (not a patched old object)."""
    @property
    def previous(self) -> dict[str, Any] | None:
        """For the rebound names that existed before: their value before the reload."""
    @property
    def warnings(self) -> list[tuple[str, str, str]]:
        """``(kind, subject, detail)``: ``replaced``, ``instances_kept``,
        ``instances_moved``, ``references_moved``, ``code_kept``, ``not_updated``."""
    @property
    def error(self) -> BaseException | None:
        """For a failed reload: the exception, with its traceback."""
    @property
    def internal(self) -> bool:
        """The failure is a bug of ours (an ``InternalError``)."""
    @property
    def ms(self) -> float: ...
    @property
    def note(self) -> str | None: ...
    @property
    def source(self) -> bytes | None:
        """For a reload: the exact bytes the module was compiled from."""

@final
class ChangeSignal:
    """What a thread waits on, GIL released, to learn that a check may find something."""

    def wait(self, timeout: float) -> Literal["changed", "poll", "quiet", "closed"]:
        """Waits up to ``timeout`` seconds: "changed" (files may have changed since the
        last wait that returned), "poll" (the time passed while some files are polled),
        "quiet" (nothing happened) or "closed"."""
    def close(self) -> None:
        """Ends the current wait and every later one."""

@final
class Tracker:
    """Follows the modules of ``sys.modules``; ``check`` reloads what changed."""

    def __new__(cls, library_roots: Sequence[str] = ..., poll: bool = False) -> Tracker:
        """``library_roots``: directories of installed code (stdlib, site-packages);
        ``poll``: detect changes by polling only, never by file events."""
    def sync(self, modules: dict[str, Any]) -> None:
        """Add new modules (reading their baseline content), drop gone ones."""
    def check(self, modules: dict[str, Any], policy: Any) -> list[Event]:
        """Detect, order, plan and reload the batch ``policy`` selects (an object with
        the attributes of ``fastautoreload.reloader.CheckPolicy``); the events say what
        happened. Only a bug of ours raises (``InternalError``)."""
    def apply(
        self,
        modules: dict[str, Any],
        sources: Sequence[tuple[str, bytes, str, bool]],
        policy: Any,
    ) -> list[Event]:
        """Reload modules from given sources, each ``(name, source, path, whole)``,
        compiled as ``path`` rather than read from their files (a Dask worker applying
        what its session reloaded); as ``check`` otherwise. Modules not imported, and
        those that run that source already or failed on it (unless ``whole``), are left
        alone."""
    def runs(self, modules: dict[str, Any], name: str, source: bytes, path: str) -> bool:
        """Module ``name`` runs ``source`` (compiled as ``path``), whatever its file
        holds: later reloads start from it. False if it has no source to track."""
    def binders_of(self, name: str) -> list[tuple[str, list[tuple[str, str]]]]:
        """Modules binding names from ``name`` at import time, with (name, bound_as) pairs."""
    def dependents(self, name: str) -> list[str]:
        """Modules importing ``name`` at import time, directly or not, nearest first."""
    def is_library(self, name: str) -> bool:
        """Whether the module is installed code (standard library, site-packages)."""
    def path_of(self, name: str) -> str | None: ...
    def stats(self) -> dict[str, Any]:
        """Modules tracked, detection mode, directories watched, last check time."""
    def change_signal(self) -> ChangeSignal:
        """What a thread waits on to learn that a check may find something."""
    def close(self) -> None:
        """Stop the background threads reading baselines, and every watch."""
    def set_watching(self, watch: bool) -> None:
        """False: release the OS watches (reloading is off); True: watch again."""
    def __len__(self) -> int: ...

def reload_module(module: ModuleType, source: bytes, path: str) -> Event:
    """Reload ``module`` whole from ``source``, keeping identities (``superreload``).
    Raises what the module's code raised, leaving the module as it was."""

def update_object(old: Any, new: Any) -> bool:
    """Patch function or class ``old`` to behave as ``new``; False if they are unrelated."""

def call_on_main_thread(callable: Callable[[], object]) -> bool:
    """Run ``callable()`` on the main thread at its next safe point (a pending call);
    False when the interpreter's queue is full. What it raises is raised there."""

def source_path(module: Any) -> str | None:
    """The module's source file, or None if fastautoreload would not reload it."""

def filename_and_mtime(module: Any) -> tuple[str | None, float | None]:
    """IPython's ``filename_and_mtime``: the source path and its mtime, or (None, None)."""

def _hold_baselines(hold: bool) -> None:
    """Test-only: hold or release the background threads that read baselines."""

def _inject_fault(step: str | None = None) -> None:
    """Test-only: make the named reload step raise ``InternalError`` (None: stop)."""
