"""The import graph reads one way: corpus → indexer → search / workbench → matching →
app wiring (viko: settings, runtime) → web → cli, and bench above all of it. A cycle between modules,
or an import against that flow (lazy imports inside functions included: they are how cycles
hide), fails here and names the offending arrow."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Repository folder → installed package (pyproject's package-dir).
FOLDERS = {"viko": "viko", "corpus": "viko.corpus", "indexer": "viko.indexer", "search": "viko.search",
           "workbench": "viko.workbench", "matching": "viko.matching", "web": "viko.web", "bench": "bench"}
# Lower layers never import higher ones; equal layers only within one package.
LAYERS = [
    ("viko.corpus", 1),
    ("viko.indexer", 2),
    ("viko.search", 3),
    ("viko.workbench", 3),
    ("viko.matching", 4),
    ("viko.web", 6),
    ("viko.cli", 7),
    ("bench", 8),
    ("viko", 5),  # app wiring: settings, runtime, status... (checked last: the prefixes above win)
]


def layer(module: str) -> tuple[int, str]:
    for prefix, rank in LAYERS:
        if module == prefix or module.startswith(prefix + ".") or (
                prefix == "viko.cli" and module.startswith("viko.cli_")):
            return rank, prefix
    raise AssertionError(f"{module} belongs to no layer")


def project_modules() -> dict[str, Path]:
    modules = {}
    for folder, package in FOLDERS.items():
        base = ROOT / folder
        for path in base.rglob("*.py"):
            parts = list(path.relative_to(base).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join([package, *parts])] = path
    return modules


def _type_only(tree: ast.Module) -> set[int]:
    """ids of import nodes under `if TYPE_CHECKING:` (annotations only, never run)."""
    nodes = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            nodes |= {id(n) for n in ast.walk(node)}
    return nodes


def imports_of(module: str, path: Path, known: set[str], *, runtime_only: bool = False) -> set[str]:
    found = set()
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_only(tree) if runtime_only else set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
                base = ".".join([*parent, base] if base else parent)
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        for name in names:
            # The deepest project module the name points into.
            parts = name.split(".")
            for i in range(len(parts), 0, -1):
                candidate = ".".join(parts[:i])
                if candidate in known:
                    if candidate != module:
                        found.add(candidate)
                    break
    return found


def graph(*, runtime_only: bool = False) -> dict[str, set[str]]:
    modules = project_modules()
    known = set(modules)
    return {m: imports_of(m, p, known, runtime_only=runtime_only) for m, p in modules.items()}


def test_no_import_against_the_flow() -> None:
    wrong = []
    for src, targets in graph().items():
        rank_src, pkg_src = layer(src)
        for dst in targets:
            rank_dst, pkg_dst = layer(dst)
            if dst in ("viko", pkg_src) or src == pkg_src:
                continue
            if rank_dst > rank_src or (rank_dst == rank_src and pkg_dst != pkg_src):
                wrong.append(f"{src} -> {dst}")
    assert not wrong, "imports against the flow:\n" + "\n".join(sorted(wrong))


def test_no_import_cycles() -> None:
    """Type-only imports (`if TYPE_CHECKING:`) are not part of a cycle: nothing runs them; they
    still count for the direction of the flow above."""
    edges = graph(runtime_only=True)
    # Package __init__ modules re-export their children; an edge into one is not a cycle.
    edges = {m: {d for d in ds if not m.startswith(d + ".")} for m, ds in edges.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
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
                cycles.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    assert not cycles, "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_the_check_sees_arrows() -> None:
    """Guard against a walker that finds nothing: the web app must import the settings."""
    edges = graph()
    assert "viko.settings" in edges["viko.web.app"]
    assert "viko.corpus.catalogue" in edges["viko.workbench.counterparts"]
    assert any(d.startswith("viko.corpus") for d in edges["viko.indexer.build"])
