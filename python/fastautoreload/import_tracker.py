"""Which names executed cells bound with ``from m import x [as y]``.

Cells are read from their source; statements typed at a plain ``python`` prompt, whose
source the interpreter may not keep, from their compiled code.

Mode 3 (``%autoreload complete``) uses this to decide which names of a reloaded module
are pushed into the user namespace, and under which alias. Same public shape and
conflict rules as ``IPython.extensions.autoreload.ImportFromTracker``.
"""

from __future__ import annotations

import ast
import dis


class ImportFromTracker:
    """Records ``from module import original as resolved`` bindings made by cells.

    ``imports_froms`` maps a module name to the original names imported from it;
    ``symbol_map`` maps a module name to ``{original: [resolved, ...]}``.
    """

    def __init__(self, imports_froms: dict | None = None, symbol_map: dict | None = None):
        self.imports_froms: dict[str, list[str]] = (
            imports_froms if imports_froms is not None else {}
        )
        self.symbol_map: dict[str, dict[str, list[str]]] = {}
        for module_name, mapping in (symbol_map or {}).items():
            self.symbol_map[module_name] = {
                original: list(resolved) if isinstance(resolved, list) else [resolved]
                for original, resolved in mapping.items()
            }

    def add_import(self, module_name: str, original_name: str, resolved_name: str) -> None:
        """Record one binding; the most recent import of a resolved name wins."""
        originals = self.imports_froms.setdefault(module_name, [])
        mapping = self.symbol_map.setdefault(module_name, {})
        for other, aliases in list(mapping.items()):
            if other != original_name and resolved_name in aliases:
                aliases.remove(resolved_name)
                if not aliases:
                    del mapping[other]
                    if other in originals:
                        originals.remove(other)
        if original_name not in originals:
            originals.append(original_name)
        aliases = mapping.setdefault(original_name, [])
        if resolved_name not in aliases:
            aliases.append(resolved_name)

    def track_cell(self, code: str) -> None:
        """Record every absolute ``from m import ...`` in a cell's source."""
        if "import" not in code:  # most cells: no parse on the per-cell path
            return
        try:
            tree = ast.parse(code)
        except (SyntaxError, ValueError):
            return
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    self.add_import(node.module, alias.name, alias.asname or alias.name)

    def track_code(self, code) -> None:
        """Record every absolute ``from m import ...`` a compiled statement runs at its
        top level (the code of a statement typed at the prompt)."""
        if not code.co_names:  # no names at all: no import
            return
        instructions = list(dis.get_instructions(code))
        module = None
        for i, instruction in enumerate(instructions):
            if instruction.opname == "IMPORT_NAME":
                module = _from_import_module(instructions, i)
                if module is not None and "*" in instructions[i - 1].argval:
                    self.add_import(module, "*", "*")
            elif instruction.opname == "IMPORT_FROM" and module is not None:
                store = instructions[i + 1] if i + 1 < len(instructions) else None
                if store is not None and store.opname in ("STORE_NAME", "STORE_GLOBAL"):
                    self.add_import(module, instruction.argval, store.argval)

    def targets(self, module_name: str, name: str) -> list[str] | None:
        """User-namespace names to bind for ``module.name``; None means no filter applies.

        An empty list means the module is tracked and this name was never imported from it.
        """
        originals = self.imports_froms.get(module_name)
        if not originals or "*" in originals:
            return None
        if name not in originals:
            return []
        return list(self.symbol_map.get(module_name, {}).get(name, [name]))


def _from_import_module(instructions: list, i: int) -> str | None:
    """The module of the ``IMPORT_NAME`` at ``i`` when it is an absolute ``from`` import.

    The compiler pushes the level, then the names imported (None for a plain
    ``import a.b as c``, which also uses ``IMPORT_FROM``), just before it.
    """
    if i < 2 or instructions[i - 2].opname != "LOAD_CONST":
        return None
    level, names = instructions[i - 2].argval, instructions[i - 1].argval
    if level != 0 or not isinstance(names, tuple):
        return None
    return instructions[i].argval
