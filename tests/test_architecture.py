"""The shape of the code: no import cycles, imports at the top of modules, a pure trust model, and
domain errors that any front end can raise and present."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import repo_root

PACKAGES = ("reputation", "workers")


def modules() -> dict[str, Path]:
    """Every module of the service's packages, by dotted name."""
    found = {}
    for package in PACKAGES:
        for path in sorted((repo_root() / package).rglob("*.py")):
            parts = path.relative_to(repo_root()).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def imports_of(name: str, path: Path, known: set[str]) -> Iterator[tuple[str, ast.stmt, bool]]:
    """`(module imported, statement, at module top)` for each import of one of `known`, wherever
    it stands in the module: an import inside a function is a dependency all the same."""
    tree = ast.parse(path.read_text(), str(path))
    top = {id(node) for node in tree.body}
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            # `from a import b` names module a.b when there is one, else a's attribute b.
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                for alias in node.names
            ]
        for target in targets:
            if target in known and target != name:
                yield target, node, id(node) in top


def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {
        name: {target for target, _, _ in imports_of(name, path, known)}
        for name, path in found.items()
    }


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(edges[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10 * len(edges)))
    try:
        for node in sorted(edges):
            if node not in index:
                visit(node)
    finally:
        sys.setrecursionlimit(limit)
    return components


def test_the_checker_finds_a_cycle_it_is_shown():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_of_the_service_imports_itself_round_a_cycle():
    edges = graph()
    assert len(edges) > 50
    assert cycles(edges) == []


def test_the_service_imports_its_own_modules_at_the_top():
    known = set(modules())
    hidden = {
        f"{path.relative_to(repo_root())}:{node.lineno} imports {target}"
        for name, path in modules().items()
        for target, node, at_top in imports_of(name, path, known)
        if not at_top
    }
    assert hidden == set()


def test_domain_errors_import_neither_flask_nor_the_database():
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(ast.parse((repo_root() / "reputation/errors.py").read_text()))
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        (node.module or "").split(".")[0]
        for node in ast.walk(ast.parse((repo_root() / "reputation/errors.py").read_text()))
        if isinstance(node, ast.ImportFrom)
    }
    assert imported <= {"__future__"}


@pytest.mark.parametrize("module", ["reputation.errors", "reputation.trust.model"])
def test_the_leaf_modules_load_without_flask_or_sqlalchemy(module):
    """Imported in a fresh interpreter, they bring neither along."""
    probe = (
        f"import sys, {module}; "
        "loaded = {'flask', 'sqlalchemy', 'flask_sqlalchemy'} & set(sys.modules); "
        "print(sorted(loaded))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=repo_root(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "[]"
