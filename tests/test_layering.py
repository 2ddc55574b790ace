"""The package's layering, enforced from its import graph (read with ``ast``; nothing is imported).

Stages, lowest first; a module may import from its own stage and from lower stages only:

    0    symrnn.errors
    1    symrnn.operations   the operations of the model language (knows nothing of models)
    2    symrnn.model        declared model, builder, .rnn reader
    2.5  symrnn.zoo          builds models with the builder API only (above model, below graph)
    3    symrnn.graph
    4    symrnn.paths
    5    symrnn.derive
    6    symrnn.render, symrnn.numeric   siblings: neither may import the other
    7    symrnn.codegen      (may import render and numeric)
    7    symrnn.flow         gradient flow: measured with numeric, drawn with matplotlib
    8    symrnn.report       solution sheets (may import flow)
    8    symrnn.grade        checking a hand-written answer (draws its points as flow does)
    9    symrnn.cli and the package root symrnn/__init__.py (may import anything)

Module-level imports (including those in class bodies and top-level ``if``/``try`` blocks) must
respect the stages and must not form cycles. Imports inside functions (lazy imports) may go down
or stay within a stage freely; one that goes up (or between render and numeric) needs an entry in
ALLOWED_LAZY, and an entry that no longer matches such an import fails too. Imports under
``if TYPE_CHECKING:`` do not count.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

import networkx as nx

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "symrnn"

# Stage of each top-level part of the package ("" is the package root, symrnn/__init__.py).
STAGES: dict[str, float] = {
    "errors": 0,
    "version": 0,
    "operations": 1,
    "model": 2,
    "zoo": 2.5,
    "graph": 3,
    "paths": 4,
    "derive": 5,
    "render": 6,
    "numeric": 6,
    "codegen": 7,
    "flow": 7,
    "report": 8,
    "grade": 8,
    "cli": 9,
    "": 9,
}

# Same stage, but neither may import the other.
SIBLINGS = frozenset({"render", "numeric"})

# Lazy (in-function) imports that go up a stage, allowed one by one: (importer, imported).
ALLOWED_LAZY: frozenset[tuple[str, str]] = frozenset({
    # Model.__str__ prints the model through the text printer.
    ("symrnn.model.declared", "symrnn.render.text"),
    # Model._repr_latex_ prints the model through the LaTeX printer.
    ("symrnn.model.declared", "symrnn.render.latex"),
    # PathSum.__str__ / _repr_latex_ print the sum through the LaTeX printer.
    ("symrnn.derive.pathsum", "symrnn.render.latex"),
    # Recursion.__str__ / ClosedForm.__str__ print through the factored-form printer.
    ("symrnn.derive.adjoints", "symrnn.render.latex"),
})


class Edge(NamedTuple):
    importer: str
    imported: str
    where: str = ""  # "path:line", plus "in <function>" for a lazy import


# --------------------------------------------------------------------------- reading the imports


def module_names(package_dir: Path) -> dict[str, Path]:
    """Dotted module name of every .py file under ``package_dir`` (a package __init__ is the package)."""
    root = package_dir.name
    names = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = [root, *path.relative_to(package_dir).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported_modules(node: ast.Import | ast.ImportFrom, module: str, is_package: bool,
                      known: Iterable[str]) -> list[str]:
    """The modules of the package that one import statement imports (relative imports resolved;
    ``from pkg import name`` with ``name`` a submodule imports that submodule)."""
    root = module.split(".")[0]
    if isinstance(node, ast.Import):
        targets = [alias.name for alias in node.names]
    else:
        if node.level:
            package = module.split(".") if is_package else module.split(".")[:-1]
            package = package[: len(package) - (node.level - 1)]
            base = ".".join([*package, *([node.module] if node.module else [])])
        else:
            base = node.module or ""
        targets = []
        for alias in node.names:
            sub = f"{base}.{alias.name}"
            targets.append(sub if sub in known else base)
    return [t for t in dict.fromkeys(targets) if t == root or t.startswith(root + ".")]


def _scan(nodes: Iterable[ast.AST], scope: tuple[str, ...], in_function: bool, found: list) -> None:
    """Append ``(import statement, enclosing scope, whether inside a function)`` for each import
    in or under ``nodes``, skipping the body of ``if TYPE_CHECKING:``."""
    for node in nodes:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append((node, scope, in_function))
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            _scan(node.orelse, scope, in_function, found)  # only the else branch runs
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            _scan(ast.iter_child_nodes(node), (*scope, getattr(node, "name", "<lambda>")), True, found)
        elif isinstance(node, ast.ClassDef):
            _scan(ast.iter_child_nodes(node), (*scope, node.name), in_function, found)
        else:
            _scan(ast.iter_child_nodes(node), scope, in_function, found)


def collect_imports(package_dir: Path = PACKAGE_DIR) -> tuple[set[str], list[Edge], list[Edge]]:
    """All modules of the package, its module-level import edges and its lazy (in-function) ones."""
    modules = module_names(package_dir)
    top_edges: list[Edge] = []
    lazy_edges: list[Edge] = []
    for module, path in modules.items():
        rel = path.relative_to(package_dir.parent).as_posix()
        found: list = []
        _scan([ast.parse(path.read_text(encoding="utf-8"), filename=str(path))], (), False, found)
        for stmt, scope, in_function in found:
            for target in _imported_modules(stmt, module, path.name == "__init__.py", modules):
                if target == module:
                    continue
                if in_function:
                    lazy_edges.append(Edge(module, target, f"{rel}:{stmt.lineno} in {'.'.join(scope)}"))
                else:
                    top_edges.append(Edge(module, target, f"{rel}:{stmt.lineno}"))
    return set(modules), top_edges, lazy_edges


# --------------------------------------------------------------------------- the checker


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def stage(module: str) -> float | None:
    return STAGES.get(_part(module))


def _fmt(s: float | None) -> str:
    return "?" if s is None else f"{s:g}"


def breaks_layering(importer: str, imported: str) -> str | None:
    """Why importing ``imported`` from ``importer`` breaks the stages, or None when it does not."""
    a, b = stage(importer), stage(imported)
    if a is None or b is None:
        return None  # reported separately as a module without a stage
    if b > a:
        return "upward"
    if {_part(importer), _part(imported)} == SIBLINGS:
        return "render/numeric siblings"
    return None


def _describe(edge: Edge, why: str) -> str:
    a, b = _fmt(stage(edge.importer)), _fmt(stage(edge.imported))
    where = f"  [{edge.where}]" if edge.where else ""
    return f"{edge.importer} -> {edge.imported} (stage {a} -> stage {b}; {why}){where}"


def find_violations(edges: Iterable[Edge], lazy_edges: Iterable[Edge] = (),
                    allowed_lazy: Iterable[tuple[str, str]] = frozenset(),
                    modules: Iterable[str] = ()) -> list[str]:
    """Every layering problem in an import graph, one line each (empty when the layering holds)."""
    edges, lazy_edges, allowed_lazy = list(edges), list(lazy_edges), set(allowed_lazy)
    problems: list[str] = []

    everything = set(modules) | {m for e in [*edges, *lazy_edges] for m in (e.importer, e.imported)}
    for module in sorted(everything):
        if stage(module) is None:
            problems.append(f"no stage: {module} (add its part of the package to STAGES)")

    for edge in edges:
        why = breaks_layering(edge.importer, edge.imported)
        if why:
            problems.append("module-level import: " + _describe(edge, why))

    graph = nx.DiGraph()
    graph.add_nodes_from(everything)
    for edge in edges:
        if edge.importer != edge.imported:
            graph.add_edge(edge.importer, edge.imported, where=edge.where)
    for scc in sorted(sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1):
        cycles = sorted(nx.simple_cycles(graph.subgraph(scc)), key=lambda c: (len(c), c))
        lines = []
        for cycle in cycles[:20]:
            start = cycle.index(min(cycle))
            cycle = cycle[start:] + cycle[:start]
            pairs = zip(cycle, cycle[1:] + cycle[:1], strict=True)
            hops = [f"{u} -> {v} [{graph.edges[u, v]['where']}]" for u, v in pairs]
            lines.append("      " + ", ".join(hops))
        if len(cycles) > 20:
            lines.append(f"      ... and {len(cycles) - 20} more cycles")
        problems.append(f"import cycle among {', '.join(scc)}:\n" + "\n".join(lines))

    needing_entry = set()
    for edge in lazy_edges:
        why = breaks_layering(edge.importer, edge.imported)
        if why:
            needing_entry.add((edge.importer, edge.imported))
            if (edge.importer, edge.imported) not in allowed_lazy:
                problems.append("lazy import not in ALLOWED_LAZY: " + _describe(edge, why))
    for importer, imported in sorted(allowed_lazy - needing_entry):
        problems.append(f"stale ALLOWED_LAZY entry: ({importer!r}, {imported!r}) matches no lazy import "
                        "that needs it; remove it")
    return problems


# --------------------------------------------------------------------------- the tests


def test_layering():
    modules, edges, lazy_edges = collect_imports()
    assert "symrnn.errors" in modules and edges, "found no modules or no imports: is PACKAGE_DIR right?"
    problems = find_violations(edges, lazy_edges, ALLOWED_LAZY, modules)
    assert not problems, "the package's layering is broken:\n  " + "\n  ".join(problems)


def test_checker_reports_cycle_and_upward_import():
    edges = [
        Edge("symrnn.graph.node", "symrnn.derive.pathsum", "symrnn/graph/node.py:1"),  # 3 -> 5
        Edge("symrnn.derive.pathsum", "symrnn.derive.adjoints", "symrnn/derive/pathsum.py:2"),
        Edge("symrnn.derive.adjoints", "symrnn.derive.pathsum", "symrnn/derive/adjoints.py:3"),
        Edge("symrnn.numeric.engine", "symrnn.render.latex", "symrnn/numeric/engine.py:4"),
        Edge("symrnn.codegen.module", "symrnn.render.latex", "symrnn/codegen/module.py:5"),  # fine
    ]
    lazy = [
        Edge("symrnn.model.declared", "symrnn.render.text", "symrnn/model/declared.py:6 in Model.__str__"),
        Edge("symrnn.operations.algebra", "symrnn.graph.node", "symrnn/operations/algebra.py:7 in f"),
        Edge("symrnn.render.latex", "symrnn.graph.unroll", "symrnn/render/latex.py:8 in g"),  # down: fine
    ]
    allowed = {("symrnn.model.declared", "symrnn.render.text"), ("symrnn.paths", "symrnn.derive")}
    problems = find_violations(edges, lazy, allowed)
    report = "\n".join(problems)

    assert ("symrnn.graph.node -> symrnn.derive.pathsum (stage 3 -> stage 5; upward)  "
            "[symrnn/graph/node.py:1]") in report
    assert "symrnn.numeric.engine -> symrnn.render.latex (stage 6 -> stage 6; render/numeric siblings)" in report
    assert "import cycle among symrnn.derive.adjoints, symrnn.derive.pathsum" in report
    assert "lazy import not in ALLOWED_LAZY: symrnn.operations.algebra -> symrnn.graph.node" in report
    assert "stale ALLOWED_LAZY entry: ('symrnn.paths', 'symrnn.derive')" in report
    assert "codegen" not in report and "declared" not in report and "render.latex -> symrnn.graph" not in report
    assert len(problems) == 5, report
    assert find_violations(edges[1:2] + edges[4:], lazy[:1], allowed - {("symrnn.paths", "symrnn.derive")}) == []


def test_collector_reads_relative_lazy_and_type_checking_imports(tmp_path):
    pkg = tmp_path / "symrnn"
    (pkg / "render").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "errors.py").write_text("")
    (pkg / "render" / "__init__.py").write_text("from . import latex\n")
    (pkg / "render" / "latex.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "from ..errors import X\n"
        "if TYPE_CHECKING:\n"
        "    from symrnn import cli\n"
        "class P:\n"
        "    def __str__(self):\n"
        "        import symrnn.cli\n"
    )
    (pkg / "cli.py").write_text("from symrnn import render\nfrom symrnn.render import latex, Printer\n")

    modules, edges, lazy = collect_imports(pkg)
    assert modules == {"symrnn", "symrnn.errors", "symrnn.render", "symrnn.render.latex", "symrnn.cli"}
    assert {(e.importer, e.imported) for e in edges} == {
        ("symrnn.render", "symrnn.render.latex"),
        ("symrnn.render.latex", "symrnn.errors"),
        ("symrnn.cli", "symrnn.render"),
        ("symrnn.cli", "symrnn.render.latex"),
    }
    assert lazy == [Edge("symrnn.render.latex", "symrnn.cli", "symrnn/render/latex.py:7 in P.__str__")]
