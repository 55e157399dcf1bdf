"""A program driven through a real pseudo-terminal, as a person at a prompt drives it.

The prompt under test (python's basic one or 3.13's REPL) sees a tty on stdin, stdout
and stderr, so it behaves as it does for a user: echo, colours, line editing. Output is
read as it arrives, with the terminal's control sequences removed, and every wait is
for something to appear, bounded by a generous timeout (never a sleep).
"""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import time

TIMEOUT = 60.0
"""How long to wait for an expected output before failing (nothing is timed)."""

# CSI and other escape sequences, the carriage returns of redraws, bracketed paste.
_CONTROL = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[=>78]|\x1b\][^\x07]*\x07|\r")


class Terminal:
    """A child process whose stdin, stdout and stderr are one pseudo-terminal."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: str):
        # Started by subprocess, not pty.fork(): the test process has threads, and a
        # forked child must not run Python code before it execs.
        self.fd, terminal = pty.openpty()
        try:
            self.proc = subprocess.Popen(
                argv,
                stdin=terminal,
                stdout=terminal,
                stderr=terminal,
                cwd=cwd,
                env=env,
                start_new_session=True,
            )
        finally:
            os.close(terminal)
        self.output = ""  # everything read so far, control sequences removed
        self._seen = 0  # where the next expect starts looking

    def expect(self, text: str, timeout: float = TIMEOUT) -> str:
        """Waits until ``text`` appears after what earlier calls matched; returns the
        output from there up to and including it."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.output.find(text, self._seen)
            if found >= 0:
                end = found + len(text)
                chunk, self._seen = self.output[self._seen : end], end
                return chunk
            left = deadline - time.monotonic()
            if left <= 0 or not self._read(left):
                raise AssertionError(
                    f"{text!r} did not appear; output since the last match:\n"
                    f"{self.output[self._seen :]}"
                )

    def send_line(self, line: str) -> None:
        """Types ``line`` and Enter."""
        os.write(self.fd, line.encode() + b"\r")

    def close(self, timeout: float = TIMEOUT) -> int:
        """Ends the input (Ctrl-D) and returns the exit status; kills a child that does
        not exit."""
        try:
            os.write(self.fd, b"\x04")
        except OSError:
            pass
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.proc.poll()
            if status is not None:
                os.close(self.fd)
                return status
            self._read(0.2)  # drains output so the child never blocks writing it
        self.proc.kill()
        self.proc.wait()
        os.close(self.fd)
        raise AssertionError(f"the prompt did not exit; output:\n{self.output}")

    def _read(self, timeout: float) -> bool:
        """Reads what is there within ``timeout``; False at the end of output."""
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return True
        try:
            data = os.read(self.fd, 65536)
        except OSError:  # the child closed the terminal (exited)
            return False
        if not data:
            return False
        self.output += _CONTROL.sub("", data.decode("utf-8", "replace"))
        return True
