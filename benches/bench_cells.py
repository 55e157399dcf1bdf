"""Per-cell cost: the idle check when nothing changed, and one edited module.

python benches/bench_cells.py [--sizes 500 2000] [--repeat 50]
"""

from __future__ import annotations

import argparse
import gc

from harness import EXTENSIONS, Package, hooks, median_ms, report, shell_with, timed


def module_body(i: int, version: int) -> str:
    return (
        f"CONSTANT = {i}\n\n"
        f"def work(x):\n    return x + {version}\n\n"
        f"class Thing{i}:\n    def value(self):\n        return {version}\n"
    )


def idle_cost(extension: str, repeat: int) -> float:
    shell = shell_with(extension)
    pre, post = hooks(shell)

    def cell():
        pre(None)
        post()

    cell()
    return median_ms([timed(cell) for _ in range(repeat)])


def edit_cost(extension: str, package: Package, repeat: int) -> float:
    shell = shell_with(extension)
    pre, post = hooks(shell)
    samples = []
    for _ in range(repeat):
        package.edit(0)
        samples.append(timed(lambda: pre(None)))
        post()
    return median_ms(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 2000])
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    rows = []
    for size in args.sizes:
        package = Package(f"cells{size}", size, module_body)
        package.import_all()
        gc.collect()
        idle = {label: idle_cost(ext, args.repeat) for label, ext in EXTENSIONS.items()}
        edit = {label: edit_cost(ext, package, args.repeat) for label, ext in EXTENSIONS.items()}
        rows.append((f"idle check, {size} modules", *idle.values()))
        rows.append((f"one module edited, {size} modules", *edit.values()))
    report("Per-cell cost (median of the extension's pre_run_cell + post_execute hooks)", rows)


if __name__ == "__main__":
    main()
