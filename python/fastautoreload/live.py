"""``fastautoreload.enable()`` and ``disable()``: autoreload for the current process.

At a plain ``python`` prompt, changed modules reload before each statement (as with
``%autoreload 2`` before each cell); in a program, as edits are saved. Either way the
reload runs on the main thread, and the policy (mode, skip list, what to print) is the
``ModuleReloader``'s, as in IPython: this file only decides when to check.

- Statements at a prompt, and modules starting to execute, are seen through an audit
  hook (``exec_events``): a module is followed from the moment it runs, so an edit saved
  right after its import is never taken for the version it was imported as.
- A program's saved edits wake a thread (``watch_thread``) that asks the main thread to
  check (``main_thread``).
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from typing import NamedTuple

from . import exec_events, messages
from .reloader import MODES, ModuleReloader, apply_mode, reporter
from .watch_thread import WatchThread

_session: LiveSession | None = None
_lock = threading.Lock()  # enable() and disable() may come from any thread


class Options(NamedTuple):
    """What ``enable`` was asked for; the same choices as ``%autoreload``'s."""

    mode: str = "all"
    """A value of ``MODES``: "explicit" (1), "all" (2) or "complete" (3)."""
    print: bool = False
    log: bool = False
    hide_errors: bool = False
    full: bool = False
    modules: tuple[str, ...] = ()
    """Mode 1: the modules to reload (as marked by ``%aimport``)."""
    skip: tuple[str, ...] = ()
    """Modules never reloaded (as ``%aimport -m``)."""
    poll: bool | None = None
    """Detect changes by polling only; None: as ``FASTAUTORELOAD_POLL`` says."""
    interval: float = 1.0
    """Seconds between looks at polled files, and at modules imported by other threads."""


class _MainNamespace:
    """The user namespace of a plain prompt or a program: ``__main__``'s globals, looked
    up each time (running a script replaces ``__main__``)."""

    @property
    def user_ns(self) -> dict:
        main = sys.modules.get("__main__")
        return vars(main) if main is not None else {}


class LiveSession:
    """One reloader serving the process, and what makes it check."""

    def __init__(self, options: Options, at_prompt: bool):
        self.at_prompt = at_prompt
        self.reloader = ModuleReloader(_MainNamespace(), poll=options.poll)
        self.options = options
        self._configure(options)
        self._busy = False  # a check or sync is running on the main thread
        self._again = False  # asked for a check while one was running
        self._stopped = False
        self.paused = False  # disable()d: the baselines are kept for enable()
        self._watch = None if at_prompt else WatchThread(self, options.interval)

    def _configure(self, options: Options) -> None:
        reloader = self.reloader
        reloader.modules.clear()
        reloader.skip_modules.clear()
        for name in options.modules:
            reloader.mark_module_reloadable(name)
        for name in options.skip:
            reloader.mark_module_skipped(name)
        apply_mode(reloader, options.mode)
        reloader._report = reporter(options.print, options.log)
        reloader.hide_errors = options.hide_errors
        reloader.full_reload = options.full
        reloader.interrupts_propagate = not self.at_prompt

    def update(self, options: Options) -> None:
        """New options for the same detection (same ``poll``)."""
        self.options = options
        self._configure(options)

    def track_program_source(self, path: str | None) -> None:
        """The program's own ``from m import x`` names are refreshed when ``m`` reloads
        with a new value for ``x``: read them from its source, as IPython does from cells."""
        try:
            with open(path, encoding="utf-8") as f:  # type: ignore[arg-type]
                self.reloader.import_from_tracker.track_cell(f.read())
        except (OSError, TypeError, UnicodeDecodeError):  # no readable source: none refreshed
            pass

    def start(self) -> None:
        exec_events.serve(self)
        if self._watch is not None:
            self._watch.start()

    def pause(self) -> None:
        """``disable()``: no more checks, watches released, but what the modules were
        loaded from is kept, so ``resume`` applies the edits saved meanwhile."""
        self.paused = True  # a check already asked of the main thread does nothing
        exec_events.serve(None)
        apply_mode(self.reloader, "off")

    def resume(self, options: Options) -> None:
        """``enable()`` after ``disable()``: the first check looks at every file."""
        self.update(options)
        self.paused = False
        exec_events.serve(self)
        if self._watch is not None:
            self._watch.request_check()

    def stop(self) -> None:
        self._stopped = True  # a check already asked of the main thread does nothing
        exec_events.serve(None)
        if self._watch is not None:
            self._watch.stop()
        self.reloader.close()

    # -- what the audit hook and the watcher thread call, on the main thread ------------

    def before_statement(self, code) -> None:
        """A statement typed at the prompt is about to run: reload what changed, as
        IPython does before a cell. Nothing raised here stops the statement."""
        try:
            self.reloader.import_from_tracker.track_code(code)
        except Exception:  # bytecode we cannot read: no `from` bindings refreshed
            pass
        self.check(interrupt_program=False)

    def module_executing(self) -> None:
        """A module of the user's starts running: follow it from now on (unless another
        thread is using the tracker: the next check follows it then)."""
        if self._busy:  # imported by a reload being run: the next check follows it
            return
        self._busy = True
        try:
            self.reloader.sync(wait=False)
        except BaseException as error:
            self.reloader.report_internal_error(error)
        finally:
            self._busy = False
        if self._again and self._watch is not None:
            # A check was asked for during the import: it was put off, not dropped.
            self._again = False
            self._watch.request_check()

    def check(self, interrupt_program: bool = True) -> None:
        """Reloads what changed. A check asked for while one runs (a module's code
        being reloaded runs Python code, where pending calls can run) is done after it.

        A Ctrl-C during the check reaches a program as it would have without us
        (``interrupt_program``); at a prompt it is said and the statement runs, as in
        IPython."""
        if self._stopped or self.paused:
            return
        if self._busy:
            self._again = True
            return
        self._busy = True
        try:
            self._check_until_settled()
        except KeyboardInterrupt:
            print(messages.interrupted(), file=sys.stderr)
            if interrupt_program:
                raise
        except BaseException as error:  # a bug of ours: said once, never raised
            self.reloader.report_internal_error(error)
        finally:
            self._busy = False

    def _check_until_settled(self) -> None:
        while True:
            self._again = False
            self.reloader.check()
            if not self._again:
                return


