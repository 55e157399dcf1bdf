"""Cost of one reload in a big session: 100 classes x 1,000 live instances each, among
1,000,000 unrelated live objects.

    python benches/bench_reload.py [--repeat 5]

Two edits, each timed as the `pre_run_cell` hook that performs the reload:
- "methods edited": one method body changed in each of the 100 classes (IPython 9
  handles this with its source differ);
- "top-level call changed": a module-level call changes as well, which sends IPython
  9 to its full `superreload` (one heap walk per class per stored reference).
"""

from __future__ import annotations

import argparse
import gc

from harness import EXTENSIONS, Package, hooks, median_ms, report, shell_with, timed

CLASSES = 100
INSTANCES = 1_000
UNRELATED = 1_000_000


def module_body(version: int, setup_call: int) -> str:
    lines = [f"import math\n\nSETUP = math.factorial({setup_call})\n"]
    for c in range(CLASSES):
        lines.append(
            f"class Model{c}:\n"
            f"    def __init__(self):\n        self.x = {c}\n"
            f"    def value(self):\n        return self.x + {version}\n"
        )
    return "\n".join(lines)


def reload_cost(extension: str, package: Package, repeat: int, bump_setup: bool) -> float:
    shell = shell_with(extension)
    name = package.modules[0]
    shell.run_cell(
        f"import {name} as big\n"
        f"instances = [getattr(big, 'Model%d' % c)() for c in range({CLASSES}) "
        f"for _ in range({INSTANCES})]"
    )
    pre, post = hooks(shell)
    samples = []
    for _ in range(repeat):
        state["version"] += 1
        if bump_setup:
            state["setup"] += 1
        package.path(0).write_text(module_body(state["version"], state["setup"]))
        package.touch_forward(0)
        samples.append(timed(lambda: pre(None)))
        post()
    check = shell.run_cell(f"assert instances[-1].value() == {CLASSES - 1} + {state['version']}")
    check.raise_error()
    return median_ms(samples)


state = {"version": 0, "setup": 10}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    unrelated = [[i] for i in range(UNRELATED)]  # live, GC-tracked, never touched
    package = Package("big", 1, lambda i, v: module_body(0, 10))
    package.import_all()
    gc.collect()
    rows = []
    for label, bump in (("methods edited", False), ("top-level call changed", True)):
        cost = {
            tool: reload_cost(ext, package, args.repeat, bump) for tool, ext in EXTENSIONS.items()
        }
        rows.append((label, *cost.values()))
    report(
        f"One reload: {CLASSES} classes x {INSTANCES} instances, "
        f"{len(unrelated):,} unrelated live objects",
        rows,
    )


if __name__ == "__main__":
    main()
