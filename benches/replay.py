"""A `git pull` in a live session: real libraries' release histories replayed under each
reloader, with each new release's own test suite run inside the session.

    python benches/replay.py [--library toolz ...] [--extension fastautoreload ...]
                             [--cache DIR] [--python PY] [--tag SUFFIX] [--report] [--readme]

`--python` runs the sessions and fresh suites on another interpreter (another build of
fastautoreload in another venv, with `--tag` to keep its results apart); `--report` only
rebuilds the report from the JSON results.

For each library and its consecutive releases (sdists downloaded with pip into the cache,
default ~/.cache/fastautoreload-replay), one IPython session per extension, each in its
own process (`replay_session.py`): fastautoreload, IPython's autoreload (`%autoreload 2`)
and none. The session imports every module of the first release from a work directory on
sys.path (outside site-packages: the user's code) and holds references to its public
names; then for each next release it checks the files out (changed files rewritten, added
created, deleted removed), runs a cell (its wall time is the reload cell's time), judges
the held references (`replay_refs.py`) and runs the release's test suite in-process with
`pytest.main`. The same suite also runs in a fresh interpreter on each release.

Reported per pull and summed: tests passing fresh; tests lost in-session (passing fresh,
not passing in the session); held references no longer current; the reload cell's time.
A markdown table is printed and written with the JSON results to benches/results/
(`replay.md`, `replay.json`); `--readme` also puts the summary table in README.md.

Test dependencies beyond pytest: humanize's tests need freezegun.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from replay_pytest import normalised, write_ini
from replay_sources import DEFAULT_CACHE, Library, populate, release_files, sdist

HERE = Path(__file__).parent
RESULTS = HERE / "results"
README = HERE.parent / "README.md"
EXTENSIONS = {
    "autoreload": "IPython's autoreload",
    "fastautoreload": "fastautoreload",
    "none": "no reloader",
}
LIBRARIES = [
    Library("more-itertools", ["10.2.0", "10.3.0", "10.4.0", "10.5.0", "10.6.0"],
            ["more_itertools"], "tests",
            # Its tests add the modules' doctests (unittest's load_tests); pytest collects
            # them so.
            suite=["tests", "more_itertools/more.py", "more_itertools/recipes.py"],
            pytest_args=["--doctest-modules"]),
    # As toolz's CI runs it: the tests and every module's doctests.
    Library("toolz", ["0.10.0", "0.11.0", "0.11.1", "0.11.2", "0.12.0", "0.12.1", "1.0.0"],
            ["toolz", "tlz"], "toolz/tests", suite=["toolz"], pytest_args=["--doctest-modules"]),
    Library("cachetools", ["5.2.0", "5.3.0", "5.4.0", "5.5.0"],
            ["src/cachetools"], "tests", src="src"),
    Library("click", ["8.1.3", "8.1.4", "8.1.5", "8.1.6", "8.1.7"],
            ["src/click"], "tests", src="src"),
    # From 4.11.0 on: before, its __init__ reads the installed distribution's metadata.
    Library("humanize", ["4.11.0", "4.12.0", "4.12.1", "4.12.2", "4.12.3"],
            ["src/humanize"], "tests", src="src", test_deps=["freezegun"]),
    Library("idna", ["3.6", "3.7", "3.8", "3.10"], ["idna"], "tests"),
]  # fmt: skip
SUBPROCESS_TIMEOUT = 3600


def env() -> dict[str, str]:
    # No .pyc files: each release's files are compiled from their bytes, in every run.
    return {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0"}


def fresh_run(library: Library, version: str, release: Path, work: Path, python: str) -> dict:
    """The release's suite in a fresh interpreter, on a fresh copy of its files."""
    root = work / f"fresh-{version}"
    populate(root, release_files(release, library.tracked()))
    write_ini(root)
    out = work / f"fresh-{version}.json"
    with open(work / f"fresh-{version}.log", "w") as log:
        subprocess.run(
            [python, str(HERE / "replay_pytest.py"), str(root), str(root / library.src)]
            + [str(out), ",".join(library.suite_paths()), *library.pytest_args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env(),
            timeout=SUBPROCESS_TIMEOUT,
            check=False,
        )
    return json.loads(out.read_text()) if out.exists() else {"exit": -1, "tests": {}}


def session_run(library: Library, extension: str, releases: list[Path], work: Path, python: str):
    """One replayed session with `extension`, in its own process."""
    plan = {
        "extension": extension,
        "work": str(work / f"session-{extension}"),
        "src": library.src,
        "packages": library.packages,
        "prefixes": [Path(p).name.removesuffix(".py") for p in library.packages],
        "tests": library.tests,
        "suite": library.suite_paths(),
        "tracked": library.tracked(),
        "pytest_args": library.pytest_args,
        "releases": [
            {"version": v, "dir": str(d)} for v, d in zip(library.versions, releases, strict=True)
        ],
    }
    plan_path = work / f"plan-{extension}.json"
    plan_path.write_text(json.dumps(plan))
    out = work / f"session-{extension}.json"
    with open(work / f"session-{extension}.log", "w") as log:
        subprocess.run(
            [python, str(HERE / "replay_session.py"), str(plan_path), str(out)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env(),
            timeout=SUBPROCESS_TIMEOUT,
            check=False,
            cwd=HERE,
        )
    return json.loads(out.read_text()) if out.exists() else None


def passing(suite: dict) -> Counter:
    return Counter(normalised(t) for t, o in suite.get("tests", {}).items() if o == "passed")


def replay(library: Library, cache: Path, python: str, extensions: list[str]) -> dict:
    releases = [sdist(library, v, cache) for v in library.versions]
    work = Path(tempfile.mkdtemp(prefix=f"far-replay-{library.name}-"))
    print(f"{library.name}: work directory {work}", flush=True)
    fresh = {}
    for version, release in list(zip(library.versions, releases, strict=True))[1:]:
        fresh[version] = fresh_run(library, version, release, work, python)
        print(f"  fresh {version}: {sum(passing(fresh[version]).values())} passing", flush=True)
    sessions = {}
    for extension in extensions:
        sessions[extension] = session_run(library, extension, releases, work, python)
        print(f"  session {extension}: done", flush=True)
    return compare(library, fresh, sessions, work)


def compare(library: Library, fresh: dict, sessions: dict, work: Path) -> dict:
    """Per pull: passing fresh, and for each extension what was lost and what it held."""
    pulls = []
    for index, version in enumerate(library.versions[1:]):
        fresh_passing = passing(fresh[version])
        row = {"version": version, "passing_fresh": sum(fresh_passing.values()), "by": {}}
        for extension, result in sessions.items():
            pull = result["pulls"][index] if result and index < len(result["pulls"]) else None
            if pull is None:
                row["by"][extension] = None
                continue
            lost = fresh_passing - passing(pull["suite"])
            row["by"][extension] = {
                "lost": sum(lost.values()),
                "lost_tests": sorted(lost.elements()),
                "refs": pull["refs"],
                "reload_ms": pull["reload_ms"],
                "checkout": pull["checkout"],
                "reload_output": pull["reload_output"],
                "collect_errors": pull["suite"].get("collect_errors", {}),
            }
        pulls.append(row)
    held = {e: (r or {}).get("held") for e, r in sessions.items()}
    extras = {
        e: {k: (r or {}).get(k) for k in ("import_errors", "shadowed")} for e, r in sessions.items()
    }
    return {
        "library": library.name,
        "versions": library.versions,
        "work": str(work),
        "held": held,
        "sessions": extras,
        "pulls": pulls,
    }


def totals(result: dict, extension: str) -> dict | None:
    rows = [p["by"].get(extension) for p in result["pulls"]]
    if not rows or any(r is None for r in rows):
        return None
    return {
        "lost": sum(r["lost"] for r in rows),
        "stale": sum(r["refs"]["counts"]["stale"] for r in rows),
        "lines": sum(r["refs"]["counts"]["lines stale"] for r in rows),
        "identity": sum(r["refs"]["counts"]["identity lost"] for r in rows),
        "ms": sum(r["reload_ms"] for r in rows),
    }


def _cells(values: dict, key: str, fmt: str) -> list[str]:
    """One figure per extension: "-" where it was not run, "failed" where its session
    ended early (its log, in the work directory, says why)."""
    return [
        "-" if e not in values else fmt.format(values[e][key]) if values[e] else "failed"
        for e in EXTENSIONS
    ]


def summary_table(results: list[dict]) -> str:
    order = list(EXTENSIONS)
    names = " / ".join(EXTENSIONS[e] for e in order)
    lines = [
        "| library, releases replayed | tests passing fresh (sum over pulls) "
        + "".join(f"| lost in-session: {EXTENSIONS[e]} " for e in order)
        + f"| held references not current, summed ({names}) "
        + f"| reload cell, ms summed ({names}) |",
        "|---|---:|" + "---:|" * len(order) + "---:|---:|",
    ]
    for result in results:
        ran = result["pulls"][0]["by"] if result["pulls"] else {}
        t = {e: totals(result, e) for e in order if e in ran}
        versions = result["versions"]
        fresh = sum(p["passing_fresh"] for p in result["pulls"])
        held = next((h for h in result["held"].values() if h), 0)
        lines.append(
            f"| {result['library']} {versions[0]} -> {versions[-1]} ({len(versions) - 1} pulls) "
            f"| {fresh:,} | {' | '.join(_cells(t, 'lost', '{:,}'))} "
            f"| {' / '.join(_cells(t, 'stale', '{:,}'))} ({held:,} held) "
            f"| {' / '.join(_cells(t, 'ms', '{:,.0f}'))} |"
        )
    return "\n".join(lines)


def pull_table(result: dict) -> str:
    order = list(EXTENSIONS)
    lines = [
        f"{result['library']} (lost / not current / lines stale / identity lost / reload ms; "
        f"{', '.join(EXTENSIONS[e] for e in order)}):",
        "",
        "| pull | checkout | passing fresh | " + " | ".join(EXTENSIONS[e] for e in order) + " |",
        "|---|---|---:|" + "---:|" * len(order),
    ]
    previous = result["versions"][0]
    for pull in result["pulls"]:
        cells = []
        checkout = ""
        for e in order:
            r = pull["by"].get(e)
            if r is None:
                cells.append("failed" if e in pull["by"] else "-")
                continue
            c = r["refs"]["counts"]
            checkout = r["checkout"]
            cells.append(
                f"{r['lost']} / {c['stale']} / {c['lines stale']} / {c['identity lost']} "
                f"/ {r['reload_ms']:.0f}"
            )
        lines.append(
            f"| {previous} -> {pull['version']} | {checkout} | {pull['passing_fresh']:,} | "
            + " | ".join(cells)
            + " |"
        )
        previous = pull["version"]
    return "\n".join(lines)


def lost_groups(result: dict, extension: str) -> Counter:
    """Lost tests by test function (parameters dropped), summed over pulls."""
    groups: Counter = Counter()
    for pull in result["pulls"]:
        r = pull["by"].get(extension)
        for test in (r or {}).get("lost_tests", []):
            groups[test.split("[")[0]] += 1
    return groups


def update_readme(table: str) -> None:
    start, end = "<!-- bench:replay:start -->", "<!-- bench:replay:end -->"
    text = README.read_text()
    if start not in text:
        print("README.md has no replay markers; table not written there")
        return
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    README.write_text(f"{head}{start}\n{table}\n{end}{tail}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--library", action="append", choices=[lib.name for lib in LIBRARIES])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--python", default=sys.executable, help="interpreter of the runs")
    parser.add_argument("--extension", action="append", choices=list(EXTENSIONS))
    parser.add_argument("--tag", default="", help="suffix of the results files")
    parser.add_argument("--readme", action="store_true", help="write the table into README.md")
    parser.add_argument("--report", action="store_true", help="only rebuild the report")
    args = parser.parse_args()
    chosen = [lib for lib in LIBRARIES if not args.library or lib.name in args.library]
    extensions = args.extension or list(EXTENSIONS)
    results = []
    if not args.report:
        results = [replay(lib, args.cache, args.python, extensions) for lib in chosen]
    RESULTS.mkdir(exist_ok=True)
    json_path = RESULTS / f"replay{args.tag}.json"
    previous = json.loads(json_path.read_text()) if json_path.exists() else {}
    previous.update({r["library"]: r for r in results})
    json_path.write_text(json.dumps(previous, indent=1) + "\n")
    everything = [previous[lib.name] for lib in LIBRARIES if lib.name in previous]
    table = summary_table(everything)
    report = [table, ""] + [pull_table(r) + "\n" for r in everything]
    for result in everything:
        groups = lost_groups(result, "fastautoreload")
        if groups:
            report.append(f"{result['library']}: tests lost with fastautoreload, by test:")
            report.extend(f"- {name}: {count}" for name, count in groups.most_common())
            report.append("")
    text = "\n".join(report)
    (RESULTS / f"replay{args.tag}.md").write_text(text + "\n")
    print(text)
    if args.readme:
        update_readme(table)


if __name__ == "__main__":
    main()
