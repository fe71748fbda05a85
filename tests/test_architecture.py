"""The shape of the source, read with `ast`: imports flow one way, files stay small, SQL stays in
repositories, settings come from the runtime the code is given.

Every failure lists its offenders (file, line, what), so it says what to move.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
MAX_LINES = 500

# Modules and folders (relative to src/) that may run SQL although they are not a repository module.
EXECUTE_ALLOWED = {
    # Infrastructure that owns its SQL: migrations, pagination and CRUD builders, the pool.
    "revos/db/": "the database layer itself",
    # The job queue's schema, deferral and maintenance run on Procrastinate's own tables.
    "revos/queue/": "the job queue's own tables",
    # The simulator has no database; its `execute`s (if any) are not SQL.
    "revos/sim/": "no database: not SQL",
    # The vault's data keys live behind the revos_*_data_key functions of its own migration.
    "revos/security/vault.py": "the key store is infrastructure, like revos.db",
    # The demo measures the whole funnel against the simulator's ground truth: read-only queries
    # across every domain's tables, never part of the engine.
    "revos/demo/funnel.py": "read-only measurement across domains",
}

# Entry points: the only places that may read the process's settings themselves.
GET_SETTINGS_ALLOWED = (
    "revos/config.py",  # defines it
    "revos/cli/",  # the command line
    "revos/app.py",  # the app factory (`revos serve`)
    "revos/queue/app.py",  # the queue's connector and settings outside a worker
    "revos/queue/worker.py",  # the worker's start
    "revos/demo/",  # the demo drives a whole deployment
)


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    tree: ast.Module

    @property
    def rel(self) -> str:
        return self.path.relative_to(SRC).as_posix()

    @property
    def is_package(self) -> bool:
        return self.path.name == "__init__.py"


@cache
def modules() -> dict[str, Module]:
    found: dict[str, Module] = {}
    for path in sorted(SRC.rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        name = ".".join(parts)
        found[name] = Module(name, path, ast.parse(path.read_text(encoding="utf-8"), str(path)))
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(node: ast.AST) -> Iterator[ast.AST]:
    """Every node, imports inside functions included, except the body of `if TYPE_CHECKING:`."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                yield other
                yield from _walk(other)
            continue
        yield child
        yield from _walk(child)


def _targets(module: Module, node: ast.Import | ast.ImportFrom) -> list[str]:
    known = modules()
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = module.name.split(".") if module.is_package else module.name.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join(package + ([base] if base else []))
    # `from pkg import sub` imports the module pkg.sub; `from mod import name` imports mod.
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    where: str  # path:line

    def __str__(self) -> str:
        return f"{self.source} -> {self.target}  ({self.where})"


@cache
def import_edges() -> tuple[Edge, ...]:
    """Module-to-module imports within src/, with where each is written."""
    known = modules()
    edges: list[Edge] = []
    for module in known.values():
        for node in _walk(module.tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for target in _targets(module, node):
                # `import revos.x.y` names a module; a name that is not one belongs to its package.
                while target and target not in known:
                    target = target.rpartition(".")[0]
                if target and target != module.name:
                    edges.append(Edge(module.name, target, f"{module.rel}:{node.lineno}"))
    return tuple(edges)


def _cycles(edges: list[Edge]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan), each sorted."""
    graph: dict[str, set[str]] = defaultdict(set)
    for e in edges:
        graph[e.source].add(e.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _describe(cycles: list[list[str]], edges: list[Edge]) -> str:
    lines = []
    for component in cycles:
        members = set(component)
        lines.append(f"circle of {len(component)}: {', '.join(component)}; its imports:")
        inside = sorted({str(e) for e in edges if e.source in members and e.target in members})
        lines += [f"    {e}" for e in inside]
    return "\n".join(lines)


def _package(module: str) -> str:
    return ".".join(module.split(".")[:2])


def _revos(edges: tuple[Edge, ...]) -> list[Edge]:
    return [e for e in edges if e.source.startswith("revos") and e.target.startswith("revos")]


def test_no_import_circle_between_modules() -> None:
    edges = _revos(import_edges())
    cycles = _cycles(edges)
    assert not cycles, "modules importing each other in a circle (break one import of each):\n" + _describe(
        cycles, edges
    )


def test_no_import_circle_between_top_level_packages() -> None:
    edges = [
        Edge(_package(e.source), _package(e.target), f"{e.where} {e.source} -> {e.target}")
        for e in _revos(import_edges())
        if _package(e.source) != _package(e.target)
    ]
    cycles = _cycles(edges)
    assert not cycles, "packages importing each other in a circle:\n" + _describe(cycles, edges)


def test_no_source_file_over_the_limit() -> None:
    sizes = {m.rel: len(m.path.read_text(encoding="utf-8").splitlines()) for m in modules().values()}
    long = sorted((rel, n) for rel, n in sizes.items() if n > MAX_LINES)
    assert not long, f"files over {MAX_LINES} lines (split them):\n" + "\n".join(
        f"    {rel}: {n} lines" for rel, n in long
    )


def _calls(module: Module, name: str) -> Iterator[int]:
    for node in ast.walk(module.tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        called = (
            func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        )
        if called == name:
            yield node.lineno


def _is_repo(path: Path) -> bool:
    return path.name == "repo.py" or path.name.endswith("_repo.py")


def _allowed(rel: str, allowed: Iterable[str]) -> bool:
    """`rel` is listed, or lies in a listed folder (an entry ending in /)."""
    return any(rel == entry or (entry.endswith("/") and rel.startswith(entry)) for entry in allowed)


def _by_file(places: Iterable[tuple[str, int]]) -> str:
    lines: dict[str, list[int]] = defaultdict(list)
    for rel, line in places:
        lines[rel].append(line)
    return "\n".join(f"    {rel}: line {', '.join(map(str, sorted(n)))}" for rel, n in sorted(lines.items()))


def test_sql_runs_only_in_repositories() -> None:
    offenders = [
        (m.rel, line)
        for m in modules().values()
        if not _is_repo(m.path) and not _allowed(m.rel, EXECUTE_ALLOWED)
        for name in ("execute", "executemany")
        for line in _calls(m, name)
    ]
    assert not offenders, (
        "SQL outside a repository module (move it to the domain's repo.py, or *_repo.py beside it):\n"
        + _by_file(offenders)
    )


def test_settings_are_read_only_by_entry_points() -> None:
    offenders = [
        (m.rel, line)
        for m in modules().values()
        if not _allowed(m.rel, GET_SETTINGS_ALLOWED)
        for line in _calls(m, "get_settings")
    ]
    assert not offenders, (
        "get_settings() outside an entry point (use the runtime's or the settings passed in):\n"
        + _by_file(offenders)
    )
