"""One function edited in a 2,500-line module: the whole edit-to-patched cost.

    python benches/bench_differ.py [--repeat 20]

Times the `pre_run_cell` hook that notices the edit and applies it (reading and
hashing the file included), for IPython 9's default `%autoreload 2` (its source differ
parses both versions with Python's `ast`) and for fastautoreload (Rust outline and
differ, one function compiled and patched). Same file, same edits, same process.
"""

from __future__ import annotations

import argparse

from harness import EXTENSIONS, Package, hooks, median_ms, report, shell_with, timed

FUNCTIONS = 225
CLASSES = 20


def module_body(_: int, version: int) -> str:
    parts = ["import math\n\nSCALE = 3\n"]
    for i in range(FUNCTIONS):
        bump = version if i == 0 else 0
        parts.append(
            f"def compute_{i}(values, factor={i}):\n"
            f'    """Function {i} of the generated module."""\n'
            f"    total = 0\n"
            f"    for value in values:\n"
            f"        if value % 2:\n"
            f"            total += value * factor\n"
            f"        else:\n"
            f"            total -= math.floor(value / SCALE)\n"
            f"    return total + {bump}\n"
        )
    for c in range(CLASSES):
        methods = "".join(
            f"    def method_{m}(self, x):\n        return self.base * x + {m}\n\n"
            for m in range(3)
        )
        parts.append(f"class Model{c}:\n    base = {c}\n\n{methods}")
    return "\n".join(parts)


def edit_cost(extension: str, package: Package, repeat: int) -> tuple[float, int]:
    shell = shell_with(extension)
    name = package.modules[0]
    shell.run_cell(f"import {name} as big")
    pre, post = hooks(shell)
    samples = []
    for _ in range(repeat):
        package.edit(0)
        samples.append(timed(lambda: pre(None)))
        post()
    check = shell.run_cell(f"assert big.compute_0([]) == {package._versions[0]}")
    check.raise_error()
    return median_ms(samples), package.path(0).read_text().count("\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    package = Package("differ", 1, module_body)
    package.import_all()
    costs = {}
    for tool, ext in EXTENSIONS.items():
        costs[tool], lines = edit_cost(ext, package, args.repeat)
    slow, fast = costs.values()
    report(
        f"One function body edited in a {lines:,}-line module (median of {args.repeat})",
        [("edit detected, planned and applied", slow, fast)],
    )


if __name__ == "__main__":
    main()
