"""The frozen model: what a declaration produces, whatever way it was written.

A model is a set of named variables (parameters, inputs, labels, states over
time, defined variables, interims) and one definition per computed variable.
A definition's right-hand side is a small expression tree of :class:`Apply`
(a primitive on arguments) and :class:`Ref` (a variable read at a time).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache

import sympy as sp

from symrnn.errors import UnknownNameError
from symrnn.operations.primitives import Primitive, elementwise
from symrnn.operations.symbols import Basis, I, Label, N, T, Var, format_time

#: Largest size of one dimension, and most entries of one array, in numeric work.
MAX_DIM = 100_000
MAX_ENTRIES = 20_000_000


class Kind(str, enum.Enum):
    """What role a variable plays (a ``str`` enum: ``Kind.STATE == "state"``, for data files and tests)."""

    def __str__(self) -> str:
        return self.value

    PARAMETER = "parameter"
    INPUT = "input"
    LABEL = "label"
    STATE = "state"
    DEFINED = "defined"
    INTERIM = "interim"


@dataclass(frozen=True)
class Ref:
    """Variable ``name`` read at ``time`` (a SymPy expression in ``t`` or ``n``, or None)."""

    name: str
    time: sp.Expr | None = None


@dataclass(frozen=True)
class Apply:
    """Primitive ``prim`` applied to argument expressions ``args``."""

    prim: Primitive
    args: tuple


Expr = Ref | Apply


def zero_vector(expr) -> bool:
    """Whether ``expr`` is a zero vector (:meth:`~symrnn.model.builder.ModelBuilder.zeros`, ``h_0 = 0``):
    a primitive of no arguments, the only one the language has."""
    return isinstance(expr, Apply) and not expr.args and expr.prim.arity == 0


@dataclass(frozen=True)
class Loop:
    """``for t = start..stop`` with ``step`` +1 (forward) or -1 (backward).

    ``start`` and ``stop`` are expressions in ``n`` and the label position ``i``
    (the tagger's ``for j = 1..(i-1)``); ``index`` is the name the loop index
    prints with (``t``, ``j``).
    """

    start: sp.Expr
    stop: sp.Expr
    step: int
    index: str = "t"

    def __str__(self) -> str:
        return f"{self.index} = {format_time(self.start)}..{format_time(self.stop)}"

    def range(self, n: int, i: int | None = None) -> range:
        """The concrete steps, in the loop's order, for length ``n`` and position ``i``."""
        return _loop_range(self, n, i)

    @property
    def first(self) -> sp.Expr:
        """The first step of the forward pass."""
        return self.start

    @property
    def last(self) -> sp.Expr:
        """The last step of the forward pass, where the backward pass starts."""
        return self.stop


def lengths(n: int, i: int | None = None) -> dict:
    """SymPy substitutions for the length ``n`` and the label position ``i``."""
    return {N: n} if i is None else {N: n, I: i}


@lru_cache(maxsize=4096)  # bounded: keyed by models and lengths
def _loop_range(loop: Loop, n: int, i: int | None) -> range:
    subs = lengths(n, i)
    bounds = [sp.sympify(e).subs(subs) for e in (loop.start, loop.stop)]
    if not all(b.is_Integer for b in bounds):
        from symrnn.errors import SpecError

        raise SpecError(f"the loop {loop} needs the label position i: give i")
    start, stop = (int(b) for b in bounds)
    return range(start, stop + loop.step, loop.step)


FORWARD = Loop(sp.S.One, N, 1)
BACKWARD = Loop(N, sp.S.One, -1)


@dataclass(frozen=True)
class VarDecl:
    """One variable: name, role, symbolic shape, LaTeX display template.

    ``latex`` may hold ``{t}``, replaced by the time index. A state has a
    ``loop`` and an ``init`` (the parameter it starts from); a timed input or a
    per-step defined variable has the ``loop`` it exists over. A ``onehot``
    input holds one-hot vectors (the tagger's tags). A variable with two time indices (attention's
    ``e_{t,j}``) is the column ``e_t`` of its values over its ``inner`` loop, ``j``.
    """

    name: str
    kind: Kind
    shape: tuple
    latex: str
    timed: bool = False
    loop: Loop | None = None
    init: str | None = None
    onehot: bool = False
    delta: str | None = None  # a gate's pre-activation: how its total derivative prints (\delta^{f}_{{t}})
    inner: Loop | None = None  # a variable with two time indices (e_{t,j}): the loop of its second index j

    def symbol(self, time: sp.Expr | None = None):
        """The SymPy atom of this variable at ``time``."""
        if self.kind is Kind.LABEL and not self.timed:
            return Label(self.name)
        if self.kind is Kind.LABEL:  # a label per step (y_t): one integer per sequence at each step
            return Var(self.name, time, 1, 1, self.latex)
        return Var(self.name, time if self.timed else None, *self.shape, self.latex)

    def display(self, time: sp.Expr | int | None = None) -> str:
        """The display name at ``time`` (``h^{(3)}``)."""
        if not self.timed:
            return self.latex
        return self.latex.replace("{t}", format_time(time))


@dataclass(frozen=True)
class Definition:
    """``target = expr``; for a state, inside its loop over ``t``."""

    target: str
    expr: Expr


@dataclass(frozen=True)
class Model:
    """A declared recurrent model, immutable and hashable.

    Build one with :class:`symrnn.model.ModelBuilder`, read one with
    :func:`symrnn.model.rnn_reader.load_spec`, or take one from :mod:`symrnn.zoo`; the
    constructor is what :meth:`ModelBuilder.build <symrnn.model.builder.ModelBuilder.build>`
    calls once it has checked the declaration. ``str(model)`` is its equations, one per line,
    and in Jupyter it displays as LaTeX.

    Parameters
    ----------
    name : str
        The model's identifier (``"elman"``).
    title : str
        A human title, for drawings and documents.
    sizes : tuple of sympy.Symbol
        The dimension names (``m``, ``d``, ``K``).
    variables : tuple of VarDecl
        Every variable, in declaration order: parameters, inputs, labels, states, defined
        variables and interims.
    definitions : tuple of Definition
        One equation per computed variable (state, defined variable, interim), in order.
    loss : str
        The identifier of the scalar loss.

    Attributes
    ----------
    parameters : list of VarDecl
        The learned parameters (initial states included), in declaration order.
    inputs : list of VarDecl
        The inputs.
    functions : list of str
        The elementwise functions the model applies, in order of use.
    positional : bool
        Whether the model reads the label position ``i``.

    Examples
    --------
    >>> from symrnn.zoo import elman
    >>> [p.latex for p in elman().parameters]
    ['W^{hx}', 'W^{hh}', 'b^{h}', 'h^{(0)}', 'V', '\\\\gamma']
    >>> model = elman()
    >>> model.name, [str(s) for s in model.sizes], model.loss, model.functions
    ('elman', ['m', 'd', 'K'], 'o', ['g'])
    >>> print(str(model).splitlines()[2])
    h^{(t)} = g(a^{(t)}), \\quad t = 1, \\dots, n, \\ h^{(0)}\\ \\text{given}
    """

    name: str
    title: str
    sizes: tuple
    variables: tuple
    definitions: tuple
    loss: str

    def interim_refs(self, expr: Expr) -> list[Ref]:
        """The distinct interims ``expr`` reads directly (not through other interims), in order.

        Examples
        --------
        >>> from symrnn.zoo import elman
        >>> m = elman()
        >>> m.interim_refs(m.definition("h").expr)
        [Ref(name='a', time=t)]
        """
        found: list[Ref] = []
        for ref in refs(expr):
            if self.var(ref.name).kind is Kind.INTERIM and ref not in found:
                found.append(ref)
        return found

    @cached_property
    def _declarations(self) -> dict:
        return {v.name: v for v in self.variables}

    @cached_property
    def _definitions(self) -> dict:
        return {d.target: d for d in self.definitions}

    def var(self, name: str) -> VarDecl:
        """The declaration of variable ``name``; UnknownNameError if none."""
        try:
            return self._declarations[name]
        except KeyError:
            raise UnknownNameError(f"model {self.name!r} has no variable {name!r}") from None

    def definition(self, name: str) -> Definition:
        """The definition of variable ``name``; UnknownNameError if it has none."""
        try:
            return self._definitions[name]
        except KeyError:
            raise UnknownNameError(f"variable {name!r} of model {self.name!r} has no definition") from None

    @property
    def parameters(self) -> list[VarDecl]:
        return [v for v in self.variables if v.kind is Kind.PARAMETER]

    @property
    def inputs(self) -> list[VarDecl]:
        return [v for v in self.variables if v.kind is Kind.INPUT]

    @property
    def positional(self) -> bool:
        """Whether the model reads the label position ``i`` (the bidirectional models, the tagger)."""
        for v in self.variables:
            if v.loop is not None and (sp.sympify(v.loop.start).has(I) or sp.sympify(v.loop.stop).has(I)):
                return True
        for d in self.definitions:
            if any(r.time is not None and sp.sympify(r.time).has(I) for r in refs(d.expr)):
                return True
        return False

    @property
    def functions(self) -> list[str]:
        """Names of the elementwise functions the model applies, in order of use."""
        seen: list[str] = []
        for d in self.definitions:
            for prim in _primitives(d.expr):
                if prim.function and prim.function not in seen:
                    seen.append(prim.function)
        return seen

    @property
    def abstract_functions(self) -> list[str]:
        from symrnn.operations.functions import function

        return [f for f in self.functions if function(f).abstract]

    def bind(self, **functions: str) -> Model:
        """Replace abstract functions by concrete ones (``model.bind(g="tanh")``).

        Examples
        --------
        >>> from symrnn.zoo import elman
        >>> elman().bind(g="tanh").functions
        ['tanh']
        """
        mapping = {elementwise(k): elementwise(v) for k, v in functions.items()}
        defs = tuple(replace(d, expr=_map_prims(d.expr, mapping)) for d in self.definitions)
        return replace(self, definitions=defs)

    def __str__(self) -> str:
        from symrnn.render.text import model_text

        return model_text(self)

    def _repr_latex_(self) -> str:
        from symrnn.render.latex import model_latex

        return "$$" + model_latex(self) + "$$"


def entry(expr: Expr) -> Expr | None:
    """The value at ``(t, j)`` of a variable with two time indices, from its definition
    ``e_t = \\sum_j e_j s`` (:meth:`~symrnn.model.builder.ModelBuilder.define`): ``s``, else None.

    Examples
    --------
    >>> from symrnn.zoo import elman
    >>> entry(elman().definition("h").expr) is None
    True
    """
    if not (isinstance(expr, Apply) and expr.prim.inner is not None):
        return None
    column = expr.args[0]
    if isinstance(column, Apply) and len(column.args) == 2 and isinstance(column.args[0], Apply) \
            and column.args[0].prim.arity == 0 and isinstance(column.args[0].prim.symbolic(), Basis):
        return column.args[1]
    return None


def _primitives(expr: Expr):
    if isinstance(expr, Apply):
        yield expr.prim
        for a in expr.args:
            yield from _primitives(a)


def _map_prims(expr: Expr, mapping: dict) -> Expr:
    if isinstance(expr, Ref):
        return expr
    return Apply(mapping.get(expr.prim, expr.prim), tuple(_map_prims(a, mapping) for a in expr.args))


def shift(expr: Expr, time: sp.Expr) -> Expr:
    """The expression with the loop index ``t`` replaced by ``time``."""
    if isinstance(expr, Ref):
        return expr if expr.time is None else Ref(expr.name, sp.sympify(expr.time).subs(T, time))
    return Apply(expr.prim, tuple(shift(a, time) for a in expr.args))


def refs(expr: Expr):
    """Every Ref in the expression, left to right (with repeats)."""
    if isinstance(expr, Ref):
        yield expr
    else:
        for a in expr.args:
            yield from refs(a)
