"""The initial scan: loading the extension into a session with many modules of your own.

    python benches/bench_scan.py [--modules 2000] [--repeat 5]

Times `%load_ext` in a fresh shell for both tools, in the same process, on the same
generated package of modules that import each other. IPython records every module's
mtime and reads every source for its differ; fastautoreload reads and hashes every
source and scans the imports of the user's modules. For fastautoreload the first
import-graph build (done at the first reload) is reported on its own line.
"""

from __future__ import annotations

import argparse
import time

from harness import EXTENSIONS, Package, median_ms, report, timed
from IPython.core.interactiveshell import InteractiveShell


def module_body(i: int, version: int) -> str:
    deps = "\n".join(f"from .m{j} import VALUE as V{j}" for j in range(max(0, i - 5), i))
    functions = "\n\n".join(
        f"def f{k}(x):\n    '''Function {k}.'''\n    return x * {k} + {version}" for k in range(10)
    )
    return f"import os\nimport json\n{deps}\n\nVALUE = {i}\n\n{functions}\n"


def load_cost(extension: str) -> int:
    InteractiveShell.clear_instance()
    shell = InteractiveShell.instance()
    return timed(lambda: shell.run_line_magic("load_ext", extension))


def graph_cost() -> int:
    magics = InteractiveShell.instance()._fastautoreload_magics
    reloader = magics._reloader
    return timed(lambda: reloader.dependents("json"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--modules", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    package = Package("scan", args.modules, module_body)
    start = time.perf_counter()
    package.import_all()
    print(f"imported {args.modules} modules in {time.perf_counter() - start:.1f} s")
    load = {tool: [] for tool in EXTENSIONS}
    graph = []
    for _ in range(args.repeat):
        for tool, ext in EXTENSIONS.items():
            load[tool].append(load_cost(ext))
        graph.append(graph_cost())
    slow, fast = (median_ms(samples) for samples in load.values())
    report(
        f"Initial scan: %load_ext with {args.modules} user modules imported (median of "
        f"{args.repeat})",
        [
            (f"%load_ext, {args.modules} modules", slow, fast),
            ("fastautoreload: first import-graph build", None, median_ms(graph)),
        ],
    )


if __name__ == "__main__":
    main()
