"""Which names executed cells bound with ``from m import x [as y]``.

Mode 3 (``%autoreload complete``) uses this to decide which names of a reloaded module
are pushed into the user namespace, and under which alias. Same public shape and
conflict rules as ``IPython.extensions.autoreload.ImportFromTracker``.
"""

from __future__ import annotations

import ast


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
