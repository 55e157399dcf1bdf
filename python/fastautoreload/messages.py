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
    """A failed reload: a header with the file and line of the error, then the error as
    Python shows it. Syntax errors and errors raised at import share this shape."""
    error = event.error
    if event.internal:
        return (
            f"[autoreload of {event.module} failed: fastautoreload could not apply the new "
            f"version ({error}); the module is unchanged. This is a bug in fastautoreload, "
            "please report it.]"
        )
    path, line = _where(error, event.path)
    text = error_text(error)
    where = f"{path}, line {line}" if line else path
    # The header names the place, Python's text below names the error (once).
    return (
        f"[autoreload of {event.module} failed: error in {where}; the module is unchanged.\n{text}]"
    )


def _where(error: BaseException, path: str) -> tuple[str, int | None]:
    """Where the error happened: a syntax error's own position, else the innermost frame."""
    if isinstance(error, SyntaxError) and error.filename:
        return error.filename, error.lineno
    frames = traceback.extract_tb(error.__traceback__)
    if frames:
        return frames[-1].filename, frames[-1].lineno
    return path, None


def error_text(error: BaseException) -> str:
    """An exception as Python shows it, traceback included."""
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return text.rstrip()


def warnings(event) -> list[str]:
    """One line per thing a successful reload could not carry over."""
    kept = {}
    moved = {}
    references = {}
    for kind, subject, detail in event.warnings:
        if kind == "instances_kept":
            kept[subject] = detail
        elif kind == "instances_moved":
            moved[subject] = int(detail)
        elif kind == "references_moved":
            references[subject] = int(detail)
    lines = []
    for kind, subject, detail in event.warnings:
        if kind == "replaced":
            line = _replaced(subject, detail, kept.pop(subject, None), moved.get(subject, 0))
            if subject in references:
                line += (
                    f"; {_plural(references[subject], 'reference')} to it in the module's "
                    "names and containers now point to the new class"
                )
            lines.append(line)
        elif kind == "code_kept":
            lines.append(f"{subject}: kept its old code ({detail})")
        elif kind == "not_updated":
            lines.append(f"{subject} could not be updated ({detail})")
    lines.extend(
        f"{subject}: existing instances keep the old class ({detail})"
        for subject, detail in kept.items()
    )
    return [f"[autoreload of {event.module}: {line}]" for line in lines]


def _replaced(subject: str, reason: str, kept: str | None, moved: int) -> str:
    """One true sentence on a replaced class: why, and what became of its instances."""
    if reason.startswith("bases: "):
        why = f"its bases changed ({reason.removeprefix('bases: ')})"
    else:
        why = _LAYOUT_REASONS.get(reason, reason)
    head = f"class {subject} could not be updated in place because {why}; it was replaced"
    if kept is not None and moved:
        return (
            f"{head}: {_plural(moved, 'existing instance')} moved to the new class, the "
            f"others keep the old one, whose layout they have ({kept})"
        )
    if kept is not None:
        return (
            f"{head}: existing instances keep the old class, whose layout they have, and "
            "new instances get the new one"
        )
    if moved:
        return f"{head}: {_plural(moved, 'existing instance')} moved to the new class"
    return f"{head} (no instance of it was alive)"


def note(event) -> str:
    """How changes are detected, when that changes (a fallback to polling and why)."""
    return f"fastautoreload: {event.note}."


def internal_error(error: BaseException) -> str:
    """A bug of ours outside any one module's reload (the session goes on)."""
    return (
        f"[fastautoreload: internal error ({type(error).__name__}: {error}); reloading goes "
        "on with the next change. This is a bug in fastautoreload, please report it.]"
    )


def bad_mode(mode: str) -> str:
    """``%autoreload 7``: IPython's exact words (code and tests compare them)."""
    return f'Unrecognized autoreload mode "{mode}".'


def modules_need_now() -> str:
    return "module names go with 'now': %autoreload now pkg [other ...]"


def aimport_failed(name: str, error: BaseException) -> str:
    """``%aimport nosuch``: the import error, as one line."""
    return f"%aimport {name}: {type(error).__name__}: {error}"


def ipython_autoreload_retired(was_on: bool) -> str:
    """fastautoreload was loaded while IPython's autoreload was: it takes over."""
    if was_on:
        return (
            "fastautoreload: IPython's autoreload was active; it is now off so that modules "
            "are not reloaded twice: %autoreload is now fastautoreload's."
        )
    return "fastautoreload: %autoreload is now fastautoreload's (it replaces IPython's autoreload)."


def ipython_autoreload_took_over() -> str:
    """IPython's autoreload was loaded after fastautoreload: that one is in charge now."""
    return (
        "fastautoreload: IPython's autoreload was loaded after it and now runs %autoreload "
        "and %aimport; fastautoreload stands down so that modules are not reloaded twice. "
        "%reload_ext fastautoreload switches back."
    )


def version_line(version: str) -> str:
    return f"fastautoreload {version}"


def interrupted() -> str:
    """Ctrl-C while the reloader was busy outside any module's code."""
    return "[autoreload interrupted: the reloads done so far are kept]"


def dependents_report(name: str, binders, others: list[str]) -> str:
    """``%autoreload --deps name``: what a change to ``name`` would reload."""
    if not binders:
        lines = [
            f"A change to {name!r} reloads {name!r} only: no module binds names from it "
            f"with `from {name} import ...`."
        ]
    else:
        lines = [
            f"A change to {name!r} reloads {name!r}, then these modules, when values they "
            "import from it change:"
        ]
    for importer, names in binders:
        bound = ", ".join(n if n == a else f"{n} as {a}" for n, a in names)
        lines.append(f"  {importer} (from {name} import {bound})")
    if others:
        lines.append("Modules that import it otherwise (they see new values through attributes):")
        lines.append("  " + " ".join(others))
    return "\n".join(lines)


def not_tracked(name: str) -> str:
    return f"{name!r} is not a tracked module (not imported, or no Python source)."


def stats_report(stats: dict, recent: list[tuple[str, float]], clusters: list[str]) -> str:
    """``%autoreload --stats``: every duration in ms, every count says what it counts."""
    tracked = stats["modules_tracked"]
    library = stats["modules_library"]
    done = ", ".join(f"{name} {ms:.2f} ms" for name, ms in recent) or "none yet"
    return "\n".join(
        [
            f"modules tracked:      {tracked}: {tracked - library} of yours, {library} from "
            "the standard library and site-packages",
            f"                      (+{stats['modules_without_source']} without Python source, "
            "never reloaded)",
            f"detection:            {stats['detection']}",
            f"directories watched:  {stats['directories_watched']}, "
            f"polled: {stats['directories_polled']}",
            f"last check:           {stats['last_check_us'] / 1000:.2f} ms",
            f"baselines pending:    {stats['baselines_pending']} "
            f"(read in the background by {stats['baseline_readers']} thread(s))",
            f"reloads done:         {stats['reloads_done']}; last: {done}",
            *clusters,
        ]
    )


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


def prompt_banner(printing: bool) -> str:
    """The first line of ``python -m fastautoreload``'s prompt."""
    head = "fastautoreload: autoreload is on: changed modules are reloaded before each statement."
    if printing:
        return f"{head} Each reload is printed."
    return (
        f"{head} To see each reload, start with -p (python -m fastautoreload -p) "
        "or call fastautoreload.enable(print=True)."
    )
