"""The shape of the house: no module of src/vitiseg imports another in a circle, counting
imports placed inside functions (a lazy import hides a circle, it does not remove it)."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "src" / "vitiseg"


def module_name(path: Path) -> str:
    parts = ("vitiseg", *path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts).removesuffix(".__init__")


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The vitiseg modules ``path`` imports, at any depth of its code."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            found |= {f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names}  # fmt: skip
    return {m for m in found if m in modules and m != name}


def import_graph() -> dict[str, set[str]]:
    paths = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: imports_of(path, set(paths)) for name, path in paths.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_circle_finder_finds_a_circle():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_imports_another_in_a_circle():
    graph = import_graph()
    assert len(graph) > 50
    assert "vitiseg.engine.onnx_contract" in graph["vitiseg.engine.backends"]
    assert circles(graph) == []


def unexplained_lazy_imports(path: Path) -> list[int]:
    """Lines of imports inside functions with no comment saying why (a comment on the
    first import of a run of imports covers the run)."""
    lines = path.read_text().splitlines()
    found = []
    for function in ast.walk(ast.parse("\n".join(lines))):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            for body in (getattr(node, "body", None), getattr(node, "orelse", None)):
                explained = False
                for statement in body if isinstance(body, list) else []:
                    if not isinstance(statement, ast.Import | ast.ImportFrom):
                        explained = False
                        continue
                    text = lines[statement.lineno - 1 : statement.end_lineno]
                    explained = explained or any("#" in line for line in text)
                    if not explained:
                        found.append(statement.lineno)
    return found


def test_the_lazy_import_finder_finds_an_unexplained_one(tmp_path: Path):
    module = tmp_path / "m.py"
    module.write_text(
        "def f():\n    import os  # why\n    import re\n\ndef g():\n    import json\n"
    )
    assert unexplained_lazy_imports(module) == [6]


def test_every_import_inside_a_function_says_why():
    """Imports belong at the top; the exceptions (heavy libraries kept out of ``--help``,
    optional extras) say so in a comment."""
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for line in unexplained_lazy_imports(path)
    ]
    assert found == []
