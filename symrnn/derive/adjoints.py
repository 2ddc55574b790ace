"""The factored forms: the backward recursion (BPTT) and the closed form, with their printed lines as data.

A :class:`Recursion` holds the adjoint equations (:mod:`symrnn.derive.equations`) of every
variable between ``wrt`` and the loss; a :class:`ClosedForm` the gradient in ``wrt`` written
with them. Each also carries what a printer shows, derived here: its lines (the students'
boundary lines, the general line with its range, zero adjoints outside their loops) and the
interims its values read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import cached_property

import networkx as nx
import sympy as sp

from symrnn.derive.equations import (
    LAYOUTS,
    AdjointEquation,
    AdjointTerm,
    Layout,
    adjoint_equation,
    adjoint_order,
    adjoint_symbol,
    check_layout,
    in_loop,
)
from symrnn.derive.truncated import carries, check_truncate, hop_equation, part
from symrnn.errors import SymRNNError
from symrnn.graph.jacobians import expand_interims, interims_read, symbolic
from symrnn.graph.node import Node
from symrnn.graph.unroll import find_node, unroll
from symrnn.model.declared import Kind, Model, Ref
from symrnn.operations import algebra as al
from symrnn.operations.symbols import HOP, IndexSum, S, SumOver, T, TotalDerivative


# -- the printed lines, as data -----------------------------------------------------------
@dataclass(frozen=True)
class Span:
    """The range a general line holds over: ``index = start, ..., stop`` except ``excluded``."""

    index: str
    start: sp.Expr
    stop: sp.Expr
    excluded: tuple = ()


@dataclass(frozen=True)
class Line:
    """One line of a factored form: ``left = parts``, over ``span`` for a general line.

    Attributes
    ----------
    left : TotalDerivative
        The total derivative the line defines, at a fixed time or at the loop's index.
    parts : tuple of (condition or None, expression)
        The right-hand side, a sum; a part with a condition exists only where it holds
        (printed ``[i=1]``). Empty: the line is zero. A SymPy number ``c`` is ``c I``,
        or a plain number where the variable is ``1 x 1`` (``number``).
    span : Span or None
        The range of a general line.
    number : bool
        The variable is ``1 x 1``.
    hops : tuple
        Truncated BPTT: ``(first, last)``, the parts ``[k]`` of the total derivative the line holds for
        (:mod:`symrnn.derive.truncated`); empty otherwise.
    """

    left: TotalDerivative
    parts: tuple = ()
    span: Span | None = None
    number: bool = False
    hops: tuple = ()  # truncated BPTT: the parts [k] the line holds for, (first, last)


def _index(decl) -> sp.Symbol:
    return sp.Symbol(decl.loop.index, integer=True) if decl.loop is not None else T


def _sum_of(terms: list):
    exprs = [e for e in terms if e is not None]
    if not exprs:
        return None
    if all(al.is_scalar(e) for e in exprs):
        return sp.Add(*exprs)
    return al.add(*exprs)


def step_letter(model: Model) -> sp.Symbol:
    """The letter a sum over a reader's steps prints with: ``s``, or another when a variable is named so
    (Bahdanau's decoder state ``s_t``: ``\\sum_{r=1}^{n}``, not ``s_{s-1}``).

    Examples
    --------
    >>> from symrnn.zoo import elman
    >>> step_letter(elman())
    s
    """
    names = {re.match(r"\\?[A-Za-z]+", v.latex).group() for v in model.variables}
    return next((sp.Symbol(c, integer=True) for c in ("s", "r", "u", "k") if c not in names), S)


def summed(term: AdjointTerm):
    """A term as printed: a sum over the reader's loop where it has one (over its steps ``s`` for a reader that
    reads the variable at its second index j: attention).

    Examples
    --------
    >>> from symrnn.zoo import elman
    >>> from symrnn.render.latex import latex
    >>> term = adjoint_equation(elman("tanh"), "W_hh").terms[0]
    >>> latex(summed(term)).startswith(r"\\sum_{t=1}^{n}")
    True
    """
    if term.over is None:
        return term.expr
    loop = term.over
    low, high = (loop.start, loop.stop) if loop.step == 1 else (loop.stop, loop.start)
    if term.index != T:  # over the steps s of a reader that reads the variable at its second index
        return IndexSum(term.expr, term.index, low, high)
    return SumOver(term.expr, low, high)


def equation_lines(model: Model, eq: AdjointEquation, layout: Layout, inline: bool = False) -> tuple[tuple, tuple]:
    """``(lines, zeros)``: the :class:`Line` s of one adjoint equation as the students write it (a
    line per fixed time it is read at, then the general line with its range), and the adjoints
    outside their loops that the general line reads (each zero).

    Examples
    --------
    >>> from symrnn.zoo import elman
    >>> m = elman()
    >>> lines, zeros = equation_lines(m, adjoint_equation(m, "h"), Layout.NUMERATOR)
    >>> for line in lines:
    ...     print(line.left.display, line.span)
    \\frac{\\partial o}{\\partial h^{(n)}} None
    \\frac{\\partial o}{\\partial h^{(t)}} Span(index='t', start=n - 1, stop=1, excluded=())
    """
    layout = check_layout(layout)
    decl = model.var(eq.name)
    index = _index(decl)
    number = decl.shape == (1, 1)

    step = step_letter(model)

    def shown(expr):
        if expr is None or al.is_scalar(expr):
            return expr
        if inline:
            expr = expand_interims(model, expr)
        if step != S:
            expr = expr.xreplace({S: step})
        return expr if index == T else expr.xreplace({T: index})

    def line(time, parts, span=None):
        parts = tuple((cond, shown(e)) for cond, e in parts if e is not None)
        return Line(adjoint_symbol(model, eq.name, time, layout), parts, span, number)

    if not decl.timed:
        parts = [(None, _sum_of([summed(term) for term in eq.terms if term.condition is None]))]
        parts += [(term.condition, term.expr) for term in eq.terms if term.condition is not None]
        return (line(None, parts),), ()
    lines = []
    fixed = eq.fixed_times()
    for c in fixed:
        parts = [summed(term) for term in eq.terms if term.at == c]  # summed: a loop reads it at every step
        for term in eq.general:
            if term.reader_time is not None and term.over is None:
                when = term.reader_time.subs(T, c)
                if in_loop(when, model.var(term.reader).loop) is False:
                    continue  # read outside its loop at this time: zero
            parts.append(al.add(term.expr) if al.is_scalar(term.expr) else term.expr.xreplace({T: c}))
        lines.append(line(c, [(None, _sum_of(parts))]))
    loop = decl.loop
    first, last = loop.first, loop.last
    if fixed == [last]:
        start = sp.expand(last - loop.step)
        span = Span(loop.index, start, first)
    else:
        start = last
        span = Span(loop.index, last, first, tuple(fixed))
    lines.append(line(index, [(None, _sum_of([summed(term) for term in eq.general]))], span))
    zeros: list = []
    for term in eq.general:
        if term.reader_time is None or term.over is not None:
            continue
        for end in (start, first):
            when = sp.expand(term.reader_time.subs(T, end))
            if in_loop(when, model.var(term.reader).loop) is False:
                zero = adjoint_symbol(model, term.reader, when, layout)
                if zero not in zeros:
                    zeros.append(zero)
    return tuple(lines), tuple(zeros)


def _lines_of(model: Model, eq: AdjointEquation, layout: Layout, inline: bool, truncate: int | None):
    """The lines of one adjoint equation; with ``truncate`` (K), a variable whose paths go back steps has a
    line per part: ``[0]``, then ``[k]`` for ``k = 1, ..., K`` (:mod:`symrnn.derive.truncated`)."""
    if truncate is None or not carries(model, eq.name):
        return equation_lines(model, eq, layout, inline)
    lines: list = []
    zeros: list = []
    for hop, hops in ((0, (0, 0)), (HOP, (1, truncate))):
        if hops[1] < hops[0]:
            continue
        more, z = equation_lines(model, hop_equation(model, eq, hop, truncate), layout, inline)
        lines += [replace(line, left=part(line.left, hop), hops=hops if hop != 0 else ()) for line in more]
        zeros += [x for x in z if x not in zeros]
    return tuple(lines), tuple(zeros)


def _where(model: Model, equations) -> tuple:
    """The interims the equations' terms read, as ``(display, definition)``."""
    exprs = [term.expr for eq in equations for term in eq.terms]
    out = []
    for name in interims_read(model, exprs):
        decl = model.var(name)
        out.append((decl.display(T) if decl.timed else decl.latex, symbolic(model, model.definition(name).expr)))
    pre = {}  # a gate's pre-activation, whose error term is named (symrnn.derive.deltas), after its gate
    for eq in equations:
        decl = model.var(eq.name)
        if decl.delta is not None:
            gate = next(d.target for d in model.definitions if Ref(eq.name, T) in getattr(d.expr, "args", ()))
            pre[model.var(gate).display(T)] = (decl.display(T), symbolic(model, model.definition(eq.name).expr))
    ordered = []
    for line in out:
        ordered.append(line)
        if line[0] in pre:
            ordered.append(pre.pop(line[0]))
    return tuple(ordered + list(pre.values()))


