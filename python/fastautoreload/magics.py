"""The ``%autoreload`` and ``%aimport`` magics, with IPython 9's arguments and wording."""

from __future__ import annotations

import sys
from types import SimpleNamespace

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class

from . import messages
from ._native import InternalError
from .lazy_arguments import argument, lazy_arguments
from .reloader import MODES, ModuleReloader, apply_mode, reporter


class _OneLineUsageError(UsageError):
    """A usage error IPython shows as one line: it shortens only `UsageError` itself,
    not subclasses, unless they render their own traceback."""

    def _render_traceback_(self) -> list[str]:
        return [f"UsageError: {self}"]


class AutoreloadUsageError(_OneLineUsageError, ValueError):
    """A bad ``%autoreload`` argument: one line for the user, and the ``ValueError``
    IPython's own magic raises for a bad mode, for code that catches that."""


class AimportError(_OneLineUsageError, ModuleNotFoundError):
    """``%aimport`` of a module that cannot be imported: one line for the user, and an
    ``ImportError`` for code that calls the magic and catches that."""


def _mode_only(line: str):
    """The arguments of a line that is one plain word or nothing (``%autoreload 2``, the
    usual call, at every start), as the parser would give them without making it (see
    `lazy_arguments`); None for any other line."""
    # IPython's shlex splits on these four only: any other space is part of a word.
    if any(c.isspace() and c not in " \t\r\n" for c in line):
        return None
    words = line.split()
    if len(words) > 1 or any(
        word[:1] == "-" or "'" in word or '"' in word or "\\" in word for word in words
    ):
        return None
    declared = AutoreloadMagics.__dict__["autoreload"]
    return SimpleNamespace(**{**declared.defaults(), **({"mode": words[0]} if words else {})})


