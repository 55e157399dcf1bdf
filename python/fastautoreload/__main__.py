"""The command line: ``python -m fastautoreload [options] [script.py [args] | -m module
[args]]``. Options come before the program; everything after it is the program's."""

from __future__ import annotations

import argparse
import sys

from . import live, prompt, runner

_USAGE = "python -m fastautoreload [options] [script.py [args ...] | -m module [args ...]]"
_DESCRIPTION = """\
Without a program: python's interactive prompt, where every changed module is reloaded
before each statement. With a program: runs it as python would, applying the edits saved
to its modules as it runs (on the main thread, between two bytecodes, or between two
callbacks of its asyncio loop). Functions and classes keep their identity, so references
taken before an edit run the new code. A failed reload changes nothing, is reported once
and is retried when the file changes again."""

# Options that take a value: the program starts at the first argument that is neither
# an option nor such a value.
_WITH_VALUE = ("--mode", "--modules", "--skip", "--interval")


def main(argv: list[str]) -> None:
    ours, program = _split(argv)
    parser = _parser()
    args = parser.parse_args(ours)
    try:
        options = live.make_options(
            args.mode,
            print=args.print,
            log=args.log,
            hide_errors=args.hide_errors,
            full=args.full,
            modules=args.modules,
            skip=args.skip,
            poll=True if args.poll else None,
            interval=args.interval,
        )
    except ValueError as error:
        parser.error(str(error))
    if options.modules and options.mode != "explicit":
        parser.error("--modules goes with --mode 1 (in mode 2 and 3 every module is reloaded)")
    if not program and not sys.stdin.isatty():  # `python < file`: a program, no prompt
        runner.run_stdin("", [], options)
    elif not program:
        prompt.interact(options)
    elif program[0] == "-":
        runner.run_stdin("-", program[1:], options)
    elif program[0] == "-m":
        if len(program) < 2:
            parser.error("-m needs a module name")
        runner.run_module(program[1], program[2:], options)
    elif program[0].startswith("-m"):  # -mpackage.module, as python accepts it
        runner.run_module(program[0][2:], program[1:], options)
    else:
        runner.run_script(program[0], program[1:], options)


def _split(argv: list[str]) -> tuple[list[str], list[str]]:
    """fastautoreload's options, and the program with its arguments."""
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":  # what follows is the program, even if it starts with "-"
            return argv[:i], argv[i + 1 :]
        if arg.startswith("-m") or not arg.startswith("-") or arg == "-":
            break
        i += 2 if arg in _WITH_VALUE else 1
    return argv[:i], argv[i:]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m fastautoreload", usage=_USAGE, description=_DESCRIPTION
    )
    parser.add_argument(
        "-p", "--print", action="store_true", help="print `Reloading 'm'.` for each reload"
    )
    parser.add_argument(
        "-l", "--log", action="store_true", help="log each reload to the 'autoreload' logger"
    )
    parser.add_argument(
        "--mode",
        default="2",
        help="1: reload only --modules; 2 (the default): every changed module; "
        "3: also push new names into __main__ (as %%autoreload 1/2/3)",
    )
    parser.add_argument("--modules", default="", help="mode 1: the modules to reload (a,b)")
    parser.add_argument("--skip", default="", help="modules never to reload (a,b)")
    parser.add_argument("--hide-errors", action="store_true", help="do not show reload failures")
    parser.add_argument("--full", action="store_true", help="always re-execute whole modules")
    parser.add_argument(
        "--poll",
        action="store_true",
        help="detect changes by polling instead of file events (as FASTAUTORELOAD_POLL=1)",
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=1.0,
        help="seconds between looks at polled files (default: 1)",
    )
    return parser


if __name__ == "__main__":
    main(sys.argv[1:])