def enable(
    mode: int | str = 2,
    *,
    print: bool = False,
    log: bool = False,
    hide_errors: bool = False,
    full: bool = False,
    modules=(),
    skip=(),
    poll: bool | None = None,
    interval: float = 1.0,
) -> None:
    """Reload changed modules automatically in this process.

    At an interactive ``python`` prompt (for example from ``PYTHONSTARTUP``), changed
    modules are reloaded before each statement; in a program, as their edits are saved,
    on the main thread between two bytecodes (or two callbacks of an asyncio loop the
    main thread runs). In IPython this is ``%load_ext fastautoreload`` with
    ``%autoreload``.

    ``mode``: 1 reloads only ``modules``, 2 every changed module, 3 also pushes new names
    into ``__main__`` (as ``%autoreload 1/2/3``). ``print`` and ``log`` show each reload
    (``-p``, ``-l``), ``hide_errors`` hides failures, ``full`` re-executes whole modules,
    ``skip`` lists modules never reloaded. ``poll`` detects changes by polling instead of
    file events (None: ``FASTAUTORELOAD_POLL`` decides), every ``interval`` seconds.
    Calling it again changes the options.
    """
    chosen = make_options(
        mode,
        print=print,
        log=log,
        hide_errors=hide_errors,
        full=full,
        modules=modules,
        skip=skip,
        poll=poll,
        interval=interval,
    )
    shell = _ipython_shell()
    if shell is not None:
        _enable_in_ipython(shell, chosen)
        return
    at_prompt = _at_interactive_prompt()
    session = start(chosen, at_prompt)
    if not at_prompt:  # a program calling enable(): its own `from` names are followed too
        session.track_program_source(getattr(sys.modules.get("__main__"), "__file__", None))


def make_options(
    mode: int | str = 2,
    *,
    print: bool = False,
    log: bool = False,
    hide_errors: bool = False,
    full: bool = False,
    modules=(),
    skip=(),
    poll: bool | None = None,
    interval: float = 1.0,
) -> Options:
    """``Options`` from ``enable``'s arguments; a ``ValueError`` says what is wrong."""
    return Options(
        mode=_setting(mode),
        print=print,
        log=log,
        hide_errors=hide_errors,
        full=full,
        modules=_names(modules),
        skip=_names(skip),
        poll=poll,
        interval=_positive(interval),
    )