# -- derivation objects -----------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Recursion:
    """The backward recursion: the adjoint equation of every variable between ``wrt`` and the loss.

    Print it with :func:`symrnn.render.latex.latex`; evaluate it with
    :func:`symrnn.numeric.evaluate.evaluate_adjoints`. Made by :func:`recursion`, with ``t``,
    ``n`` and ``i`` symbolic, so its size does not depend on ``n``; ``str()`` is its LaTeX, and
    in Jupyter it displays as LaTeX.

    Parameters
    ----------
    model : Model
        The declared model.
    wrt : str
        The identifier of the variable the gradient is in (``"W_hx"``).
    layout : Layout
        Numerator (rows) or denominator (shaped like the variable).
    equations : tuple of AdjointEquation
        One per variable between ``wrt`` and the loss, loss side first.
    inline : bool, optional
        Whether interims print expanded instead of by name.

    Attributes
    ----------
    lines : tuple of Line
        The printed lines, loss side first: the boundary lines, then each general line with
        its range.
    zeros : tuple of TotalDerivative
        The adjoints outside their loops that the lines read (each is zero).
    where : tuple of (str, sympy expression)
        The interims the equations read, by display name, with their definitions.

    Examples
    --------
    >>> from symrnn import latex, recursion, zoo
    >>> rec = recursion(zoo.vanilla(), "W_x", layout="denominator")
    >>> [eq.name for eq in rec.equations], len(rec.lines)
    (['s', 'h'], 3)
    >>> print(latex(rec).splitlines()[2])
      \\frac{\\partial L}{\\partial h_{n}} &= V^{\\top} \\frac{\\partial L}{\\partial s} \\\\
    """

    model: Model
    wrt: str
    layout: Layout
    equations: tuple[AdjointEquation, ...]
    inline: bool = False

    truncate: int | None = None

    @cached_property
    def _lines(self) -> tuple[tuple, tuple]:
        lines: list = []
        zeros: list = []
        for eq in self.equations:
            more, z = _lines_of(self.model, eq, self.layout, self.inline, self.truncate)
            lines += more
            zeros += [x for x in z if x not in zeros]
        return tuple(lines), tuple(zeros)

    @property
    def lines(self) -> tuple[Line, ...]:
        """Every equation's lines, loss side first."""
        return self._lines[0]

    @property
    def zeros(self) -> tuple[TotalDerivative, ...]:
        """The adjoints outside their loops that the lines read: each is zero."""
        return self._lines[1]

    @cached_property
    def where(self) -> tuple:
        """The interims the equations read, as ``(display, definition)``; none when printed inline."""
        return () if self.inline else _where(self.model, self.equations)

    @property
    def has_conditions(self) -> bool:
        """Whether a term exists only for some lengths (printed with a bracket ``[P]``)."""
        return any(term.condition is not None for eq in self.equations for term in eq.terms)

    def __str__(self) -> str:
        from symrnn.render.latex import latex  # objects print through the printer, a higher stage

        return latex(self)

    def _repr_latex_(self) -> str:
        return str(self)


