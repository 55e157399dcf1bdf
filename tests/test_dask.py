"""Reloads reach the workers of a Dask cluster (``fastautoreload.dask``).

One real ``LocalCluster`` (worker processes) serves the whole file. Its workers inherit
the session's ``sys.path`` (they are spawned), so they import the test modules from the
same directory unless a test gives them a stale copy of their own. Each test uses new
module names: what a worker imported stays imported for the rest of the file.
"""

from __future__ import annotations

import contextlib
import importlib
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from conftest import IS_IPYTHON, run, unique_name, write

distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.skipif(IS_IPYTHON, reason="IPython's autoreload has no Dask support")

WAIT = 60.0
"""Bound of every wait for an event of the cluster (workers joining, leaving, catching up)."""


# -- the cluster ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def code_dir(tmp_path_factory):
    """The session's code, on ``sys.path`` before the cluster starts (workers inherit it)."""
    root = tmp_path_factory.mktemp("dask-code")
    sys.path.insert(0, str(root))
    try:
        yield root
    finally:
        sys.path.remove(str(root))
        for name, module in list(sys.modules.items()):
            if (getattr(module, "__file__", None) or "").startswith(str(root)):
                del sys.modules[name]


@pytest.fixture(scope="module")
def cluster(code_dir):
    with distributed.LocalCluster(
        processes=True, n_workers=2, threads_per_worker=1, dashboard_address=None
    ) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def client(cluster):
    with distributed.Client(cluster) as client:
        yield client


@pytest.fixture
def dask_module():
    import fastautoreload.dask

    return fastautoreload.dask


@pytest.fixture
def attached(client, dask_module):
    cluster = dask_module.attach(client)
    try:
        yield cluster
    finally:
        dask_module.detach(client)


# -- helpers -------------------------------------------------------------------------------------
def new_module(code_dir, source: str, prefix: str = "dask"):
    """A new module in the session's directory, imported by the session."""
    name = unique_name(prefix)
    path = write(code_dir / f"{name}.py", source)
    return name, path, importlib.import_module(name)


def on_workers(client, name: str, expression: str, workers=None) -> dict:
    """``expression`` evaluated in module ``name`` on each worker (imported if need be)."""

    def evaluate():
        return eval(expression, vars(importlib.import_module(name)))

    return client.run(evaluate, workers=workers)


def workers_of(client) -> list[str]:
    return sorted(client.scheduler_info()["workers"])


def reload(name):
    import fastautoreload

    return fastautoreload.reload(name)


def versions(v, extra: str = "") -> str:
    return textwrap.dedent(
        f"""\
        TOKEN = object()
        VALUE = {v!r}


        def f():
            return {v!r}
        """
    ) + textwrap.dedent(extra)


def wait_until(predicate, what: str):
    """Bounded wait for an event of the cluster (never a timing assumption)."""
    deadline = time.monotonic() + WAIT
    while not predicate():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.02)


# -- tests ---------------------------------------------------------------------------------------
def test_importing_fastautoreload_does_not_import_distributed():
    code = "import sys, fastautoreload; print('distributed' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_tasks_before_and_after_an_edit(client, attached, code_dir):
    name, path, module = new_module(code_dir, versions(1))
    workers = workers_of(client)
    before = [client.submit(module.f, workers=[w], pure=False).result() for w in workers]
    assert before == [1, 1]
    write(path, versions(2))
    assert reload(name) == [name]
    after = [client.submit(module.f, workers=[w], pure=False).result() for w in workers]
    assert after == [2, 2]
    assert on_workers(client, name, "f()") == dict.fromkeys(workers, 2)
    assert on_workers(client, name, "VALUE") == dict.fromkeys(workers, 2)
    last = attached.stats()
    assert (last["asked"], last["reached"], last["failed"], last["timed_out"]) == (2, 2, 0, 0)


def test_an_actor_keeps_its_state_through_an_edit_of_its_class(client, attached, code_dir, auto):
    source = """\
        TOKEN = object()


        class Counter:
            def __init__(self):
                self.n = 0

            def incr(self):
                self.n += 1
                return self.n
        """
    name, path, module = new_module(code_dir, textwrap.dedent(source), prefix="actor")
    run(auto, f"import {name}")
    counter = client.submit(module.Counter, actor=True).result()
    assert [counter.incr().result() for _ in range(2)] == [1, 2]
    token = on_workers(client, name, "id(TOKEN)")
    write(path, textwrap.dedent(source).replace("self.n += 1", "self.n += 10"))
    run(auto, "pass")  # the cell's pre-run check reloads, and the workers follow
    assert counter.incr().result() == 12
    # The worker patched the method, as the session did: the module's top level did not
    # run again (its objects are the same ones).
    assert on_workers(client, name, "id(TOKEN)") == token
    assert on_workers(client, name, "Counter().incr()") == dict.fromkeys(workers_of(client), 10)


