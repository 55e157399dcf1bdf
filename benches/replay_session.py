"""One replayed session, in its own process: a real IPython shell with one extension (or
none) imports every module of a library's first release from a work directory on
sys.path, holds references to its public names, and then for each next release checks
the files out, runs a cell (timed), judges the held references and runs the release's
own test suite in-process.

    python benches/replay_session.py PLAN.json OUT.json

Run by `replay.py`, which writes the plan; the results go to OUT.json.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import sys
import time
from pathlib import Path

from harness import settle
from IPython.core.interactiveshell import InteractiveShell
from replay_pytest import drop_test_modules, run_suite, write_ini
from replay_refs import FreshCode, hold, summary
from replay_sources import checkout, populate, release_files

LOADERS = {
    "fastautoreload": ["%load_ext fastautoreload", "%autoreload 2"],
    "autoreload": ["%load_ext autoreload", "%autoreload 2"],
    "none": [],
}


def module_names(syspath: Path, packages: list[str]) -> list[str]:
    """Every module of the packages, parents first, leaving out the tests."""
    names = []
    for package in packages:
        top = syspath / Path(package).name
        if top.suffix == ".py":
            names.append(top.stem)
            continue
        for path in sorted(top.rglob("*.py")):
            rel = path.relative_to(syspath)
            if _is_test(rel) or path.name == "__main__.py":
                continue
            parts = list(rel.with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            names.append(".".join(parts))
    return sorted(set(names), key=lambda n: (n.count("."), n))


def _is_test(rel: Path) -> bool:
    return bool({"tests", "test"} & set(rel.parts[:-1])) or rel.name == "conftest.py"


def run_cell_quietly(shell: InteractiveShell, code: str) -> tuple[int, str, bool]:
    """Runs a cell, timing its wall time in ns, and returns what it printed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        start = time.perf_counter_ns()
        result = shell.run_cell(code)
        elapsed = time.perf_counter_ns() - start
    return elapsed, out.getvalue(), bool(result.success)


def main() -> None:
    plan = json.loads(Path(sys.argv[1]).read_text())
    out_path = Path(sys.argv[2])
    work = Path(plan["work"])
    syspath = work / plan["src"]
    releases = plan["releases"]
    tracked = plan["tracked"]
    populate(work, release_files(Path(releases[0]["dir"]), tracked))
    write_ini(work)
    os.chdir(work)
    sys.path.insert(0, str(syspath))

    InteractiveShell.clear_instance()
    shell = InteractiveShell.instance()
    for line in LOADERS[plan["extension"]]:
        shell.run_line_magic(*line[1:].split(" ", 1))
    shell.run_cell("pass")
    settle(shell)

    names = module_names(syspath, plan["packages"])
    import_errors = {}
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as error:  # a module that needs what is not installed
            import_errors[name] = f"{type(error).__name__}: {error}"
    imported = [n for n in names if n in sys.modules]
    shadowed = [
        n
        for n in imported
        if not str(getattr(sys.modules[n], "__file__", "") or "").startswith(str(work))
    ]
    held = hold(imported, tuple(plan["prefixes"]))
    shell.user_ns["_replay_held"] = held
    shell.run_cell("pass")
    settle(shell)
    results = {
        "extension": plan["extension"],
        "modules": imported,
        "import_errors": import_errors,
        "shadowed": shadowed,
        "held": len(held),
        "pulls": [],
    }
    files = release_files(Path(releases[0]["dir"]), tracked)
    for release in releases[1:]:
        new_files = release_files(Path(release["dir"]), tracked)
        change = checkout(work, files, new_files)
        files = new_files
        elapsed, printed, ok = run_cell_quietly(shell, "pass")
        refs = summary(held, FreshCode())
        drop_test_modules(work, plan["tests"])
        shell.user_ns["_replay_suite"] = lambda: run_suite(work, plan["suite"], plan["pytest_args"])
        shell.run_cell("_replay_outcomes = _replay_suite()")
        outcomes = shell.user_ns.pop("_replay_outcomes", None) or {"exit": -1, "tests": {}}
        results["pulls"].append(
            {
                "version": release["version"],
                "checkout": change.summary(),
                "reload_ms": elapsed / 1e6,
                "reload_output": printed[-4000:],
                "reload_cell_ok": ok,
                "refs": refs,
                "suite": outcomes,
            }
        )
        out_path.write_text(json.dumps(results))
    out_path.write_text(json.dumps(results))


if __name__ == "__main__":
    main()
