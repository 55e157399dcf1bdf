"""What loading costs a user whose session already holds many modules: `%load_ext`,
`%autoreload 2` and the first cell, then idle cells, and the memory the extension keeps.

    python benches/bench_startup.py [--modules 10000] [--runs 5] [--stack]

Each figure comes from fresh processes, one per run and extension, alternating between
IPython's autoreload and fastautoreload; medians are printed with the ratio. Two sessions:
- `--modules N` generated modules of the user's (a package on sys.path, not site-packages);
- `--stack`: the scientific stack (numpy, pandas, scipy, matplotlib, scikit-learn, sympy)
  imported from site-packages; the packages missing are named, and the run is skipped.

Memory kept: resident set size after the first cell less before loading (`/proc`), and
what `tracemalloc` sees allocated by Python over the same span (in a separate run, since
tracing slows everything down). Native allocations of fastautoreload's core show in RSS
only.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
STACK = ["numpy", "pandas", "scipy", "matplotlib", "sklearn", "sympy"]
EXTENSIONS = {"IPython autoreload": "autoreload", "fastautoreload": "fastautoreload"}

CHILD = r"""
import gc, json, os, sys, time, tracemalloc
sys.path.insert(0, sys.argv[4])
mode, extension, trace = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
if mode == "stack":
    import numpy, pandas, scipy.stats, scipy.optimize, matplotlib.pyplot, sympy
    import sklearn.linear_model
else:
    for name in sorted(os.listdir(os.path.join(sys.argv[4], "genpkg"))):
        if name.endswith(".py") and name != "__init__.py":
            __import__("genpkg." + name[:-3])
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
shell.run_cell("pass")
gc.collect()

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

if trace:
    tracemalloc.start()
before_rss = rss()
start = time.perf_counter()
shell.run_line_magic("load_ext", extension)
shell.run_line_magic("autoreload", "2")
shell.run_cell("pass")
load_s = time.perf_counter() - start
idle = []
for _ in range(20):
    t = time.perf_counter()
    shell.run_cell("pass")
    idle.append(time.perf_counter() - t)
# fastautoreload reads baselines in the background after loading: idle cells once done.
magics = getattr(shell, "_fastautoreload_magics", None)
for _ in range(60_000):
    if magics is None or magics._reloader.stats()["baseline_readers"] == 0:
        break
    time.sleep(0.001)
settled = []
for _ in range(20):
    t = time.perf_counter()
    shell.run_cell("pass")
    settled.append(time.perf_counter() - t)
gc.collect()
out = {"load_ms": load_s * 1e3, "idle_ms": sorted(idle)[10] * 1e3,
       "settled_ms": sorted(settled)[10] * 1e3,
       "rss_mb": (rss() - before_rss) / 2**20, "modules": len(sys.modules)}
if trace:
    current, _ = tracemalloc.get_traced_memory()
    out["traced_mb"] = current / 2**20
print(json.dumps(out))
"""


def generate(root: Path, count: int) -> None:
    pkg = root / "genpkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for i in range(count):
        # Chains of 50 imports: a graph to build, not a recursion limit to hit.
        deps = f"from genpkg import m{i - 1} as previous\n" if i % 50 else ""
        (pkg / f"m{i}.py").write_text(
            f"import os\n{deps}\nVALUE = {i}\n\n\ndef work(x):\n    return x + VALUE\n\n\n"
            f"class Thing{i}:\n    def method(self):\n        return work(1)\n"
        )
    # Old files, as in a checkout that was not just written.
    old = 1_600_000_000
    for path in pkg.iterdir():
        os.utime(path, (old, old))


def child(mode: str, extension: str, root: Path, trace: bool) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, mode, extension, "1" if trace else "0", str(root)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    if done.returncode != 0:
        raise SystemExit(f"child failed ({extension}):\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(mode: str, root: Path, runs: int) -> dict:
    samples = {tool: [] for tool in EXTENSIONS}
    for _ in range(runs):
        for tool, extension in EXTENSIONS.items():
            samples[tool].append(child(mode, extension, root, trace=False))
    traced = {
        tool: child(mode, extension, root, trace=True)["traced_mb"]
        for tool, extension in EXTENSIONS.items()
    }
    result = {}
    for tool, runs_ in samples.items():
        result[tool] = {
            key: statistics.median(run[key] for run in runs_)
            for key in ("load_ms", "idle_ms", "settled_ms", "rss_mb", "modules")
        }
        result[tool]["traced_mb"] = traced[tool]
    return result


def print_table(title: str, result: dict) -> None:
    slow, fast = result["IPython autoreload"], result["fastautoreload"]
    print(f"\n{title} ({int(fast['modules'])} modules in sys.modules)")
    print(f"{'':36} {'IPython':>12} {'fastautoreload':>15} {'ratio':>8}")
    rows = [
        ("%load_ext + %autoreload 2 + 1st cell", "load_ms", "ms"),
        ("idle cell, right after loading", "idle_ms", "ms"),
        ("idle cell, background reads done", "settled_ms", "ms"),
        ("memory kept (RSS)", "rss_mb", "MB"),
        ("memory kept (tracemalloc)", "traced_mb", "MB"),
    ]
    for label, key, unit in rows:
        a, b = slow[key], fast[key]
        ratio = f"{a / b:7.1f}x" if b > 0 else "      -"
        print(f"{label:36} {a:9.2f} {unit} {b:12.2f} {unit} {ratio}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--modules", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--stack", action="store_true", help="also the scientific stack")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="far-bench-startup-") as tmp:
        root = Path(tmp)
        generate(root, args.modules)
        result = measure("generated", root, args.runs)
        print_table(f"Startup with {args.modules:,} modules of the user's", result)
        if args.stack:
            missing = [name for name in STACK if importlib.util.find_spec(name) is None]
            if missing:
                print(f"\nscientific stack skipped: not installed: {', '.join(missing)}")
            else:
                print_table("Startup with the scientific stack", measure("stack", root, args.runs))


if __name__ == "__main__":
    main()
