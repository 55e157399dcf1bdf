"""Cost of one reload in a big session: 100 classes x 1,000 live instances each, among
1,000,000 unrelated live objects.

    python benches/bench_reload.py [--reloads 10]

Each reload is timed as the `pre_run_cell` hook that performs it.
(a) One method changed in every class AND a top-level statement IPython 9 cannot diff
    (`TIMEOUT = int(os.environ.get(...))`), which sends IPython 9 down its full
    `superreload`: one heap walk per class per stored reference. (`int("30")` alone is
    not enough: IPython 9.18.1 treats builtins applied to literals as diffable.)
    Reported: the first reload, and for fastautoreload also the last of `--reloads`
    (cost must not grow with past reloads).
    IPython runs two reloads only (each takes seconds, and the second is slower).
(b) One method changed in every class only (IPython 9's source differ handles this).
"""

from __future__ import annotations

import argparse
import gc

from harness import EXTENSIONS, Package, hooks, median_ms, report, shell_with, timed

CLASSES = 100
INSTANCES = 1_000
UNRELATED = 1_000_000


def module_body(version: int, timeout: int) -> str:
    lines = [f'import os\n\nTIMEOUT = int(os.environ.get("FAR_BENCH_TIMEOUT", "{timeout}"))\n']
    for c in range(CLASSES):
        lines.append(
            f"class Model{c}:\n"
            f"    def __init__(self):\n        self.x = {c}\n"
            f"    def value(self):\n        return self.x + {version}\n"
        )
    return "\n".join(lines)


class Session:
    """A shell with the big module imported and its instances alive."""

    def __init__(self, extension: str, package: Package):
        self.shell = shell_with(extension)
        self.package = package
        self.shell.run_cell(
            f"import {package.modules[0]} as big\n"
            f"instances = [getattr(big, 'Model%d' % c)() for c in range({CLASSES}) "
            f"for _ in range({INSTANCES})]"
        )
        self.pre, self.post = hooks(self.shell)

    def reload(self, version: int, timeout: int) -> int:
        """Edits the module and times the reload the next cell triggers, in ns."""
        self.package.path(0).write_text(module_body(version, timeout))
        self.package.touch_forward(0)
        elapsed = timed(lambda: self.pre(None))
        self.post()
        check = self.shell.run_cell(f"assert instances[-1].value() == {CLASSES - 1 + version}")
        check.raise_error()
        return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reloads", type=int, default=10)
    args = parser.parse_args()
    unrelated = [[i] for i in range(UNRELATED)]  # live, GC-tracked, never touched
    package = Package("big", 1, lambda i, v: module_body(0, 30))
    package.import_all()
    gc.collect()
    version = 0
    runs = {}
    for tool, ext in EXTENSIONS.items():
        session = Session(ext, package)
        count = 2 if ext == "autoreload" else args.reloads
        full = []
        for _ in range(count):
            version += 1
            full.append(session.reload(version, 30 + version))
        diffable = []
        for _ in range(5):
            version += 1
            diffable.append(session.reload(version, 30 + count))
        runs[tool] = (full, diffable)
        del session
    (slow_full, slow_diff), (fast_full, fast_diff) = runs.values()
    rows = [
        ("(a) methods + top-level call, 1st reload", slow_full[0] / 1e6, fast_full[0] / 1e6),
        ("(a) 2nd reload", slow_full[1] / 1e6, fast_full[1] / 1e6),
        (f"(a) fastautoreload's {len(fast_full)}th reload", None, fast_full[-1] / 1e6),
        ("(b) methods only, median of 5", median_ms(slow_diff), median_ms(fast_diff)),
    ]
    report(
        f"One reload: {CLASSES} classes x {INSTANCES} instances, "
        f"{len(unrelated):,} unrelated live objects",
        rows,
    )


if __name__ == "__main__":
    main()
