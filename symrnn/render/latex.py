"""The LaTeX printer: SymPy's LatexPrinter, extended for the handouts' notation.

SymPy's matrix printing reorders sums, writes ``h \\circ h`` and
``\\operatorname{DiagMatrix}``; this subclass keeps terms in the order they
were built and prints ``\\odot``, ``\\operatorname{diag}``, ``\\mathbf{1}``,
``e_{y}`` and display names. Derivation objects print through the same
``_print_<Class>`` dispatch.
"""

from __future__ import annotations

import sympy as sp
from sympy import (
    DiagMatrix,
    HadamardProduct,
    Identity,
    KroneckerProduct,
    MatAdd,
    MatMul,
    OneMatrix,
)
from sympy.printing.latex import LatexPrinter

from symrnn.derive.adjoints import Layout
from symrnn.operations import algebra as al
from symrnn.operations.functions import function
from symrnn.operations.symbols import (
    Basis,
    Component,
    Concat,
    Elementwise,
    LogSoftmax,
    Selector,
    Softmax,
    Var,
)


def attach_superscript(name: str, sup: str) -> str:
    """Add ``sup`` to the superscript of a display name: ``x^{(t)}`` -> ``x^{(t)\\top}``.

    A name that does not end with a braced superscript gets a new one.

    Examples
    --------
    >>> attach_superscript("x^{(t)}", r"\\top"), attach_superscript("V", r"\\top")
    ('x^{(t)\\\\top}', 'V^{\\\\top}')
    """
    if name.endswith("}"):
        depth = 0
        for i in range(len(name) - 1, -1, -1):
            depth += {"}": 1, "{": -1}.get(name[i], 0)
            if depth == 0:
                if i > 0 and name[i - 1] == "^" and _top_level(name, i - 1):
                    return name[:-1] + sup + "}"
                break
    return f"{name}^{{{sup}}}"


def _top_level(name: str, pos: int) -> bool:
    depth = 0
    for ch in name[:pos]:
        depth += {"{": 1, "}": -1}.get(ch, 0)
    return depth == 0


_ATOMS = (Var, Basis, Softmax, LogSoftmax, Elementwise, DiagMatrix, Identity, OneMatrix, Component, Concat,
          Selector)


class SymRNNLatexPrinter(LatexPrinter):
    """LaTeX in the handouts' notation. Use :func:`latex` rather than this class."""

    printmethod = "_symrnn_latex"

    def __init__(self, settings=None):
        super().__init__(settings)
        self._in_kron = 0

    # -- atoms ----------------------------------------------------------------
    def _print_Var(self, expr):
        return expr.display

    def _print_Label(self, expr):
        return expr.name

    def _print_Identity(self, expr):
        return rf"I_{{{self._print(expr.rows)}}}" if self._in_kron else "I"

    def _print_OneMatrix(self, expr):
        return r"\mathbf{1}"

    def _print_Basis(self, expr):
        return rf"e_{{{self._print(expr.label)}}}"

    def _print_Component(self, expr):
        inner = self._print(expr.arg)
        if not isinstance(expr.arg, Var):
            inner = rf"\left({inner}\right)"
        return rf"{inner}_{{{self._print(expr.label)}}}"

    def _print_Elementwise(self, expr):
        return rf"{function(expr.fname).latex}({self._print(expr.arg)})"

    def _print_Softmax(self, expr):
        return rf"\operatorname{{softmax}}({self._print(expr.args[0])})"

    def _print_LogSoftmax(self, expr):
        return rf"\operatorname{{LS}}({self._print(expr.args[0])})"

    def _print_DiagMatrix(self, expr):
        return rf"\operatorname{{diag}}({self._print(expr.args[0])})"

    def _print_Concat(self, expr):
        return rf"\operatorname{{CONCAT}}({', '.join(self._print(a) for a in expr.args)})"

    def _print_Selector(self, expr, sep=r" \\ "):
        blocks = ["I" if j == expr.k else "0" for j in range(len(expr.sizes))]
        return r"\begin{bmatrix} " + sep.join(blocks) + r" \end{bmatrix}"

    def _print_SumOver(self, expr):
        from symrnn.operations.symbols import T

        arg = self._print(expr.arg)
        if isinstance(expr.arg, (MatAdd, HadamardProduct)):
            arg = f"({arg})"
        return rf"\sum_{{{self._print(T)}={self._print(expr.args[1])}}}^{{{self._print(expr.args[2])}}} {arg}"

    def _print_SquaredNorm(self, expr):
        arg = expr.arg
        if arg.shape == (1, 1):
            return f"({self._print(arg)})^{{2}}"
        return rf"\lVert {self._print(arg)} \rVert^{{2}}"

    # -- operators ------------------------------------------------------------
    def _print_Transpose(self, expr):
        arg = expr.arg
        if isinstance(arg, Selector):
            return self._print_Selector(arg, sep=" & ")
        if isinstance(arg, Var):
            return attach_superscript(arg.display, r"\top")
        inner = self._print(arg)
        if not isinstance(arg, _ATOMS):
            inner = f"({inner})"
        return rf"{inner}^{{\top}}"

    def _factor(self, f, alone: bool = False) -> str:
        s = self._print(f)
        wrap = (MatAdd, KroneckerProduct) if alone else (MatAdd, KroneckerProduct, HadamardProduct)
        return f"({s})" if isinstance(f, wrap) else s

    def _print_MatMul(self, expr):
        coeff, mats = expr.as_coeff_matrices()
        out = ""
        for i, f in enumerate(mats):
            sep = "" if i == 0 else (r"\," if isinstance(mats[i - 1], OneMatrix) else " ")
            out += sep + self._factor(f, alone=len(mats) == 1)
        if coeff == -1:
            return "-" + out
        if coeff != 1:
            return f"{self._print(coeff)} {out}"
        return out

    def _print_MatAdd(self, expr):
        out = ""
        for i, term in enumerate(expr.args):
            s = self._print(term)
            if i == 0:
                out = s
            elif s.startswith("-"):
                out += " - " + s[1:]
            else:
                out += " + " + s
        return out

    def _print_HadamardProduct(self, expr):
        return r" \odot ".join(
            f"({self._print(a)})" if isinstance(a, (MatAdd, MatMul)) else self._print(a) for a in expr.args
        )

    def _print_KroneckerProduct(self, expr):
        self._in_kron += 1
        try:
            return r" \otimes ".join(self._factor(a) for a in expr.args)
        finally:
            self._in_kron -= 1


