"""Programs run under ``python -m fastautoreload``, in real subprocesses.

Each program prints as it runs; the test reads its output until a marker appears
(bounded by a generous timeout), rewrites a module on disk, and reads on until the new
code shows. The programs sleep between iterations as a program of theirs would; nothing
in the tests is timed.
"""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from conftest import unique_name, write

TIMEOUT = 60.0
"""How long to wait for an expected output or exit before failing."""

# A bound on every program's loop, so that a broken reload ends it instead of the test
# run: far more iterations than any test needs.
ITERATIONS = 20_000

VERSIONED = """\
def value():
    return {v!r}
"""


class Program:
    """A program under ``python -m fastautoreload`` (or python itself, ``plain``), its
    stdout and stderr merged."""

    def __init__(self, args: list[str], cwd: Path, plain: bool = False):
        env = {k: v for k, v in os.environ.items() if not k.startswith("FASTAUTORELOAD")}
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env["PYTHONUNBUFFERED"] = "1"
        ours = [] if plain else ["-m", "fastautoreload"]
        self.proc = subprocess.Popen(
            [sys.executable, *ours, *args],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, marker: str) -> list[str]:
        """Reads lines until one contains ``marker``; returns the lines read for it."""
        read = []
        while True:
            try:
                line = self._queue.get(timeout=TIMEOUT)
            except queue.Empty:
                raise AssertionError(self._story(f"{marker!r} did not appear")) from None
            if line is None:
                self.proc.wait(timeout=TIMEOUT)  # for the exit status in the story
                raise AssertionError(self._story(f"the program ended before {marker!r}"))
            self.lines.append(line)
            read.append(line)
            if marker in line:
                return read

    def exit_status(self) -> int:
        try:
            status = self.proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError(self._story("the program did not exit")) from None
        while (line := self._queue.get(timeout=TIMEOUT)) is not None:  # the rest of it
            self.lines.append(line)
        return status

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def _story(self, what: str) -> str:
        status = self.proc.poll()
        ended = "still running" if status is None else f"exit status {status}"
        return f"{what} ({ended}); output so far:\n" + "\n".join(self.lines[-40:])


@pytest.fixture
def programs():
    started: list[Program] = []

    def start(args: list[str], cwd: Path, plain: bool = False) -> Program:
        program = Program(args, cwd, plain)
        started.append(program)
        return program

    yield start
    for program in started:
        program.kill()


def _loop(module: str) -> str:
    """A program that prints ``value`` of ``module`` as it runs, and exits with status 3
    once the value is "stop" (reached only through a reload)."""
    return textwrap.dedent(
        f"""\
        import sys
        import time

        from {module} import value

        print("argv", sys.argv, "name", __name__, flush=True)
        for _ in range({ITERATIONS}):
            current = value()
            print("value", current, flush=True)
            if current == "stop":
                sys.exit(3)
            time.sleep(0.01)
        sys.exit(99)  # the edits never arrived
        """
    )


def _edit_until_stop(program: Program, path: Path) -> None:
    """The program shows version 1, then each saved edit, then stops."""
    program.wait_for("value one")
    write(path, VERSIONED.format(v="two"))
    seen = program.wait_for("value two")
    assert any(line.startswith("Reloading '") for line in seen), seen
    write(path, VERSIONED.format(v="stop"))
    program.wait_for("value stop")


def test_a_script_sees_an_edit_saved_mid_run_and_exits_with_its_status(tmp_path, programs):
    name = unique_name("work")
    path = write(tmp_path / f"{name}.py", VERSIONED.format(v="one"))
    script = tmp_path / "loop.py"
    script.write_text(_loop(name))
    program = programs(["-p", str(script), "a", "--b"], cwd=tmp_path)
    started = program.wait_for("argv")
    assert started[-1] == f"argv {[str(script), 'a', '--b']} name __main__"
    _edit_until_stop(program, path)
    assert program.exit_status() == 3


def test_dash_m_runs_a_module_as_python_would(tmp_path, programs):
    name = unique_name("work")
    path = write(tmp_path / f"{name}.py", VERSIONED.format(v="one"))
    runner = unique_name("runner")
    runner_path = tmp_path / f"{runner}.py"
    runner_path.write_text(_loop(name))
    program = programs(["-p", "-m", runner, "x"], cwd=tmp_path)
    started = program.wait_for("argv")
    assert started[-1] == f"argv {[str(runner_path), 'x']} name __main__"
    _edit_until_stop(program, path)
    assert program.exit_status() == 3


