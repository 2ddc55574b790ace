"""LaTeX of the factored forms: the backward recursion and the closed form.

A timed variable's equation prints as the students write it: one line per
fixed time it is read at (``\\frac{\\partial o}{\\partial h^{(n)}} = ...``), then
the general line with its range (``t = n-1, \\dots, 1``), and the statement that
an adjoint outside its loop is zero where the general line needs it.
"""

from __future__ import annotations

import sympy as sp

from symrnn.derive.adjoints import AdjointEquation, ClosedForm, Layout, Recursion, adjoint_symbol, in_loop
from symrnn.graph.jacobians import expand_interims
from symrnn.model.declared import Kind, Model
from symrnn.operations import algebra as al
from symrnn.operations.symbols import SumOver, T, Var
from symrnn.render.latex import SymRNNLatexPrinter, latex


def _index(decl) -> sp.Symbol:
    return sp.Symbol(decl.loop.index, integer=True) if decl.loop is not None else T


def _show_expr(expr, decl, index, model: Model | None = None) -> str:
    """LaTeX of one right-hand side, with the loop index printed as the variable's own (``t``, ``j``);
    with ``model``, its interims expanded."""
    if al.is_scalar(expr):
        if decl.shape == (1, 1):
            return sp.latex(expr)
        return latex(expr)
    if model is not None:
        expr = expand_interims(model, expr)
    if index != T:
        expr = expr.xreplace({T: index})
    return latex(expr)


def _sum_of(terms: list) -> object:
    exprs = [e for e in terms if e is not None]
    if not exprs:
        return None
    scalars = [e for e in exprs if al.is_scalar(e)]
    if scalars and len(scalars) == len(exprs):
        return sp.Add(*scalars)
    return al.add(*exprs)


def _term_expr(model: Model, term):
    """A term as printed: a sum over the reader's loop where it has one."""
    if term.over is None:
        return term.expr
    loop = term.over
    low, high = (loop.start, loop.stop) if loop.step == 1 else (loop.stop, loop.start)
    return SumOver(term.expr, low, high)


def time_latex(time) -> str:
    """``n - 1`` -> ``n-1``: a time as the handouts write it."""
    return sp.latex(sp.sympify(time)).replace(" ", "")


def _times(decl, start, stop) -> str:
    return rf"{decl.loop.index} = {time_latex(start)}, \dots, {time_latex(stop)}"


def equation_lines(model: Model, eq: AdjointEquation, layout: str, inline: bool = False) -> tuple[list, list]:
    """``(lines, zeros)``: the printed lines ``(left, right, range)`` of one adjoint equation, and
    the adjoints outside their loops that the general line reads (stated to be zero)."""
    decl = model.var(eq.name)
    index = _index(decl)
    expanded = model if inline else None

    def _show(expr, decl, index):
        return _show_expr(expr, decl, index, expanded)

    if not decl.timed:
        plain = _sum_of([_term_expr(model, term) for term in eq.terms if term.condition is None])
        shown = [] if plain is None else [_show(plain, decl, index)]
        for term in eq.terms:
            if term.condition is not None:
                cond = sp.latex(term.condition).replace(" ", "")
                shown.append(rf"[{cond}]\, \left({_show(term.expr, decl, index)}\right)")
        left = latex(adjoint_symbol(model, eq.name, None, layout))
        return [(left, " + ".join(shown) or "0", "")], []
    lines = []
    fixed = eq.fixed_times()
    for c in fixed:
        parts = [term.expr for term in eq.terms if term.at == c]
        for term in eq.general:
            if term.reader_time is not None and term.over is None:
                when = term.reader_time.subs(T, c)
                if in_loop(when, model.var(term.reader).loop) is False:
                    continue  # read outside its loop at this time: zero
            parts.append(al.add(term.expr) if al.is_scalar(term.expr) else term.expr.xreplace({T: c}))
        left = latex(adjoint_symbol(model, eq.name, c, layout))
        lines.append((left, _show(_sum_of(parts), decl, index), ""))
    loop = decl.loop
    first, last = loop.first, loop.last
    if fixed == [last]:
        start = sp.expand(last - loop.step)
        span = _times(decl, start, first)
    else:
        start = last
        span = _times(decl, last, first) + "".join(rf",\ {index} \neq {time_latex(c)}" for c in fixed)
    general = _sum_of([_term_expr(model, term) for term in eq.general])
    left = latex(adjoint_symbol(model, eq.name, index, layout))
    right = "0" if general is None else _show(general, decl, index)
    lines.append((left, right, span))
    zeros = []
    for term in eq.general:
        if term.reader_time is None or term.over is not None:
            continue
        for end in (start, first):
            when = sp.expand(term.reader_time.subs(T, end))
            if in_loop(when, model.var(term.reader).loop) is False:
                zero = latex(adjoint_symbol(model, term.reader, when, layout))
                if zero not in zeros:
                    zeros.append(zero)
    return lines, zeros


