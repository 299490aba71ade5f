"""The shape of ``src/``: imports run one way (no module imports one that imports it back).

Read from the source (``ast``), not by importing: the imports a module makes
when it is loaded count (those under ``if TYPE_CHECKING:`` and inside
functions do not, since they run later or never).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"


def modules() -> dict[str, Path]:
    """Every module of the package, by dotted name (a package by its own name)."""
    out = {}
    for path in (SRC / "convguard").rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def load_time_imports(body: Sequence[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """The import statements that run when the module is loaded."""
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If):
            if "TYPE_CHECKING" not in ast.unparse(node.test):
                yield from load_time_imports(node.body)
                yield from load_time_imports(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                yield from load_time_imports(block)


def graph() -> dict[str, set[str]]:
    """Which modules of the package each module imports when loaded."""
    known = modules()
    edges: dict[str, set[str]] = {}
    for name, path in known.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()
        for node in load_time_imports(ast.parse(path.read_text(encoding="utf-8")).body):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name in known)
                continue
            base = package.split(".")[: len(package.split(".")) - node.level + 1]
            target = ".".join([*base, node.module] if node.module else base)
            if not node.level:
                target = node.module or ""
            found.update({target} & known.keys())
            found.update(f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in known)
        edges[name] = found - {name}
    return edges


def reach(edges: dict[str, set[str]], start: str) -> set[str]:
    """Every module *start* leads to, directly or not."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        for other in edges.get(todo.pop(), set()) - seen:
            seen.add(other)
            todo.append(other)
    return seen


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that lead back to themselves through one another."""
    reached = {node: reach(edges, node) for node in edges}
    groups = {
        frozenset({node} | {other for other in reached[node] if node in reached[other]})
        for node in edges
        if node in reached[node]
    }
    return sorted(sorted(group) for group in groups)


def test_the_graph_is_read() -> None:
    """The reader sees the imports that matter (else an empty graph would pass)."""
    edges = graph()
    assert "convguard._engine" in edges["convguard._guard"]
    assert "convguard.stores._store" in edges["convguard._guard"]
    assert "convguard._conversation" in edges["convguard._guard"]
    assert "convguard._records" not in edges["convguard._conversation"]  # a lazy import


def test_no_import_circle_in_src() -> None:
    assert circles(graph()) == []


def test_a_circle_is_found() -> None:
    """The check fails when there is one."""
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(edges) == [["a", "b", "c"]]


def test_no_module_is_longer_than_600_lines() -> None:
    """One idea per file: a module a newcomer can read top-down (issue 14)."""
    lengths = {
        name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in modules().items()
    }
    assert {name: n for name, n in lengths.items() if n > 600} == {}
    assert max(lengths.values()) > 300  # the files were read
