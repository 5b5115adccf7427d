"""The security package's modules import each other without a cycle, at any depth of the code.

Imports inside functions count too: a cycle hidden behind a function-level import still ties the
modules together (issue 12). Nothing reaches into another module's private names either.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "engine" / "security"


def _imports() -> dict[str, set[str]]:
    """module name -> security modules it imports (anywhere in its code), with private names."""
    graph: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.glob("*.py")):
        if path.stem in ("__init__", "__main__"):
            continue
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "engine.security."
            ):
                deps.add(node.module.rsplit(".", 1)[1])  # type: ignore[union-attr]
            elif isinstance(node, ast.Import):
                deps.update(
                    a.name.rsplit(".", 1)[1]
                    for a in node.names
                    if a.name.startswith("engine.security.")
                )
        graph[path.stem] = deps
    return graph


def test_no_import_cycle_in_the_security_package() -> None:
    graph = _imports()
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                cycle = [*trail[trail.index(dep) :], dep] if dep in trail else [node, dep]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if dep not in state:
                visit(dep, [*trail, dep])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


def test_no_module_imports_another_modules_private_names() -> None:
    for path in sorted(PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "engine.security"
            ):
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{path.name} imports {private} from {node.module}"