@dataclass(frozen=True, eq=False)
class ClosedForm:
    """The gradient in ``wrt`` written with the total derivatives of its :class:`Recursion`.

    Shaped like ``wrt`` in denominator layout; a row, with the vec convention for a matrix, in
    numerator layout. Made by :func:`closed_form`: a sum over the steps that read ``wrt``, followed by the
    recursion it uses. ``str()`` is its LaTeX, and in Jupyter it displays as LaTeX.

    Parameters
    ----------
    recursion : Recursion
        The recursion of the adjoints the closed form reads.
    equation : AdjointEquation
        The adjoint equation of ``wrt`` itself: the closed form's terms.
    graph : networkx.DiGraph
        The unrolled graph on which it is checked numerically (frozen).
    node : Node
        The node of ``wrt`` in ``graph``.

    Attributes
    ----------
    model : Model
        The model.
    layout : Layout
        The recursion's layout.
    lines : tuple of Line
        The closed form's printed lines (an input: one line for every step of its loop).
    where : tuple of (str, sympy expression)
        The interims the closed form and its recursion read, with their definitions.

    Examples
    --------
    >>> from symrnn import closed_form, latex, zoo
    >>> cf = closed_form(zoo.vanilla(), "W_x", 3, layout="denominator")
    >>> cf.node, str(cf.layout), [eq.name for eq in cf.recursion.equations]
    (Node(name='W_x', t=None), 'denominator', ['s', 'h'])
    >>> print(latex(cf).splitlines()[1].split(" &= ")[1])
    \\sum_{t=1}^{n} (\\frac{\\partial L}{\\partial h_{t}} \\odot (\\mathbf{1} - h_{t} \\odot h_{t})) x_{t}^{\\top}
    """

    recursion: Recursion
    equation: AdjointEquation
    graph: nx.DiGraph
    node: Node

    @property
    def model(self) -> Model:
        return self.recursion.model

    @cached_property
    def lines(self) -> tuple[Line, ...]:
        """The closed form's lines: a timed ``wrt`` (an input) at every step of its loop."""
        decl = self.model.var(self.node.name)
        equation = self.equation
        if self.truncate is not None:  # each reader's parts [0] to [K]
            equation = hop_equation(self.model, equation, None, self.truncate)
        lines, _ = equation_lines(self.model, equation, self.layout, self.recursion.inline)
        if decl.timed:
            line = lines[-1]
            return (Line(line.left, line.parts, Span(decl.loop.index, decl.loop.first, decl.loop.last), line.number),)
        return lines

    @cached_property
    def where(self) -> tuple:
        """The interims the closed form and its recursion read, as ``(display, definition)``."""
        return () if self.recursion.inline else _where(self.model, (self.equation, *self.recursion.equations))

    @property
    def layout(self) -> Layout:
        return self.recursion.layout

    @property
    def truncate(self) -> int | None:
        """Truncated BPTT's K, or None: the recursion's."""
        return self.recursion.truncate

    def __str__(self) -> str:
        from symrnn.render.latex import latex  # objects print through the printer, a higher stage

        return latex(self)

    def _repr_latex_(self) -> str:
        return str(self)