def _interims(model: Model, exprs) -> list[tuple[str, str]]:
    from symrnn.graph.jacobians import symbolic

    names: list[str] = []
    for expr in exprs:
        if al.is_scalar(expr):
            continue
        for var in sorted(expr.atoms(Var), key=lambda a: a.display):
            if model.var(var.name).kind is Kind.INTERIM and var.name not in names:
                names.append(var.name)
    out = []
    for name in names:
        decl = model.var(name)
        out.append((decl.display(T) if decl.timed else decl.latex,
                    latex(symbolic(model, model.definition(name).expr))))
    return out


def _block(lines) -> str:
    rows = []
    for left, right, span in lines:
        rows.append(f"  {left} &= {right}" + (rf", \quad {span}" if span else ""))
    return "\\begin{align*}\n" + (" \\\\\n".join(rows)) + "\n\\end{align*}"


def recursion_lines(rec: Recursion) -> tuple[list, list]:
    lines, zeros = [], []
    for eq in rec.equations:
        more, z = equation_lines(rec.model, eq, rec.layout, rec.inline)
        lines += more
        zeros += [x for x in z if x not in zeros]
    return lines, zeros


def _all_exprs(equations) -> list:
    return [term.expr for eq in equations for term in eq.terms]


def layout_note(model: Model, layout: str) -> str:
    loss = model.var(model.loss).latex
    if layout is Layout.NUMERATOR:
        return (rf"Numerator layout: $\frac{{\partial {loss}}}{{\partial v}}$ is a row with one entry per "
                r"component of $v$, and $D(a \rightarrow b)$ has a row per component of $b$.")
    return (rf"Denominator layout: $\frac{{\partial {loss}}}{{\partial v}}$ is shaped like $v$ (a column "
            r"for a vector, a matrix for a matrix), and each step applies the transposed Jacobian.")


def recursion_notes(rec: Recursion, zeros: list) -> list[str]:
    model = rec.model
    loss = model.var(model.loss).latex
    notes = [
        rf"Each $\frac{{\partial {loss}}}{{\partial v}}$ is the total derivative of ${loss}$ in $v$, "
        r"through every path from $v$ to the loss; the recursion computes them from the loss backwards.",
        layout_note(model, rec.layout),
    ]
    if any(term.condition is not None for eq in rec.equations for term in eq.terms):
        notes.append(r"A bracket $[P]$ is 1 when $P$ holds and 0 otherwise.")
    if zeros:
        shown = ", ".join(f"${z} = 0$" for z in zeros)
        notes.append(f"A variable outside its loop does not exist and its total derivative is zero: {shown}.")
    return notes


def recursion_latex(rec: Recursion) -> str:
    """The backward recursion: its equations, the interims it uses, and its statements."""
    lines, zeros = recursion_lines(rec)
    out = [_block(lines)]
    where = [] if rec.inline else _interims(rec.model, _all_exprs(rec.equations))
    if where:
        out += ["where", _block([(left, right, "") for left, right in where])]
    return "\n".join(out) + "\n\n" + "\n\n".join(recursion_notes(rec, zeros))


def closed_form_lines(cf: ClosedForm) -> list:
    model = cf.model
    decl = model.var(cf.node.name)
    lines, _ = equation_lines(model, cf.equation, cf.layout, cf.recursion.inline)
    if decl.timed:
        left, right, _ = lines[-1]
        return [(left, right, _times(decl, decl.loop.first, decl.loop.last))]
    return lines


def closed_form_notes(cf: ClosedForm) -> list[str]:
    decl = cf.model.var(cf.node.name)
    rows, cols = decl.shape
    if cols == 1 or cf.layout is not Layout.NUMERATOR:
        return []
    wrt = decl.latex
    return [
        f"${wrt}$ is ${latex(rows)} \\times {latex(cols)}$; in numerator layout its gradient is a row of "
        f"${latex(rows * cols)}$ entries in the vec convention ($\\operatorname{{vec}}({wrt})$ stacks its "
        f"columns, so that ${wrt} u = (u^{{\\top}} \\otimes I) \\operatorname{{vec}}({wrt})$); the "
        f"denominator layout gives it the shape of ${wrt}$."
    ]


def closed_form_latex(cf: ClosedForm) -> str:
    """The closed form, then the recursion of the total derivatives it uses."""
    rec_lines, zeros = recursion_lines(cf.recursion)
    exprs = _all_exprs([cf.equation, *cf.recursion.equations])
    out = [_block(closed_form_lines(cf))]
    if rec_lines:
        out += ["with the total derivatives", _block(rec_lines)]
    where = [] if cf.recursion.inline else _interims(cf.model, exprs)
    if where:
        out += ["where", _block([(left, right, "") for left, right in where])]
    notes = recursion_notes(cf.recursion, zeros) + closed_form_notes(cf)
    if any(term.condition is not None for term in cf.equation.terms):
        notes.append(r"A bracket $[P]$ is 1 when $P$ holds and 0 otherwise.")
    return "\n".join(out) + "\n\n" + "\n\n".join(notes)


def factored_latex(obj: Recursion | ClosedForm) -> str:
    """LaTeX of a recursion or a closed form."""
    return recursion_latex(obj) if isinstance(obj, Recursion) else closed_form_latex(obj)


SymRNNLatexPrinter._print_Recursion = lambda self, rec: recursion_latex(rec)
SymRNNLatexPrinter._print_ClosedForm = lambda self, cf: closed_form_latex(cf)
