"""The plain ``python`` prompt through a real pseudo-terminal.

Two ways in: ``python -m fastautoreload``, and ``python -i`` with a ``PYTHONSTARTUP``
file calling ``fastautoreload.enable()``. Each runs on python's basic prompt, and on
3.13+ also on the new REPL (those cases are skipped on older Pythons). A module is
imported, its file is rewritten on disk between two statements, and the next statement
sees the new code through references taken before.
"""

from __future__ import annotations

import contextlib
import os
import sys

import pytest
from conftest import unique_name, write
from terminal import Terminal

NEW_REPL = sys.version_info >= (3, 13)

PROMPTS = [
    pytest.param("command", "basic", id="python-m-fastautoreload-basic"),
    pytest.param("startup", "basic", id="python-i-startup-basic"),
    pytest.param(
        "command",
        "new",
        id="python-m-fastautoreload-new-repl",
        marks=pytest.mark.skipif(not NEW_REPL, reason="the new REPL is Python 3.13+"),
    ),
    pytest.param(
        "startup",
        "new",
        id="python-i-startup-new-repl",
        marks=pytest.mark.skipif(not NEW_REPL, reason="the new REPL is Python 3.13+"),
    ),
]

MODULE = """\
VERSION = 1


def f():
    return "old f"


class C:
    def who(self):
        return "old method"
"""


class Prompt:
    """A prompt in a terminal, typed into one statement at a time."""

    def __init__(self, terminal: Terminal):
        self.terminal = terminal

    def run(self, statement: str) -> None:
        """Waits for the prompt, then types ``statement``."""
        self.terminal.expect(">>> ")
        self.terminal.send_line(statement)

    def show(self, expr: str) -> str:
        """Prints ``expr`` as ``[=value=]`` and returns the output up to it (the reload
        messages, if any). The echo of the statement shows ``[={...}=]``, never that."""
        self.run(f"print(f'[={{{expr}}}=]')")
        return self.terminal.expect("=]\n")

    def value(self, expr: str) -> str:
        text = self.show(expr)
        return text[text.rindex("[=") + 2 : -3]


@pytest.fixture
def start_prompt(tmp_path):
    """``start_prompt(way, repl, *options) -> (Prompt, module name, module path)``."""
    started = []

    def start(way: str, repl: str, *options: str):
        name = unique_name("prompt")
        path = write(tmp_path / f"{name}.py", MODULE)
        env = _environment(tmp_path, repl)
        if way == "command":
            argv = [sys.executable, "-m", "fastautoreload", *options]
        else:
            startup = tmp_path / "startup.py"
            startup.write_text("import fastautoreload\nfastautoreload.enable(print=True)\n")
            env["PYTHONSTARTUP"] = str(startup)
            argv = [sys.executable, "-i"]
        terminal = Terminal(argv, env, str(tmp_path))
        started.append(terminal)
        return Prompt(terminal), name, path

    yield start
    for terminal in started:
        # Ctrl-D typed before the prompt reads again can be lost in the terminal's
        # switch between line modes: it goes once the prompt is back.
        with contextlib.suppress(AssertionError):
            terminal.expect(">>> ")
        status = terminal.close()
        assert status == 0, terminal.output


def _environment(tmp_path, repl: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTHON", "FASTAUTORELOAD"))
    }
    env.update(
        TERM="xterm",
        PYTHONPATH=str(tmp_path),
        PYTHONDONTWRITEBYTECODE="1",
        HOME=str(tmp_path),  # the prompt's history file goes there
        PYTHON_HISTORY=str(tmp_path / "history"),
    )
    if repl == "basic":
        env["PYTHON_BASIC_REPL"] = "1"
    return env


@pytest.mark.parametrize(("way", "repl"), PROMPTS)
def test_next_statement_sees_an_edit_through_old_references(start_prompt, way, repl):
    prompt, name, path = start_prompt(way, repl, "-p")
    prompt.run(f"from {name} import f, C")
    prompt.run(f"import {name} as mod")
    prompt.run("obj = C()")
    assert prompt.value("f()") == "old f"
    write(path, MODULE.replace("old", "new").replace("VERSION = 1", "VERSION = 2"))
    shown = prompt.show("f()")
    assert f"Reloading '{name}'." in shown
    assert shown.endswith("[=new f=]\n")
    assert prompt.value("obj.who()") == "new method"
    assert prompt.value("mod.VERSION") == "2"
    assert prompt.value("type(obj) is mod.C and f is mod.f") == "True"


@pytest.mark.parametrize(("way", "repl"), PROMPTS)
def test_a_syntax_error_is_reported_once_and_the_fix_applies(start_prompt, way, repl):
    prompt, name, path = start_prompt(way, repl, "-p")
    prompt.run(f"from {name} import f")
    assert prompt.value("f()") == "old f"
    write(path, MODULE.replace('return "old f"', 'return "broken f" +'))
    failed = prompt.show("f()")
    assert f"[autoreload of {name} failed:" in failed
    assert f'File "{path}", line 5' in failed
    assert "SyntaxError" in failed
    assert failed.endswith("[=old f=]\n")
    quiet = prompt.show("f()")  # reported once: the next statements say nothing more
    assert quiet.endswith("[=old f=]\n")
    assert "autoreload of" not in quiet
    write(path, MODULE.replace("old f", "fixed f"))
    assert prompt.value("f()") == "fixed f"
    assert prompt.terminal.output.count(f"[autoreload of {name} failed:") == 1


@pytest.mark.parametrize(
    "repl",
    [
        "basic",
        pytest.param(
            "new", marks=pytest.mark.skipif(not NEW_REPL, reason="the new REPL is Python 3.13+")
        ),
    ],
)
def test_the_first_line_says_autoreload_is_on_and_how_to_see_it(start_prompt, repl):
    prompt, name, path = start_prompt("command", repl)
    first = prompt.terminal.expect("\n")
    assert first.startswith("fastautoreload: autoreload is on")
    assert "-p" in first and "fastautoreload.enable(print=True)" in first
    prompt.terminal.expect("Python ")  # python's own banner follows
    prompt.run(f"from {name} import f")
    write(path, MODULE.replace("old f", "new f"))
    quiet = prompt.show("f()")  # without -p the reload is silent
    assert quiet.endswith("[=new f=]\n")
    assert "Reloading" not in quiet
    assert prompt.value("__name__") == "__main__"


@pytest.mark.parametrize("way, repl", PROMPTS[:1] + PROMPTS[2:3])
def test_the_prompt_looks_up_imports_in_the_working_directory_as_python_does(
    start_prompt, way, repl, tmp_path
):
    prompt, _, _ = start_prompt(way, repl)
    assert prompt.value('__import__("sys").path[0]!r') == "''"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    name = unique_name("here")
    write(elsewhere / f"{name}.py", "WHERE = 'elsewhere'\n")
    prompt.run(f"import os; os.chdir({str(elsewhere)!r})")
    prompt.run(f"import {name}")
    assert prompt.value(f"{name}.WHERE") == "elsewhere"
