"""The LaTeX printer: SymPy's LatexPrinter, extended for the handouts' notation.

SymPy's matrix printing reorders sums, writes ``h \\circ h`` and
``\\operatorname{DiagMatrix}``; this subclass keeps terms in the order they
were built and prints ``\\odot``, ``\\operatorname{diag}``, ``\\mathbf{1}``,
``e_{y}`` and display names. Derivation objects print through the same
``_print_<Class>`` dispatch.
"""

from __future__ import annotations

import re

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

from symrnn.derive import adjoints
from symrnn.derive.equations import Layout
from symrnn.derive.pathsum import FactorKind
from symrnn.graph.jacobians import symbolic
from symrnn.model.declared import Kind, entry
from symrnn.operations.functions import function
from symrnn.operations.primitives import subscripted
from symrnn.operations.symbols import (
    Basis,
    Component,
    Concat,
    Elementwise,
    IndexSum,
    LogSoftmax,
    Selector,
    Softmax,
    T,
    TotalDerivative,
    Var,
    at_time_index,
)


def attach_superscript(name: str, sup: str) -> str:
    """Add ``sup`` to the superscript of a display name: ``x^{(t)}`` -> ``x^{(t)\\top}``.

    A name that does not end with a braced superscript gets a new one.

    Examples
    --------
    >>> attach_superscript("x^{(t)}", r"\\top"), attach_superscript("V", r"\\top")
    ('x^{(t)\\\\top}', 'V^{\\\\top}')
    >>> attach_superscript("h^{1}_{t}", r"\\top")  # a superscript written first: the name braced
    '{h^{1}_{t}}^{\\\\top}'
    """
    if name.endswith("}"):
        depth = 0
        for i in range(len(name) - 1, -1, -1):
            depth += {"}": 1, "{": -1}.get(name[i], 0)
            if depth == 0:
                if i > 0 and name[i - 1] == "^" and _top_level(name, i - 1):
                    return name[:-1] + sup + "}"
                break
    if any(ch == "^" and _top_level(name, k) for k, ch in enumerate(name)):  # h^{1}_{t}: superscript first
        return f"{{{name}}}^{{{sup}}}"
    return f"{name}^{{{sup}}}"


def _top_level(name: str, pos: int) -> bool:
    depth = 0
    for ch in name[:pos]:
        depth += {"{": 1, "}": -1}.get(ch, 0)
    return depth == 0


#: Beyond this many characters an equation is not given to breqn, which fails on it ("Dimension
#: too large": a GRU's path sum in h_0 at n = 3, 11,653 characters; 9,769 compiled): the path sum
#: is then written a term per line in ``align*``, as on the terminal.
BREQN_MAX_CHARS = 8000
#: In such a path sum, a product of more factors than this goes on over several lines.
FACTORS_PER_LINE = 4

_ATOMS = (Var, Basis, Softmax, LogSoftmax, Elementwise, DiagMatrix, Identity, OneMatrix, Component, Concat,
          Selector)


def _weighted_identity(f) -> bool:
    """Whether ``f`` is a weight times the identity, ``\\alpha_{s,t} \\otimes I`` (attention's context in
    numerator layout): printed as the weight."""
    return isinstance(f, KroneckerProduct) and len(f.args) == 2 and isinstance(f.args[0], Component) \
        and at_time_index(f.args[0].label) and isinstance(f.args[1], Identity)