def test_stats_show_the_cluster(client, attached, code_dir, auto, capsys):
    name, path, _ = new_module(code_dir, versions(1), prefix="stats")
    run(auto, f"import {name}")
    write(path, versions(2))
    run(auto, "pass")
    capsys.readouterr()
    run(auto, "%autoreload --stats")
    out = capsys.readouterr().out
    scheduler = client.scheduler.address
    assert f"dask cluster:         {scheduler} (2 worker(s))" in out
    assert "2/2 worker(s) reached, 1 module(s)" in out


def test_a_worker_added_later_runs_the_new_code(client, cluster, attached, code_dir):
    name, path, _ = new_module(code_dir, versions(1), prefix="later")
    before = set(workers_of(client))
    on_workers(client, name, "f()")
    write(path, versions(2))
    reload(name)
    cluster.scale(3)
    try:
        client.wait_for_workers(3, timeout=WAIT)
        (joined,) = set(workers_of(client)) - before
        assert on_workers(client, name, "f()", workers=[joined]) == {joined: 2}
        assert on_workers(client, name, "VALUE", workers=[joined]) == {joined: 2}
    finally:
        cluster.scale(2)
        wait_until(lambda: len(workers_of(client)) == 2, "the added worker to leave")


@pytest.fixture
def stale_copies(client, tmp_path):
    """Every worker finds modules first in a directory of its own (``stale``)."""
    stale = tmp_path / "stale"
    stale.mkdir()

    class StaleFirst(distributed.WorkerPlugin):
        name = "stale-first"

        def __init__(self, path):
            self.path = path

        def setup(self, worker):
            sys.path.insert(0, self.path)
            importlib.invalidate_caches()

        def teardown(self, worker):
            sys.path.remove(self.path)

    client.register_plugin(StaleFirst(str(stale)))
    try:
        yield stale
    finally:
        client.unregister_worker_plugin("stale-first")


def test_workers_with_a_stale_copy_of_their_own_run_the_sessions_code(
    client, attached, code_dir, stale_copies
):
    extra = "RUNS = []\nRUNS.append(VALUE)\n"
    workers = workers_of(client)
    imported, path_i, _ = new_module(code_dir, versions(1, extra), prefix="stale")
    later, path_l, _ = new_module(code_dir, versions(1, extra), prefix="stale")
    for name in (imported, later):
        write(stale_copies / f"{name}.py", versions(0, extra))
    # The workers run their own copy: the session's file is not what they import.
    assert on_workers(client, imported, "f()") == dict.fromkeys(workers, 0)

    write(path_i, versions(2, extra))
    write(path_l, versions(2, extra))
    reload(imported)
    reload(later)
    assert on_workers(client, imported, "(f(), VALUE)") == dict.fromkeys(workers, (2, 2))
    # Imported only now: the session's source, not the worker's stale copy, runs.
    assert on_workers(client, later, "(f(), RUNS)") == dict.fromkeys(workers, (2, [2]))
    token = on_workers(client, later, "id(TOKEN)")

    # What the worker runs is the session's version: the next edit patches only f there.
    write(path_l, versions(2, extra).replace("return 2", "return 3"))
    import fastautoreload

    # A check (not a forced reload, which runs whole modules) reloads what changed.
    fastautoreload.session._reloader().check(check_all=True)
    assert on_workers(client, later, "(f(), RUNS)") == dict.fromkeys(workers, (3, [2]))
    assert on_workers(client, later, "id(TOKEN)") == token


def test_a_syntax_error_is_not_sent(client, attached, code_dir, capsys):
    name, path, _ = new_module(code_dir, versions(1), prefix="syntax")
    workers = workers_of(client)
    assert on_workers(client, name, "f()") == dict.fromkeys(workers, 1)
    syncs = attached.syncs
    write(path, "def f(:\n    return 2\n")
    assert reload(name) == []
    assert "SyntaxError" in capsys.readouterr().err
    assert attached.syncs == syncs
    assert on_workers(client, name, "f()") == dict.fromkeys(workers, 1)

    def sent():
        from fastautoreload import dask_worker

        return name in dask_worker._worker().sources

    assert client.run(sent) == dict.fromkeys(workers, False)
    write(path, versions(2))
    assert reload(name) == [name]
    assert on_workers(client, name, "f()") == dict.fromkeys(workers, 2)


@contextlib.contextmanager
def failing_on(client, worker):
    """Modules that look at ``sys._far_fail_here`` fail to load on ``worker`` only."""
    client.run(lambda: setattr(sys, "_far_fail_here", True), workers=[worker])
    try:
        yield
    finally:
        client.run(lambda: delattr(sys, "_far_fail_here"), workers=[worker])