def disable() -> None:
    """Stop reloading automatically (in IPython: ``%autoreload off``). Edits saved
    from now on are applied by the next ``enable()``."""
    shell = _ipython_shell()
    if shell is not None and getattr(shell, "_fastautoreload_magics", None) is not None:
        shell.run_line_magic("autoreload", "off")
    with _lock:
        if _session is not None:
            _session.pause()


def active_reloader() -> ModuleReloader | None:
    """The reloader ``enable`` started, if it is on."""
    session = _session
    return session.reloader if session is not None and not session.paused else None


def start(options: Options, at_prompt: bool) -> LiveSession:
    """Starts the session (or gives the running one new options); see ``enable``."""
    global _session
    with _lock:
        session = _session
        if session is not None and _same_detection(session, options, at_prompt):
            if session.paused:
                session.resume(options)
            else:
                session.update(options)
            return session
        if session is not None:
            session.stop()
        _session = LiveSession(options, at_prompt)
        _session.start()
        return _session


def shut_down() -> None:
    """Ends the session for good: its watcher thread, watches and background work."""
    global _session
    with _lock:
        session, _session = _session, None
    if session is not None:
        session.stop()


# The watcher thread must be gone before the interpreter finalizes: a thread that comes
# back from native code then is ended abruptly, which native frames do not survive.
atexit.register(shut_down)


def _same_detection(session: LiveSession, options: Options, at_prompt: bool) -> bool:
    """Whether ``session`` can take ``options`` as they are (else a new one starts)."""
    old = session.options
    return (session.at_prompt, old.poll, old.interval) == (
        at_prompt,
        options.poll,
        options.interval,
    )


def _at_interactive_prompt() -> bool:
    """Whether this process is (about to be) a plain interactive prompt: the prompt has
    set ``sys.ps1``, or ``PYTHONSTARTUP`` runs before it (``sys.argv`` is ``['']`` then,
    where a script, ``-c`` or ``-m`` would name itself)."""
    if hasattr(sys, "ps1"):
        return True
    return sys.argv[:1] == [""]


def _setting(mode: int | str) -> str:
    setting = MODES.get(str(mode).strip().lower())
    if setting is None or setting == "off":
        off = "; disable() turns reloading off" if setting == "off" else ""
        raise ValueError(f"mode must be 1 (explicit), 2 (all) or 3 (complete), not {mode!r}{off}")
    return setting


def _names(names) -> tuple[str, ...]:
    if isinstance(names, str):
        names = names.split(",")
    return tuple(name.strip() for name in names if name.strip())


def _positive(interval: float) -> float:
    interval = float(interval)
    if not interval > 0:
        raise ValueError(f"interval must be a positive number of seconds, not {interval!r}")
    return interval


def _ipython_shell():
    """The running IPython shell, if any (never imports IPython)."""
    ipython = sys.modules.get("IPython")
    get_ipython = getattr(ipython, "get_ipython", None)
    return get_ipython() if get_ipython is not None else None


def _enable_in_ipython(shell, options: Options) -> None:
    """In IPython the extension does the work, before each cell."""
    shell.run_line_magic("load_ext", "fastautoreload")
    magics = shell._fastautoreload_magics
    numbers = {"explicit": "1", "all": "2", "complete": "3"}
    flags = [numbers[options.mode]]
    flags += [flag for flag, on in (("-p", options.print), ("-l", options.log)) if on]
    flags += ["--hide-errors"] * options.hide_errors + ["--full"] * options.full
    shell.run_line_magic("autoreload", " ".join(flags))
    for name in options.modules:
        magics._reloader.mark_module_reloadable(name)
    for name in options.skip:
        magics._reloader.mark_module_skipped(name)


# A forked child (multiprocessing workers) starts without the session: the watcher
# thread does not survive a fork, and a check would wait for it.
def _forget_in_child() -> None:
    global _session
    _session = None
    exec_events.serve(None)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)