class SymRNNLatexPrinter(LatexPrinter):
    """LaTeX in the handouts' notation. Use :func:`latex` rather than this class."""

    printmethod = "_symrnn_latex"
    #: ``breaking``: derivations as breqn's ``dmath*`` (one per equation, in a ``dgroup*``), which
    #: breaks long sums and products across lines itself (the documents); ``align*`` otherwise.
    _default_settings = {**LatexPrinter._default_settings, "breaking": False}

    def __init__(self, settings=None):
        super().__init__(settings)
        self._in_kron = 0
        self._chunked = False  # a document's path sum too long for breqn: products split over lines

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
        if at_time_index(expr.label):  # at a time index: bold, apart from a variable named e
            return rf"\mathbf{{e}}_{{{time_latex(expr.label)}}}"
        return rf"e_{{{self._print(expr.label)}}}"

    def _print_Component(self, expr):
        if type(expr.arg) is TotalDerivative and at_time_index(expr.label):  # \frac{\partial L}{\partial e_{t, j}}
            found = re.fullmatch(r"(\\frac\{.*\}\{\\partial )(.*)\}", expr.arg.display)
            if found:
                return found.group(1) + subscripted(found.group(2), time_latex(expr.label)) + "}"
        inner = self._print(expr.arg)
        if not isinstance(expr.arg, Var):
            inner = rf"\left({inner}\right)"
        return subscripted(inner, time_latex(expr.label) if at_time_index(expr.label) else self._print(expr.label))

    def _bracket(self, inner: str) -> str:
        """``(inner)``; in a typeset document, ``\\Bigl( \\Bigr)`` around a fraction, so that the
        brackets are as tall as a displayed ``\\frac`` (breqn breaks lines inside them, which it
        does not do inside ``\\left( \\right)``)."""
        if self._settings["breaking"] and r"\frac" in inner:
            return rf"\Bigl({inner}\Bigr)"
        return f"({inner})"

    def _print_Elementwise(self, expr):
        fn = function(expr.fname)
        if fn.form is not None:
            return fn.form.format(self._print(expr.arg))
        return fn.latex + self._bracket(self._print(expr.arg))

    def _print_Softmax(self, expr):
        return r"\operatorname{softmax}" + self._bracket(self._print(expr.args[0]))

    def _print_LogSoftmax(self, expr):
        return r"\operatorname{LS}" + self._bracket(self._print(expr.args[0]))

    def _print_DiagMatrix(self, expr):
        return r"\operatorname{diag}" + self._bracket(self._print(expr.args[0]))

    def _print_Concat(self, expr):
        return rf"\operatorname{{CONCAT}}({', '.join(self._print(a) for a in expr.args)})"

    def _print_Selector(self, expr, sep=r" \\ "):
        blocks = ["I" if j == expr.k else "0" for j in range(len(expr.sizes))]
        return r"\begin{bmatrix} " + sep.join(blocks) + r" \end{bmatrix}"

    def _print_IndexSum(self, expr):
        arg = self._print(expr.arg)
        if isinstance(expr.arg, (MatAdd, HadamardProduct)):
            arg = self._bracket(arg)
        low, high = expr.bounds
        return rf"\sum_{{{self._print(expr.index)}={self._print(low)}}}^{{{self._print(high)}}} {arg}"

    def _print_SumOver(self, expr):
        return self._print_IndexSum(IndexSum(expr.arg, T, expr.args[1], expr.args[2]))

    def _print_SquaredNorm(self, expr):
        arg = expr.arg
        if arg.shape == (1, 1):
            return self._bracket(self._print(arg)) + "^{2}"
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
            inner = self._bracket(inner)
        return rf"{inner}^{{\top}}"

    def _factor(self, f, alone: bool = False) -> str:
        s = self._print(f)
        wrap = (MatAdd, KroneckerProduct) if alone else (MatAdd, KroneckerProduct, HadamardProduct)
        return self._bracket(s) if isinstance(f, wrap) else s

    def _print_MatMul(self, expr):
        coeff, mats = expr.as_coeff_matrices()
        return self._product(coeff, mats)

    def _over(self, mats) -> tuple[list, str]:
        """The 1 x 1 divisors of a product (``\\frac{1}{\\sigma}``), written as one denominator with
        repeats as powers (``(\\sigma^{t})^{2}``), and the other factors; ``""`` when it has none."""
        divisors = [f.arg for f in mats if isinstance(f, Elementwise) and f.fname == "reciprocal"
                    and f.shape == (1, 1)]
        if not divisors:
            return mats, ""
        rest = [f for f in mats if not (isinstance(f, Elementwise) and f.fname == "reciprocal" and f.shape == (1, 1))]
        parts = []
        for d in dict.fromkeys(divisors):
            k = divisors.count(d)
            shown = self._print(d)
            if k > 1:
                shown = (shown if isinstance(d, Var) and "^" not in shown else self._bracket(shown)) + f"^{{{k}}}"
            parts.append(shown)
        return rest, " ".join(parts)

    def _fraction(self, expr) -> bool:
        """Whether a product prints as one fraction ``\\frac{g}{\\sigma^{t}}``, needing no brackets."""
        if not isinstance(expr, MatMul):
            return False
        coeff, mats = expr.as_coeff_matrices()
        rest, below = self._over(mats)
        return bool(below) and coeff == 1 and len(rest) <= 1 and all(isinstance(f, Var) for f in rest)

    def _product(self, coeff, mats) -> str:
        if coeff != 1 and len(mats) == 1 and isinstance(mats[0], HadamardProduct) \
                and isinstance(mats[0].args[0], MatMul):  # 2 ((-\frac{1}{2} u) \odot v) is (-u) \odot v
            inner, first = mats[0].args[0].as_coeff_matrices()
            head = self._product(coeff * inner, first)
            head = self._bracket(head) if len(first) > 1 or coeff * inner != 1 else head
            return r" \odot ".join([head, *(self._hadamard_factor(a) for a in mats[0].args[1:])])
        mats, below = self._over(mats)
        mats = [f.args[0] if _weighted_identity(f) else f for f in mats]  # \alpha_{s,t} I: the weight
        if len(mats) > 1 and isinstance(mats[-1], Component) and at_time_index(mats[-1].label) \
                and mats[-2].shape[1] == 1:  # a weight times a column, h_j \alpha_{t,j}: written first
            mats = [mats[-1], *mats[:-1]]
        if below:  # 1/sigma: one fraction with the number, -\frac{1}{2 H (\sigma^{t})^{2}} v
            p, q = sp.fraction(sp.sympify(coeff))
            sign = "-" if p.could_extract_minus_sign() else ""
            p = -p if sign else p
            q_text = "" if q == 1 else self._print(q) + " "
            if p == 1 and len(mats) == 1 and isinstance(mats[0], Var):  # \frac{g}{\sigma^{t}}
                return rf"{sign}\frac{{{self._print(mats[0])}}}{{{q_text}{below}}}"
            head = rf"{sign}\frac{{{self._print(p)}}}{{{q_text}{below}}}"
            if len(mats) == 1 and isinstance(mats[0], HadamardProduct):
                return f"{head} {self._bracket(self._print(mats[0]))}"
            return head if not mats else f"{head} {self._product(1, mats)}"
        out = ""
        for i, f in enumerate(mats):
            sep = "" if i == 0 else (r"\," if isinstance(mats[i - 1], OneMatrix) else " ")
            out += sep + self._factor(f, alone=len(mats) == 1)
        if coeff == -1:
            return "-" + out
        if sp.sympify(coeff).could_extract_minus_sign():  # -\frac{1}{n} e_{y}, not - \frac{1}{n} e_{y}
            return "-" + self._product(-coeff, mats)
        if coeff != 1:
            return f"{self._print(coeff)} {out}"
        return out

    def _minus(self, term) -> str | None:
        """A term of a sum that carries a minus sign, printed without it (None for the others)."""
        if isinstance(term, MatMul):
            coeff, mats = term.as_coeff_matrices()
            return self._product(-coeff, mats) if coeff.could_extract_minus_sign() else None
        return None

    def _print_MatAdd(self, expr):
        """Terms with a sign last (``\\operatorname{softmax}(s) - y``, not ``-y + \\operatorname{softmax}(s)``)."""
        terms = sorted(expr.args, key=lambda a: self._minus(a) is not None)
        out = self._print(terms[0])
        for term in terms[1:]:
            minus = self._minus(term)
            out += f" + {self._print(term)}" if minus is None else f" - {minus}"
        return out

    def _hadamard_factor(self, a) -> str:
        if self._fraction(a):
            return self._print(a)
        return self._bracket(self._print(a)) if isinstance(a, (MatAdd, MatMul)) else self._print(a)

    def _print_HadamardProduct(self, expr):
        return r" \odot ".join(self._hadamard_factor(a) for a in expr.args)

    def _print_KroneckerProduct(self, expr):
        if _weighted_identity(expr):
            return self._print(expr.args[0]) + " I"  # a weight times the identity (in a product: the weight)
        self._in_kron += 1
        try:
            return r" \otimes ".join(self._factor(a) for a in expr.args)
        finally:
            self._in_kron -= 1


    # -- derivations: they carry their content (symrnn.derive); these methods only print it ------
    def value(self, expr, number: bool = False) -> str:
        """A right-hand side: a SymPy number ``c`` stands for ``c I``, unless ``number`` (a ``1 x 1`` value)."""
        if not number and isinstance(expr, (int, sp.Integer)) and expr in (1, -1):
            return "I" if expr == 1 else "-I"
        return self._print(expr)

    def _edge(self, source: str, target: str) -> str:
        """``D(a \rightarrow b)``; braced when breqn breaks lines, which would break at the arrow."""
        text = rf"D({source} \rightarrow {target})"
        return f"{{{text}}}" if self._settings["breaking"] else text

    def _print_EdgeName(self, e):
        return self._edge(e.source, e.target)

    def _print_PartialName(self, p):
        return partial(p.num, p.den)

    def _print_WhereLine(self, line):
        if isinstance(line.value, tuple):
            right = " ".join(self._print(e) for e in line.value)
        else:
            right = self.value(line.value, line.number)
        if line.edge is not None:
            right = f"{self._print(line.edge)} = {right}"
        if line.times and not self._settings["breaking"]:  # breqn: a \condition (pathsum_where)
            right += rf", \quad {times_text(list(line.times))}"
        return right

    def _print_Span(self, span):
        text = rf"{span.index} = {time_latex(span.start)}, \dots, {time_latex(span.stop)}"
        return text + "".join(rf",\ {span.index} \neq {time_latex(c)}" for c in span.excluded)

    def _print_Line(self, line):
        shown = []
        for condition, expr in line.parts:
            if condition is None:
                shown.append(self.value(expr, line.number))
            else:
                cond = sp.latex(condition).replace(" ", "")
                shown.append(rf"[{cond}]\, \left({self.value(expr, line.number)}\right)")
        return " + ".join(shown) or "0"

    def line_tuple(self, line) -> tuple[str, str, str]:
        """``(left, right, range)`` of a factored form's line."""
        ranges = [] if line.span is None else [self._print(line.span)]
        if line.hops:  # truncated BPTT: the parts [k] the line holds for
            first, last = line.hops
            ranges.append("k = " + (", ".join(map(str, range(first, last + 1))) if last - first < 2
                                    else rf"{first}, \dots, {last}"))
        return (self._print(line.left), self._print_Line(line), ";\\ ".join(ranges))

    # the path sum
    def _path_factor(self, ps, f) -> str:
        G = ps.graph
        if f.kind in (FactorKind.SHARED, FactorKind.RECURRENCE):
            return f.name
        u, v = f.edges[0]
        if f.kind is FactorKind.PARTIAL:
            return partial(G.nodes[v]["latex"], G.nodes[u]["latex"])
        return self._edge(G.nodes[u]["latex"], G.nodes[v]["latex"])

    def _oriented(self, ps, factors) -> list[str]:
        """Factors loss side first; transposed and read from ``wrt`` up in denominator layout."""
        if ps.layout is not Layout.DENOMINATOR:
            return [self._path_factor(ps, f) for f in factors]
        return [self._path_factor(ps, f) if ps.between_numbers(f) else _transposed(self._path_factor(ps, f))
                for f in reversed(factors)]

    def pathsum_terms(self, ps) -> list[str]:
        """Each term of the path sum, as printed."""
        return [self._joined(self._oriented(ps, term)) for term in ps.terms]

    def _joined(self, factors: list[str]) -> str:
        """The factors of a product of Jacobians; in a document, breqn may break the line between them
        (``\\allowbreak``: a path through attention has four factors a step, more than a line holds)."""
        if self._chunked and len(factors) > FACTORS_PER_LINE:
            lines = [" ".join(factors[k:k + FACTORS_PER_LINE]) for k in range(0, len(factors), FACTORS_PER_LINE)]
            return (r" \\" + "\n" + r"  &\qquad\quad ").join(lines)
        long = self._settings["breaking"] and len(factors) > FACTORS_PER_LINE
        return (r" \allowbreak " if long else " ").join(factors)

    def pathsum_equation(self, ps) -> str:
        """The equation ``d loss / d wrt = sum of products`` (no alignment marks)."""
        G = ps.graph
        return f"{partial(G.nodes[ps.loss]['latex'], G.nodes[ps.wrt]['latex'])} = " + " + ".join(
            self.pathsum_terms(ps))

    def pathsum_where(self, ps) -> list[tuple[str, str]]:
        """The definitions under the equation, as ``(left, right)`` (``(left, right, times)`` when breaking)."""
        rows = [(self._print(line.left) if not isinstance(line.left, str) else line.left, self._print(line))
                for line in ps.where]
        if self._settings["breaking"]:
            return [(*row, times_text(list(line.times)) if line.times else "") for row, line in zip(rows, ps.where,
                                                                                                     strict=True)]
        return rows

    def pathsum_notes(self, ps) -> list[str]:
        """The statements that go with the formula (partials are local; vec convention)."""
        G, model = ps.graph, ps.model
        wrt = G.nodes[ps.wrt]["latex"]
        partials = ps.partials
        targets: list = []  # one entry per variable the partials differentiate, in order
        for _, v in partials:
            if v.name not in [t.name for t in targets]:
                targets.append(v)
        if len(partials) > 1:
            shown = [model.var(v.name).display(T) if v.t is not None else G.nodes[v]["latex"] for v in targets]
            which = "Each " + " and each ".join(f"${partial(s, wrt)}$" for s in shown) + " is"
            edge = " and ".join(rf"$D({wrt} \rightarrow {s})$" for s in shown)
            target = " and ".join(f"${s}$" for s in shown)
            target_plain = shown[0] if len(shown) == 1 else None
        else:
            u, v = partials[0]
            target_plain = G.nodes[v]["latex"]
            which = f"${partial(target_plain, wrt)}$ is"
            edge = rf"$D({G.nodes[u]['latex']} \rightarrow {target_plain})$"
            target = f"${target_plain}$"
        own = f"${target_plain}$" if target_plain else "that variable"
        notes = [
            f"{which} the local Jacobian of its edge, {edge}: the derivative of the equation of "
            f"{target} in ${wrt}$ with the other arguments of {own} held fixed, not a total derivative.",
            r"Jacobians are in numerator layout: $D(a \rightarrow b)$ has a row for each component of $b$ "
            r"and a column for each component of $a$.",
        ]
        loss = G.nodes[ps.loss]["latex"]
        rows, cols = model.var(ps.wrt.name).shape
        r, c = self._print(rows), self._print(cols)
        vec = (f"the vec convention: $\\operatorname{{vec}}({wrt})$ stacks its columns, so that "
               f"${wrt} u = (u^{{\\top}} \\otimes I_{{{r}}}) \\operatorname{{vec}}({wrt})$")
        if ps.layout is Layout.DENOMINATOR and cols == 1:
            notes.append(f"Denominator layout: ${partial(loss, wrt)}$ is a column shaped like ${wrt}$, the transpose "
                         "of the numerator-layout row, so each product is transposed and read from the variable up "
                         "to the loss.")
        elif ps.layout is Layout.DENOMINATOR:
            notes.append(f"Denominator layout: each product is transposed and read from the variable up to the loss, "
                         f"and gives $\\operatorname{{vec}}({partial(loss, wrt)})$: the ${self._print(rows * cols)}$ "
                         f"entries of ${partial(loss, wrt)}$ (shaped like ${wrt}$) with its columns stacked. "
                         f"Jacobians with respect to ${wrt}$ (${r} \\times {c}$) use {vec}.")
        elif cols != 1:
            notes.append(self._vec_note(model, ps.wrt.name))
        if ps.units:
            shown = [f"${self._edge(G.nodes[u]['latex'], G.nodes[v]['latex'])}$" for u, v in ps.units[:4]]
            more = ", \\dots" if len(ps.units) > 4 else ""
            notes.append(f"Edges whose Jacobian is $1$ or $I$ are left out of the products: {', '.join(shown)}{more}.")
        return notes

    def _pathsum_body(self, ps) -> str:
        """The right-hand side of the path sum: every term, grouped by first edge where it is."""
        if ps.grouped:
            return self._grouped_sum(ps)
        terms = self.pathsum_terms(ps)
        breaking = self._settings["breaking"]
        return (r" \\" + "\n" + r"  &\quad + " if len(terms) > 3 and not breaking else " + ").join(terms)

    def _grouped_sum(self, ps) -> str:
        """The sum with the terms that end in the same partial factored: ``(P_1 + P_2) \\frac{...}``."""
        terms = self.pathsum_terms(ps)
        den = ps.layout is Layout.DENOMINATOR
        blocks = []
        for factor, members in ps.groups:
            if len(members) == 1:
                blocks.append(terms[members[0]])
                continue
            shown = self._oriented(ps, [factor])[0]
            rests = [self._joined(self._oriented(ps, ps.terms[k][:-1])) or "I" for k in members]
            if self._settings["breaking"]:  # breqn breaks inside \left( \right) where it needs to
                inner = " + ".join(rests)
                blocks.append(rf"{shown} \left({inner}\right)" if den else rf"\left({inner}\right) {shown}")
                continue
            inner = (r" \\" + "\n" + r"  &\qquad + ").join(rests)
            blocks.append(rf"{shown} \Big({inner}\Big)" if den else rf"\Big({inner}\Big) {shown}")
        return (" + " if self._settings["breaking"] else r" \\" + "\n" + r"  &\quad + ").join(blocks)

    def _print_PathSum(self, ps):
        breaking = self._settings["breaking"]
        body = self._pathsum_body(ps)
        if breaking and len(body) > BREQN_MAX_CHARS:  # breqn fails on it: a line per term, as on the terminal
            self._settings["breaking"] = False
            self._chunked = True  # and a long product over several lines (a path through attention)
            try:
                body = self._pathsum_body(ps)
            finally:
                self._settings["breaking"] = True
                self._chunked = False
            breaking = False
        G = ps.graph
        lhs = partial(G.nodes[ps.loss]["latex"], G.nodes[ps.wrt]["latex"])
        if breaking:
            out = [self._block([(lhs, body, "")]), "where", self._block(list(self.pathsum_where(ps)))]
        elif self._settings["breaking"]:
            out = [r"\begin{align*}", f"  {lhs} &= {body}", r"\end{align*}", "where",
                   self._block(list(self.pathsum_where(ps)))]
        else:
            out = [r"\begin{align*}", f"  {lhs} &= {body}", r"\end{align*}", "where", r"\begin{align*}"]
            out.append((r" \\" + "\n").join(f"  {left} &= {right}" for left, right in self.pathsum_where(ps)))
            out.append(r"\end{align*}")
        notes = self.pathsum_notes(ps)
        if ps.truncate is not None:
            notes.insert(0, _truncation_note(len(ps.paths), ps.dropped, ps.truncate))
        if ps.grouped:
            notes.insert(0, f"The {len(ps.terms)} paths are grouped by the step at which they leave "
                            f"${G.nodes[ps.wrt]['latex']}$: each bracket sums the paths that share that first edge.")
        return "\n".join(out) + "\n\n" + "\n\n".join(notes)

    # the factored forms
    def _block(self, rows) -> str:
        if self._settings["breaking"]:
            text = [rf"  \begin{{dmath*}} {left} = {right}" + (rf" \condition*{{{span}}}" if span else "")
                    + r" \end{dmath*}" for left, right, *rest in rows for span in [rest[0] if rest else ""]]
            return "\\begin{dgroup*}\n" + "\n".join(text) + "\n\\end{dgroup*}"
        text = [f"  {left} &= {right}" + (rf", \quad {span}" if span else "") for left, right, span in rows]
        return "\\begin{align*}\n" + (" \\\\\n".join(text)) + "\n\\end{align*}"

    def _vec_note(self, model, name: str) -> str:
        """The numerator layout's vec convention for a matrix ``name``: one sentence for every form."""
        decl = model.var(name)
        wrt, loss = decl.latex, model.var(model.loss).latex
        rows, cols = decl.shape
        r, c = self._print(rows), self._print(cols)
        return (f"${wrt}$ is ${r} \\times {c}$; Jacobians with respect to it use the vec convention: "
                f"$\\operatorname{{vec}}({wrt})$ stacks its columns, so that "
                f"${wrt} u = (u^{{\\top}} \\otimes I_{{{r}}}) \\operatorname{{vec}}({wrt})$, and in numerator layout "
                f"${partial(loss, wrt)}$ is a row of ${self._print(rows * cols)}$ entries; the denominator layout "
                f"gives it the shape of ${wrt}$.")

    def _layout_note(self, model, layout) -> str:
        loss = model.var(model.loss).latex
        if layout is Layout.NUMERATOR:
            return (rf"Numerator layout: $\frac{{\partial {loss}}}{{\partial v}}$ is a row with one entry per "
                    r"component of $v$, and $D(a \rightarrow b)$ has a row per component of $b$.")
        return (rf"Denominator layout: $\frac{{\partial {loss}}}{{\partial v}}$ is shaped like $v$ (a column "
                r"for a vector, a matrix for a matrix), and each step applies the transposed Jacobian.")

    def _recursion_notes(self, rec) -> list[str]:
        model = rec.model
        loss = model.var(model.loss).latex
        notes = [
            rf"Each $\frac{{\partial {loss}}}{{\partial v}}$ is the total derivative of ${loss}$ in $v$, "
            r"through every path from $v$ to the loss; the recursion computes them from the loss backwards.",
            self._layout_note(model, rec.layout),
        ]
        named = [model.var(eq.name) for eq in rec.equations if model.var(eq.name).delta is not None]
        if named:
            shown = ", ".join(f"${d.delta.replace('{t}', 't')}$" for d in named)
            first = named[0]
            notes.append(f"Each gate's error term ({shown}) is the total derivative of ${loss}$ in the gate's "
                         f"pre-activation: ${first.delta.replace('{t}', 't')} = \\frac{{\\partial {loss}}}"
                         f"{{\\partial {first.display(T)}}}$.")
        if rec.has_conditions:
            notes.append(r"A bracket $[P]$ is 1 when $P$ holds and 0 otherwise.")
        if rec.truncate is not None:
            K = rec.truncate
            steps = "step" if K == 1 else "steps"
            part = rf"\left(\frac{{\partial {loss}}}{{\partial v}}\right)"
            notes.insert(0, rf"Truncated backpropagation through time: only the paths that go back at most {K} {steps} "
                            rf"are kept, so this is the full gradient only where no path goes back further (an "
                            rf"initial state $h_0$ is step 0). ${part}^{{[k]}}$ is the sum over the "
                            rf"paths from $v$ to the loss that go back exactly $k$ steps (a step "
                            rf"back is an edge between two times of one recurrence; a gate's error term $\delta$ is "
                            rf"split alike), and "
                            rf"${part}^{{[\le {K}]}} = \sum_{{k=0}}^{{{K}}} {part}^{{[k]}}$.")
        if rec.zeros:
            shown = ", ".join(f"${self._print(z)} = 0$" for z in rec.zeros)
            notes.append(f"A variable outside its loop does not exist and its total derivative is zero: {shown}.")
        return notes

    def _where_block(self, where) -> list[str]:
        return ["where", self._block([(left, self.value(right), "") for left, right in where])] if where else []

    def _print_Recursion(self, rec):
        out = [self._block([self.line_tuple(line) for line in rec.lines]), *self._where_block(rec.where)]
        return "\n".join(out) + "\n\n" + "\n\n".join(self._recursion_notes(rec))

    def _print_ClosedForm(self, cf):
        out = [self._block([self.line_tuple(line) for line in cf.lines])]
        if cf.recursion.lines:
            out += ["with the total derivatives", self._block([self.line_tuple(line) for line in cf.recursion.lines])]
        out += self._where_block(cf.where)
        notes = self._recursion_notes(cf.recursion)
        decl = cf.model.var(cf.node.name)
        rows, cols = decl.shape
        if cols != 1 and cf.layout is Layout.NUMERATOR:
            notes.append(self._vec_note(cf.model, cf.node.name))
        if any(term.condition is not None for term in cf.equation.terms):
            notes.append(r"A bracket $[P]$ is 1 when $P$ holds and 0 otherwise.")
        return "\n".join(out) + "\n\n" + "\n\n".join(notes)