@magics_class
class AutoreloadMagics(Magics):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self._reloader = ModuleReloader(self.shell)
        self._reloader.check_all = False
        self._reloader.autoload_obj = False
        self._last_execution_info = None
        self._stood_down = False  # IPython's autoreload took over, and we said so

    @property
    def loaded_modules(self) -> set[str]:
        """The modules imported so far, as IPython's class has it: made when asked for,
        not kept (a set of every module name costs half a megabyte in a big session)."""
        return set(sys.modules)

    @line_magic
    @lazy_arguments(
        argument(
            "mode",
            type=str,
            default="now",
            nargs="?",
            help="""blank or 'now' - Reload all modules (except those excluded by %%aimport)
                 automatically now.

                 '0' or 'off' - Disable automatic reloading.

                 '1' or 'explicit' - Reload only modules imported with %%aimport every
                 time before executing the Python code typed.

                 '2' or 'all' - Reload all modules (except those excluded by %%aimport)
                 every time before executing the Python code typed.

                 '3' or 'complete' - Same as 2/all, but also adds any new
                 objects in the module.

                 A trailing '-' (e.g. '%%autoreload 2-') is the same as --full.
                 """,
        ),
        argument(
            "modules",
            nargs="*",
            help="""With 'now': reload these modules now, changed or not, with their changed
                 submodules, then the modules that bound values from them which changed
                 (your own code only, never the standard library or site-packages).""",
        ),
        argument(
            "--stats",
            action="store_true",
            default=False,
            help="Show what is tracked, how changes are detected, and what checks cost",
        ),
        argument(
            "--deps",
            metavar="MODULE",
            default=None,
            help="Show what a change to MODULE would reload, without reloading anything",
        ),
        argument(
            "-p",
            "--print",
            action="store_true",
            default=False,
            help="Show autoreload activity using `print` statements",
        ),
        argument(
            "-l",
            "--log",
            action="store_true",
            default=False,
            help="Show autoreload activity using the logger ('autoreload', at INFO level)",
        ),
        argument(
            "--hide-errors",
            action="store_true",
            default=False,
            help="Hide autoreload errors",
        ),
        argument(
            "--full",
            action="store_true",
            default=False,
            help="Always re-execute whole modules",
        ),
        argument(
            "--version",
            action="store_true",
            default=False,
            help="Show the version of fastautoreload",
        ),
    )
    def autoreload(self, line=""):
        r"""%autoreload => Reload modules automatically (fastautoreload)

        %autoreload or %autoreload now
        Reload all changed modules (except those excluded by %aimport) now.

        %autoreload 0 or %autoreload off
        Disable automatic reloading.

        %autoreload 1 or %autoreload explicit
        Reload only modules imported with %aimport every time before executing
        the Python code typed.

        %autoreload 2 or %autoreload all
        Reload all modules (except those excluded by %aimport) every time
        before executing the Python code typed.

        %autoreload 3 or %autoreload complete
        Same as 2/all, but also pushes new and changed names of a reloaded module
        into the user namespace (only the names imported with `from m import x [as y]`
        when the module was imported that way).

        %autoreload now pkg [other ...]
        Reload `pkg` now, changed or not, with every changed submodule, then the
        modules that bound values from them which changed. Only your own code is
        touched, never the standard library or site-packages.

        %autoreload --stats
        Show the modules tracked, how changes are detected (file events, or polling and
        why), the directories watched, the cost of the last check and of recent reloads.

        %autoreload --deps pkg.config
        Show what a change to `pkg.config` would reload, and which modules import it.

        %autoreload --version
        Show the version of fastautoreload.

        Several modules changed at once are reloaded dependencies first. After a module
        reloads, a module that did `from m import x` where `x` got a new value (a
        constant, not a function or class, which keep their identity) runs again, and
        your own `from m import x [as y]` names are rebound unless you reassigned them.

        --print (-p) prints the name of each module as it is reloaded; --log (-l) sends
        it to the 'autoreload' logger at INFO level; both can be given. --hide-errors
        hides reload failures. Every %autoreload call resets the flags it does not give.

        A module is reloaded only when its content changed, from the exact bytes that
        were read: a touched or re-saved file is not reloaded (IPython's autoreload
        reloads on a new mtime); `%autoreload now m` reloads `m` whatever its content.
        A change saved while a module is skipped, unmarked in mode 1, or while reloading
        is off is kept, and applies when the module is reloaded again.

        Only what changed runs again: the changed top-level statements and those that
        read what they bind; a function or method whose body alone changed is patched
        without re-running its decorators or class; a comment-only change runs nothing.
        Module-level side effects (loading a model, opening a connection) are not
        repeated unless their own line changed.
        With -p each reload is shown after it ran, with what ran: "Reloading 'm'.
        (1 function patched)". --full, or a trailing '-' on the mode, always runs whole
        modules ("Reloading 'm'.").

        Functions and classes keep their identity: `from m import f` references,
        existing instances, isinstance checks and pickling keep working. A reload that
        fails (a syntax error, any exception at import, SystemExit and KeyboardInterrupt
        included, or Ctrl-C) leaves the module exactly as it was, is reported once, and
        is retried when the file changes.
        """
        args = _mode_only(line) or self.autoreload.parse(line)
        if self._show(args):
            return
        mode = args.mode.lower()
        reloader = self._reloader
        reloader.full_reload = args.full or mode.endswith("-")
        mode = mode.removesuffix("-") or "now"
        reloader._report = reporter(args.print, args.log)
        reloader.hide_errors = args.hide_errors
        if args.modules and mode != "now":
            raise AutoreloadUsageError(messages.modules_need_now())
        if mode == "now":
            try:
                self._reload_now(args.modules, args.log)
            except InternalError as error:  # a bug of ours: said, never raised at the user
                reloader.report_internal_error(error)
            return
        if mode not in MODES:
            raise AutoreloadUsageError(messages.bad_mode(mode))
        apply_mode(reloader, MODES[mode])

    def _show(self, args) -> bool:
        """The arguments that only show something (and change nothing): shown, True."""
        if args.version:
            from . import __version__

            print(messages.version_line(__version__))
        elif args.deps is not None:
            print(describe_dependents(self._reloader, args.deps))
        elif args.stats:
            print(describe_stats(self._reloader))
        else:
            return False
        return True

    def _reload_now(self, modules: list[str], log: bool) -> None:
        if not modules:
            self._reloader.check(True)
            return
        # Naming modules is an explicit request: what it reloaded is shown, -p or not.
        reloader = self._reloader
        quiet_report, reloader._report = reloader._report, reporter(True, log)
        try:
            for name in modules:
                try:
                    reloader.reload_tree(name)
                except ImportError as error:
                    raise AutoreloadUsageError(str(error)) from None
        finally:
            reloader._report = quiet_report

    @line_magic
    def aimport(self, parameter_s="", stream=None):
        """%aimport => Import modules for automatic reloading.

        %aimport
        List modules to automatically import and not to import.

        %aimport foo
        Import module 'foo' and mark it to be autoreloaded for %autoreload explicit

        %aimport foo, bar
        Import modules 'foo', 'bar' and mark them to be autoreloaded for %autoreload explicit

        %aimport foo as f
        Import module 'foo', mark it, and bind it to 'f'

        %aimport -foo, bar
        Mark module 'foo' to not be autoreloaded for %autoreload explicit, all, or complete,
        and 'bar' to be autoreloaded for mode explicit.
        """
        reloader = self._reloader
        if not parameter_s:
            stream = stream or sys.stdout
            if reloader.check_all:
                stream.write("Modules to reload:\nall-except-skipped\n")
            else:
                stream.write("Modules to reload:\n{}\n".format(" ".join(sorted(reloader.modules))))
            stream.write("\nModules to skip:\n{}\n".format(" ".join(sorted(reloader.skip_modules))))
            return
        for spec in (item.strip() for item in parameter_s.split(",")):
            if spec.startswith("-"):
                reloader.mark_module_skipped(spec[1:].strip())
                continue
            name, _, alias = (part.strip() for part in spec.partition(" as "))
            try:
                top_module, top_name = reloader.aimport_module(name)
            except ImportError as error:
                raise AimportError(messages.aimport_failed(name, error), name=name) from None
            # `%aimport a.b as x` binds the submodule, as `import a.b as x` would.
            self.shell.push({alias: sys.modules[name]} if alias else {top_name: top_module})

    # The hooks run around every cell, on any host that can build this class (IPython's
    # shells, or a minimal object with only `user_ns` and `push`): every other shell
    # attribute is optional, and nothing raised in here reaches the user's cell.

    def pre_run_cell(self, info=None):
        self._last_execution_info = info
        try:
            if self._reloader.enabled and self._in_charge():
                self._reloader.check()
        except BaseException as error:  # a bug of ours, or Ctrl-C between two reloads
            self._reloader.report_internal_error(error)

    def _in_charge(self) -> bool:
        """Whether `%autoreload` still belongs to this instance: if IPython's autoreload
        was loaded after it, that one is in charge and this one stands down, so modules
        are not reloaded twice (and says so, once)."""
        manager = getattr(self.shell, "magics_manager", None)
        if manager is None:  # a host without magics: nothing else can take over
            return True
        magic = manager.magics["line"].get("autoreload")
        owner = getattr(magic, "__self__", self)
        if owner is self:
            return True
        if not self._stood_down and type(owner).__module__ == "IPython.extensions.autoreload":
            self._stood_down = True
            print(messages.ipython_autoreload_took_over(), file=sys.stderr)
        return False

    def post_execute_hook(self):
        """Track modules imported by the cell, and its ``from`` imports."""
        try:
            self._track_cell()
        except BaseException as error:
            self._reloader.report_internal_error(error)

    def _track_cell(self) -> None:
        reloader = self._reloader
        # The cell may have loaded IPython's autoreload: say so right after it.
        self._in_charge()
        # Recorded in every mode: the user's `from m import x` names are refreshed when
        # `m` reloads with a new value for `x`; mode 3 also uses them to choose what to push.
        succeeded = getattr(self.shell, "last_execution_succeeded", True)
        if reloader.enabled and succeeded:
            code = self._executed_code()
            if code:
                reloader.import_from_tracker.track_cell(code)
        reloader.sync()

    def _executed_code(self) -> str | None:
        """The last cell's Python source (IPython 8 does not record the transformed cell)."""
        info = self._last_execution_info
        if info is None:
            return None
        code = getattr(info, "transformed_cell", None)
        raw = getattr(info, "raw_cell", None)
        transform = getattr(self.shell, "transform_cell", None)
        if code is None and raw and transform is not None:
            try:
                code = transform(raw)
            except Exception:  # a cell IPython itself could not transform ran no imports
                return None
        return code if code is not None else raw


def describe_dependents(reloader, name: str) -> str:
    """What a change to module ``name`` would reload, as text for the user."""
    if not reloader.is_tracked(name):
        return messages.not_tracked(name)
    binders = reloader.binders_of(name)
    direct = {importer for importer, _ in binders}
    others = [m for m in reloader.dependents(name) if m not in direct]
    return messages.dependents_report(name, binders, others)


def describe_stats(reloader) -> str:
    """``%autoreload --stats`` as text."""
    # Only a session that imported fastautoreload.dask has clusters (and distributed).
    cluster = sys.modules.get("fastautoreload.dask")
    clusters = messages.cluster_stats(cluster.stats()) if cluster is not None else []
    return messages.stats_report(reloader.stats(), reloader.reload_times[-10:], clusters)