def test_a_failed_reload_keeps_the_old_code_is_said_once_and_is_retried(tmp_path, programs):
    name = unique_name("work")
    path = write(tmp_path / f"{name}.py", VERSIONED.format(v="one"))
    script = tmp_path / "loop.py"
    script.write_text(_loop(name))
    program = programs([str(script)], cwd=tmp_path)
    program.wait_for("value one")
    write(path, "def value(:\n    return 'two'\n")
    failure = program.wait_for("SyntaxError")
    assert any(f"[autoreload of {name} failed:" in line for line in failure), failure
    assert any(f'File "{path}", line 1' in line for line in failure), failure
    program.wait_for("value one")  # the old code goes on
    write(path, VERSIONED.format(v="stop"))
    program.wait_for("value stop")
    assert program.exit_status() == 3
    assert sum("autoreload of" in line for line in program.lines) == 1


def test_enable_in_a_program_applies_edits_as_they_are_saved(tmp_path, programs):
    name = unique_name("work")
    path = write(tmp_path / f"{name}.py", VERSIONED.format(v="one"))
    script = tmp_path / "enables.py"
    script.write_text("import fastautoreload\n\nfastautoreload.enable(print=True)\n" + _loop(name))
    program = programs([str(script)], cwd=tmp_path, plain=True)
    _edit_until_stop(program, path)
    assert program.exit_status() == 3


def test_a_program_calling_enable_sees_new_values_of_its_from_imports(tmp_path, programs):
    name = unique_name("settings")
    path = write(tmp_path / f"{name}.py", "LIMIT = 'one'\n")
    script = tmp_path / "limits.py"
    script.write_text(
        textwrap.dedent(
            f"""\
            import sys, time
            import fastautoreload
            from {name} import LIMIT

            fastautoreload.enable()
            for _ in range({ITERATIONS}):
                current = LIMIT  # read once: a reload may land between any two bytecodes
                print("value", current, flush=True)
                if current == "stop":
                    sys.exit(3)
                time.sleep(0.01)
            sys.exit(99)
            """
        )
    )
    program = programs([str(script)], cwd=tmp_path, plain=True)
    program.wait_for("value one")
    write(path, "LIMIT = 'stop'\n")
    program.wait_for("value stop")
    assert program.exit_status() == 3


def test_mode_1_reloads_only_the_modules_named(tmp_path, programs):
    named, other = unique_name("named"), unique_name("other")
    named_path = write(tmp_path / f"{named}.py", VERSIONED.format(v="one"))
    other_path = write(tmp_path / f"{other}.py", VERSIONED.format(v="one"))
    script = tmp_path / "both.py"
    script.write_text(
        textwrap.dedent(
            f"""\
            import sys
            import time

            import {named}
            import {other}

            for _ in range({ITERATIONS}):
                # Each value read once: a reload may land between any two bytecodes.
                values = {named}.value(), {other}.value()
                print("values", *values, flush=True)
                if values[0] == "two":
                    sys.exit(0)
                time.sleep(0.01)
            sys.exit(99)
            """
        )
    )
    program = programs(["--mode", "1", "--modules", named, str(script)], cwd=tmp_path)
    program.wait_for("values one one")
    # The other module first: any check that sees the named one's edit sees it too.
    write(other_path, VERSIONED.format(v="two"))
    write(named_path, VERSIONED.format(v="two"))
    assert program.wait_for("values two")[-1] == "values two one"
    assert program.exit_status() == 0


def test_worker_threads_run_the_new_code(tmp_path, programs):
    name = unique_name("work")
    path = write(tmp_path / f"{name}.py", VERSIONED.format(v="one"))
    script = tmp_path / "workers.py"
    script.write_text(
        textwrap.dedent(
            f"""\
            import queue
            import sys
            import threading
            import time

            from {name} import value

            results = queue.Queue()
            done = threading.Event()

            def work(n):
                while not done.is_set():
                    results.put((n, value()))
                    time.sleep(0.01)

            workers = [threading.Thread(target=work, args=(n,)) for n in range(3)]
            for worker in workers:
                worker.start()
            seen_stop = set()
            for _ in range({ITERATIONS}):
                n, current = results.get()
                print("value", current, "from", n, flush=True)
                if current == "stop":
                    seen_stop.add(n)
                if len(seen_stop) == len(workers):
                    break
            done.set()
            for worker in workers:
                worker.join()
            sys.exit(3 if len(seen_stop) == len(workers) else 99)
            """
        )
    )
    program = programs(["-p", str(script)], cwd=tmp_path)
    _edit_until_stop(program, path)
    assert program.exit_status() == 3


