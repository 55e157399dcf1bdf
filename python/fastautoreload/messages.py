"""The words users read: every host (the IPython extension, ``fastautoreload.reload``)
turns the native core's events into text here, and nowhere else.

The lines keep IPython's shapes so that habits and log greps keep working: a reload is
``Reloading 'm'.`` (what ran may follow on the same line), a failure is
``[autoreload of m failed: ...]``.
"""

from __future__ import annotations

import traceback

_LAYOUT_REASONS = {
    "metaclass": "its metaclass changed",
    "__slots__": "its __slots__ changed",
    "layout": "its instance layout changed",
}


def reloading(event) -> str:
    """``Reloading 'm'.``, then what ran in parentheses when it was not the whole module."""
    line = f"Reloading '{event.module}'."
    detail = _what_ran(event)
    return f"{line} ({detail})" if detail else line


def _what_ran(event) -> str:
    if event.because_of is not None:
        return f"it imports changed values from '{event.because_of}'"
    if event.whole:
        return ""  # the whole module ran, as with IPython's autoreload
    parts = []
    if event.statements:
        parts.append(_plural(event.statements, "statement"))
    if event.functions:
        parts.append(f"{_plural(event.functions, 'function')} patched")
    if event.removed:
        parts.append(f"{_plural(event.removed, 'name')} removed")
    return ", ".join(parts) or "nothing to run"


def _plural(n: int, word: str) -> str:
    return f"1 {word}" if n == 1 else f"{n} {word}s"


def failure(event) -> str:
    """A failed reload, with the error as Python shows it (file and line included)."""
    error = event.error
    if event.internal:
        return (
            f"[autoreload of {event.module} failed: fastautoreload could not apply the new "
            f"version ({error}); the module is unchanged. This is a bug in fastautoreload, "
            "please report it.]"
        )
    return f"[autoreload of {event.module} failed: {error_text(error)}]"


def error_text(error: BaseException) -> str:
    """An exception as Python shows it, traceback included."""
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return text.rstrip()


def warnings(event) -> list[str]:
    """One line per thing a successful reload could not carry over."""
    kept = {subject: detail for kind, subject, detail in event.warnings if kind == "instances_kept"}
    lines = []
    for kind, subject, detail in event.warnings:
        if kind == "replaced":
            lines.append(_replaced(subject, detail, kept.pop(subject, None)))
        elif kind == "code_kept":
            lines.append(f"{subject}: kept its old code ({detail})")
        elif kind == "not_updated":
            lines.append(f"{subject} could not be updated ({detail})")
    lines.extend(
        f"{subject}: existing instances keep the old class ({detail})"
        for subject, detail in kept.items()
    )
    return [f"[autoreload of {event.module}: {line}]" for line in lines]


def _replaced(subject: str, reason: str, instances_kept: str | None) -> str:
    if reason.startswith("bases: "):
        why = f"its bases changed ({reason.removeprefix('bases: ')})"
    else:
        why = _LAYOUT_REASONS.get(reason, reason)
    head = f"class {subject} could not be updated in place because {why}; it was replaced"
    if instances_kept is not None:
        return f"{head}, and existing instances keep the old class ({instances_kept})"
    return f"{head}, and existing instances were moved to the new class"


def note(event) -> str:
    """How changes are detected, when that changes (a fallback to polling and why)."""
    return f"fastautoreload: {event.note}."


def internal_error(error: BaseException) -> str:
    """A bug of ours outside any one module's reload (the session goes on)."""
    return (
        f"[fastautoreload: internal error ({type(error).__name__}: {error}); reloading goes "
        "on with the next change. This is a bug in fastautoreload, please report it.]"
    )


def interrupted() -> str:
    """Ctrl-C while the reloader was busy outside any module's code."""
    return "[autoreload interrupted: the reloads done so far are kept]"


# -- the workers of a Dask cluster (fastautoreload.dask) -------------------------------------


def worker_failure(address: str, module: str, text: str, internal: bool) -> str:
    """A reload that succeeded in the session and failed on one worker."""
    if internal:
        return (
            f"[autoreload of {module} failed on worker {address}: fastautoreload could not "
            f"apply the new version ({text}); the module is unchanged there. This is a bug "
            "in fastautoreload, please report it.]"
        )
    return f"[autoreload of {module} failed on worker {address}: {text}]"


def worker_warning(address: str, line: str) -> str:
    """A warning of a worker's reload (as ``warnings`` words it), with the worker's name."""
    return f"{line} (on worker {address})"


def worker_timeout(address: str, seconds: float) -> str:
    return (
        f"[fastautoreload: worker {address} did not answer within {seconds:g} s; it gets "
        "the new code when it does]"
    )


def worker_unreachable(address: str, error: BaseException) -> str:
    return (
        f"[fastautoreload: worker {address} could not be reached "
        f"({type(error).__name__}: {error}); the other workers got the new code]"
    )


def scheduler_timeout(what: str, address: str, seconds: float) -> str:
    return (
        f"[fastautoreload: the Dask scheduler at {address} did not answer within "
        f"{seconds:g} s ({what}); workers may keep the old code until the next reload]"
    )


def scheduler_unreachable(what: str, address: str, error: BaseException) -> str:
    return (
        f"[fastautoreload: the Dask scheduler at {address} could not be reached ({what}: "
        f"{type(error).__name__}: {error}); workers may keep the old code]"
    )


def cluster_stats(stats: list[dict]) -> list[str]:
    """``%autoreload --stats`` lines for the attached clusters."""
    if not stats:
        return ["dask cluster:         none attached"]
    lines = []
    for s in stats:
        lines.append(f"dask cluster:         {s['scheduler']} ({s['workers']} worker(s))")
        if s["syncs"] == 0:
            lines.append("  last sync:          none yet")
            continue
        lines.append(
            f"  last sync:          {s['reached']}/{s['asked']} worker(s) reached, "
            f"{s['modules']} module(s), {s['bytes']} bytes, {s['ms']:.1f} ms "
            f"(slowest worker: {s['worker_ms']:.1f} ms)"
        )
        trouble = f"{s['failed']} failed, {s['timed_out']} timed out"
        lines.append(f"  syncs done:         {s['syncs']} (last: {trouble})")
    return lines
