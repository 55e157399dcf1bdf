"""A library's own test suite run with `pytest.main`, and each test's outcome collected.

The same function runs the suite inside a replayed IPython session and, as a script, in a
fresh interpreter on the same release:

    python benches/replay_pytest.py ROOTDIR SYSPATH OUT.json PATHS [pytest args...]

PATHS: what pytest collects, relative to ROOTDIR, separated by commas.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

INI_NAME = "replay-pytest.ini"
_ADDRESS = re.compile(r"0x[0-9a-fA-F]+")


class Outcomes:
    """A pytest plugin keeping one outcome per test: passed, failed, error (setup or
    teardown failed), skipped, xfailed; and the collection errors."""

    def __init__(self) -> None:
        self.tests: dict[str, str] = {}
        self.collect_errors: dict[str, str] = {}

    def pytest_runtest_logreport(self, report) -> None:
        if report.when == "call":
            if hasattr(report, "wasxfail"):
                outcome = "passed" if report.passed else "xfailed"
            else:
                outcome = report.outcome
        elif report.failed:
            outcome = "error"
        elif report.skipped and report.when == "setup":
            outcome = "skipped"
        else:
            return
        # A test reports once per subtest too (unittest's subTest): one failure fails it.
        if self.tests.get(report.nodeid) not in ("failed", "error"):
            self.tests[report.nodeid] = outcome

    def pytest_collectreport(self, report) -> None:
        if report.failed:
            self.collect_errors[report.nodeid] = str(report.longrepr)[-2000:]


def normalised(nodeid: str) -> str:
    """Test ids without object addresses (parametrised with reprs), so that two runs
    name the same test alike."""
    return _ADDRESS.sub("0x?", nodeid)


def write_ini(rootdir: Path) -> Path:
    """An empty pytest configuration at the root: the library's own configuration may
    name plugins (coverage, ...) that are not installed; both runs use the same one."""
    ini = rootdir / INI_NAME
    ini.write_text("[pytest]\n")
    return ini


def run_suite(rootdir: Path, paths: list[str], extra: list[str]) -> dict:
    """Runs the suite (`paths` under `rootdir`) in this process; returns the outcomes."""
    import pytest

    plugin = Outcomes()
    args = [
        *(str(rootdir / p) for p in paths),
        "-p",
        "no:cacheprovider",
        "-q",
        "--no-header",
        "--tb=line",
        # A test module that fails to import loses its own tests, not the whole run.
        "--continue-on-collection-errors",
        "-o",
        "console_output_style=classic",
        "--rootdir",
        str(rootdir),
        "-c",
        str(rootdir / INI_NAME),
        *extra,
    ]
    code = pytest.main(args, plugins=[plugin])
    return {
        "exit": int(code),
        "tests": plugin.tests,
        "collect_errors": plugin.collect_errors,
    }


def drop_test_modules(rootdir: Path, tests: str) -> None:
    """Forgets the test modules a previous run imported: the tests are the probe, not
    what is replayed, so each run imports the release's own tests afresh."""
    top = (rootdir / tests).resolve()
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if path and Path(path).resolve().is_relative_to(top):
            del sys.modules[name]


def main() -> None:
    rootdir, syspath, out, paths, *extra = sys.argv[1:]
    sys.path.insert(0, syspath)
    os.chdir(rootdir)
    result = run_suite(Path(rootdir), paths.split(","), extra)
    Path(out).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