def latex(expr, **settings) -> str:
    """LaTeX of a symbolic expression or derivation object, in the handout's notation.

    Parameters
    ----------
    expr : sympy expression, PathSum, Recursion or ClosedForm
        A symbolic expression (an edge Jacobian, a term of a derivation) or a derivation object
        (:func:`symrnn.derive.pathsum`, :func:`symrnn.derive.recursion`,
        :func:`symrnn.derive.closed_form`). The numbers 1 and -1 print as ``I`` and ``-I``.
    **settings
        Settings of SymPy's ``LatexPrinter``.

    Returns
    -------
    str
        The LaTeX: an expression for an expression; ``align*`` blocks with the ``where``
        definitions and the notes for a derivation object.

    Examples
    --------
    >>> from symrnn import pathsum, zoo
    >>> print(latex(pathsum(zoo.elman(), "W^{hx}", 2)).splitlines()[1].split(" &= ")[1])
    A \\frac{\\partial h^{(2)}}{\\partial W^{hx}} + A B^{(1)} \\frac{\\partial h^{(1)}}{\\partial W^{hx}}
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


def _truncation_note(kept: int, dropped: int, K: int) -> str:
    """The path sum's note on truncated BPTT, counted and in the singular where it is one."""
    steps = "step" if K == 1 else "steps"
    if dropped == 0:
        return (f"Truncated backpropagation through time at {K} {steps}: "
                + ("the one path goes" if kept == 1 else f"all {kept} paths go")
                + f" back at most {K} {steps}, so this is the full gradient.")
    paths = "the 1 path that goes" if kept == 1 else f"the {kept} paths that go"
    rest = "the 1 that goes back further is" if dropped == 1 else f"the {dropped} that go back further are"
    return (f"Truncated backpropagation through time: only {paths} back at most {K} {steps} "
            f"{'is' if kept == 1 else 'are'} summed; {rest} left out, so this is not the full gradient.")


