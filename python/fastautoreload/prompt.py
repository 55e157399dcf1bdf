"""``python -m fastautoreload`` with no program: the interpreter's own interactive prompt
(3.13's new REPL where the interpreter offers it, the basic prompt otherwise), with
every changed module reloaded before each statement.

It starts the way ``python`` starts its prompt: a fresh ``__main__``, ``sys.argv ==
['']``, ``PYTHONSTARTUP`` run in it, then ``sys.__interactivehook__`` (readline and
history), then the prompt.
"""

from __future__ import annotations

import builtins
import code
import os
import sys
import traceback
from types import ModuleType

from . import live, messages

_COPYRIGHT = 'Type "help", "copyright", "credits" or "license" for more information.'


def interact(options: live.Options) -> None:
    """Runs the prompt until it exits (end of input, ``exit()``)."""
    main = _fresh_main()
    sys.argv = [""]
    if not getattr(sys.flags, "safe_path", False) and sys.path[:1] == [os.getcwd()]:
        # `python -m` put the working directory first; python's prompt puts "" there,
        # which follows a later os.chdir().
        sys.path[0] = ""
    live.start(options, at_prompt=True)
    print(messages.prompt_banner(options.print), file=sys.stderr)
    if not sys.flags.quiet:
        print(f"Python {sys.version} on {sys.platform}\n{_COPYRIGHT}", file=sys.stderr)
    _run_startup_file(main)
    hook = getattr(sys, "__interactivehook__", None)
    if hook is not None:
        hook()
    _prompt(main)


def _fresh_main() -> ModuleType:
    """A ``__main__`` as the interpreter's prompt has it (not ``fastautoreload.__main__``)."""
    main = ModuleType("__main__")
    main.__builtins__ = builtins
    main.__annotations__ = {}
    sys.modules["__main__"] = main
    return main


def _run_startup_file(main: ModuleType) -> None:
    """``PYTHONSTARTUP`` in the prompt's namespace; a failure in it is shown, as python
    shows it, and the prompt starts anyway."""
    path = None if sys.flags.ignore_environment else os.environ.get("PYTHONSTARTUP")
    if not path:
        return
    sys.audit("cpython.run_startup", path)
    try:
        with open(path, "rb") as f:
            source = f.read()
        exec(compile(source, path, "exec"), vars(main))
    except Exception:
        traceback.print_exc()


def _prompt(main: ModuleType) -> None:
    if _new_repl_wanted():
        try:
            from _pyrepl.main import interactive_console
        except ImportError:  # an interpreter built without it
            pass
        else:
            interactive_console(main, pythonstartup=False)  # the basic prompt if no tty
            return
    baserepl = getattr(sys, "_baserepl", None)
    if baserepl is not None:  # 3.13+: the interpreter's own basic prompt
        baserepl()
        return
    console = code.InteractiveConsole(vars(main))
    console.interact(banner="", exitmsg="")


def _new_repl_wanted() -> bool:
    """3.13's REPL, unless ``PYTHON_BASIC_REPL`` asks for the basic one (as python)."""
    if sys.version_info < (3, 13):
        return False
    return sys.flags.ignore_environment or not os.environ.get("PYTHON_BASIC_REPL")
