"""The words users read: every host (the IPython extension, the plain prompt, programs run
under ``python -m fastautoreload``, ``fastautoreload.reload``) turns the native core's
events into text here, and nowhere else.

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
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return f"[autoreload of {event.module} failed: {text.rstrip()}]"


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


def prompt_banner(printing: bool) -> str:
    """The first line of ``python -m fastautoreload``'s prompt."""
    head = "fastautoreload: autoreload is on: changed modules are reloaded before each statement."
    if printing:
        return f"{head} Each reload is printed."
    return (
        f"{head} To see each reload, start with -p (python -m fastautoreload -p) "
        "or call fastautoreload.enable(print=True)."
    )