def test_an_asyncio_server_answers_with_the_new_code(tmp_path, programs):
    name = unique_name("handler")
    path = write(tmp_path / f"{name}.py", VERSIONED.format(v="one"))
    script = tmp_path / "server.py"
    script.write_text(
        textwrap.dedent(
            f"""\
            import asyncio

            from {name} import value

            async def answer(reader, writer):
                request = (await reader.readline()).decode().strip()
                writer.write(f"{{value()}}\\n".encode())
                await writer.drain()
                writer.close()
                if request == "quit":
                    stop.set()

            async def main():
                global stop
                stop = asyncio.Event()
                server = await asyncio.start_server(answer, "127.0.0.1", 0)
                print("port", server.sockets[0].getsockname()[1], flush=True)
                async with server:
                    await stop.wait()

            asyncio.run(main())
            """
        )
    )
    program = programs(["-p", str(script)], cwd=tmp_path)
    port = int(program.wait_for("port")[-1].split()[1])
    assert _ask(port, "hello") == "one"
    write(path, VERSIONED.format(v="two"))
    # The server sleeps in its selector: the reload wakes it, with nothing else to do.
    program.wait_for(f"Reloading '{name}'.")
    assert _ask(port, "quit") == "two"
    assert program.exit_status() == 0


def _ask(port: int, request: str) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as connection:
        connection.sendall(request.encode() + b"\n")
        return connection.makefile().readline().strip()


def test_an_uncaught_exception_looks_as_under_python(tmp_path):
    name = unique_name("helper")
    write(tmp_path / f"{name}.py", "def fail():\n    raise ValueError('from the program')\n")
    script = tmp_path / "fails.py"
    script.write_text(f"from {name} import fail\n\nprint('started')\nfail()\n")
    under_python = _run_plainly([sys.executable, str(script)], tmp_path)
    under_us = _run_plainly([sys.executable, "-m", "fastautoreload", str(script)], tmp_path)
    assert under_us.returncode == under_python.returncode == 1
    assert under_us.stdout == under_python.stdout == "started\n"
    assert under_us.stderr == under_python.stderr
    assert "Traceback (most recent call last):" in under_us.stderr


def test_importing_fastautoreload_leaves_ipython_out(tmp_path):
    code = (
        "import sys, fastautoreload\n"
        "assert 'IPython' not in sys.modules, 'imported IPython'\n"
        "from fastautoreload import AutoreloadMagics, load_ipython_extension\n"
        "assert 'IPython' in sys.modules\n"
        "print('ok')\n"
    )
    done = _run_plainly([sys.executable, "-c", code], tmp_path)
    assert done.stdout == "ok\n", done.stderr


def test_a_script_that_is_not_there_is_said_as_python_says_it(tmp_path):
    missing = tmp_path / "missing.py"
    done = _run_plainly([sys.executable, "-m", "fastautoreload", str(missing)], tmp_path)
    assert done.returncode == 2
    assert f"can't open file {str(missing)!r}" in done.stderr


_SHOW_MAIN = """\
import sys
print(sys.argv, __name__, __file__, __spec__, sys.path[0])
print(type(__builtins__).__name__, type(__loader__).__name__, __cached__)
"""


def test_a_script_sees_what_python_shows_it(tmp_path):
    (tmp_path / "show.py").write_text(_SHOW_MAIN)
    under_python = _run_plainly([sys.executable, "show.py", "a", "-b"], tmp_path)
    under_us = _run_plainly(
        [sys.executable, "-m", "fastautoreload", "-p", "--", "show.py", "a", "-b"], tmp_path
    )
    assert under_us.returncode == under_python.returncode == 0, under_us.stderr
    assert under_us.stdout == under_python.stdout
    assert "['show.py', 'a', '-b']" in under_us.stdout


