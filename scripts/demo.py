"""A short live demo: an IPython shell keeps working while a module is edited on disk.

Runs a real InteractiveShell with fastautoreload loaded, prints each cell as it runs,
and rewrites a module file between cells the way an editor would.
"""

import os
import sys
import tempfile
import textwrap
from pathlib import Path

from IPython.core.interactiveshell import InteractiveShell

VERSION_1 = """
RATE = 0.10

def price(amount):
    return round(amount * (1 + RATE), 2)

class Cart:
    def __init__(self):
        self.items = []

    def add(self, amount):
        self.items.append(amount)

    def total(self):
        return sum(price(a) for a in self.items)
"""

VERSION_2 = """
RATE = 0.20

def price(amount):
    return round(amount * (1 + RATE), 2)

class Cart:
    def __init__(self):
        self.items = []

    def add(self, amount):
        self.items.append(amount)

    def total(self):
        return sum(price(a) for a in self.items)

    def summary(self):
        return f"{len(self.items)} items, total {self.total()}"
"""


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="fastautoreload-demo-"))
    module = workdir / "shop.py"
    sys.path.insert(0, str(workdir))
    module.write_text(textwrap.dedent(VERSION_1))

    shell = InteractiveShell.instance(colors="nocolor")
    shell.display_page = False
    cells = [
        "%load_ext fastautoreload",
        "%autoreload 2 --print",
        "from shop import Cart, price\ncart = Cart()\ncart.add(100)\ncart.total()",
    ]
    for cell in cells:
        run(shell, cell)

    print(f"\n# editor saves {module.name}: RATE 0.10 -> 0.20, new method Cart.summary\n")
    # Editors bump the mtime; make sure it moves even on coarse-grained filesystems.
    module.write_text(textwrap.dedent(VERSION_2))
    stat = module.stat()
    os.utime(module, (stat.st_atime, stat.st_mtime + 1))

    run(shell, "cart.total()   # the cart made before the edit")
    run(shell, "cart.summary()   # a method that did not exist when cart was made")
    run(shell, "price(10), price is __import__('shop').price   # same function object")
    print("\nThe module was reloaded once, before the cell that needed it; the old `cart`,")
    print("`Cart` and `price` references all run the new code.")


def run(shell: InteractiveShell, cell: str) -> None:
    number = shell.execution_count
    lines = cell.splitlines()
    print(f"In [{number}]: {lines[0]}")
    for line in lines[1:]:
        print(f"   ...: {line}")
    result = shell.run_cell(cell, store_history=True)
    if not result.success:
        raise SystemExit(f"demo cell failed: {cell!r}")
    print()


if __name__ == "__main__":
    main()
