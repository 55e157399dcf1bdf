"""The reloads of this session reach the workers of a Dask cluster.

``attach(client)`` follows the session's reload batches (``batches``): after each one,
the exact sources the session compiled are applied on every worker by the same engine
(``dask_worker``), with Dask's own mechanisms only: ``Client.run`` for the workers
present, and a ``WorkerPlugin`` reading the scheduler's metadata for workers that join
later. A worker's failure or silence is reported once and never holds a cell longer than
the time-out. Importing this module imports ``distributed``; ``fastautoreload`` does not.
"""

from __future__ import annotations

import concurrent.futures as cf
import sys
import threading
import time

from distributed import default_client

from . import batches, messages
from .dask_worker import METADATA_KEY, PLUGIN_NAME, SessionCode
from .dask_worker import apply as _apply_on_worker

DEFAULT_TIMEOUT = 3.0
"""Seconds a cell may wait for the cluster after a reload."""

_MAX_PARALLEL = 32  # workers asked at once; more wait for a free thread

_attached: list[Cluster] = []


class Cluster:
    """One attached client: what was sent, and to whom."""

    def __init__(self, client, timeout: float):
        self.client = client
        self.timeout = timeout
        self._pool = cf.ThreadPoolExecutor(_MAX_PARALLEL, thread_name_prefix="fastautoreload")
        self._sent: dict[str, batches.Source] = {}  # every source sent, last sent last
        self._calls: dict[str, cf.Future] = {}  # each worker's last call
        self._missed: set[str] = set()  # workers still busy when a batch was sent
        self._said: set[tuple] = set()  # what was reported, to say it once
        self._late: list[tuple[str, object]] = []  # outcomes that came after the time-out
        self._lock = threading.Lock()
        self.last: dict = {}
        self.syncs = 0
        self.workers = 0
        self._closed = False

    @property
    def scheduler(self) -> str:
        return str(getattr(self.client.scheduler, "address", None) or self.client)

    # -- attaching ---------------------------------------------------------------------

    def start(self) -> None:
        """Workers present and to come serve the session's sources (those reloaded
        before attaching included)."""
        register = self._pool.submit(self.client.register_plugin, SessionCode(), PLUGIN_NAME)
        self._await_scheduler(register, time.monotonic() + self.timeout, "registering")
        before = batches.latest()
        if before.sources:
            # What a worker that imported these modules runs is unknown (its files may
            # hold the edit already, shared or not): they run whole from the session's.
            everything = frozenset(s.module for s in before.sources)
            self.sync(batches.Batch(before.sources, forced=everything))

    def close(self) -> None:
        """Workers stop serving the session's sources; the code they run stays."""
        deadline = time.monotonic() + self.timeout
        done = self._pool.submit(self._unregister)
        self._await_scheduler(done, deadline, "detaching")
        self._closed = True
        self._pool.shutdown(wait=False)

    def _unregister(self) -> None:
        self.client.unregister_worker_plugin(PLUGIN_NAME)  # its teardown forgets
        self.client.set_metadata([METADATA_KEY], {})

    # -- one batch ---------------------------------------------------------------------

    def sync(self, batch: batches.Batch) -> None:
        """Apply ``batch`` on every worker, waiting at most the time-out."""
        start = time.perf_counter()
        deadline = time.monotonic() + self.timeout
        self._report_late()
        for source in batch.sources:
            self._sent.pop(source.module, None)
            self._sent[source.module] = source
        payload = [(s.module, s.source, s.path, s.module in batch.forced) for s in batch.sources]
        addresses = self._await_scheduler(
            self._pool.submit(self._publish, batch), deadline, "sending the new code"
        )
        if addresses is None:
            return
        self.workers = len(addresses)
        calls = self._call_all(addresses, payload, batch.full)
        cf.wait(calls.values(), timeout=max(0.0, deadline - time.monotonic()))
        outcomes = [self._take(address, call) for address, call in calls.items()]
        self._record(batch, calls, outcomes, start)

    def _publish(self, batch: batches.Batch) -> list[str]:
        """The sources, kept by the scheduler for workers that join later; then the
        workers present. In this order, a worker is either listed or joins after the
        sources are there (its plugin reads them)."""
        for s in batch.sources:
            self.client.set_metadata([METADATA_KEY, s.module], [s.source, s.path])
        return list(self.client.scheduler_info()["workers"])

    def _call_all(self, addresses, payload, full: bool) -> dict[str, cf.Future]:
        calls = {}
        with self._lock:
            for address in addresses:
                previous = self._calls.get(address)
                if previous is not None and not previous.done():
                    self._missed.add(address)  # caught up when the previous call ends
                    continue
                # A worker that missed batches gets every source (they are no-ops where
                # it runs them already).
                sources = self._everything() if address in self._missed else payload
                self._missed.discard(address)
                calls[address] = self._pool.submit(self._run_on, address, sources, full)
                self._calls[address] = calls[address]
        return calls

    def _everything(self) -> list[tuple]:
        return [(s.module, s.source, s.path, False) for s in self._sent.values()]

    def _run_on(self, address: str, sources, full: bool):
        """One worker's outcome: its report, or the exception that kept it from one."""
        try:
            answer = self.client.run(
                _apply_on_worker, sources, full, workers=[address], on_error="return"
            )
        except Exception as error:
            return error
        if address not in answer:
            return LookupError("the worker left the cluster")
        return answer[address]

    def _take(self, address: str, call: cf.Future):
        """Reports one worker's outcome now, or when it comes (after the time-out)."""
        if not call.done():
            self._say(("slow", address), messages.worker_timeout(address, self.timeout))
            call.add_done_callback(lambda done: self._came_late(address, done))
            return None
        self._said.discard(("slow", address))
        outcome = call.result()
        self._report(address, outcome)
        return outcome

    def _came_late(self, address: str, call: cf.Future) -> None:
        with self._lock:
            self._late.append((address, call.result()))
            missed = address in self._missed
        if missed and not self._closed:
            # Batches were sent while it was busy: catch it up now, not at the next edit
            # (its outcome is reported like this one, at the next sync).
            for again in self._call_all([address], [], full=False).values():
                again.add_done_callback(lambda done: self._came_late(address, done))

    def _report_late(self) -> None:
        with self._lock:
            late, self._late = self._late, []
        for address, outcome in late:
            self._report(address, outcome)

    def _report(self, address: str, outcome) -> None:
        if isinstance(outcome, BaseException):
            line = messages.worker_unreachable(address, outcome)
            self._say(("gone", address, str(outcome)), line)
            return
        for module, text, internal in outcome["failed"]:
            line = messages.worker_failure(address, module, text, internal)
            self._say(("failed", address, module, text), line)
        for line in outcome["warnings"]:
            self._say(("warning", address, line), messages.worker_warning(address, line))

    def _await_scheduler(self, call: cf.Future, deadline: float, what: str):
        try:
            return call.result(timeout=max(0.0, deadline - time.monotonic()))
        except cf.TimeoutError:
            line = messages.scheduler_timeout(what, self.scheduler, self.timeout)
            self._say(("scheduler", what), line)
        except Exception as error:
            line = messages.scheduler_unreachable(what, self.scheduler, error)
            self._say(("scheduler", what, str(error)), line)
        return None

    def _say(self, key: tuple, line: str) -> None:
        if key not in self._said:
            self._said.add(key)
            print(line, file=sys.stderr)

    def _record(self, batch, calls, outcomes, start: float) -> None:
        reports = [o for o in outcomes if isinstance(o, dict)]
        self.syncs += 1
        self.last = {
            "asked": len(calls),
            "reached": len(reports),
            "failed": sum(1 for r in reports if r["failed"]),
            "timed_out": sum(1 for o in outcomes if o is None),
            "modules": len(batch.sources),
            "bytes": sum(len(s.source) for s in batch.sources),
            "ms": (time.perf_counter() - start) * 1e3,
            "worker_ms": max((r["ms"] for r in reports), default=0.0),
        }

    def stats(self) -> dict:
        facts = {"scheduler": self.scheduler, "workers": self.workers, "syncs": self.syncs}
        return facts | self.last