def truncated_zero(G, node, K: int) -> str:
    """The path sum of truncated BPTT when no path goes back ``K`` steps or fewer: the gradient is 0."""
    from symrnn.paths import count_paths

    total = count_paths(G, node)
    lhs = partial(G.nodes[G.graph["loss"]]["latex"], G.nodes[node]["latex"])
    steps = "step" if K == 1 else "steps"
    every = "the one path goes" if total == 1 else f"all {total} paths go"
    return (f"\\begin{{align*}}\n  {lhs} &= 0\n\\end{{align*}}\n\nTruncated backpropagation through time at {K} "
            f"{steps}: {every} back further, so the truncated gradient is 0.")


def latex_forms(derived: list, **settings) -> list[str]:
    """The LaTeX of several derivation objects of one gradient (``--form all``), each note said once:
    a paragraph an earlier object already printed (the vec convention) is left out of the later ones.

    Examples
    --------
    >>> from symrnn import closed_form, pathsum, zoo
    >>> forms = [pathsum(zoo.elman(), "W^{hx}", 2), closed_form(zoo.elman(), "W^{hx}", 2)]
    >>> [sum("vec convention" in part for part in text.split("\\n\\n")) for text in latex_forms(forms)]
    [1, 0]
    """
    said: set = set()
    out = []
    for d in derived:
        kept = []
        for part in latex(d, **settings).split("\n\n"):
            if part in said and not part.lstrip().startswith("\\"):  # a note, not a formula block
                continue
            said.add(part)
            kept.append(part)
        out.append("\n\n".join(kept))
    return out