@pytest.mark.parametrize("dash", [[], ["-"]], ids=["redirected", "dash"])
def test_a_program_read_from_standard_input_runs_as_under_python(tmp_path, dash):
    source = tmp_path / "piped.py"
    source.write_text(
        "import sys\nfor i in range(2):\n    print(i, sys.argv)\n"
        "print(__file__, __loader__.__name__, __spec__)\nsys.exit(4)\n"
    )
    runs = []
    for ours in ([], ["-m", "fastautoreload"]):
        with open(source) as stdin:
            argv = [sys.executable, *ours, *dash, *(["x"] if dash else [])]
            runs.append(
                subprocess.run(
                    argv, cwd=tmp_path, stdin=stdin, capture_output=True, text=True, timeout=TIMEOUT
                )
            )
    under_python, under_us = runs
    assert under_us.returncode == under_python.returncode == 4, under_us.stderr
    assert under_us.stdout == under_python.stdout
    assert ">>>" not in under_us.stdout + under_us.stderr


def test_modules_without_mode_1_is_refused(tmp_path):
    (tmp_path / "show.py").write_text(_SHOW_MAIN)
    done = _run_plainly(
        [sys.executable, "-m", "fastautoreload", "--modules", "a", "show.py"], tmp_path
    )
    assert done.returncode == 2
    assert "--modules goes with --mode 1" in done.stderr
    assert done.stdout == ""


def test_edits_saved_while_disabled_apply_when_enabled_again(tmp_path, programs):
    name = unique_name("work")
    path = write(tmp_path / f"{name}.py", VERSIONED.format(v="one"))
    script = tmp_path / "toggles.py"
    script.write_text(
        textwrap.dedent(
            f"""\
            import sys, time
            import fastautoreload
            import {name}

            fastautoreload.enable(print=True)
            fastautoreload.disable()
            with open({str(path)!r}, "w") as f:
                f.write({VERSIONED.format(v="stop")!r})
            print("disabled", {name}.value(), flush=True)
            fastautoreload.enable(print=True)
            for _ in range({ITERATIONS}):
                current = {name}.value()  # read once, as above
                if current == "stop":
                    print("enabled", current, flush=True)
                    sys.exit(3)
                time.sleep(0.01)
            sys.exit(99)
            """
        )
    )
    program = programs([str(script)], cwd=tmp_path, plain=True)
    assert program.wait_for("disabled")[-1] == "disabled one"
    seen = program.wait_for("enabled")
    assert any(line.startswith(f"Reloading '{name}'.") for line in seen), seen
    assert program.exit_status() == 3


def test_a_ctrl_c_that_stops_a_reload_ends_the_program(tmp_path, programs):
    name = unique_name("work")
    path = write(tmp_path / f"{name}.py", VERSIONED.format(v="one"))
    script = tmp_path / "loop.py"
    script.write_text(_loop(name))
    program = programs([str(script)], cwd=tmp_path)
    program.wait_for("value one")
    # What a Ctrl-C pressed while the new version's import-time code runs raises.
    write(path, "raise KeyboardInterrupt\n" + VERSIONED.format(v="two"))
    program.wait_for(f"[autoreload of {name} failed:")
    status = program.exit_status()
    assert status == -signal.SIGINT, program.lines
    assert program.lines[-1] == "KeyboardInterrupt"
    assert "value two" not in program.lines
    # The program's own traceback (after the failure report, which shows the module's).
    last = max(i for i, line in enumerate(program.lines) if line.startswith("Traceback"))
    frames = [line for line in program.lines[last:] if line.startswith("  File ")]
    assert frames and all(line.startswith(f'  File "{script}"') for line in frames), program.lines


def _run_plainly(argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT)


def test_ctrl_c_ends_the_program_as_under_python(tmp_path):
    script = tmp_path / "waits.py"
    script.write_text("import time\n\nprint('waiting', flush=True)\ntime.sleep(600)\n")
    runs = {}
    for way, argv in (("python", [str(script)]), ("us", ["-m", "fastautoreload", str(script)])):
        proc = subprocess.Popen(
            [sys.executable, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert proc.stdout.readline() == "waiting\n"  # it sleeps now, in the program
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=TIMEOUT)
        runs[way] = (proc.returncode, err)
    status, err = runs["us"]
    assert status == runs["python"][0] == -signal.SIGINT
    # Where the signal lands (before or in the sleep, or in a check of ours, which then
    # says it was interrupted) is the OS's choice: the traceback shows the program only.
    lines = [line for line in err.splitlines() if not line.startswith("[autoreload interrupted")]
    assert lines[0] == "Traceback (most recent call last):"
    assert lines[-1] == "KeyboardInterrupt"
    files = [line for line in lines if line.startswith("  File ")]
    assert files and all(line.startswith(f'  File "{script}"') for line in files), err
