"""The thread that waits for saved edits while a program runs, and asks the main
thread to check.

It never touches modules itself: it waits on the tracker's change signal with the GIL
released, and hands the check to the main thread (``main_thread.MainThreadCall``). It
also asks for a check when the program imported modules since the last look (threads
other than the main one import without the audit hook following them), and on every
tick while some files are polled.
"""

from __future__ import annotations

import sys
import threading
import time

from .main_thread import MainThreadCall

# A save is rarely one event: writing in place truncates the file, then writes it (an
# empty module, if reloaded in between, takes its names from a running program). The
# check is asked for once the directory has been quiet this long, or after _SETTLE_MAX_S
# of continuous events.
_SETTLE_S = 0.05
_SETTLE_MAX_S = 1.0


class WatchThread:
    def __init__(self, session, interval: float):
        self._session = session
        self._interval = interval
        self._signal = session.reloader.change_signal()
        self._call = MainThreadCall(session.check)
        self._thread = threading.Thread(target=self._run, name="fastautoreload-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def request_check(self) -> None:
        """Ask the main thread for a check (from any thread)."""
        self._call.request()

    def stop(self) -> None:
        self._signal.close()
        if threading.current_thread() is not self._thread:
            self._thread.join()

    def _run(self) -> None:
        modules_seen = len(sys.modules)
        while True:
            woken = self._signal.wait(self._interval)
            if woken == "changed":
                woken = self._settle()
            if woken == "closed":
                return
            # A count, not the names: a module replaced by another of the same name is
            # seen at the next file event instead.
            imported = len(sys.modules) != modules_seen
            modules_seen = len(sys.modules)
            if woken in ("changed", "poll") or imported:
                self._call.request()

    def _settle(self) -> str:
        """Waits until the files have stopped changing (see ``_SETTLE_S``): "changed",
        or "closed" if the signal closed meanwhile."""
        deadline = time.monotonic() + _SETTLE_MAX_S
        while time.monotonic() < deadline:
            woken = self._signal.wait(_SETTLE_S)
            if woken == "closed":
                return woken
            if woken != "changed":  # quiet (or a poll tick): the save is complete
                break
        return "changed"
