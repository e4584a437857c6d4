"""The code's plan is a checked contract (README "Where things live"): the layers hold
(import-linter, the rules in pyproject.toml), no module imports itself back through others, and
an import inside a function says why it is there."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("checklists", "metrics", "launchboard")


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports_of(name: str, path: Path, known: dict) -> list[tuple[str, ast.stmt]]:
    """(module of ours imported, the statement), including imports inside functions."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            # ``from package import submodule`` depends on the submodule, not on the package
            targets = [f"{base}.{a.name}" for a in node.names]
        for target in targets:
            while target and target not in known and "." in target:
                target = target.rsplit(".", 1)[0]
            if target in known and target != name:
                out.append((target, node))
    return out


def test_the_layer_contracts_hold():
    result = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports"))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 broken" in result.stdout


def test_no_import_cycles_even_through_imports_inside_functions():
    known = modules()
    graph = {name: {t for t, _ in imports_of(name, path, known)} for name, path in known.items()}
    cycles = []
    for start in graph:  # a path from a module back to itself
        seen, todo = set(), [(start, (start,))]
        while todo:
            here, way = todo.pop()
            for nxt in graph[here]:
                if nxt == start:
                    cycles.append(" -> ".join((*way, start)))
                elif nxt not in seen:
                    seen.add(nxt)
                    todo.append((nxt, (*way, nxt)))
    assert not cycles, "\n".join(sorted(cycles)[:10])


def _justified(lines: list[str], node: ast.stmt) -> bool:
    """A comment on the import's line, or above its block of imports."""
    if "#" in lines[node.lineno - 1]:
        return True
    index = node.lineno - 2
    while index >= 0:
        text = lines[index].strip()
        if text.startswith("#"):
            return True
        if text and not text.startswith(("from ", "import ")):
            return False
        index -= 1
    return False


def test_an_import_inside_a_function_says_why():
    unexplained = []
    for path in modules().values():
        lines = path.read_text().splitlines()
        for function in ast.walk(ast.parse("\n".join(lines))):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.Import | ast.ImportFrom) and not _justified(lines, node):
                    unexplained.append(
                        f"{path.relative_to(ROOT)}:{node.lineno}: {lines[node.lineno - 1].strip()}"
                    )
    assert not unexplained, "\n".join(sorted(set(unexplained)))