def recursion(model: Model, wrt: str, layout: Layout = Layout.NUMERATOR, inline: bool = False,
              truncate: int | None = None) -> Recursion:
    """The backward recursion for the gradient in variable ``wrt`` (an identifier such as ``"W_hx"``).

    ``inline=True`` prints the interims (pre-activations, gates) expanded instead of by name.

    Parameters
    ----------
    model : Model
        The declared model.
    wrt : str
        The identifier of a parameter, an initial state or an input (``"W_hx"``, ``"h0"``, ``"x"``).
    layout : Layout or str
        ``"numerator"`` (the default: rows times Jacobians, as the question sheet) or
        ``"denominator"`` (each total derivative shaped like its variable).
    inline : bool
        Print the interims (pre-activations, gates) expanded instead of by name.
    truncate : int, optional
        Truncated BPTT: each total derivative whose paths go back steps is split into its parts
        ``[k]``, the paths that go back exactly ``k`` steps, for ``k = 0, ..., truncate``
        (:mod:`symrnn.derive.truncated`).

    Returns
    -------
    Recursion
        The total derivative of the loss in every variable between ``wrt`` and the loss, loss
        side first, derived once with ``t``, ``n`` and ``i`` symbolic.

    Raises
    ------
    SymRNNError
        When the layout is unknown, ``wrt`` is not a variable of the model, or the loss does not
        depend on it.

    Examples
    --------
    >>> from symrnn.zoo import elman
    >>> [eq.name for eq in recursion(elman(), "W_hx").equations]
    ['q', 'l', 'h']
    >>> from symrnn import latex
    >>> print(latex(recursion(elman(), "W_hx")).splitlines()[1])
      \\frac{\\partial o}{\\partial q} &= -e_{y}^{\\top} \\\\
    """
    layout = check_layout(layout)
    names = adjoint_order(model, wrt)
    return Recursion(model, wrt, layout, tuple(adjoint_equation(model, name, layout) for name in names), inline,
                     check_truncate(truncate))