def model_latex(model) -> str:
    """The model's equations, one per line, in an ``aligned`` block."""
    lines = []
    for d in model.definitions:
        decl = model.var(d.target)
        lhs = decl.display(sp.Symbol("t") if decl.timed else None)
        value = entry(d.expr)  # a variable with two time indices: e_{t, j} = its value
        note = ""
        if value is not None:
            lhs = subscripted(lhs, "j")
            note = rf", \quad j = {_range_text(decl.inner)}"
        rhs = latex(symbolic(model, d.expr if value is None else value))
        if decl.kind is Kind.STATE:
            init = model.var(decl.init).latex if decl.init else None
            note = rf", \quad t = {_range_text(decl.loop)}" + (rf", \ {init}\ \text{{given}}" if init else "")
        lines.append(f"{lhs} &= {rhs}{note}")
    return r"\begin{aligned}" + r" \\ ".join(lines) + r"\end{aligned}"


def _range_text(loop) -> str:
    return rf"{sp.latex(loop.start)}, \dots, {sp.latex(loop.stop)}"


def partial(num: str, den: str) -> str:
    """``\\frac{\\partial num}{\\partial den}`` of two display names."""
    return rf"\frac{{\partial {num}}}{{\partial {den}}}"


def times_text(times: list[int]) -> str:
    """``t = 1, 2, 3`` or ``t = 1, \\dots, 9`` for a run of consecutive steps."""
    times = sorted(times)
    if len(times) > 4 and times == list(range(times[0], times[-1] + 1)):
        return rf"t = {times[0]}, \dots, {times[-1]}"
    return "t = " + ", ".join(str(t) for t in times)


