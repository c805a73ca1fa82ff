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
    assert "viko.corpus.catalogue" in edges["viko.workbench.pairing"]
    assert any(d.startswith("viko.corpus") for d in edges["viko.indexer.build"])


STAGES = {"corpus", "indexer", "search", "workbench", "matching", "web"}
# Calls that take a module or package name as their first argument.
NAME_TAKERS = {"PackageLoader", "files", "import_module", "find_spec", "patch", "setattr",
               "resource_filename", "read_text", "open_text", "path", "Jinja2Templates"}


def bare_stage_references(source: str) -> list[str]:
    """Imports of a stage by its folder name (`import corpus`, `from search import x`) and
    resources looked up by one (`PackageLoader("matching", ...)`): they work only while the
    repository root is on sys.path, which it never is where users run viko."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names if a.name.split(".")[0] in STAGES]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            if node.module.split(".")[0] in STAGES:
                found.append(f"from {node.module} import ...")
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if name in NAME_TAKERS and isinstance(first, ast.Constant) and isinstance(first.value, str) \
                    and first.value.split(".")[0] in STAGES:
                found.append(f"{name}({first.value!r}, ...)")
    return found


def test_stages_are_reached_only_through_viko() -> None:
    paths = [p for folder in [*FOLDERS, "tests"] for p in (ROOT / folder).rglob("*.py")]
    assert len(paths) > 100
    wrong = [f"{p.relative_to(ROOT)}: {ref}" for p in paths
             for ref in bare_stage_references(p.read_text(encoding="utf-8"))]
    assert not wrong, "bare stage names (use viko.<stage>):\n" + "\n".join(wrong)


def test_the_bare_name_check_sees_them() -> None:
    assert bare_stage_references("import corpus.textnorm\nfrom search import engine\nimport viko.search\n") == [
        "import corpus.textnorm", "from search import ..."]
    assert bare_stage_references('env = Environment(loader=PackageLoader("matching", "templates"))') == [
        "PackageLoader('matching', ...)"]
    assert bare_stage_references('monkeypatch.setattr("viko.search.engine.X", 1)') == []


def test_the_repository_root_is_not_on_the_path() -> None:
    """Tests import what users run: the installed package (pyproject: --import-mode=importlib)."""
    import importlib.util
    import sys

    assert str(ROOT) not in [str(Path(p or ".").resolve()) for p in sys.path]
    assert all(importlib.util.find_spec(stage) is None for stage in STAGES)


MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def oversized(path: Path) -> list[str]:
    """A module over MAX_MODULE_LINES lines or a function over MAX_FUNCTION_LINES: split it by
    meaning (datasette's and Whoosh's modules read in one sitting)."""
    source = path.read_text(encoding="utf-8")
    found = []
    if (n := len(source.splitlines())) > MAX_MODULE_LINES:
        found.append(f"{n} lines")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > MAX_FUNCTION_LINES:
                found.append(f"{node.name}() {length} lines")
    return found


def test_modules_and_functions_stay_readable() -> None:
    paths = [p for folder in FOLDERS if folder != "bench" for p in (ROOT / folder).rglob("*.py")]
    wrong = [f"{p.relative_to(ROOT)}: {what}" for p in paths for what in oversized(p)]
    assert not wrong, "too long:\n" + "\n".join(wrong)


def test_the_size_check_sees_them(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    (tmp_path / "long.py").write_text(f"def f():\n{body}\n" + "\n" * MAX_MODULE_LINES, encoding="utf-8")
    assert oversized(tmp_path / "long.py") == [f"{MAX_MODULE_LINES + MAX_FUNCTION_LINES + 1} lines",
                                               f"f() {MAX_FUNCTION_LINES + 1} lines"]


def test_each_stage_names_its_public_api() -> None:
    """`viko.<stage>.__all__` lists the stage's API; each name resolves to what its module
    defines, and importing the stage loads none of its modules until a name is used."""
    import importlib
    import subprocess
    import sys

    for stage in sorted(STAGES):
        package = importlib.import_module(f"viko.{stage}")
        assert package.__all__, stage
        for name in package.__all__:
            value = getattr(package, name)
            home = next(m for m, names in package._API.items() if name in names)
            module = importlib.import_module(f"viko.{stage}.{home}")
            assert value is getattr(module, name), f"viko.{stage}.{name}"
    probe = ("import sys, viko.corpus, viko.indexer, viko.search, viko.workbench, viko.matching, viko.web;"
             "print(sorted(m for m in sys.modules if m.count('.') > 1 and m.startswith('viko.')))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert loaded.returncode == 0 and loaded.stdout.strip() == "[]", loaded.stdout + loaded.stderr