def latex(expr, **settings) -> str:
    """LaTeX of a symbolic expression or derivation object, in the handout's notation.

    Examples
    --------
    >>> from symrnn.operations.symbols import Softmax, Var
    >>> from symrnn.operations import algebra as al
    >>> K = sp.Symbol("K"); l = Var("l", None, K, 1, "l")
    >>> latex(al.sub(sp.Identity(K), al.mul(al.ones(K), al.transpose(Softmax(l)))))
    'I - \\\\mathbf{1}\\\\,\\\\operatorname{softmax}(l)^{\\\\top}'
    """
    if isinstance(expr, (int, sp.Integer)) and expr == 1:
        return "I"
    if isinstance(expr, (int, sp.Integer)) and expr == -1:
        return "-I"
    return SymRNNLatexPrinter(settings).doprint(expr)


def model_latex(model) -> str:
    """The model's equations, one per line, in an ``aligned`` block."""
    from symrnn.graph.jacobians import symbolic
    from symrnn.model.declared import Kind

    lines = []
    for d in model.definitions:
        decl = model.var(d.target)
        lhs = decl.display(sp.Symbol("t") if decl.timed else None)
        rhs = latex(symbolic(model, d.expr))
        note = ""
        if decl.kind is Kind.STATE:
            init = model.var(decl.init).latex if decl.init else None
            note = rf", \quad t = {_range_text(decl.loop)}" + (rf", \ {init}\ \text{{given}}" if init else "")
        lines.append(f"{lhs} &= {rhs}{note}")
    return r"\begin{aligned}" + r" \\ ".join(lines) + r"\end{aligned}"


def _range_text(loop) -> str:
    return rf"{sp.latex(loop.start)}, \dots, {sp.latex(loop.stop)}"


# -- derivations -------------------------------------------------------------------
def _node(G, v) -> str:
    return G.nodes[v]["latex"]


def edge_d(G, u, v) -> str:
    """``D(u \\rightarrow v)``."""
    return rf"D({_node(G, u)} \rightarrow {_node(G, v)})"


def partial(num: str, den: str) -> str:
    return rf"\frac{{\partial {num}}}{{\partial {den}}}"


def times_text(times: list[int]) -> str:
    """``t = 1, 2, 3`` or ``t = 1, \\dots, 9`` for a run of consecutive steps."""
    times = sorted(times)
    if len(times) > 4 and times == list(range(times[0], times[-1] + 1)):
        return rf"t = {times[0]}, \dots, {times[-1]}"
    return "t = " + ", ".join(str(t) for t in times)


def _factor_latex(ps, f) -> str:
    G = ps.graph
    if f.kind in ("shared", "recurrence"):
        return f.name
    u, v = f.edges[0]
    if f.kind == "partial":
        return partial(_node(G, v), _node(G, u))
    return edge_d(G, u, v)


def pathsum_terms(ps) -> list[str]:
    """Each term of the path sum, as printed: loss side first, or transposed in denominator layout."""
    if ps.layout is Layout.DENOMINATOR:
        return [" ".join(_factor_latex(ps, f) if _scalar_factor(ps, f) else _transposed(_factor_latex(ps, f))
                         for f in reversed(term)) for term in ps.terms]
    return [" ".join(_factor_latex(ps, f) for f in term) for term in ps.terms]