def time_latex(time) -> str:
    """``n - 1`` -> ``n-1``: a time as the handouts write it."""
    return sp.latex(sp.sympify(time)).replace(" ", "")


def _transposed(factor: str) -> str:
    if factor.startswith(r"\frac") or factor.startswith("D("):
        return rf"\left({factor}\right)^{{\top}}"
    return attach_superscript(factor, r"\top")


def pathsum_equation(ps) -> str:
    """The equation ``d loss / d wrt = sum of products`` of a path sum (no alignment marks)."""
    return SymRNNLatexPrinter().pathsum_equation(ps)


def pathsum_where(ps) -> list[tuple[str, str]]:
    """The definitions that a path sum's equation uses, printed as ``(left, right)`` pairs, in order."""
    return SymRNNLatexPrinter().pathsum_where(ps)


def equation_lines(model, eq, layout, inline: bool = False) -> tuple[list, list]:
    """``(lines, zeros)`` of one adjoint equation, printed: each line ``(left, right, range)``, and the
    adjoints outside their loops that the general line reads (stated to be zero)."""
    printer = SymRNNLatexPrinter()
    lines, zeros = adjoints.equation_lines(model, eq, layout, inline)
    return [printer.line_tuple(line) for line in lines], [printer._print(z) for z in zeros]