def closed_form(model: Model, wrt: str | Node, n: int, i: int | None = None, layout: Layout = Layout.NUMERATOR,
                graph: nx.DiGraph | None = None, inline: bool = False, truncate: int | None = None) -> ClosedForm:
    """``d loss / d wrt`` in closed form: a sum over the steps that read ``wrt``, with the adjoints.

    ``wrt`` is a parameter, an initial state or an input, by display name or identifier;
    ``n`` (and ``i``) fix the graph on which the numbers are checked, the formula is for any ``n``.

    Parameters
    ----------
    model : Model
        The declared model.
    wrt : str or Node
        A parameter, an initial state or an input, by display name (``"W^{hx}"``,
        ``"x^{(1)}"``) or identifier (``"W_hx"``), or its node.
    n : int
        The sequence length of the graph the formula is checked on.
    i : int, optional
        The label position, for the models that read one.
    layout : Layout or str
        ``"numerator"`` (the default: a row, the vec convention for a matrix) or
        ``"denominator"`` (shaped like ``wrt``: a sum of outer products for a matrix).
    graph : networkx.DiGraph, optional
        The graph unrolled for ``n`` (and ``i``), if already made.
    inline : bool
        Print the interims (pre-activations, gates) expanded instead of by name.
    truncate : int, optional
        Truncated BPTT: the gradient of the paths that go back at most ``truncate`` steps, each
        reader's parts ``[0]`` to ``[K]`` summed (:mod:`symrnn.derive.truncated`).

    Returns
    -------
    ClosedForm
        The gradient as a sum over the steps that read ``wrt``, with its :class:`Recursion`.

    Raises
    ------
    SymRNNError
        When ``wrt`` is a computed variable (a state, a defined variable), or the layout is unknown.

    Examples
    --------
    >>> from symrnn.zoo import elman
    >>> from symrnn.render.latex import latex
    >>> cf = closed_form(elman("tanh"), "W^{hx}", 3, layout="denominator")
    >>> latex(cf.equation.terms[0].expr)
    '(\\\\frac{\\\\partial o}{\\\\partial h^{(t)}} \\\\odot (\\\\mathbf{1} - h^{(t)} \\\\odot h^{(t)})) x^{(t)\\\\top}'
    """
    G = graph if graph is not None else unroll(model, n, i)
    node = wrt if isinstance(wrt, Node) else find_node(G, wrt)
    decl = model.var(node.name)
    if decl.kind not in (Kind.PARAMETER, Kind.INPUT):
        raise SymRNNError(f"{G.nodes[node]['latex']} is computed; the closed form is for parameters, "
                          "initial states and inputs (the recursion gives the adjoints of the rest)")
    rec = recursion(model, node.name, layout, inline, truncate)
    return ClosedForm(rec, adjoint_equation(model, node.name, layout), nx.freeze(G), node)


__all__ = [
    "LAYOUTS", "AdjointEquation", "AdjointTerm", "ClosedForm", "Layout", "Line", "Recursion", "Span",
    "adjoint_equation", "adjoint_order", "adjoint_symbol", "check_layout", "closed_form", "equation_lines", "in_loop",
    "recursion",
]
