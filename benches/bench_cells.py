"""Per-cell cost against session size, for both tools, with a plot and a README table.

    python benches/bench_cells.py [--sizes 500 2000 10000] [--repeat 30] [--no-readme]

For each size, a package of that many modules is generated and imported, then:
- idle check: the extension's two per-cell hooks (pre_run_cell + post_execute) when
  nothing changed, median;
- polling floor: one stat of every tracked file (fastautoreload's own parallel stat,
  forced polling), the least any mtime-polling design pays per cell;
- one module edited: a function body changed, then the next cell run (`run_cell`),
  edit-to-result latency, median;
- at the largest size, 200 modules rewritten at once as a `git checkout` would (half
  with identical content): the set reloaded, and the time of that cell.
Writes benches/results/cells.png and updates the table in README.md between markers.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from contextlib import redirect_stdout
from pathlib import Path

from fastautoreload import _native
from fastautoreload.reloader import CheckPolicy
from harness import EXTENSIONS, Package, hooks, median_ms, report, shell_with, timed

HERE = Path(__file__).resolve().parent
README = HERE.parent / "README.md"
START, END = "<!-- bench:cells:start -->", "<!-- bench:cells:end -->"


def module_body(i: int, version: int) -> str:
    return (
        f"CONSTANT = {i}\n\n"
        f"def work(x):\n    return x + {version}\n\n"
        f"class Thing{i}:\n    def value(self):\n        return {version}\n"
    )


def idle_cost(shell, repeat: int) -> float:
    pre, post = hooks(shell)

    def cell():
        pre(None)
        post()

    cell()
    return median_ms([timed(cell) for _ in range(repeat)])


def polling_floor(repeat: int) -> float:
    tracker = _native.Tracker([], poll=True)
    policy = CheckPolicy(only=None)
    tracker.check(sys.modules, policy)
    return median_ms([timed(lambda: tracker.check(sys.modules, policy)) for _ in range(repeat)])


def edit_latency(shell, package: Package, repeat: int) -> float:
    module = package.modules[0]
    shell.run_cell(f"import {module}")
    samples = []
    for _ in range(repeat):
        package.edit(0)
        samples.append(timed(lambda: shell.run_cell(f"{module}.work(1)", silent=False)))
    return median_ms(samples)


def checkout(shell, package: Package, count: int) -> tuple[float, int]:
    """Rewrites `count` modules, half with new content; returns (ms, modules reloaded)."""
    magics = shell.events.callbacks["pre_run_cell"][-1].__self__
    reloader = magics._reloader
    before = len(getattr(reloader, "reload_times", []))
    for i in range(1, count + 1):
        if i % 2:
            package.edit(i)
        else:
            package.touch_forward(i)
    elapsed = timed(lambda: shell.run_cell("pass"))
    return elapsed / 1e6, len(reloader.reload_times) - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 2000, 10000])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--no-readme", action="store_true", help="do not update README.md")
    args = parser.parse_args()
    results = []
    for size in args.sizes:
        package = Package(f"cells{size}", size, module_body)
        package.import_all()
        row = {"size": size, "modules": len(sys.modules)}
        for label, ext in EXTENSIONS.items():
            shell = shell_with(ext)
            with redirect_stdout(io.StringIO()):
                row[label, "idle"] = idle_cost(shell, args.repeat)
                row[label, "edit"] = edit_latency(shell, package, max(5, args.repeat // 3))
        row["floor"] = polling_floor(args.repeat)
        results.append(row)
    shell = shell_with("fastautoreload")
    checkout_ms, reloaded = checkout(shell, package, 200)
    print_tables(results, checkout_ms, reloaded, args.sizes[-1])
    plot(results, HERE / "results" / "cells.png")
    if not args.no_readme:
        update_readme(results, checkout_ms, reloaded, args.sizes[-1])


def print_tables(results, checkout_ms, reloaded, size) -> None:
    ipy, fast = EXTENSIONS
    rows = []
    for r in results:
        rows.append((f"idle check, {r['size']} modules", r[ipy, "idle"], r[fast, "idle"]))
        rows.append((f"  polling floor (stat all), {r['size']}", None, r["floor"]))
        rows.append((f"one module edited, {r['size']} modules", r[ipy, "edit"], r[fast, "edit"]))
    report("Per cell (medians, ms)", rows)
    print(
        f"\n200 modules rewritten at once (100 with new content) in a session of {size}: "
        f"fastautoreload reloaded {reloaded} modules in {checkout_ms:.1f} ms"
    )


def markdown(results, checkout_ms, reloaded, size) -> str:
    ipy, fast = EXTENSIONS
    lines = [
        "| modules in the package (in `sys.modules`) | idle cell: IPython | idle cell: "
        "fastautoreload | ratio | polling floor | edit-to-result: IPython | "
        "edit-to-result: fastautoreload | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['size']:,} ({r['modules']:,}) | {r[ipy, 'idle']:.3f} ms | "
            f"{r[fast, 'idle']:.3f} ms | {r[ipy, 'idle'] / r[fast, 'idle']:.0f}x | "
            f"{r['floor']:.3f} ms | {r[ipy, 'edit']:.2f} ms | {r[fast, 'edit']:.2f} ms | "
            f"{r[ipy, 'edit'] / r[fast, 'edit']:.0f}x |"
        )
    lines.append("")
    lines.append(
        f"200 modules rewritten at once, 100 of them with new content, in the "
        f"{size:,}-module session: fastautoreload reloaded {reloaded} modules in "
        f"{checkout_ms:.1f} ms."
    )
    lines.append("")
    lines.append("![time per cell against number of modules](benches/results/cells.png)")
    return "\n".join(lines)


def update_readme(results, checkout_ms, reloaded, size) -> None:
    text = README.read_text()
    if START not in text or END not in text:
        print("README.md has no benchmark markers; table not written", file=sys.stderr)
        return
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    table = markdown(results, checkout_ms, reloaded, size)
    machine = f"{os.cpu_count()} cores, Python {sys.version.split()[0]}"
    body = f"{START}\nMeasured with `python benches/bench_cells.py` ({machine}):\n\n{table}\n{END}"
    README.write_text(head + body + tail)


def plot(results, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    sizes = [r["size"] for r in results]
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    for label in EXTENSIONS:
        ax.plot(sizes, [r[label, "idle"] for r in results], marker="o", label=f"{label}: idle cell")
        ax.plot(
            sizes,
            [r[label, "edit"] for r in results],
            marker="s",
            linestyle="--",
            label=f"{label}: edited module",
        )
    ax.plot(
        sizes, [r["floor"] for r in results], color="grey", linestyle=":", label="polling floor"
    )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("modules in the session's package")
    ax.set_ylabel("time per cell (ms, median)")
    ax.set_title("Cost of the autoreload check per cell")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    print(f"plot: {path}")


if __name__ == "__main__":
    main()
