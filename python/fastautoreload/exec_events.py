"""What the interpreter is about to execute, seen through an audit hook: a statement
typed at a plain ``python`` prompt, or the body of a module being imported.

Both the C prompt and the new REPL of Python 3.13 (and ``code.InteractiveConsole``)
raise the ``exec`` audit event with the statement's code just before running it, which
is the one moment "before each statement" exists without owning the prompt. An import
raises it for the module's body, after ``sys.modules`` holds the module and before its
code runs.

An audit hook cannot be removed: it is installed once and serves whichever session is
current (none after ``disable()``). It must never raise: an exception from an audit hook
aborts what was being audited.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from types import CodeType

# The file names prompts compile statements under: "<stdin>" (the C prompt; "<stdin>-3"
# on 3.13), "<python-input-3>" (3.13's REPL), "<console>" (code.InteractiveConsole).
_PROMPT_FILE = re.compile(r"(?:<stdin>(?:-\d+)?|<python-input-\d+>|<console>)\Z")

_served = None  # the LiveSession the hook reports to, or None
_installed = False
_main_ident = threading.main_thread().ident
_library_prefixes: tuple[str, ...] = ()


def serve(session) -> None:
    """Report to ``session`` from now on (None: to nobody)."""
    global _served, _installed, _library_prefixes
    if session is not None:
        roots = session.reloader.library_roots
        _library_prefixes = tuple(os.path.join(root, "") for root in roots)
    _served = session
    if session is not None and not _installed:
        sys.addaudithook(_on_event)
        _installed = True


def _on_event(event: str, args: tuple) -> None:
    if event != "exec" or _served is None:
        return
    try:
        if threading.get_ident() == _main_ident:
            _on_exec(_served, args[0])
    except BaseException:  # the session reports its own failures; nothing escapes here
        pass


def _on_exec(session, code) -> None:
    if not isinstance(code, CodeType):
        return
    filename = code.co_filename
    if session.at_prompt and _PROMPT_FILE.match(filename):
        session.before_statement(code)
    elif _is_user_module(filename):
        session.module_executing()


def _is_user_module(filename: str) -> bool:
    """A module's source file outside the standard library and site-packages."""
    return (
        filename.endswith(".py")
        and os.path.isabs(filename)
        and not filename.startswith(_library_prefixes)
    )
