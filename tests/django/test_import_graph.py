"""The library's imports go one way: no cycle, even counting imports inside functions.

Every module of ``django_gearman`` (transport and management commands included) and
``serializers`` is parsed with ``ast``; each ``import`` anywhere in it (module level or inside a
function) is an edge, except imports under ``if TYPE_CHECKING:``, which never run. The one edge
allowed to point back is the job's deferred lookup of its client (as ``django.tasks``'
``Task.get_backend`` does).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.django.support import ROOT

PACKAGES = ("django_gearman", "serializers")
DEFERRED_CLIENT_LOOKUP = ("django_gearman.declaration", "django_gearman.client")


@dataclass(frozen=True)
class Edge:
    """``source`` imports ``target``; ``deferred`` when the import is inside a function."""

    source: str
    target: str
    deferred: bool


def module_files() -> dict[str, Path]:
    """Every library module by dotted name (a package by its own name, not ``__init__``)."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(node: ast.AST, deferred: bool) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement below ``node`` that runs, and whether it is inside a function."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child):
            for orelse in child.orelse:
                yield from _imports(orelse, deferred)
            continue
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child, deferred
        inside = deferred or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        yield from _imports(child, inside)


def _targets(
    module: str, is_package: bool, node: ast.Import | ast.ImportFrom, modules: set[str]
) -> Iterator[str]:
    """The library modules an import statement loads (a ``from`` import of a submodule too)."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name in modules:
                yield alias.name
        return
    if node.level:
        package = module if is_package else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{node.module}" if node.module else package
    else:
        base = node.module or ""
    if base in modules:
        yield base
    for alias in node.names:
        if f"{base}.{alias.name}" in modules:
            yield f"{base}.{alias.name}"


def import_edges() -> list[Edge]:
    files = module_files()
    names = set(files)
    edges: set[Edge] = set()
    for module, path in files.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        is_package = path.name == "__init__.py"
        for node, deferred in _imports(tree, False):
            for target in _targets(module, is_package, node, names):
                if target != module:
                    edges.add(Edge(module, target, deferred))
    return sorted(edges, key=lambda edge: (edge.source, edge.target, edge.deferred))


def find_cycle(edges: list[Edge]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or ``None``."""
    graph: dict[str, set[str]] = {}
    for edge in edges:
        graph.setdefault(edge.source, set()).add(edge.target)
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)) is not None:
                return cycle
        path.pop()
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)) is not None:
            return cycle
    return None


def test_the_graph_sees_module_and_function_level_imports() -> None:
    """The parser is not blind: it finds known edges of both kinds."""
    edges = import_edges()
    assert Edge("django_gearman.client", "django_gearman.declaration", False) in edges
    assert Edge("django_gearman.apps", "django_gearman.discovery", True) in edges
    assert find_cycle([Edge("a", "b", False), Edge("b", "c", True), Edge("c", "a", False)]) == [
        "a",
        "b",
        "c",
        "a",
    ]


def test_library_imports_have_no_cycle_except_the_deferred_client_lookup() -> None:
    edges = import_edges()
    source, target = DEFERRED_CLIENT_LOOKUP
    assert Edge(source, target, True) in edges, "the whitelisted edge is gone: drop it here"
    others = [edge for edge in edges if (edge.source, edge.target) != DEFERRED_CLIENT_LOOKUP]
    assert find_cycle(others) is None


def test_the_declaration_is_a_leaf_that_only_looks_up_its_client_when_submitting() -> None:
    declaration = [edge for edge in import_edges() if edge.source == "django_gearman.declaration"]
    targets = {edge.target for edge in declaration}
    assert "django_gearman.calls" not in targets
    assert [edge for edge in declaration if edge.target == "django_gearman.client"] == [
        Edge("django_gearman.declaration", "django_gearman.client", deferred=True)
    ]


def test_the_call_codec_never_imports_the_declaration() -> None:
    targets = {edge.target for edge in import_edges() if edge.source == "django_gearman.calls"}
    assert "django_gearman.declaration" not in targets
    assert "django_gearman.client" not in targets


def test_the_django_layer_imports_the_transport_only_through_its_package() -> None:
    """Renames inside ``django_gearman.protocol`` never ripple into the Django layer."""
    reaching_in = [
        edge
        for edge in import_edges()
        if not edge.source.startswith("django_gearman.protocol")
        and edge.target.startswith("django_gearman.protocol.")
    ]
    assert reaching_in == []