def test_a_failure_on_one_worker_is_reported_once_and_the_others_are_updated(
    client, attached, code_dir, capsys
):
    name, path, _ = new_module(code_dir, "import sys\n" + versions(1), prefix="fails")
    bad, good = workers_of(client)
    on_workers(client, name, "f()")
    check = 'if getattr(sys, "_far_fail_here", False):\n    raise RuntimeError("not here")\n'
    write(path, "import sys\n" + versions(2) + check)
    with failing_on(client, bad):
        capsys.readouterr()
        assert reload(name) == [name]
        err = capsys.readouterr().err
        assert err.count(f"[autoreload of {name} failed on worker {bad}:") == 1
        assert "RuntimeError: not here" in err
        assert good not in err
        assert on_workers(client, name, "f()") == {bad: 1, good: 2}
        assert attached.stats()["failed"] == 1
        # Sent again (a forced reload): the same failure is not reported twice.
        assert reload(name) == [name]
        assert "failed on worker" not in capsys.readouterr().err


def test_a_bug_of_ours_on_a_worker_is_reported_as_one(client, attached, code_dir, capsys):
    name, path, _ = new_module(code_dir, versions(1), prefix="internal")
    broken, fine = workers_of(client)
    on_workers(client, name, "f()")

    def inject(step):
        from fastautoreload import _native

        _native._inject_fault(step)

    write(path, versions(2))
    client.run(inject, "heap", workers=[broken])
    try:
        capsys.readouterr()
        assert reload(name) == [name]
    finally:
        client.run(inject, None, workers=[broken])
    err = capsys.readouterr().err
    assert f"[autoreload of {name} failed on worker {broken}: fastautoreload could not" in err
    assert "This is a bug in fastautoreload" in err
    assert on_workers(client, name, "f()") == {broken: 1, fine: 2}


def test_a_slow_worker_holds_no_cell_and_catches_up(
    client, code_dir, dask_module, tmp_path, capsys
):
    first, path_1, _ = new_module(code_dir, versions(1), prefix="slow")
    second, path_2, _ = new_module(code_dir, versions(1), prefix="slow")
    slow, fast = workers_of(client)
    on_workers(client, first, "f()")
    on_workers(client, second, "f()")
    release = tmp_path / "release"
    busy = tmp_path / "busy"

    def block():  # holds the worker's event loop, where Client.run calls are served
        busy.touch()
        deadline = time.monotonic() + WAIT
        while not release.exists() and time.monotonic() < deadline:
            time.sleep(0.01)

    blocker = threading.Thread(target=client.run, args=(block,), kwargs={"workers": [slow]})
    dask_module.attach(client, timeout=1.0)
    try:
        blocker.start()
        wait_until(busy.exists, "the worker to be busy")
        write(path_1, versions(2))
        reload(first)
        err = capsys.readouterr().err
        assert err.count(f"worker {slow} did not answer within 1 s") == 1
        write(path_2, versions(2))
        reload(second)  # the slow worker is still busy: it is not asked again
        assert "did not answer" not in capsys.readouterr().err
        assert on_workers(client, first, "f()", workers=[fast]) == {fast: 2}
        release.touch()
        blocker.join(WAIT)

        def caught_up():
            answer = on_workers(client, second, "f()", workers=[slow])
            return answer == {slow: 2}

        wait_until(caught_up, "the slow worker to catch up")
        assert on_workers(client, first, "f()", workers=[slow]) == {slow: 2}
    finally:
        release.touch()
        blocker.join(WAIT)
        dask_module.detach(client)


def test_reloads_before_attaching_are_sent_on_attach(client, code_dir, dask_module):
    name, path, _ = new_module(code_dir, versions(1), prefix="early")
    workers = workers_of(client)
    on_workers(client, name, "f()")
    write(path, versions(2))
    reload(name)
    assert on_workers(client, name, "f()") == dict.fromkeys(workers, 1)
    dask_module.attach(client)
    try:
        assert on_workers(client, name, "f()") == dict.fromkeys(workers, 2)
    finally:
        dask_module.detach(client)
    assert dask_module.attached() == []
    # Detached: the workers keep what they run, and later reloads stay in the session.
    write(path, versions(3))
    reload(name)
    assert on_workers(client, name, "f()") == dict.fromkeys(workers, 2)


def test_the_default_client_is_attached(client, dask_module):
    assert distributed.default_client() is client
    cluster = dask_module.attach()
    try:
        assert cluster.client is client
        assert dask_module.attach(client) is cluster
    finally:
        dask_module.detach()
    assert dask_module.attached() == []
