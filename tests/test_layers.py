"""The production packages' import graph: no cycles, Chroma only in index/store.py, layers point down.

Every ``import`` counts, at module level or inside a function (a function-level import still
ties two modules together; it only hides the tie from a reader), ``TYPE_CHECKING`` blocks too.

The layers, as the code depends on them (lowest first):

    index      loading, chunking, embedding, the store, shared errors and settings
    assistant  retrieval, evidence and answers over the index
    insights   privacy labels, comparisons and version diffs (uses assistant's records,
               terms and practice model; the assistant gets change answers injected)
    ui, eval   the interfaces (CLI, HTTP API, Gradio pages) and the evaluation harness

A module imports only from its own layer's package or from layers below it. ui and eval sit side
by side and do not import each other, with two exceptions (``SIDEWAYS``): ``policychat eval`` is a
CLI command, so the CLI entry point ui.cli dispatches to eval.runner; and eval's scripts build the
application from ui.context, the composition root. Nothing else in eval imports ui.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = {"index": 0, "assistant": 1, "insights": 2, "ui": 3, "eval": 3}
PACKAGES = tuple(LAYERS)
# (importer, imported) pairs allowed across the ui/eval side-by-side boundary, and why.
SIDEWAYS = {("ui.cli", "eval.runner"): "the `policychat eval` command",
            ("eval", "ui.context"): "eval's scripts build the application context (the composition root)"}
CHROMA_HOME = "index.store"  # the one module that talks to Chroma


@dataclass(frozen=True)
class Import:
    source: str   # importing module, e.g. "ui.api"
    target: str   # imported module, e.g. "index.store" or "chromadb.errors"
    line: int


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def production_files(root: Path = ROOT) -> dict[str, Path]:
    """Module name → file, for every .py file of the production packages."""
    return {module_name(p, root): p for pkg in PACKAGES for p in sorted((root / pkg).rglob("*.py"))}


def imports_of(path: Path, module: str, known: set[str]) -> list[Import]:
    """Every import statement in the file (function bodies included), resolved to module names.

    ``from pkg import name`` names the submodule ``pkg.name`` when that is a module, else ``pkg``."""
    is_package = path.name == "__init__.py"
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.extend(Import(module, alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                package = module.split(".") if is_package else module.split(".")[:-1]
                package = package[:len(package) - (node.level - 1)]
                base = ".".join([*package, *([base] if base else [])])
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.append(Import(module, sub if sub in known else base, node.lineno))
    return found


def all_imports(root: Path = ROOT) -> list[Import]:
    files = production_files(root)
    known = set(files)
    return [imp for module, path in files.items() for imp in imports_of(path, module, known)]


def import_graph(imports: list[Import], known: set[str]) -> dict[str, set[str]]:
    """Edges between production modules (a module importing itself is dropped)."""
    graph: dict[str, set[str]] = {m: set() for m in known}
    for imp in imports:
        if imp.target in known and imp.target != imp.source:
            graph[imp.source].add(imp.target)
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Cycles (paths ending where they started): in each strongly connected group of modules,
    a shortest cycle through each member, each cycle once."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def connect(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1 or node in graph.get(node, ()):
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    cycles: list[list[str]] = []
    for group in sorted(groups):
        for start in group:
            cycle = cycle_in(graph, set(group), start)
            first = cycle.index(min(cycle))  # the same cycle from another member: skip it
            canonical = cycle[first:-1] + cycle[:first] + [cycle[first]]
            if canonical not in cycles:
                cycles.append(canonical)
    return cycles


def cycle_in(graph: dict[str, set[str]], group: set[str], start: str) -> list[str]:
    """A shortest cycle through ``start``, staying inside its group."""
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(graph.get(node, set()) & group):
                if nxt == start:
                    return paths[node] + [start]
                if nxt not in paths:
                    paths[nxt] = paths[node] + [nxt]
                    following.append(nxt)
        frontier = following
    raise AssertionError(f"no cycle in {sorted(group)}")


def layer_violations(imports: list[Import], known: set[str]) -> list[str]:
    """Imports that point up, or sideways between ui and eval."""
    bad = []
    for imp in imports:
        if imp.target not in known:
            continue
        src, dst = imp.source.split(".")[0], imp.target.split(".")[0]
        if src == dst or LAYERS[dst] < LAYERS[src]:
            continue
        if any(imp.target == dst_ok and (imp.source == src_ok or imp.source.startswith(src_ok + "."))
               for src_ok, dst_ok in SIDEWAYS):
            continue
        message = f"{imp.source}:{imp.line} imports {imp.target} ({src} may not import {dst})"
        if message not in bad:  # `from m import a, b` is one import of m
            bad.append(message)
    return bad


def chroma_outside_store(imports: list[Import]) -> list[str]:
    return [f"{imp.source}:{imp.line} imports {imp.target}" for imp in imports
            if (imp.target == "chromadb" or imp.target.startswith("chromadb.")) and imp.source != CHROMA_HOME]


# --- the checks -------------------------------------------------------------------------------
def test_the_production_import_graph_has_no_cycles():
    imports = all_imports()
    known = set(production_files())
    cycles = find_cycles(import_graph(imports, known))
    assert not cycles, "import cycles:\n" + "\n".join(" → ".join(c) for c in cycles)


def test_only_index_store_imports_chromadb():
    found = chroma_outside_store(all_imports())
    assert not found, "chromadb imported outside index/store.py:\n" + "\n".join(found)


def test_imports_point_down_the_layers():
    found = layer_violations(all_imports(), set(production_files()))
    assert not found, "imports against the layer order:\n" + "\n".join(found)


# --- the checker itself, on synthetic input (so the checks above can fail) ----------------------
def test_cycle_finder_finds_a_cycle_and_only_cycles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"a"}, "f": {"f"}}
    assert find_cycles(graph) == [["a", "b", "c", "a"], ["f", "f"]]
    assert find_cycles({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []


def test_cycle_finder_reports_a_shortest_cycle_through_each_module_of_a_group():
    graph = {"a": {"b", "x"}, "b": {"c"}, "c": {"a"}, "x": {"a"}}
    assert find_cycles(graph) == [["a", "x", "a"], ["a", "b", "c", "a"]]


def test_import_reader_sees_function_level_and_relative_imports(tmp_path):
    pkg = tmp_path / "ui"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "page.py").write_text("")
    (pkg / "api.py").write_text(
        "import os\n"
        "from . import page\n"
        "def handler():\n"
        "    from eval.runner import run\n"
        "    import chromadb.errors\n"
        "    return run\n")
    known = {"ui", "ui.page", "ui.api", "eval.runner", "index.store"}
    found = imports_of(pkg / "api.py", "ui.api", known)
    assert [(i.target, i.line) for i in found] == [("os", 1), ("ui.page", 2), ("eval.runner", 4),
                                                  ("chromadb.errors", 5)]
    assert layer_violations(found, known) == ["ui.api:4 imports eval.runner (ui may not import eval)"]
    assert chroma_outside_store(found) == ["ui.api:5 imports chromadb.errors"]
    up = [Import("index.store", "assistant.chat", 3), Import("ui.cli", "eval.runner", 9),
          Import("eval.runner", "ui.cli", 7)]
    assert layer_violations(up, {"index.store", "assistant.chat", "ui.cli", "eval.runner"}) == [
        "index.store:3 imports assistant.chat (index may not import assistant)",
        "eval.runner:7 imports ui.cli (eval may not import ui)"]