def _is_number(model, node) -> bool:
    return model.var(node.name).shape == (1, 1)


def _scalar_factor(ps, f) -> bool:
    """A factor between two numbers (1 x 1): its transpose is itself."""
    return _is_number(ps.model, f.edges[0][1]) and _is_number(ps.model, f.edges[-1][0])


def _transposed(factor: str) -> str:
    if factor.startswith(r"\frac") or factor.startswith("D("):
        return rf"\left({factor}\right)^{{\top}}"
    return attach_superscript(factor, r"\top")


def pathsum_equation(ps) -> str:
    """The equation ``d loss / d wrt = sum of products`` (no alignment marks)."""
    return f"{partial(_node(ps.graph, ps.loss), _node(ps.graph, ps.wrt))} = " + " + ".join(pathsum_terms(ps))


def _shifted_template(G, u, v):
    """Edge template rewritten so that the source is at time ``t`` (for ``B^{t}``)."""
    from symrnn.graph.unroll import edge_template
    from symrnn.operations.symbols import T

    expr = edge_template(G, u, v)
    return expr if al.is_scalar(expr) else expr.xreplace({T: T + (v.t - u.t)})


def pathsum_where(ps) -> list[tuple[str, str]]:
    """The definitions that the equation uses, as ``(left, right)`` pairs, in order."""
    from symrnn.graph.jacobians import symbolic
    from symrnn.graph.unroll import edge_jacobian, edge_template
    from symrnn.model.declared import Kind
    from symrnn.operations.symbols import T, Var

    G, model = ps.graph, ps.model
    lines: list[tuple[str, str]] = []
    shown: list = []  # printed symbolic right-hand sides, to find the interims they use

    def show(expr) -> str:
        if ps.inline:
            from symrnn.graph.jacobians import expand_interims

            return latex(expand_interims(model, expr))
        shown.append(expr)
        return latex(expr)

    if ps.shared:
        lines.append(("A", " ".join(edge_d(G, u, v) for u, v in ps.shared.edges)))
    for state, letter in ps.families.items():
        used = [f for term in ps.terms for f in term
                if f.kind == "recurrence" and f.edges[0][0].name == state]
        if not used:
            continue
        u, v = used[0].edges[0]
        decl = model.var(state)
        d = rf"D({decl.display(T)} \rightarrow {decl.display(T + (v.t - u.t))})"
        times = sorted({f.edges[0][0].t for f in used})
        right = f"{d} = {show(_shifted_template(G, u, v))}, \\quad {times_text(times)}"
        lines.append((f"{letter}^{{t}}", right))
    edges: list = list(ps.shared.edges) if ps.shared else []
    for term in ps.terms:
        edges += [f.edges[0] for f in term if f.kind == "edge" and f.edges[0] not in edges]
    for u, v in edges:
        jac = edge_jacobian(G, u, v)
        number = al.is_scalar(jac) and _is_number(model, u) and _is_number(model, v)
        lines.append((edge_d(G, u, v), sp.latex(jac) if number else show(jac)))
    partials = []
    for term in ps.terms:
        if term[-1].edges[0] not in partials:
            partials.append(term[-1].edges[0])
    targets = {v.name for _, v in partials}
    refs = {G.edges[e]["refs"] for e in partials}
    if len(partials) > 1 and len(targets) == 1 and len(refs) == 1 and partials[0][1].t is not None:
        u, v = partials[0]
        decl = model.var(v.name)
        left = partial(decl.display(T), _node(G, u))
        d = rf"D({_node(G, u)} \rightarrow {decl.display(T)})"
        body = f"{d} = {show(edge_template(G, u, v))}"
        lines.append((left, rf"{body}, \quad {times_text([w.t for _, w in partials])}"))
    else:
        for u, v in partials:
            right = f"{edge_d(G, u, v)} = {show(edge_jacobian(G, u, v))}"
            lines.append((partial(_node(G, v), _node(G, u)), right))
    interims: list[str] = []
    for expr in shown:
        atoms = set() if al.is_scalar(expr) else expr.atoms(Var)
        for var in sorted(atoms, key=lambda a: a.display):
            if model.var(var.name).kind is Kind.INTERIM and var.name not in interims:
                interims.append(var.name)
    for name in interims:
        decl = model.var(name)
        left = decl.display(T) if decl.timed else decl.latex
        lines.append((left, latex(symbolic(model, model.definition(name).expr))))
    return lines


