"""The factored forms of the gradient: the backward recursion (BPTT) and the closed form.

The *adjoint* of a variable is the total derivative of the loss in it,
``\\frac{\\partial o}{\\partial h^{(t)}}``. It is the sum, over the variables that
read it, of the reader's adjoint times the local derivative of the reader's
equation:

* numerator layout (rows, as the question sheet): ``adjoint(reader) D(h -> reader)``,
  with the Jacobian rules of the registry;
* denominator layout (columns shaped like the variable): the VJP
  rules of the registry applied to ``adjoint(reader)``.

Everything is derived once per model with the loop index ``t`` (and ``n``, ``i``)
symbolic, so it does not grow with ``n``. An :class:`AdjointEquation` holds the
terms of one variable; how a term applies in time is data of the term:

* a reader inside a loop, reading ``h^{(t+k)}``: the term holds wherever that
  reader exists (the adjoint of a variable outside its loop is zero);
* a reader outside the loops, reading ``h^{(n)}``: the term holds at ``t = n`` only
  (``at``);
* a parameter read at every step: the term is a sum over the reader's loop (``over``);
* an initial state: read by the first step only (a fixed reader time).

:class:`Recursion` is the adjoints of every variable between ``wrt`` and the loss,
loss side first; :class:`ClosedForm` is the gradient in ``wrt`` written with them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import lru_cache

import networkx as nx
import sympy as sp

from symrnn.errors import SymRNNError
from symrnn.graph.groups import reads_graph, variable_groups
from symrnn.graph.jacobians import parent_refs, template, vjp_template
from symrnn.graph.node import time_offset
from symrnn.model.declared import Apply, Kind, Loop, Model, Ref
from symrnn.operations import algebra as al
from symrnn.operations.symbols import J, S, T, TotalDerivative, Var, at_second_index, substitute_free


class Layout(str, enum.Enum):
    """How a gradient is shaped: numerator layout or denominator layout.

    Numerator (Jacobians, row gradients, as the question sheet) or denominator (gradients shaped
    like the variable). A ``str`` enum: ``Layout("numerator")``.

    Every function that takes ``layout=`` (:func:`~symrnn.derive.pathsum.pathsum`,
    :func:`~symrnn.derive.adjoints.recursion`, :func:`~symrnn.derive.adjoints.closed_form`,
    :func:`~symrnn.numeric.gradcheck.check_model`) accepts a member or its name.

    Parameters
    ----------
    value : str
        ``"numerator"`` or ``"denominator"``.

    Attributes
    ----------
    NUMERATOR : Layout
        ``D(a -> b)`` has a row per component of ``b``; the gradient of the loss is a row, a
        matrix parameter in the vec convention.
    DENOMINATOR : Layout
        Every gradient has the shape of its variable; the recursion applies transposed
        Jacobians (VJPs).

    Examples
    --------
    >>> from symrnn import Layout
    >>> Layout("denominator") is Layout.DENOMINATOR, str(Layout.NUMERATOR)
    (True, 'numerator')
    >>> [str(layout) for layout in Layout]
    ['numerator', 'denominator']
    """

    def __str__(self) -> str:
        return self.value

    NUMERATOR = "numerator"
    DENOMINATOR = "denominator"


#: The layouts' names, for option lists.
LAYOUTS = tuple(layout.value for layout in Layout)


def check_layout(layout: str | Layout) -> Layout:
    """The :class:`Layout` named ``layout``; SymRNNError naming the choices otherwise.

    Examples
    --------
    >>> check_layout("denominator") is Layout.DENOMINATOR
    True
    """
    try:
        return Layout(layout)
    except ValueError:
        raise SymRNNError(f"layout must be one of {', '.join(LAYOUTS)}, got {layout!r}") from None


@dataclass(frozen=True)
class AdjointTerm:
    """One term of an adjoint equation.

    Attributes
    ----------
    expr : sympy expression
        The term, in the variable's own time ``t``; for an ``over`` term, in the
        summation index ``t`` of the reader's loop.
    reader : str
        The variable whose adjoint the term carries back.
    reader_time : sympy expression or None
        The reader's time (``t + 1``, ``1``), or None for a reader outside the loops.
    at : sympy expression or None
        The term holds only at this time of the variable (``n``, ``i``).
    over : Loop or None
        The term is summed over this loop of the reader.
    condition : sympy relational or None
        The term exists only for the lengths where this holds (``i = 1``: the tagger's
        ``\beta^{(i-1)}`` is the initial state ``\beta^{(0)}`` only then).
    index : sympy symbol
        The index of an ``over`` sum: ``t``, or ``s`` for a reader that reads the variable at its second
        index (attention's ``e_{s,t}`` reads ``h_t`` at every decoder step ``s``); ``expr`` is then in ``s``
        (the reader's step) and ``t`` (the variable's).
    """

    expr: object
    reader: str
    reader_time: sp.Expr | None = None
    at: sp.Expr | None = None
    over: Loop | None = None
    condition: object = None
    index: sp.Symbol = T


@dataclass(frozen=True)
class AdjointEquation:
    """``adjoint(name) = sum of terms`` for every time of ``name``."""

    name: str
    terms: tuple[AdjointTerm, ...]

    @property
    def general(self) -> tuple[AdjointTerm, ...]:
        return tuple(term for term in self.terms if term.at is None)

    def fixed_times(self) -> list:
        seen: list = []
        for term in self.terms:
            if term.at is not None and term.at not in seen:
                seen.append(term.at)
        return seen


def adjoint_symbol(model: Model, name: str, time, layout: str) -> TotalDerivative:
    """``\\frac{\\partial o}{\\partial h^{(t)}}`` as a symbol: a row (numerator) or shaped like ``h``."""
    decl = model.var(name)
    loss = model.var(model.loss).latex
    rows, cols = decl.shape
    latex = rf"\frac{{\partial {loss}}}{{\partial {decl.latex}}}"
    if decl.delta is not None:  # a gate's error term, as the textbooks name it (symrnn.derive.deltas)
        latex = decl.delta
    shape = (1, rows * cols) if check_layout(layout) is Layout.NUMERATOR else (rows, cols)
    return TotalDerivative(name, time if decl.timed else None, *shape, latex)


def _local(model: Model, reader: str, ref: Ref, layout: str):
    """adjoint(reader) times the local derivative of the reader's equation in ``ref``, reader at ``t``.

    The adjoint of a per-step loss that the loss only sums is that sum's constant (``1``, ``\\frac{1}{n}``)
    and is written as it, and ``\\mathbf{1}^\\top y = 1`` for a one-hot ``y``, so the softmax head
    reads ``\\operatorname{softmax}(s) - y`` as textbooks print it.
    """
    v = known_adjoint(model, reader, layout)
    if v is None:
        v = adjoint_symbol(model, reader, T, layout)
    if layout is Layout.NUMERATOR:
        return al.onehot_facts(al.mul(v, template(model, reader, ref)), _onehots(model))
    return al.onehot_facts(vjp_template(model, reader, ref, v), _onehots(model))


def _onehots(model: Model) -> frozenset:
    return frozenset(v.name for v in model.inputs if v.onehot)


def constant_adjoint(model: Model, name: str) -> sp.Expr | None:
    """The adjoint of ``name`` when it is a number: ``1`` for the loss, the constant of the sum (or
    mean) for a per-step loss that only the loss reads (``L = \\frac{1}{n} \\sum_t L_t``); else None.

    Examples
    --------
    >>> from symrnn.zoo import get
    >>> model = get("vanilla")
    >>> constant_adjoint(model, model.loss), constant_adjoint(model, "h")
    (1, None)
    """
    if name == model.loss:
        return sp.S.One
    decl = model.var(name)
    if decl.shape != (1, 1) or not decl.timed:
        return None
    readers = [d for d in model.definitions if model.var(d.target).kind is not Kind.INTERIM
               and any(r.name == name for r in parent_refs(model, d.target))]
    if len(readers) != 1 or readers[0].target != model.loss:
        return None
    expr = readers[0].expr
    if isinstance(expr, Apply) and expr.prim.over is not None and expr.args == (Ref(name, T),) \
            and {expr.prim.over[0], expr.prim.over[1]} == {decl.loop.first, decl.loop.last}:  # a backward loop too
        return sp.sympify(expr.prim.constant if expr.prim.constant is not None else 1)
    return None


def known_adjoint(model: Model, name: str, layout: Layout):
    """The adjoint of ``name`` when it reads no other adjoint, so that its readers can write it in place:
    a number (:func:`constant_adjoint`), or the local derivative of a loss that reads ``name`` once
    outside the loops and reads only the labels (``o = -q_y``: the adjoint of ``q`` is ``-e_y``). Written in
    place, the label's
    basis vector sums to 1 and the softmax head reads ``\\operatorname{softmax}(l) - e_y``, as textbooks
    print it. None otherwise.

    Examples
    --------
    >>> from symrnn.zoo import elman
    >>> from symrnn.render.latex import latex
    >>> latex(known_adjoint(elman(), "q", Layout.DENOMINATOR)), known_adjoint(elman(), "h", Layout.DENOMINATOR)
    ('-e_{y}', None)
    """
    number = constant_adjoint(model, name)
    if number is not None or model.var(name).timed:
        return number
    terms = adjoint_equation(model, name, layout).terms
    if len(terms) != 1:
        return None
    term = terms[0]
    if term.reader != model.loss or term.at is not None or term.over is not None or term.condition is not None:
        return None
    if al.is_scalar(term.expr) or any(v.name not in _onehots(model) for v in term.expr.atoms(Var)):
        return None  # it reads the model's values: named, not written out at every use
    return term.expr


def _shifted(expr, time):
    """``expr`` (in the reader's ``t``) with the reader's ``t`` set to ``time``."""
    if al.is_scalar(expr):
        return expr
    return expr.xreplace({T: time})


def in_loop(time, loop: Loop) -> bool | None:
    """Whether ``time`` is a step of ``loop`` for every ``n`` (and ``i``): True, False, or None if it depends."""
    time = sp.sympify(time)
    low, high = (loop.start, loop.stop) if loop.step == 1 else (loop.stop, loop.start)
    below, above = sp.expand(time - low), sp.expand(high - time)
    if below.is_negative or above.is_negative:
        return False
    if below.is_nonnegative and above.is_nonnegative:
        return True
    return None


@lru_cache(maxsize=4096)  # bounded: keyed by models and lengths
def adjoint_equation(model: Model, name: str, layout: Layout = Layout.NUMERATOR) -> AdjointEquation:
    """The terms of the adjoint of variable ``name`` (a state, a defined variable, a parameter or an input).

    Examples
    --------
    >>> from symrnn.zoo import elman
    >>> eq = adjoint_equation(elman(), "h")
    >>> [(term.reader, term.reader_time, term.at) for term in eq.terms]
    [('h', t + 1, None), ('l', None, n)]
    """
    layout = check_layout(layout)
    decl = model.var(name)
    terms: list[AdjointTerm] = []
    for d in model.definitions:
        reader = model.var(d.target)
        if reader.kind is Kind.INTERIM:
            continue
        for ref in parent_refs(model, reader.name):
            if ref.name == name:
                terms.append(_term(model, decl, reader, ref, layout))
            elif model.var(ref.name).init == name:  # an initial state: a parameter or defined before the loop
                term = _init_term(model, decl, reader, ref, layout)
                if term is not None:
                    terms.append(term)
    return AdjointEquation(name, tuple(terms))


def _term(model: Model, decl, reader, ref: Ref, layout: str) -> AdjointTerm:
    local = _local(model, reader.name, ref, layout)
    if at_second_index(ref.time):  # read at the second index: at every step s of the reader, j = t
        if not reader.timed:
            raise SymRNNError(f"{reader.latex} reads {decl.display(ref.time)} at j outside a loop")
        at_s = local if al.is_scalar(local) else substitute_free(local.xreplace({T: S}), {J: T})
        return AdjointTerm(at_s, reader.name, S, over=reader.loop, index=S)
    reads_t = ref.time is not None and sp.sympify(ref.time).has(T)
    if reader.timed and reads_t:
        _, k = time_offset(ref.time)
        return AdjointTerm(_shifted(local, T - k), reader.name, T - k)
    if reader.timed and not decl.timed:
        return AdjointTerm(local, reader.name, T, over=reader.loop)
    if reader.timed:  # a loop reading a variable at a fixed time (+ h_n at every decoder step): summed over it
        return AdjointTerm(local, reader.name, T, at=sp.sympify(ref.time), over=reader.loop)
    if decl.timed and not reads_t:
        return AdjointTerm(local, reader.name, None, at=sp.sympify(ref.time))
    return AdjointTerm(local, reader.name, None)  # a static read, or a sum over t of the variable


def _init_term(model: Model, decl, reader, ref: Ref, layout: str) -> AdjointTerm | None:
    """The term of an initial state: the step of ``reader`` whose read of ``ref`` falls before the loop."""
    state = model.var(ref.name)
    before = sp.sympify(state.loop.first) - state.loop.step
    if ref.time is None or at_second_index(ref.time):  # a read at j runs over the loop's own steps
        return None
    if not reader.timed and sp.sympify(ref.time).has(T):  # a sum over t outside the loops: the loop's steps only
        return None
    if not sp.sympify(ref.time).has(T):  # read at a fixed time outside the loops: the init when that time is
        base, offset = time_offset(ref.time)
        condition = sp.Eq(base, before - offset) if base is not None else sp.Eq(offset, before)
        if condition is sp.false:
            return None
        local = _local(model, reader.name, ref, layout)
        return AdjointTerm(local, reader.name, None, condition=None if condition is sp.true else condition)
    _, k = time_offset(ref.time)
    reader_time = sp.expand(before - k)
    if in_loop(reader_time, reader.loop) is False:
        return None
    local = _local(model, reader.name, ref, layout)
    return AdjointTerm(_shifted(local, reader_time), reader.name, reader_time)


# -- which variables, in which order --------------------------------------------------
def adjoint_order(model: Model, wrt: str) -> list[str]:
    """The variables between ``wrt`` and the loss whose adjoints the gradient needs, loss side first:
    :func:`variable_groups` backwards (within a group, one read at the same step decides the order).

    Examples
    --------
    >>> from symrnn.zoo import elman
    >>> adjoint_order(elman(), "W_hx")
    ['q', 'l', 'h']
    """
    R = reads_graph(model)
    loss = model.loss
    if wrt not in R:
        raise SymRNNError(f"{wrt} is not a variable of the graph of {model.name}")
    between = (nx.descendants(R, wrt) & (nx.ancestors(R, loss) | {loss})) - {loss}
    if not between and not R.has_edge(wrt, loss):
        raise SymRNNError(f"the loss {model.var(loss).latex} does not depend on {model.var(wrt).latex}")
    return [name for members, _ in reversed(variable_groups(model)) for name in reversed(members)
            if name in between]


__all__ = [
    "LAYOUTS", "AdjointEquation", "AdjointTerm", "Layout", "adjoint_equation", "adjoint_order", "adjoint_symbol",
    "check_layout", "in_loop", "variable_groups",
]
