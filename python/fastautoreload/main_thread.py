"""Asking the main thread to run a function at its next safe point, from another thread.

A program's edits are noticed by a watcher thread, but reloads run on the main thread,
where the interpreter runs signal handlers: between two bytecodes (a pending call,
``Py_AddPendingCall``), or, when the main thread runs an asyncio loop, between two of
the loop's callbacks (``call_soon_threadsafe``, which also wakes a loop asleep in its
selector, where a pending call would wait for the next event).
"""

from __future__ import annotations

import sys
import threading
import time

from . import _native

# A request not served after this long (the main thread stuck in one long C call, or a
# loop that stopped before running it) does not block the next one.
_STALE_AFTER_S = 5.0


class MainThreadCall:
    """Runs ``function()`` on the main thread when asked, one request at a time.

    Requests made while one is outstanding join it: the function looks at everything
    that happened up to the moment it runs.
    """

    def __init__(self, function):
        self._function = function
        self._lock = threading.Lock()
        self._asked_at: float | None = None
        self._loop = None  # the main thread's running asyncio loop, when last seen

    def request(self) -> None:
        """Ask for a run (from any thread)."""
        with self._lock:
            now = time.monotonic()
            if self._asked_at is not None and now - self._asked_at < _STALE_AFTER_S:
                return
            self._asked_at = now
        if self._ask_loop():
            return
        if not _native.call_on_main_thread(self._run):
            with self._lock:  # the interpreter's queue is full: the next request retries
                self._asked_at = None

    def _ask_loop(self) -> bool:
        loop = self._main_loop()
        if loop is None:
            return False
        try:
            loop.call_soon_threadsafe(self._run)
        except RuntimeError:  # closed meanwhile
            self._loop = None
            return False
        return True

    def _main_loop(self):
        """The asyncio loop the main thread is running, if any."""
        if self._loop is not None and self._loop.is_running():
            return self._loop
        self._loop = running_loop_of_main_thread()
        return self._loop

    def _run(self) -> None:
        with self._lock:  # first: a change made while the function runs asks again
            self._asked_at = None
        self._function()


def running_loop_of_main_thread():
    """The asyncio event loop running on the main thread, found on its stack (asyncio
    keeps the running loop per thread, out of reach of other threads)."""
    asyncio = sys.modules.get("asyncio")
    if asyncio is None:
        return None
    frame = sys._current_frames().get(threading.main_thread().ident)
    while frame is not None:
        if frame.f_code.co_name == "run_forever":
            loop = frame.f_locals.get("self")
            if isinstance(loop, asyncio.AbstractEventLoop) and loop.is_running():
                return loop
        frame = frame.f_back
    return None
