"""Type stubs for fastautoreload's native core (written by hand; see src/bindings)."""

from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import Any

class Change:
    """One module whose source content changed since it was last loaded."""

    @property
    def name(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def source(self) -> bytes:
        """The exact bytes that were hashed; the reload compiles these."""
    @property
    def hash(self) -> str:
        """blake3 hash of ``source``, in hex."""

class Tracker:
    """Follows the modules of ``sys.modules`` and tells which ones changed on disk."""

    def __init__(self, library_roots: Sequence[str] = ..., poll: bool = False) -> None:
        """``library_roots``: directories of installed code (stdlib, site-packages);
        ``poll``: detect changes by polling only, never by file events."""
    def sync(self, modules: Mapping[str, Any]) -> None:
        """Add new modules (reading their baseline content), drop gone ones."""
    def changed(self, only: Sequence[str] | None, skip: Sequence[str]) -> list[Change]:
        """Modules whose content differs from their baseline and from their last failure."""
    def commit(self, change: Change) -> None:
        """The module now runs ``change``'s content."""
    def fail(self, change: Change) -> None:
        """``change`` failed to load; not retried until the content changes again."""
    def plan(self, change: Change, stale: Sequence[str] = ...) -> ReloadPlan | None:
        """What to run for ``change`` (and names bound from modules that changed)."""
    def plan_rerun(self, change: Change, names: Sequence[str]) -> ReloadPlan | None:
        """What to run in a module whose imported ``names`` got new values elsewhere."""
    def take_notes(self) -> list[str]:
        """Messages about detection (a fallback to polling and why), each given once."""
    def stats(self) -> dict[str, Any]:
        """Modules tracked, detection mode, directories watched, last check time."""
    def current(self, name: str) -> Change | None:
        """The module's file as it is now, to reload whether or not it changed."""
    def order(self, names: Sequence[str]) -> list[str]:
        """``names`` in reload order: dependencies first, import cycles in import order."""
    def binders_of(self, name: str) -> list[tuple[str, list[tuple[str, str]]]]:
        """Modules binding names from ``name`` at import time, with (name, bound_as) pairs."""
    def dependents(self, name: str) -> list[str]:
        """Modules importing ``name`` at import time, directly or not, nearest first."""
    def is_library(self, name: str) -> bool:
        """Whether the module is installed code (standard library, site-packages)."""
    def path_of(self, name: str) -> str | None: ...
    def __len__(self) -> int: ...

class ReloadPlan:
    """Which statements run and which function bodies are patched for one reload."""

    @property
    def summary(self) -> str:
        """E.g. ``2 statements, 1 function patched``."""
    @property
    def full(self) -> str | None:
        """Why the whole module runs instead, if it does."""

class ReloadResult:
    @property
    def rebound(self) -> list[str]:
        """Names whose value is new or different (not a patched old object)."""
    @property
    def previous(self) -> dict[str, Any]:
        """For the rebound names that existed before: their value before the reload."""
    @property
    def patched(self) -> int:
        """How many functions and classes were patched in place."""
    @property
    def warnings(self) -> list[str]:
        """One line per thing that could not be carried over."""
    @property
    def summary(self) -> str:
        """What ran: ``whole module`` or the plan's summary."""

def reload_module(
    module: ModuleType, source: bytes, path: str, plan: ReloadPlan | None = None
) -> ReloadResult:
    """Reload ``module`` from ``source``: only what ``plan`` says, or the whole module.
    On error the namespace and patched functions are left as they were."""

def update_object(old: Any, new: Any) -> bool:
    """Patch function or class ``old`` to behave as ``new``; False if they are unrelated."""

def source_path(module: Any) -> str | None:
    """The module's source file, or None if fastautoreload would not reload it."""

def filename_and_mtime(module: Any) -> tuple[str | None, float | None]:
    """IPython's ``filename_and_mtime``: the source path and its mtime, or (None, None)."""