def attach(client=None, timeout: float = DEFAULT_TIMEOUT) -> Cluster:
    """Apply every reload of this session on the workers of ``client``'s cluster (None:
    the current default client), those present and those joining later. A cell waits
    at most ``timeout`` seconds for the workers; one that is slower gets the code when
    it answers, and is reported once."""
    client = default_client() if client is None else client
    for cluster in _attached:
        if cluster.client is client:
            return cluster
    cluster = Cluster(client, timeout)
    cluster.start()
    _attached.append(cluster)
    batches.follow(cluster.sync)
    return cluster


def detach(client=None) -> None:
    """Stop sending reloads to ``client``'s cluster (None: the default client, or the
    only one attached). Workers keep the code they run."""
    for cluster in _find(client):
        batches.unfollow(cluster.sync)
        _attached.remove(cluster)
        cluster.close()


def _find(client) -> list[Cluster]:
    if client is None and len(_attached) == 1:
        return list(_attached)
    client = default_client() if client is None else client
    return [cluster for cluster in _attached if cluster.client is client]


def attached() -> list[Cluster]:
    """The clusters this session's reloads reach."""
    return list(_attached)


def stats() -> list[dict]:
    """Per attached cluster: its scheduler, the workers reached by the last sync and
    what that sync cost."""
    return [cluster.stats() for cluster in _attached]