def pathsum_notes(ps) -> list[str]:
    """The statements that go with the formula (partials are local; vec convention)."""
    from symrnn.operations.symbols import T

    G, model = ps.graph, ps.model
    wrt = _node(G, ps.wrt)
    partials: list = []
    for term in ps.terms:
        if term[-1].edges[0] not in partials:
            partials.append(term[-1].edges[0])
    targets: list = []  # one entry per variable the partials differentiate, in order
    for _, v in partials:
        if v.name not in [t.name for t in targets]:
            targets.append(v)
    if len(partials) > 1:
        shown = [model.var(v.name).display(T) if v.t is not None else _node(G, v) for v in targets]
        which = "Each " + " and each ".join(f"${partial(s, wrt)}$" for s in shown) + " is"
        edge = " and ".join(rf"$D({wrt} \rightarrow {s})$" for s in shown)
        target = " and ".join(f"${s}$" for s in shown)
        target_plain = shown[0] if len(shown) == 1 else None
    else:
        u, v = partials[0]
        target_plain = _node(G, v)
        which = f"${partial(target_plain, wrt)}$ is"
        edge = f"${edge_d(G, u, v)}$"
        target = f"${target_plain}$"
    own = f"${target_plain}$" if target_plain else "that variable"
    notes = [
        f"{which} the local Jacobian of its edge, {edge}: the derivative of the equation of "
        f"{target} in ${wrt}$ with the other arguments of {own} held fixed, not a total derivative.",
        r"Jacobians are in numerator layout: $D(a \rightarrow b)$ has a row for each component of $b$ "
        r"and a column for each component of $a$.",
    ]
    if ps.layout is Layout.DENOMINATOR:
        notes.append(
            f"Denominator layout: ${partial(_node(G, ps.loss), wrt)}$ is a column, the transpose of the "
            "numerator-layout row, so each product is transposed and read from the variable up to the loss."
        )
    rows, cols = G.graph["model"].var(ps.wrt.name).shape
    if cols != 1:
        notes.append(
            f"${wrt}$ is ${latex(rows)} \\times {latex(cols)}$; Jacobians with respect to it use the vec "
            f"convention: $\\operatorname{{vec}}({wrt})$ stacks its columns, so that "
            f"${wrt} u = (u^{{\\top}} \\otimes I_{{{latex(rows)}}}) \\operatorname{{vec}}({wrt})$ "
            f"and ${partial(_node(G, ps.loss), wrt)}$ is a row of ${latex(rows * cols)}$ entries."
        )
    return notes


def _grouped_sum(ps) -> str:
    """The sum with the terms that end in the same partial factored: ``(P_1 + P_2) \\frac{...}``."""
    terms = pathsum_terms(ps)
    den = ps.layout is Layout.DENOMINATOR
    blocks = []
    for factor, members in ps.groups:
        shown = _factor_latex(ps, factor)
        if den and not _scalar_factor(ps, factor):
            shown = _transposed(shown)
        rests = []
        for k in members:
            rest = [f for f in ps.terms[k][:-1]]
            if den:
                rest = [_factor_latex(ps, f) if _scalar_factor(ps, f) else _transposed(_factor_latex(ps, f))
                        for f in reversed(rest)]
            else:
                rest = [_factor_latex(ps, f) for f in rest]
            rests.append(" ".join(rest) or "I")
        if len(members) == 1:
            blocks.append(terms[members[0]])
            continue
        inner = (r" \\" + "\n" + r"  &\qquad + ").join(rests)
        blocks.append(rf"{shown} \Big({inner}\Big)" if den else rf"\Big({inner}\Big) {shown}")
    return (r" \\" + "\n" + r"  &\quad + ").join(blocks)


def pathsum_latex(ps) -> str:
    """The whole derivation: the equation, its definitions, and its statements."""
    terms = pathsum_terms(ps)
    if ps.grouped:
        body = _grouped_sum(ps)
    else:
        body = (r" \\" + "\n" + r"  &\quad + " if len(terms) > 3 else " + ").join(terms)
    lhs = partial(_node(ps.graph, ps.loss), _node(ps.graph, ps.wrt))
    out = [r"\begin{align*}", f"  {lhs} &= {body}", r"\end{align*}", "where", r"\begin{align*}"]
    where = pathsum_where(ps)
    out.append((r" \\" + "\n").join(f"  {left} &= {right}" for left, right in where))
    out.append(r"\end{align*}")
    notes = pathsum_notes(ps)
    if ps.grouped:
        notes.insert(0, f"The {len(terms)} paths are grouped by the step at which they leave "
                        f"${_node(ps.graph, ps.wrt)}$: each bracket sums the paths that share that first edge.")
    return "\n".join(out) + "\n\n" + "\n\n".join(notes)


SymRNNLatexPrinter._print_PathSum = lambda self, ps: pathsum_latex(ps)

# The factored forms print through the same printer; their module registers itself.
from symrnn.render import factored as _factored  # noqa: E402, F401
